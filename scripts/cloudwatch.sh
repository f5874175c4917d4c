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

echo "== 4. the metrics survive a restart"
kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
"$BIN" serve --data-dir "$DATA" --mqtt-listen "127.0.0.1:$MQTT_PORT" --mqtts-listen "127.0.0.1:$MQTTS_PORT" --http-listen "127.0.0.1:$HTTP_PORT" >"$WORK/again.out" 2>"$WORK/again.err" &
PIDS+=($!)
check "the server is back" poll 50 0.1 grep -q "^credentials:" "$WORK/again.out"
check "PublishIn.Success{Protocol=MQTT} Sum is still $N" poll 20 0.2 expect_sum PublishIn.Success MQTT $N

summary
