#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The collector restarts twice (gracefully: it stops taking data, writes out what its TCP
# acknowledged, exits, starts again) while a container writes: no line is lost and none is
# duplicated (the shipper sends again only what was not acknowledged whole), in order.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq rsyslogd nft

N=20000
logs_up

# 40 bursts of 500 lines, 0.1 s apart: about 4 s of writing for the two restarts to fall into.
writer="for i in \$(seq 0 39); do seq -f 'line %06g' \$((i * 500 + 1)) \$((i * 500 + 500)); sleep 0.1; done"
logship_bg "$FABRIC_RUN/out.json" web -- sh -c "$writer"
pid=$LOGSHIP_PID
check "the collector has some of the lines" wait_received 3000
check "it restarts" fabric_syslog_restart
c=$(received_count)
check "in the middle of the stream ($c of $N lines were in)" test "$c" -lt $N
check "the collector has more of the lines" wait_received $((c + 3000))
check "it restarts again" fabric_syslog_restart
c=$(received_count)
check "in the middle of the stream again ($c of $N)" test "$c" -lt $N
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
