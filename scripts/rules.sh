#!/usr/bin/env bash
# Acceptance scenario of "The AWS IoT rules engine: IoT SQL, actions, error actions, and its
# log events and metrics", with the real AWS CLI and mosquitto clients against the release
# binary: the topic rule control plane and its errors, a rule that republishes hot readings
# and counts them as a custom metric, its log entries in AWSIotLogsV2 and its AWS/IoT
# metrics, an HTTP action behind a confirmed topic rule destination, an alarm action, and an
# error action (a failing cloudwatchLogs action and a failing http action). Fails (non-zero) on any mismatch.
#
# Usage: bash scripts/rules.sh   (THINGWATCH_BIN overrides target/release/thingwatch)
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=rules
source scripts/lib/scenario.sh

iot() { aws iot --endpoint-url "$EP" "$@"; }
cw() { aws cloudwatch --endpoint-url "$EP" "$@"; }
now() { date -u +%s; }
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@"; }
# sub NAME FILTER: a background subscriber writing "PAYLOAD <topic> <payload>" lines (and its
# -d lines) to $WORK/NAME.out; returns once it is subscribed.
sub() {
  timeout 60 stdbuf -oL mosquitto_sub -d -h 127.0.0.1 -p "$MQTT_PORT" -i "$1" -q 1 -t "$2" \
    -F 'PAYLOAD %t %p' >"$WORK/$1.out" 2>&1 &
  PIDS+=($!)
  wait_suback "$WORK/$1.out"
}
# got NAME TOPIC PAYLOAD: subscriber NAME received PAYLOAD on TOPIC.
got() { grep -qxF "PAYLOAD $2 $3" "$WORK/$1.out"; }
# json_eq FILE PYTHON-EXPR: the expression over `d` (FILE's JSON) is true.
json_true() { python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; }

start_server rules --metrics-interval 1
ACCOUNT=$(aws sts get-caller-identity --endpoint-url "$EP" --query Account --output text)
ROLE="arn:aws:iam::$ACCOUNT:role/rules-actions"

echo "== 1. the role rules act with"
check "create-role trusting iot.amazonaws.com" aws iam --endpoint-url "$EP" create-role --role-name rules-actions \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
check "put-role-policy: publish, metrics, alarms, logs" aws iam --endpoint-url "$EP" put-role-policy --role-name rules-actions \
  --policy-name actions --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Publish","cloudwatch:PutMetricData","cloudwatch:SetAlarmState","logs:CreateLogStream","logs:DescribeLogStreams","logs:PutLogEvents"],"Resource":"*"}]}'

echo "== 2. the control plane"
cat >"$WORK/hot.json" <<JSON
{"sql": "SELECT temp, topic(2) AS device FROM 'dt/+/temp' WHERE temp > 30",
 "awsIotSqlVersion": "2016-03-23",
 "actions": [
   {"republish": {"topic": "alerts/\${topic(2)}", "qos": 1, "roleArn": "$ROLE"}},
   {"cloudwatchMetric": {"metricNamespace": "Factory", "metricName": "HotReading",
     "metricValue": "\${temp}", "metricUnit": "None", "roleArn": "$ROLE"}}]}
JSON
check "create-topic-rule hot_devices" iot create-topic-rule --rule-name hot_devices --topic-rule-payload "file://$WORK/hot.json"
check "a second create-topic-rule with the name: ResourceAlreadyExistsException" expect_error ResourceAlreadyExistsException \
  iot create-topic-rule --rule-name hot_devices --topic-rule-payload "file://$WORK/hot.json"
check "SQL that does not parse: SqlParseException" expect_error SqlParseException \
  iot create-topic-rule --rule-name broken --topic-rule-payload '{"sql": "SELECT * FROM", "actions": []}'
check "a rule name with a dash: InvalidRequestException" expect_error InvalidRequestException \
  iot create-topic-rule --rule-name bad-name --topic-rule-payload "file://$WORK/hot.json"
iot get-topic-rule --rule-name hot_devices --output json >"$WORK/get.json"
check "get-topic-rule answers the rule, enabled, with its ARN" json_true "$WORK/get.json" \
  "d['ruleArn'].endswith(':rule/hot_devices') and d['rule']['ruleDisabled'] is False and d['rule']['awsIotSqlVersion'] == '2016-03-23' and len(d['rule']['actions']) == 2"
