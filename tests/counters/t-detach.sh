#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Detach keeps a task's final counters readable (in memory and on disk, across a restart) until
# they are collected or the retention passes; the slot's counters start from zero for the next
# task, whose device counters go on from where the ENI was (device_at_attach).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq

fabric_up 1
fabric_service_start
netd_start --stats-interval 1
mac=$(fabric_eni_mac 1)
ip=$(fabric_eni_ip 1)
netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
check "attach t1" netdctl task attach t1 netns "$(fabric_task_ns t1)" mac "$mac" addr "$ip/16"
counters_no_arp t1 "$ip" "$mac"
check "t1 talks" udpsend_in t1 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --count 100 --size 100
live=$(netdctl -j stats t1)
dev=$(dev_stats t1)
check "detach t1" netdctl task detach t1

final=$(netdctl -j stats t1)
check_eq "t1's counters are still readable, marked detached" "t1 DELETED true" \
        "$(jq -r '"\(.task_id) \(.phase) \(.detached)"' <<<"$final")"
check_eq "with the totals it had" "$(expect4 100 100)" "$(st_totals <<<"$final")"
check_eq "and its flows" "$(jq -cS .flows <<<"$live")" "$(jq -cS .flows <<<"$final")"
check_eq "and its device's last counters" "$dev" "$(st_device <<<"$final")"
check_match "and when it was detached" "^20[0-9-]+T" "$(jq -r .detached_at <<<"$final")"
check "a file keeps them" ls "$NETD_RUN_DIR"/state/final/t1@*.json
check_eq "stats lists the detached task" "t1 true" \
        "$(netdctl -j stats | jq -r '.tasks[] | "\(.task_id) \(.detached)"')"
check_match "netdctl shows it" "task t1 slot 0 DELETED \(detached " "$(netdctl stats t1)"

check "netd stops" netd_stop
check "netd starts again" netd_start --stats-interval 1
check_eq "the final counters are still there" "$(jq -cS 'del(.rates)' <<<"$final")" \
        "$(netdctl -j stats t1 | jq -cS 'del(.rates)')"

check "attach t2 on the same ENI" netdctl task attach t2 netns "$(fabric_task_ns t2)" mac "$mac" addr "$ip/16"
counters_no_arp t2 "$ip" "$mac"
st=$(netdctl -j stats t2)
check_eq "t2 has t1's slot" 0 "$(jq .slot <<<"$st")"
check_eq "and it starts from zero" "0 0 0 0" "$(st_totals <<<"$st")"
check_eq "the device goes on from where it was: device_at_attach says where" "$dev" \
        "$(jq -r '.device_at_attach | "\(.rx_bytes) \(.rx_packets) \(.tx_bytes) \(.tx_packets)"' <<<"$st")"
check "t2 talks" udpsend_in t2 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --count 10 --size 50
st=$(netdctl -j stats t2)
read -r a b c d <<<"$(dev_stats t2)"
read -r e f g h <<<"$dev"
check_eq "t2's totals are the device's counters since the attach" "$((a - e)) $((b - f)) $((c - g)) $((d - h))" \
        "$(st_totals <<<"$st")"
check_eq "and the expected numbers" "$(expect4 10 50)" "$(st_totals <<<"$st")"
check_eq "t1's final counters did not move" "$(expect4 100 100)" "$(netdctl -j stats t1 | st_totals)"

coll=$(netdctl -j stats collect t1)
check_eq "collect returns t1's final counters" "t1 $(expect4 100 100)" \
        "$(jq -r '.tasks[0] | "\(.task_id) \(.totals.rx.bytes) \(.totals.rx.packets) \(.totals.tx.bytes) \(.totals.tx.packets)"' <<<"$coll")"
check_fail "after which they are gone" netdctl stats t1
check_eq "file and all" "" "$(ls "$NETD_RUN_DIR"/state/final/)"
check_eq "collecting again returns nothing" 0 "$(netdctl -j stats collect t1 | jq '.tasks | length')"

# Retention: 2 s.
netd_stop
check "netd restarts with a 2 s retention" netd_start --stats-interval 1 --stats-retention 2
check "detach t2" netdctl task detach t2
check_eq "t2's final counters are there" "true" "$(netdctl -j stats t2 | jq .detached)"
sleep 0.5
t2_gone()
{
        ! netdctl stats t2 >/dev/null 2>&1
}
check_fail "not yet gone after 0.5 s" t2_gone
check "gone within 4 s" wait_until 4 t2_gone
check_eq "file and all" "" "$(ls "$NETD_RUN_DIR"/state/final/)"
check_eq "no counters journal is left" "" "$(ls "$NETD_RUN_DIR"/state/counters/)"
tap_done
