#!/usr/bin/env bash
# Runs scripts/pyvmomi_e2e.py with pyVmomi from PyPI (pinned) against the vcmock binary started
# on port 0. Installs python3 and venv with apt when missing; the venv is cached in
# target/pyvmomi-venv (Ansible's module interpreter reuses it).
#
#   scripts/pyvmomi-e2e.sh [--venv-only] [GROUPS...]     groups: core guest (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
PYVMOMI_VERSION=9.1.1.0
REQUESTS_VERSION=2.34.2
VENV=target/pyvmomi-venv
VENV_ONLY=
if [ "${1:-}" = --venv-only ]; then VENV_ONLY=1; shift; fi

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "pyvmomi-e2e: installing python3 and python3-venv"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi
pins="pyvmomi==$PYVMOMI_VERSION requests==$REQUESTS_VERSION"
if ! "$VENV/bin/python" -c "import pyVmomi, pyVim.connect, requests" 2>/dev/null \
   || [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$pins" ]; then
  echo "pyvmomi-e2e: creating $VENV with $pins"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086 # the pins are separate words
  "$VENV/bin/pip" install -q --disable-pip-version-check $pins
  echo "$pins" > "$VENV/.pins"
fi
[ -z "$VENV_ONLY" ] || exit 0

# VCMOCK_BIN runs a binary built elsewhere (another worktree, a release build) instead.
# shellcheck source=scripts/vcmock-server.sh
. scripts/vcmock-server.sh
vcmock_start pyvmomi-e2e
status=0
"$VENV/bin/python" scripts/pyvmomi_e2e.py "$(vcmock_field address)" "$(vcmock_field certificate_path)" \
  "$(vcmock_field username)" "$(vcmock_field password)" "$@" || status=$?
[ "$status" -eq 0 ] || vcmock_log_tail
vcmock_stop
exit "$status"
