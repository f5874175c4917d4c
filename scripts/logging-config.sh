#!/usr/bin/env bash
# Acceptance scenario of "AWS IoT logging configuration API, thing registry and fine-grained
# log levels", with the real AWS CLI and mosquitto clients against the release binary.
# Fails (non-zero) on any mismatch.
#
# Usage: bash scripts/logging-config.sh   (THINGWATCH_BIN overrides target/release/thingwatch)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${THINGWATCH_BIN:-target/release/thingwatch}
[ -x "$BIN" ] || { echo "logging-config: $BIN not built"; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  # Reap what we kill, quietly, so the summary stays the last line printed.
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && { kill -9 "$p"; wait "$p"; } 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PASS=0
FAIL=0
ok()   { PASS=$((PASS+1)); echo "  ok   $*"; }
bad()  { FAIL=$((FAIL+1)); echo "  FAIL $*"; }
check() { local what=$1; shift; if "$@" >"$WORK/check.out" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/       /' "$WORK/check.out" | head -20; fi; }

# start_server NAME EXTRA_FLAGS... ; sets MQTT_PORT HTTP_PORT EP DATA
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
# create_logging_role: the AWS IoT guide's "Create a logging role" on the current server: a role
# AWS IoT may assume (trust iot.amazonaws.com) that may write CloudWatch Logs.
create_logging_role() {
  aws iam create-role --endpoint-url "$EP" --role-name IoTLoggingRole \
    --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null &&
  aws iam put-role-policy --endpoint-url "$EP" --role-name IoTLoggingRole --policy-name IoTLoggingPolicy \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents","logs:PutMetricFilter","logs:PutRetentionPolicy"],"Resource":["arn:aws:logs:*:*:*"]}]}'
}
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION AWS_REGION || true
export AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
iot() { aws iot --endpoint-url "$EP" "$@"; }
logs() { aws logs --endpoint-url "$EP" "$@"; }
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" "$@"; }
# count_events PATTERN [GROUP]: number of events matching PATTERN (0 when the group does not exist yet)
count_events() {
  logs filter-log-events --log-group-name "${2:-AWSIotLogsV2}" --filter-pattern "$1" --output json 2>/dev/null \
    | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))' || echo 0
}
# expect_count PATTERN N [GROUP]: waits up to 5 s for exactly N events
expect_count() {
  local n
  for _ in $(seq 1 25); do
    n=$(count_events "$1" "${3:-AWSIotLogsV2}")
    [ "$n" -ge "$2" ] && break
    sleep 0.2
  done
  sleep 0.3
  n=$(count_events "$1" "${3:-AWSIotLogsV2}")
  [ "$n" -eq "$2" ] || { echo "expected $2 events for $1, got $n"; return 1; }
}
expect_error() { # expect_error CODE command...
  local code=$1; shift
  if "$@" >"$WORK/err.out" 2>&1; then echo "command succeeded"; return 1; fi
  grep -q "An error occurred ($code)" "$WORK/err.out" || { cat "$WORK/err.out"; return 1; }
}

echo "== 1. an UNCONFIGURED server, legacy V1 logging, V2 options"
start_server fresh --default-log-level UNCONFIGURED
check "iam create-role + put-role-policy: IoTLoggingRole as the AWS IoT guide describes" create_logging_role
check "a role that does not exist is refused" expect_error InvalidRequestException iot set-v2-logging-options --role-arn arn:aws:iam::123456789012:role/NoSuchRole --default-log-level INFO
check "a role that does not trust iot.amazonaws.com is refused" bash -c "
  aws iam create-role --endpoint-url $EP --role-name NotForIot --assume-role-policy-document '{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}' >/dev/null &&
  ! aws iot set-v2-logging-options --endpoint-url $EP --role-arn arn:aws:iam::123456789012:role/NotForIot --default-log-level INFO 2>$WORK/trust.err &&
  grep -q InvalidRequestException $WORK/trust.err"
