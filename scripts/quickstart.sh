#!/usr/bin/env bash
# The README quickstart, step by step, against the release binary, with the real mosquitto
# clients and the real AWS CLI. Fails (non-zero) on any mismatch.
#
# Usage: bash scripts/quickstart.sh            (uses target/release/thingwatch)
#        THINGWATCH_BIN=path bash scripts/quickstart.sh
# Ports: free loopback ports are picked (the README uses the defaults 1883 and 4580).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${THINGWATCH_BIN:-target/release/thingwatch}
[ -x "$BIN" ] || { echo "quickstart: $BIN not built (cargo build --release)"; exit 1; }
WORK=$(mktemp -d)
PID=""
SUBS=()
cleanup() {
  # Reap what we kill, quietly, so the summary stays the last line printed.
  for p in "${SUBS[@]:-}"; do [ -n "$p" ] && { kill "$p"; wait "$p"; } 2>/dev/null || true; done
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
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

start_server() {
  "$BIN" serve --data-dir "$DATA" --mqtt-listen "127.0.0.1:$MQTT_PORT" --mqtts-listen "127.0.0.1:$MQTTS_PORT" --http-listen "127.0.0.1:$HTTP_PORT" \
    >>"$WORK/server.out" 2>>"$WORK/server.err" &
  PID=$!
  for _ in $(seq 1 100); do
    if grep -q "HTTP listening on" "$WORK/server.out" 2>/dev/null && [ "$(grep -c 'HTTP listening on' "$WORK/server.out")" -ge "$1" ]; then
      return 0
    fi
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.err"; echo "server exited"; exit 1; }
    sleep 0.1
  done
  echo "server did not start"; cat "$WORK/server.err"; exit 1
}

echo "== 1. thingwatch serve"
start_server 1
cat "$WORK/server.out"
check "banner names the MQTT address" grep -q "MQTT listening on 127.0.0.1:$MQTT_PORT" "$WORK/server.out"
check "banner names the credentials file" grep -q "credentials: $DATA/credentials" "$WORK/server.out"
check "credentials file is in AWS shared-credentials format" grep -q '^aws_secret_access_key = ' "$DATA/credentials"

export AWS_SHARED_CREDENTIALS_FILE="$DATA/credentials" AWS_CONFIG_FILE="$DATA/config"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION AWS_REGION || true
export AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
EP=(--endpoint-url "http://127.0.0.1:$HTTP_PORT")

echo "== 2. mosquitto clients: MQTT 5 and 3.1.1"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv5 -i app-v5 -t 'dt/sensor-1/#' -C 3 -W 20 >"$WORK/sub5.out" &
SUBS+=($!)
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 -i app-v311 -t 'dt/+/temp' -q 1 -C 3 -W 20 >"$WORK/sub311.out" &
SUBS+=($!)
# A persistent session (clean session off) that subscribes and leaves.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 -i archiver -c -q 1 -t 'dt/sensor-1/alerts' -E
sleep 1
for t in 21 22 23; do
  mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv5 -i sensor-1 -q 1 -t dt/sensor-1/temp -m "{\"t\":$t}"
done
wait "${SUBS[0]}" || true
wait "${SUBS[1]}" || true
SUBS=()
check "MQTT 5 subscriber got the three readings" diff <(printf '{"t":21}\n{"t":22}\n{"t":23}\n') "$WORK/sub5.out"
check "MQTT 3.1.1 subscriber got the three readings" diff <(printf '{"t":21}\n{"t":22}\n{"t":23}\n') "$WORK/sub311.out"
# A retained message, and a QoS 1 message queued for the offline persistent session.
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 -i sensor-1 -q 1 -r -t dt/sensor-1/config -m '{"rate":5}'
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 -i sensor-1 -q 1 -t dt/sensor-1/alerts -m 'overheat'

echo "== 3. the AWS CLI reads the log events"
check "describe-log-groups lists AWSIotLogsV2" \
  bash -c "aws logs describe-log-groups ${EP[*]} --query 'logGroups[].logGroupName' --output text | tr '\t' '\n' | grep -qx AWSIotLogsV2"

filter_publish_in() {
  aws logs filter-log-events "${EP[@]}" --log-group-name AWSIotLogsV2 \
    --filter-pattern '{ $.eventType = "Publish-In" && $.clientId = "sensor-1" }' --output json
}
# The pipeline writes within milliseconds; allow a moment.
for _ in $(seq 1 50); do
  n=$(filter_publish_in | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')
  [ "$n" -ge 5 ] && break
  sleep 0.2
done
filter_publish_in >"$WORK/publish-in.json"
check "filter-log-events returns exactly sensor-1's five Publish-In events in the AWS format" python3 - "$WORK/publish-in.json" <<'PY'
import json, re, sys
events = json.load(open(sys.argv[1]))["events"]
assert len(events) == 5, f"expected 5 events, got {len(events)}"
keys = ["timestamp", "logLevel", "traceId", "accountId", "status", "eventType", "protocol",
        "topicName", "clientId", "principalId", "sourceIp", "sourcePort"]
topics = []
for e in events:
    for k in ("logStreamName", "timestamp", "message", "ingestionTime", "eventId"):
        assert k in e, f"missing {k} in {e}"
    m = json.loads(e["message"])
    got = [k for k in m if k != "retain"]
    assert got == keys, f"attribute order {list(m)}"
    assert m["eventType"] == "Publish-In" and m["clientId"] == "sensor-1" and m["status"] == "Success"
    assert m["logLevel"] == "INFO" and m["accountId"] == "123456789012" and m["protocol"] == "MQTT"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", m["timestamp"]), m["timestamp"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", m["traceId"])
    assert m["sourceIp"] == "127.0.0.1" and isinstance(m["sourcePort"], int)
    topics.append(m["topicName"])
    if m["topicName"] == "dt/sensor-1/config":
        assert m.get("retain") == "True", m
assert sorted(topics) == sorted(["dt/sensor-1/temp"] * 3 + ["dt/sensor-1/config", "dt/sensor-1/alerts"]), topics
ts = [e["timestamp"] for e in events]
assert ts == sorted(ts), "events are in timestamp order"
PY

check "each Publish-In shares its traceId with the Publish-Out deliveries" python3 - "$WORK/publish-in.json" "${EP[1]}" <<'PY'
import json, subprocess, sys
events = json.load(open(sys.argv[1]))["events"]
m = json.loads(next(e["message"] for e in events if json.loads(e["message"])["topicName"] == "dt/sensor-1/temp"))
out = subprocess.run(["aws", "logs", "filter-log-events", "--endpoint-url", sys.argv[2], "--log-group-name", "AWSIotLogsV2",
                      "--filter-pattern", '{ $.traceId = "%s" }' % m["traceId"], "--output", "json"],
                     check=True, capture_output=True, text=True).stdout
kinds = sorted(json.loads(e["message"])["eventType"] + ":" + json.loads(e["message"])["clientId"] for e in json.loads(out)["events"])
assert kinds == ["Publish-In:sensor-1", "Publish-Out:app-v311", "Publish-Out:app-v5"], kinds
PY

check "Connect, Subscribe, Disconnect and Queued events are there too" python3 - "${EP[1]}" <<'PY'
import json, subprocess, sys
def q(pattern):
    out = subprocess.run(["aws", "logs", "filter-log-events", "--endpoint-url", sys.argv[1], "--log-group-name", "AWSIotLogsV2",
                          "--filter-pattern", pattern, "--output", "json"], check=True, capture_output=True, text=True).stdout
    return [json.loads(e["message"]) for e in json.loads(out)["events"]]
assert any(m["clientId"] == "app-v5" for m in q('{ $.eventType = "Connect" }'))
subs = q('{ $.eventType = "Subscribe" && $.clientId = "app-*" }')
assert sorted(m["topicName"] for m in subs) == ["dt/+/temp", "dt/sensor-1/#"], subs
disc = q('{ $.eventType = "Disconnect" && $.clientId = "sensor-1" }')
assert disc and all(m["disconnectReason"] == "CLIENT_INITIATED_DISCONNECT" for m in disc), disc
queued = q('{ $.eventType = "Queued" }')
assert [m["clientId"] for m in queued] == ["archiver"], queued
assert q('Publish-Out app-v311'), "term pattern"
PY

STREAM=$(aws logs describe-log-streams "${EP[@]}" --log-group-name AWSIotLogsV2 --query 'logStreams[0].logStreamName' --output text)
check "describe-log-streams names today's stream" bash -c "[[ '$STREAM' =~ ^[0-9]{4}/[0-9]{2}/[0-9]{2}/tw-[0-9a-f]{8}\$ ]]"
check "get-log-events reads the stream from the head" python3 - "${EP[1]}" "$STREAM" <<'PY'
import json, subprocess, sys
out = subprocess.run(["aws", "logs", "get-log-events", "--endpoint-url", sys.argv[1], "--log-group-name", "AWSIotLogsV2",
                      "--log-stream-name", sys.argv[2], "--start-from-head", "--output", "json"],
                     check=True, capture_output=True, text=True).stdout
r = json.loads(out)
assert r["nextForwardToken"].startswith("f/") and r["nextBackwardToken"].startswith("b/")
first = json.loads(r["events"][0]["message"])
assert first["eventType"] == "Connect", first
assert len(r["events"]) >= 20, len(r["events"])
PY

TOTAL_BEFORE=$(aws logs filter-log-events "${EP[@]}" --log-group-name AWSIotLogsV2 --output json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')

echo "== 4. kill -9 and restart on the same data directory"
{ kill -9 "$PID"; wait "$PID"; } 2>/dev/null || true
start_server 2
check "every log event written before the kill is still there" python3 - "${EP[1]}" "$TOTAL_BEFORE" <<'PY'
import json, subprocess, sys
out = subprocess.run(["aws", "logs", "filter-log-events", "--endpoint-url", sys.argv[1], "--log-group-name", "AWSIotLogsV2",
                      "--filter-pattern", '{ $.eventType = "Publish-In" && $.clientId = "sensor-1" }', "--output", "json"],
                     check=True, capture_output=True, text=True).stdout
assert len(json.loads(out)["events"]) == 5
out = subprocess.run(["aws", "logs", "filter-log-events", "--endpoint-url", sys.argv[1], "--log-group-name", "AWSIotLogsV2",
                      "--output", "json"], check=True, capture_output=True, text=True).stdout
assert len(json.loads(out)["events"]) >= int(sys.argv[2])
PY
check "the retained message survived" \
  bash -c "[ \"\$(mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -i late-reader -t dt/sensor-1/config -C 1 -W 10)\" = '{\"rate\":5}' ]"
check "the persistent session got its queued QoS 1 message" \
  bash -c "[ \"\$(mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -V mqttv311 -i archiver -c -q 1 -t dt/sensor-1/alerts -C 1 -W 10)\" = 'overheat' ]"

echo "quickstart: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
