#!/usr/bin/env bash
# Idle connections: resident memory per connection of Mosquitto 2 and Thingwatch (INFO: every
# Connect event logged), measured in one run with `thingwatch-bench idle`: N connections that
# CONNECT and keep alive, spread over loopback source addresses 127.0.0.2.., with each broker's
# VmRSS (/proc/PID/status) read before the first connect and after all N are connected and
# settled. Headline: (RSS_after − RSS_before) / N in KiB, per broker; the generator's own RSS
# per connection is reported too.
#
# Usage: scripts/bench-idle.sh [--append] [--no-build] [--markdown FILE]
#   --append         also append the report to BENCHMARKS.md (default: print only)
#   --no-build       use the existing target/release binaries
#   --markdown FILE  also write the markdown section to FILE (scripts/bench.sh uses this)
#
# Environment (defaults in brackets):
#   BENCH_IDLE_CONNECTIONS [50000] connections asked for (N)
#   BENCH_IDLE_RUNS [3]            rounds; each starts every broker fresh (median [min–max])
#   BENCH_IDLE_HOLD [5]            seconds every connection stays open after the reading
#   BENCH_IDLE_SETTLE [3]          seconds before each RSS reading
#   BENCH_IDLE_LEVELS ["INFO"]     Thingwatch default log levels to measure
#   BENCH_OUT [<repo>/BENCHMARKS.md]
#
# Limits, said in the report: one process can hold at most `ulimit -Hn` descriptors (this
# script raises every soft limit to the hard limit; raising the hard limit needs
# CAP_SYS_RESOURCE), so N is lowered to `ulimit -Hn` − 256 when needed. Thingwatch accepts
# at most its `max_connections` (10,000 by default) and makes further connections wait; if
# `thingwatch serve` has a `--max-connections` flag, it is set to N, otherwise Thingwatch is
# measured at min(N, 10,000) and Mosquitto both at that N (the paired comparison) and at its
# own N.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
COMMAND_LINE="$(for v in BENCH_IDLE_CONNECTIONS BENCH_IDLE_RUNS BENCH_IDLE_HOLD BENCH_IDLE_SETTLE BENCH_IDLE_LEVELS; do
    if [[ -n "${!v+x}" ]]; then printf '%s=%q ' "$v" "${!v}"; fi
done)scripts/bench-idle.sh $*"

APPEND=0 BUILD=1 MARKDOWN=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --append) APPEND=1 ;;
        --no-build) BUILD=0 ;;
        --markdown) MARKDOWN="${2:?--markdown needs a file}"; shift ;;
        -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench-idle.sh: unknown argument $1 (try --help)" >&2; exit 64 ;;
    esac
    shift
done

N_ASKED="${BENCH_IDLE_CONNECTIONS:-50000}"
RUNS="${BENCH_IDLE_RUNS:-3}"
HOLD="${BENCH_IDLE_HOLD:-5}"
SETTLE="${BENCH_IDLE_SETTLE:-3}"
LEVELS="${BENCH_IDLE_LEVELS:-INFO}"
OUT="${BENCH_OUT:-$REPO/BENCHMARKS.md}"
TW_DEFAULT_MAX_CONNECTIONS=10000   # BrokerConfig::default() in crates/thingwatch-broker
FD_SPARE=256

BENCH_BIN="$REPO/target/release/thingwatch-bench"
TW_BIN="$REPO/target/release/thingwatch"

log() { printf '[bench-idle] %s\n' "$*" >&2; }
die() { printf '[bench-idle] error: %s\n' "$*" >&2; exit 1; }
[[ "$N_ASKED" =~ ^[0-9]+$ && "$N_ASKED" -gt 0 ]] || die "BENCH_IDLE_CONNECTIONS must be a positive number"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/twbench-idle.XXXXXX")"
PIDS=()
# shellcheck source=lib/procs.sh
. "$REPO/scripts/lib/procs.sh"
# shellcheck source=lib/brokers.sh
. "$REPO/scripts/lib/brokers.sh"

if [[ "$BUILD" == 1 ]]; then
    log "building thingwatch and thingwatch-bench (release)"
    cargo build --release -p thingwatch -p thingwatch-bench
