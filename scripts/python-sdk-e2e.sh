#!/usr/bin/env bash
# Runs scripts/sdk_e2e.py with the official vSphere Automation SDK for Python (pinned) against
# the vcmock binary started on port 0. Installs python3 and venv with apt when missing; the venv
# is cached in target/python-sdk-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
SDK_VERSION=9.1.1.0
VENV=target/python-sdk-venv

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "python-sdk-e2e: installing python3 and python3-venv"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi
if ! "$VENV/bin/python" -c "import vmware.vapi, com.vmware.vcenter_client, requests" 2>/dev/null \
   || [ "$(cat "$VENV/.sdk-version" 2>/dev/null)" != "$SDK_VERSION" ]; then
  echo "python-sdk-e2e: creating $VENV with the SDK $SDK_VERSION"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    "vmware-vcenter==$SDK_VERSION" "vmware-vapi-runtime==$SDK_VERSION" \
    "vmware-vapi-common-client==$SDK_VERSION" requests
  echo "$SDK_VERSION" > "$VENV/.sdk-version"
fi

cargo build --locked --quiet
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
target/debug/vcmock --listen 127.0.0.1:0 --cert-out "$WORK/cert.pem" >"$WORK/ready.json" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/ready.json" ] && break; sleep 0.1; done
[ -s "$WORK/ready.json" ] || { echo "python-sdk-e2e: no ready line" >&2; cat "$WORK/server.log" >&2; exit 1; }
field() { python3 -c "import json,sys; print(json.load(open('$WORK/ready.json'))['$1'])"; }
"$VENV/bin/python" scripts/sdk_e2e.py "$(field address)" "$(field certificate_path)" "$(field username)" "$(field password)"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
SERVER_PID=
echo "python-sdk-e2e: the server stopped cleanly"
