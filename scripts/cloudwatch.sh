#!/usr/bin/env bash
# Acceptance scenario of "CloudWatch metrics, alarms with notifications, dashboards,
# Prometheus" (the metrics half), with the real AWS CLI and mosquitto clients against the
# release binary: AWS/IoT counts published from the broker, custom metrics, statistics,
# metric math and the CloudWatch error codes. Fails (non-zero) on any mismatch.
#
# Usage: bash scripts/cloudwatch.sh   (THINGWATCH_BIN overrides target/release/thingwatch)
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=cloudwatch
source scripts/lib/scenario.sh

cw() { aws cloudwatch --endpoint-url "$EP" "$@"; }
now() { date -u +%s; }
# sum_of METRIC PROTOCOL: the Sum of AWS/IoT METRIC{Protocol=PROTOCOL} over the last 10 minutes
sum_of() {
  cw get-metric-statistics --namespace AWS/IoT --metric-name "$1" \
    --dimensions "Name=Protocol,Value=$2" --statistics Sum --period 60 \
    --start-time "$(( $(now) - 600 ))" --end-time "$(( $(now) + 60 ))" --output json \
    | python3 -c 'import json,sys; print(int(sum(p["Sum"] for p in json.load(sys.stdin)["Datapoints"])))'
}
expect_sum() { # expect_sum METRIC PROTOCOL N
  [ "$(sum_of "$1" "$2")" -eq "$3" ] || { echo "expected $3, got $(sum_of "$1" "$2")"; return 1; }
}

echo "== 1. AWS/IoT metrics from the broker (published every second here, every minute by default)"
start_server cw --metrics-interval 1
N=25
for i in $(seq 1 $N); do mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -i "pub-$i" -q 1 -t telemetry/t1 -m "$i"; done
check "get-metric-statistics PublishIn.Success{Protocol=MQTT} Sum = $N" poll 50 0.2 expect_sum PublishIn.Success MQTT $N
check "Connect.Success{Protocol=MQTT} Sum = $N" poll 20 0.2 expect_sum Connect.Success MQTT $N
check "list-metrics shows AWS/IoT PublishIn.Success with its Protocol dimension" bash -c \
  "aws cloudwatch --endpoint-url $EP list-metrics --namespace AWS/IoT --metric-name PublishIn.Success --output json \
   | python3 -c 'import json,sys; m=json.load(sys.stdin)[\"Metrics\"]; assert m[0][\"Dimensions\"]==[{\"Name\":\"Protocol\",\"Value\":\"MQTT\"}], m'"
check "list-metrics --recently-active PT3H" bash -c \
  "aws cloudwatch --endpoint-url $EP list-metrics --recently-active PT3H --namespace AWS/IoT --output json | grep -q Connect.Success"

echo "== 2. custom metrics, statistics, percentiles, metric math"
T=$(( $(now) / 60 * 60 - 120 ))
check "put-metric-data with values and counts" cw put-metric-data --namespace Factory \
  --metric-data "[{\"MetricName\":\"Latency\",\"Unit\":\"Milliseconds\",\"Timestamp\":$T,\"Dimensions\":[{\"Name\":\"Line\",\"Value\":\"l1\"}],\"Values\":[10,20,30,400],\"Counts\":[10,10,10,1]}]"
check "put-metric-data with a statistic set" cw put-metric-data --namespace Factory --metric-name Units \
  --timestamp "$T" --statistic-values SampleCount=3,Sum=30,Minimum=5,Maximum=15 --unit Count
stats() { cw get-metric-statistics --namespace Factory --metric-name Latency --dimensions Name=Line,Value=l1 \
  --start-time "$T" --end-time "$(( T + 60 ))" --period 60 --output json "$@"; }
