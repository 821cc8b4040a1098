#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A task sends exactly K UDP datagrams of S bytes to the VPC's echo service and gets them back:
# netd's totals for eth1 equal the kernel's device counters (ip -s link in the task namespace)
# and the expected numbers, to the byte; the flows add up to the totals; rates follow traffic.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq

K=1000
S=200
fabric_up 1
fabric_service_start
netd_start --stats-interval 1
mac=$(fabric_eni_mac 1)
ip=$(fabric_eni_ip 1)
netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
ns=$(fabric_task_ns t1)
check "attach t1" netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16"
counters_no_arp t1 "$ip" "$mac"

st=$(netdctl -j stats t1)
check_eq "nothing counted before any traffic" "0 0 0 0" "$(st_totals <<<"$st")"
check_eq "the device agrees" "0 0 0 0" "$(dev_stats t1)"
check_eq "the result names the task, its slot and its device" "t1 0 READY false eth1" \
        "$(jq -r '"\(.task_id) \(.slot) \(.phase) \(.detached) \(.device.ifname)"' <<<"$st")"
check_eq "all seven flows and four drop reasons are there" \
        "app auth efs logs metadata pull secrets|imds metadata_filter policy spoof" \
        "$(jq -r '"\(.flows | keys | join(" "))|\(.drops | keys | join(" "))"' <<<"$st")"

check "t1 sends $K datagrams of $S bytes and gets $K replies" \
        udpsend_in t1 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --count $K --size $S
st=$(netdctl -j stats t1)
dev=$(dev_stats t1)
check_eq "netd's totals are the expected numbers, to the byte" "$(expect4 $K $S)" \
        "$(st_totals <<<"$st")"
check_eq "the kernel's device counters are the same" "$(expect4 $K $S)" "$dev"
check_eq "netd's device section is the kernel's" "$dev" "$(st_device <<<"$st")"
check_eq "the flows add up to the totals" "$(st_totals <<<"$st")" "$(st_flows_sum <<<"$st")"
check_eq "unmarked traffic is app" "$(expect4 $K $S)" "$(st_flow app <<<"$st")"
check_eq "the ENI's share is all of it" "$(st_totals <<<"$st")" \
        "$(jq -r '"\(.eni.rx.bytes) \(.eni.rx.packets) \(.eni.tx.bytes) \(.eni.tx.packets)"' <<<"$st")"
check_eq "no errors, no drops on the device" "0 0 0 0" \
        "$(jq -r '.device | "\(.rx_errors) \(.rx_dropped) \(.tx_errors) \(.tx_dropped)"' <<<"$st")"
check_eq "no drops counted" 0 "$(jq '[.drops[][] | .packets] | add' <<<"$st")"
check_eq "no GSO on UDP: segments equal packets" "$K $K" \
        "$(jq -r '"\(.totals.rx.segments) \(.totals.tx.segments)"' <<<"$st")"

# Rates: the sample after the traffic has it in its window, a later one has not.
rate_positive()
{
        [[ $(netdctl -j stats t1 | jq '.rates.rx_bytes_per_sec > 0 and .rates.tx_bytes_per_sec > 0') == true ]]
}
rate_zero()
{
        [[ $(netdctl -j stats t1 | jq '.rates.rx_bytes_per_sec == 0 and .rates.tx_bytes_per_sec == 0') == true ]]
}
check "a sample shows the traffic as a rate" wait_until 4 rate_positive
check "and a later one, idle, shows none" wait_until 4 rate_zero
check_eq "over the sampling interval" 1 "$(netdctl -j stats t1 | jq .rates.window_sec)"

# Twice more, of other sizes: still exact.
check "100 datagrams of 1400 bytes" \
        udpsend_in t1 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --count 100 --size 1400
check "1 datagram of 8000 bytes (one frame: the MTU is 9001)" \
        udpsend_in t1 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --count 1 --size 8000
read -r rb rp tb tp <<<"$(expect4 $K $S)"
want="$((rb + 100 * 1442 + 8042)) $((rp + 101)) $((tb + 100 * 1442 + 8042)) $((tp + 101))"
st=$(netdctl -j stats t1)
check_eq "totals: exactly the three runs" "$want" "$(st_totals <<<"$st")"
check_eq "device: the same" "$want" "$(dev_stats t1)"

all=$(netdctl -j stats)
check_eq "stats without a task lists every task" "t1" "$(jq -r '[.tasks[].task_id] | join(" ")' <<<"$all")"
check_eq "with the same numbers" "$want" "$(jq '.tasks[0]' <<<"$all" | st_totals)"
check_fail "an unknown task is an error" netdctl stats nosuch
check_match "... that says so" "No such task" "$(netdctl stats nosuch 2>&1 || true)"
check "detach" netdctl task detach t1
tap_done
