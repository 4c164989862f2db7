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

# shellcheck source=scripts/vcmock-server.sh
. scripts/vcmock-server.sh
vcmock_start python-sdk-e2e
"$VENV/bin/python" scripts/sdk_e2e.py "$(vcmock_field address)" "$(vcmock_field certificate_path)" \
  "$(vcmock_field username)" "$(vcmock_field password)"
vcmock_stop