iot list-topic-rules --topic 'dt/+/temp' --output json >"$WORK/list.json"
check "list-topic-rules --topic 'dt/+/temp'" json_true "$WORK/list.json" \
  "[r['ruleName'] for r in d['rules']] == ['hot_devices'] and d['rules'][0]['topicPattern'] == 'dt/+/temp'"
check "get-topic-rule of an unknown rule: UnauthorizedException" expect_error UnauthorizedException \
  iot get-topic-rule --rule-name no_such_rule

echo "== 3. hot readings are republished, cold ones are not"
sub watcher 'alerts/#'
pub -i sensor-1 -t dt/sensor-1/temp -m '{"temp": 21}'
pub -i sensor-2 -t dt/sensor-2/temp -m '{"temp": 35}'
check "the hot reading arrives on alerts/sensor-2 as the SELECT shaped it" poll 50 0.2 \
  got watcher alerts/sensor-2 '{"temp":35,"device":"sensor-2"}'
check "the cold one was not republished" bash -c "! grep -q 'alerts/sensor-1' '$WORK/watcher.out'"
check "disable-topic-rule" iot disable-topic-rule --rule-name hot_devices
pub -i sensor-3 -t dt/sensor-3/temp -m '{"temp": 40}'
check "enable-topic-rule" iot enable-topic-rule --rule-name hot_devices
pub -i sensor-4 -t dt/sensor-4/temp -m '{"temp": 41}'
check "after enable-topic-rule the rule runs again" poll 50 0.2 got watcher alerts/sensor-4 '{"temp":41,"device":"sensor-4"}'
check "while disabled it did not" bash -c "! grep -q 'alerts/sensor-3' '$WORK/watcher.out'"

