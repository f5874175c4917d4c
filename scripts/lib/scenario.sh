# What every acceptance scenario script shares (sourced, not run): a work directory, server
# processes killed on exit, pass/fail bookkeeping, starting the release binary on loopback
# ephemeral ports with its generated root credentials for the AWS CLI, and polling.
#
# The caller sets NAME (the scenario's name, for messages) before sourcing; BIN is
# THINGWATCH_BIN or target/release/thingwatch. Call `summary` last.

BIN=${THINGWATCH_BIN:-target/release/thingwatch}
[ -x "$BIN" ] || { echo "$NAME: $BIN not built"; exit 1; }
WORK=$(mktemp -d)
PIDS=()
scenario_cleanup() {
  # Reap what we kill, quietly, so the summary stays the last line printed.
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && { kill -9 "$p"; wait "$p"; } 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap scenario_cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PASS=0
FAIL=0
ok()   { PASS=$((PASS+1)); echo "  ok   $*"; }
bad()  { FAIL=$((FAIL+1)); echo "  FAIL $*"; }
# check WHAT command...: runs the command, ok when it succeeds, else prints its output.
check() { local what=$1; shift; if "$@" >"$WORK/check.out" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/       /' "$WORK/check.out" | head -20; fi; }
# expect_error CODE command...: the command fails with the AWS CLI's "An error occurred (CODE)".
expect_error() {
  local code=$1; shift
  if "$@" >"$WORK/err.out" 2>&1; then echo "command succeeded"; return 1; fi
  grep -q "An error occurred ($code)" "$WORK/err.out" || { cat "$WORK/err.out"; return 1; }
}
# poll TRIES DELAY command...: retries the command until it succeeds (no fixed sleeps).
poll() {
  local tries=$1 delay=$2; shift 2
  for _ in $(seq 1 "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep "$delay"; done
  "$@"
}

# wait_suback FILE: waits up to 10 s for a `mosquitto_sub -d` in the background (its output
# in FILE, line-buffered) to be subscribed.
wait_suback() {
  for _ in $(seq 1 100); do grep -q 'received SUBACK' "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no SUBACK in $1:"; cat "$1"
}

# start_server NAME EXTRA_FLAGS... ; sets MQTT_PORT MQTTS_PORT HTTP_PORT EP DATA and points
# the AWS CLI at the server's generated credentials and region.
start_server() {
  local name=$1; shift
  MQTT_PORT=$(free_port); MQTTS_PORT=$(free_port); HTTP_PORT=$(free_port); DATA="$WORK/$name"
  "$BIN" serve --data-dir "$DATA" --mqtt-listen "127.0.0.1:$MQTT_PORT" --mqtts-listen "127.0.0.1:$MQTTS_PORT" --http-listen "127.0.0.1:$HTTP_PORT" "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    grep -q "^credentials:" "$WORK/$name.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "^credentials:" "$WORK/$name.out" || { cat "$WORK/$name.err"; echo "server $name did not start"; exit 1; }
  export AWS_SHARED_CREDENTIALS_FILE="$DATA/credentials" AWS_CONFIG_FILE="$DATA/config"
  EP="http://127.0.0.1:$HTTP_PORT"
}
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION AWS_REGION || true
export AWS_MAX_ATTEMPTS=1 AWS_PAGER=""

# summary: the last line; exits non-zero when anything failed.
summary() {
  echo "$NAME: $PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}
