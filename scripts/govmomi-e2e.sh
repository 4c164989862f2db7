#!/usr/bin/env bash
# Builds tests/govmomi (a Go program over govmomi's own packages) fully offline and runs it
# against the vcmock binary started on port 0.
#
# No Go module proxy is needed: the Go toolchain (Debian golang-1.19) and govmomi 0.24.2 with its
# dependencies come from Debian's archive through `apt-get download` and are unpacked with
# `dpkg-deb -x` into target/go-cache (nothing is installed system-wide). tests/govmomi/go.mod
# points its `replace` lines at the unpacked directories. Later runs reuse the cache and Go's
# build cache.
#
#   scripts/govmomi-e2e.sh [--build-only] [PROGRAM FLAGS...]    e.g. -run connect,find
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=$PWD/target/go-cache
GO_DEBS=(golang-1.19-go golang-1.19-src)
LIB_DEBS=(golang-github-vmware-govmomi-dev golang-github-google-uuid-dev
  golang-github-kr-pretty-dev golang-github-kr-text-dev golang-github-rogpeppe-go-internal-dev
  golang-github-pkg-diff-dev golang-github-creack-pty-dev golang-github-davecgh-go-xdr-dev
  golang-github-vmware-vmw-guestinfo-dev)
BUILD_ONLY=
if [ "${1:-}" = --build-only ]; then BUILD_ONLY=1; shift; fi

# Unpacks the Debian packages once; the stamp records which list the cache was made from.
fetch_debs() {
  local want="${GO_DEBS[*]} ${LIB_DEBS[*]}"
  if [ "$(cat "$CACHE/root/.packages" 2>/dev/null)" = "$want" ]; then return; fi
  if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
    echo "govmomi-e2e: needs a Debian-based machine (apt-get, dpkg-deb)" >&2; exit 1
  fi
  echo "govmomi-e2e: fetching the Go toolchain and govmomi from Debian into $CACHE"
  rm -rf "$CACHE/debs" "$CACHE/root"
  mkdir -p "$CACHE/debs" "$CACHE/root"
  local get=(apt-get download -qq -o APT::Sandbox::User=root "${GO_DEBS[@]}" "${LIB_DEBS[@]}")
  if ! (cd "$CACHE/debs" && "${get[@]}" 2>/dev/null); then
    apt-get update -qq
    (cd "$CACHE/debs" && "${get[@]}")
  fi
  local deb
  for deb in "$CACHE"/debs/*.deb; do
    dpkg-deb -x "$deb" "$CACHE/root"
    dpkg-deb --show --showformat='${Package} ${Version}\n' "$deb" >> "$CACHE/root/.versions"
  done
  # Debian ships go-xdr without a go.mod; a directory `replace` needs one.
  echo 'module github.com/davecgh/go-xdr' > "$CACHE/root/usr/share/gocode/src/github.com/davecgh/go-xdr/go.mod"
  rm -rf "$CACHE/debs"
  echo "$want" > "$CACHE/root/.packages"
  sed 's/^/govmomi-e2e:   /' "$CACHE/root/.versions"
}

fetch_debs
export GOROOT=$CACHE/root/usr/lib/go-1.19
export GOPATH=$CACHE/gopath GOMODCACHE=$CACHE/gopath/pkg/mod GOCACHE=$CACHE/build
export GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off GOFLAGS=-mod=mod GOWORK=off
export GO111MODULE=on CGO_ENABLED=0 GOTELEMETRY=off
GO=$GOROOT/bin/go
unformatted=$("$GOROOT/bin/gofmt" -l tests/govmomi)
[ -z "$unformatted" ] || { echo "govmomi-e2e: gofmt wants to change: $unformatted" >&2; exit 1; }
(cd tests/govmomi && nice -n 10 "$GO" vet . && nice -n 10 "$GO" build -trimpath -o "$CACHE/bin/govmomi-e2e" .)
echo "govmomi-e2e: built $CACHE/bin/govmomi-e2e with $("$GO" version | cut -d' ' -f3) and govmomi $(sed -n 's/^golang-github-vmware-govmomi-dev //p' "$CACHE/root/.versions")"
[ -z "$BUILD_ONLY" ] || exit 0

# VCMOCK_BIN runs a binary built elsewhere (another worktree, a release build) instead.
# shellcheck source=scripts/vcmock-server.sh
. scripts/vcmock-server.sh
vcmock_start govmomi-e2e
status=0
"$CACHE/bin/govmomi-e2e" -url "https://$(vcmock_field address)/sdk" -ca "$(vcmock_field certificate_path)" \
  -user "$(vcmock_field username)" -pass "$(vcmock_field password)" "$@" || status=$?
[ "$status" -eq 0 ] || vcmock_log_tail
vcmock_stop
exit "$status"
