# shellcheck shell=bash
# Sourced by the end-to-end scripts: builds vcmock (unless VCMOCK_BIN names a binary built
# elsewhere), starts it on port 0, reads its JSON ready line, and stops it with SIGTERM,
# expecting a clean exit. Sets WORK (a temporary directory removed on exit).
#   vcmock_start NAME [FLAG...]   start; NAME prefixes the messages
#   vcmock_field KEY              a field of the ready line (address, certificate_path, ...)
#   vcmock_port                   the port it listens on
#   vcmock_log_tail               the last lines of its log, for a failure report
#   vcmock_stop                   SIGTERM, and fail unless it exits cleanly
VCMOCK=${VCMOCK_BIN:-target/debug/vcmock}
[ -n "${VCMOCK_BIN:-}" ] || cargo build --locked --quiet
WORK=$(mktemp -d)
VCMOCK_PID=
VCMOCK_NAME=vcmock
vcmock_cleanup() {
  if [ -n "$VCMOCK_PID" ] && kill -0 "$VCMOCK_PID" 2>/dev/null; then
    kill -TERM "$VCMOCK_PID"; wait "$VCMOCK_PID" || true
  fi
  rm -rf "$WORK"
}
trap vcmock_cleanup EXIT

vcmock_start() {
  VCMOCK_NAME=$1; shift
  # A previous run's line must not be read as this one's.
  rm -f "$WORK/ready.json"
  "$VCMOCK" --listen 127.0.0.1:0 --cert-out "$WORK/cert.pem" "$@" >"$WORK/ready.json" 2>"$WORK/server.log" &
  VCMOCK_PID=$!
  for _ in $(seq 100); do [ -s "$WORK/ready.json" ] && return 0; sleep 0.1; done
  echo "$VCMOCK_NAME: no ready line" >&2; cat "$WORK/server.log" >&2; exit 1
}

vcmock_field() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/ready.json" "$1"
}

vcmock_port() {
  vcmock_field address | sed 's/.*://'
}

vcmock_log_tail() {
  echo "$VCMOCK_NAME: server log:" >&2; tail -n 40 "$WORK/server.log" >&2
}

vcmock_stop() {
  kill -TERM "$VCMOCK_PID"
  wait "$VCMOCK_PID"
  VCMOCK_PID=
  echo "$VCMOCK_NAME: the server stopped cleanly"
}
