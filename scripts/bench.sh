#!/usr/bin/env bash
# Thingwatch benchmark harness, the one command of issue #6: builds release binaries, starts
# Mosquitto 2 and Thingwatch (fresh data dir, once per log level DISABLED / INFO / DEBUG) on free
# loopback ports, and in one run measures
#   1. throughput: QoS 0 and 1, 64 B and 1 KiB payloads, one-to-one / fan-in / fan-out;
#   2. publish→deliver latency p50/p99/p99.9 at 50 % of each broker's measured throughput
#      (same broker, scenario, payload and QoS);
#   3. nothing lost: every event Thingwatch at INFO logged for one QoS 1 run, counted in its log
#      store over the CloudWatch Logs API, against what the generator sent and received;
#   4. idle connections: RSS per connection, Mosquitto and Thingwatch (scripts/bench-idle.sh);
#   5. the log store at 1M events (10M with BENCH_LOGSTORE_10M=1): ingest, size on disk,
#      FilterLogEvents beside grep -c and jq (engine_bench example of thingwatch-logstore);
# then prints a markdown report and appends it to BENCHMARKS.md. The full run takes about an
# hour on 2 cores (broker runs ~46 min, log store ~9 min); --quick (about 5 minutes) runs every
# stage once, briefly.
#
# Usage: scripts/bench.sh [--quick] [--mosquitto-only] [--no-append] [--no-build]
#                         [--no-latency] [--no-count] [--no-idle] [--no-logstore]
#   --quick           BENCH_RUNS=1, 2 s runs, one-to-one 64 B only, 2,000 idle connections,
#                     200,000 log store events (each still overridable by its variable)
#   --mosquitto-only  benchmark Mosquitto only (for when the thingwatch package does not build)
#   --no-append       print the report but do not append it to BENCHMARKS.md
#   --no-build        use the existing target/release binaries
#   --no-latency / --no-count / --no-idle / --no-logstore   skip that stage
#
# Environment (defaults in brackets; --quick changes some):
#   BENCH_DURATION [5]       measured seconds per run
#   BENCH_WARMUP [2]         warm-up seconds per run
#   BENCH_RUNS [3]           runs per (broker, scenario); the report gives median/min/max
#   BENCH_SCENARIOS ["one-to-one fan-in fan-out"] generator scenarios
#   BENCH_PAIRS [10]         pairs (one-to-one) or publishers (fan-in, to 1 wildcard subscriber)
#   BENCH_FANOUT_SUBS [100]  subscribers of the single fan-out publisher
#   BENCH_PAYLOADS ["64 1024"] payload sizes in bytes (BENCH_PAYLOAD, one size, is still accepted)
#   BENCH_WINDOW [100]       end-to-end window per publisher/subscriber link (see thingwatch-bench)
#   BENCH_QOS ["0 1"]        QoS levels to run
#   BENCH_LATENCY_RATE [auto] publishes/s of the latency runs: "auto" = BENCH_LATENCY_FRACTION of
#                            the same broker/scenario/payload/QoS throughput median (fan-out:
#                            divided by the subscribers); a number = that fixed rate; 0 = skip
#   BENCH_LATENCY_FRACTION [0.5] share of the measured maximum for "auto"
#   BENCH_LEVELS ["DISABLED INFO DEBUG"] Thingwatch default log levels to benchmark
#   BENCH_COUNT_DURATION [3] measured seconds of the nothing-lost run (QoS 1, one-to-one, 64 B)
#   BENCH_IDLE_CONNECTIONS [50000], BENCH_IDLE_RUNS [BENCH_RUNS], … see scripts/bench-idle.sh
#   BENCH_LOGSTORE_ARGS [""] engine_bench arguments (e.g. "--sizes 1000000 --runs 3")
#   BENCH_LOGSTORE_10M [unset] 1 = also 10,000,000 events (adds about 8 minutes)
#   BENCH_LOGSTORE_TIMEOUT [1800] seconds before the log store benchmark is stopped
#   BENCH_OUT [<repo>/BENCHMARKS.md] report file to append to
#
# Everything binds 127.0.0.1. Every process this script starts is killed on exit (trap), and
# every generator run is bounded by `timeout`. Rounds are interleaved (round r runs every
# broker once) so background load on a shared machine spreads over all brokers alike.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
COMMAND_LINE="$(for v in BENCH_DURATION BENCH_WARMUP BENCH_RUNS BENCH_SCENARIOS BENCH_PAIRS BENCH_FANOUT_SUBS BENCH_PAYLOADS BENCH_PAYLOAD BENCH_WINDOW BENCH_QOS BENCH_LATENCY_RATE BENCH_LATENCY_FRACTION BENCH_LEVELS BENCH_COUNT_DURATION BENCH_IDLE_CONNECTIONS BENCH_IDLE_RUNS BENCH_LOGSTORE_ARGS BENCH_LOGSTORE_10M; do
    if [[ -n "${!v+x}" ]]; then printf '%s=%q ' "$v" "${!v}"; fi
