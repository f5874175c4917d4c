#!/usr/bin/env bash
# The Prometheus scenario of issue 12 against the release binary: `thingwatch serve
# --metrics-open` on loopback, N messages published with mosquitto_pub, `GET /metrics`
# checked by `promtool check metrics`, then a real Prometheus (loopback, ephemeral port, 1 s
# scrape interval) scraping the server until its query API returns the publish count; then
# the authenticated server: unsigned scrapes refused, Prometheus with `basic_auth` (the root
# access key) served.
#
# Usage: bash scripts/prometheus.sh            (uses target/release/thingwatch)
#        THINGWATCH_BIN=path N=50 bash scripts/prometheus.sh
# Needs: curl, python3, mosquitto_pub (Debian mosquitto-clients) and prometheus/promtool
# (Debian prometheus); the Debian packages are installed if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

TW_BIN=${THINGWATCH_BIN:-target/release/thingwatch}
[ -x "$TW_BIN" ] || { echo "prometheus: $TW_BIN not built (cargo build --release)"; exit 1; }
N=${N:-20}
WORK=$(mktemp -d)
PIDS=()
log() { echo "prometheus: $*" >&2; }
source scripts/lib/procs.sh
source scripts/lib/brokers.sh

PASS=0
FAIL=0
ok()   { PASS=$((PASS+1)); echo "  ok   $*"; }
bad()  { FAIL=$((FAIL+1)); echo "  FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

need_packages() { # need_packages CMD:PACKAGE...: installs the Debian packages of missing commands
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    log "installing the Debian packages ${missing[*]}"
    local sudo=""
    [[ "$(id -u)" == 0 ]] || sudo="sudo"
    # No recommends: node-exporter & co. are not needed, and no service is started here.
    $sudo apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null ||
        { log "could not install ${missing[*]}"; return 1; }
}
need_packages mosquitto_pub:mosquitto-clients promtool:prometheus prometheus:prometheus curl:curl

echo "== 1. thingwatch serve --metrics-open"
start_thingwatch INFO --metrics-open
HTTP="http://127.0.0.1:$BROKER_HTTP_PORT"
wait_port "$BROKER_HTTP_PORT" "$BROKER_PID" "thingwatch HTTP"
SERIES='aws_iot_publish_in_success_total{metric_name="PublishIn.Success",protocol="MQTT"}'
publish_count() { # the PublishIn.Success MQTT sample of one scrape
    curl -fsS "$HTTP/metrics" | awk -v s="$SERIES" '$1 == s { print $2 }'
}
check "GET /metrics answers OpenMetrics text" bash -c \
    "curl -fsS -o /dev/null -w '%{content_type}' '$HTTP/metrics' | grep -qx 'application/openmetrics-text; version=1.0.0; charset=utf-8'"
check "the MQTT publish counter is there at 0 before any message" test "$(publish_count)" = 0

echo "== 2. $N messages with mosquitto_pub"
for i in $(seq 1 "$N"); do
    mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -V mqttv311 -i prom-device -q 1 -t dt/prom/temp -m "{\"i\":$i}"
done
got=""
for _ in $(seq 1 100); do
    got=$(publish_count)
    [ "$got" = "$N" ] && break
    sleep 0.1
done
check "GET /metrics counts $N MQTT publishes (got $got)" test "$got" = "$N"

echo "== 3. promtool check metrics"
curl -fsS "$HTTP/metrics" >"$WORK/metrics.txt"
# promtool exits 1 on a parse error and 3 on lint problems. promtool 2.42 (Debian 12) lints
# with the classic text-format rules, where a counter's HELP names the sample (`x_total`);
# OpenMetrics names the family (`x`), so each counter family gets "x_total no help text".
# That note, for a family whose `# HELP x` is in the scrape, is the only one accepted.
rc=0
promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1 || rc=$?
check "promtool parses the scrape (exit $rc: 0 clean, 3 lint notes)" test "$rc" = 0 -o "$rc" = 3
check "promtool's only lint notes are the classic-format HELP of OpenMetrics counters" \
    python3 - "$WORK/metrics.txt" "$WORK/promtool.out" <<'PY'
import re, sys
metrics = open(sys.argv[1]).read()
helps = set(re.findall(r"^# HELP (\S+) ", metrics, re.M))
types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", metrics, re.M))
for line in open(sys.argv[2]).read().splitlines():
    m = re.fullmatch(r"(\S+)_total no help text", line)
    assert m and m.group(1) in helps and types.get(m.group(1)) == "counter", f"promtool: {line}"
PY
check "the scrape ends with # EOF" bash -c "tail -n 1 '$WORK/metrics.txt' | grep -qx '# EOF'"

echo "== 4. a real Prometheus scrapes the server every second"
start_prometheus() { # start_prometheus [AUTH_YAML_LINE...]: PROM_PORT, PROM_PID; scrapes the broker
    PROM_PORT=$(free_port)
    local dir="$WORK/prom-$PROM_PORT" line
    mkdir -p "$dir"
    {
        printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n'
        printf '  - job_name: thingwatch\n    metrics_path: /metrics\n'
        for line in "$@"; do printf '    %s\n' "$line"; done
        printf '    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' "$BROKER_HTTP_PORT"
    } >"$dir/prometheus.yml"
    promtool check config "$dir/prometheus.yml" >/dev/null
    prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
        --web.listen-address="127.0.0.1:$PROM_PORT" >"$dir/prometheus.log" 2>&1 &
    PROM_PID=$!
    PIDS+=("$PROM_PID")
    wait_port "$PROM_PORT" "$PROM_PID" prometheus || { tail -20 "$dir/prometheus.log"; exit 1; }
}
start_prometheus
query() { # query PROMQL: the first result's value, or "" (none yet)
    curl -fsS -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
wait_query() { # wait_query PROMQL WANT: polls (up to 30 s) until the value is WANT; prints the last value
    local got="" _
    for _ in $(seq 1 300); do
        got=$(query "$1" || true)
        [ "$got" = "$2" ] && break
        sleep 0.1
    done
    echo "$got"
}
PROMQL='aws_iot_publish_in_success_total{job="thingwatch",protocol="MQTT"}'
got=$(wait_query "$PROMQL" "$N")
check "Prometheus's query API returns the publish count $N (got '$got')" test "$got" = "$N"
check "the scrape target is up" test "$(query 'up{job="thingwatch"}')" = 1
rss=$(query 'process_resident_memory_bytes{job="thingwatch"}')
check "process metrics are scraped (resident memory $rss bytes)" test -n "$rss"

echo "== 5. without --metrics-open an unsigned scrape is refused"
stop_broker
start_thingwatch INFO
wait_port "$BROKER_HTTP_PORT" "$BROKER_PID" "thingwatch HTTP"
status=$(curl -s -o "$WORK/refused.json" -w '%{http_code}' "http://127.0.0.1:$BROKER_HTTP_PORT/metrics")
check "unsigned GET /metrics is 403 (got $status)" test "$status" = 403
check "the refusal says how to open it" grep -q -- '--metrics-open' "$WORK/refused.json"

echo "== 6. Prometheus with basic_auth (the root access key) scrapes the authenticated server"
stop_pid "$PROM_PID"
read -r KEY_ID SECRET < <(python3 - "$BROKER_DATA/credentials" <<'PY'
import configparser, sys
c = configparser.ConfigParser()
c.read(sys.argv[1])
s = c[c.sections()[0]]
print(s["aws_access_key_id"], s["aws_secret_access_key"])
PY
)
start_prometheus "basic_auth:" "  username: $KEY_ID" "  password: $SECRET"
for i in 1 2 3; do
    mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -V mqttv311 -i prom-auth -q 1 -t dt/prom/temp -m "{\"i\":$i}"
done
check "the authenticated scrape target is up" test "$(wait_query 'up{job="thingwatch"}' 1)" = 1
got=$(wait_query "$PROMQL" 3)
check "Prometheus's query API returns the 3 publishes (got '$got')" test "$got" = 3
status=$(curl -s -o /dev/null -w '%{http_code}' -u "$KEY_ID:wrong-secret" "http://127.0.0.1:$BROKER_HTTP_PORT/metrics")
check "a wrong secret is refused with 403 (got $status)" test "$status" = 403

echo "prometheus: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
