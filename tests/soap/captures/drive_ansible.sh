#!/usr/bin/env bash
# Runs scripts/ansible/guest-ops.yml against scripts/soap-capture.py at HOST:PORT with its
# assertions skipped (canned answers would stop the play), so that every module call is recorded.
set -euo pipefail
ADDR=$1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/files" "$WORK/home"
python3 -c 'import json, sys; json.dump({"vc_port": int(sys.argv[1].rsplit(":", 1)[1]),
  "vc_user": "administrator@vsphere.local", "vc_pass": "VMware1!", "work_dir": sys.argv[2] + "/files",
  "ansible_python_interpreter": sys.argv[3]}, open(sys.argv[2] + "/vars.json", "w"))' \
  "$ADDR" "$WORK" "$PWD/target/pyvmomi-venv/bin/python"
COLLECTIONS=$(target/ansible-venv/bin/python -c 'import ansible_collections, os; print(os.path.dirname(ansible_collections.__path__[0]))')
env ANSIBLE_HOME="$WORK/home" ANSIBLE_LOCAL_TEMP="$WORK/home/tmp" ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS" \
    ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
  target/ansible-venv/bin/ansible-playbook -i localhost, -e "@$WORK/vars.json" --skip-tags checks \
  scripts/ansible/guest-ops.yml
