#!/usr/bin/env bash
# Re-records the captures in this directory: pyVmomi (drive_pyvmomi.py), govmomi
# (tests/govmomi, all groups) and Ansible (drive_ansible.sh: scripts/ansible/guest-ops.yml)
# each talk to scripts/soap-capture.py, which answers from responses/ and records every
# request; captures.map then picks the files kept here.
set -euo pipefail
cd "$(dirname "$0")/../../.."
HERE=tests/soap/captures
bash scripts/pyvmomi-e2e.sh --venv-only
bash scripts/govmomi-e2e.sh --build-only >/dev/null
bash scripts/ansible-e2e.sh --venv-only
RAW=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; fi
  rm -rf "$RAW"
}
trap cleanup EXIT

# record PREFIX 'COMMAND': runs COMMAND with $ADDR and $CERT of a fresh capture server.
record() {
  local prefix=$1 command=$2
  python3 scripts/soap-capture.py serve --out "$RAW" --responses "$HERE/responses" --prefix "$prefix" \
    >"$RAW/ready.json" 2>"$RAW/$prefix.log" &
  SERVER_PID=$!
  for _ in $(seq 100); do [ -s "$RAW/ready.json" ] && break; sleep 0.1; done
  export ADDR CERT
  ADDR=$(python3 -c "import json; print(json.load(open('$RAW/ready.json'))['address'])")
  CERT=$(python3 -c "import json; print(json.load(open('$RAW/ready.json'))['certificate_path'])")
  echo "record: $prefix: $command"
  # Canned answers make some checks fail; the requests are what count.
  bash -c "$command" >"$RAW/$prefix.out" 2>&1 || true
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
  rm "$RAW/ready.json"
}

record pyvmomi 'target/pyvmomi-venv/bin/python tests/soap/captures/drive_pyvmomi.py "$ADDR"'
record govmomi 'target/go-cache/bin/govmomi-e2e -url "https://$ADDR/sdk" -ca "$CERT" -timeout 60s'
record ansible 'bash tests/soap/captures/drive_ansible.sh "$ADDR"'
# Pick into a scratch directory first, so that a map entry with no recording leaves the old
# captures in place.
mkdir "$RAW/kept"
python3 scripts/soap-capture.py pick --raw "$RAW" --map "$HERE/captures.map" --dest "$RAW/kept"
rm -f "$HERE"/*.xml "$HERE"/*.body "$HERE"/*.headers "$HERE"/*.chunked
mv "$RAW"/kept/* "$HERE"/
for client in pyvmomi govmomi ansible; do   # the whole call order, as recorded
  sed "s/ $client-/ /" "$RAW/$client-sequence.txt" > "$HERE/sequence-$client.txt"
done
echo "record: $(find "$HERE" -maxdepth 1 -name "*.headers" | wc -l) captures in $HERE"
