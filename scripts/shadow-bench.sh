#!/usr/bin/env bash
# Device Shadow benchmark (issue "Device Shadow service over MQTT and HTTP"): starts the release
# `thingwatch` on free loopback ports with every event logged at INFO, then runs
# `shadow_mqtt_bench` (1,000 MQTT clients, one classic shadow each, one update in flight per
# client) RUNS times and prints updates/s and update → delta latency, median [min–max].
#
# Usage: bash scripts/shadow-bench.sh   (env: CLIENTS=1000 DURATION=10 RUNS=3 RATE=20 LEVEL=INFO)
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-1000} DURATION=${DURATION:-10} RUNS=${RUNS:-3} RATE=${RATE:-20} LEVEL=${LEVEL:-INFO}
cargo build --release -q -p thingwatch -p thingwatch-shadow --example shadow_mqtt_bench
WORK=$(mktemp -d)
PIDS=()
# shellcheck source=lib/procs.sh
. scripts/lib/procs.sh
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
OUT="$WORK/results.jsonl"
for run in $(seq "$RUNS"); do
  MQTT=$(free_port) MQTTS=$(free_port) HTTP=$(free_port)
  target/release/thingwatch serve --data-dir "$WORK/data-$run" --mqtt-listen "127.0.0.1:$MQTT" --mqtts-listen "127.0.0.1:$MQTTS" \
    --http-listen "127.0.0.1:$HTTP" --default-log-level "$LEVEL" >"$WORK/server-$run.log" 2>&1 &
  PID=$!; PIDS+=("$PID")
  for _ in $(seq 100); do grep -q "HTTP listening" "$WORK/server-$run.log" && break; sleep 0.1; done
  timeout 300 target/release/examples/shadow_mqtt_bench "$MQTT" "$CLIENTS" "$DURATION" "$RATE" | tee -a "$OUT"
  stop_pid "$PID"
done
python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def m(k):
    xs = [r[k] for r in rows]
    return f"{statistics.median(xs):,.0f} [{min(xs):,.0f}–{max(xs):,.0f}]"
print(f"clients {rows[0]['clients']}, {len(rows)} runs of {rows[0]['seconds']:.0f} s, pacing ≤ {rows[0]['max_rate_per_client']} updates/s per client")
print(f"| updates/s | p50 µs | p99 µs | p99.9 µs | rejected | errors |")
print(f"|---|---|---|---|---|---|")
print(f"| {m('updates_per_s')} | {m('p50_us')} | {m('p99_us')} | {m('p999_us')} | {sum(r['rejected'] for r in rows)} | {sum(r['errors'] for r in rows)} |")
PY