done)scripts/bench.sh $*"

MOSQUITTO_ONLY=0 APPEND=1 BUILD=1 LOGSTORE=1 IDLE=1 COUNT=1 LATENCY=1 QUICK=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        --mosquitto-only) MOSQUITTO_ONLY=1 ;;
        --no-append) APPEND=0 ;;
        --no-build) BUILD=0 ;;
        --no-logstore) LOGSTORE=0 ;;
        --no-idle) IDLE=0 ;;
        --no-count) COUNT=0 ;;
        --no-latency) LATENCY=0 ;;
        -h|--help) sed -n '2,52p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown argument $arg (try --help)" >&2; exit 64 ;;
    esac
done

if [[ "$QUICK" == 1 ]]; then
    : "${BENCH_DURATION:=2}" "${BENCH_WARMUP:=1}" "${BENCH_RUNS:=1}" "${BENCH_SCENARIOS:=one-to-one}"
    : "${BENCH_PAYLOADS:=64}" "${BENCH_COUNT_DURATION:=1}" "${BENCH_IDLE_CONNECTIONS:=2000}"
    : "${BENCH_IDLE_HOLD:=1}" "${BENCH_IDLE_SETTLE:=1}" "${BENCH_LOGSTORE_ARGS:=--sizes 200000 --runs 1}"
fi
export BENCH_IDLE_CONNECTIONS BENCH_IDLE_HOLD BENCH_IDLE_SETTLE
DURATION="${BENCH_DURATION:-5}"
WARMUP="${BENCH_WARMUP:-2}"
RUNS="${BENCH_RUNS:-3}"
SCENARIOS="${BENCH_SCENARIOS:-one-to-one fan-in fan-out}"
PAIRS="${BENCH_PAIRS:-10}"
FANOUT_SUBS="${BENCH_FANOUT_SUBS:-100}"
PAYLOADS="${BENCH_PAYLOADS:-${BENCH_PAYLOAD:-64 1024}}"
WINDOW="${BENCH_WINDOW:-100}"
QOS_LEVELS="${BENCH_QOS:-0 1}"
LATENCY_RATE="${BENCH_LATENCY_RATE:-auto}"
LATENCY_FRACTION="${BENCH_LATENCY_FRACTION:-0.5}"
LEVELS="${BENCH_LEVELS:-DISABLED INFO DEBUG}"
COUNT_DURATION="${BENCH_COUNT_DURATION:-3}"
OUT="${BENCH_OUT:-$REPO/BENCHMARKS.md}"
LOGSTORE_ARGS="${BENCH_LOGSTORE_ARGS:-}"
LOGSTORE_TIMEOUT="${BENCH_LOGSTORE_TIMEOUT:-1800}"
export BENCH_IDLE_RUNS="${BENCH_IDLE_RUNS:-$RUNS}"
[[ "$LATENCY_RATE" == 0 ]] && LATENCY=0
[[ "$LATENCY_RATE" == auto || "$LATENCY_RATE" =~ ^[0-9]+$ ]] || { echo "BENCH_LATENCY_RATE must be auto or a number" >&2; exit 64; }
# A generator run may take warm-up + duration + setup (<=10 s) + drain (<=2 s) + disconnects.
RUN_TIMEOUT="$(python3 -c "import math; print(math.ceil($WARMUP + max($DURATION, $COUNT_DURATION) + 30))")"

BENCH_BIN="$REPO/target/release/thingwatch-bench"
TW_BIN="$REPO/target/release/thingwatch"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }
for scenario in $SCENARIOS; do
    case "$scenario" in
        one-to-one|fan-in|fan-out) ;;
        *) die "unknown scenario $scenario in BENCH_SCENARIOS (one-to-one, fan-in, fan-out)" ;;
    esac
