#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the log tests (tests/logs/t-*.sh), sourced after tests/lib.sh: a task namespace
# attached by netd (ENI 1, its address, the logs flow's mark of its slot), the VPC's syslog
# collector, and tests/tools/logship (the shim's stand-in) shipping from that namespace.

LOGS_TASK_ID=0123456789abcdef0123456789abcdef
LOGS_GROUP=/ecs/logs-test
LOGS_PREFIX=tp
LOGS_REGION=us-east-1

# logs_up: fabric with one ENI, the collector, netd, task t1 attached. Sets LOGS_NS (its
# namespace), LOGS_IP, LOGS_SLOT, LOGS_MARK (the logs flow of its slot), LOGS_DIR (for the
# local log files).
logs_up()
{
        local mac

        fabric_up 1 || tap_bail "fabric_up"
        trap _logs_exit EXIT
        fabric_syslog_start || tap_bail "fabric_syslog_start"
        netd_start || tap_bail "netd_start"
        mac=$(fabric_eni_mac 1)
        LOGS_IP=$(fabric_eni_ip 1)
        netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" \
                >/dev/null || tap_bail "eni register"
        LOGS_NS=$(fabric_task_ns t1)
        netdctl task attach t1 netns "$LOGS_NS" mac "$mac" addr "$LOGS_IP/16" >/dev/null ||
                tap_bail "task attach"
        LOGS_SLOT=$(netdctl -j task show t1 | jq .slot)
        LOGS_MARK=$(((0x54 << 24) | (LOGS_SLOT << 8) | 4))
        LOGS_DIR=$FABRIC_RUN/logs
        mkdir -p "$LOGS_DIR"
}

# logship_argv CONTAINER [--log-opt K=V | other run options]... -- CMD...: set LOGSHIP to the
# command line of the shim's stand-in with the container's awslogs options for the fabric's
# collector, its socket in the task's namespace with the logs flow's mark, the local log file
# in LOGS_DIR. Its counters (JSON) go to stdout.
logship_argv()
{
        local container=$1
        shift

        LOGSHIP=("$O/tests/tools/logship" run --container "$container"
                --task-id "$LOGS_TASK_ID" --netns "$LOGS_NS" --mark "$LOGS_MARK"
                --hostname "$LOGS_IP" --log-dir "$LOGS_DIR" --backoff-max-ms 500
                --log-opt "awslogs-group=$LOGS_GROUP" --log-opt "awslogs-region=$LOGS_REGION"
                --log-opt "awslogs-stream-prefix=$LOGS_PREFIX"
                --log-opt "awslogs-endpoint=$FABRIC_SYSLOG_ENDPOINT" "$@")
}

# logship_run ARGS...: run it (logship_argv's arguments) in the foreground.
logship_run()
{
        logship_argv "$@"
        "${LOGSHIP[@]}"
}

# logship_bg OUT ARGS...: run it in the background, its output to OUT; LOGSHIP_PID is its pid.
# It is killed when the script exits.
LOGS_BG=()
logship_bg()
{
        local out=$1
        shift

        logship_argv "$@"
        "${LOGSHIP[@]}" >"$out" &
        LOGSHIP_PID=$!
        LOGS_BG+=("$LOGSHIP_PID")
}

# (The script's exit status stays its own; under set -e a failing command here would end the
# trap before the teardown.)
_logs_exit()
{
        local pid

        for pid in "${LOGS_BG[@]}"; do
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done
        fabric_down || true
}

# received [FILTER]: the messages the collector wrote, one per line (jq's .msg), of those that
# pass the jq select FILTER.
received()
{
        jq -r "select(${1:-true}) | .msg" "$FABRIC_SYSLOG_FILE"
}

received_count()
{
        jq -c "select(${1:-true})" "$FABRIC_SYSLOG_FILE" | wc -l
}

# wait_received N [FILTER]: until the collector has written N messages (10 s).
_received_is()
{
        [[ $(received_count "${2:-}") -ge $1 ]]
}

wait_received()
{
        wait_until 10 _received_is "$@"
}

# stat_of JSON KEY: one counter of logship's output (.ship.KEY or, with a dot, the path).
stat_of()
{
        jq -r ".$2" <<<"$1"
}
