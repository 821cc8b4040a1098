#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The platform ENI (platform version 1.3.0): sockets in the platform namespace marked with a
# task's slot and a flow count for that task, both ways, to the byte, in its stats' "platform"
# member, while its own ENI shows none of it; the platform ENI's device counters are the sum of
# what it attributed and its own traffic. A kill -9 of netd in the middle of the traffic loses
# nothing; a slot taken by the next task starts from zero; marks of no live task are the
# platform's.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq curl

K=400
S=300
fabric_up 3
fabric_service_start
netd_start --stats-interval 1 --metrics-listen 127.0.0.1:9464
echo=$FABRIC_GATEWAY:$FABRIC_UDP_PORT
for i in 1 2 3; do
        netdctl eni register "$(fabric_eni_mac $i)" subnet "$FABRIC_SUBNET" \
                gateway "$FABRIC_GATEWAY" >/dev/null
done
pmac=$(fabric_eni_mac 3)
pip=$(fabric_eni_ip 3)
pns=$(fabric_task_ns plat)
check "attach the platform ENI" netdctl platform attach p1 netns "$pns" mac "$pmac" addr "$pip/16"
check "attach t1" netdctl task attach t1 netns "$(fabric_task_ns t1)" mac "$(fabric_eni_mac 1)" \
        addr "$(fabric_eni_ip 1)/16"
counters_no_arp t1 "$(fabric_eni_ip 1)" "$(fabric_eni_mac 1)"
slot=$(netdctl -j task show t1 | jq .slot)

# As counters_no_arp, for the platform namespace's eth0.
gwmac=$(ip -n "$FABRIC_VPC_NS" -j link show br0 | jq -r '.[0].address')
ip -n "$FABRIC_PREFIX-plat" neigh replace "$FABRIC_GATEWAY" lladdr "$gwmac" dev eth0 nud permanent
ip -n "$FABRIC_VPC_NS" neigh replace "$pip" lladdr "$pmac" dev br0 nud permanent

# udpsend in the platform namespace
psend()
{
        fabric_nsexec plat "$O/tests/tools/udpsend" --dst "$echo" "$@"
}
pstats()
{
        netdctl -j platform show p1 | jq .stats
}
sum4()
{
        echo "$1 $2" | awk '{ print $1 + $5, $2 + $6, $3 + $7, $4 + $8 }'
}

st=$(netdctl -j stats t1)
check_eq "a task's stats have a platform share, zero at first" "0 0 0 0" "$(st_at .platform.totals <<<"$st")"
check_eq "with every flow" "app auth efs logs metadata pull secrets" \
        "$(jq -r '.platform.flows | keys | join(" ")' <<<"$st")"

check "$K datagrams of $S bytes marked t1/pull from the platform namespace, and their replies" \
        psend --count $K --size $S --mark "$(counters_mark "$slot" 1)"
st=$(netdctl -j stats t1)
check_eq "t1's pull on the platform ENI: exactly those bytes, both ways" "$(expect4 $K $S)" \
        "$(st_at .platform.flows.pull <<<"$st")"
check_eq "its platform totals are the same" "$(expect4 $K $S)" "$(st_at .platform.totals <<<"$st")"
check_eq "t1's own ENI shows none of it" "0 0 0 0" "$(st_totals <<<"$st")"
check_eq "its device neither" "0 0 0 0" "$(dev_stats t1)"
ps=$(pstats)
check_eq "the platform ENI's device counted the same" "$(expect4 $K $S)" \
        "$(jq -r '.device | "\(.rx_bytes) \(.rx_packets) \(.tx_bytes) \(.tx_packets)"' <<<"$ps")"
check_eq "the platform ENI's flows add up to its device" "$(st_device <<<"$ps")" \
        "$(st_flows_sum <<<"$ps")"
