#!/usr/bin/env bash
# Thingwatch benchmark harness: one command that builds release binaries, starts Mosquitto 2 and
# Thingwatch (fresh data dir, once per log level DISABLED / INFO / DEBUG) on free loopback ports,
# runs the same thingwatch-bench scenarios against each, prints a markdown report and appends it
# to BENCHMARKS.md. Then runs the log store's engine benchmark if the crate has one.
#
# Usage: scripts/bench.sh [--mosquitto-only] [--no-append] [--no-build] [--no-logstore]
#   --mosquitto-only  benchmark Mosquitto only (for when the thingwatch package does not build)
#   --no-append       print the report but do not append it to BENCHMARKS.md
#   --no-build        use the existing target/release binaries
#   --no-logstore     skip the log store engine benchmark
#
# Environment (defaults in brackets):
#   BENCH_DURATION [5]       measured seconds per run
#   BENCH_WARMUP [2]         warm-up seconds per run
#   BENCH_RUNS [3]           runs per (broker, scenario); the report gives median/min/max
#   BENCH_SCENARIOS ["one-to-one"] generator scenarios: one-to-one, fan-in, fan-out
#   BENCH_PAIRS [10]         pairs (one-to-one) or publishers (fan-in, to 1 wildcard subscriber)
#   BENCH_FANOUT_SUBS [100]  subscribers of the single fan-out publisher
#   BENCH_PAYLOADS [64]      payload sizes in bytes (BENCH_PAYLOAD, one size, is still accepted)
#   BENCH_WINDOW [100]       end-to-end window per publisher/subscriber link (see thingwatch-bench)
#   BENCH_QOS ["0 1"]        QoS levels to run
#   BENCH_LATENCY_RATE [1000] total msg/s for the latency scenario; 0 skips latency runs
#   BENCH_LEVELS ["DISABLED INFO DEBUG"] Thingwatch default log levels to benchmark
#   BENCH_OUT [<repo>/BENCHMARKS.md] report file to append to
#   BENCH_LOGSTORE_ARGS [""] arguments for the log store engine benchmark (e.g. "200000 1000")
#   BENCH_LOGSTORE_TIMEOUT [900] seconds before the log store benchmark is stopped
#
# Everything binds 127.0.0.1. Every process this script starts is killed on exit (trap), and
# every generator run is bounded by `timeout`. Rounds are interleaved (round r runs every
# broker once) so background load on a shared machine spreads over all brokers alike.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
COMMAND_LINE="$(for v in BENCH_DURATION BENCH_WARMUP BENCH_RUNS BENCH_SCENARIOS BENCH_PAIRS BENCH_FANOUT_SUBS BENCH_PAYLOADS BENCH_PAYLOAD BENCH_WINDOW BENCH_QOS BENCH_LATENCY_RATE BENCH_LEVELS BENCH_LOGSTORE_ARGS; do
    if [[ -n "${!v+x}" ]]; then printf '%s=%q ' "$v" "${!v}"; fi
done)scripts/bench.sh $*"

MOSQUITTO_ONLY=0 APPEND=1 BUILD=1 LOGSTORE=1
for arg in "$@"; do
    case "$arg" in
        --mosquitto-only) MOSQUITTO_ONLY=1 ;;
        --no-append) APPEND=0 ;;
        --no-build) BUILD=0 ;;
        --no-logstore) LOGSTORE=0 ;;
        -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown argument $arg (try --help)" >&2; exit 64 ;;
    esac
done

DURATION="${BENCH_DURATION:-5}"
WARMUP="${BENCH_WARMUP:-2}"
RUNS="${BENCH_RUNS:-3}"
SCENARIOS="${BENCH_SCENARIOS:-one-to-one}"
PAIRS="${BENCH_PAIRS:-10}"
FANOUT_SUBS="${BENCH_FANOUT_SUBS:-100}"
PAYLOADS="${BENCH_PAYLOADS:-${BENCH_PAYLOAD:-64}}"
WINDOW="${BENCH_WINDOW:-100}"
QOS_LEVELS="${BENCH_QOS:-0 1}"
LATENCY_RATE="${BENCH_LATENCY_RATE:-1000}"
LEVELS="${BENCH_LEVELS:-DISABLED INFO DEBUG}"
OUT="${BENCH_OUT:-$REPO/BENCHMARKS.md}"
LOGSTORE_ARGS="${BENCH_LOGSTORE_ARGS:-}"
LOGSTORE_TIMEOUT="${BENCH_LOGSTORE_TIMEOUT:-900}"
# A generator run may take warm-up + duration + setup (<=10 s) + drain (<=2 s) + disconnects.
RUN_TIMEOUT="$(python3 -c "import math; print(math.ceil($WARMUP + $DURATION + 30))")"

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

