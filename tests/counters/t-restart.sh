#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# netd SIGKILLed in the middle of a steady stream and restarted: counting never stopped (the
# filters hold the programs, the maps are pinned), the new netd re-adopts the same filters, and
# the counts still equal the kernel's and the expected numbers, replies of a marked flow
# included. A filter removed while netd was down is attached again on start.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq tc

K=3000
S=300
fabric_up 1
fabric_service_start
netd_start --stats-interval 1
mac=$(fabric_eni_mac 1)
ip=$(fabric_eni_ip 1)
n=$FABRIC_PREFIX-t1
netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
check "attach t1" netdctl task attach t1 netns "$(fabric_task_ns t1)" mac "$mac" addr "$ip/16"
counters_no_arp t1 "$ip" "$mac"
slot=$(netdctl -j task show t1 | jq .slot)
progs()
{
        tc -n "$n" -j filter show dev eth1 ingress | jq -r '[.[] | select(.options.bpf_name) | .options.prog.id] | join(",")'
        tc -n "$n" -j filter show dev eth1 egress | jq -r '[.[] | select(.options.bpf_name) | .options.prog.id] | join(",")'
}
before=$(progs)
attached=$(netdctl -j stats t1 | jq -c '[.attached, .device_at_attach]')

# About 3 s of traffic: a datagram every millisecond, in the logs flow.
udpsend_in t1 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --count $K --size $S --interval-us 1000 \
        --window 64 --mark "$(counters_mark "$slot" 4)" >"$FABRIC_RUN/stream.out" 2>&1 &
stream=$!
sleep 1
pid=$NETD_PID
netd_kill9
check_fail "netd is gone" kill -0 "$pid"
mid=$(dev_stats t1)
sleep 0.5
check "netd restarts during the stream" netd_start --stats-interval 1
check "the stream ends with every reply" wait "$stream"
tap_diag "$(cat "$FABRIC_RUN/stream.out")"
check_match "the kill hit the stream in the middle" "^[1-9][0-9]* " "$mid"
st=$(netdctl -j stats t1)
check_eq "the logs flow has every datagram and every reply" "$(expect4 $K $S)" "$(st_flow logs <<<"$st")"
check_eq "nothing else was counted" "$(expect4 $K $S)" "$(st_totals <<<"$st")"
check_eq "equal to the kernel's device counters" "$(dev_stats t1)" "$(st_totals <<<"$st")"
check_eq "the same filters (program ids) are attached" "$before" "$(progs)"
check_eq "the attach record survived the restart" "$attached" \
        "$(jq -c '[.attached, .device_at_attach]' <<<"$st")"
check_match "netd re-adopted them" "counters re-adopted on 'eth1'" "$(cat "$NETD_LOG")"
check_eq "and attached nothing again" 0 \
        "$(netdctl -j events | jq '[.[] | select(.type == "counters.reattached")] | length')"
check "task check is ok" netdctl task check t1

# A filter removed behind netd's back while it is down is put back on start.
netd_kill9
tc -n "$n" filter del dev eth1 egress pref 65520 handle 0x54 bpf
check_fail "the egress filter is gone" bash -c "tc -n $n filter show dev eth1 egress | grep -q tc_egress"
check "netd restarts" netd_start --stats-interval 1
check_eq "it attached the filter again" 1 \
        "$(netdctl -j events | jq '[.[] | select(.type == "counters.reattached")] | length')"
check "task check is ok" netdctl task check t1
check "10 more marked datagrams" udpsend_in t1 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --count 10 \
        --size $S --mark "$(counters_mark "$slot" 4)"
st=$(netdctl -j stats t1)
check_eq "still the logs flow, both ways (the learned table survived)" "$(expect4 $((K + 10)) $S)" \
        "$(st_flow logs <<<"$st")"
check_eq "still equal to the device" "$(dev_stats t1)" "$(st_totals <<<"$st")"

# task check finds a missing filter.
tc -n "$n" filter del dev eth1 ingress pref 1 handle 0x54 bpf
check_match "task check reports a missing counter filter" "counters: tc ingress filter of slot $slot" \
        "$(netdctl -j task check t1 | jq -r '.differences[] | "\(.what): \(.expected)"')"
check "detach still works" netdctl task detach t1
check_eq "and takes the clsact qdisc with it" "" "$(tc -n "$FABRIC_HOST_NS" qdisc show dev "$(fabric_eni_name 1)" | grep clsact || true)"
tap_done
