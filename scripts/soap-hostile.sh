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
if [ -z "${VCMOCK_BIN:-}" ]; then
  cargo build --release --locked --quiet
  export VCMOCK_BIN=target/release/vcmock
fi
# shellcheck source=scripts/vcmock-server.sh
source scripts/vcmock-server.sh
for scenario in $SCENARIOS; do
  case $scenario in
    retrieve|wait|sessions) ;;
    *) echo "soap-hostile: unknown scenario $scenario (retrieve, wait, sessions)" >&2; exit 2 ;;
  esac
  vcmock_start soap-hostile --tls off --seed 1 --log-level warn
  python3 scripts/soap_hostile.py "$(cat "$WORK/ready.json")" "$VCMOCK_PID" "$scenario"
  vcmock_stop
done
