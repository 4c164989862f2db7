#!/usr/bin/env bash
# Shows that a 1 GiB transfer does not sit in vcmock's memory: starts the release binary with a
# fixture holding a 1 GiB generated file, then, through /guestFile with curl,
#   1. downloads the generated file to /dev/null,
#   2. uploads 1 GiB (from a sparse file) to a new path, which spills to a temporary file,
#   3. downloads that uploaded file back (streamed from the spill file),
# sampling VmRSS and VmHWM of the server from /proc/<pid>/status around each. Prints baseline,
# peak and growth in MiB per phase and exits non-zero if a growth exceeds LIMIT_MIB (32).
#
# Linux only (reads /proc). Needs curl and python3. Not run in CI: 10 to 20 s once the release
# binary is built (the build itself, when needed, takes a minute or two). VCMOCK_BIN=path skips
# the build. Any VCMOCK_* variable reaches the server (VCMOCK_SPILL_THRESHOLD=2147483648 shows
# the check failing when an upload is held in memory).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIMIT_MIB=${LIMIT_MIB:-32}
SIZE=$((1 << 30))

say() { echo "transfer-rss: $*" >&2; }
fail() { echo "transfer-rss: FAILED: $*" >&2; exit 1; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

if [ -z "${VCMOCK_BIN:-}" ]; then
  say "building the release binary"
  (cd "$ROOT" && cargo build --release --locked --quiet)
  VCMOCK_BIN="$ROOT/target/release/vcmock"
fi
[ -x "$VCMOCK_BIN" ] || fail "no executable at $VCMOCK_BIN"

WORK=$(mktemp -d)
PID=
SAMPLER=
cleanup() {
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/fixtures" "$WORK/tmp"
cat > "$WORK/fixtures/big.json" <<EOF
{
  "format": "vcmock-fixture/v1",
  "description": "One Linux guest with a 1 GiB generated file, for the memory check.",
  "roles": [{"name": "Admin", "privileges": ["*"]}],
  "users": [{"login": "administrator@vsphere.local", "password": "VMware1!", "role": "Admin"}],
  "vms": [{
    "id": "vm-1", "name": "big-01", "guest_family": "linux", "power_state": "POWERED_ON",
    "disk_capacity": $((4 * SIZE)),
    "guest_users": [{"name": "root", "password": "rootpw", "uid": 0}],
    "files": [
      {"path": "/tmp", "type": "directory", "mode": "1777"},
      {"path": "/data/big.bin", "size": $SIZE}
    ]
  }]
}
EOF

# The server's spill directory goes under $WORK too, so nothing outlives the run.
TMPDIR="$WORK/tmp" "$VCMOCK_BIN" --listen 127.0.0.1:0 --fixtures "$WORK/fixtures" \
  --cert-out "$WORK/cert.pem" > "$WORK/ready" 2> "$WORK/server.log" &
PID=$!
for _ in $(seq 1 200); do
  [ -s "$WORK/ready" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log" >&2; fail "the server exited"; }
  sleep 0.05
done
[ -s "$WORK/ready" ] || fail "no ready line"
VC=$(head -n1 "$WORK/ready" | json "['base_url']")
CERT=$(head -n1 "$WORK/ready" | json "['certificate_path']")
say "server pid $PID at $VC"

C=(curl -sS --cacert "$CERT")
SID=$("${C[@]}" -f -X POST -u 'administrator@vsphere.local:VMware1!' "$VC/api/session" | json "")
ROOT_CREDS='{"interactive_session":false,"type":"USERNAME_PASSWORD","user_name":"root","password":"rootpw"}'

# create_url SPEC_JSON: a transfer URL with * replaced by the address we called.
create_url() {
  local url
  url=$("${C[@]}" -f -H "vmware-api-session-id: $SID" -H 'Content-Type: application/json' \
    "$VC/api/vcenter/vm/vm-1/guest/filesystem?action=create" \
    -d "{\"credentials\":$ROOT_CREDS,\"spec\":$1}" | json "")
  echo "${url/\*/127.0.0.1}"
}

kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$PID/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# measure NAME CURL_ARGS...: runs one transfer and reports the server's memory around it.
FAILED=0
measure() {
  local name=$1
  shift
  # Reset the peak (VmHWM) so it covers this phase only; sampling is the fallback.
  echo 5 > "/proc/$PID/clear_refs" 2>/dev/null || true
  sleep 0.2
  local base
  base=$(kib VmRSS)
  (
    max=0
    while kill -0 "$PID" 2>/dev/null; do
      r=$(kib VmRSS)
      [ "${r:-0}" -gt "$max" ] && max=$r && echo "$max" > "$WORK/max"
      sleep 0.02
    done
  ) &
  SAMPLER=$!
  local started out
  started=$(date +%s.%N)
  out=$("${C[@]}" "$@" -w '%{http_code} %{size_download} %{size_upload}')
  local secs
  secs=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  kill "$SAMPLER" 2>/dev/null || true
  wait "$SAMPLER" 2>/dev/null || true
  SAMPLER=
  local sampled hwm peak growth
  sampled=$(cat "$WORK/max" 2>/dev/null || echo 0)
  rm -f "$WORK/max"
  hwm=$(kib VmHWM)
  peak=$((hwm > sampled ? hwm : sampled))
  growth=$((peak - base))
  read -r code down up <<< "$out"
  [ "$code" = 200 ] || fail "$name answered $code"
  [ $((down > up ? down : up)) -eq "$SIZE" ] || fail "$name moved $down down / $up up, not $SIZE"
  printf '%-34s %6ss  baseline %7s MiB  peak %7s MiB  growth %6s MiB\n' \
    "$name" "$secs" "$(mib "$base")" "$(mib "$peak")" "$(mib "$growth")"
  if [ "$growth" -gt $((LIMIT_MIB * 1024)) ]; then
    say "$name grew the server by more than $LIMIT_MIB MiB"
    FAILED=1
  fi
}

echo "vcmock RSS while moving 1 GiB through /guestFile (limit: growth <= $LIMIT_MIB MiB)"

URL=$(create_url '{"path":"/data/big.bin"}')
measure "download 1 GiB (generated)" -o /dev/null "$URL"

truncate -s "$SIZE" "$WORK/upload.bin"
URL=$(create_url "{\"path\":\"/data/up.bin\",\"attributes\":{\"size\":$SIZE}}")
measure "upload 1 GiB (to a new file)" -o /dev/null -T "$WORK/upload.bin" \
  -H 'Content-Type: application/octet-stream' "$URL"
rm -f "$WORK/upload.bin"

URL=$(create_url '{"path":"/data/up.bin"}')
measure "download the uploaded 1 GiB back" -o /dev/null "$URL"

[ "$FAILED" = 0 ] || fail "memory grew beyond $LIMIT_MIB MiB"
echo "ok: every phase stayed within $LIMIT_MIB MiB of growth"
