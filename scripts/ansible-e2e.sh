#!/usr/bin/env bash
# Runs community.vmware playbooks against the vcmock binary started on port 0:
# - inventory: scripts/ansible/inventory.yml (vmware_guest_info, vmware_guest_find,
#   vmware_guest_powerstate, vmware_guest_tools_wait: issue 17's surface);
# - guest: scripts/ansible/guest-ops.yml (vmware_guest_file_operation and vmware_vm_shell).
#
# Ansible comes from PyPI, pinned (ansible 14.5.0 bundles community.vmware 6.5.0 and
# vmware.vmware 2.11.0), in a venv cached in target/ansible-venv. ansible 14 needs Python 3.12
# or newer for the controller: the script takes python3.13/python3.12 from PATH or pyenv, or
# ANSIBLE_E2E_PYTHON. The modules run under the pyVmomi venv (target/pyvmomi-venv, made by
# scripts/pyvmomi-e2e.sh), as `ansible_python_interpreter`, so Ansible's venv needs no pyVmomi.
#
#   scripts/ansible-e2e.sh [--venv-only] [inventory] [guest]        (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
ANSIBLE_VERSION=14.5.0
VENV=target/ansible-venv
VENV_ONLY=
if [ "${1:-}" = --venv-only ]; then VENV_ONLY=1; shift; fi
PLAYBOOKS=()
for name in "${@:-inventory guest}"; do
  for n in $name; do
    case "$n" in
      inventory) PLAYBOOKS+=(scripts/ansible/inventory.yml) ;;
      guest) PLAYBOOKS+=(scripts/ansible/guest-ops.yml) ;;
      *) echo "ansible-e2e: unknown playbook $n (inventory, guest)" >&2; exit 2 ;;
    esac
  done
done

# A Python >= 3.12 with venv, for ansible-core 2.21.
find_python() {
  local p
  for p in "${ANSIBLE_E2E_PYTHON:-}" python3.13 python3.12 \
      "$(pyenv root 2>/dev/null || echo /root/.pyenv)"/versions/3.1[2-9]*/bin/python3; do
    [ -n "$p" ] || continue
    if "$p" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  return 1
}

bash scripts/pyvmomi-e2e.sh --venv-only
if ! "$VENV/bin/ansible-playbook" --version >/dev/null 2>&1 \
   || [ "$(cat "$VENV/.ansible-version" 2>/dev/null)" != "$ANSIBLE_VERSION" ]; then
  PY=$(find_python) || {
    echo "ansible-e2e: ansible $ANSIBLE_VERSION needs Python 3.12 or newer; none found (set ANSIBLE_E2E_PYTHON)" >&2
    exit 1
  }
  echo "ansible-e2e: creating $VENV with ansible==$ANSIBLE_VERSION on $("$PY" --version)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "ansible==$ANSIBLE_VERSION"
  echo "$ANSIBLE_VERSION" > "$VENV/.ansible-version"
fi
[ -z "$VENV_ONLY" ] || exit 0

# VCMOCK_BIN runs a binary built elsewhere (another worktree, a release build) instead.
# shellcheck source=scripts/vcmock-server.sh
. scripts/vcmock-server.sh
# vmware_guest_file_operation replaces every "443" in a transfer URL with the port it was given,
# so a port holding 443 (8443, 34430) would corrupt the URL's own port: take another one.
for try in 1 2 3 4 5; do
  vcmock_start ansible-e2e
  port=$(vcmock_port)
  case "$port" in *443*) ;; *) break ;; esac
  [ "$try" -lt 5 ] || { echo "ansible-e2e: no port without 443 in five tries" >&2; exit 1; }
  echo "ansible-e2e: port $port holds 443; restarting on another port"
  vcmock_stop
done
# The connection and paths go in as a JSON vars file: no shell quoting of the password.
python3 - "$WORK" "$PWD/target/pyvmomi-venv/bin/python" <<'PY'
import json, sys
work, interpreter = sys.argv[1:3]
ready = json.load(open(f"{work}/ready.json"))
json.dump({"vc_port": int(ready["address"].rsplit(":", 1)[1]), "vc_user": ready["username"],
           "vc_pass": ready["password"], "work_dir": f"{work}/files",
           "ansible_python_interpreter": interpreter}, open(f"{work}/vars.json", "w"))
PY
mkdir -p "$WORK/files" "$WORK/home"
COLLECTIONS=$("$VENV/bin/python" -c 'import ansible_collections, os; print(os.path.dirname(ansible_collections.__path__[0]))')
status=0
start=$(date +%s.%N)
env ANSIBLE_HOME="$WORK/home" ANSIBLE_LOCAL_TEMP="$WORK/home/tmp" ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS" \
    ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 \
    ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
  "$VENV/bin/ansible-playbook" -i localhost, -e "@$WORK/vars.json" "${PLAYBOOKS[@]}" \
  || status=$?
echo "ansible-e2e: ${PLAYBOOKS[*]} took $(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')") s"
[ "$status" -eq 0 ] || vcmock_log_tail
vcmock_stop
exit "$status"
