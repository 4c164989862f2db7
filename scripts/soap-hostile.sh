#!/usr/bin/env bash
# Runs vcmock's release binary (plain HTTP) and drives /sdk as a hostile client would
# (scripts/soap_hostile.py): RetrievePropertiesEx amplification and paging tokens, and an idle
# WaitForUpdatesEx over 256 filters, and session objects held by many live sessions. Prints
# answer sizes, the server's RSS and peak, and its CPU.
# Not part of CI (it measures); run it by hand: bash scripts/soap-hostile.sh [retrieve] [wait] [sessions]
# VCMOCK_BIN picks another binary (to measure an older build).
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIOS=${*:-retrieve wait sessions}
BIN=${VCMOCK_BIN:-target/release/vcmock}
if [ -z "${VCMOCK_BIN:-}" ]; then cargo build --release --locked --quiet; fi
WORK=$(mktemp -d)
PID=
stop() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID"; wait "$PID" || true; fi
  PID=
}
trap 'stop; rm -rf "$WORK"' EXIT
start() {
  rm -f "$WORK/ready.json"
  "$BIN" --listen 127.0.0.1:0 --tls off --seed 1 --log-level warn \
    >"$WORK/ready.json" 2>"$WORK/server.log" &
  PID=$!
  for _ in $(seq 100); do [ -s "$WORK/ready.json" ] && return; sleep 0.1; done
  echo "soap-hostile: no ready line" >&2; cat "$WORK/server.log" >&2; exit 1
}
for scenario in $SCENARIOS; do
  case $scenario in
    retrieve|wait|sessions) ;;
    *) echo "soap-hostile: unknown scenario $scenario (retrieve, wait, sessions)" >&2; exit 2 ;;
  esac
  start
  python3 scripts/soap_hostile.py "$(cat "$WORK/ready.json")" "$PID" "$scenario"
  stop
done
