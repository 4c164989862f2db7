#!/usr/bin/env bash
# Drives a running vcmock container through its published port, over HTTPS, as a user would:
# log in, list VMs, create a download URL, fetch it through `*` substitution, see the second
# fetch refused, reset through the admin API. Needs BASE_PORT (the host port) and curl, python3.
set -euo pipefail
: "${BASE_PORT:?BASE_PORT must name the published host port}"
VC="https://localhost:$BASE_PORT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
say() { echo "smoke: $*"; }
fail() { echo "smoke: FAILED: $*" >&2; exit 1; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

say "fetch the certificate and trust it from here on"
curl -fsS -k "$VC/_mock/certificate" -o "$WORK/cert.pem"
grep -q "BEGIN CERTIFICATE" "$WORK/cert.pem" || fail "no PEM at /_mock/certificate"
C=(curl -sS --cacert "$WORK/cert.pem")

say "log in"
SID=$("${C[@]}" -f -X POST -u 'administrator@vsphere.local:VMware1!' "$VC/api/session" | json "")
[ ${#SID} -eq 32 ] || fail "unexpected session id '$SID'"

say "list VMs"
"${C[@]}" -f -H "vmware-api-session-id: $SID" "$VC/api/vcenter/vm" > "$WORK/vms.json"
grep -q '"vm-1001"' "$WORK/vms.json" || fail "vm-1001 not listed"

say "create a download URL for /etc/hosts"
URL=$("${C[@]}" -f -H "vmware-api-session-id: $SID" -H 'Content-Type: application/json' \
  "$VC/api/vcenter/vm/vm-1001/guest/filesystem?action=create" \
  -d '{"credentials":{"interactive_session":false,"type":"USERNAME_PASSWORD","user_name":"root","password":"rootpw"},"spec":{"path":"/etc/hosts"}}' | json "")
say "got $URL"
case "$URL" in
  "https://*:$BASE_PORT/guestFile?id="*) ;;
  *) fail "the URL does not carry the published port $BASE_PORT: $URL" ;;
esac

say "fetch it with * replaced by the host we called"
GOT="${URL/\*/localhost}"
"${C[@]}" -f "$GOT" -o "$WORK/hosts"
grep -q localhost "$WORK/hosts" || fail "downloaded content is not /etc/hosts"

say "a second fetch is refused"
CODE=$("${C[@]}" -o /dev/null -w '%{http_code}' "$GOT")
[ "$CODE" = 404 ] || fail "second fetch answered $CODE, expected 404"

say "reset through the admin API"
CODE=$("${C[@]}" -o /dev/null -w '%{http_code}' -X POST "$VC/_mock/reset")
[ "$CODE" = 204 ] || fail "reset answered $CODE"
CODE=$("${C[@]}" -o /dev/null -w '%{http_code}' -H "vmware-api-session-id: $SID" "$VC/api/vcenter/vm")
[ "$CODE" = 401 ] || fail "the session survived the reset ($CODE)"
"${C[@]}" -f "$VC/_mock/ready" > /dev/null || fail "not ready after reset"
say "all steps passed"
