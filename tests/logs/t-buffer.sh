#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The buffer with the collector down. mode=blocking (the default): once the buffer is full the
# shipper stops reading the pipe, the container blocks in write(), and when the collector comes
# back every line arrives. mode=non-blocking: the container never blocks, the oldest messages
# are dropped and counted, and what is missing at the collector is exactly what was counted.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq rsyslogd nft

logs_up
fabric_syslog_stop

# --- blocking ---------------------------------------------------------------------------------
N=200000
stats=$FABRIC_RUN/stats-blocking.json
logship_bg "$FABRIC_RUN/out.json" web --stats "$stats" -- seq -f 'line %06g' 1 $N
pid=$LOGSHIP_PID
# It writes its counters once when it is ready for SIGUSR1.
check "logship is up" wait_until 5 test -s "$stats"

# stats_now: fresh counters from logship (SIGUSR1 writes them).
stats_now()
{
        rm -f "$stats"
        kill -USR1 "$pid"
        wait_until 5 test -s "$stats" && cat "$stats"
}
child_blocked()
{
        local st=$1 child

        child=$(jq .child_pid <<<"$st")
        # pipe_write, or anon_pipe_write on newer kernels
        [[ $(cat "/proc/$child/wchan" 2>/dev/null) == *pipe_write ]]
}
paused()
{
        local st

        st=$(stats_now) && [[ $(jq '.paused' <<<"$st") == true ]] && child_blocked "$st"
}
check "the shipper stops reading and the writer blocks in write()" wait_until 20 paused
st=$(stats_now)
child=$(jq .child_pid <<<"$st")
written=$(awk '/^wchar/ { print $2 }' "/proc/$child/io")
check_eq "nothing delivered, nothing dropped" "0 0" \
        "$(jq -r '.ship | "\(.delivered) \(.dropped)"' <<<"$st")"
check "the buffer is full: its frames fill its 1,000,000 bytes to within one message" \
        test "$(jq .ship.buffered_bytes <<<"$st")" -gt $((1000000 - 200)) -a \
        "$(jq .ship.buffered_bytes <<<"$st")" -le 1000000
buffered=$(jq .ship.buffered <<<"$st")
check "the writer is held back: $written of the $((N * 12)) bytes written" \
        test "$written" -lt $((N * 12))
# What it wrote is in the buffer, in the pipe (64 KiB) or in the source's buffer (64 KiB).
check "no more than the buffer's $buffered lines and two pipe buffers" \
        test "$written" -le $((buffered * 12 + 2 * 65536))
sleep 0.3
check "and it stays blocked" \
        test "$(awk '/^wchar/ { print $2 }' "/proc/$child/io")" == "$written"
check "connections were tried and refused" test "$(jq .ship.connect_failures <<<"$st")" -gt 0
check "the collector comes back" fabric_syslog_start
rc=0
wait "$pid" || rc=$?
out=$(cat "$FABRIC_RUN/out.json")
check_eq "logship exits 0" 0 "$rc"
check_eq "every message delivered, none dropped" "$N $N 0" \
        "$(jq -r '.ship | "\(.messages) \(.delivered) \(.dropped)"' <<<"$out")"
check "the collector wrote them" wait_received $N
check "all of them, in order" diff <(received) <(seq -f 'line %06g' 1 $N)

# --- non-blocking -----------------------------------------------------------------------------
M=50000
fabric_syslog_stop
: >"$FABRIC_SYSLOG_FILE"
stats=$FABRIC_RUN/stats-nb.json
logship_bg "$FABRIC_RUN/out.json" nb --stats "$stats" --log-opt mode=non-blocking \
        --log-opt max-buffer-size=64k -- seq -f 'line %06g' 1 $M
pid=$LOGSHIP_PID
check "logship is up" wait_until 5 test -s "$stats"
writer_done()
{
        local st

        st=$(stats_now) && [[ $(jq '.child_exited and .eof' <<<"$st") == true ]]
}
check "the writer runs to its end without the collector" wait_until 20 writer_done
st=$(stats_now)
check_eq "without blocking: the pipe was never paused" "false 0" \
        "$(jq -r '"\(.paused) \(.ship.full)"' <<<"$st")"
check "the buffer kept at most 64 KiB" test "$(jq .ship.buffered_bytes <<<"$st")" -le 65536
check "the collector comes back" fabric_syslog_start
rc=0
wait "$pid" || rc=$?
out=$(cat "$FABRIC_RUN/out.json")
check_eq "logship exits 0 (every message delivered or dropped)" 0 "$rc"
read -r messages delivered dropped <<<"$(jq -r '.ship | "\(.messages) \(.delivered) \(.dropped)"' <<<"$out")"
check_eq "every line was submitted" $M "$messages"
check "most were dropped ($dropped)" test "$dropped" -gt $((M / 2))
check_eq "delivered and dropped add up" $M $((delivered + dropped))
check "the collector wrote what was delivered" wait_received "$delivered"
check_eq "the collector is missing exactly the dropped ones" $((M - dropped)) "$(received_count)"
check "the oldest were dropped: what arrived is the newest lines, in order" \
        diff <(received) <(seq -f 'line %06g' 1 $M | tail -n "$delivered")
check_eq "the local file kept every line" $M \
        "$("$O/tests/tools/logship" logs --log-dir "$LOGS_DIR" --container nb --json | wc -l)"
check "netd detaches the task" netdctl task detach t1
tap_done