check "get-v2-logging-options answers NotConfiguredException" expect_error NotConfiguredException iot get-v2-logging-options
check "describe-endpoint returns the MQTT endpoint" bash -c "aws iot describe-endpoint --endpoint-url $EP --endpoint-type iot:Data-ATS --query endpointAddress --output text | grep -q 127.0.0.1"
check "set-logging-options (legacy V1)" iot set-logging-options --logging-options-payload roleArn=arn:aws:iam::123456789012:role/IoTLoggingRole,logLevel=INFO
check "get-logging-options returns it" bash -c "aws iot get-logging-options --endpoint-url $EP --output text | grep -q INFO"
pub -i legacy-1 -q 1 -t dt/legacy -m x
check "legacy entries are plain text in AWSIotLogs" bash -c "
  for _ in \$(seq 1 25); do
    out=\$(aws logs filter-log-events --endpoint-url $EP --log-group-name AWSIotLogs --filter-pattern 'EVENT:Publish-In' --query 'events[].message' --output text 2>/dev/null) && [ -n \"\$out\" ] && break
    sleep 0.2
  done
  echo \"\$out\" | grep -q 'CLIENTID:legacy-1' && ! echo \"\$out\" | grep -q '^{'"
check "set-v2-logging-options moves the account to V2" iot set-v2-logging-options --role-arn arn:aws:iam::123456789012:role/IoTLoggingRole --default-log-level INFO
check "get-v2-logging-options shows it" bash -c "aws iot get-v2-logging-options --endpoint-url $EP --output json | python3 -c 'import json,sys; o=json.load(sys.stdin); assert o[\"defaultLogLevel\"]==\"INFO\" and o[\"roleArn\"].endswith(\"role/IoTLoggingRole\") and o[\"disableAllLogs\"] is False, o'"
pub -i v2-1 -q 1 -t dt/v2 -m x
check "V2 entries now go to AWSIotLogsV2 as JSON" expect_count '{ $.clientId = "v2-1" && $.eventType = "Publish-In" }' 1
check "get-v2-logging-options --verbose lists every event type" bash -c "aws iot get-v2-logging-options --endpoint-url $EP --verbose --output json | python3 -c 'import json,sys; o=json.load(sys.stdin); t={e[\"eventType\"] for e in o[\"eventConfigurations\"]}; assert {\"Connect\",\"Disconnect\",\"Subscribe\",\"Unsubscribe\",\"Publish-In\",\"Publish-Out\",\"Queued\"} <= t, t'"
check "--disable-all-logs stops everything" iot set-v2-logging-options --role-arn arn:aws:iam::123456789012:role/IoTLoggingRole --default-log-level INFO --disable-all-logs
pub -i muted-1 -q 1 -t dt/v2 -m x
check "  ... nothing is written" expect_count '{ $.clientId = "muted-1" }' 0
check "--no-disable-all-logs turns it back on" iot set-v2-logging-options --role-arn arn:aws:iam::123456789012:role/IoTLoggingRole --default-log-level INFO --no-disable-all-logs
pub -i unmuted-1 -q 1 -t dt/v2 -m x
check "  ... entries are written again" expect_count '{ $.clientId = "unmuted-1" && $.eventType = "Publish-In" }' 1
check "a role of another account is refused" expect_error InvalidRequestException iot set-v2-logging-options --role-arn arn:aws:iam::999999999999:role/X --default-log-level INFO

echo "== 2. the thing registry"
start_server registry --default-log-level ERROR
check "iam: the logging role on this server too" create_logging_role
check "create-thing-group Phones" iot create-thing-group --thing-group-name Phones
check "create-thing-group MobilePhones under Phones" iot create-thing-group --thing-group-name MobilePhones --parent-group-name Phones
check "create-thing phone-1" iot create-thing --thing-name phone-1
check "create-thing landline-1" iot create-thing --thing-name landline-1
check "add phone-1 to MobilePhones" iot add-thing-to-thing-group --thing-name phone-1 --thing-group-name MobilePhones
check "add landline-1 to Phones" iot add-thing-to-thing-group --thing-name landline-1 --thing-group-name Phones
check "describe-thing" bash -c "aws iot describe-thing --endpoint-url $EP --thing-name phone-1 --query thingArn --output text | grep -qx 'arn:aws:iot:us-east-1:123456789012:thing/phone-1'"
check "describe-thing-group shows the root-to-parent chain" bash -c "aws iot describe-thing-group --endpoint-url $EP --thing-group-name MobilePhones --query 'thingGroupMetadata.rootToParentThingGroups[].groupName' --output text | grep -qx Phones"
check "list-things-in-thing-group --recursive" bash -c "[ \"\$(aws iot list-things-in-thing-group --endpoint-url $EP --thing-group-name Phones --recursive --query 'things' --output text | tr '\t' '\n' | sort | tr '\n' ' ')\" = 'landline-1 phone-1 ' ]"
check "list-thing-groups-for-thing" bash -c "aws iot list-thing-groups-for-thing --endpoint-url $EP --thing-name phone-1 --query 'thingGroups[].groupName' --output text | grep -qx MobilePhones"
check "list-thing-groups" bash -c "[ \"\$(aws iot list-thing-groups --endpoint-url $EP --query 'thingGroups[].groupName' --output text | tr '\t' '\n' | sort | tr '\n' ' ')\" = 'MobilePhones Phones ' ]"
check "describe-thing of an unknown thing" expect_error ResourceNotFoundException iot describe-thing --thing-name nope
check "delete-thing-group refuses a group with children" expect_error InvalidRequestException iot delete-thing-group --thing-group-name Phones

echo "== 3. fine-grained levels (default ERROR)"
check "set-v2-logging-level THING_GROUP Phones ERROR" iot set-v2-logging-level --log-target targetType=THING_GROUP,targetName=Phones --log-level ERROR
check "set-v2-logging-level THING_GROUP MobilePhones DEBUG" iot set-v2-logging-level --log-target targetType=THING_GROUP,targetName=MobilePhones --log-level DEBUG
pub -i phone-1 -q 1 -t dt/phone-1 -m x
pub -i landline-1 -q 1 -t dt/landline-1 -m x
check "phone-1 (MobilePhones: DEBUG, child overrides parent) logs INFO entries" expect_count '{ $.clientId = "phone-1" && $.eventType = "Publish-In" }' 1
check "landline-1 (Phones: ERROR) logs no INFO entries" expect_count '{ $.clientId = "landline-1" }' 0
check "set-v2-logging-level CLIENT_ID" iot set-v2-logging-level --log-target targetType=CLIENT_ID,targetName=client-7 --log-level INFO
check "set-v2-logging-level SOURCE_IP" iot set-v2-logging-level --log-target targetType=SOURCE_IP,targetName=127.0.0.2 --log-level INFO
check "set-v2-logging-level PRINCIPAL_ID" iot set-v2-logging-level --log-target targetType=PRINCIPAL_ID,targetName=someone-else --log-level DEBUG
pub -i client-7 -q 1 -t dt/c7 -m x
pub -i other-8 -q 1 -t dt/o8 -m x
pub -i from-127-0-0-2 -A 127.0.0.2 -q 1 -t dt/ip -m x
check "CLIENT_ID target logs client-7" expect_count '{ $.clientId = "client-7" && $.eventType = "Publish-In" }' 1
check "other clients stay at ERROR" expect_count '{ $.clientId = "other-8" }' 0
check "SOURCE_IP target logs the client from 127.0.0.2" expect_count '{ $.clientId = "from-127-0-0-2" && $.eventType = "Publish-In" && $.sourceIp = "127.0.0.2" }' 1
check "list-v2-logging-levels --target-type THING_GROUP" bash -c "[ \"\$(aws iot list-v2-logging-levels --endpoint-url $EP --target-type THING_GROUP --query 'logTargetConfigurations[].logTarget.targetName' --output text | tr '\t' '\n' | sort | tr '\n' ' ')\" = 'MobilePhones Phones ' ]"
check "list-v2-logging-levels paginates (--page-size 2)" bash -c "aws iot list-v2-logging-levels --endpoint-url $EP --page-size 2 --output json | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"logTargetConfigurations\"]; assert len(r)==6 and r[0][\"logTarget\"][\"targetType\"]==\"DEFAULT\", r'"
for i in 1 2 3 4 5; do iot set-v2-logging-level --log-target targetType=CLIENT_ID,targetName=extra-$i --log-level INFO; done
check "an 11th target is LimitExceededException" expect_error LimitExceededException iot set-v2-logging-level --log-target targetType=CLIENT_ID,targetName=one-too-many --log-level INFO
check "delete-v2-logging-level" iot delete-v2-logging-level --target-type CLIENT_ID --target-name extra-5
check "  ... makes room again" iot set-v2-logging-level --log-target targetType=CLIENT_ID,targetName=one-too-many --log-level INFO
check "an unknown level is refused" expect_error InvalidRequestException iot set-v2-logging-level --log-target targetType=CLIENT_ID,targetName=x --log-level LOUD

echo "== 4. event-level configuration and destinations"
check "set-v2-logging-options --event-configurations" iot set-v2-logging-options --role-arn arn:aws:iam::123456789012:role/IoTLoggingRole --default-log-level ERROR \
  --event-configurations eventType=Connect,logLevel=INFO,logDestination=/aws/iot/connects
pub -i connector-1 -q 1 -t dt/x -m x
check "Connect entries go to their own log group" expect_count '{ $.clientId = "connector-1" && $.eventType = "Connect" }' 1 /aws/iot/connects
check "  ... and not to AWSIotLogsV2" expect_count '{ $.clientId = "connector-1" }' 0

echo "== 5. changes reach connected clients (no reconnect)"
iot create-thing --thing-name tablet-1 >/dev/null
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i tablet-1 -q 1 -t cmd/tablet-1 >/dev/null &
PIDS+=($!)
sleep 0.5
pub -i commander -q 1 -t cmd/tablet-1 -m one
check "tablet-1 (in no group) gets no Publish-Out entry at ERROR" expect_count '{ $.clientId = "tablet-1" && $.eventType = "Publish-Out" }' 0
iot add-thing-to-thing-group --thing-name tablet-1 --thing-group-name MobilePhones
pub -i commander -q 1 -t cmd/tablet-1 -m two
check "after add-thing-to-thing-group the same connection logs Publish-Out" expect_count '{ $.clientId = "tablet-1" && $.eventType = "Publish-Out" }' 1
iot remove-thing-from-thing-group --thing-name tablet-1 --thing-group-name MobilePhones
pub -i commander -q 1 -t cmd/tablet-1 -m three
check "after remove-thing-from-thing-group it stops again" expect_count '{ $.clientId = "tablet-1" && $.eventType = "Publish-Out" }' 1

echo "logging-config: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