echo "== 4. its log entries and metrics"
rule_entries() {
  aws logs --endpoint-url "$EP" filter-log-events --log-group-name AWSIotLogsV2 \
    --filter-pattern "{ \$.eventType = \"$1\" && \$.ruleName = \"hot_devices\" }" --output json >"$WORK/$1.json"
  json_true "$WORK/$1.json" "len(d['events']) >= $2"
}
check "filter-log-events: RuleMatch for each reading on the FROM topic (3 while enabled)" poll 50 0.2 rule_entries RuleMatch 3
check "filter-log-events: RuleExecution Success for RepublishAction" bash -c "$(declare -f rule_entries json_true); EP=$EP WORK=$WORK; rule_entries RuleExecution 2 && python3 -c '
import json; es=[json.loads(e[\"message\"]) for e in json.load(open(\"$WORK/RuleExecution.json\"))[\"events\"]]
r=[e for e in es if e[\"ruleAction\"]==\"RepublishAction\"]
assert r and r[0][\"status\"]==\"Success\" and r[0][\"resources\"]==({\"RepublishTopic\":\"alerts/sensor-2\"}), es'"
metric_sum() { # metric_sum NAMESPACE METRIC DIMENSIONS... : the Sum over the last 10 minutes
  local ns=$1 m=$2; shift 2
  cw get-metric-statistics --namespace "$ns" --metric-name "$m" ${1:+--dimensions "$@"} --statistics Sum --period 60 \
    --start-time "$(( $(now) - 600 ))" --end-time "$(( $(now) + 60 ))" --output json \
    | python3 -c 'import json,sys; print(int(sum(p["Sum"] for p in json.load(sys.stdin)["Datapoints"])))'
}
expect_sum() { local want=$1; shift; [ "$(metric_sum "$@")" -eq "$want" ] || { echo "expected $want, got $(metric_sum "$@")"; return 1; }; }
check "AWS/IoT RulesExecuted Sum = 2" poll 50 0.2 expect_sum 2 AWS/IoT RulesExecuted
check "AWS/IoT TopicMatch{RuleName=hot_devices} Sum = 3" poll 50 0.2 expect_sum 3 AWS/IoT TopicMatch Name=RuleName,Value=hot_devices
check "AWS/IoT Success{RuleName,ActionType=Republish} Sum = 2" poll 50 0.2 expect_sum 2 AWS/IoT Success \
  Name=RuleName,Value=hot_devices Name=ActionType,Value=Republish
check "the cloudwatchMetric action: Factory/HotReading Sum = 35 + 41" poll 50 0.2 expect_sum 76 Factory HotReading

echo "== 5. an HTTP action behind a confirmed topic rule destination"
HOOK_PORT=$(free_port)
python3 scripts/lib/webhook.py "$HOOK_PORT" "$WORK/hook.jsonl" &
PIDS+=($!)
HOOK="http://127.0.0.1:$HOOK_PORT"
poll 50 0.1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HOOK_PORT"
cat >"$WORK/http.json" <<JSON
{"sql": "SELECT * FROM 'hook/+'",
 "actions": [{"http": {"url": "$HOOK/ingest", "headers": [{"key": "x-device", "value": "\${topic(2)}"}]}}],
 "errorAction": {"republish": {"topic": "errors/http", "roleArn": "$ROLE"}}}
JSON
check "create-topic-rule with an http action (creates its destination)" iot create-topic-rule --rule-name to_http --topic-rule-payload "file://$WORK/http.json"
confirmation() { grep -q DestinationConfirmation "$WORK/hook.jsonl"; }
check "the destination received its confirmation message" poll 50 0.2 confirmation
iot list-topic-rule-destinations --output json >"$WORK/dests.json"
check "list-topic-rule-destinations: IN_PROGRESS" json_true "$WORK/dests.json" \
  "[x['status'] for x in d['destinationSummaries']] == ['IN_PROGRESS'] and d['destinationSummaries'][0]['httpUrlSummary']['confirmationUrl'] == '$HOOK/ingest'"
TOKEN=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "DestinationConfirmation" in l][0]["confirmationToken"])' "$WORK/hook.jsonl")
DEST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["destinationSummaries"][0]["arn"])' "$WORK/dests.json")
check "confirm-topic-rule-destination with the token" iot confirm-topic-rule-destination --confirmation-token "$TOKEN"
iot get-topic-rule-destination --arn "$DEST" --output json >"$WORK/dest.json"
check "get-topic-rule-destination: ENABLED" json_true "$WORK/dest.json" "d['topicRuleDestination']['status'] == 'ENABLED'"
pub -i hooked -t hook/dev-9 -m '{"reading": 9}'
delivered() { grep -q '"reading": 9' "$WORK/hook.jsonl"; }
check "the message was POSTed to the endpoint" poll 50 0.2 delivered

echo "== 6. an alarm action and an error action"
check "put-metric-alarm machine-down" cw put-metric-alarm --alarm-name machine-down --namespace Factory \
  --metric-name Heartbeat --statistic Sum --period 60 --evaluation-periods 1 --threshold 1 \
  --comparison-operator LessThanThreshold --treat-missing-data ignore
cat >"$WORK/alarm.json" <<JSON
{"sql": "SELECT * FROM 'machines/+/status' WHERE state = 'down'",
 "actions": [
   {"cloudwatchAlarm": {"alarmName": "machine-down", "stateValue": "ALARM",
     "stateReason": "\${topic(2)} reported down", "roleArn": "$ROLE"}},
   {"cloudwatchLogs": {"logGroupName": "no-such-group", "roleArn": "$ROLE"}}],
 "errorAction": {"republish": {"topic": "errors/\${topic(2)}", "roleArn": "$ROLE"}}}
JSON
check "create-topic-rule machine_down" iot create-topic-rule --rule-name machine_down --topic-rule-payload "file://$WORK/alarm.json"
sub errors 'errors/#'
pub -i press-1 -t machines/press-1/status -m '{"state": "down"}'
alarm() { cw describe-alarms --alarm-names machine-down --output json >"$WORK/alarm-state.json" && json_true "$WORK/alarm-state.json" \
  "d['MetricAlarms'][0]['StateValue'] == 'ALARM' and d['MetricAlarms'][0]['StateReason'] == 'press-1 reported down'"; }
check "the cloudwatchAlarm action set ALARM with the substituted reason" poll 50 0.2 alarm
error_message() { grep -q '^PAYLOAD errors/press-1 ' "$WORK/errors.out"; }
check "the failed cloudwatchLogs action ran the error action" poll 50 0.2 error_message
grep '^PAYLOAD errors/press-1 ' "$WORK/errors.out" | head -1 | cut -d' ' -f3- >"$WORK/error.json"
check "the error message is AWS's: ruleName, topic, clientId, base64OriginalPayload, failures" json_true "$WORK/error.json" \
  "d['ruleName'] == 'machine_down' and d['topic'] == 'machines/press-1/status' and d['clientId'] == 'press-1' and __import__('base64').b64decode(d['base64OriginalPayload']) == b'{\"state\": \"down\"}' and [f['failedAction'] for f in d['failures']] == ['CloudwatchLogsAction'] and d['failures'][0]['failedResource'] == 'no-such-group'"
check "AWS/IoT Failure{RuleName=machine_down,ActionType=CloudwatchLogs} Sum = 1" poll 50 0.2 expect_sum 1 AWS/IoT Failure \
  Name=RuleName,Value=machine_down Name=ActionType,Value=CloudwatchLogs
check "AWS/IoT ErrorActionSuccess{RuleName=machine_down,ActionType=Republish} Sum = 1" poll 50 0.2 expect_sum 1 AWS/IoT ErrorActionSuccess \
  Name=RuleName,Value=machine_down Name=ActionType,Value=Republish

# A failing http action: the endpoint is confirmed, then goes away.
HOOK2_PORT=$(free_port)
python3 scripts/lib/webhook.py "$HOOK2_PORT" "$WORK/hook2.jsonl" &
HOOK2_PID=$!
PIDS+=($HOOK2_PID)
poll 50 0.1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HOOK2_PORT"
check "create-topic-rule dead_http" iot create-topic-rule --rule-name dead_http --topic-rule-payload \
  "{\"sql\": \"SELECT * FROM 'dead/+'\", \"actions\": [{\"http\": {\"url\": \"http://127.0.0.1:$HOOK2_PORT/in\"}}], \"errorAction\": {\"republish\": {\"topic\": \"errors/dead\", \"roleArn\": \"$ROLE\"}}}"
confirmation2() { grep -q DestinationConfirmation "$WORK/hook2.jsonl"; }
check "its destination received the confirmation" poll 50 0.2 confirmation2
TOKEN2=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1])][0]["confirmationToken"])' "$WORK/hook2.jsonl")
check "confirm-topic-rule-destination" iot confirm-topic-rule-destination --confirmation-token "$TOKEN2"
kill "$HOOK2_PID"; wait "$HOOK2_PID" 2>/dev/null || true
pub -i dead-1 -t dead/1 -m '{"n": 1}'
dead_error() { grep -q '^PAYLOAD errors/dead ' "$WORK/errors.out"; }
check "the failing http action (connection refused, retried) ran the error action" poll 100 0.2 dead_error
grep '^PAYLOAD errors/dead ' "$WORK/errors.out" | head -1 | cut -d' ' -f3- >"$WORK/dead.json"
check "  ... with failedAction HttpAction after 2 retries" json_true "$WORK/dead.json" \
  "d['failures'][0]['failedAction'] == 'HttpAction' and d['failures'][0]['errorMessage'].endswith('after 2 retries')"
