#!/usr/bin/env bash
# Acceptance scenario of "AWS IoT Jobs: the control plane, the device APIs over MQTT and HTTPS,
# and the job log events", with the real AWS CLI (v1: `aws iot`, `aws iot-jobs-data`, `aws
# logs`) and AWS IoT Device SDK v2 for Python devices (scripts/jobs_device.py, `pip install
# awsiotsdk`) connected over mutual TLS, against the release binary: a SNAPSHOT job for a
# thing group run by three devices, a CONTINUOUS job that reaches a thing added to the group
# later, an in-progress timeout, the Jobs log entries in AWSIotLogsV2, the iot-jobs-data HTTP
# API with its state machine, bad input and the cancel/delete lifecycle. One jobs "minute" is
# 3 s (THINGWATCH_JOBS_MINUTE_MS). Fails (non-zero) on any mismatch.
#
# Usage: bash scripts/jobs.sh   (THINGWATCH_BIN overrides target/release/thingwatch)
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=jobs
source scripts/lib/scenario.sh
python3 -c 'import awscrt, awsiot' 2>/dev/null || { echo "jobs: python3 -m pip install awsiotsdk"; exit 1; }

iot()  { aws iot --endpoint-url "$EP" "$@"; }
jobs_data() { aws iot-jobs-data --endpoint-url "$EP" "$@"; }
logs() { aws logs --endpoint-url "$EP" "$@"; }

