#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A launched task's logs (issue 11, part 5): its containers' stdout and stderr, shipped by the
# shim from the task's namespace to the collector its awslogs options name (by name, resolved
# with the task's DNS; or by address), arrive at the VPC's syslog collector exactly (count,
# order, stream), also when the collector restarts in the middle; netd counts them in the task's
# "logs" flow, equal to an independent count on the VPC side; `taskvm logs` shows them, and
# follows them (-f) until the task stops.
set -euo pipefail
source "$(dirname "$0")/common.sh"
require_cmd rsyslogd
ln_setup 2
fabric_syslog_start || tap_bail "syslog collector"

N=3000
# received FILTER: the messages of the collector matching the jq FILTER (their text).
received()
{
        jq -r "select($1) | .msg" "$FABRIC_SYSLOG_FILE"
}
received_count()
{
        jq -r "select($1) | .msg" "$FABRIC_SYSLOG_FILE" | wc -l
}
_received_at_least()
{
        (($(received_count "$1") >= $2))
}

# --- by name, a restart of the collector in the middle --------------------------------------
# (busybox's seq has no -f: awk formats)
lines() { echo "seq $2 $3 | awk '{ print \"$1\", sprintf(\"%05d\", \$1) }'"; }
talk="$(lines line 1 1000); sleep 2; $(lines line 1001 2000); sleep 2; $(lines line 2001 $N);
      $(lines oops 1 100) >&2"
ln_taskdef web "$(jq -n --arg img "$LN_IMAGE" --arg cmd "$talk" '{containerDefinitions: [
    {name: "app", image: $img, command: ["/bin/sh", "-c", $cmd],
     logConfiguration: {logDriver: "awslogs", options: {
       "awslogs-group": "/ecs/web", "awslogs-region": "us-west-2",
       "awslogs-stream-prefix": "ecs", "awslogs-endpoint": "tcp://syslog.vpc.test:5514"}}}]}')"
id=$(ln_run web 1) || true
stream="ecs/app/$id"
sel="(.sd | contains(\"$stream\"))"
( taskvm logs "$id" app -f >"$FABRIC_RUN/follow.out" 2>&1; echo "rc=$?" >>"$FABRIC_RUN/follow.out" ) &
follow=$!
if wait_until 20 _received_at_least "$sel" 1000; then
        check "the collector restarts (gracefully) while the container goes on" \
                fabric_syslog_restart graceful
else
        tap_fail "the first thousand lines arrive" "$(received_count "$sel")"
fi
check "the task ends by itself" ln_wait_phase "$id" STOPPED 60
check "the collector has them all" wait_until 20 _received_at_least "$sel" $((N + 100))
check_eq "exactly that many, none twice" $((N + 100)) "$(received_count "$sel")"
check "stdout's lines, in order" diff -u <(received "$sel and .msgid == \"stdout\"") \
        <(seq -f 'line %05g' 1 $N)
check "stderr's lines" diff <(received "$sel and .msgid == \"stderr\"") <(seq -f 'oops %05g' 1 100)
check_eq "the name was resolved with the task's nameserver, from the task's address" 1 \
        "$(grep -c "dns type 1 'syslog.vpc.test' from $(fabric_eni_ip 1): NOERROR" \
                "$FABRIC_RUN/vpcd.log")"
check_eq "HOSTNAME is the task's address; group and stream as Fargate names them" \
        "app $(fabric_eni_ip 1) [awslogs@32473 group=\"/ecs/web\" stream=\"$stream\"]" \
        "$(jq -rs --arg s "$stream" '[.[] | select(.sd | contains($s)) | "\(.app) \(.host) \(.sd)"] | unique | join(",")' \
                "$FABRIC_SYSLOG_FILE")"
logs=$(taskvm logs "$id" app 2>/dev/null)
check "taskvm logs: every stdout line, in order" diff <(echo "$logs") <(seq -f 'line %05g' 1 $N)
check_eq "and stderr's on its stderr" 100 "$(taskvm logs "$id" app 2>&1 >/dev/null | wc -l)"
wait "$follow" || true
check_eq "taskvm logs -f followed them all and ended with the task" "$((N + 100)) rc=0" \
        "$(grep -c '^line\|^oops' "$FABRIC_RUN/follow.out") $(tail -n 1 "$FABRIC_RUN/follow.out")"
check_eq "-j: one JSON object per entry" "$((N + 100)) app stdout" \
        "$(taskvm -j logs "$id" | jq -rs '"\(length) \(.[0].container) \(.[0].stream)"')"
check_eq "nothing of the task is left" "" "$(ln_leftovers "$id")"

# --- the logs flow, exactly --------------------------------------------------------------------
ln_vpc_port_count tplogs 2 5514 || tap_bail "nft"
ln_taskdef count "$(jq -n --arg img "$LN_IMAGE" '{containerDefinitions: [
    {name: "app", image: $img, stopTimeout: 2,
     command: ["/bin/sh", "-c", "seq 1 2000 | awk \"{ print \\\"count\\\", \\$1 }\"; trap \"exit 0\" TERM; while :; do sleep 0.2; done"],
     logConfiguration: {logDriver: "awslogs", options: {
       "awslogs-group": "/ecs/count", "awslogs-region": "us-west-2",
       "awslogs-stream-prefix": "ecs", "awslogs-endpoint": "tcp://198.18.0.1:5514"}}}]}')"
id2=$(ln_run count 2) || true
sel2="(.sd | contains(\"ecs/app/$id2\"))"
check "2000 lines at the collector" wait_until 20 _received_at_least "$sel2" 2000
check "taskvm stop (the shipper drains and closes)" taskvm stop "$id2"
st=$(netdctl -j stats "$id2")
check_match "the logs flow moved the lines" '^[0-9]{5,} ' "$(jq -r '.flows.logs.tx.bytes' <<<"$st") "
check_eq "logs: netd's flow equals the VPC side's count, both ways" \
        "$(ln_vpc_flow tplogs tx rx)" "$(st_at .flows.logs <<<"$st")"
check_eq "exactly 2000 lines" 2000 "$(received_count "$sel2")"
ln_done