done
for payload in $PAYLOADS; do
    [[ "$payload" =~ ^[0-9]+$ ]] || die "payload size $payload in BENCH_PAYLOADS is not a number"
done
[[ -n "${SCENARIOS// }" && -n "${PAYLOADS// }" ]] || die "BENCH_SCENARIOS and BENCH_PAYLOADS must not be empty"

# ---------------------------------------------------------------------------------------------
# Process bookkeeping: every PID started here is killed (by PID) on exit.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/twbench.XXXXXX")"
PIDS=()
# shellcheck source=lib/procs.sh
. "$REPO/scripts/lib/procs.sh"
# shellcheck source=lib/brokers.sh
. "$REPO/scripts/lib/brokers.sh"

# ---------------------------------------------------------------------------------------------
# Build and prerequisites.
if [[ "$BUILD" == 1 ]]; then
    if [[ "$MOSQUITTO_ONLY" == 1 ]]; then
        log "building thingwatch-bench (release)"
        cargo build --release -p thingwatch-bench
    else
        log "building thingwatch and thingwatch-bench (release)"
        cargo build --release -p thingwatch -p thingwatch-bench ||
            die "release build failed; use --mosquitto-only to benchmark Mosquitto alone"
    fi
fi
for tool in python3 jq timeout cargo git; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
[[ -x "$BENCH_BIN" ]] || die "$BENCH_BIN missing (drop --no-build)"
[[ "$MOSQUITTO_ONLY" == 1 || -x "$TW_BIN" ]] || die "$TW_BIN missing (drop --no-build, or --mosquitto-only)"
find_mosquitto || die "mosquitto is required"
MOSQUITTO_VERSION="$("$MOSQUITTO" -h 2>/dev/null | head -1 || true)"

# ---------------------------------------------------------------------------------------------
# Runs.
RESULTS_DIR="$REPO/target/bench"
mkdir -p "$RESULTS_DIR"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RESULTS="$RESULTS_DIR/results-$STAMP.jsonl"
: >"$RESULTS"

scenario_n() { # scenario_n SCENARIO: the generator's --pairs for it
    if [[ "$1" == fan-out ]]; then echo "$FANOUT_SUBS"; else echo "$PAIRS"; fi
}

failed_row() { # failed_row LABEL MODE QOS SCENARIO PAYLOAD REASON: a JSON line for a failed run
    jq -cn --arg l "$1" --arg m "$2" --argjson q "$3" --arg s "$4" --argjson p "$5" --arg r "$6" \
        '{tool:"thingwatch-bench",label:$l,mode:$m,qos:$q,scenario:$s,payload_bytes:$p,failed:true,reason:$r}'
}

latency_rate() { # latency_rate LABEL QOS SCENARIO PAYLOAD: publishes/s for the latency run (0: none)
    if [[ "$LATENCY_RATE" != auto ]]; then echo "$LATENCY_RATE"; return; fi
    python3 - "$RESULTS" "$1" "$2" "$3" "$4" "$LATENCY_FRACTION" "$FANOUT_SUBS" <<'PY'
import json, statistics, sys
path, label, qos, scenario, payload, fraction, subs = sys.argv[1:]
xs = []
for line in open(path):
    r = json.loads(line)
    if (r.get("mode") == "throughput" and not r.get("failed") and r["label"] == label
            and r["qos"] == int(qos) and r.get("scenario", "one-to-one") == scenario
            and r.get("payload_bytes") == int(payload)):
        xs.append(r["delivered_per_s"])
per_publish = int(subs) if scenario == "fan-out" else 1
print(max(1, round(statistics.median(xs) * float(fraction) / per_publish)) if xs else 0)
PY
}

