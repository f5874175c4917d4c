#!/usr/bin/env bash
# Before/after of a change, side by side in one run: two `thingwatch` binaries (e.g. the
# release binary of an earlier commit, copied aside, and the current one) and Mosquitto, on
# the same scenarios, rounds rotating the order; the record of each performance fix in
# BENCHMARKS.md.
#
# Usage: scripts/bench-ab.sh BEFORE_BIN AFTER_BIN [--append] [--no-mosquitto]
#   BEFORE_BIN / AFTER_BIN  thingwatch binaries (e.g. `git worktree add /tmp/old REV` and
#                           `cargo build --release -p thingwatch` there)
#   --append                also append the report to BENCHMARKS.md (default: print only)
#   --no-mosquitto          only the two binaries
#
# Environment (defaults in brackets): BENCH_RUNS [3]; BENCH_DURATION [5] measured seconds;
# BENCH_WARMUP [2]; BENCH_LEVELS ["INFO DISABLED"] Thingwatch default log levels;
# BENCH_SCENARIOS ["one-to-one:10:0:1024 fan-out:100:0:1024 one-to-one:10:1:64"]
# scenario:pairs:qos:payload; BENCH_OUT [<repo>/BENCHMARKS.md]. Uses target/release/thingwatch-bench
# (built if missing).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
COMMAND_LINE="$(for v in BENCH_RUNS BENCH_DURATION BENCH_WARMUP BENCH_LEVELS BENCH_SCENARIOS; do
    if [[ -n "${!v+x}" ]]; then printf '%s=%q ' "$v" "${!v}"; fi
done)scripts/bench-ab.sh $*"

[[ $# -ge 2 ]] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 64; }
BEFORE="$1" AFTER="$2"
shift 2
APPEND=0 MOSQ=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --append) APPEND=1 ;;
        --no-mosquitto) MOSQ=0 ;;
        *) echo "bench-ab.sh: unknown argument $1" >&2; exit 64 ;;
    esac
    shift
done
RUNS="${BENCH_RUNS:-3}" DURATION="${BENCH_DURATION:-5}" WARMUP="${BENCH_WARMUP:-2}"
LEVELS="${BENCH_LEVELS:-INFO DISABLED}"
SCENARIOS="${BENCH_SCENARIOS:-one-to-one:10:0:1024 fan-out:100:0:1024 one-to-one:10:1:64}"
OUT="${BENCH_OUT:-$REPO/BENCHMARKS.md}"

log() { printf '[bench-ab] %s\n' "$*" >&2; }
WORK="$(mktemp -d)"
PIDS=()
# shellcheck source=lib/procs.sh
source "$REPO/scripts/lib/procs.sh"
# shellcheck source=lib/brokers.sh
source "$REPO/scripts/lib/brokers.sh"
command -v jq >/dev/null || { log "jq is required"; exit 1; }
for b in "$BEFORE" "$AFTER"; do [[ -x "$b" ]] || { log "$b is not an executable"; exit 1; }; done
BENCH_BIN="$REPO/target/release/thingwatch-bench"
[[ -x "$BENCH_BIN" ]] || cargo build --release -p thingwatch-bench
[[ $MOSQ == 1 ]] && find_mosquitto

VARIANTS=()
[[ $MOSQ == 1 ]] && VARIANTS+=("mosquitto")
for level in $LEVELS; do VARIANTS+=("before:$level" "after:$level"); done

RESULTS="$WORK/results.jsonl"
for round in $(seq "$RUNS"); do
    # Rotate the order every round so no variant always runs first.
    n=${#VARIANTS[@]} order=()
    for i in $(seq 0 $((n - 1))); do order+=("${VARIANTS[$(((i + round - 1) % n))]}"); done
    for scenario in $SCENARIOS; do
        IFS=: read -r kind pairs qos payload <<<"$scenario"
        for variant in "${order[@]}"; do
            case "$variant" in
                mosquitto) start_mosquitto ;;
                before:*) TW_BIN="$BEFORE" start_thingwatch "${variant#before:}" ;;
                after:*) TW_BIN="$AFTER" start_thingwatch "${variant#after:}" ;;
            esac
            line="$(timeout --kill-after=5 $((DURATION + WARMUP + 60)) "$BENCH_BIN" throughput \
                --port "$BROKER_PORT" --label "$variant" --scenario "$kind" --pairs "$pairs" \
                --qos "$qos" --payload "$payload" --duration "$DURATION" --warmup "$WARMUP" \
                --broker-pid "$BROKER_PID" 2>/dev/null)" || true
            stop_broker
            if [[ -n "$line" ]]; then
                jq -c --arg v "$variant" --arg s "$scenario" '{variant:$v, scenario:$s,
                    rate: .delivered_per_s, cpu: .broker_cpu_us_per_msg,
                    gen: .generator_cpu_cores}' <<<"$line" >>"$RESULTS"
                log "round $round $scenario $variant: $(jq -r '"\(.delivered_per_s|floor) msg/s, broker \(.broker_cpu_us_per_msg) µs/msg, generator \(.generator_cpu_cores) cores"' <<<"$line")"
            else
                log "round $round $scenario $variant: no result"
            fi
        done
    done
done

TABLE="$(jq -rs '
    def med: sort | if length == 0 then null elif length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
    def r(d): if . == null then "–" else (. * d | round) / d end;
    def cell(f; d): (map(f) | med | r(d) | tostring) + " [" + (map(f) | min | r(d) | tostring) + "–" + (map(f) | max | r(d) | tostring) + "]";
    group_by(.scenario)[] as $g
    | ($g | map(select(.variant == "mosquitto")) | map(.rate) | med) as $m
    | ($g | group_by(.variant))[]
    | . as $v
    | ($v | map(.rate) | med) as $rate
    | "| \($v[0].scenario) | \($v[0].variant) | \($v | cell(.rate; 1)) | \($v | cell(.cpu; 100)) | \(if $m != null and $m > 0 and $v[0].variant != "mosquitto" then ($rate / $m | r(100) | tostring) + "×" else "–" end) |"
' "$RESULTS")"

NPROC="$(nproc)" MEM="$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
REPORT="$(cat <<EOF
### Before/after, side by side ($(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT)

- Command: \`$COMMAND_LINE\`; machine: $NPROC cores, $MEM (shared VM); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
- before = \`$BEFORE\`, after = \`$AFTER\`; each run a fresh broker and data directory; scenario = kind:pairs:QoS:payload bytes; $RUNS rounds, order rotating, ${DURATION} s measured after ${WARMUP} s warm-up; median [min–max]

| scenario | variant | delivered msg/s | broker CPU µs / msg | ÷ Mosquitto msg/s |
|---|---|---|---|---|
$TABLE
EOF
)"
printf '%s\n' "$REPORT"
if [[ $APPEND == 1 ]]; then
    printf '\n%s\n' "$REPORT" >>"$OUT"
    log "appended to $OUT"
fi
