#!/usr/bin/env bash
# Cost of log-level resolution end to end: connect rate and QoS 1 publish throughput of the
# `thingwatch` release binary with no log targets, versus with 1,000 thing groups in a 5-deep
# hierarchy, 100 log targets and every bench client registered as a thing in a leaf group
# (the measurement asked for by the logging-configuration issue).
#
# Usage: scripts/bench-targets.sh [--append] [--no-build]
#   --append     also append the markdown report to BENCHMARKS.md (default: print only)
#   --no-build   use the existing target/release binaries
#
# Environment (defaults in brackets):
#   BENCH_RUNS [3]               rounds; each starts a fresh bare server and a fresh registry
#                                server (order alternates between rounds)
#   BENCH_DURATION [5]           measured seconds per measurement
#   BENCH_WARMUP [1]             warm-up seconds per measurement
#   BENCH_PRIME [5]              seconds of unmeasured connect load on every fresh server before
#                                its first measurement: a fresh server connects up to ~30 %
#                                slower in its first seconds of MQTT load; 0 turns it off
#   BENCH_CONNECT_WORKERS [10]   concurrent connect workers
#   BENCH_CONNECT_CLIENTS [1000] client IDs dev-0..dev-(N-1), each a thing in a leaf group
#   BENCH_PAIRS [10]             publisher/subscriber pairs (clients tp-p<i>, tp-s<i>)
#   BENCH_OUT [<repo>/BENCHMARKS.md] report file for --append
#
# Every server: `thingwatch serve --default-log-level INFO --max-log-targets 200` on free
# 127.0.0.1 ports with a fresh data directory, primed with BENCH_PRIME s of connect load. A
# measurement is (a) `thingwatch-bench connect` then (b) `thingwatch-bench throughput --qos 1`.
# Variants: "none" = the bare server. The registry server is configured through the AWS IoT API
# over SigV4 (Python + botocore) with 1,000 groups and the things, then measured as "targets"
# (100 log targets added) and as "registry" (the same process without them), in an order that
# alternates by round. The first "targets" measurement is followed by a fixture check: with the
# default level lowered to ERROR, bench clients must still log `Connect` (through their
# THING_GROUP targets) and unregistered clients must not.
#
# Every process this script starts is killed on exit (trap); every step is bounded by `timeout`.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
COMMAND_LINE="$(for v in BENCH_RUNS BENCH_DURATION BENCH_WARMUP BENCH_PRIME BENCH_CONNECT_WORKERS BENCH_CONNECT_CLIENTS BENCH_PAIRS; do
    if [[ -n "${!v+x}" ]]; then printf '%s=%q ' "$v" "${!v}"; fi
done)scripts/bench-targets.sh $*"

APPEND=0 BUILD=1
for arg in "$@"; do
    case "$arg" in
        --append) APPEND=1 ;;
        --no-build) BUILD=0 ;;
        -h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench-targets.sh: unknown argument $arg (try --help)" >&2; exit 64 ;;
    esac
done

RUNS="${BENCH_RUNS:-3}"
DURATION="${BENCH_DURATION:-5}"
WARMUP="${BENCH_WARMUP:-1}"
PRIME="${BENCH_PRIME:-5}"
WORKERS="${BENCH_CONNECT_WORKERS:-10}"
CLIENTS="${BENCH_CONNECT_CLIENTS:-1000}"
PAIRS="${BENCH_PAIRS:-10}"
OUT="${BENCH_OUT:-$REPO/BENCHMARKS.md}"
MAX_LOG_TARGETS=200
CONNECT_PREFIX="dev-"
PUBLISH_PREFIX="tp-"
# A generator run takes warm-up + duration + setup (<= 10 s) + drain (<= 2 s) + disconnects.
RUN_TIMEOUT="$(python3 -c "import math; print(math.ceil(max($WARMUP + $DURATION, $PRIME) + 30))")"
CONFIGURE_TIMEOUT=300

BENCH_BIN="$REPO/target/release/thingwatch-bench"
TW_BIN="$REPO/target/release/thingwatch"

