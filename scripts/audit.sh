#!/usr/bin/env bash
# Acceptance scenario of "A CloudTrail-compatible audit trail: every control-plane call
# recorded, queryable, tamper-evident", with the real AWS CLI against the release binary:
# control-plane calls (a thing, a certificate, a policy attached to it), a call refused to an
# IAM user without permission and one with a bad signature; `aws cloudtrail lookup-events`
# finds each with the right user, source IP and request ID; no secret is in any record; a
# trail delivers to a log group where `aws logs filter-log-events` finds AttachPolicy;
# LookupEvents' errors; `thingwatch audit verify` passes, then fails naming the record after
# a byte of the store is changed. Fails (non-zero) on any mismatch.
#
# Usage: bash scripts/audit.sh   (THINGWATCH_BIN overrides target/release/thingwatch)
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=audit
source scripts/lib/scenario.sh

iot() { aws iot --endpoint-url "$EP" "$@"; }
ct() { aws cloudtrail --endpoint-url "$EP" "$@"; }
# json_true FILE PYTHON-EXPR: the expression over `d` (FILE's JSON) is true.
json_true() { python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; }
# lookup FILE KEY VALUE: every record with that attribute, newest first, into FILE.
lookup() { ct lookup-events --lookup-attributes "AttributeKey=$2,AttributeValue=$3" --output json >"$1"; }
# request_id LOG: the x-amzn-RequestId in an `aws --debug` log.
request_id() { grep -io "'x-amzn-requestid': '[^']*'" "$1" | head -1 | cut -d"'" -f4; }

start_server audit
ACCOUNT=$(aws sts get-caller-identity --endpoint-url "$EP" --query Account --output text)

echo "== 1. control-plane calls"
iot create-thing --thing-name audit-thing-1 --debug >"$WORK/create-thing.json" 2>"$WORK/create-thing.log"
CREATE_RID=$(request_id "$WORK/create-thing.log")
check "create-thing answered a request id" test -n "$CREATE_RID"
iot create-keys-and-certificate --set-as-active --output json >"$WORK/cert.json"
CERT_ARN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificateArn"])' "$WORK/cert.json")
PRIVATE_KEY_LINE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keyPair"]["PrivateKey"].splitlines()[1])' "$WORK/cert.json")
check "create-policy" iot create-policy --policy-name audit-policy \
  --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}'
check "attach-policy to the certificate" iot attach-policy --policy-name audit-policy --target "$CERT_ARN"

echo "== 2. refused calls"
check "create-user noperms" aws iam --endpoint-url "$EP" create-user --user-name noperms
aws iam --endpoint-url "$EP" create-access-key --user-name noperms --output json >"$WORK/key.json"
USER_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["AccessKey"]["AccessKeyId"])' "$WORK/key.json")
USER_SECRET=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["AccessKey"]["SecretAccessKey"])' "$WORK/key.json")
as_user() { AWS_ACCESS_KEY_ID=$USER_KEY AWS_SECRET_ACCESS_KEY=$1 AWS_SHARED_CREDENTIALS_FILE=/dev/null aws --region us-east-1 --endpoint-url "$EP" "${@:2}"; }
check "noperms may not list things: AccessDeniedException" expect_error AccessDeniedException \
  as_user "$USER_SECRET" iot list-things
check "a bad signature with noperms' key: InvalidSignatureException" expect_error InvalidSignatureException \
  as_user "not-the-secret-key-at-all-0123456789" iot describe-thing --thing-name audit-thing-1

echo "== 3. lookup-events"
lookup "$WORK/ct-create.json" EventName CreateThing
check "CreateThing is recorded for root from 127.0.0.1 with the caller's request ID" json_true "$WORK/ct-create.json" "(
len(d['Events']) == 1 and d['Events'][0]['Username'] == 'root' and d['Events'][0]['EventSource'] == 'iot.amazonaws.com'
and (lambda r: r['userIdentity']['type'] == 'Root' and r['sourceIPAddress'] == '127.0.0.1' and r['requestID'] == '$CREATE_RID'
  and r['requestParameters'] == {'thingName': 'audit-thing-1'} and r['readOnly'] is False and r['eventVersion'] >= '1.08'
  and r['eventType'] == 'AwsApiCall' and r['managementEvent'] is True and r['eventCategory'] == 'Management'
  and r['recipientAccountId'] == '$ACCOUNT' and r['userAgent'].startswith('aws-cli/')
  and r['responseElements']['thingName'] == 'audit-thing-1')(json.loads(d['Events'][0]['CloudTrailEvent'])))"
check "the CreateThing record names the thing as a resource" json_true "$WORK/ct-create.json" \
  "d['Events'][0]['Resources'] == [{'ResourceType': 'AWS::IoT::Thing', 'ResourceName': 'audit-thing-1'}]"
