#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A packet whose source address the task was not given is dropped on egress and counted as
# spoof; it never reaches the VPC, and it is not in the device's counters nor in the flows.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq

fabric_up 1
fabric_service_start
netd_start
mac=$(fabric_eni_mac 1)
ip=$(fabric_eni_ip 1)
n=$FABRIC_PREFIX-t1
netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
check "attach t1 with one address" netdctl task attach t1 netns "$(fabric_task_ns t1)" mac "$mac" addr "$ip/16"
counters_no_arp t1 "$ip" "$mac"

# Someone in the task adds an address it was not given (a task has no CAP_NET_ADMIN; this is
# the test standing in for a forged source).
ip -n "$n" addr add 198.18.200.1/16 dev eth1
ip -n "$FABRIC_VPC_NS" neigh replace 198.18.200.1 lladdr "$mac" dev br0 nud permanent
check "5 datagrams from 198.18.200.1 are sent (from the socket's view)" \
        udpsend_in t1 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --src 198.18.200.1 --count 5 \
        --size 100 --no-replies
check_fail "with replies expected, none come back" \
        udpsend_in t1 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --src 198.18.200.1 --count 1 \
        --size 100 --timeout 1
st=$(netdctl -j stats t1)
check_eq "6 spoofed packets dropped and counted, with their bytes" "$((6 * 142)) 6" \
        "$(jq -r '.drops.spoof.tx | "\(.bytes) \(.packets)"' <<<"$st")"
check_eq "nothing dropped on ingress" "0 0" "$(jq -r '.drops.spoof.rx | "\(.bytes) \(.packets)"' <<<"$st")"
check_eq "not in the totals" "0 0 0 0" "$(st_totals <<<"$st")"
check_eq "not on the wire: the device sent nothing" "0 0 0 0" "$(dev_stats t1)"
check_eq "imds and policy are zero" "0 0 0 0" \
        "$(jq -r '"\(.drops.imds.tx.packets) \(.drops.imds.rx.packets) \(.drops.policy.tx.packets) \(.drops.policy.rx.packets)"' <<<"$st")"

check "the task's own address still works" \
        udpsend_in t1 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --src "$ip" --count 3 --size 100
st=$(netdctl -j stats t1)
check_eq "3 datagrams and replies counted" "$(expect4 3 100)" "$(st_totals <<<"$st")"
check_eq "equal to the device" "$(dev_stats t1)" "$(st_totals <<<"$st")"
check_eq "the spoof count did not move" 6 "$(jq .drops.spoof.tx.packets <<<"$st")"
check_match "netdctl stats shows the drops" "spoof rx 0 tx 6 packets" "$(netdctl stats t1)"
check "detach" netdctl task detach t1
tap_done