run_generator() { # run_generator LABEL MODE QOS SCENARIO PAYLOAD [RATE]
    local label="$1" mode="$2" qos="$3" scenario="$4" payload="$5" rate="${6:-}" rc=0 line
    local args=(--host 127.0.0.1 --port "$BROKER_PORT" --label "$label" --scenario "$scenario"
        --pairs "$(scenario_n "$scenario")" --qos "$qos" --payload "$payload"
        --duration "$DURATION" --warmup "$WARMUP"
        --window "$WINDOW" --broker-pid "$BROKER_PID")
    if [[ "$mode" == latency ]]; then args+=(--rate "$rate"); fi
    line="$(timeout --kill-after=5 "$RUN_TIMEOUT" "$BENCH_BIN" "$mode" "${args[@]}" 2>"$WORK/gen.err")" || rc=$?
    cat "$WORK/gen.err" >&2
    if [[ -n "$line" ]]; then
        printf '%s\n' "$line" >>"$RESULTS"
    else
        log "run failed (exit $rc): $label $mode $scenario ${payload}B qos$qos"
        failed_row "$label" "$mode" "$qos" "$scenario" "$payload" \
            "generator exit $rc: $(tail -1 "$WORK/gen.err")" >>"$RESULTS"
    fi
}

run_scenarios() { # run_scenarios LABEL MODE
    local label="$1" mode="$2" scenario payload qos rate
    for scenario in $SCENARIOS; do
        for payload in $PAYLOADS; do
            for qos in $QOS_LEVELS; do
                if [[ "$mode" == latency ]]; then
                    rate="$(latency_rate "$label" "$qos" "$scenario" "$payload")"
                    if [[ "$rate" == 0 ]]; then
                        failed_row "$label" latency "$qos" "$scenario" "$payload" \
                            "no throughput measurement to derive the rate from" >>"$RESULTS"
                        continue
                    fi
                    log "latency $label $scenario ${payload}B qos$qos at $rate publishes/s"
                    run_generator "$label" latency "$qos" "$scenario" "$payload" "$rate"
                else
                    run_generator "$label" throughput "$qos" "$scenario" "$payload"
                fi
            done
        done
    done
}

record_start_failure() { # record_start_failure LABEL MODE LOGFILE: every scenario of LABEL failed
    local label="$1" mode="$2" reason scenario payload qos
    reason="$(grep -v '^\s*$' "$3" 2>/dev/null | tail -1 | cut -c1-300 || true)"
    log "$label did not start: $reason"
    for scenario in $SCENARIOS; do
        for payload in $PAYLOADS; do
            for qos in $QOS_LEVELS; do
                failed_row "$label" "$mode" "$qos" "$scenario" "$payload" \
                    "broker did not start: $reason" >>"$RESULTS"
            done
        done
    done
}

start_target() { # start_target TARGET: starts mosquitto or thingwatch-LEVEL
    case "$1" in
        mosquitto) start_mosquitto ;;
        thingwatch-*) start_thingwatch "${1#thingwatch-}" ;;
    esac
}