fi
for tool in python3 jq timeout; do command -v "$tool" >/dev/null 2>&1 || die "$tool is required"; done
[[ -x "$BENCH_BIN" && -x "$TW_BIN" ]] || die "release binaries missing (drop --no-build)"
find_mosquitto || die "mosquitto is required"

# ---------------------------------------------------------------------------------------------
# How many connections fit.
HARD="$(ulimit -Hn)"
[[ "$HARD" == unlimited ]] && HARD=1048576
ulimit -n "$HARD" 2>/dev/null || true
N_FD=$(( N_ASKED < HARD - FD_SPARE ? N_ASKED : HARD - FD_SPARE ))
TW_ARGS=()
if "$TW_BIN" serve --help 2>/dev/null | grep -q -- '--max-connections'; then
    TW_ARGS=(--max-connections "$N_FD")
    N_TW="$N_FD"
    TW_CAP_NOTE="\`--max-connections $N_FD\`"
else
    N_TW=$(( N_FD < TW_DEFAULT_MAX_CONNECTIONS ? N_FD : TW_DEFAULT_MAX_CONNECTIONS ))
    TW_CAP_NOTE="no \`--max-connections\` flag in \`thingwatch serve\`, so its default cap of $TW_DEFAULT_MAX_CONNECTIONS applies"
fi
log "asked for $N_ASKED connections; open-file hard limit $HARD -> Mosquitto $N_FD, Thingwatch $N_TW ($TW_CAP_NOTE)"

# Variants: label, broker, N.
VARIANTS=("mosquitto|mosquitto|$N_TW")
[[ "$N_FD" == "$N_TW" ]] || VARIANTS+=("mosquitto|mosquitto|$N_FD")
for level in $LEVELS; do VARIANTS+=("thingwatch-$level|thingwatch-$level|$N_TW"); done

RESULTS="$WORK/idle.jsonl"
: >"$RESULTS"
RUN_TIMEOUT=$(( 120 + 2 * SETTLE + HOLD + N_FD / 500 ))
for round in $(seq "$RUNS"); do
    for variant in "${VARIANTS[@]}"; do
        IFS='|' read -r label broker n <<<"$variant"
        log "round $round/$RUNS: $label, $n idle connections"
        case "$broker" in
            mosquitto) start_mosquitto "max_connections -1" ;;
            thingwatch-*) start_thingwatch "${broker#thingwatch-}" "${TW_ARGS[@]}" ;;
        esac || { jq -cn --arg l "$label" --argjson n "$n" '{label:$l,connections:$n,failed_start:true}' >>"$RESULTS"; continue; }
        rc=0
        line="$(timeout --kill-after=5 "$RUN_TIMEOUT" "$BENCH_BIN" idle --port "$BROKER_PORT" \
            --label "$label" --connections "$n" --hold "$HOLD" --settle "$SETTLE" \
            --broker-pid "$BROKER_PID" 2>"$WORK/gen.err")" || rc=$?
        cat "$WORK/gen.err" >&2
        if [[ -n "$line" ]]; then
            printf '%s\n' "$line" >>"$RESULTS"
        else
            jq -cn --arg l "$label" --argjson n "$n" --arg r "exit $rc: $(tail -1 "$WORK/gen.err")" \
                '{label:$l,connections:$n,failed_run:$r}' >>"$RESULTS"
        fi
        stop_broker
    done
done

# ---------------------------------------------------------------------------------------------
# Report.
export RESULTS N_ASKED HARD N_FD N_TW TW_CAP_NOTE COMMAND_LINE RUNS HOLD SETTLE
MOSQUITTO_VERSION="$("$MOSQUITTO" -h 2>/dev/null | head -1 || true)"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
export MOSQUITTO_VERSION COMMIT DATE
REPORT="$WORK/report.md"
export REPORT
python3 - <<'PY'
import json, os, statistics
env = os.environ
rows = [json.loads(l) for l in open(env["RESULTS"]) if l.strip()]
groups = {}
for r in rows:
    groups.setdefault((r["label"], r["connections"]), []).append(r)

def rng(xs, digits):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "n/a"
    m = statistics.median(xs)
    return f"{m:,.{digits}f} [{min(xs):,.{digits}f}–{max(xs):,.{digits}f}]"

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