wait_port() { # wait_port PORT PID NAME: until PORT accepts connections (30 s), or PID dies
    local port="$1" pid="$2" name="$3"
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "$name did not open port $port within 30 s"
    return 1
}

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

if ! command -v mosquitto >/dev/null 2>&1 && [[ ! -x /usr/sbin/mosquitto ]]; then
    log "mosquitto not found; installing the Debian package"
    SUDO=""; [[ "$(id -u)" == 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq mosquitto >/dev/null ||
        die "could not install mosquitto"
fi
MOSQUITTO="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
MOSQUITTO_VERSION="$("$MOSQUITTO" -h 2>/dev/null | head -1 || true)"

# ---------------------------------------------------------------------------------------------
# Brokers. start_<broker> sets BROKER_PID and BROKER_PORT.
start_mosquitto() {
    BROKER_PORT="$(free_port)"
    local conf="$WORK/mosquitto.conf"
    cat >"$conf" <<EOF
# Written by scripts/bench.sh: loopback only, anonymous, in memory, errors to stderr only.
listener $BROKER_PORT 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type error
EOF
    "$MOSQUITTO" -c "$conf" >>"$WORK/mosquitto.log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_port "$BROKER_PORT" "$BROKER_PID" mosquitto || { tail -20 "$WORK/mosquitto.log" >&2; return 1; }
}

start_thingwatch() { # start_thingwatch LEVEL
    local level="$1" data
    data="$(mktemp -d "$WORK/tw-data-$level.XXXXXX")"
    BROKER_PORT="$(free_port)"
    local http_port; http_port="$(free_port)"
    "$TW_BIN" serve --data-dir "$data" --mqtt-listen "127.0.0.1:$BROKER_PORT" \
        --http-listen "127.0.0.1:$http_port" --default-log-level "$level" \
        >"$WORK/thingwatch-$level.log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_port "$BROKER_PORT" "$BROKER_PID" "thingwatch ($level)" ||
        { tail -20 "$WORK/thingwatch-$level.log" >&2; return 1; }
}

stop_broker() {
    stop_pid "$BROKER_PID"
    local kept=()
    for pid in "${PIDS[@]}"; do [[ "$pid" == "$BROKER_PID" ]] || kept+=("$pid"); done
    PIDS=("${kept[@]}")
}

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

run_generator() { # run_generator LABEL MODE QOS SCENARIO PAYLOAD
    local label="$1" mode="$2" qos="$3" scenario="$4" payload="$5" rc=0 line
    local args=(--host 127.0.0.1 --port "$BROKER_PORT" --label "$label" --scenario "$scenario"
        --pairs "$(scenario_n "$scenario")" --qos "$qos" --payload "$payload"
        --duration "$DURATION" --warmup "$WARMUP"
        --window "$WINDOW" --broker-pid "$BROKER_PID")
    if [[ "$mode" == latency ]]; then args+=(--rate "$LATENCY_RATE"); fi
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

run_scenarios() { # run_scenarios LABEL
    local scenario payload qos
    for scenario in $SCENARIOS; do
        for payload in $PAYLOADS; do
            for qos in $QOS_LEVELS; do
                run_generator "$1" throughput "$qos" "$scenario" "$payload"
                [[ "$LATENCY_RATE" == 0 ]] || run_generator "$1" latency "$qos" "$scenario" "$payload"
            done
        done
    done
}

record_start_failure() { # record_start_failure LABEL LOGFILE: every scenario of LABEL failed
    local label="$1" reason scenario payload qos mode
    reason="$(grep -v '^\s*$' "$2" 2>/dev/null | tail -1 | cut -c1-300 || true)"
    log "$label did not start: $reason"
    for scenario in $SCENARIOS; do
        for payload in $PAYLOADS; do
            for qos in $QOS_LEVELS; do
                for mode in throughput latency; do
                    [[ "$mode" == latency && "$LATENCY_RATE" == 0 ]] && continue
                    failed_row "$label" "$mode" "$qos" "$scenario" "$payload" \
                        "broker did not start: $reason" >>"$RESULTS"
                done
            done
        done
    done
}

TARGETS=(mosquitto)
[[ "$MOSQUITTO_ONLY" == 1 ]] || for level in $LEVELS; do TARGETS+=("thingwatch-$level"); done
N_SCEN=$(( $(wc -w <<<"$SCENARIOS") * $(wc -w <<<"$PAYLOADS") * $(wc -w <<<"$QOS_LEVELS") * ( LATENCY_RATE == 0 ? 1 : 2 ) ))
log "targets: ${TARGETS[*]}; $RUNS rounds x $N_SCEN scenarios each; about $(python3 -c "print(round($RUNS*${#TARGETS[@]}*$N_SCEN*($WARMUP+$DURATION+1.5)/60,1))") min"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

for round in $(seq "$RUNS"); do
    for target in "${TARGETS[@]}"; do
        log "round $round/$RUNS: $target"
        started=0
        case "$target" in
            mosquitto) start_mosquitto && started=1 ;;
            thingwatch-*) start_thingwatch "${target#thingwatch-}" && started=1 ;;
        esac
        if [[ "$started" == 1 ]]; then
            run_scenarios "$target"
        else
            log_file="$WORK/mosquitto.log"
            [[ "$target" == mosquitto ]] || log_file="$WORK/$target.log"
            record_start_failure "$target" "$log_file"
        fi
        stop_broker
    done
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------------------------
# Log store engine benchmark (owned by crates/thingwatch-logstore), if the crate has one.
LOGSTORE_OUT="$WORK/logstore.txt"
LOGSTORE_STATUS="not run (--no-logstore)"
if [[ "$LOGSTORE" == 1 ]]; then
    LOGSTORE_STATUS="not present (no crates/thingwatch-logstore/examples/engine_bench.rs)"
    if [[ -f crates/thingwatch-logstore/examples/engine_bench.rs ]]; then
        log "log store engine benchmark: cargo run --release -p thingwatch-logstore --example engine_bench -- $LOGSTORE_ARGS"
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
fi

# ---------------------------------------------------------------------------------------------
# Report.
CPU_MODEL="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"
[[ -n "$CPU_MODEL" ]] || CPU_MODEL="$(uname -m)"
MEM_GIB="$(awk '/^MemTotal:/ {printf "%.1f", $2/1048576}' /proc/meminfo)"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]] || COMMIT="$COMMIT (working tree modified)"

REPORT="$WORK/report.md"
export RESULTS REPORT LOGSTORE_OUT LOGSTORE_STATUS COMMAND_LINE COMMIT CPU_MODEL MEM_GIB \
    MOSQUITTO_VERSION LOAD_BEFORE LOAD_AFTER DURATION WARMUP RUNS SCENARIOS PAIRS FANOUT_SUBS PAYLOADS WINDOW LATENCY_RATE LOGSTORE_ARGS
NPROC="$(nproc)" RUSTC="$(rustc --version)" DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
export NPROC RUSTC DATE
python3 - <<'PY'
import json, os, statistics
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
w(f"- Software: {env['MOSQUITTO_VERSION'] or 'mosquitto'}; {env['RUSTC']}; generator thingwatch-bench (rumqttc, MQTT 3.1.1)")
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
    w(f"### Latency (publish → deliver at {env['LATENCY_RATE']} msg/s total, µs)")
    w("")
    w("| Scenario | Payload B | Broker | QoS | p50 µs | p99 µs | p99.9 µs | p99 vs Mosquitto | delivered msg/s | runs ok |")
    w("|---|---|---|---|---|---|---|---|---|---|")
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
            w(f"| {scenario} | {payload if payload is not None else 'n/a'} | {label} | {qos} | {pct('p50_us')} | {pct('p99_us')} | {pct('p999_us')} | {ratio} | "
              f"{fmt(med([r['delivered_per_s'] for r in ok]))} | {len(clean)}/{len(rs)} |")
    w("")

w("How to read this: *delivered msg/s* counts PUBLISH packets received by the subscribers during the measured window, with at most "
  f"{env['WINDOW']} messages per publisher/subscriber link in flight end to end (fan-out: the publisher waits for its slowest subscriber) (so it is a sustainable rate, not a buffering rate; QoS 0 and 1 alike). "
  "*vs Mosquitto* is the Thingwatch median divided by the Mosquitto median (higher is better for throughput, lower for latency). "
  "*broker CPU µs/msg* is the broker's user+system CPU time per delivered message (from /proc; less sensitive to other load than msg/s). "
  "*generator CPU cores* is the load generator's own CPU (getrusage) divided by wall time: if it approaches the machine's core count, "
  "the generator, not the broker, is the bottleneck. *lost* = sent − received over whole runs, per link (a fan-out publish counts once per subscriber). Latency runs publish at a fixed rate; "
  "the timestamp is taken just before the publish is handed to the client, so generator scheduling delay is included.")
w("")

failures = sorted({(r["label"], scen(r), r.get("reason", "")) for r in rows if r.get("failed")} |
                  {(r["label"], scen(r), e) for r in rows if not r.get("failed") for e in r.get("errors", [])})
if failures:
    w("### Failures")
    w("")
    for label, scenario, reason in failures:
        w(f"- {label} ({scenario}): {reason}")
    w("")

w("### Log store engine benchmark")
w("")
status = env["LOGSTORE_STATUS"]
w(f"`cargo run --release -p thingwatch-logstore --example engine_bench -- {env['LOGSTORE_ARGS']}`: {status}")
if os.path.exists(env["LOGSTORE_OUT"]) and os.path.getsize(env["LOGSTORE_OUT"]) > 0:
    w("")
    w("```text")
    w(open(env["LOGSTORE_OUT"], errors="replace").read().rstrip())
    w("```")
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