check_eq "all of it attributed" "$(expect4 $K $S)" "$(st_at .attributed.totals <<<"$ps")"
metrics=$(fabric_nsexec host curl -sf http://127.0.0.1:9464/metrics)
w=$((S + 8 + 20 + 14))
check_match "Prometheus: t1's pull on the platform ENI, its own series" \
        "taskplane_task_network_bytes_total\\{task_id=\"t1\",flow=\"pull\",direction=\"tx\",eni=\"platform\"\\} $((K * w))" \
        "$metrics"
check_match "Prometheus: t1's ENI series are as before" \
        "taskplane_task_network_bytes_total\\{task_id=\"t1\",flow=\"pull\",direction=\"tx\"\\} 0" \
        "$metrics"
check_eq "nothing of the platform's own" "0 0 0 0" "$(st_at .unattributed.totals <<<"$ps")"

check "t1 sends 10 datagrams of its own" udpsend_in t1 --dst "$echo" --count 10 --size 100
check "20 unmarked datagrams from the platform namespace" psend --count 20 --size 50
check "30 marked with a slot of no task" psend --count 30 --size 60 --mark "$(counters_mark 77 1)"
st=$(netdctl -j stats t1)
ps=$(pstats)
check_eq "t1's share on the platform ENI did not change" "$(expect4 $K $S)" \
        "$(st_at .platform.totals <<<"$st")"
check_eq "t1's own traffic is on its ENI only" "$(expect4 10 100)" "$(st_totals <<<"$st")"
check_eq "the platform's own: unmarked is app" "$(expect4 20 50)" \
        "$(st_at .unattributed.flows.app <<<"$ps")"
check_eq "the platform's own: a mark of no task keeps its flow" "$(expect4 30 60)" \
        "$(st_at .unattributed.flows.pull <<<"$ps")"
check_eq "device = attributed + the platform's own" "$(st_device <<<"$ps")" \
        "$(sum4 "$(st_at .attributed.totals <<<"$ps")" "$(st_at .unattributed.totals <<<"$ps")")"

# A kill -9 of netd while a marked stream runs: counting is the kernel's.
fabric_nsexec plat "$O/tests/tools/udpsend" --dst "$echo" --count 200 --size 100 \
        --interval-us 10000 --mark "$(counters_mark "$slot" 4)" >"$FABRIC_RUN/stream.out" 2>&1 &
stream=$!
sleep 0.5
netd_kill9
check "netd restarts after a kill -9 in the middle of the stream" netd_start --stats-interval 1 \
        --metrics-listen 127.0.0.1:9464
check "the stream got every reply" wait "$stream"
st=$(netdctl -j stats t1)
check_eq "t1's logs on the platform ENI: every byte" "$(expect4 200 100)" "$(st_at .platform.flows.logs <<<"$st")"
check_eq "the platform ENI is kept" ATTACHED "$(netdctl -j platform show p1 | jq -r .state)"
check "and checks ok" netdctl platform check p1
ps=$(pstats)
check_eq "device = attributed + the platform's own, after the restart" "$(st_device <<<"$ps")" \
        "$(sum4 "$(st_at .attributed.totals <<<"$ps")" "$(st_at .unattributed.totals <<<"$ps")")"

# t1 leaves: its final counters keep its share; the next task of its slot starts from zero.
final_pull=$(st_at .platform.flows.pull <<<"$st")
check "detach t1" netdctl task detach t1
check "netd finishes t1's teardown (its slot is free again)" netd_settled
check_eq "t1's final counters keep its platform share" "$final_pull" \
        "$(netdctl -j stats t1 | st_at .platform.flows.pull)"
check "5 datagrams marked with t1's slot while no task has it" psend --count 5 --size 70 \
        --mark "$(counters_mark "$slot" 1)"
check "attach t2" netdctl task attach t2 netns "$(fabric_task_ns t2)" mac "$(fabric_eni_mac 2)" \
        addr "$(fabric_eni_ip 2)/16"
check_eq "t2 has t1's slot" "$slot" "$(netdctl -j task show t2 | jq .slot)"
check_eq "t2's platform share starts from zero" "0 0 0 0" \
        "$(netdctl -j stats t2 | st_at .platform.totals)"
check "7 datagrams marked t2/auth" psend --count 7 --size 80 --mark "$(counters_mark "$slot" 2)"
check_eq "they are t2's" "$(expect4 7 80)" "$(netdctl -j stats t2 | st_at .platform.flows.auth)"
check_eq "t1's final counters did not move" "$final_pull" "$(netdctl -j stats t1 | st_at .platform.flows.pull)"
ps=$(pstats)
check_eq "the 5 of no task are the platform's own" "$(expect4 $((30 + 5)) 60 | cut -d' ' -f2)" \
        "$(st_at .unattributed.flows.pull <<<"$ps" | cut -d' ' -f2)"
check_eq "device = attributed + the platform's own, across tasks" "$(st_device <<<"$ps")" \
        "$(sum4 "$(st_at .attributed.totals <<<"$ps")" "$(st_at .unattributed.totals <<<"$ps")")"

check "detach t2" netdctl task detach t2
check "detach the platform ENI" netdctl platform detach p1
check "netd finishes the teardown" netd_settled
check "netd stops cleanly" netd_stop
tap_done