log() { printf '[bench-targets] %s\n' "$*" >&2; }
die() { printf '[bench-targets] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Process bookkeeping: every PID started here is killed (by PID) on exit.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/twbench-targets.XXXXXX")"
PIDS=()
# shellcheck source=lib/procs.sh
. "$REPO/scripts/lib/procs.sh"

# ---------------------------------------------------------------------------------------------
# Build and prerequisites.
for tool in python3 timeout cargo git; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
python3 -c 'import botocore' 2>/dev/null || die "python3 botocore is required (it comes with the AWS CLI)"
if [[ "$BUILD" == 1 ]]; then
    log "building thingwatch and thingwatch-bench (release)"
    cargo build --release -p thingwatch -p thingwatch-bench || die "release build failed"
fi
[[ -x "$BENCH_BIN" && -x "$TW_BIN" ]] || die "release binaries missing (drop --no-build)"

# The server must generate its own credentials file; never pick up a caller's.
unset THINGWATCH_CONFIG THINGWATCH_ACCESS_KEY_ID THINGWATCH_SECRET_ACCESS_KEY \
    AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE || true

# The bench clients, each registered as a thing on the with-targets server.
THINGS="$(python3 -c "
print(' '.join(['$CONNECT_PREFIX%d' % i for i in range($CLIENTS)] +
               ['$PUBLISH_PREFIX%s%d' % (r, i) for i in range($PAIRS) for r in 'ps']))")"
export THINGS

# ---------------------------------------------------------------------------------------------
# The AWS IoT side (Python + botocore, SigV4 with the server's root credentials). Subcommands:
#   registry        1,000 thing groups 5 deep, the bench clients as things in leaf groups
#   targets-add     the 100 log targets          targets-delete   delete them all again
#   default LEVEL   set defaultLogLevel          count SINCE_MS   Connect events since SINCE_MS
# Each prints one JSON line.
cat >"$WORK/iot.py" <<'PY'
import configparser, json, os, sys, time
from concurrent.futures import ThreadPoolExecutor
import botocore.session
from botocore.config import Config

env = os.environ
creds = configparser.ConfigParser()
creds.read(env["CREDENTIALS"])

def client(service):
    return botocore.session.get_session().create_client(
        service, endpoint_url=env["ENDPOINT"], region_name="us-east-1",
        aws_access_key_id=creds["default"]["aws_access_key_id"],
        aws_secret_access_key=creds["default"]["aws_secret_access_key"],
        config=Config(retries={"max_attempts": 1}, max_pool_connections=16))

iot = client("iot")
THREADS = 8
GROUPS, ROOTS, FAN_OUT, DEPTH = 1000, 5, 4, 5
pool = ThreadPoolExecutor(THREADS)
timings = {}

def timed(name, calls):
    t0 = time.perf_counter()
    list(pool.map(lambda f: f(), calls))
    dt = time.perf_counter() - t0
    timings[name] = {"calls": len(calls), "s": round(dt, 3), "per_s": round(len(calls) / dt, 1)}
    return dt

# 5 roots, fan-out 4 down to depth 4 (20, 80, 320 groups), the remaining 575 at depth 5, each
# depth-5 group under a depth-4 group round-robin.
levels = []
for depth in range(DEPTH):
    n = ROOTS * FAN_OUT ** depth if depth + 1 < DEPTH else GROUPS - sum(len(l) for l in levels)
    levels.append([f"g{depth + 1}-{i:04d}" for i in range(n)])
assert sum(len(l) for l in levels) == GROUPS
leaves = levels[-1]

def list_targets():
    listed, token = [], None
    while True:
        page = iot.list_v2_logging_levels(maxResults=250, **({"nextToken": token} if token else {}))
        listed += [c["logTarget"] for c in page["logTargetConfigurations"]
                   if c["logTarget"]["targetType"] != "DEFAULT"]
        token = page.get("nextToken")
        if not token:
            return listed

def registry():
    things = env["THINGS"].split()
    parent = {}
    for depth in range(1, DEPTH):
        above = levels[depth - 1]
        for i, g in enumerate(levels[depth]):
            parent[g] = above[i % len(above)]
    groups_s = 0.0
    for depth, names in enumerate(levels):  # parents before children; parallel per depth
        groups_s += timed(f"groups_depth{depth + 1}", [
            (lambda g=g: iot.create_thing_group(
                thingGroupName=g, **({"parentGroupName": parent[g]} if g in parent else {})))
            for g in names])
    timings["groups"] = {"calls": GROUPS, "s": round(groups_s, 3), "per_s": round(GROUPS / groups_s, 1)}
    timed("things", [(lambda t=t: iot.create_thing(thingName=t)) for t in things])
    timed("memberships", [
        (lambda i=i, t=t: iot.add_thing_to_thing_group(thingName=t, thingGroupName=leaves[i % len(leaves)]))
        for i, t in enumerate(things)])
    chain = iot.describe_thing_group(thingGroupName=leaves[0])["thingGroupMetadata"]["rootToParentThingGroups"]
    assert len(chain) == DEPTH - 1, chain
    mine = iot.list_thing_groups_for_thing(thingName=things[0])["thingGroups"]
    assert [g["groupName"] for g in mine] == [leaves[0]], mine
    return {"groups": GROUPS, "depth": DEPTH, "leaves": len(leaves), "things": len(things)}

def targets_add():
    # 70 THING_GROUP spread over every depth (5/10/15/20/20), every root included, so every
    # bench thing resolves through a THING_GROUP target; all INFO, the server's default, so
    # exactly the same events are logged and only the resolution differs. 10 each of
    # CLIENT_ID, SOURCE_IP and PRINCIPAL_ID with assorted levels that match no bench client,
    # so every connection goes through the whole resolution.
    targets = []
    for depth, k in enumerate([5, 10, 15, 20, 20]):
        names = levels[depth]
        targets += [("THING_GROUP", names[int(j * len(names) / k)], "INFO") for j in range(k)]
    others = ["ERROR", "WARN", "DEBUG", "DISABLED"]
    targets += [("CLIENT_ID", f"other-client-{j}", others[j % 4]) for j in range(10)]
    targets += [("SOURCE_IP", f"192.0.2.{j + 1}", others[j % 4]) for j in range(10)]
    targets += [("PRINCIPAL_ID", f"{j + 1:064x}", others[j % 4]) for j in range(10)]
    assert len(targets) == 100
    timed("targets", [
        (lambda t=t: iot.set_v2_logging_level(logTarget={"targetType": t[0], "targetName": t[1]}, logLevel=t[2]))
        for t in targets])
    n = len(list_targets())
    assert n == 100, f"server lists {n} log targets, want 100"
    return {"targets": n}

def targets_delete():
    timed("delete_targets", [
        (lambda t=t: iot.delete_v2_logging_level(targetType=t["targetType"], targetName=t["targetName"]))
        for t in list_targets()])
    n = len(list_targets())
    assert n == 0, f"server still lists {n} log targets"
    return {"targets": n}

def default(level):
    # Keep the role the server already logs with (a fresh data directory's built-in
    # ThingwatchLoggingRole): SetV2LoggingOptions refuses a role that does not exist.
    role = iot.get_v2_logging_options()["roleArn"]
    iot.set_v2_logging_options(roleArn=role, defaultLogLevel=level)
    return {"defaultLogLevel": level}

def count(since):
    logs, counts, token = client("logs"), {"registered": 0, "unregistered": 0}, None
    while True:
        page = logs.filter_log_events(logGroupName="AWSIotLogsV2", startTime=int(since),
                                      filterPattern='{ $.eventType = "Connect" }',
                                      **({"nextToken": token} if token else {}))
        for e in page["events"]:
            cid = json.loads(e["message"])["clientId"]
            counts["registered" if cid.startswith(env["PREFIX"]) else "unregistered"] += 1
        token = page.get("nextToken")
        if not token:
            return counts

commands = {"registry": registry, "targets-add": targets_add, "targets-delete": targets_delete,
            "default": default, "count": count}
result = commands[sys.argv[1]](*sys.argv[2:])
print(json.dumps({"command": sys.argv[1], **result, "threads": THREADS, "timings": timings}))
PY

# ---------------------------------------------------------------------------------------------
# Servers. start_server VARIANT sets SERVER_PID MQTT_PORT ENDPOINT DATA.
start_server() {
    local variant="$1" http_port
    DATA="$WORK/data-$variant"
    rm -rf "$DATA"
    MQTT_PORT="$(free_port)"
    http_port="$(free_port)"
    ENDPOINT="http://127.0.0.1:$http_port"
    "$TW_BIN" serve --data-dir "$DATA" --mqtt-listen "127.0.0.1:$MQTT_PORT" \
        --http-listen "127.0.0.1:$http_port" --default-log-level INFO \
        --max-log-targets "$MAX_LOG_TARGETS" >"$WORK/server-$variant.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 300); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        if grep -q '^credentials:' "$WORK/server-$variant.log" &&
            (exec 3<>"/dev/tcp/127.0.0.1/$MQTT_PORT") 2>/dev/null &&
            (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    tail -20 "$WORK/server-$variant.log" >&2
    return 1
}

stop_server() {
    stop_pid "$SERVER_PID"
    local kept=()
    for pid in "${PIDS[@]}"; do [[ "$pid" == "$SERVER_PID" ]] || kept+=("$pid"); done
    PIDS=("${kept[@]}")
    rm -rf "$DATA"
}

RESULTS_DIR="$REPO/target/bench"
mkdir -p "$RESULTS_DIR"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RESULTS="$RESULTS_DIR/targets-$STAMP.jsonl"
: >"$RESULTS"

record() { # record JSON_LINE ROUND VARIANT: adds round and variant, appends to RESULTS
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["round"]=int(sys.argv[2]); r["variant"]=sys.argv[3]; print(json.dumps(r))' \
        "$1" "$2" "$3" >>"$RESULTS"
}

record_failure() { # record_failure ROUND VARIANT MODE REASON
    python3 -c 'import json,sys; print(json.dumps({"round":int(sys.argv[1]),"variant":sys.argv[2],"mode":sys.argv[3],"failed":True,"reason":sys.argv[4][:300]}))' \
        "$1" "$2" "$3" "$4" >>"$RESULTS"
}

record_missing() { # record_missing ROUND: a failure row for every registry-server run with no row
    python3 - "$1" "$RESULTS" <<'PY' >>"$RESULTS"
import json, sys
rnd, rows = int(sys.argv[1]), [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
have = {(r["variant"], r["mode"]) for r in rows if r["round"] == rnd}
for v in ("targets", "registry"):
    for m in ("connect", "throughput"):
        if (v, m) not in have:
            print(json.dumps({"round": rnd, "variant": v, "mode": m, "failed": True, "reason": "not measured (setup failed)"}))
PY
}

generator() { # generator ROUND VARIANT MODE ARGS...: runs thingwatch-bench, records its JSON line
    local round="$1" variant="$2" mode="$3" rc=0 line
    shift 3
    line="$(timeout --kill-after=5 "$RUN_TIMEOUT" "$BENCH_BIN" "$mode" --host 127.0.0.1 --port "$MQTT_PORT" \
        --label "$variant" --duration "$DURATION" --warmup "$WARMUP" --broker-pid "$SERVER_PID" "$@" \
        2>"$WORK/gen.err")" || rc=$?
    cat "$WORK/gen.err" >&2
    if [[ -n "$line" ]]; then
        record "$line" "$round" "$variant"
    else
        log "run failed (exit $rc): round $round $variant $mode"
        record_failure "$round" "$variant" "$mode" "generator exit $rc: $(tail -1 "$WORK/gen.err")"
    fi
}

measure_server() { # measure_server ROUND VARIANT [prime]: (prime,) connect, throughput
    if [[ "${3:-}" == prime ]] && python3 -c "import sys; sys.exit(0 if $PRIME > 0 else 1)"; then
        timeout --kill-after=5 "$RUN_TIMEOUT" "$BENCH_BIN" connect --port "$MQTT_PORT" --label prime \
            --workers "$WORKERS" --clients "$CLIENTS" --client-prefix "$CONNECT_PREFIX" \
            --duration "$PRIME" --warmup 0 >/dev/null 2>"$WORK/prime.err" ||
            log "priming failed: $(tail -1 "$WORK/prime.err")"
    fi
    generator "$1" "$2" connect --workers "$WORKERS" --clients "$CLIENTS" --client-prefix "$CONNECT_PREFIX"
    generator "$1" "$2" throughput --qos 1 --pairs "$PAIRS" --client-prefix "$PUBLISH_PREFIX"
}

iot() { # iot COMMAND ARGS...: runs iot.py against the current server, keeps its JSON line
    CREDENTIALS="$DATA/credentials" ENDPOINT="$ENDPOINT" PREFIX="$CONNECT_PREFIX" \
        timeout "$CONFIGURE_TIMEOUT" python3 "$WORK/iot.py" "$@" >"$WORK/iot.out" 2>"$WORK/iot.err" ||
        { log "iot.py $* failed: $(tail -3 "$WORK/iot.err")"; return 1; }
    cat "$WORK/iot.out" >>"$CONFIGS"
    python3 -c '
import json, sys
r = json.load(sys.stdin)
parts = ["%s %d calls in %.1f s (%.0f/s)" % (k, v["calls"], v["s"], v["per_s"])
         for k, v in r["timings"].items() if not k.startswith("groups_depth")]
if parts:
    print("[bench-targets] %s: %s" % (r["command"], ", ".join(parts)))' <"$WORK/iot.out" >&2
}

fixture_check() { # with targets in place: bench clients log at ERROR default, others do not
    local since out
    iot default ERROR || return 1
    since="$(python3 -c 'import time; print(int(time.time()*1000))')"
    for prefix in "$CONNECT_PREFIX" unregistered-; do
        timeout --kill-after=5 30 "$BENCH_BIN" connect --port "$MQTT_PORT" --workers 2 --clients 10 \
            --client-prefix "$prefix" --duration 0.3 --warmup 0 --label check >/dev/null 2>&1 || true
    done
    sleep 2 # the pipeline's batcher flushes into the log store
    iot count "$since" || return 1
    FIXTURE_CHECK="$(python3 -c '
import json, sys
c = json.load(sys.stdin)
reg, unreg = c["registered"], c["unregistered"]
verdict = "passed" if reg > 0 and unreg == 0 else "FAILED"
print(f"{verdict}: with the default level at ERROR, {reg} Connect events from registered bench clients (their THING_GROUP targets say INFO), {unreg} from unregistered clients")
' <"$WORK/iot.out")"
    log "fixture check $FIXTURE_CHECK"
    iot default INFO
}

# The registry server of a round: 1,000 groups and the things, then both "targets" (100 log
# targets) and "registry" (the same server with the targets deleted, or not yet added), in an
# order that alternates between rounds so neither is always measured on the warmer process.
registry_server() { # registry_server ROUND
    local round="$1"
    iot registry || { record_failure "$round" targets connect "configuration failed"; record_failure "$round" targets throughput "configuration failed"; return 1; }
    if (( round % 2 == 1 )); then
        iot targets-add || return 1
        measure_server "$round" targets prime
        if [[ "$FIXTURE_CHECK" == "not run" ]]; then fixture_check || FIXTURE_CHECK="FAILED to run"; fi
        iot targets-delete || return 1
        measure_server "$round" registry
    else
        measure_server "$round" registry prime
        iot targets-add || return 1
        measure_server "$round" targets
    fi
}

# ---------------------------------------------------------------------------------------------
# Rounds: each round runs a bare server ("none") and a registry server ("targets" and
# "registry"); fresh servers every round, the order alternating.
FIXTURE_CHECK="not run"
CONFIGS="$WORK/iot.jsonl"
: >"$CONFIGS"
log "$RUNS rounds x 2 servers, ${PRIME} s priming each, connect + throughput ${WARMUP}+${DURATION} s per measurement; results in $RESULTS"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$RUNS"); do
    order=(none registry)
    (( round % 2 == 0 )) && order=(registry none)
    for server in "${order[@]}"; do
        log "round $round/$RUNS: $server server"
        if ! start_server "$server"; then
            log "server did not start"
            for v in none targets registry; do
                [[ "$server" == none && "$v" != none ]] && continue
                [[ "$server" == registry && "$v" == none ]] && continue
                record_failure "$round" "$v" connect "server did not start"
                record_failure "$round" "$v" throughput "server did not start"
            done
            continue
        fi
        if [[ "$server" == none ]]; then
            measure_server "$round" none prime
        else
            registry_server "$round" || { log "round $round: registry server incomplete"; record_missing "$round"; }
        fi
        stop_server
    done
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------------------------
# Report.
CPU_MODEL="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"
[[ -n "$CPU_MODEL" ]] || CPU_MODEL="$(uname -m)"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]] || COMMIT="$COMMIT (working tree modified)"
REPORT="$WORK/report.md"
export RESULTS CONFIGS REPORT COMMAND_LINE COMMIT CPU_MODEL LOAD_BEFORE LOAD_AFTER DURATION WARMUP \
    RUNS PRIME WORKERS CLIENTS PAIRS FIXTURE_CHECK CONNECT_PREFIX PUBLISH_PREFIX
NPROC="$(nproc)" DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
export NPROC DATE
python3 - <<'PY'
import json, os, statistics
env = os.environ
rows = [json.loads(l) for l in open(env["RESULTS"]) if l.strip()]
configs = [json.loads(l) for l in open(env["CONFIGS"]) if l.strip()]

def ok(r):
    return not r.get("failed")

def clean(r):
    return ok(r) and not r.get("errors") and r.get("lost", 0) == 0 and r.get("failed", 0) == 0

def get(r, path):
    for k in path.split("."):
        r = (r or {}).get(k)
    return r

def values(variant, mode, path):
    return [get(r, path) for r in rows if r["variant"] == variant and r["mode"] == mode and ok(r)
            and get(r, path) is not None]

def fmt(x, digits):
    return "n/a" if x is None else f"{x:,.{digits}f}"

def summary(xs, digits):
    if not xs:
        return "failed"
    return f"{fmt(statistics.median(xs), digits)} [{fmt(min(xs), digits)}–{fmt(max(xs), digits)}]"

def paired_ratios(mode, path, base, other="targets"):
    """other / base within each round."""
    out = []
    for rnd in sorted({r["round"] for r in rows}):
        pick = lambda v: [get(r, path) for r in rows if r["round"] == rnd and r["variant"] == v
                          and r["mode"] == mode and ok(r) and get(r, path)]
        a, b = pick(base), pick(other)
        if a and b:
            out.append(b[0] / a[0])
    return out

def ratio_cell(mode, path, base):
    pr = paired_ratios(mode, path, base)
    return f"{statistics.median(pr):.3f} [{min(pr):.3f}–{max(pr):.3f}]" if pr else "n/a"

MEASURES = [
    ("connects/s", "connect", "connects_per_s", 0),
    ("connect latency p50, µs", "connect", "latency.p50_us", 0),
    ("connect latency p99, µs", "connect", "latency.p99_us", 0),
    ("broker CPU per connect, µs", "connect", "broker_cpu_us_per_connect", 1),
    ("generator CPU, cores (connect)", "connect", "generator_cpu_cores", 2),
    ("QoS 1 delivered msg/s", "throughput", "delivered_per_s", 0),
    ("broker CPU per message, µs", "throughput", "broker_cpu_us_per_msg", 1),
    ("generator CPU, cores (throughput)", "throughput", "generator_cpu_cores", 2),
]
out = []
w = out.append
w(f"## Log-level resolution cost: 100 targets vs none ({env['DATE']}, commit {env['COMMIT']})")
w("")
w(f"- Machine: {env['NPROC']} CPUs ({env['CPU_MODEL']}), shared with other work; load average before/after: {env['LOAD_BEFORE']} / {env['LOAD_AFTER']}")
w(f"- Command: `{env['COMMAND_LINE'].strip()}`")
w(f"- Servers: `thingwatch serve --default-log-level INFO --max-log-targets 200`, fresh data directory each; {env['RUNS']} round(s), each "
  "starting a bare server (**none**) and a registry server, back to back, order alternating. The registry server gets "
  f"1,000 thing groups 5 deep (5 / 20 / 80 / 320 / 575) and {int(env['CLIENTS']) + 2 * int(env['PAIRS']):,} things (every bench "
  "client ID), each in one leaf group, and is measured twice: with 100 log targets (**targets**) and without them "
  "(**registry**: targets deleted, or not yet added; the order alternates by round)")
w("- The 100 targets: 70 THING_GROUP at INFO on every depth (every root included, so every bench client resolves through one), "
  "10 CLIENT_ID, 10 SOURCE_IP, 10 PRINCIPAL_ID matching no bench client. Everything logs at INFO in every variant: only the resolution differs")
w(f"- (a) `thingwatch-bench connect`: {env['WORKERS']} workers, CONNECT → CONNACK → DISCONNECT on fresh connections, client IDs "
  f"{env['CONNECT_PREFIX']}0..{env['CONNECT_PREFIX']}{int(env['CLIENTS']) - 1}; (b) `thingwatch-bench throughput --qos 1`: "
  f"{env['PAIRS']} publishers → {env['PAIRS']} subscribers ({env['PUBLISH_PREFIX']}p<i>, {env['PUBLISH_PREFIX']}s<i>), 64-byte payloads, "
  f"window 100; {env['WARMUP']} s warm-up + {env['DURATION']} s measured each, after {env['PRIME']} s of unmeasured connect load on every fresh server")
w(f"- Fixture check: {env['FIXTURE_CHECK']}")
w("")
w("| measure | none | registry | targets | targets ÷ none, per round | targets ÷ registry (same server), per round |")
w("|---|---|---|---|---|---|")
for name, mode, path, digits in MEASURES:
    cells = [summary(values(v, mode, path), digits) for v in ("none", "registry", "targets")]
    w(f"| {name} | {' | '.join(cells)} | {ratio_cell(mode, path, 'none')} | {ratio_cell(mode, path, 'registry')} |")
w("")
w("Cells: median [min–max] over rounds; ratios: median [min–max] of the per-round ratios.")
runs = {v: (sum(1 for r in rows if r["variant"] == v and clean(r)), sum(1 for r in rows if r["variant"] == v))
        for v in ("none", "registry", "targets")}
w("Clean runs: " + ", ".join(f"{v} {a}/{b}" for v, (a, b) in runs.items()) + ".")
def rate(key):
    ts = [c["timings"][key] for c in configs if key in c.get("timings", {})]
    if not ts:
        return "n/a"
    return f"{statistics.median(t['per_s'] for t in ts):,.0f}/s ({statistics.median(t['s'] for t in ts):.1f} s for {ts[0]['calls']:,})"
threads = configs[0]["threads"] if configs else "?"
w(f"Configuring over HTTP (botocore, SigV4, {threads} threads), medians: CreateThingGroup {rate('groups')}, "
  f"CreateThing {rate('things')}, AddThingToThingGroup {rate('memberships')}, SetV2LoggingLevel {rate('targets')}, "
  f"DeleteV2LoggingLevel {rate('delete_targets')}.")
w("")
problems = sorted({(r["variant"], r["mode"], r.get("reason", "")) for r in rows if not ok(r)} |
                  {(r["variant"], r["mode"], e) for r in rows if ok(r) for e in r.get("errors", [])})
if problems:
    w("Failures:")
    w("")
    for variant, mode, reason in problems:
        w(f"- {variant} {mode}: {reason}")
    w("")
w("How to read this: a ratio below 1 for a rate (or above 1 for latency or CPU) is what the targets cost. "
  "*targets ÷ registry* compares one server process with and without its 100 targets, so it isolates the resolution; "
  "*targets ÷ none* compares different processes (and adds the registry). On a shared 2-core machine, run-to-run "
  "differences of 10–30 % are noise; broker CPU per connect or per message is the steadier cost figure. "
  "The generator shares the machine with the broker.")
w("")
open(env["REPORT"], "w").write("\n".join(out) + "\n")
PY

echo
cat "$REPORT"
log "raw results: $RESULTS"
if [[ "$APPEND" == 1 ]]; then
    [[ -f "$OUT" ]] || printf '# Benchmarks\n\n' >"$OUT"
    { echo; cat "$REPORT"; } >>"$OUT"
    log "appended to $OUT"
fi