out = []
w = out.append
w(f"### Idle connections: resident memory per connection ({env['DATE']}, commit {env['COMMIT']})")
w("")
w(f"- Command: `{env['COMMAND_LINE'].strip()}`; {env['MOSQUITTO_VERSION'] or 'mosquitto'} with `max_connections -1`; Thingwatch with a fresh data directory")
w(f"- Asked for {int(env['N_ASKED']):,} connections. Open-file hard limit (`ulimit -Hn`) {int(env['HARD']):,}, so one process holds at most {int(env['N_FD']):,}; Thingwatch: {env['TW_CAP_NOTE']}")
w(f"- `thingwatch-bench idle`: MQTT 3.1.1 CONNECT (clean session, keep-alive 60 s) per connection, loopback source addresses 127.0.0.2.. (20,000 each), {env['SETTLE']} s settle before each VmRSS reading, {env['HOLD']} s hold; {env['RUNS']} rounds, median [min–max]")
w("")
w("| Broker | connections | connected | broker KiB / connection | broker RSS before → after, MiB | broker CPU to accept, µs / connection | connects/s | generator KiB / connection | dropped | runs ok |")
w("|---|---|---|---|---|---|---|---|---|---|")
base = {}
for (label, n), rs in sorted(groups.items(), key=lambda kv: (not kv[0][0].startswith("mosquitto"), kv[0][1], kv[0][0])):
    ok = [r for r in rs if "mode" in r]
    clean = [r for r in ok if r["connected"] == r["connections"] and r["dropped"] == 0 and not r["errors"]]
    per = [r.get("broker_kib_per_connection") for r in ok]
    before = med([r.get("broker_rss_before_kib") for r in ok])
    after = med([r.get("broker_rss_after_kib") for r in ok])
    cpu = [ (r["broker_cpu_connect_s"] * 1e6 / r["connected"]) if r.get("broker_cpu_connect_s") is not None and r["connected"] else None for r in ok]
    ba = f"{before/1024:,.1f} → {after/1024:,.1f}" if before is not None and after is not None else "n/a"
    w(f"| {label} | {n:,} | {med([r['connected'] for r in ok]) or 0:,.0f} | {rng(per, 2)} | {ba} | {rng(cpu, 1)} | {rng([r['connects_per_s'] for r in ok], 0)} | "
      f"{rng([r.get('generator_kib_per_connection') for r in ok], 2)} | {sum(r['dropped'] for r in ok)} | {len(clean)}/{len(rs)} |")
    if label == "mosquitto":
        base[n] = med(per)
w("")
ratios = []
for (label, n), rs in groups.items():
    if label.startswith("thingwatch") and base.get(n):
        m = med([r.get("broker_kib_per_connection") for r in rs if "mode" in r])
        if m is not None:
            ratios.append(f"{label} {m / base[n]:.2f}× Mosquitto at {n:,}")
if ratios:
    w("Per-connection memory, Thingwatch ÷ Mosquitto (same N): " + "; ".join(ratios) + ". Target: ≤ 8 KiB per idle connection.")
    w("")
problems = sorted({f"{r['label']}: {e}" for r in rows for e in (r.get("errors") or [])[:3]} |
                  {f"{r['label']}: {r['failed_run']}" for r in rows if r.get("failed_run")} |
                  {f"{r['label']}: did not start" for r in rows if r.get("failed_start")})
if problems:
    w("Problems: " + "; ".join(problems[:10]))
    w("")
w("How to read this: *broker KiB / connection* = (VmRSS with every connection open and settled − VmRSS before the first connect) ÷ connections, from /proc/PID/status; it includes everything the connections caused (socket buffers are kernel memory and not in it; for Thingwatch at INFO, the Connect events' share of the log store's memtable is). *generator KiB / connection* is the same for the load generator, which holds every connection as one tokio task with no MQTT client state.")
open(env["REPORT"], "w").write("\n".join(out) + "\n")
PY
cat "$REPORT"
[[ -z "$MARKDOWN" ]] || cp "$REPORT" "$MARKDOWN"
if [[ "$APPEND" == 1 ]]; then
    { echo; cat "$REPORT"; } >>"$OUT"
    log "appended to $OUT"
fi