check "Average and SampleCount" bash -c "$(declare -f stats cw); T=$T EP=$EP; stats --statistics Average SampleCount | python3 -c '
import json,sys; p=json.load(sys.stdin)[\"Datapoints\"][0]; assert p[\"SampleCount\"]==31 and abs(p[\"Average\"]-(600+400)/31)<1e-9, p'"
check "p50 and p99 extended statistics" bash -c "$(declare -f stats cw); T=$T EP=$EP; stats --extended-statistics p50 p99 | python3 -c '
import json,sys; e=json.load(sys.stdin)[\"Datapoints\"][0][\"ExtendedStatistics\"]; assert 19<=e[\"p50\"]<=21 and 29<=e[\"p99\"]<=401, e'"
check "get-metric-data: MetricStat + expression" bash -c "aws cloudwatch --endpoint-url $EP get-metric-data --start-time $T --end-time $(( T + 60 )) --output json --metric-data-queries '[
  {\"Id\":\"u\",\"MetricStat\":{\"Metric\":{\"Namespace\":\"Factory\",\"MetricName\":\"Units\"},\"Period\":60,\"Stat\":\"Sum\"},\"ReturnData\":false},
  {\"Id\":\"double\",\"Expression\":\"u * 2\",\"Label\":\"Twice\"}]' | python3 -c '
import json,sys; r=json.load(sys.stdin)[\"MetricDataResults\"]; assert len(r)==1 and r[0][\"Label\"]==\"Twice\" and r[0][\"Values\"]==[60.0], r'"

echo "== 3. CloudWatch's errors"
check "AWS/ namespaces are reserved (InvalidParameterValue)" expect_error InvalidParameterValue \
  cw put-metric-data --namespace AWS/IoT --metric-name X --value 1
check "a period that is not a multiple of 60 (InvalidParameterValue)" expect_error InvalidParameterValue \
  cw get-metric-statistics --namespace Factory --metric-name Units --statistics Sum --period 61 --start-time "$T" --end-time "$(( T + 60 ))"
check "more than 1,440 datapoints (InvalidParameterCombination)" expect_error InvalidParameterCombination \
  cw get-metric-statistics --namespace Factory --metric-name Units --statistics Sum --period 60 --start-time "$(( T - 86400 * 2 ))" --end-time "$T"
check "an unknown unit (InvalidParameterValue)" expect_error InvalidParameterValue \
  cw put-metric-data --namespace Factory --metric-name X --value 1 --unit Furlongs
check "a bad NextToken (InvalidNextToken)" expect_error InvalidNextToken cw list-metrics --next-token bogus

echo "== 4. an alarm goes OK -> ALARM -> OK on custom data, with its history"
check "put-metric-alarm on Factory/Errors" cw put-metric-alarm --alarm-name errors-high \
  --namespace Factory --metric-name Errors --statistic Maximum --period 60 --evaluation-periods 1 \
  --threshold 5 --comparison-operator GreaterThanOrEqualToThreshold --treat-missing-data ignore
alarm_state() { cw describe-alarms --alarm-names errors-high --query 'MetricAlarms[0].StateValue' --output text; }
expect_state() { [ "$(alarm_state)" = "$1" ] || { echo "state $(alarm_state), expected $1"; return 1; }; }
check "a new alarm is INSUFFICIENT_DATA" expect_state INSUFFICIENT_DATA
cw put-metric-data --namespace Factory --metric-name Errors --value 1
check "1 error: OK" poll 20 0.2 expect_state OK
cw put-metric-data --namespace Factory --metric-name Errors --value 9
check "9 errors: ALARM" poll 20 0.2 expect_state ALARM
check "set-alarm-state to OK by hand" cw set-alarm-state --alarm-name errors-high --state-value OK --state-reason "fixed by hand"
check "the next evaluation takes it back to ALARM (the data still breaches)" poll 20 0.2 expect_state ALARM
check "describe-alarm-history shows every transition, newest first" bash -c "aws cloudwatch --endpoint-url $EP describe-alarm-history --alarm-name errors-high --history-item-type StateUpdate --output json | python3 -c '
import json,sys; s=[i[\"HistorySummary\"] for i in json.load(sys.stdin)[\"AlarmHistoryItems\"]]
assert s==[\"Alarm updated from OK to ALARM\",\"Alarm updated from ALARM to OK\",\"Alarm updated from OK to ALARM\",\"Alarm updated from INSUFFICIENT_DATA to OK\"], s'"
check "describe-alarms-for-metric" bash -c "aws cloudwatch --endpoint-url $EP describe-alarms-for-metric --namespace Factory --metric-name Errors --output text | grep -q errors-high"
check "delete-alarms of an unknown alarm (ResourceNotFound)" expect_error ResourceNotFound cw delete-alarms --alarm-names ghost
check "delete-alarms" cw delete-alarms --alarm-names errors-high

echo "== 4b. alarm actions notify an SNS topic; a local webhook gets CloudWatch's JSON"
HOOK_PORT=$(free_port)
python3 scripts/lib/webhook.py "$HOOK_PORT" "$WORK/hook.jsonl" &
PIDS+=($!)
poll 50 0.1 python3 -c "import socket; socket.create_connection(('127.0.0.1', $HOOK_PORT))"
sns() { aws sns --endpoint-url "$EP" "$@"; }
TOPIC=$(sns create-topic --name ops-alarms --query TopicArn --output text)
sns subscribe --topic-arn "$TOPIC" --protocol http --notification-endpoint "http://127.0.0.1:$HOOK_PORT/hook" >/dev/null
check "the webhook gets the SubscriptionConfirmation" poll 50 0.1 grep -q SubscriptionConfirmation "$WORK/hook.jsonl"
URL=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["SubscribeURL"])' "$WORK/hook.jsonl")
check "following SubscribeURL confirms the subscription" curl -sf -o /dev/null "$URL"
check "put-metric-alarm with OK and ALARM actions on the topic" cw put-metric-alarm --alarm-name temp-high \
  --namespace Factory --metric-name Temp --statistic Maximum --period 60 --evaluation-periods 1 \
  --threshold 30 --comparison-operator GreaterThanThreshold --treat-missing-data ignore \
  --ok-actions "$TOPIC" --alarm-actions "$TOPIC"
temp_state() { [ "$(cw describe-alarms --alarm-names temp-high --query 'MetricAlarms[0].StateValue' --output text)" = "$1" ]; }
cw put-metric-data --namespace Factory --metric-name Temp --value 20
check "20 degrees: OK" poll 20 0.2 temp_state OK
cw put-metric-data --namespace Factory --metric-name Temp --value 35
check "35 degrees: ALARM" poll 20 0.2 temp_state ALARM
# A new minute with a cool reading brings it back to OK (the current period is evaluated).
NEXT=$(( ( $(now) / 60 + 1 ) * 60 ))
while [ "$(now)" -lt "$NEXT" ]; do sleep 0.5; done
cw put-metric-data --namespace Factory --metric-name Temp --value 21
check "21 degrees the next minute: OK" poll 20 0.2 temp_state OK
notifications() { python3 - "$WORK/hook.jsonl" "$@" <<'PY'
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
notes = [json.loads(d["Message"]) for d in docs if d.get("Type") == "Notification"]
want = sys.argv[2:]
got = [f'{n["OldStateValue"]}->{n["NewStateValue"]}' for n in notes]
assert got == want, got
for d, n in zip([d for d in docs if d.get("Type") == "Notification"], notes):
    assert d["Subject"].startswith(n["NewStateValue"] + ': "temp-high" in'), d["Subject"]
    assert n["AlarmName"] == "temp-high" and n["Trigger"]["MetricName"] == "Temp", n
    assert n["Trigger"]["Statistic"] == "MAXIMUM" and n["Trigger"]["Threshold"] == 30.0, n
    assert d["SignatureVersion"] and d["Signature"] and d["SigningCertURL"], d
PY
}
check "the webhook got the alarm's notifications with CloudWatch's JSON" poll 30 0.2 notifications "INSUFFICIENT_DATA->OK" "OK->ALARM" "ALARM->OK"
check "describe-alarm-history records the actions" bash -c "aws cloudwatch --endpoint-url $EP describe-alarm-history --alarm-name temp-high --history-item-type Action --output text | grep -c 'Successfully executed action' | grep -qx 3"

echo "== 5. dashboards"
BODY='{"widgets":[{"type":"metric","x":0,"y":0,"width":12,"height":6,"properties":{"region":"us-east-1","metrics":[["AWS/IoT","PublishIn.Success","Protocol","MQTT"]],"stat":"Sum","period":60,"title":"Publishes"}}]}'
check "put-dashboard" cw put-dashboard --dashboard-name fleet --dashboard-body "$BODY"
check "get-dashboard returns the body unchanged" bash -c "[ \"\$(aws cloudwatch --endpoint-url $EP get-dashboard --dashboard-name fleet --query DashboardBody --output text)\" = '$BODY' ]"
check "list-dashboards" bash -c "aws cloudwatch --endpoint-url $EP list-dashboards --output text | grep -q fleet"
check "an invalid body (InvalidParameterInput)" expect_error InvalidParameterInput \
  cw put-dashboard --dashboard-name broken --dashboard-body '{"widgets":[{"type":"metric","width":30,"properties":{}}]}'
check "get-dashboard of an unknown dashboard (ResourceNotFound)" expect_error ResourceNotFound cw get-dashboard --dashboard-name ghost

echo "== 6. the metrics survive a restart"
kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
"$BIN" serve --data-dir "$DATA" --mqtt-listen "127.0.0.1:$MQTT_PORT" --mqtts-listen "127.0.0.1:$MQTTS_PORT" --http-listen "127.0.0.1:$HTTP_PORT" >"$WORK/again.out" 2>"$WORK/again.err" &
PIDS+=($!)
check "the server is back" poll 50 0.1 cw list-metrics --namespace AWS/IoT
check "PublishIn.Success{Protocol=MQTT} Sum is still $N" poll 20 0.2 expect_sum PublishIn.Success MQTT $N

summary
