# Broker start/stop shared by the benchmark scripts (sourced, not run; needs lib/procs.sh).
# The caller sets WORK, PIDS (from procs.sh), TW_BIN (the thingwatch binary), MOSQUITTO (the
# mosquitto binary) and a `log` function. start_<broker> sets BROKER_PID, BROKER_PORT and, for
# Thingwatch, BROKER_HTTP_PORT and BROKER_DATA. Sourcing this file raises the shell's
# open-file soft limit to its hard limit (`ulimit -n $(ulimit -Hn)`), so every broker and
# generator started afterwards can hold as many connections as the machine allows.

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

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

start_mosquitto() { # start_mosquitto [EXTRA_CONFIG_LINE...]: loopback, anonymous, in memory
    BROKER_PORT="$(free_port)"
    local conf="$WORK/mosquitto.conf" line
    {
        echo "# Written by the Thingwatch benchmark scripts: loopback only, anonymous, in memory."
        echo "listener $BROKER_PORT 127.0.0.1"
        for line in "$@"; do echo "$line"; done
        echo "allow_anonymous true"
        echo "persistence false"
        echo "log_dest stderr"
        echo "log_type error"
    } >"$conf"
    "$MOSQUITTO" -c "$conf" >>"$WORK/mosquitto.log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_port "$BROKER_PORT" "$BROKER_PID" mosquitto || { tail -20 "$WORK/mosquitto.log" >&2; return 1; }
}

start_thingwatch() { # start_thingwatch LEVEL [EXTRA_SERVE_ARG...]: fresh data directory
    local level="$1"
    shift
    BROKER_DATA="$(mktemp -d "$WORK/tw-data-$level.XXXXXX")"
    BROKER_PORT="$(free_port)"
    BROKER_HTTP_PORT="$(free_port)"
    "$TW_BIN" serve --data-dir "$BROKER_DATA" \
        --mqtt-listen "127.0.0.1:$BROKER_PORT" --http-listen "127.0.0.1:$BROKER_HTTP_PORT" \
        --default-log-level "$level" "$@" >"$WORK/thingwatch-$level.log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_port "$BROKER_PORT" "$BROKER_PID" "thingwatch ($level)" ||
        { tail -20 "$WORK/thingwatch-$level.log" >&2; return 1; }
}

stop_broker() { # stops BROKER_PID and forgets it
    stop_pid "$BROKER_PID"
    local kept=() pid
    for pid in "${PIDS[@]}"; do [[ "$pid" == "$BROKER_PID" ]] || kept+=("$pid"); done
    PIDS=("${kept[@]}")
}

find_mosquitto() { # sets MOSQUITTO, installing the Debian package if it is missing
    if ! command -v mosquitto >/dev/null 2>&1 && [[ ! -x /usr/sbin/mosquitto ]]; then
        log "mosquitto not found; installing the Debian package"
        local sudo=""
        [[ "$(id -u)" == 0 ]] || sudo="sudo"
        $sudo apt-get update -qq && $sudo apt-get install -y -qq mosquitto >/dev/null ||
            { log "could not install mosquitto"; return 1; }
    fi
    MOSQUITTO="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
}