lookup "$WORK/ct-user.json" Username noperms
check "noperms' refused ListThings is recorded with errorCode AccessDenied" json_true "$WORK/ct-user.json" "
any(e['EventName'] == 'ListThings' and (lambda r: r['errorCode'].startswith('AccessDenied') and r['userIdentity']['type'] == 'IAMUser'
  and r['userIdentity']['userName'] == 'noperms' and r['userIdentity']['principalId'].startswith('AIDA')
  and r['readOnly'] is True and r['responseElements'] is None)(json.loads(e['CloudTrailEvent'])) for e in d['Events'])"
check "the bad signature is recorded with its error under noperms' key" json_true "$WORK/ct-user.json" "
any(e['EventName'] == 'DescribeThing' and e['AccessKeyId'] == '$USER_KEY'
  and json.loads(e['CloudTrailEvent'])['errorCode'] == 'InvalidSignatureException' for e in d['Events'])"
lookup "$WORK/ct-attach.json" ResourceName audit-policy
check "lookup by ResourceName finds CreatePolicy and AttachPolicy" json_true "$WORK/ct-attach.json" \
  "sorted(e['EventName'] for e in d['Events']) == ['AttachPolicy', 'CreatePolicy']"
ct lookup-events --output json >"$WORK/ct-all.json"
check "events are newest first" json_true "$WORK/ct-all.json" \
  "[e['EventTime'] for e in d['Events']] == sorted((e['EventTime'] for e in d['Events']), reverse=True) and len(d['Events']) >= 8"
check "data-plane and metric-data calls are not recorded" json_true "$WORK/ct-all.json" \
  "not any(e['EventSource'] == 'iotdata.amazonaws.com' for e in d['Events'])"
lookup "$WORK/ct-ro.json" ReadOnly false
check "lookup by ReadOnly false has only mutating calls" json_true "$WORK/ct-ro.json" \
  "d['Events'] and all(e['ReadOnly'] == 'false' for e in d['Events'])"
ct lookup-events --page-size 2 --max-items 3 --output json >"$WORK/ct-page.json"
check "paging: --page-size 2 --max-items 3 returns 3 events and a token" json_true "$WORK/ct-page.json" \
  "len(d['Events']) == 3 and 'NextToken' in d"

echo "== 4. no secret in any record"
ct lookup-events --output json >"$WORK/ct-everything.json"
ROOT_SECRET=$(awk -F' *= *' '/aws_secret_access_key/ {print $2; exit}' "$DATA/credentials")
check "the root secret key is in no record" bash -c "! grep -qF -- '$ROOT_SECRET' '$WORK/ct-everything.json'"
check "noperms' secret key is in no record" bash -c "! grep -qF -- '$USER_SECRET' '$WORK/ct-everything.json'"
check "the certificate's private key is in no record" bash -c "! grep -qF -- '$PRIVATE_KEY_LINE' '$WORK/ct-everything.json'"
check "the hidden fields say so" grep -q 'HIDDEN_DUE_TO_SECURITY_REASONS' "$WORK/ct-everything.json"

echo "== 5. a trail delivering to CloudWatch Logs"
check "create-log-group audit-trail" aws logs --endpoint-url "$EP" create-log-group --log-group-name audit-trail
check "create-role for CloudTrail" aws iam --endpoint-url "$EP" create-role --role-name trail-to-logs \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
GROUP_ARN="arn:aws:logs:us-east-1:$ACCOUNT:log-group:audit-trail:*"
check "create-trail with a role that may not deliver: InvalidCloudWatchLogsRoleArnException" expect_error InvalidCloudWatchLogsRoleArnException \
  ct create-trail --name main --s3-bucket-name audit-bucket --cloud-watch-logs-log-group-arn "$GROUP_ARN" \
  --cloud-watch-logs-role-arn "arn:aws:iam::$ACCOUNT:role/trail-to-logs"
check "put-role-policy: create streams and put events in audit-trail" aws iam --endpoint-url "$EP" put-role-policy --role-name trail-to-logs \
  --policy-name deliver --policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"logs:CreateLogStream\",\"logs:PutLogEvents\"],\"Resource\":\"arn:aws:logs:us-east-1:$ACCOUNT:log-group:audit-trail:log-stream:*\"}]}"
check "create-trail main" ct create-trail --name main --s3-bucket-name audit-bucket \
  --cloud-watch-logs-log-group-arn "$GROUP_ARN" --cloud-watch-logs-role-arn "arn:aws:iam::$ACCOUNT:role/trail-to-logs"
check "a second create-trail main: TrailAlreadyExistsException" expect_error TrailAlreadyExistsException \
  ct create-trail --name main --s3-bucket-name audit-bucket
check "a trail name with two dashes: InvalidTrailNameException" expect_error InvalidTrailNameException \
  ct create-trail --name bad--name --s3-bucket-name audit-bucket
