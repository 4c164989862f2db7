#!/usr/bin/env bash
# Counts the user-space instructions a server spends a request, under callgrind (valgrind), which
# does not move with the machine's load as times do: on loopback, 3 s of wrk (4 connections) to
# warm up, then 4 s counted.
#   bash scripts/instructions.sh [list|login|list-floor|login-floor]...   (list and login by default)
# list: files?action=list of vm-1001's / as root (9 entries), on the release binary with the
# default fixture; login: POST /api/session.
# list-floor, login-floor: the same request against the benchmark's standard stack (axum on
# axum-server with rustls, `vcmock-bench baseline-axum`) answering the very bytes vcmock answered
# it: what any server pays for the request, so that vcmock's own share is the difference.
# VCMOCK_BIN and VCMOCK_BENCH_BIN pick other binaries (to compare builds; otherwise both are
# built). Installs valgrind and wrk with apt when missing and this is root. Not part of CI (it
# measures).
set -euo pipefail
cd "$(dirname "$0")/.."
KINDS=${*:-list login}
for tool in valgrind wrk openssl; do
  if ! command -v $tool >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "instructions: $tool is missing (apt-get install $tool)" >&2; exit 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >&2
  fi
done
BIN=${VCMOCK_BIN:-target/release/vcmock}
[ -n "${VCMOCK_BIN:-}" ] || cargo build --release --locked --quiet
BENCH_BIN=${VCMOCK_BENCH_BIN:-benches/harness/target/release/vcmock-bench}
case " $KINDS " in
  *-floor*) [ -n "${VCMOCK_BENCH_BIN:-}" ] ||
      cargo build --release --locked --quiet --manifest-path benches/harness/Cargo.toml ;;
esac
LUA=benches/harness/lua/request.lua
LIST_BODY='{"credentials":{"type":"USERNAME_PASSWORD","user_name":"root","password":"rootpw","interactive_session":false},"path":"/"}'
BASIC="Basic $(printf 'administrator@vsphere.local:VMware1!' | base64)"
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT

# One certificate for every server, ECDSA P-256 as vcmock makes its own.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

# wait_ready FILE: the ready line's address, as https://HOST:PORT.
wait_ready() {
  for _ in $(seq 150); do [ -s "$1" ] && break; sleep 0.2; done
  python3 -c 'import json,sys
d = json.loads(open(sys.argv[1]).readline())
print(d.get("base_url") or "https://" + d["address"])' "$1"
}

# start_vcmock [WRAPPER...]: starts vcmock (under WRAPPER when given); sets PID and URL.
start_vcmock() {
  rm -f "$WORK/ready.json"
  "$@" "$BIN" --listen 127.0.0.1:0 --log-level warn --tls-cert "$WORK/cert.pem" \
    --tls-key "$WORK/key.pem" >"$WORK/ready.json" 2>"$WORK/server.log" &
  PID=$!; PIDS+=("$PID")
  URL=$(wait_ready "$WORK/ready.json")
}

# request KIND SID: sets ARGS to the wrk script's arguments for KIND.
request() {
  case $1 in
    list) ARGS=(POST '/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list'
                Content-Type application/json vmware-api-session-id "$2" --body "$LIST_BODY") ;;
    login) ARGS=(POST /api/session Authorization "$BASIC") ;;
  esac
}

login() { curl -sk -X POST -H "Authorization: $BASIC" "$1/api/session" | tr -d '"'; }

# count NAME: warms up, counts the server at PID over 4 s of wrk at URL with ARGS, stops it.
count() {
  wrk -t1 -c4 -d3s -s "$LUA" "$URL" -- "${ARGS[@]}" >/dev/null
  callgrind_control -z "$PID" >/dev/null 2>&1
  local n total
  n=$(wrk -t1 -c4 -d4s -s "$LUA" "$URL" -- "${ARGS[@]}" | awk '/requests in/{print $1}')
  callgrind_control -d "$PID" >/dev/null 2>&1
  total=$(grep -h '^summary:\|^totals:' "$WORK"/cg.out.1 | head -1 | awk '{print $2}')
  echo "$1: $n requests, $((total / n)) user-space instructions a request"
  kill "$PID"; wait "$PID" 2>/dev/null || true
  rm -f "$WORK"/cg.out*
}

CALLGRIND=(valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out")
for kind in $KINDS; do
  case $kind in
    list|login)
      start_vcmock "${CALLGRIND[@]}"
      request "$kind" "$(login "$URL")"
      count "$kind" ;;
    list-floor|login-floor)
      base=${kind%-floor}
      # vcmock's answer to the request, captured from a plain run, is what the floor answers.
      start_vcmock
      request "$base" "$(login "$URL")"
      if [ "$base" = list ]; then
        curl -sk -X POST -H 'Content-Type: application/json' -H "vmware-api-session-id: ${ARGS[5]}" \
          --data "$LIST_BODY" "$URL${ARGS[1]}" >"$WORK/answer"
        name=list
      else
        login "$URL" | sed 's/.*/"&"/' | tr -d '\n' >"$WORK/answer"
        name=session
      fi
      kill "$PID"; wait "$PID" 2>/dev/null || true
      # The floor answers POST /NAME (201 for session); wrk sends the same headers and body.
      "${CALLGRIND[@]}" "$BENCH_BIN" baseline-axum --cert "$WORK/cert.pem" --key "$WORK/key.pem" \
        --answer "$name=$WORK/answer" >"$WORK/ready.json" 2>"$WORK/server.log" &
      PID=$!; PIDS+=("$PID")
      URL=$(wait_ready "$WORK/ready.json")
      ARGS[1]=/$name
      count "$kind" ;;
    *) echo "instructions: unknown kind $kind (list, login, list-floor, login-floor)" >&2; exit 2 ;;
  esac
done
