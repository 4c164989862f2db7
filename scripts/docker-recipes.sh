#!/usr/bin/env bash
# Proves the README's Docker recipes against the image docker-check.sh has just built, on the
# private engine it runs (DOCKER_HOST is set by ../shared/docker/check-image.sh):
#   1. compose: examples/compose.yaml's two services, run by docker-compose; the `tests`
#      service verifies the certificate against https://vcmock:8443 and lists the VMs;
#   2. a bind-mounted /certs that uid 10001 cannot write: the server stays up, warns how to fix
#      the mount and serves the certificate at /_mock/certificate; after the documented
#      `chown 10001`, the certificate appears in the mounted directory.
# Needs IMAGE (the built image), BASE_PORT (the port check-image.sh publishes; this script
# uses the next one), curl and python3. Installs docker-compose from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${IMAGE:?IMAGE must name the image to check}"
: "${BASE_PORT:?BASE_PORT must name check-image.sh published port}"
: "${DOCKER_HOST:?DOCKER_HOST must point at the engine check-image.sh started}"
DOCKER=${DOCKER:-/usr/bin/docker}
PORT=$((BASE_PORT + 1))
PROJECT=vcmockrecipes
WORK=$(mktemp -d)
say() { echo "recipes: $*"; }
fail() { echo "recipes: FAILED: $*" >&2; exit 1; }

cleanup() {
  $DOCKER rm -f vcmock-certs-check >/dev/null 2>&1 || true
  if command -v docker-compose >/dev/null; then
    docker-compose -p "$PROJECT" -f "$WORK/compose.yaml" --project-directory examples \
      down -v >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Waits until container $1 reports healthy (the image's HEALTHCHECK), at most 30 s.
wait_healthy() {
  local h=starting
  for _ in $(seq 120); do
    h=$($DOCKER inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$1")
    [ "$h" = healthy ] && return 0
    [ "$($DOCKER inspect -f '{{.State.Running}}' "$1")" = true ] || break
    sleep 0.25
  done
  $DOCKER logs "$1" 2>&1 | tail -20
  fail "container $1 is $h, not healthy"
}

if ! command -v docker-compose >/dev/null; then
  say "install docker-compose (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi

# No registry here: the compose file's curl image is stood in for by Debian with curl, under
# the same name, in this private engine only (as check-image.sh does for the FROM images).
CURL_IMAGE=$(python3 -c 'import yaml; print(yaml.safe_load(open("examples/compose.yaml"))["services"]["tests"]["image"])')
if ! $DOCKER image inspect "$CURL_IMAGE" >/dev/null 2>&1; then
  say "build a stand-in for $CURL_IMAGE"
  printf '%s\n' 'FROM debian:bookworm-slim' \
    'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*' |
    DOCKER_BUILDKIT=1 $DOCKER build --network=host -t "$CURL_IMAGE" - >"$WORK/curl-build.log" 2>&1 ||
    { tail -20 "$WORK/curl-build.log"; fail "cannot build the curl stand-in"; }
fi

say "1. compose: examples/compose.yaml, as written, but for the host port"
$DOCKER tag "$IMAGE" vcmock
# The example publishes 8443 on every interface of the host, which may be taken here; the
# services reach each other over the compose network, so the check publishes nothing.
python3 - "$WORK/compose.yaml" <<'PY'
import sys, yaml
compose = yaml.safe_load(open("examples/compose.yaml"))
compose["services"]["vcmock"].pop("ports", None)
yaml.safe_dump(compose, open(sys.argv[1], "w"), sort_keys=False)
PY
COMPOSE=(docker-compose -p "$PROJECT" -f "$WORK/compose.yaml" --project-directory examples)
if ! "${COMPOSE[@]}" up --no-build --abort-on-container-exit --exit-code-from tests >"$WORK/compose.log" 2>&1; then
  cat "$WORK/compose.log"
  fail "the compose example's tests service failed"
fi
grep -q '"vm-2001"' "$WORK/compose.log" || { cat "$WORK/compose.log"; fail "tests did not list vm-2001"; }
say "the tests service verified https://vcmock:8443 against the shared certificate and listed vm-2001"
"${COMPOSE[@]}" down -v >/dev/null 2>&1

say "2. a bind-mounted /certs that uid 10001 cannot write"
CERTS=$WORK/certs
mkdir -m 755 "$CERTS"                        # root's, as Docker creates a missing bind source
run_certs() {
  $DOCKER run -d --name vcmock-certs-check -p "127.0.0.1:$PORT:8443" --health-interval=1s \
    -v "$CERTS:/certs" "$IMAGE" >/dev/null
  wait_healthy vcmock-certs-check
}
run_certs
LOGS=$($DOCKER logs vcmock-certs-check 2>&1)
grep -q 'cannot write the certificate to /certs/vcmock.pem' <<<"$LOGS" || { echo "$LOGS"; fail "no warning about /certs"; }
grep -q 'chown 10001' <<<"$LOGS" || { echo "$LOGS"; fail "the warning does not say how to fix the mount"; }
READY=$($DOCKER logs vcmock-certs-check 2>/dev/null | grep '"event":"ready"')
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["certificate_path"] is None, r' "$READY" ||
  fail "the ready line names a certificate file that was not written: $READY"
curl -fsS -k "https://127.0.0.1:$PORT/_mock/certificate" -o "$WORK/served.pem"
curl -fsS --cacert "$WORK/served.pem" "https://localhost:$PORT/_mock/health" >/dev/null ||
  fail "the certificate served at /_mock/certificate does not verify the server"
[ -z "$(ls -A "$CERTS")" ] || fail "something was written to the unwritable mount"
say "the server stayed up, warned how to fix the mount, and served its certificate at /_mock/certificate"
$DOCKER stop -t 10 vcmock-certs-check >/dev/null
$DOCKER rm vcmock-certs-check >/dev/null

say "   the documented fix: chown 10001 the directory on the host"
chown 10001 "$CERTS"
run_certs
[ -s "$CERTS/vcmock.pem" ] || fail "no certificate in the mounted directory after chown"
curl -fsS --cacert "$CERTS/vcmock.pem" "https://localhost:$PORT/_mock/health" >/dev/null ||
  fail "the mounted certificate does not verify the server"
$DOCKER stop -t 10 vcmock-certs-check >/dev/null
say "after chown, the certificate is in the mounted directory and verifies the server"
say "all recipes passed"