# run command...: a step whose result the following checks look at; a failure is shown, not fatal.
run() { "$@" >"$WORK/run.out" 2>&1 || { echo "  (failed: $*)"; sed 's/^/       /' "$WORK/run.out" | head -5; }; }
# out FILE command...: the command's JSON output into FILE ({} when it fails, shown).
out() { local f=$1; shift; "$@" --output json >"$f" 2>"$WORK/out.err" || { echo '{}' >"$f"; echo "  (failed: $*)"; sed 's/^/       /' "$WORK/out.err" | head -5; }; }
# jcheck FILE PYTHON-EXPR: the expression holds with `d` = FILE's JSON (and `now` = epoch s).
jcheck() {
  python3 - "$1" "$2" <<'PY'
import json, sys, time
d = json.load(open(sys.argv[1]))
now = time.time()
if not eval(sys.argv[2]):
    sys.exit(f"not true: {sys.argv[2]}\n  for {json.dumps(d, sort_keys=True)[:1500]}")
PY
}
jget() { python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# wait_line FILE REGEX [SECONDS]: waits (default 20 s) for a line of FILE matching REGEX.
wait_line() {
  for _ in $(seq 1 $((${3:-20} * 10))); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no line matching /$2/ in $1:"; cat "$1"; return 1
}
# events PATTERN OUTFILE [MIN]: the messages of AWSIotLogsV2 events matching PATTERN as a JSON
# list, waiting up to 10 s for at least MIN (default 1) of them (entries arrive asynchronously).
events() {
  local min=${3:-1}
  for _ in $(seq 1 50); do
    logs filter-log-events --log-group-name AWSIotLogsV2 --filter-pattern "$1" --output json 2>/dev/null \
      | python3 -c 'import json,sys; print(json.dumps([json.loads(e["message"]) for e in json.load(sys.stdin)["events"]]))' \
      >"$2" || echo '[]' >"$2"
    [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$2")" -ge "$min" ] && return 0
    sleep 0.2
  done
  return 0
}
# job_is JOB PYTHON-EXPR: describe-job JOB into WORK/JOB.job.json; the expression holds with
# `j` = its "job" object and `p` = j's jobProcessDetails.
job_is() {
  iot describe-job --job-id "$1" --output json >"$WORK/$1.job.json" 2>"$WORK/$1.job.err" || { cat "$WORK/$1.job.err"; return 1; }
  python3 - "$WORK/$1.job.json" "$2" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["job"]
p = j.get("jobProcessDetails", {})
if not eval(sys.argv[2]):
    sys.exit(f"not true: {sys.argv[2]}\n  for {json.dumps(j, sort_keys=True)[:1500]}")
PY
}
# execution_is JOB THING STATUS: describe-job-execution shows STATUS.
execution_is() {
  [ "$(iot describe-job-execution --job-id "$1" --thing-name "$2" --query execution.status --output text 2>&1)" = "$3" ] \
    || { iot describe-job-execution --job-id "$1" --thing-name "$2" --output json 2>&1; return 1; }
}
# make_device NAME: a thing, an ACTIVE certificate with its key in WORK/NAME.{cert,key}.pem, the
# device policy attached to the certificate and the certificate to the thing.
make_device() {
  iot create-thing --thing-name "$1" >/dev/null &&
  iot create-keys-and-certificate --set-as-active --certificate-pem-outfile "$WORK/$1.cert.pem" \
    --private-key-outfile "$WORK/$1.key.pem" --query certificateArn --output text >"$WORK/$1.arn" &&
  iot attach-policy --policy-name JobsDevicePolicy --target "$(cat "$WORK/$1.arn")" &&
  iot attach-thing-principal --thing-name "$1" --principal "$(cat "$WORK/$1.arn")"
}
# start_device NAME OPTIONS...: scripts/jobs_device.py for thing NAME over mutual TLS, its lines
# in WORK/NAME.dev.out.
start_device() {
  local n=$1; shift
  python3 scripts/jobs_device.py --endpoint localhost --port "$MQTTS_PORT" --ca "$DATA/ca.pem" \
    --cert "$WORK/$n.cert.pem" --key "$WORK/$n.key.pem" --thing "$n" --seconds 600 "$@" \
    >"$WORK/$n.dev.out" 2>"$WORK/$n.dev.err" &
  PIDS+=($!)
  eval "DEV_${n//-/_}=$!"
}
# ran_job NAME JOB OUTCOME STEPS: the device's lines for JOB are STARTED version=v, then STEPS
# IN_PROGRESS updates and the OUTCOME, versions v+1, v+2, … (one per update).
ran_job() {
  python3 - "$WORK/$1.dev.out" "$2" "$3" "$4" <<'PY'
import re, sys
path, job, outcome, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lines = [l for l in open(path).read().splitlines() if f" job={job} " in l + " "]
started = [int(m.group(1)) for l in lines if (m := re.fullmatch(rf"STARTED job={job} version=(\d+)", l))]
updated = [(m.group(1), int(m.group(2))) for l in lines if (m := re.fullmatch(rf"UPDATED job={job} status=(\S+) version=(\d+)", l))]
assert len(started) == 1, lines
v = started[0]
want = [("IN_PROGRESS", v + k) for k in range(1, steps + 1)] + [(outcome, v + steps + 1)]
assert updated == want, (updated, want, lines)
PY
}
# stays JOB PYTHON-EXPR: job_is holds on ten describe-job calls over about 5 s.
stays() { for _ in $(seq 1 10); do job_is "$1" "$2" || return 1; sleep 0.3; done; }
# idle_after NAME REGEX: the device printed IDLE (notify-next without an execution) after its
# first line matching REGEX, within 10 s.
idle_after() {
  for _ in $(seq 1 100); do sed -n "/$2/,\$p" "$WORK/$1.dev.out" | grep -qx IDLE && return 0; sleep 0.1; done
  cat "$WORK/$1.dev.out"; return 1
}
# last_version NAME JOB: the version of the device's last UPDATED line for JOB.
last_version() { grep -E "^UPDATED job=$2 " "$WORK/$1.dev.out" | tail -1 | sed 's/.*version=//'; }

export THINGWATCH_JOBS_MINUTE_MS=3000
start_server jobs
ACCOUNT=$(aws sts get-caller-identity --endpoint-url "$EP" --query Account --output text)

echo "== 1. logging, a thing group of three things, certificates and a device policy"
check "set-v2-logging-options --default-log-level DEBUG (the Jobs device entries are DEBUG)" \
  iot set-v2-logging-options --role-arn "arn:aws:iam::$ACCOUNT:role/ThingwatchLoggingRole" --default-log-level DEBUG
out "$WORK/group.json" iot create-thing-group --thing-group-name Fleet
GROUP_ARN=$(jget "$WORK/group.json" 'd.get("thingGroupArn", "")')
P=${GROUP_ARN%%:thinggroup/*}   # arn:aws:iot:REGION:ACCOUNT
check "create-thing-group Fleet: arn:aws:iot:REGION:$ACCOUNT:thinggroup/Fleet" \
  bash -c "[[ '$GROUP_ARN' =~ ^arn:aws:iot:[a-z0-9-]+:$ACCOUNT:thinggroup/Fleet\$ ]]"
# The Developer Guide's Jobs device policy: each device only its own jobs topics.
cat >"$WORK/policy.json" <<EOF
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "iot:Connect", "Resource": "$P:client/\${iot:Connection.Thing.ThingName}"},
  {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": "$P:topic/\$aws/things/\${iot:Connection.Thing.ThingName}/jobs/*"},
  {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "$P:topicfilter/\$aws/things/\${iot:Connection.Thing.ThingName}/jobs/*"}
]}
EOF
check "create-policy JobsDevicePolicy (\$aws/things/\${iot:Connection.Thing.ThingName}/jobs/*)" \
  iot create-policy --policy-name JobsDevicePolicy --policy-document "file://$WORK/policy.json"
for d in dev-1 dev-2 dev-3; do
  check "$d: create-thing, create-keys-and-certificate, attach-policy, attach-thing-principal" make_device $d
  check "  ... add-thing-to-thing-group $d Fleet" iot add-thing-to-thing-group --thing-name $d --thing-group-name Fleet
done
check "list-things-in-thing-group Fleet: the three things" bash -c \
  "[ \"\$(aws iot list-things-in-thing-group --endpoint-url $EP --thing-group-name Fleet --query things --output text | tr '\t' '\n' | sort | tr '\n' ' ')\" = 'dev-1 dev-2 dev-3 ' ]"

echo "== 2. three awsiotsdk devices over mutual TLS (scripts/jobs_device.py)"
# awscrt reports a CONNACK refusal (return code 5) as AWS_ERROR_MQTT_PROTOCOL_ERROR.
check "dev-1's certificate may not connect with the client ID dev-2 (client/\${iot:Connection.Thing.ThingName})" bash -c "
  ! timeout 30 python3 scripts/jobs_device.py --endpoint localhost --port $MQTTS_PORT --ca '$DATA/ca.pem' \
      --cert '$WORK/dev-1.cert.pem' --key '$WORK/dev-1.key.pem' --thing dev-2 --seconds 1 >'$WORK/intruder.out' 2>&1 &&
  grep -q '^REJECTED op=connect code=AWS_ERROR_MQTT_PROTOCOL_ERROR ' '$WORK/intruder.out' || { cat '$WORK/intruder.out'; exit 1; }"
events '{ $.eventType = "Connect" && $.clientId = "dev-2" && $.status = "Failure" }' "$WORK/e0.json" 1
check "  ... logged: Connect Failure AUTHORIZATION_FAILURE for dev-2" jcheck "$WORK/e0.json" \
  'len(d) == 1 and d[0]["reason"] == "AUTHORIZATION_FAILURE"'
start_device dev-1 --outcome SUCCEEDED --progress-steps 2
start_device dev-2 --outcome SUCCEEDED --progress-steps 2
start_device dev-3 --outcome FAILED --progress-steps 2
for d in dev-1 dev-2 dev-3; do
  check "$d connects (mtls_from_path, ca.pem), subscribes and asks for its next job (READY)" wait_line "$WORK/$d.dev.out" '^READY$'
  check "  ... start-next/accepted without an execution: nothing to do (IDLE)" wait_line "$WORK/$d.dev.out" '^IDLE$'
done

echo "== 3. a SNAPSHOT job for the thing group"
DOC1='{"operation":"upgrade","firmware":"2.0.1","url":"https://example.com/fw-2.0.1.bin"}'
out "$WORK/create1.json" iot create-job --job-id firmware-1 --targets "$GROUP_ARN" --document "$DOC1" \
  --target-selection SNAPSHOT --description "firmware 2.0.1"
check "create-job firmware-1 --targets the group --target-selection SNAPSHOT: jobId and jobArn" jcheck "$WORK/create1.json" \
  "d['jobId'] == 'firmware-1' and d['jobArn'] == '$P:job/firmware-1' and d.get('description') == 'firmware 2.0.1'"
for d in dev-1 dev-2 dev-3; do
  check "$d is notified on notify-next (NEXT job=firmware-1 status=QUEUED)" wait_line "$WORK/$d.dev.out" '^NEXT job=firmware-1 status=QUEUED$'
  check "  ... starts it with start-next (STARTED)" wait_line "$WORK/$d.dev.out" '^STARTED job=firmware-1 version=[0-9]+$'
done
check "dev-1 reports 2 IN_PROGRESS steps then SUCCEEDED" wait_line "$WORK/dev-1.dev.out" '^UPDATED job=firmware-1 status=SUCCEEDED '
check "dev-2 reports 2 IN_PROGRESS steps then SUCCEEDED" wait_line "$WORK/dev-2.dev.out" '^UPDATED job=firmware-1 status=SUCCEEDED '
check "dev-3 reports 2 IN_PROGRESS steps then FAILED" wait_line "$WORK/dev-3.dev.out" '^UPDATED job=firmware-1 status=FAILED '
check "  ... each update/accepted carries executionState with the next versionNumber (dev-1)" ran_job dev-1 firmware-1 SUCCEEDED 2
check "  ... (dev-2)" ran_job dev-2 firmware-1 SUCCEEDED 2
check "  ... (dev-3)" ran_job dev-3 firmware-1 FAILED 2
check "describe-job firmware-1 turns COMPLETED" poll 50 0.2 job_is firmware-1 "j['status'] == 'COMPLETED'"
check "  ... 2 succeeded, 1 failed, none queued or in progress" job_is firmware-1 \
  "p['numberOfSucceededThings'] == 2 and p['numberOfFailedThings'] == 1 and p.get('numberOfQueuedThings', 0) == 0 and p.get('numberOfInProgressThings', 0) == 0 and p.get('numberOfTimedOutThings', 0) == 0"
check "  ... targets, targetSelection, jobArn, completedAt" job_is firmware-1 \
  "j['targets'] == ['$GROUP_ARN'] and j['targetSelection'] == 'SNAPSHOT' and j['jobArn'] == '$P:job/firmware-1' and 'completedAt' in j and 'createdAt' in j"
out "$WORK/doc1.json" iot get-job-document --job-id firmware-1
check "get-job-document: the document as created" jcheck "$WORK/doc1.json" "json.loads(d['document']) == json.loads('$DOC1')"
out "$WORK/execs1.json" iot list-job-executions-for-job --job-id firmware-1
check "list-job-executions-for-job: dev-1 SUCCEEDED, dev-2 SUCCEEDED, dev-3 FAILED" jcheck "$WORK/execs1.json" \
  "sorted((e['thingArn'], e['jobExecutionSummary']['status']) for e in d['executionSummaries']) == [('$P:thing/dev-1', 'SUCCEEDED'), ('$P:thing/dev-2', 'SUCCEEDED'), ('$P:thing/dev-3', 'FAILED')]"
out "$WORK/execs1f.json" iot list-job-executions-for-job --job-id firmware-1 --status FAILED
check "  ... --status FAILED: dev-3 only" jcheck "$WORK/execs1f.json" \
  "[e['thingArn'] for e in d['executionSummaries']] == ['$P:thing/dev-3']"
V1=$(last_version dev-1 firmware-1)
out "$WORK/exec1.json" iot describe-job-execution --job-id firmware-1 --thing-name dev-1
check "describe-job-execution firmware-1 dev-1: SUCCEEDED, versionNumber = the device's last ($V1)" jcheck "$WORK/exec1.json" \
  "d['execution']['status'] == 'SUCCEEDED' and d['execution']['versionNumber'] == int('${V1:-0}') and d['execution']['jobId'] == 'firmware-1' and d['execution']['thingArn'] == '$P:thing/dev-1'"
check "  ... statusDetails: the last progress step (the final update left them unchanged)" jcheck "$WORK/exec1.json" \
  "d['execution']['statusDetails']['detailsMap'] == {'progress': '2/2'}"
check "  ... executionNumber, queuedAt, startedAt, lastUpdatedAt" jcheck "$WORK/exec1.json" \
  "isinstance(d['execution']['executionNumber'], int) and all(k in d['execution'] for k in ('queuedAt', 'startedAt', 'lastUpdatedAt'))"
out "$WORK/forthing.json" iot list-job-executions-for-thing --thing-name dev-3
check "list-job-executions-for-thing dev-3: firmware-1 FAILED" jcheck "$WORK/forthing.json" \
  "[(e['jobId'], e['jobExecutionSummary']['status']) for e in d['executionSummaries']] == [('firmware-1', 'FAILED')]"
for d in dev-1 dev-2 dev-3; do
  check "$d is then told there is nothing next (notify-next without an execution: IDLE)" idle_after $d '^STARTED job=firmware-1 '
done

echo "== 4. a CONTINUOUS job; a fourth thing joins the group afterwards"
out "$WORK/create2.json" iot create-job --job-id config-2 --targets "$GROUP_ARN" --document '{"operation":"configure","interval":30}' \
  --target-selection CONTINUOUS
check "create-job config-2 --target-selection CONTINUOUS" jcheck "$WORK/create2.json" "d['jobId'] == 'config-2'"
check "dev-1 runs it (SUCCEEDED)" wait_line "$WORK/dev-1.dev.out" '^UPDATED job=config-2 status=SUCCEEDED '
check "dev-2 runs it (SUCCEEDED)" wait_line "$WORK/dev-2.dev.out" '^UPDATED job=config-2 status=SUCCEEDED '
check "dev-3 runs it (FAILED)" wait_line "$WORK/dev-3.dev.out" '^UPDATED job=config-2 status=FAILED '
check "dev-4: create-thing, certificate, policy (not in the group yet)" make_device dev-4
start_device dev-4 --outcome SUCCEEDED --progress-steps 2
check "dev-4 connects (READY) with nothing to do (IDLE)" wait_line "$WORK/dev-4.dev.out" '^IDLE$'
check "add-thing-to-thing-group dev-4 Fleet" iot add-thing-to-thing-group --thing-name dev-4 --thing-group-name Fleet
check "dev-4 receives config-2 on notify-next and starts it" wait_line "$WORK/dev-4.dev.out" '^STARTED job=config-2 version=[0-9]+$'
check "  ... and reports SUCCEEDED" wait_line "$WORK/dev-4.dev.out" '^UPDATED job=config-2 status=SUCCEEDED '
check "  ... after 2 IN_PROGRESS steps, versions one per update" ran_job dev-4 config-2 SUCCEEDED 2
check "  ... but not the SNAPSHOT job firmware-1 (its targets were resolved at creation)" bash -c "! grep -q firmware-1 '$WORK/dev-4.dev.out'"
check "describe-job config-2: 3 succeeded, 1 failed" poll 50 0.2 job_is config-2 \
  "p['numberOfSucceededThings'] == 3 and p['numberOfFailedThings'] == 1"
check "  ... and stays IN_PROGRESS with every execution done (continuous jobs never complete)" \
  stays config-2 "j['status'] == 'IN_PROGRESS' and 'completedAt' not in j"
out "$WORK/execs2.json" iot list-job-executions-for-job --job-id config-2
check "list-job-executions-for-job config-2: the four things" jcheck "$WORK/execs2.json" \
  "sorted((e['thingArn'], e['jobExecutionSummary']['status']) for e in d['executionSummaries']) == [('$P:thing/dev-1', 'SUCCEEDED'), ('$P:thing/dev-2', 'SUCCEEDED'), ('$P:thing/dev-3', 'FAILED'), ('$P:thing/dev-4', 'SUCCEEDED')]"

echo "== 5. an in-progress timeout (inProgressTimeoutInMinutes=1, one minute = 3 s here)"
check "slow-1: create-thing, certificate, policy" make_device slow-1
start_device slow-1 --hang
check "slow-1's device (--hang) is READY and IDLE" wait_line "$WORK/slow-1.dev.out" '^IDLE$'
out "$WORK/create3.json" iot create-job --job-id stuck-3 --targets "$P:thing/slow-1" --document '{"operation":"reboot"}' \
  --timeout-config inProgressTimeoutInMinutes=1
check "create-job stuck-3 --timeout-config inProgressTimeoutInMinutes=1" jcheck "$WORK/create3.json" "d['jobId'] == 'stuck-3'"
check "slow-1 starts it and never finishes (STARTED)" wait_line "$WORK/slow-1.dev.out" '^STARTED job=stuck-3 version=[0-9]+$'
T0=$(date +%s)
check "  ... describe-job-execution: IN_PROGRESS at first" execution_is stuck-3 slow-1 IN_PROGRESS
check "  ... describe-job: timeoutConfig inProgressTimeoutInMinutes 1" job_is stuck-3 "j['timeoutConfig']['inProgressTimeoutInMinutes'] == 1"
check "the execution turns TIMED_OUT (poll describe-job-execution)" poll 100 0.2 execution_is stuck-3 slow-1 TIMED_OUT
T1=$(date +%s)
check "  ... not before the timeout (>= 2 s after it started; took $((T1 - T0)) s)" test $((T1 - T0)) -ge 2
check "describe-job stuck-3: numberOfTimedOutThings 1, COMPLETED" poll 50 0.2 job_is stuck-3 \
  "p['numberOfTimedOutThings'] == 1 and p.get('numberOfInProgressThings', 0) == 0 and j['status'] == 'COMPLETED'"
check "slow-1 is then told there is nothing next (IDLE)" idle_after slow-1 '^STARTED job=stuck-3 '
check "a late update by the device: InvalidStateTransitionException (TIMED_OUT is terminal)" \
  expect_error InvalidStateTransitionException jobs_data update-job-execution --job-id stuck-3 --thing-name slow-1 --status SUCCEEDED

echo "== 6. the Jobs log entries (AWSIotLogsV2)"
events '{ $.eventType = "UpdateJobExecution" && $.jobId = "firmware-1" }' "$WORK/e1.json" 9
check "UpdateJobExecution for firmware-1: every update (3 devices x 3 = at least 9)" jcheck "$WORK/e1.json" 'len(d) >= 9'
check "  ... DEBUG, Success, protocol MQTT, the device's clientId and its update topic" jcheck "$WORK/e1.json" \
  'all(m["logLevel"] == "DEBUG" and m["status"] == "Success" and m["protocol"] == "MQTT" and m["clientId"] in ("dev-1", "dev-2", "dev-3") and m["topicName"] == "$aws/things/" + m["clientId"] + "/jobs/firmware-1/update" for m in d)'
check "  ... details give each destination status: 2 IN_PROGRESS + SUCCEEDED (dev-1, dev-2), + FAILED (dev-3)" jcheck "$WORK/e1.json" \
  'all(sorted(m["details"] for m in d if m["clientId"] == c) == sorted(["The destination status is IN_PROGRESS. The request status is SUCCESS."] * 2 + [f"The destination status is {s}. The request status is SUCCESS."]) for c, s in (("dev-1", "SUCCEEDED"), ("dev-2", "SUCCEEDED"), ("dev-3", "FAILED")))'
check "  ... with versionNumber and clientToken" jcheck "$WORK/e1.json" 'all(m.get("versionNumber") and m.get("clientToken") for m in d)'
events '{ $.eventType = "ReportFinalJobExecutionCount" && $.jobId = "firmware-1" }' "$WORK/e2.json" 1
check "ReportFinalJobExecutionCount for firmware-1: one INFO entry" jcheck "$WORK/e2.json" 'len(d) == 1 and d[0]["logLevel"] == "INFO"'
check "  ... details: SUCCEEDED job execution count: 2, FAILED job execution count: 1" jcheck "$WORK/e2.json" \
  'd[0]["details"].startswith("Job firmware-1 completed.") and "SUCCEEDED job execution count: 2" in d[0]["details"] and "FAILED job execution count: 1" in d[0]["details"] and "QUEUED job execution count: 0" in d[0]["details"] and "IN_PROGRESS job execution count: 0" in d[0]["details"]'
events '{ $.eventType = "ReportFinalJobExecutionCount" && $.jobId = "stuck-3" }' "$WORK/e2b.json" 1
check "ReportFinalJobExecutionCount for stuck-3 (completed by its timeout)" jcheck "$WORK/e2b.json" 'len(d) == 1'
events '{ $.eventType = "ReportFinalJobExecutionCount" && $.jobId = "config-2" }' "$WORK/e2c.json" 0
check "  ... none for the continuous job config-2" jcheck "$WORK/e2c.json" 'd == []'
events '{ $.eventType = "StartNextPendingJobExecution" && $.protocol = "MQTT" }' "$WORK/e3.json" 5
check "StartNextPendingJobExecution entries have protocol MQTT, from every device" jcheck "$WORK/e3.json" \
  '{m["clientId"] for m in d} >= {"dev-1", "dev-2", "dev-3", "dev-4", "slow-1"} and all(m["protocol"] == "MQTT" for m in d)'
check "  ... DEBUG, Success, topicName \$aws/things/CLIENT/jobs/start-next" jcheck "$WORK/e3.json" \
  'all(m["logLevel"] == "DEBUG" and m["status"] == "Success" and m["topicName"] == "$aws/things/" + m["clientId"] + "/jobs/start-next" for m in d)'
check "  ... in AWS's attribute order" jcheck "$WORK/e3.json" \
  'list(d[0])[:7] == ["timestamp", "logLevel", "accountId", "status", "eventType", "protocol", "clientId"]'

echo "== 7. the device API over HTTP (aws iot-jobs-data)"
check "create-thing http-1 (no device)" iot create-thing --thing-name http-1
DOC4='{"operation":"report","what":"inventory"}'
check "create-job http-4 for http-1" iot create-job --job-id http-4 --targets "$P:thing/http-1" --document "$DOC4"
out "$WORK/pend1.json" jobs_data get-pending-job-executions --thing-name http-1
check "get-pending-job-executions: http-4 in queuedJobs, nothing in progress" jcheck "$WORK/pend1.json" \
  "[j['jobId'] for j in d['queuedJobs']] == ['http-4'] and d.get('inProgressJobs', []) == []"
out "$WORK/start4.json" jobs_data start-next-pending-job-execution --thing-name http-1
check "start-next-pending-job-execution: http-4, IN_PROGRESS" jcheck "$WORK/start4.json" \
  "d['execution']['jobId'] == 'http-4' and d['execution']['status'] == 'IN_PROGRESS' and d['execution']['thingName'] == 'http-1'"
check "  ... with its job document" jcheck "$WORK/start4.json" "json.loads(d['execution']['jobDocument']) == json.loads('$DOC4')"
V4=$(jget "$WORK/start4.json" 'd.get("execution", {}).get("versionNumber", 0)')
out "$WORK/pend2.json" jobs_data get-pending-job-executions --thing-name http-1
check "get-pending-job-executions: now in inProgressJobs" jcheck "$WORK/pend2.json" \
  "[j['jobId'] for j in d['inProgressJobs']] == ['http-4'] and d.get('queuedJobs', []) == []"
check "update-job-execution with a stale --expected-version ($((V4 - 1)), current $V4): InvalidStateTransitionException" \
  expect_error InvalidStateTransitionException jobs_data update-job-execution --job-id http-4 --thing-name http-1 \
  --status IN_PROGRESS --expected-version $((V4 - 1))
out "$WORK/upd4.json" jobs_data update-job-execution --job-id http-4 --thing-name http-1 --status SUCCEEDED \
  --expected-version "$V4" --status-details result=ok,items=12 --include-job-execution-state
check "update-job-execution --status SUCCEEDED --expected-version $V4: executionState SUCCEEDED, version $((V4 + 1))" jcheck "$WORK/upd4.json" \
  "d['executionState']['status'] == 'SUCCEEDED' and d['executionState']['versionNumber'] == $V4 + 1 and d['executionState']['statusDetails'] == {'result': 'ok', 'items': '12'}"
check "a second update to IN_PROGRESS: InvalidStateTransitionException" \
  expect_error InvalidStateTransitionException jobs_data update-job-execution --job-id http-4 --thing-name http-1 --status IN_PROGRESS
check "describe-job-execution of an unknown job: ResourceNotFoundException" \
  expect_error ResourceNotFoundException jobs_data describe-job-execution --job-id no-such-job --thing-name http-1
out "$WORK/desc4.json" jobs_data describe-job-execution --job-id http-4 --thing-name http-1 --include-job-document
check "describe-job-execution --include-job-document: SUCCEEDED, its statusDetails and document" jcheck "$WORK/desc4.json" \
  "d['execution']['status'] == 'SUCCEEDED' and d['execution']['versionNumber'] == $V4 + 1 and d['execution']['statusDetails'] == {'result': 'ok', 'items': '12'} and json.loads(d['execution']['jobDocument']) == json.loads('$DOC4')"
out "$WORK/pend3.json" jobs_data get-pending-job-executions --thing-name http-1
check "get-pending-job-executions: nothing pending" jcheck "$WORK/pend3.json" \
  "d.get('queuedJobs', []) == [] and d.get('inProgressJobs', []) == []"
# (The CLI prints nothing for an empty answer, {}.)
check "start-next-pending-job-execution with nothing pending: no execution" bash -c \
  "aws iot-jobs-data --endpoint-url $EP start-next-pending-job-execution --thing-name http-1 --output json >'$WORK/start-none.json' &&
   python3 -c 'import json,sys; s = open(sys.argv[1]).read(); assert not s.strip() or \"execution\" not in json.loads(s), s' '$WORK/start-none.json'"
check "describe-job http-4: COMPLETED, 1 succeeded" poll 50 0.2 job_is http-4 "j['status'] == 'COMPLETED' and p['numberOfSucceededThings'] == 1"
events '{ $.protocol = "HTTP" && $.eventType = "*JobExecution" }' "$WORK/e4.json" 4
check "log entries with protocol HTTP: GetPendingJobExecution, StartNextPendingJobExecution, UpdateJobExecution, DescribeJobExecution" jcheck "$WORK/e4.json" \
  '{m["eventType"] for m in d} >= {"GetPendingJobExecution", "StartNextPendingJobExecution", "UpdateJobExecution", "DescribeJobExecution"}'
events '{ $.protocol = "HTTP" && $.eventType = "UpdateJobExecution" && $.jobId = "http-4" && $.status = "Success" }' "$WORK/e5.json" 1
check "  ... the accepted HTTP update of http-4: destination SUCCEEDED" jcheck "$WORK/e5.json" \
  'len(d) == 1 and d[0]["details"] == "The destination status is SUCCEEDED. The request status is SUCCESS."'

echo "== 8. bad input, cancel and delete"
check "create-job for an unknown thing ARN: ResourceNotFoundException" \
  expect_error ResourceNotFoundException iot create-job --job-id ghost-job --targets "$P:thing/no-such-thing" --document '{"x":1}'
python3 -c 'import json; print(json.dumps({"blob": "x" * 33000}))' >"$WORK/big.json"
check "a job document over 32 KB: InvalidRequestException" \
  expect_error InvalidRequestException iot create-job --job-id big-job --targets "$P:thing/http-1" --document "file://$WORK/big.json"
check "a duplicate job ID (firmware-1): ResourceAlreadyExistsException" \
  expect_error ResourceAlreadyExistsException iot create-job --job-id firmware-1 --targets "$P:thing/http-1" --document '{"x":1}'
check "neither bad job was created" bash -c "
  ! aws iot describe-job --endpoint-url $EP --job-id ghost-job >/dev/null 2>&1 && ! aws iot describe-job --endpoint-url $EP --job-id big-job >/dev/null 2>&1"
check "delete-job of the IN_PROGRESS job config-2 without --force: InvalidStateTransitionException" \
  expect_error InvalidStateTransitionException iot delete-job --job-id config-2
check "cancel-job config-2" iot cancel-job --job-id config-2 --comment "superseded"
check "  ... describe-job: CANCELED" poll 50 0.2 job_is config-2 "j['status'] == 'CANCELED'"
check "delete-job config-2 (CANCELED)" iot delete-job --job-id config-2
check "  ... describe-job eventually: ResourceNotFoundException" poll 50 0.2 expect_error ResourceNotFoundException iot describe-job --job-id config-2
check "  ... list-jobs no longer lists it; firmware-1, stuck-3, http-4 are COMPLETED" bash -c "
  aws iot list-jobs --endpoint-url $EP --output json | python3 -c '
import json, sys
jobs = {j[\"jobId\"]: j[\"status\"] for j in json.load(sys.stdin)[\"jobs\"]}
assert \"config-2\" not in jobs and all(jobs.get(k) == \"COMPLETED\" for k in (\"firmware-1\", \"stuck-3\", \"http-4\")), jobs'"
out "$WORK/completed.json" iot list-jobs --status COMPLETED
check "list-jobs --status COMPLETED" jcheck "$WORK/completed.json" \
  "sorted(j['jobId'] for j in d['jobs']) == ['firmware-1', 'http-4', 'stuck-3']"

echo "== 9. job templates, cancel-job-execution, delete-job-execution"
out "$WORK/tpl.json" iot create-job-template --job-template-id reboot-template --description "reboot the device" \
  --document '{"operation":"reboot","delaySeconds":5}' --timeout-config inProgressTimeoutInMinutes=10
check "create-job-template reboot-template: jobTemplateArn" jcheck "$WORK/tpl.json" \
  "d['jobTemplateId'] == 'reboot-template' and d['jobTemplateArn'] == '$P:jobtemplate/reboot-template'"
out "$WORK/tpld.json" iot describe-job-template --job-template-id reboot-template
check "describe-job-template: description, document, timeoutConfig" jcheck "$WORK/tpld.json" \
  "d['description'] == 'reboot the device' and json.loads(d['document']) == {'operation': 'reboot', 'delaySeconds': 5} and d['timeoutConfig']['inProgressTimeoutInMinutes'] == 10"
out "$WORK/tpll.json" iot list-job-templates
check "list-job-templates" jcheck "$WORK/tpll.json" "[t['jobTemplateId'] for t in d['jobTemplates']] == ['reboot-template']"
check "create-job reboot-5 --job-template-arn" \
  iot create-job --job-id reboot-5 --targets "$P:thing/http-1" --job-template-arn "$P:jobtemplate/reboot-template"
out "$WORK/doc5.json" iot get-job-document --job-id reboot-5
check "  ... get-job-document: the template's document" jcheck "$WORK/doc5.json" \
  "json.loads(d['document']) == {'operation': 'reboot', 'delaySeconds': 5}"
check "  ... describe-job: the template's timeoutConfig and jobTemplateArn" job_is reboot-5 \
  "j['timeoutConfig']['inProgressTimeoutInMinutes'] == 10 and j.get('jobTemplateArn') == '$P:jobtemplate/reboot-template'"
out "$WORK/thing-execs.json" iot list-job-executions-for-thing --thing-name http-1
check "list-job-executions-for-thing http-1: reboot-5 QUEUED, http-4 SUCCEEDED" jcheck "$WORK/thing-execs.json" \
  "sorted((e['jobId'], e['jobExecutionSummary']['status']) for e in d['executionSummaries']) == [('http-4', 'SUCCEEDED'), ('reboot-5', 'QUEUED')]"
check "cancel-job-execution reboot-5 http-1" iot cancel-job-execution --job-id reboot-5 --thing-name http-1
check "  ... describe-job-execution: CANCELED" execution_is reboot-5 http-1 CANCELED
N5=$(aws iot describe-job-execution --endpoint-url "$EP" --job-id reboot-5 --thing-name http-1 --query execution.executionNumber --output text 2>/dev/null || echo 0)
check "delete-job-execution reboot-5 http-1 --execution-number $N5" \
  iot delete-job-execution --job-id reboot-5 --thing-name http-1 --execution-number "$N5"
check "  ... describe-job-execution: ResourceNotFoundException" \
  poll 50 0.2 expect_error ResourceNotFoundException iot describe-job-execution --job-id reboot-5 --thing-name http-1
check "delete-job-template reboot-template" iot delete-job-template --job-template-id reboot-template
check "  ... describe-job-template: ResourceNotFoundException" \
  expect_error ResourceNotFoundException iot describe-job-template --job-template-id reboot-template

echo "== 10. the devices"
check "no device saw a rejected request" bash -c "! grep -H 'REJECTED' '$WORK'/*.dev.out"
for d in dev-1 dev-2 dev-3 dev-4 slow-1; do
  v="DEV_${d//-/_}"
  kill "${!v}" 2>/dev/null || true
  wait "${!v}" 2>/dev/null || true
done
check "the devices disconnect cleanly on SIGTERM (BYE)" bash -c \
  "for d in dev-1 dev-2 dev-3 dev-4 slow-1; do grep -qx BYE '$WORK/'\$d.dev.out || { echo \$d; cat '$WORK/'\$d.dev.out '$WORK/'\$d.dev.err; exit 1; }; done"

summary
