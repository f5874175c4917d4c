#!/usr/bin/env bash
# SNS scenario (issue #12, the notification half): the real AWS CLI against the binary, with a
# tiny python3 http.server webhook receiver on loopback. create-topic → subscribe (http) → the
# receiver gets a SubscriptionConfirmation → it follows SubscribeURL (no signature) →
# list-subscriptions-by-topic shows the confirmed ARN → publish → the receiver gets the
# Notification (AWS's JSON, signed; SigningCertURL served) → unsubscribe → delete-topic.
# Fails (non-zero) on any mismatch.
#
# Usage: bash scripts/sns.sh   (THINGWATCH_BIN overrides target/release/thingwatch)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${THINGWATCH_BIN:-target/release/thingwatch}
[ -x "$BIN" ] || { echo "sns: $BIN not built (cargo build --release)"; exit 1; }
command -v aws >/dev/null || { echo "sns: the AWS CLI is needed (pip install awscli)"; exit 1; }
WORK=$(mktemp -d)
PIDS=()
# shellcheck source=lib/procs.sh
source scripts/lib/procs.sh

PASS=0
FAIL=0
ok()   { PASS=$((PASS+1)); echo "  ok   $*"; }
bad()  { FAIL=$((FAIL+1)); echo "  FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
wait_for() { # wait_for FILE PATTERN: up to 10 s for PATTERN in FILE
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

MQTT_PORT=$(free_port); MQTTS_PORT=$(free_port); HTTP_PORT=$(free_port); HOOK_PORT=$(free_port)
DATA="$WORK/data"
"$BIN" serve --data-dir "$DATA" --mqtt-listen "127.0.0.1:$MQTT_PORT" --mqtts-listen "127.0.0.1:$MQTTS_PORT" \
  --http-listen "127.0.0.1:$HTTP_PORT" >"$WORK/server.out" 2>"$WORK/server.err" &
PIDS+=($!)
wait_for "$WORK/server.out" "HTTP listening on" || { cat "$WORK/server.err"; echo "server did not start"; exit 1; }

# The webhook receiver (scripts/lib/webhook.py): every POST body, one JSON document per line.
python3 scripts/lib/webhook.py "$HOOK_PORT" "$WORK/hook.jsonl" &
PIDS+=($!)
HOOK="http://127.0.0.1:$HOOK_PORT/hook"

export AWS_SHARED_CREDENTIALS_FILE="$DATA/credentials" AWS_CONFIG_FILE="$DATA/config"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE || true
export AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
EP=(--endpoint-url "http://127.0.0.1:$HTTP_PORT")
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $HOOK_PORT))" 2>/dev/null && break; sleep 0.1; done

echo "== topic"
TOPIC=$(aws "${EP[@]}" sns create-topic --name alarms --query TopicArn --output text)
check "create-topic answers the ARN" test "$TOPIC" = "$(aws "${EP[@]}" sts get-caller-identity --query Account --output text | sed 's/^/arn:aws:sns:us-east-1:/;s/$/:alarms/')"
check "list-topics shows it" bash -c "aws ${EP[*]} sns list-topics --query 'Topics[].TopicArn' --output text | grep -qx '$TOPIC'"
check "a .fifo name is refused" bash -c "! aws ${EP[*]} sns create-topic --name t.fifo 2>$WORK/fifo.err && grep -q InvalidParameter $WORK/fifo.err"

echo "== subscription handshake"
SUB=$(aws "${EP[@]}" sns subscribe --topic-arn "$TOPIC" --protocol http --notification-endpoint "$HOOK" --query SubscriptionArn --output text)
check "subscribe answers 'pending confirmation'" test "$SUB" = "pending confirmation"
check "the receiver gets a SubscriptionConfirmation" wait_for "$WORK/hook.jsonl" '"Type": "SubscriptionConfirmation"'
URL=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1])][0]["SubscribeURL"])' "$WORK/hook.jsonl")
check "SubscribeURL confirms without a signature" bash -c "curl -sf '$URL' | grep -q '<SubscriptionArn>$TOPIC:'"
ARN=$(aws "${EP[@]}" sns list-subscriptions-by-topic --topic-arn "$TOPIC" --query 'Subscriptions[0].SubscriptionArn' --output text)
check "list-subscriptions-by-topic shows the confirmed ARN" bash -c "[[ '$ARN' == '$TOPIC':* ]]"

echo "== publish"
MID=$(aws "${EP[@]}" sns publish --topic-arn "$TOPIC" --subject "ALARM: test" --message '{"NewStateValue":"ALARM"}' --query MessageId --output text)
check "the receiver gets the Notification" wait_for "$WORK/hook.jsonl" "\"MessageId\": \"$MID\""
check "Notification JSON as AWS writes it" python3 - "$WORK/hook.jsonl" "$MID" "$TOPIC" <<'PY'
import json, sys
n = [json.loads(l) for l in open(sys.argv[1]) if sys.argv[2] in l][0]
assert n["Type"] == "Notification" == n["_header_type"], n
assert n["TopicArn"] == sys.argv[3] and n["Subject"] == "ALARM: test", n
assert json.loads(n["Message"]) == {"NewStateValue": "ALARM"}, n
for k in ("Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"):
    assert n.get(k), k
PY
CERT=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1]["SigningCertURL"])' "$WORK/hook.jsonl")
check "SigningCertURL serves a PEM certificate" bash -c "curl -sf '$CERT' | openssl x509 -noout"
if command -v openssl >/dev/null; then
  check "the Notification's signature verifies (SHA256withRSA, SignatureVersion 2)" python3 - "$WORK/hook.jsonl" "$MID" "$CERT" "$WORK" <<'PY'
import base64, json, subprocess, sys, urllib.request
n = [json.loads(l) for l in open(sys.argv[1]) if sys.argv[2] in l][0]
work = sys.argv[4]
open(f"{work}/cert.pem", "wb").write(urllib.request.urlopen(sys.argv[3]).read())
subprocess.run(["openssl", "x509", "-in", f"{work}/cert.pem", "-pubkey", "-noout", "-out", f"{work}/pub.pem"], check=True)
keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
canonical = "".join(f"{k}\n{n[k]}\n" for k in keys if k in n)
open(f"{work}/canon", "w").write(canonical)
open(f"{work}/sig", "wb").write(base64.b64decode(n["Signature"]))
subprocess.run(["openssl", "dgst", "-sha256", "-verify", f"{work}/pub.pem", "-signature", f"{work}/sig", f"{work}/canon"], check=True, capture_output=True)
PY
fi

echo "== errors"
check "publish to an unknown topic is NotFound" bash -c "! aws ${EP[*]} sns publish --topic-arn '${TOPIC}x' --message m 2>$WORK/nf.err && grep -q NotFound $WORK/nf.err"

echo "== unsubscribe"
check "unsubscribe" aws "${EP[@]}" sns unsubscribe --subscription-arn "$ARN"
check "the receiver gets an UnsubscribeConfirmation" wait_for "$WORK/hook.jsonl" '"Type": "UnsubscribeConfirmation"'
check "delete-topic" aws "${EP[@]}" sns delete-topic --topic-arn "$TOPIC"
check "list-topics is empty" test -z "$(aws "${EP[@]}" sns list-topics --query 'Topics[].TopicArn' --output text)"

echo "sns: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
