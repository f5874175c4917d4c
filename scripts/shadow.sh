#!/usr/bin/env bash
# Acceptance scenario of "Device Shadow service over MQTT and HTTP" (issue #4): the real AWS CLI
# (v1: blobs passed raw, shadow documents written to an outfile), mosquitto clients and an
# AWS IoT Device SDK v2 for Python device (scripts/shadow_device.py, `pip install awsiotsdk`)
# against the release binary. Fails (non-zero) on any mismatch.
#
# Usage: bash scripts/shadow.sh   (THINGWATCH_BIN overrides target/release/thingwatch)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${THINGWATCH_BIN:-target/release/thingwatch}
[ -x "$BIN" ] || { echo "shadow: $BIN not built (cargo build --release)"; exit 1; }
python3 -c 'import awscrt, awsiot' 2>/dev/null || { echo "shadow: python3 -m pip install awsiotsdk"; exit 1; }
WORK=$(mktemp -d)
PID=""
PIDS=()
cleanup() {
  # Reap what we kill, quietly, so the summary stays the last line printed.
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && { kill "$p"; wait "$p"; } 2>/dev/null || true; done
  [ -n "$PID" ] && { kill -9 "$PID"; wait "$PID"; } 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
MQTT_PORT=$(free_port)
MQTTS_PORT=$(free_port)
HTTP_PORT=$(free_port)
DATA="$WORK/thingwatch-data"
PASS=0
FAIL=0
ok()   { PASS=$((PASS+1)); echo "  ok   $*"; }
bad()  { FAIL=$((FAIL+1)); echo "  FAIL $*"; }
check() { local what=$1; shift; if "$@" >"$WORK/check.out" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/       /' "$WORK/check.out" | head -20; fi; }

# start_server N: starts on the fixed ports and waits for the N-th "HTTP listening" banner line.
start_server() {
  "$BIN" serve --data-dir "$DATA" --mqtt-listen "127.0.0.1:$MQTT_PORT" --mqtts-listen "127.0.0.1:$MQTTS_PORT" --http-listen "127.0.0.1:$HTTP_PORT" \
    >>"$WORK/server.out" 2>>"$WORK/server.err" &
  PID=$!
  for _ in $(seq 1 100); do
    [ "$(grep -c 'HTTP listening on' "$WORK/server.out" 2>/dev/null || true)" -ge "$1" ] && return 0
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.err"; echo "server exited"; exit 1; }
    sleep 0.1
  done
  echo "server did not start"; cat "$WORK/server.err"; exit 1
}

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION AWS_REGION || true
export AWS_SHARED_CREDENTIALS_FILE="$DATA/credentials" AWS_CONFIG_FILE="$DATA/config"
export AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
EP="http://127.0.0.1:$HTTP_PORT"
data() { aws iot-data --endpoint-url "$EP" "$@"; }
iot()  { aws iot --endpoint-url "$EP" "$@"; }
logs() { aws logs --endpoint-url "$EP" "$@"; }

# run command...: a step whose result the following checks look at; a failure is shown, not fatal.
run() { "$@" >"$WORK/run.out" 2>&1 || { echo "  (failed: $*)"; sed 's/^/       /' "$WORK/run.out" | head -5; }; }
# jcheck FILE PYTHON-EXPR: the expression holds with `d` = FILE's JSON (and `now` = epoch s).
jcheck() {
  python3 - "$1" "$2" <<'PY'
import json, sys, time
d = json.load(open(sys.argv[1]))
now = time.time()
if not eval(sys.argv[2]):
    sys.exit(f"not true: {sys.argv[2]}\n  for {json.dumps(d, sort_keys=True)}")
PY
}
# expect_error CODE TEXT command...: the command fails with exit code 254/255 and prints
# "An error occurred (CODE)" and TEXT (a fixed string; "" for any).
expect_error() {
  local code=$1 text=$2 rc=0; shift 2
  "$@" >"$WORK/err.out" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || { echo "command succeeded:"; cat "$WORK/err.out"; return 1; }
  [ "$rc" -eq 254 ] || [ "$rc" -eq 255 ] || { echo "exit code $rc"; cat "$WORK/err.out"; return 1; }
  grep -q "An error occurred ($code)" "$WORK/err.out" || { cat "$WORK/err.out"; return 1; }
  grep -qF -- "$text" "$WORK/err.out" || { echo "no '$text' in:"; cat "$WORK/err.out"; return 1; }
}
# events PATTERN OUTFILE [MIN]: the messages of AWSIotLogsV2 events matching PATTERN as a JSON
# list, waiting up to 5 s for at least MIN (default 1) of them.
events() {
  local min=${3:-1}
  for _ in $(seq 1 25); do
    logs filter-log-events --log-group-name AWSIotLogsV2 --filter-pattern "$1" --output json 2>/dev/null \
      | python3 -c 'import json,sys; print(json.dumps([json.loads(e["message"]) for e in json.load(sys.stdin)["events"]]))' \
      >"$2" || echo '[]' >"$2"
    [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$2")" -ge "$min" ] && return 0
    sleep 0.2
  done
  return 0
}
# wait_line FILE REGEX: waits up to 10 s for a line of FILE matching REGEX.
wait_line() {
  for _ in $(seq 1 100); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no line matching /$2/ in $1:"; cat "$1"; return 1
}

echo "== 1. thingwatch serve"
start_server 1
check "credentials file written" grep -q '^aws_secret_access_key = ' "$DATA/credentials"

echo "== 2. classic shadow with the AWS CLI (thing lamp-http)"
T=lamp-http
check "get-thing-shadow of a missing shadow: ResourceNotFoundException" \
  expect_error ResourceNotFoundException "No shadow exists with name: 'lamp-http'" data get-thing-shadow --thing-name $T "$WORK/x.json"
check "update-thing-shadow (desired, clientToken)" \
  data update-thing-shadow --thing-name $T --payload '{"state":{"desired":{"color":"red","power":"on"}},"clientToken":"tok-1"}' "$WORK/u1.json"
check "  ... answers version 1 with the desired state" jcheck "$WORK/u1.json" \
  'd["version"] == 1 and d["state"] == {"desired": {"color": "red", "power": "on"}}'
check "  ... echoes the clientToken" jcheck "$WORK/u1.json" 'd["clientToken"] == "tok-1"'
check "  ... with per-leaf metadata timestamps in epoch seconds" jcheck "$WORK/u1.json" \
  'all(isinstance(d["metadata"]["desired"][k]["timestamp"], int) and abs(d["metadata"]["desired"][k]["timestamp"] - now) < 60 for k in ("color", "power")) and abs(d["timestamp"] - now) < 60'
check "get-thing-shadow" data get-thing-shadow --thing-name $T "$WORK/g1.json"
check "  ... shows state.delta = desired when nothing is reported" jcheck "$WORK/g1.json" \
  'd["version"] == 1 and d["state"]["desired"] == {"color": "red", "power": "on"} and d["state"]["delta"] == {"color": "red", "power": "on"} and "reported" not in d["state"]'
check "  ... and metadata for desired" jcheck "$WORK/g1.json" 'set(d["metadata"]["desired"]) == {"color", "power"} and "delta" not in d["metadata"]'
check "update-thing-shadow (reported color)" \
  data update-thing-shadow --thing-name $T --payload '{"state":{"reported":{"color":"red"}}}' "$WORK/u2.json"
check "  ... version 2, no clientToken when none was sent" jcheck "$WORK/u2.json" 'd["version"] == 2 and "clientToken" not in d'
run data get-thing-shadow --thing-name $T "$WORK/g2.json"
check "  ... delta keeps only what differs" jcheck "$WORK/g2.json" \
  'd["version"] == 2 and d["state"]["delta"] == {"power": "on"} and d["state"]["reported"] == {"color": "red"}'
check "update with the current version (2) is accepted" \
  data update-thing-shadow --thing-name $T --payload '{"state":{"reported":{"power":"on"}},"version":2}' "$WORK/u3.json"
run data get-thing-shadow --thing-name $T "$WORK/g3.json"
check "  ... version 3, desired = reported, no delta" jcheck "$WORK/g3.json" \
  'd["version"] == 3 and "delta" not in d["state"] and d["state"]["desired"] == d["state"]["reported"]'
check "update with a stale version: ConflictException" \
  expect_error ConflictException "Version conflict" \
  data update-thing-shadow --thing-name $T --payload '{"state":{"desired":{"color":"blue"}},"version":1}' "$WORK/x.json"
check "null deletes a field" \
  data update-thing-shadow --thing-name $T --payload '{"state":{"desired":{"power":null},"reported":{"power":null}}}' "$WORK/u4.json"
run data get-thing-shadow --thing-name $T "$WORK/g4.json"
check "  ... gone from state and metadata, version 4" jcheck "$WORK/g4.json" \
  'd["version"] == 4 and d["state"] == {"desired": {"color": "red"}, "reported": {"color": "red"}} and "power" not in d["metadata"]["desired"]'
check "nested objects: delta holds only the differing leaves" \
  data update-thing-shadow --thing-name $T --payload '{"state":{"desired":{"cfg":{"a":1,"b":{"c":2}},"list":[1,2]},"reported":{"cfg":{"a":1,"b":{"c":3}},"list":[1,2]}}}' "$WORK/u5.json"
run data get-thing-shadow --thing-name $T "$WORK/g5.json"
check "  ... delta {cfg:{b:{c:2}}}" jcheck "$WORK/g5.json" 'd["state"]["delta"] == {"cfg": {"b": {"c": 2}}}'
check "  ... metadata per leaf and per array element" jcheck "$WORK/g5.json" \
  'isinstance(d["metadata"]["desired"]["cfg"]["b"]["c"]["timestamp"], int) and [type(m["timestamp"]) for m in d["metadata"]["desired"]["list"]] == [int, int]'
run data update-thing-shadow --thing-name lamp-null --payload '{"state":{"desired":{"a":1},"reported":{"a":2}}}' "$WORK/x.json"
check '"desired": null removes the whole desired section' \
  data update-thing-shadow --thing-name lamp-null --payload '{"state":{"desired":null}}' "$WORK/x.json"
run data get-thing-shadow --thing-name lamp-null "$WORK/gn.json"
check "  ... version 2, reported only, no delta" jcheck "$WORK/gn.json" \
  'd["version"] == 2 and d["state"] == {"reported": {"a": 2}} and set(d["metadata"]) == {"reported"}'
check '"state": null clears the state' \
  data update-thing-shadow --thing-name lamp-null --payload '{"state":null}' "$WORK/x.json"
run data get-thing-shadow --thing-name lamp-null "$WORK/gn2.json"
check "  ... but does not delete the shadow (empty state, version 3)" jcheck "$WORK/gn2.json" \
  'd["version"] == 3 and d["state"] == {} and d["metadata"] == {}'

echo "== 3. errors"
check "invalid JSON: InvalidRequestException" \
  expect_error InvalidRequestException "" data update-thing-shadow --thing-name $T --payload '{"state":' "$WORK/x.json"
check "state of the wrong type: InvalidRequestException" \
  expect_error InvalidRequestException "" data update-thing-shadow --thing-name $T --payload '{"state":{"desired":5}}' "$WORK/x.json"
check "invalid shadow name: InvalidRequestException" \
  expect_error InvalidRequestException "shadowName" data get-thing-shadow --thing-name $T --shadow-name 'bad name!' "$WORK/x.json"
check "shadow name over 64 characters: InvalidRequestException" \
  expect_error InvalidRequestException "shadowName" data get-thing-shadow --thing-name $T --shadow-name "$(printf 'n%.0s' $(seq 1 65))" "$WORK/x.json"
check "invalid thing name: InvalidRequestException" \
  expect_error InvalidRequestException "thingName" data get-thing-shadow --thing-name 'bad.thing' "$WORK/x.json"
BIG=$(python3 -c 'print("x" * 9000)')
check "desired state over 8 KB: RequestEntityTooLargeException" \
  expect_error RequestEntityTooLargeException "" \
  data update-thing-shadow --thing-name $T --payload "{\"state\":{\"desired\":{\"blob\":\"$BIG\"}}}" "$WORK/x.json"
check "nesting deeper than 6 levels (counting state): InvalidRequestException" \
  expect_error InvalidRequestException "JSON contains too many levels of nesting; maximum is 6" \
  data update-thing-shadow --thing-name $T --payload '{"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}}}' "$WORK/x.json"
check "  ... 6 levels are accepted" \
  data update-thing-shadow --thing-name deep-1 --payload '{"state":{"desired":{"a":{"b":{"c":{"d":1}}}}}}' "$WORK/x.json"
check "clientToken over 64 bytes: InvalidRequestException" \
  expect_error InvalidRequestException "" \
  data update-thing-shadow --thing-name $T --payload "{\"state\":{\"desired\":{\"k\":1}},\"clientToken\":\"$(printf 't%.0s' $(seq 1 65))\"}" "$WORK/x.json"
run data get-thing-shadow --thing-name $T "$WORK/g6.json"
check "  ... rejected requests did not change the shadow" jcheck "$WORK/g6.json" 'd["version"] == 5 and "blob" not in d["state"]["desired"]'
check "delete-thing-shadow" data delete-thing-shadow --thing-name $T "$WORK/d1.json"
check "  ... answers {version, timestamp}" jcheck "$WORK/d1.json" 'd["version"] == 5 and abs(d["timestamp"] - now) < 60 and "state" not in d'
check "get after delete: ResourceNotFoundException" \
  expect_error ResourceNotFoundException "" data get-thing-shadow --thing-name $T "$WORK/x.json"
check "delete of a deleted shadow: ResourceNotFoundException" \
  expect_error ResourceNotFoundException "" data delete-thing-shadow --thing-name $T "$WORK/x.json"
run data update-thing-shadow --thing-name $T --payload '{"state":{"desired":{"color":"red"}}}' "$WORK/u7.json"
check "re-created within 48 h: the version continues (6)" jcheck "$WORK/u7.json" 'd["version"] == 6'

echo "== 4. named shadows (thing pump-1)"
T=pump-1
check "update-thing-shadow --shadow-name config" \
  data update-thing-shadow --thing-name $T --shadow-name config --payload '{"state":{"desired":{"rate":5}}}' "$WORK/n1.json"
check "update-thing-shadow --shadow-name 'fw:v2_x-1'" \
  data update-thing-shadow --thing-name $T --shadow-name 'fw:v2_x-1' --payload '{"state":{"reported":{"fw":"2.0"}}}' "$WORK/n2.json"
check "  ... each named shadow starts at version 1" python3 -c 'import json,sys; v = [json.load(open(f))["version"] for f in sys.argv[1:]]; assert v == [1, 1], v' "$WORK/n1.json" "$WORK/n2.json"
check "the classic shadow of pump-1 does not exist" \
  expect_error ResourceNotFoundException "" data get-thing-shadow --thing-name $T "$WORK/x.json"
check "classic update" data update-thing-shadow --thing-name $T --payload '{"state":{"reported":{"on":true}}}' "$WORK/n3.json"
run data get-thing-shadow --thing-name $T --shadow-name config "$WORK/n4.json"
check "get-thing-shadow --shadow-name config" jcheck "$WORK/n4.json" 'd["version"] == 1 and d["state"]["delta"] == {"rate": 5}'
data list-named-shadows-for-thing --thing-name $T --output json >"$WORK/l1.json" || true
check "list-named-shadows-for-thing lists the named shadows only" jcheck "$WORK/l1.json" \
  'sorted(d["results"]) == ["config", "fw:v2_x-1"] and "nextToken" not in d and abs(d["timestamp"] - now) < 60'
data list-named-shadows-for-thing --thing-name $T --page-size 1 --output json >"$WORK/l2.json" || true
check "  ... --page-size 1 gives one name and a nextToken" jcheck "$WORK/l2.json" 'len(d["results"]) == 1 and d.get("nextToken")'
data list-named-shadows-for-thing --thing-name $T --page-size 1 --next-token "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("nextToken", ""))' "$WORK/l2.json")" --output json >"$WORK/l3.json" || true
check "  ... --next-token gives the other one" python3 -c "
import json; a = json.load(open('$WORK/l2.json'))['results']; b = json.load(open('$WORK/l3.json'))['results']
assert sorted(a + b) == ['config', 'fw:v2_x-1'], (a, b)"
check "--page-size 101: InvalidRequestException" \
  expect_error InvalidRequestException "" data list-named-shadows-for-thing --thing-name $T --page-size 101
check "delete-thing-shadow --shadow-name config" data delete-thing-shadow --thing-name $T --shadow-name config "$WORK/x.json"
data list-named-shadows-for-thing --thing-name $T --output json >"$WORK/l4.json" || true
check "  ... no longer listed" jcheck "$WORK/l4.json" 'd["results"] == ["fw:v2_x-1"]'
data list-named-shadows-for-thing --thing-name nobody --output json >"$WORK/l5.json" || true
check "list for a thing without shadows is empty" jcheck "$WORK/l5.json" 'd["results"] == []'

echo "== 5. MQTT subscribers see HTTP changes; MQTT requests"
T=valve-1
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i watcher -q 1 -t "\$aws/things/$T/shadow/update/#" -v -C 3 -W 20 >"$WORK/sub-update.out" &
SUB=$!; PIDS+=($SUB)
sleep 0.5
run data update-thing-shadow --thing-name $T --payload '{"state":{"desired":{"open":true},"reported":{"open":false}},"clientToken":"app-1"}' "$WORK/m1.json"
wait "$SUB" || true
check "mosquitto_sub got update/accepted, update/delta, update/documents" \
  diff <(printf '%s\n' "\$aws/things/$T/shadow/update/accepted" "\$aws/things/$T/shadow/update/delta" "\$aws/things/$T/shadow/update/documents") \
       <(cut -d' ' -f1 "$WORK/sub-update.out")
payload_of() { grep "^\$aws/things/$T/shadow/update/$1 " "$WORK/sub-update.out" | cut -d' ' -f2- >"$WORK/mqtt-$1.json"; echo "$WORK/mqtt-$1.json"; }
check "  ... accepted = the CLI's answer" python3 -c "
import json; a = json.load(open('$(payload_of accepted)')); b = json.load(open('$WORK/m1.json'))
assert a == b and a['clientToken'] == 'app-1' and a['version'] == 1, (a, b)"
check "  ... delta {open: true}, version 1, metadata, clientToken" jcheck "$(payload_of delta)" \
  'd["state"] == {"open": True} and d["version"] == 1 and isinstance(d["metadata"]["open"]["timestamp"], int) and d["clientToken"] == "app-1"'
check "  ... documents {previous: none, current: v1}" jcheck "$(payload_of documents)" \
  'd["current"]["version"] == 1 and d["current"]["state"] == {"desired": {"open": True}, "reported": {"open": False}} and d.get("previous") is None and abs(d["timestamp"] - now) < 60'
# An MQTT get and a rejected MQTT update (version conflict), answered on /accepted and /rejected.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i requester -q 1 -t "\$aws/things/$T/shadow/get/accepted" -t "\$aws/things/$T/shadow/update/rejected" -v -C 2 -W 20 >"$WORK/sub-req.out" &
SUB=$!; PIDS+=($SUB)
sleep 0.5
run mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -i requester-pub -q 1 -t "\$aws/things/$T/shadow/get" -m '{"clientToken":"g-1"}'
run mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -i requester-pub -q 1 -t "\$aws/things/$T/shadow/update" -m '{"state":{"reported":{"open":true}},"version":7,"clientToken":"u-9"}'
wait "$SUB" || true
grep "/get/accepted " "$WORK/sub-req.out" | cut -d' ' -f2- >"$WORK/mqtt-get.json" || true
grep "/update/rejected " "$WORK/sub-req.out" | cut -d' ' -f2- >"$WORK/mqtt-rej.json" || true
check "MQTT get: get/accepted with delta and the clientToken" jcheck "$WORK/mqtt-get.json" \
  'd["version"] == 1 and d["state"]["delta"] == {"open": True} and d["clientToken"] == "g-1"'
check "MQTT update with a stale version: update/rejected {code 409, message, timestamp, clientToken}" jcheck "$WORK/mqtt-rej.json" \
  'd["code"] == 409 and d["message"] == "Version conflict" and abs(d["timestamp"] - now) < 60 and d["clientToken"] == "u-9"'
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i deleted-watch -q 1 -t "\$aws/things/$T/shadow/delete/accepted" -C 1 -W 20 >"$WORK/sub-del.out" &
SUB=$!; PIDS+=($SUB)
sleep 0.5
run data delete-thing-shadow --thing-name $T "$WORK/x.json"
wait "$SUB" || true
check "HTTP delete is published on delete/accepted" jcheck "$WORK/sub-del.out" 'd["version"] == 1 and "timestamp" in d'
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i named-watch -q 1 -t '$aws/things/pump-1/shadow/name/fw:v2_x-1/get/accepted' -C 1 -W 20 >"$WORK/sub-named.out" &
SUB=$!; PIDS+=($SUB)
sleep 0.5
run mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -i named-pub -q 1 -t '$aws/things/pump-1/shadow/name/fw:v2_x-1/get' -m ''
wait "$SUB" || true
check "MQTT get of a named shadow (CLI-made) on …/name/fw:v2_x-1/get/accepted" jcheck "$WORK/sub-named.out" \
  'd["version"] == 1 and d["state"] == {"reported": {"fw": "2.0"}}'
# 60 updates of one thing at once from one connection: more than 10 in flight or 20/s is 429;
# every update gets exactly one answer and none is lost.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i burst-watch -q 1 -t '$aws/things/burst-1/shadow/update/accepted' \
  -t '$aws/things/burst-1/shadow/update/rejected' -v -C 60 -W 20 >"$WORK/sub-burst.out" &
SUB=$!; PIDS+=($SUB)
sleep 0.5
seq 1 60 | sed 's/.*/{"state":{"reported":{"n":&}},"clientToken":"b-&"}/' \
  | run mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -i burst -q 1 -t '$aws/things/burst-1/shadow/update' -l
wait "$SUB" || true
run data get-thing-shadow --thing-name burst-1 "$WORK/burst.json"
check "a burst of 60 MQTT updates: each answered once, some 429, version = accepted count" python3 - "$WORK/sub-burst.out" "$WORK/burst.json" <<'PY'
import json, sys
lines = [l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines()]
acc = [json.loads(p) for t, p in lines if t.endswith("/accepted")]
rej = [json.loads(p) for t, p in lines if t.endswith("/rejected")]
tokens = sorted(m["clientToken"] for m in acc + rej)
assert tokens == sorted(f"b-{i}" for i in range(1, 61)), tokens
assert rej and all(r["code"] == 429 and r["message"] for r in rej), rej
shadow = json.load(open(sys.argv[2]))
assert shadow["version"] == len(acc) and [a["version"] for a in acc] == list(range(1, len(acc) + 1)), (shadow, len(acc))
print(f"{len(acc)} accepted, {len(rej)} throttled")
PY
sed 's/^/       /' "$WORK/check.out"

# A Last Will on a shadow topic reaches subscribers but not the shadow service (Developer Guide
# "Using shadows in apps and services": LWT messages to reserved topics are ignored by it).
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i lwt-watch -q 1 -t '$aws/things/lwt-1/shadow/update' -C 1 -W 20 >"$WORK/sub-lwt.out" &
SUB=$!; PIDS+=($SUB)
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i lwt-1 -t 'dt/lwt-1' -k 30 \
  --will-topic '$aws/things/lwt-1/shadow/update' --will-payload '{"state":{"reported":{"connected":false}}}' >/dev/null &
LWT=$!; PIDS+=($LWT)
sleep 0.5
{ kill -9 "$LWT"; wait "$LWT"; } 2>/dev/null || true
wait "$SUB" || true
check "a Last Will on \$aws/things/lwt-1/shadow/update is delivered to subscribers" \
  grep -qxF '{"state":{"reported":{"connected":false}}}' "$WORK/sub-lwt.out"
check "  ... and does not create the shadow" \
  expect_error ResourceNotFoundException "" data get-thing-shadow --thing-name lwt-1 "$WORK/x.json"

echo "== 6. aws iot-data publish"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i cmd-listener -q 1 -t 'cmd/valve-1/#' -v -C 1 -W 20 >"$WORK/sub-pub.out" &
SUB=$!; PIDS+=($SUB)
sleep 0.5
check "publish --topic cmd/valve-1/open --qos 1" data publish --topic cmd/valve-1/open --qos 1 --payload '{"open":1}'
wait "$SUB" || true
check "  ... delivered to the MQTT subscriber" grep -qxF 'cmd/valve-1/open {"open":1}' "$WORK/sub-pub.out"
check "publish --qos 2: InvalidRequestException" expect_error InvalidRequestException "" data publish --topic cmd/x --qos 2 --payload x
check "publish on a shadow request topic is a shadow update" data publish --topic '$aws/things/valve-2/shadow/update' --qos 1 --payload '{"state":{"reported":{"open":false}}}'
sleep 0.5
run data get-thing-shadow --thing-name valve-2 "$WORK/valve2.json"
check "  ... the shadow exists at version 1" jcheck "$WORK/valve2.json" 'd["version"] == 1 and d["state"]["reported"]["open"] is False'

echo "== 7. shadow log events in AWSIotLogsV2"
events '{ $.eventType = "UpdateThingShadow" && $.protocol = "HTTP" && $.deviceShadowName = "lamp-http" && $.status = "Success" }' "$WORK/e1.json" 6
check "UpdateThingShadow HTTP: one INFO Success entry per accepted update of lamp-http (6)" jcheck "$WORK/e1.json" \
  'len(d) == 6 and all(m["logLevel"] == "INFO" and m["topicName"] == "$aws/things/lamp-http/shadow/update" for m in d)'
check "  ... in AWS's attribute order" jcheck "$WORK/e1.json" \
  'list(d[0])[:9] == ["timestamp", "logLevel", "traceId", "accountId", "status", "eventType", "protocol", "deviceShadowName", "topicName"]'
events '{ $.eventType = "UpdateThingShadow" && $.deviceShadowName = "lamp-http" && $.status = "Failure" }' "$WORK/e2.json" 6
check "rejected updates: ERROR Failure entries with reason = the code" jcheck "$WORK/e2.json" \
  'sorted(m["reason"] for m in d) == ["400"] * 4 + ["409", "413"] and all(m["logLevel"] == "ERROR" for m in d)'
events '{ $.eventType = "GetThingShadow" && $.deviceShadowName = "lamp-http" && $.status = "Failure" && $.reason = "404" }' "$WORK/e3.json" 2
check "GetThingShadow 404s are logged (2)" jcheck "$WORK/e3.json" 'len(d) == 2 and all(m["protocol"] == "HTTP" for m in d)'
events '{ $.eventType = "DeleteThingShadow" && $.deviceShadowName = "lamp-http" }' "$WORK/e4.json" 2
check "DeleteThingShadow: one Success, one Failure 404" jcheck "$WORK/e4.json" 'sorted(m["status"] for m in d) == ["Failure", "Success"]'
events '{ $.eventType = "UpdateThingShadow" && $.deviceShadowName = "pump-1" && $.topicName = "$aws/things/pump-1/shadow/name/config/update" }' "$WORK/e5.json" 1
check "named shadow: topicName is …/shadow/name/config/update" jcheck "$WORK/e5.json" \
  'len(d) == 1 and d[0]["topicName"] == "$aws/things/pump-1/shadow/name/config/update"'
events '{ $.eventType = "*ThingShadow" && $.protocol = "MQTT" && $.deviceShadowName = "valve-1" }' "$WORK/e6.json" 2
check "MQTT requests log with protocol MQTT (a Success get, a Failure 409 update)" jcheck "$WORK/e6.json" \
  'sorted((m["eventType"], m["status"], m.get("reason")) for m in d) == [("GetThingShadow", "Success", None), ("UpdateThingShadow", "Failure", "409")] and all(m["topicName"].startswith("$aws/things/valve-1/shadow/") for m in d)'
check "set-v2-logging-options --default-log-level ERROR" \
  iot set-v2-logging-options --role-arn arn:aws:iam::123456789012:role/ThingwatchLoggingRole --default-log-level ERROR
run data update-thing-shadow --thing-name quiet-1 --payload '{"state":{"reported":{"x":1}}}' "$WORK/x.json"
run data get-thing-shadow --thing-name quiet-1 "$WORK/x.json"
check "  ... a get of a missing named shadow still fails" \
  expect_error ResourceNotFoundException "" data get-thing-shadow --thing-name quiet-1 --shadow-name missing "$WORK/x.json"
events '{ $.deviceShadowName = "quiet-1" }' "$WORK/e7.json" 1
sleep 0.5
events '{ $.deviceShadowName = "quiet-1" }' "$WORK/e7.json" 1
check "  ... successes are no longer logged, the failure is" jcheck "$WORK/e7.json" \
  'len(d) == 1 and d[0]["eventType"] == "GetThingShadow" and d[0]["status"] == "Failure" and d[0]["reason"] == "404"'
run iot set-v2-logging-options --role-arn arn:aws:iam::123456789012:role/ThingwatchLoggingRole --default-log-level INFO

echo "== 8. an awsiotsdk device (scripts/shadow_device.py)"
T=lamp-sdk
python3 scripts/shadow_device.py --endpoint 127.0.0.1 --port "$MQTT_PORT" --thing $T --seconds 60 >"$WORK/device.out" 2>"$WORK/device.err" &
DEV=$!; PIDS+=($DEV)
check "the device connects, subscribes and asks for its shadow (READY)" wait_line "$WORK/device.out" '^READY$'
check "  ... get/rejected 404: no shadow yet" wait_line "$WORK/device.out" '^REJECTED op=get code=404'
run data update-thing-shadow --thing-name $T --payload '{"state":{"desired":{"color":"green","brightness":80}}}' "$WORK/s1.json"
check "the device receives the delta of the CLI's desired state" \
  wait_line "$WORK/device.out" '^DELTA version=1 state=\{"brightness": 80, "color": "green"\}$'
check "  ... and reports it back (update/accepted with its clientToken)" \
  wait_line "$WORK/device.out" '^REPORTED version=2 state=\{"brightness": 80, "color": "green"\}$'
check "  ... and sees update/documents" wait_line "$WORK/device.out" '^DOCUMENTS version=2 reported=\{"brightness": 80, "color": "green"\}$'
run data get-thing-shadow --thing-name $T "$WORK/s2.json"
check "get-thing-shadow: reported = desired, no delta" jcheck "$WORK/s2.json" \
  'd["version"] == 2 and d["state"]["reported"] == d["state"]["desired"] == {"brightness": 80, "color": "green"} and "delta" not in d["state"]'
run data update-thing-shadow --thing-name $T --payload '{"state":{"desired":{"color":"blue"}}}' "$WORK/s3.json"
check "a second change: delta {color: blue} only" wait_line "$WORK/device.out" '^DELTA version=3 state=\{"color": "blue"\}$'
check "  ... reported as version 4" wait_line "$WORK/device.out" '^REPORTED version=4 state=\{"color": "blue"\}$'
# A device that starts while a delta is pending picks it up from get/accepted (the sample's flow).
run data update-thing-shadow --thing-name lamp-sdk-2 --payload '{"state":{"desired":{"mode":"eco"}}}' "$WORK/s4.json"
python3 scripts/shadow_device.py --port "$MQTT_PORT" --thing lamp-sdk-2 --seconds 60 >"$WORK/device2.out" 2>"$WORK/device2.err" &
DEV2=$!; PIDS+=($DEV2)
check "a late device gets the pending state from get/accepted" wait_line "$WORK/device2.out" '^GET version=1 state=\{"desired": \{"mode": "eco"\}, "reported": null\}$'
check "  ... and reports it" wait_line "$WORK/device2.out" '^REPORTED version=2 state=\{"mode": "eco"\}$'
kill "$DEV" "$DEV2" 2>/dev/null || true
wait "$DEV" "$DEV2" 2>/dev/null || true
check "the devices disconnect cleanly on SIGTERM" bash -c "grep -qx BYE '$WORK/device.out' && grep -qx BYE '$WORK/device2.out'"
check "the devices saw no rejected update" bash -c "! grep -q 'REJECTED op=update' '$WORK/device.out' '$WORK/device2.out'"
events '{ $.eventType = "UpdateThingShadow" && $.protocol = "MQTT" && $.deviceShadowName = "lamp-sdk" }' "$WORK/e8.json" 2
check "the device's two reports are logged with protocol MQTT" jcheck "$WORK/e8.json" \
  'len(d) == 2 and all(m["status"] == "Success" and m["topicName"] == "$aws/things/lamp-sdk/shadow/update" for m in d)'

echo "== 9. kill -9 and restart on the same data directory"
run data get-thing-shadow --thing-name $T "$WORK/before.json"
{ kill -9 "$PID"; wait "$PID"; } 2>/dev/null || true
start_server 2
run data get-thing-shadow --thing-name $T "$WORK/after.json"
check "get-thing-shadow returns the last version (4) unchanged" python3 -c "
import json; a = json.load(open('$WORK/before.json')); b = json.load(open('$WORK/after.json'))
assert a['version'] == b['version'] == 4 and a['state'] == b['state'] and a['metadata'] == b['metadata'], (a, b)"
data list-named-shadows-for-thing --thing-name pump-1 --output json >"$WORK/l6.json" || true
check "named shadows survived" jcheck "$WORK/l6.json" 'd["results"] == ["fw:v2_x-1"]'
run data update-thing-shadow --thing-name $T --payload '{"state":{"reported":{"color":"blue"}}}' "$WORK/after2.json"
check "  ... and the version continues (5)" jcheck "$WORK/after2.json" 'd["version"] == 5'
check "deleted shadows stay deleted" expect_error ResourceNotFoundException "" data get-thing-shadow --thing-name valve-1 "$WORK/x.json"

echo "shadow: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