TARGETS=(mosquitto)
[[ "$MOSQUITTO_ONLY" == 1 ]] || for level in $LEVELS; do TARGETS+=("thingwatch-$level"); done
MODES=(throughput)
[[ "$LATENCY" == 1 ]] && MODES+=(latency)
N_SCEN=$(( $(wc -w <<<"$SCENARIOS") * $(wc -w <<<"$PAYLOADS") * $(wc -w <<<"$QOS_LEVELS") * ${#MODES[@]} ))
log "targets: ${TARGETS[*]}; $RUNS rounds x $N_SCEN runs each; about $(python3 -c "print(round($RUNS*${#TARGETS[@]}*$N_SCEN*($WARMUP+$DURATION+1.5)/60,1))") min for the broker runs"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# Throughput first (every round), then latency, so "auto" latency rates use the median of every
# throughput round of the same broker/scenario/payload/QoS.
for mode in "${MODES[@]}"; do
    for round in $(seq "$RUNS"); do
        for target in "${TARGETS[@]}"; do
            log "$mode round $round/$RUNS: $target"
            if start_target "$target"; then
                run_scenarios "$target" "$mode"
            else
                log_file="$WORK/mosquitto.log"
                [[ "$target" == mosquitto ]] || log_file="$WORK/$target.log"
                record_start_failure "$target" "$mode" "$log_file"
            fi
            stop_broker
        done
    done
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------------------------
# Nothing lost: one QoS 1 one-to-one run against Thingwatch at INFO, then every event in its log
# store counted by eventType over FilterLogEvents (SigV4, the server's root credentials) and
# compared with what the generator's whole-run totals say the broker must have logged.
COUNT_OUT="$WORK/count.json"
COUNT_STATUS="not run (--no-count)"
count_events() { # count_events: prints {"counts":{eventType:n}, "total":n} for AWSIotLogsV2
    CREDENTIALS="$BROKER_DATA/credentials" ENDPOINT="http://127.0.0.1:$BROKER_HTTP_PORT" python3 - <<'PY'
import configparser, json, os
import botocore.session
from botocore.config import Config
env = os.environ
creds = configparser.ConfigParser()
creds.read(env["CREDENTIALS"])
logs = botocore.session.get_session().create_client(
    "logs", endpoint_url=env["ENDPOINT"], region_name="us-east-1",
    aws_access_key_id=creds["default"]["aws_access_key_id"],
    aws_secret_access_key=creds["default"]["aws_secret_access_key"],
    config=Config(retries={"max_attempts": 2}))
counts, total = {}, 0
for page in logs.get_paginator("filter_log_events").paginate(logGroupName="AWSIotLogsV2"):
    for e in page["events"]:
        kind = json.loads(e["message"]).get("eventType", "?")
        counts[kind] = counts.get(kind, 0) + 1
        total += 1
print(json.dumps({"counts": counts, "total": total}))
PY
}
if [[ "$COUNT" == 1 && "$MOSQUITTO_ONLY" == 0 ]]; then
    COUNT_STATUS="failed"
    if ! python3 -c 'import botocore' 2>/dev/null; then
        COUNT_STATUS="not run (python3 botocore missing; it comes with the AWS CLI)"
    elif start_thingwatch INFO; then
        log "nothing-lost run: thingwatch-INFO, one-to-one QoS 1 64 B, ${COUNT_DURATION} s"
        count_line="$(timeout --kill-after=5 "$RUN_TIMEOUT" "$BENCH_BIN" throughput --port "$BROKER_PORT" \
            --label thingwatch-INFO --scenario one-to-one --pairs "$PAIRS" --qos 1 --payload 64 \
            --duration "$COUNT_DURATION" --warmup 1 --window "$WINDOW" --broker-pid "$BROKER_PID" \
            2>"$WORK/gen.err")" || true
        cat "$WORK/gen.err" >&2
        if [[ -n "$count_line" ]]; then
            # The pipeline batches; poll until two readings 2 s apart agree (at most ~60 s).
            prev="" cur=""
            for _ in $(seq 30); do
                sleep 2
                cur="$(count_events 2>"$WORK/count.err")" || { log "count failed: $(tail -2 "$WORK/count.err")"; cur=""; break; }
                [[ "$cur" == "$prev" ]] && break
                prev="$cur"
            done
            if [[ -n "$cur" ]]; then
                jq -cn --argjson run "$count_line" --argjson store "$cur" '{run:$run, store:$store}' >"$COUNT_OUT"
                COUNT_STATUS="ok"
            fi
        fi
        stop_broker
    fi
fi

# ---------------------------------------------------------------------------------------------
# Idle connections (scripts/bench-idle.sh).
IDLE_OUT="$WORK/idle.md"
IDLE_STATUS="not run (--no-idle)"
if [[ "$IDLE" == 1 && "$MOSQUITTO_ONLY" == 0 ]]; then
    log "idle connections: scripts/bench-idle.sh"
    if "$REPO/scripts/bench-idle.sh" --no-build --markdown "$IDLE_OUT" >/dev/null; then
        IDLE_STATUS="ok"
    else
        IDLE_STATUS="failed (exit $?)"
    fi
fi

# ---------------------------------------------------------------------------------------------
# Log store: ingest, size, FilterLogEvents vs grep -c and jq (thingwatch-logstore engine_bench).
LOGSTORE_OUT="$WORK/logstore.txt"
LOGSTORE_STATUS="not run (--no-logstore)"
if [[ "$LOGSTORE" == 1 ]]; then
    log "log store: cargo run --release -p thingwatch-logstore --example engine_bench -- $LOGSTORE_ARGS"
    # shellcheck disable=SC2086 # LOGSTORE_ARGS is a word list on purpose
    if timeout --kill-after=10 "$LOGSTORE_TIMEOUT" cargo run --quiet --release -p thingwatch-logstore \
        --example engine_bench -- $LOGSTORE_ARGS >"$LOGSTORE_OUT" 2>"$WORK/logstore.err"; then
        LOGSTORE_STATUS="ok"
    else
        LOGSTORE_STATUS="failed (exit $?)"
        tail -20 "$WORK/logstore.err" >>"$LOGSTORE_OUT"
    fi
    cat "$LOGSTORE_OUT" >&2
fi

# ---------------------------------------------------------------------------------------------
# Report.
CPU_MODEL="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"
[[ -n "$CPU_MODEL" ]] || CPU_MODEL="$(uname -m)"
MEM_GIB="$(awk '/^MemTotal:/ {printf "%.1f", $2/1048576}' /proc/meminfo)"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]] || COMMIT="$COMMIT (working tree modified)"

REPORT="$WORK/report.md"
export COUNT_OUT COUNT_STATUS IDLE_OUT IDLE_STATUS LATENCY_FRACTION COUNT_DURATION
export RESULTS REPORT LOGSTORE_OUT LOGSTORE_STATUS COMMAND_LINE COMMIT CPU_MODEL MEM_GIB \
    MOSQUITTO_VERSION LOAD_BEFORE LOAD_AFTER DURATION WARMUP RUNS SCENARIOS PAIRS FANOUT_SUBS PAYLOADS WINDOW LATENCY_RATE LOGSTORE_ARGS
NPROC="$(nproc)" RUSTC="$(rustc --version)" DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
BINARIES_BUILT="$(for b in "$TW_BIN" "$BENCH_BIN"; do
    if [[ -x "$b" ]]; then printf '%s %s; ' "$(basename "$b")" "$(date -u -r "$b" '+%Y-%m-%d %H:%M UTC')"; fi
done)"
BINARIES_BUILT="${BINARIES_BUILT%; }"
export NPROC RUSTC DATE BINARIES_BUILT
python3 - <<'PY'
import json, os, re, statistics
env = os.environ
rows = [json.loads(l) for l in open(env["RESULTS"]) if l.strip()]

RANK = {"mosquitto": 0, "thingwatch-DISABLED": 1, "thingwatch-INFO": 2, "thingwatch-DEBUG": 3}

def order(label):
    return (RANK.get(label, 9), label)

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def fmt(x, digits=0):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"

SCEN_RANK = {s: i for i, s in enumerate(env["SCENARIOS"].split())}

def scen(r):
    return r.get("scenario", "one-to-one")

groups = {}
for r in rows:
    key = (r["mode"], scen(r), r.get("payload_bytes"), r["qos"])
    groups.setdefault(key, {}).setdefault(r["label"], []).append(r)

def keys_for(mode):
    return sorted((k for k in groups if k[0] == mode),
                  key=lambda k: (SCEN_RANK.get(k[1], 9), k[1], k[2] or 0, k[3]))

SHAPE = {
    "one-to-one": f"one-to-one ({env['PAIRS']} publishers → {env['PAIRS']} subscribers on distinct topics)",
    "fan-in": f"fan-in ({env['PAIRS']} publishers → 1 subscriber on a `+` wildcard filter)",
    "fan-out": f"fan-out (1 publisher → {env['FANOUT_SUBS']} subscribers on one topic)",
}

out = []
w = out.append
w(f"## {env['DATE']} — commit {env['COMMIT']}")
w("")
w(f"- Machine: {env['NPROC']} CPUs ({env['CPU_MODEL']}), {env['MEM_GIB']} GiB RAM; load average before/after: {env['LOAD_BEFORE']} / {env['LOAD_AFTER']}")
w(f"- Command: `{env['COMMAND_LINE'].strip()}`")
w(f"- Scenarios: {'; '.join(SHAPE.get(s, s) for s in env['SCENARIOS'].split())}; payloads {', '.join(env['PAYLOADS'].split())} bytes; "
  f"end-to-end window {env['WINDOW']} msgs per publisher/subscriber link, {env['WARMUP']} s warm-up + {env['DURATION']} s measured, {env['RUNS']} runs each (median [min–max])")
w(f"- Software: {env['MOSQUITTO_VERSION'] or 'mosquitto'}; {env['RUSTC']}; generator thingwatch-bench (rumqttc, MQTT 3.1.1); "
  f"binaries built {env['BINARIES_BUILT']}")
w("")

def lines_for(key):
    by_label = groups.get(key, {})
    base = by_label.get("mosquitto", [])
    return by_label, base

w("### Throughput (messages/s delivered to subscribers)")
w("")
w("| Scenario | Payload B | Broker | QoS | delivered msg/s | vs Mosquitto | broker CPU µs/msg | broker CPU cores | generator CPU cores | lost | runs ok |")
w("|---|---|---|---|---|---|---|---|---|---|---|")
for key in keys_for("throughput"):
    _, scenario, payload, qos = key
    by_label, base = lines_for(key)
    base_med = med([r.get("delivered_per_s") for r in base if not r.get("failed")])
    for label in sorted(by_label, key=order):
        rs = by_label[label]
        ok = [r for r in rs if not r.get("failed")]
        clean = [r for r in ok if not r.get("errors") and r.get("lost", 0) == 0]
        d = [r["delivered_per_s"] for r in ok]
        m = med(d)
        ratio = f"{m / base_med:.2f}×" if (m and base_med and label != "mosquitto") else ("1.00×" if label == "mosquitto" and m else "n/a")
        rng = f"{fmt(m)} [{fmt(min(d))}–{fmt(max(d))}]" if d else "failed"
        w(f"| {scenario} | {payload if payload is not None else 'n/a'} | {label} | {qos} | {rng} | {ratio} | {fmt(med([r.get('broker_cpu_us_per_msg') for r in ok]), 1)} | "
          f"{fmt(med([r.get('broker_cpu_cores') for r in ok]), 2)} | {fmt(med([r.get('generator_cpu_cores') for r in ok]), 2)} | "
          f"{sum(r.get('lost', 0) for r in ok)} | {len(clean)}/{len(rs)} |")
w("")

if keys_for("latency"):
    if env["LATENCY_RATE"] == "auto":
        pct_used = f"{float(env['LATENCY_FRACTION']) * 100:g}"
        w(f"### Latency (publish → deliver at {pct_used} % of the same broker's measured throughput, µs)")
    else:
        w(f"### Latency (publish → deliver at {env['LATENCY_RATE']} publishes/s, µs)")
    w("")
    w("| Scenario | Payload B | Broker | QoS | rate, publishes/s | p50 µs | p99 µs | p99.9 µs | p99 vs Mosquitto | delivered msg/s | runs ok |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for key in keys_for("latency"):
        _, scenario, payload, qos = key
        by_label, base = lines_for(key)
        base_p99 = med([(r.get("latency") or {}).get("p99_us") for r in base if not r.get("failed")])
        for label in sorted(by_label, key=order):
            rs = by_label[label]
            ok = [r for r in rs if not r.get("failed") and r.get("latency")]
            clean = [r for r in ok if not r.get("errors") and r.get("lost", 0) == 0]
            def pct(key):
                xs = [r["latency"][key] for r in ok]
                return f"{fmt(med(xs), 1)} [{fmt(min(xs), 1)}–{fmt(max(xs), 1)}]" if xs else "failed"
            p99 = med([r["latency"]["p99_us"] for r in ok])
            ratio = f"{p99 / base_p99:.2f}×" if (p99 and base_p99 and label != "mosquitto") else ("1.00×" if label == "mosquitto" and p99 else "n/a")
            w(f"| {scenario} | {payload if payload is not None else 'n/a'} | {label} | {qos} | {fmt(med([r.get('target_rate_per_s') for r in ok]))} | {pct('p50_us')} | {pct('p99_us')} | {pct('p999_us')} | {ratio} | "
              f"{fmt(med([r['delivered_per_s'] for r in ok]))} | {len(clean)}/{len(rs)} |")
    w("")

w("How to read this: *delivered msg/s* counts PUBLISH packets received by the subscribers during the measured window, with at most "
  f"{env['WINDOW']} messages per publisher/subscriber link in flight end to end (fan-out: the publisher waits for its slowest subscriber) (so it is a sustainable rate, not a buffering rate; QoS 0 and 1 alike). "
  "*vs Mosquitto* is the Thingwatch median divided by the Mosquitto median (higher is better for throughput, lower for latency). "
  "*broker CPU µs/msg* is the broker's user+system CPU time per delivered message (from /proc; less sensitive to other load than msg/s). "
  "*generator CPU cores* is the load generator's own CPU (getrusage) divided by wall time: if it approaches the machine's core count, "
  "the generator, not the broker, is the bottleneck. *lost* = sent − received over whole runs, per link (a fan-out publish counts once per subscriber). Latency runs publish at a fixed rate "
  f"({str(float(env['LATENCY_FRACTION'])) + ' × the median delivered msg/s of the same broker, scenario, payload and QoS above, divided by the subscribers for fan-out' if env['LATENCY_RATE'] == 'auto' else 'given'}); "
  "the timestamp is taken just before the publish is handed to the client, so generator scheduling delay is included; compare *delivered msg/s* with the rate to see that it was kept.")
w("")

failures = sorted({(r["label"], scen(r), r.get("reason", "")) for r in rows if r.get("failed")} |
                  {(r["label"], scen(r), e) for r in rows if not r.get("failed") for e in r.get("errors", [])})
if failures:
    w("### Failures")
    w("")
    for label, scenario, reason in failures:
        w(f"- {label} ({scenario}): {reason}")
    w("")

w("### Nothing lost: events in the log store vs what the generator saw")
w("")
if env["COUNT_STATUS"] == "ok":
    c = json.load(open(env["COUNT_OUT"]))
    run, store = c["run"], c["store"]["counts"]
    conns = run["publishers"] + run["subscribers"]
    expected = {"Connect": conns, "Subscribe": run["subscribers"], "Publish-In": run["published_total"],
                "Publish-Out": run["received_total"], "Disconnect": conns}
    w(f"Thingwatch at INFO, one-to-one {run['pairs']} → {run['pairs']}, QoS 1, 64 B, 1 s warm-up + {env['COUNT_DURATION']} s at full rate "
      f"({fmt(run['delivered_per_s'])} msg/s delivered, lost {run['lost']}); then every event of `AWSIotLogsV2` counted over FilterLogEvents.")
    w("")
    w("| eventType | expected (generator) | in the store | missing |")
    w("|---|---|---|---|")
    for kind in sorted(set(expected) | set(store)):
        e, s_ = expected.get(kind), store.get(kind, 0)
        w(f"| {kind} | {fmt(e) if e is not None else '—'} | {fmt(s_)} | {fmt(e - s_) if e is not None else '—'} |")
    tot_e, tot_s = sum(expected.values()), sum(store.get(k, 0) for k in expected)
    w(f"| **all** | {fmt(tot_e)} | {fmt(tot_s)} | {fmt(tot_e - tot_s)} |")
    w("")
    w("Expected: one Connect and one Disconnect per client, one Subscribe per subscriber, one Publish-In per publish and one Publish-Out per delivery (whole run: warm-up, window and drain). "
      "`NumLogEventsFailedToPublishThrottled` is not observable yet (the server exposes no metrics endpoint).")
else:
    w(env["COUNT_STATUS"])
w("")

if env["IDLE_STATUS"] == "ok" and os.path.exists(env["IDLE_OUT"]):
    w(open(env["IDLE_OUT"]).read().rstrip())
else:
    w("### Idle connections")
    w("")
    w(f"`scripts/bench-idle.sh`: {env['IDLE_STATUS']}")
w("")

w("### Log store: ingest, size, FilterLogEvents beside grep and jq")
w("")
status = env["LOGSTORE_STATUS"]
w(f"`cargo run --release -p thingwatch-logstore --example engine_bench -- {env['LOGSTORE_ARGS']}`: {status}")
if os.path.exists(env["LOGSTORE_OUT"]) and os.path.getsize(env["LOGSTORE_OUT"]) > 0:
    text = open(env["LOGSTORE_OUT"], errors="replace").read().rstrip()
    w("")
    w(re.sub(r"(?m)^### Log store at", "#### Log store at", text) if status == "ok" else "```text\n" + text + "\n```")
w("")
open(env["REPORT"], "w").write("\n".join(out) + "\n")
PY

echo
cat "$REPORT"
log "raw results: $RESULTS"
if [[ "$APPEND" == 1 ]]; then
    [[ -f "$OUT" ]] || printf '# Benchmarks\n\nAppended by `scripts/bench.sh`; newest last. See crates/thingwatch-bench for what each number means.\n\n' >"$OUT"
    cat "$REPORT" >>"$OUT"
    log "appended to $OUT"
fi
