#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The collector restarts twice (gracefully: it stops taking data, writes out what its TCP
# acknowledged, exits, starts again) while a container writes: the lines written meanwhile are
# held, and no line is lost or duplicated (the shipper sends again only what was not
# acknowledged whole), in order.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq rsyslogd nft

N=20000
logs_up

# 200 bursts of 100 lines, 20 ms apart: about 4 s of writing for the two restarts to fall into.
writer="for i in \$(seq 0 199); do seq -f 'line %06g' \$((i * 100 + 1)) \$((i * 100 + 100)); sleep 0.02; done"
stats=$FABRIC_RUN/stats.json
logship_bg "$FABRIC_RUN/out.json" web --stats "$stats" -- sh -c "$writer"
pid=$LOGSHIP_PID
check "logship is up" wait_until 5 test -s "$stats"

stats_now()
{
        rm -f "$stats"
        kill -USR1 "$pid"
        wait_until 5 test -s "$stats" && cat "$stats"
}
# Lines written while the collector is down are held: the buffer is not empty.
held()
{
        local st

        st=$(stats_now) && [[ $(jq '.ship.buffered > 0 and (.ship.connected | not)' <<<"$st") == true ]]
}

for round in 1 2; do
        check "the collector has some of the lines" wait_received $((round * 4000))
        check "it stops (round $round)" fabric_syslog_stop
        c=$(received_count)
        check "in the middle of the stream ($c of $N lines were in)" test "$c" -lt $N
        check "lines written meanwhile are held" wait_until 5 held
        check "it starts again" fabric_syslog_start
done
rc=0
wait "$pid" || rc=$?
out=$(cat "$FABRIC_RUN/out.json")
check_eq "logship exits 0 (everything delivered)" 0 "$rc"
check_eq "three connections, two of them lost" "3 2" \
        "$(jq -r '.ship | "\(.connects) \(.disconnects)"' <<<"$out")"
check_eq "every message delivered once, none dropped" "$N $N 0" \
        "$(jq -r '.ship | "\(.messages) \(.delivered) \(.dropped)"' <<<"$out")"
check "the collector wrote them" wait_received $N
check_eq "exactly $N messages: no line lost, none twice" $N "$(received_count)"
check "every line, in order" diff <(received) <(seq -f 'line %06g' 1 $N)
tap_diag "messages sent again after a reconnect: $(jq .ship.resent <<<"$out")"
check "netd detaches the task" netdctl task detach t1
tap_done
