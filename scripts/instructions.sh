#!/usr/bin/env bash
# Counts the user-space instructions vcmock spends a request, under callgrind (valgrind), which
# does not move with the machine's load as times do: the release binary on loopback with the
# default fixture, 3 s of wrk (4 connections) to warm up, then 4 s counted.
#   bash scripts/instructions.sh [list|login]...   (both by default)
# list: files?action=list of vm-1001's / as root (9 entries); login: POST /api/session.
# VCMOCK_BIN picks another binary (to compare builds). Installs valgrind and wrk with apt when
# missing and this is root. Not part of CI (it measures).
set -euo pipefail
cd "$(dirname "$0")/.."
KINDS=${*:-list login}
for tool in valgrind wrk; do
  if ! command -v $tool >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "instructions: $tool is missing (apt-get install $tool)" >&2; exit 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >&2
  fi
done
BIN=${VCMOCK_BIN:-target/release/vcmock}
[ -n "${VCMOCK_BIN:-}" ] || cargo build --release --locked --quiet
LUA=benches/harness/lua/request.lua
WORK=$(mktemp -d)
PID=
trap '[ -z "$PID" ] || kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
for kind in $KINDS; do
  valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$BIN" --listen 127.0.0.1:0 \
    --log-level warn --cert-out "$WORK/cert.pem" >"$WORK/ready.json" 2>"$WORK/valgrind.log" &
  PID=$!
  for _ in $(seq 150); do [ -s "$WORK/ready.json" ] && break; sleep 0.2; done
  URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$WORK/ready.json")
  SID=$(curl -sk -X POST -u 'administrator@vsphere.local:VMware1!' "$URL/api/session" | tr -d '"')
  case $kind in
    list) ARGS=(POST '/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list'
                Content-Type application/json vmware-api-session-id "$SID" --body
                '{"credentials":{"type":"USERNAME_PASSWORD","user_name":"root","password":"rootpw","interactive_session":false},"path":"/"}') ;;
    login) ARGS=(POST /api/session Authorization
                 "Basic $(printf 'administrator@vsphere.local:VMware1!' | base64)") ;;
    *) echo "instructions: unknown kind $kind (list, login)" >&2; exit 2 ;;
  esac
  wrk -t1 -c4 -d3s -s "$LUA" "$URL" -- "${ARGS[@]}" >/dev/null
  callgrind_control -z "$PID" >/dev/null 2>&1
  N=$(wrk -t1 -c4 -d4s -s "$LUA" "$URL" -- "${ARGS[@]}" | awk '/requests in/{print $1}')
  callgrind_control -d "$PID" >/dev/null 2>&1
  TOTAL=$(grep -h '^summary:\|^totals:' "$WORK"/cg.out.1 | head -1 | awk '{print $2}')
  echo "$kind: $N requests, $((TOTAL / N)) user-space instructions a request"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  rm -f "$WORK"/cg.out*
done
