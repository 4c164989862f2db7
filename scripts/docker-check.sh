#!/usr/bin/env bash
# Proves the Dockerfile: lint, build, start, HEALTHCHECK healthy, the smoke script over the
# published port, the README's Docker recipes (compose, an unwritable bind-mounted /certs), and
# a clean `docker stop`. Fails (never skips) when the check cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECK=../shared/docker/check-image.sh
[ -f "$CHECK" ] || { echo "docker-check: $CHECK is missing (../shared must sit beside the repo)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "docker-check: must run as root to start a private Docker engine" >&2; exit 1; }
start=$(date +%s)
# check-image.sh builds the image as ci-dockerfile-check:latest and runs SMOKE with its engine
# up (DOCKER_HOST exported).
SRC=. IMAGE_PORT=8443 PORT=18443 \
  SMOKE='bash scripts/docker-smoke.sh && IMAGE=ci-dockerfile-check:latest bash scripts/docker-recipes.sh' \
  bash "$CHECK"
echo "docker-check: passed in $(( $(date +%s) - start )) s"
