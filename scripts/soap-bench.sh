#!/usr/bin/env bash
# SOAP (/sdk) benchmark rows: RetrievePropertiesEx of 3 properties over a 10,000-VM fixture, and
# pyVmomi's SmartConnect and Fetch round trips, against the release binary on port 0.
# Self-contained (benches/harness belongs to the general benchmark); reuses the pyVmomi venv of
# scripts/pyvmomi-e2e.sh. Prints a markdown table and writes target/bench/soap.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/pyvmomi-e2e.sh --venv-only
nice -n 10 cargo build --release --locked --quiet
mkdir -p target/bench
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
python3 - "$WORK/ten-thousand.json" <<'PY'
import json, sys
vms = [{"id": f"vm-{10000 + i}", "name": f"vm-{10000 + i}", "guest_family": "linux",
        "power_state": "POWERED_ON", "host": f"host-{11 + i % 4}",
        "guest_users": [{"name": "root", "password": "rootpw", "uid": 0}]} for i in range(10000)]
doc = {"format": "vcmock-fixture/v1", "roles": [{"name": "Admin", "privileges": ["*"]}],
       "users": [{"login": "administrator@vsphere.local", "password": "VMware1!", "role": "Admin"}],
       "vms": vms}
json.dump(doc, open(sys.argv[1], "w"))
PY
target/release/vcmock --listen 127.0.0.1:0 --log-level warn --fixtures "$WORK/ten-thousand.json" \
  --cert-out "$WORK/cert.pem" >"$WORK/ready.json" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 300); do [ -s "$WORK/ready.json" ] && break; sleep 0.1; done
[ -s "$WORK/ready.json" ] || { echo "soap-bench: no ready line" >&2; cat "$WORK/server.log" >&2; exit 1; }
field() { python3 -c "import json,sys; print(json.load(open('$WORK/ready.json'))['$1'])"; }
target/pyvmomi-venv/bin/python scripts/soap_bench.py "$(field address)" "$(field certificate_path)" \
  "$(field username)" "$(field password)" target/bench/soap.json
