#!/usr/bin/env bash
# Acceptance scenario of "Identities and authorization" (issue #5), steps 1, 2 and 4: X.509
# certificates and IoT policies created with the real AWS CLI (v1), mosquitto clients over
# mutual TLS (--mqtts-listen, trusting DATA_DIR/ca.pem), openssl for certificates the server
# never issued, the Failure entries in AWSIotLogsV2, and the logging role (IAM, iam:PassRole).
# Fails (non-zero) on any mismatch.
#
# Usage: bash scripts/identity.sh   (THINGWATCH_BIN overrides target/release/thingwatch)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${THINGWATCH_BIN:-target/release/thingwatch}
[ -x "$BIN" ] || { echo "identity: $BIN not built (cargo build --release)"; exit 1; }
command -v openssl >/dev/null || { echo "identity: openssl is needed"; exit 1; }
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
ACCOUNT=123456789012
REGION=us-east-1
PASS=0
FAIL=0
ok()   { PASS=$((PASS+1)); echo "  ok   $*"; }
bad()  { FAIL=$((FAIL+1)); echo "  FAIL $*"; }
check() { local what=$1; shift; if "$@" >"$WORK/check.out" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/       /' "$WORK/check.out" | head -20; fi; }

"$BIN" serve --data-dir "$DATA" --mqtt-listen "127.0.0.1:$MQTT_PORT" --mqtts-listen "127.0.0.1:$MQTTS_PORT" \
  --http-listen "127.0.0.1:$HTTP_PORT" >"$WORK/server.out" 2>"$WORK/server.err" &
PID=$!
for _ in $(seq 1 100); do
  grep -q '^credentials:' "$WORK/server.out" 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.err"; echo "server exited"; exit 1; }
  sleep 0.1
done
grep -q '^credentials:' "$WORK/server.out" || { cat "$WORK/server.err"; echo "server did not start"; exit 1; }

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION AWS_REGION || true
export AWS_SHARED_CREDENTIALS_FILE="$DATA/credentials" AWS_CONFIG_FILE="$DATA/config"
export AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
EP="http://127.0.0.1:$HTTP_PORT"
iot()  { aws iot --endpoint-url "$EP" "$@"; }
logs() { aws logs --endpoint-url "$EP" "$@"; }
iam()  { aws iam --endpoint-url "$EP" "$@"; }
CA="$DATA/ca.pem"

# run command...: a step whose result the following checks look at; a failure is shown, not fatal.
run() { "$@" >"$WORK/run.out" 2>&1 || { echo "  (failed: $*)"; sed 's/^/       /' "$WORK/run.out" | head -5; }; }
# jcheck FILE PYTHON-EXPR: the expression holds with `d` = FILE's JSON.
jcheck() {
  python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if not eval(sys.argv[2]):
    sys.exit(f"not true: {sys.argv[2]}\n  for {json.dumps(d, sort_keys=True)[:1500]}")
PY
}
# expect_error CODE TEXT command...: the AWS CLI fails with "An error occurred (CODE)" and TEXT
# (a fixed string; "" for any).
expect_error() {
  local code=$1 text=$2 rc=0; shift 2
  "$@" >"$WORK/err.out" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || { echo "command succeeded:"; cat "$WORK/err.out"; return 1; }
  grep -q "An error occurred ($code)" "$WORK/err.out" || { cat "$WORK/err.out"; return 1; }
  grep -qF -- "$text" "$WORK/err.out" || { echo "no '$text' in:"; cat "$WORK/err.out"; return 1; }
}
# mqtt_expect RC TEXT command...: a mosquitto client exits with RC (a number, or "fail" for any
# non-zero code) and prints TEXT (a fixed string; with RC 0, "" means no complaint at all).
mqtt_expect() {
  local want=$1 text=$2 rc=0; shift 2
  "$@" >"$WORK/mqtt.out" 2>&1 || rc=$?
  if [ "$want" = fail ]; then
    [ "$rc" -ne 0 ] || { echo "exit code 0, expected a failure:"; cat "$WORK/mqtt.out"; return 1; }
  else
    [ "$rc" -eq "$want" ] || { echo "exit code $rc, expected $want:"; cat "$WORK/mqtt.out"; return 1; }
  fi
  [ -z "$text" ] || grep -qF -- "$text" "$WORK/mqtt.out" || { echo "no '$text' in:"; cat "$WORK/mqtt.out"; return 1; }
  # An MQTT 5 PUBACK refusal still exits 0: success means no complaint at all.
  [ "$want" != 0 ] || [ -n "$text" ] || ! grep -qE 'failed|Error|denied' "$WORK/mqtt.out" || { cat "$WORK/mqtt.out"; return 1; }
}
# Device NAME's mosquitto clients over mutual TLS: WORK/NAME.cert.pem + WORK/NAME.key.pem,
# trusting the server CA; the server certificate covers localhost and 127.0.0.1. At most 20 s;
# mosquitto_sub line-buffered, so wait_suback sees its -d lines at once.
tls_pub() { local n=$1; shift; timeout 20 mosquitto_pub --cafile "$CA" --cert "$WORK/$n.cert.pem" --key "$WORK/$n.key.pem" -h localhost -p "$MQTTS_PORT" "$@"; }
tls_sub() { local n=$1; shift; timeout 20 stdbuf -oL mosquitto_sub --cafile "$CA" --cert "$WORK/$n.cert.pem" --key "$WORK/$n.key.pem" -h 127.0.0.1 -p "$MQTTS_PORT" "$@"; }
# dump_events PYTHON-EXPR: every AWSIotLogsV2 message, as a JSON list `d`, into WORK/events.json;
# retries (up to ~8 s) until the expression holds.
dump_events() {
  for _ in 1 2 3 4 5; do
    logs filter-log-events --log-group-name AWSIotLogsV2 --output json 2>/dev/null \
      | python3 -c 'import json,sys; print(json.dumps([json.loads(e["message"]) for e in json.load(sys.stdin)["events"]]))' \
      >"$WORK/events.json" || echo '[]' >"$WORK/events.json"
    python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
      "$WORK/events.json" "$1" && return 0
    sleep 0.3
  done
  return 0
}
# wait_suback FILE: waits up to 10 s for a `mosquitto_sub -d` in the background to be subscribed.
wait_suback() {
  for _ in $(seq 1 100); do grep -q 'received SUBACK' "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no SUBACK in $1:"; cat "$1"
}
der_sha256() { openssl x509 -in "$1" -outform der | sha256sum | cut -c1-64; }
jget() { python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

echo "== 1. thingwatch serve: the MQTT over TLS listener and its CA"
check "banner: MQTT over TLS listening on 127.0.0.1:$MQTTS_PORT, CA at DATA_DIR/ca.pem" \
  grep -qxF "MQTT over TLS listening on 127.0.0.1:$MQTTS_PORT (X.509 client certificates; CA: $CA)" "$WORK/server.out"
check "DATA_DIR/ca.pem is a CA certificate" bash -c "openssl x509 -in '$CA' -noout -ext basicConstraints | grep -q 'CA:TRUE'"
for host in "-verify_hostname localhost" "-verify_ip 127.0.0.1"; do
  check "the server certificate verifies against ca.pem for ${host#-verify_* }" bash -c \
    "echo | timeout 10 openssl s_client -connect 127.0.0.1:$MQTTS_PORT -CAfile '$CA' $host -verify_return_error 2>&1 | grep -q 'Verify return code: 0 (ok)'"
done

echo "== 2. certificates (AWS CLI)"
iot create-keys-and-certificate --set-as-active --certificate-pem-outfile "$WORK/sensor-1.cert.pem" \
  --public-key-outfile "$WORK/sensor-1.pub.pem" --private-key-outfile "$WORK/sensor-1.key.pem" --output json >"$WORK/ck.json" \
  || echo '{}' >"$WORK/ck.json"
ID1=$(jget "$WORK/ck.json" 'd.get("certificateId", "")')
ARN1=$(jget "$WORK/ck.json" 'd.get("certificateArn", "")')
check "create-keys-and-certificate --set-as-active: certificate, ID, ARN and key pair" jcheck "$WORK/ck.json" \
  'set(d) == {"certificateArn", "certificateId", "certificatePem", "keyPair"} and set(d["keyPair"]) == {"PublicKey", "PrivateKey"}'
check "  ... certificateId is the SHA-256 of the certificate's DER" \
  bash -c "[ '$ID1' = \"\$(openssl x509 -in '$WORK/sensor-1.cert.pem' -outform der | sha256sum | cut -c1-64)\" ]"
check "  ... certificateArn is arn:aws:iot:$REGION:$ACCOUNT:cert/ID" \
  bash -c "[ '$ARN1' = 'arn:aws:iot:$REGION:$ACCOUNT:cert/$ID1' ]"
check "  ... the private key (PKCS#1 RSA) belongs to the certificate" bash -c "
  grep -q 'BEGIN RSA PRIVATE KEY' '$WORK/sensor-1.key.pem' &&
  [ \"\$(openssl pkey -in '$WORK/sensor-1.key.pem' -pubout)\" = \"\$(openssl x509 -in '$WORK/sensor-1.cert.pem' -noout -pubkey)\" ] &&
  [ \"\$(openssl pkey -pubin -in '$WORK/sensor-1.pub.pem')\" = \"\$(openssl x509 -in '$WORK/sensor-1.cert.pem' -noout -pubkey)\" ]"
check "  ... issued by the server CA" openssl verify -CAfile "$CA" "$WORK/sensor-1.cert.pem"
iot describe-certificate --certificate-id "$ID1" --output json >"$WORK/desc1.json" || echo '{}' >"$WORK/desc1.json"
check "describe-certificate: ACTIVE, same ID, ARN and PEM" python3 - "$WORK/desc1.json" "$WORK/ck.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["certificateDescription"]; c = json.load(open(sys.argv[2]))
assert d["status"] == "ACTIVE" and d["certificateId"] == c["certificateId"], d
assert d["certificateArn"] == c["certificateArn"] and d["certificatePem"].strip() == c["certificatePem"].strip(), d
PY
# An application's certificate from its own key (CreateCertificateFromCsr).
openssl req -new -newkey rsa:2048 -nodes -keyout "$WORK/app.key.pem" -out "$WORK/app.csr" -subj /CN=app-1 2>/dev/null
iot create-certificate-from-csr --set-as-active --certificate-signing-request "file://$WORK/app.csr" --output json >"$WORK/csr.json" \
  || echo '{}' >"$WORK/csr.json"
jget "$WORK/csr.json" 'd.get("certificatePem", "")' >"$WORK/app.cert.pem"
ID2=$(jget "$WORK/csr.json" 'd.get("certificateId", "")')
ARN2=$(jget "$WORK/csr.json" 'd.get("certificateArn", "")')
check "create-certificate-from-csr: a certificate for the CSR's key, ID = SHA-256 of its DER" bash -c "
  [ -n '$ID2' ] && [ '$ID2' = \"\$(openssl x509 -in '$WORK/app.cert.pem' -outform der | sha256sum | cut -c1-64)\" ] &&
  [ \"\$(openssl pkey -in '$WORK/app.key.pem' -pubout)\" = \"\$(openssl x509 -in '$WORK/app.cert.pem' -noout -pubkey)\" ] &&
  [ '$ARN2' = 'arn:aws:iot:$REGION:$ACCOUNT:cert/$ID2' ]"
iot list-certificates --output json >"$WORK/list.json" || echo '{}' >"$WORK/list.json"
check "list-certificates: both, ACTIVE" jcheck "$WORK/list.json" \
  "sorted((c['certificateId'], c['status']) for c in d['certificates']) == sorted([('$ID1', 'ACTIVE'), ('$ID2', 'ACTIVE')])"
check "delete-certificate of an ACTIVE certificate: CertificateStateException" \
  expect_error CertificateStateException "" iot delete-certificate --certificate-id "$ID2"

echo "== 3. policies, things, attachments"
cat >"$WORK/sensor-policy.json" <<EOF
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:$REGION:$ACCOUNT:client/\${iot:Connection.Thing.ThingName}"},
  {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": "arn:aws:iot:$REGION:$ACCOUNT:topic/dt/\${iot:Connection.Thing.ThingName}/*"},
  {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:$REGION:$ACCOUNT:topicfilter/dt/\${iot:Connection.Thing.ThingName}/*"},
  {"Effect": "Deny", "Action": "iot:Publish", "Resource": "arn:aws:iot:$REGION:$ACCOUNT:topic/dt/\${iot:Connection.Thing.ThingName}/secret"}
]}
EOF
cat >"$WORK/app-policy.json" <<EOF
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:$REGION:$ACCOUNT:client/app-*"},
  {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:$REGION:$ACCOUNT:topicfilter/dt/*"},
  {"Effect": "Allow", "Action": "iot:Receive", "Resource": "arn:aws:iot:$REGION:$ACCOUNT:topic/dt/sensor-*"},
  {"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:$REGION:$ACCOUNT:topic/app/\${iot:ClientId}/*"}
]}
EOF
iot create-policy --policy-name SensorPolicy --policy-document "file://$WORK/sensor-policy.json" --output json >"$WORK/pol.json" \
  || echo '{}' >"$WORK/pol.json"
check "create-policy SensorPolicy (\${iot:Connection.Thing.ThingName}): ARN and version 1" jcheck "$WORK/pol.json" \
  "d['policyArn'] == 'arn:aws:iot:$REGION:$ACCOUNT:policy/SensorPolicy' and d['policyVersionId'] == '1' and '\${iot:Connection.Thing.ThingName}' in d['policyDocument']"
check "create-policy AppPolicy (\${iot:ClientId})" \
  iot create-policy --policy-name AppPolicy --policy-document "file://$WORK/app-policy.json"
check "attach-policy SensorPolicy to sensor-1's certificate" iot attach-policy --policy-name SensorPolicy --target "$ARN1"
check "attach-policy AppPolicy to the application's certificate" iot attach-policy --policy-name AppPolicy --target "$ARN2"
check "create-thing sensor-1" iot create-thing --thing-name sensor-1
check "attach-thing-principal sensor-1" iot attach-thing-principal --thing-name sensor-1 --principal "$ARN1"
check "list-thing-principals sensor-1" bash -c "[ \"\$(aws iot list-thing-principals --endpoint-url $EP --thing-name sensor-1 --query 'principals' --output text)\" = '$ARN1' ]"
check "list-principal-things" bash -c "[ \"\$(aws iot list-principal-things --endpoint-url $EP --principal '$ARN1' --query 'things' --output text)\" = sensor-1 ]"
check "list-attached-policies" bash -c "[ \"\$(aws iot list-attached-policies --endpoint-url $EP --target '$ARN1' --query 'policies[].policyName' --output text)\" = SensorPolicy ]"

echo "== 4. allowed: connect, subscribe, publish, receive over mutual TLS (mosquitto)"
tls_sub app -i app-1 -V mqttv311 -q 1 -t 'dt/#' -v -d -C 2 -W 20 >"$WORK/app-sub.out" 2>&1 &
SUB=$!; PIDS+=($SUB)
wait_suback "$WORK/app-sub.out"
# Published on the plain loopback listener (anonymous): the application may not receive dt/other/*.
run mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -i plain-1 -q 1 -t dt/other/temp -m 5
check "sensor-1 publishes to dt/sensor-1/temp (MQTT 3.1.1, QoS 1, -h localhost)" \
  mqtt_expect 0 "" tls_pub sensor-1 -i sensor-1 -V mqttv311 -q 1 -t dt/sensor-1/temp -m 21
check "sensor-1 publishes again with MQTT 5" \
  mqtt_expect 0 "" tls_pub sensor-1 -i sensor-1 -V mqttv5 -q 1 -t dt/sensor-1/temp -m 22
wait "$SUB" || true
check "app-1 (subscribed to dt/# over TLS, -h 127.0.0.1) receives both, but not dt/other/temp (iot:Receive)" \
  bash -c "[ \"\$(grep '^dt/' '$WORK/app-sub.out')\" = \"\$(printf 'dt/sensor-1/temp 21\ndt/sensor-1/temp 22')\" ]"
check "app-1 may publish to app/app-1/status (\${iot:ClientId})" \
  mqtt_expect 0 "" tls_pub app -i app-1 -V mqttv5 -q 1 -t app/app-1/status -m up
# iot:Receive is checked on every delivery (AWS IoT Developer Guide, "AWS IoT Core policy
# actions"): a detached policy stops deliveries to a live subscription, re-attaching resumes them.
tls_sub app -i app-1 -V mqttv311 -q 1 -t 'dt/#' -v -d -W 20 >"$WORK/app-live.out" 2>&1 &
APP=$!; PIDS+=($APP)
wait_suback "$WORK/app-live.out"
check "detach-policy AppPolicy from the application's certificate" iot detach-policy --policy-name AppPolicy --target "$ARN2"
run tls_pub sensor-1 -i sensor-1 -q 1 -t dt/sensor-1/temp -m 30
check "attach-policy AppPolicy again" iot attach-policy --policy-name AppPolicy --target "$ARN2"
run tls_pub sensor-1 -i sensor-1 -q 1 -t dt/sensor-1/temp -m 31
check "app-1's live subscription missed the message sent while detached, and got the one after" bash -c "
  for _ in \$(seq 1 50); do grep -q '^dt/sensor-1/temp 31' '$WORK/app-live.out' && break; sleep 0.1; done
  [ \"\$(grep '^dt/' '$WORK/app-live.out')\" = 'dt/sensor-1/temp 31' ]"
{ kill "$APP"; wait "$APP"; } 2>/dev/null || true
# A device reconnecting while its previous connection is still open (a session takeover) keeps
# its rights.
tls_sub sensor-1 -i sensor-1 -q 1 -t 'dt/sensor-1/cmd' -d -W 20 >"$WORK/old.out" 2>&1 &
OLD=$!; PIDS+=($OLD)
wait_suback "$WORK/old.out"
check "a reconnect with the same client ID (takeover) may still publish" \
  mqtt_expect 0 "" tls_pub sensor-1 -i sensor-1 -V mqttv5 -q 1 -t dt/sensor-1/temp -m 23
{ kill "$OLD"; wait "$OLD"; } 2>/dev/null || true

echo "== 5. refused (MQTT 3.1.1 and 5, the AWS IoT way)"
check "client ID not allowed by the policy (intruder): CONNACK not authorised" \
  mqtt_expect 5 "not authorised" tls_pub sensor-1 -i intruder -q 1 -t dt/intruder/x -m 1
check "publish to dt/sensor-2/temp (3.1.1, QoS 1): the connection is closed" \
  mqtt_expect fail "The connection was lost" tls_pub sensor-1 -i sensor-1 -V mqttv311 -q 1 -t dt/sensor-2/temp -m 1
check "publish to dt/sensor-2/temp (MQTT 5, QoS 1): PUBACK Not authorized" \
  mqtt_expect 0 "Publish 1 failed: Not authorized" tls_pub sensor-1 -i sensor-1 -V mqttv5 -q 1 -t dt/sensor-2/temp -m 1
check "publish to dt/sensor-1/secret (explicit Deny wins, MQTT 5): Not authorized" \
  mqtt_expect 0 "Publish 1 failed: Not authorized" tls_pub sensor-1 -i sensor-1 -V mqttv5 -q 1 -t dt/sensor-1/secret -m 1
check "app-1 publish to app/app-2/status (\${iot:ClientId}, MQTT 5): Not authorized" \
  mqtt_expect 0 "Publish 1 failed: Not authorized" tls_pub app -i app-1 -V mqttv5 -q 1 -t app/app-2/status -m 1
check "subscribe to dt/sensor-2/# (3.1.1): SUBACK failure" \
  mqtt_expect 0 "All subscription requests were denied" tls_sub sensor-1 -i sensor-1 -V mqttv311 -q 1 -t 'dt/sensor-2/#' -W 5
check "subscribe to dt/sensor-2/# (MQTT 5): SUBACK failure" \
  mqtt_expect 0 "All subscription requests were denied" tls_sub sensor-1 -i sensor-1 -V mqttv5 -q 1 -t 'dt/sensor-2/#' -W 5

# Certificates this server never registered: self-signed, and signed by another CA.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/rogue.key.pem" -out "$WORK/rogue.cert.pem" -days 30 -subj /CN=rogue 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/otherca.key.pem" -out "$WORK/otherca.pem" \
  -days 30 -subj /CN=OtherCA -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/foreign.key.pem" -subj /CN=sensor-1 2>/dev/null \
  | openssl x509 -req -CA "$WORK/otherca.pem" -CAkey "$WORK/otherca.key.pem" -CAcreateserial -days 30 -out "$WORK/foreign.cert.pem" 2>/dev/null
ROGUE=$(der_sha256 "$WORK/rogue.cert.pem")
FOREIGN=$(der_sha256 "$WORK/foreign.cert.pem")
check "an unknown self-signed certificate is refused in the TLS handshake" \
  mqtt_expect fail "" tls_pub rogue -i sensor-1 -q 1 -t dt/sensor-1/x -m 1
check "an unknown certificate of another CA is refused" \
  mqtt_expect fail "" tls_pub foreign -i sensor-1 -q 1 -t dt/sensor-1/x -m 1
iot register-certificate-without-ca --certificate-pem "file://$WORK/rogue.cert.pem" --status ACTIVE --output json >"$WORK/reg.json" \
  || echo '{}' >"$WORK/reg.json"
check "register-certificate-without-ca --status ACTIVE: ID = SHA-256 of its DER" jcheck "$WORK/reg.json" \
  "d.get('certificateId') == '$ROGUE' and d['certificateArn'] == 'arn:aws:iot:$REGION:$ACCOUNT:cert/$ROGUE'"
check "  ... it now authenticates, but without a policy may not connect" \
  mqtt_expect 5 "not authorised" tls_pub rogue -i rogue-1 -q 1 -t dt/rogue-1/x -m 1

check "update-certificate --new-status INACTIVE" iot update-certificate --certificate-id "$ID1" --new-status INACTIVE
check "  ... an INACTIVE certificate is refused" mqtt_expect fail "" tls_pub sensor-1 -i sensor-1 -q 1 -t dt/sensor-1/temp -m 1
check "update-certificate --new-status ACTIVE" iot update-certificate --certificate-id "$ID1" --new-status ACTIVE
check "  ... connects again" mqtt_expect 0 "" tls_pub sensor-1 -i sensor-1 -q 1 -t dt/sensor-1/temp -m 24

tls_sub sensor-1 -i sensor-1 -V mqttv311 -q 1 -t 'dt/sensor-1/cmd' -d >"$WORK/live.out" 2>&1 &
LIVE=$!; PIDS+=($LIVE)
wait_suback "$WORK/live.out"
check "update-certificate --new-status REVOKED" iot update-certificate --certificate-id "$ID1" --new-status REVOKED
check "  ... closes sensor-1's live mosquitto_sub connection" bash -c "
  for _ in \$(seq 1 50); do kill -0 $LIVE 2>/dev/null || break; sleep 0.1; done
  ! kill -0 $LIVE 2>/dev/null && grep -q 'The connection was lost' '$WORK/live.out'"
check "  ... and refuses new connections" mqtt_expect fail "" tls_pub sensor-1 -i sensor-1 -q 1 -t dt/sensor-1/temp -m 1
check "a REVOKED certificate cannot be made ACTIVE again: CertificateStateException" \
  expect_error CertificateStateException "" iot update-certificate --certificate-id "$ID1" --new-status ACTIVE

echo "== 6. the log entries (AWSIotLogsV2)"
dump_events "sum(1 for m in d if m['status'] == 'Failure') >= 12 and any(m.get('details', '').endswith('REVOKED') for m in d)"
E="$WORK/events.json"
check "Connect, Publish-In, Subscribe of sensor-1 carry principalId = its certificate ID" jcheck "$E" \
  "{m['eventType'] for m in d if m.get('clientId') == 'sensor-1' and m['status'] == 'Success' and m['principalId'] == '$ID1'} >= {'Connect', 'Publish-In', 'Subscribe'}"
check "  ... and app-1's carry the application certificate's ID" jcheck "$E" \
  "any(m['eventType'] == 'Subscribe' and m['clientId'] == 'app-1' and m['principalId'] == '$ID2' for m in d)"
check "every Failure entry is ERROR with reason and details" jcheck "$E" \
  "all(m['logLevel'] == 'ERROR' and m.get('reason') and m.get('details') for m in d if m['status'] == 'Failure')"
check "Connect Failure AUTHORIZATION_FAILURE for the client ID 'intruder' (principalId = sensor-1's certificate)" jcheck "$E" \
  "any(m['eventType'] == 'Connect' and m['status'] == 'Failure' and m['clientId'] == 'intruder' and m['principalId'] == '$ID1' and m['reason'] == 'AUTHORIZATION_FAILURE' for m in d)"
check "Connect Failure for the registered certificate without a policy" jcheck "$E" \
  "any(m['eventType'] == 'Connect' and m['status'] == 'Failure' and m['clientId'] == 'rogue-1' and m['principalId'] == '$ROGUE' and m['reason'] == 'AUTHORIZATION_FAILURE' for m in d)"
check "Connect Failure for the unknown certificates (principalId = their SHA-256, details UNKNOWN)" jcheck "$E" \
  "all(any(m['eventType'] == 'Connect' and m['status'] == 'Failure' and m['principalId'] == p and 'UNKNOWN' in m['details'] for m in d) for p in ('$ROGUE', '$FOREIGN'))"
check "Connect Failure with details INACTIVE and REVOKED for sensor-1's certificate" jcheck "$E" \
  "all(any(m['eventType'] == 'Connect' and m['status'] == 'Failure' and m['principalId'] == '$ID1' and m['details'].endswith(s) for m in d) for s in ('INACTIVE', 'REVOKED'))"
check "Publish-In Failure AUTHORIZATION_FAILURE: dt/sensor-2/temp (twice), dt/sensor-1/secret, app/app-2/status" jcheck "$E" \
  "sorted(m['topicName'] for m in d if m['eventType'] == 'Publish-In' and m['status'] == 'Failure' and m['reason'] == 'AUTHORIZATION_FAILURE' and m['topicName'] != 'dt/sensor-1/temp') == ['app/app-2/status', 'dt/sensor-1/secret', 'dt/sensor-2/temp', 'dt/sensor-2/temp']"
check "Subscribe Failure AUTHORIZATION_FAILURE: dt/sensor-2/# (twice)" jcheck "$E" \
  "[m['topicName'] for m in d if m['eventType'] == 'Subscribe' and m['status'] == 'Failure' and m['reason'] == 'AUTHORIZATION_FAILURE'] == ['dt/sensor-2/#'] * 2"
check "the revoked certificate's connection: Disconnect with disconnectReason AUTH_ERROR" jcheck "$E" \
  "any(m['eventType'] == 'Disconnect' and m['principalId'] == '$ID1' and m.get('disconnectReason') == 'AUTH_ERROR' for m in d)"
check "nothing was logged for the delivery app-1 may not receive (dt/other/temp) as Publish-Out Success" jcheck "$E" \
  "not any(m['eventType'] == 'Publish-Out' and m['status'] == 'Success' and m.get('clientId') == 'app-1' and m.get('topicName') == 'dt/other/temp' for m in d)"
check "filter-log-events with a filter pattern finds the refusals" bash -c "
  aws logs filter-log-events --endpoint-url $EP --log-group-name AWSIotLogsV2 --output json \
    --filter-pattern '{ \$.status = \"Failure\" && \$.reason = \"AUTHORIZATION_FAILURE\" && \$.principalId = \"$ID1\" }' \
  | python3 -c 'import json,sys; n = len(json.load(sys.stdin)[\"events\"]); assert n >= 8, n'"

echo "== 7. the logging role (IAM): exists, trusts iot.amazonaws.com, the caller may pass it"
iot get-v2-logging-options --output json >"$WORK/lo0.json" || echo '{}' >"$WORK/lo0.json"
check "a fresh data directory logs with the built-in role ThingwatchLoggingRole" jcheck "$WORK/lo0.json" \
  "d.get('roleArn') == 'arn:aws:iam::$ACCOUNT:role/ThingwatchLoggingRole'"
iam get-role --role-name ThingwatchLoggingRole --output json >"$WORK/builtin.json" || echo '{}' >"$WORK/builtin.json"
check "  ... which trusts iot.amazonaws.com (sts:AssumeRole)" jcheck "$WORK/builtin.json" \
  "d['Role']['AssumeRolePolicyDocument']['Statement'] == [{'Effect': 'Allow', 'Principal': {'Service': 'iot.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]"
cat >"$WORK/trust.json" <<'EOF2'
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole"}
]}
EOF2
sed 's/iot.amazonaws.com/ec2.amazonaws.com/' "$WORK/trust.json" >"$WORK/trust-ec2.json"
cat >"$WORK/role-policy.json" <<EOF2
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow",
   "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:PutMetricFilter", "logs:PutRetentionPolicy"],
   "Resource": ["arn:aws:logs:$REGION:$ACCOUNT:log-group:AWSIotLogsV2:*"]}
]}
EOF2
ROLE="arn:aws:iam::$ACCOUNT:role/IoTLoggingRole"
check "iam create-role IoTLoggingRole (trust: iot.amazonaws.com)" bash -c \
  "[ \"\$(aws iam create-role --endpoint-url $EP --role-name IoTLoggingRole --assume-role-policy-document 'file://$WORK/trust.json' --query Role.Arn --output text)\" = '$ROLE' ]"
check "iam put-role-policy IoTLoggingPolicy (logs:* on AWSIotLogsV2)" \
  iam put-role-policy --role-name IoTLoggingRole --policy-name IoTLoggingPolicy --policy-document "file://$WORK/role-policy.json"
check "set-v2-logging-options --role-arn IoTLoggingRole (root credentials): accepted" \
  iot set-v2-logging-options --role-arn "$ROLE" --default-log-level INFO
check "set-v2-logging-options with a role that does not exist: InvalidRequestException" \
  expect_error InvalidRequestException "does not exist" iot set-v2-logging-options --role-arn "arn:aws:iam::$ACCOUNT:role/Missing" --default-log-level INFO
run iam create-role --role-name Ec2Role --assume-role-policy-document "file://$WORK/trust-ec2.json"
check "set-v2-logging-options with a role that trusts ec2.amazonaws.com only: InvalidRequestException" \
  expect_error InvalidRequestException "iot.amazonaws.com" iot set-v2-logging-options --role-arn "arn:aws:iam::$ACCOUNT:role/Ec2Role" --default-log-level INFO
# An IAM user with iot:* and logs:* but no iam:PassRole.
run iam create-user --user-name operator
run iam put-user-policy --user-name operator --policy-name iot-ops \
  --policy-document '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iot:*", "logs:*"], "Resource": "*"}]}'
iam create-access-key --user-name operator --output json >"$WORK/key.json" || echo '{}' >"$WORK/key.json"
check "iam create-access-key for the user operator" jcheck "$WORK/key.json" \
  "d['AccessKey']['AccessKeyId'].startswith('AKIA') and len(d['AccessKey']['SecretAccessKey']) == 40 and d['AccessKey']['Status'] == 'Active'"
OP_KEY=$(jget "$WORK/key.json" 'd.get("AccessKey", {}).get("AccessKeyId", "")')
OP_SECRET=$(jget "$WORK/key.json" 'd.get("AccessKey", {}).get("SecretAccessKey", "")')
as_operator() { AWS_ACCESS_KEY_ID="$OP_KEY" AWS_SECRET_ACCESS_KEY="$OP_SECRET" AWS_DEFAULT_REGION="$REGION" "$@"; }
check "the operator may call AWS IoT (get-v2-logging-options)" as_operator iot get-v2-logging-options
check "set-v2-logging-options by the operator without iam:PassRole: AccessDeniedException" \
  expect_error AccessDeniedException "iam:PassRole" as_operator iot set-v2-logging-options --role-arn "$ROLE" --default-log-level INFO
run iam put-user-policy --user-name operator --policy-name pass-logging-role \
  --policy-document "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"iam:PassRole\", \"Resource\": \"$ROLE\"}]}"
check "  ... with iam:PassRole on IoTLoggingRole: accepted" \
  as_operator iot set-v2-logging-options --role-arn "$ROLE" --default-log-level INFO
check "  ... but still not for another role (ThingwatchLoggingRole)" \
  expect_error AccessDeniedException "iam:PassRole" as_operator iot set-v2-logging-options --role-arn "arn:aws:iam::$ACCOUNT:role/ThingwatchLoggingRole" --default-log-level INFO

# A role that may create groups and streams but not logs:PutLogEvents: nothing is delivered.
run iam create-role --role-name NoPutRole --assume-role-policy-document "file://$WORK/trust.json"
run iam put-role-policy --role-name NoPutRole --policy-name groups-only --policy-document \
  '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream"], "Resource": "*"}]}'
check "set-v2-logging-options --role-arn NoPutRole (no logs:PutLogEvents): accepted" \
  iot set-v2-logging-options --role-arn "arn:aws:iam::$ACCOUNT:role/NoPutRole" --default-log-level INFO
run mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -i muted-1 -q 1 -t dt/muted -m 1
sleep 1
check "set-v2-logging-options --role-arn IoTLoggingRole again" iot set-v2-logging-options --role-arn "$ROLE" --default-log-level INFO
run mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -i loud-1 -q 1 -t dt/loud -m 1
dump_events "any(m.get('clientId') == 'loud-1' and m['eventType'] == 'Publish-In' for m in d)"
check "with IoTLoggingRole, entries are delivered (loud-1)" jcheck "$WORK/events.json" \
  "any(m.get('clientId') == 'loud-1' and m['eventType'] == 'Publish-In' for m in d)"
check "  ... while NoPutRole was the logging role, nothing was (muted-1)" jcheck "$WORK/events.json" \
  "not any(m.get('clientId') == 'muted-1' for m in d)"

echo "identity: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