ct get-trail-status --name main --output json >"$WORK/status0.json"
check "a new trail is not logging" json_true "$WORK/status0.json" "d['IsLogging'] is False"
check "start-logging" ct start-logging --name main
check "detach-policy" iot detach-policy --policy-name audit-policy --target "$CERT_ARN"
check "attach-policy again" iot attach-policy --policy-name audit-policy --target "$CERT_ARN"
found_attach() {
  aws logs --endpoint-url "$EP" filter-log-events --log-group-name audit-trail \
    --filter-pattern '{ $.eventName = "AttachPolicy" }' --output json >"$WORK/fle.json" &&
    json_true "$WORK/fle.json" "len(d['events']) == 1 and d['events'][0]['logStreamName'] == '${ACCOUNT}_CloudTrail_us-east-1'"
}
check "filter-log-events '{ \$.eventName = \"AttachPolicy\" }' finds the delivered record" poll 50 0.1 found_attach
check "the delivered record is the event history's" json_true "$WORK/fle.json" \
  "json.loads(d['events'][0]['message'])['requestParameters']['policyName'] == 'audit-policy'"
ct get-trail-status --name main --output json >"$WORK/status1.json"
check "get-trail-status: logging, delivered to CloudWatch Logs" json_true "$WORK/status1.json" \
  "d['IsLogging'] is True and 'LatestCloudWatchLogsDeliveryTime' in d and 'LatestCloudWatchLogsDeliveryError' not in d"
check "put-event-selectors WriteOnly" ct put-event-selectors --trail-name main \
  --event-selectors '[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": true}]'
ct get-event-selectors --trail-name main --output json >"$WORK/sel.json"
check "get-event-selectors answers them" json_true "$WORK/sel.json" "d['EventSelectors'][0]['ReadWriteType'] == 'WriteOnly'"
ct describe-trails --output json >"$WORK/trails.json"
check "describe-trails lists main with its ARN and log group" json_true "$WORK/trails.json" \
  "d['trailList'][0]['TrailARN'] == 'arn:aws:cloudtrail:us-east-1:$ACCOUNT:trail/main' and d['trailList'][0]['CloudWatchLogsLogGroupArn'] == '$GROUP_ARN' and d['trailList'][0]['HasCustomEventSelectors'] is True"
check "get-trail of an unknown trail: TrailNotFoundException" expect_error TrailNotFoundException ct get-trail --name nosuch

echo "== 6. lookup-events errors"
check "two lookup attributes: InvalidLookupAttributesException" expect_error InvalidLookupAttributesException \
  ct lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=CreateThing AttributeKey=Username,AttributeValue=root
check "a ReadOnly value that is not a boolean: InvalidLookupAttributesException" expect_error InvalidLookupAttributesException \
  ct lookup-events --lookup-attributes AttributeKey=ReadOnly,AttributeValue=maybe
check "a reversed time range: InvalidTimeRangeException" expect_error InvalidTimeRangeException \
  ct lookup-events --start-time 2026-01-02T00:00:00Z --end-time 2026-01-01T00:00:00Z
check "a token it did not issue: InvalidNextTokenException" expect_error InvalidNextTokenException \
  ct lookup-events --no-paginate --next-token not-a-token
check "MaxResults 51: InvalidMaxResultsException" expect_error InvalidMaxResultsException \
  ct lookup-events --no-paginate --max-results 51
check "EventCategory other than insight: InvalidEventCategoryException" expect_error InvalidEventCategoryException \
  ct lookup-events --event-category management

echo "== 7. integrity"
check "audit public-key prints a PEM public key" bash -c "'$BIN' audit public-key --data-dir '$DATA' >'$WORK/pub.pem' && grep -q 'BEGIN PUBLIC KEY' '$WORK/pub.pem'"
kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}" || true
PIDS=()
check "audit verify passes on the stopped server's store" "$BIN" audit verify --data-dir "$DATA" --public-key "$WORK/pub.pem"
# One byte of the CreateThing record changed with a tool (SQLite's own, so the byte is the
# live record's and not a stale copy in a free page): 127.0.0.1 becomes 127.0.0.2.
python3 - "$DATA/audit/audit.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = c.execute("""UPDATE records SET record = replace(record, '"sourceIPAddress":"127.0.0.1"', '"sourceIPAddress":"127.0.0.2"')
                 WHERE event_name = 'CreateThing'""").rowcount
c.commit(); c.close()
assert n == 1, n
PY
if "$BIN" audit verify --data-dir "$DATA" --public-key "$WORK/pub.pem" >"$WORK/verify.out" 2>&1; then
  bad "audit verify fails after a byte of the store changed"; cat "$WORK/verify.out"
else
  ok "audit verify fails after a byte of the store changed"
fi
check "and names the altered record" grep -Eq 'record [0-9]+ \(eventID [0-9a-f-]+\) was altered' "$WORK/verify.out"

summary
