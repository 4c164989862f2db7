#!/usr/bin/env bash
# Runs vcmock's release binary and drives it as a hostile client would (scripts/hostile.py):
# byte bounds, a stalled upload, idle connections past the file limit, and the busy check with
# 32,000 unused URLs. Prints the server's RSS before and after each, and how long things took.
# Not part of CI (it measures); run it by hand: bash scripts/hostile.sh [scenario...]
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIOS=${*:-bounds stall idle urls}
BODY_TIMEOUT=5
IDLE_TIMEOUT=20
FILE_LIMIT=256
cargo build --release --locked --quiet
WORK=$(mktemp -d)
PID=
stop() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID"; wait "$PID" || true; fi
  PID=
}
trap 'stop; rm -rf "$WORK"' EXIT
start() {
  rm -f "$WORK/ready.json"
  # The file limit applies to the server alone, as a low limit on a shared CI runner would.
  prlimit --nofile="$FILE_LIMIT" -- target/release/vcmock --listen 127.0.0.1:0 \
    --cert-out "$WORK/cert.pem" --log-level warn \
    --body-timeout "$BODY_TIMEOUT" --idle-timeout "$IDLE_TIMEOUT" \
    >"$WORK/ready.json" 2>"$WORK/server.log" &
  PID=$!
  for _ in $(seq 100); do [ -s "$WORK/ready.json" ] && return; sleep 0.1; done
  echo "hostile: no ready line" >&2; cat "$WORK/server.log" >&2; exit 1
}
for scenario in $SCENARIOS; do
  start
  case $scenario in
    bounds|urls) python3 scripts/hostile.py "$(cat "$WORK/ready.json")" "$PID" "$scenario" ;;
    stall) python3 scripts/hostile.py "$(cat "$WORK/ready.json")" "$PID" stall "$BODY_TIMEOUT" ;;
    idle) python3 scripts/hostile.py "$(cat "$WORK/ready.json")" "$PID" idle "$IDLE_TIMEOUT" "$FILE_LIMIT" ;;
    *) echo "hostile: unknown scenario $scenario (bounds, stall, idle, urls)" >&2; exit 2 ;;
  esac
  stop
done
