#!/usr/bin/env bash
# Runs the README's curl walk-through (binary quick start, Guest filesystem, Transfers, Admin
# API) top to bottom against the binary on a free port, checks every shown output, and that the
# walk-through leaves the server as it found it (scripts/readme_walkthrough.py). Needs curl and
# python3 (README=PATH checks another copy of the README).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --quiet
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
target/debug/vcmock --listen 127.0.0.1:0 >"$WORK/ready.json" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/ready.json" ] && break; sleep 0.1; done
[ -s "$WORK/ready.json" ] || { echo "readme-walkthrough: no ready line" >&2; cat "$WORK/server.log" >&2; exit 1; }
BASE=$(python3 -c "import json; print(json.load(open('$WORK/ready.json'))['base_url'])")
python3 scripts/readme_walkthrough.py "${README:-README.md}" "$BASE"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
SERVER_PID=