check "AWS/IoT Failure{RuleName=dead_http,ActionType=Http} Sum = 1" poll 50 0.2 expect_sum 1 AWS/IoT Failure \
  Name=RuleName,Value=dead_http Name=ActionType,Value=Http

echo "== 7. Basic Ingest and RuleNotFound"
check "create-topic-rule ingest_only" iot create-topic-rule --rule-name ingest_only --topic-rule-payload \
  "{\"sql\": \"SELECT * FROM 'unused'\", \"actions\": [{\"republish\": {\"topic\": \"ingested\", \"roleArn\": \"$ROLE\"}}]}"
sub ingested ingested
pub -i ingester -t '$aws/rules/ingest_only/x' -m '{"n": 1}'
pub -i ingester -t '$aws/rules/nope' -m '{"n": 2}'
check "\$aws/rules/ingest_only reached its rule" poll 50 0.2 got ingested ingested '{"n":1}'
not_found() {
  aws logs --endpoint-url "$EP" filter-log-events --log-group-name AWSIotLogsV2 \
    --filter-pattern '{ $.eventType = "RuleNotFound" }' --output json >"$WORK/nf.json"
  json_true "$WORK/nf.json" "any('Rule nope not found' in e['message'] for e in d['events'])"
}
check "\$aws/rules/nope logged RuleNotFound" poll 50 0.2 not_found

echo "== 8. delete-topic-rule"
check "delete-topic-rule hot_devices" iot delete-topic-rule --rule-name hot_devices
check "get-topic-rule after delete: UnauthorizedException" expect_error UnauthorizedException iot get-topic-rule --rule-name hot_devices
check "delete-topic-rule-destination" iot delete-topic-rule-destination --arn "$DEST"

summary
