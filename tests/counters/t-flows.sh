#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Traffic from a socket carrying a flow's mark (0x54 << 24 | slot << 8 | flow) lands in that
# flow, replies included (learned from the marked egress); NFS's port 2049 is efs; a mark of
# another slot or an unknown flow is app. Every flow is exact and they add up to the device.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq

fabric_up 2
fabric_service_start
# A second echo service on the NFS port.
fabric_nsexec vpc "$O/tests/tools/vpcd" --udp "$FABRIC_GATEWAY:2049" --quiet \
        >"$FABRIC_RUN/vpcd-nfs.log" 2>&1 &
netd_start
for i in 1 2; do
        netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
done
# t0 takes slot 0, so that t1 has slot 1 and a mark of slot 0 is another task's.
netdctl task attach t0 netns "$(fabric_task_ns t0)" mac "$(fabric_eni_mac 2)" addr "$(fabric_eni_ip 2)/16" >/dev/null
mac=$(fabric_eni_mac 1)
ip=$(fabric_eni_ip 1)
check "attach t1" netdctl task attach t1 netns "$(fabric_task_ns t1)" mac "$mac" addr "$ip/16"
counters_no_arp t1 "$ip" "$mac"
slot=$(netdctl -j task show t1 | jq .slot)
check_eq "t1 has slot 1" 1 "$slot"
check_eq "netdctl and the stats agree on it" 1 "$(netdctl -j stats t1 | jq .slot)"
wait_until 5 bash -c "nsenter --net=$FABRIC_VPC_NS_PATH ss -Hlun 'sport = :2049' | grep -q ."

echo=$FABRIC_GATEWAY:$FABRIC_UDP_PORT
declare -A sent=([pull]="11 300" [auth]="12 301" [secrets]="13 302" [logs]="14 303")
declare -A ids
ids=([pull]=1 [auth]=2 [secrets]=3 [logs]=4)
for f in pull auth secrets logs; do
        read -r k s <<<"${sent[$f]}"
        check "$k datagrams marked $f" udpsend_in t1 --dst "$echo" --count "$k" --size "$s" \
                --mark "$(counters_mark "$slot" "${ids[$f]}")"
done
check "7 datagrams to port 2049, unmarked" udpsend_in t1 --dst "$FABRIC_GATEWAY:2049" --count 7 --size 100
check "5 datagrams marked for slot 0 (another task's)" udpsend_in t1 --dst "$echo" --count 5 \
        --size 50 --mark "$(counters_mark 0 4)"
check "3 datagrams marked with flow 9 (none)" udpsend_in t1 --dst "$echo" --count 3 --size 60 \
        --mark "$(counters_mark "$slot" 9)"
check "2 datagrams marked app" udpsend_in t1 --dst "$echo" --count 2 --size 70 \
        --mark "$(counters_mark "$slot" 0)"

st=$(netdctl -j stats t1)
for f in pull auth secrets logs; do
        read -r k s <<<"${sent[$f]}"
        check_eq "$f: its datagrams and their replies" "$(expect4 "$k" "$s")" "$(st_flow "$f" <<<"$st")"
done
check_eq "efs: by port, both ways" "$(expect4 7 100)" "$(st_flow efs <<<"$st")"
read -r a1 a2 a3 a4 <<<"$(expect4 5 50)"
read -r b1 b2 b3 b4 <<<"$(expect4 3 60)"
read -r c1 c2 c3 c4 <<<"$(expect4 2 70)"
check_eq "app: the foreign and unknown marks and the app mark" \
        "$((a1 + b1 + c1)) $((a2 + b2 + c2)) $((a3 + b3 + c3)) $((a4 + b4 + c4))" "$(st_flow app <<<"$st")"
check_eq "metadata: nothing on the ENI" "0 0 0 0" "$(st_flow metadata <<<"$st")"
check_eq "the flows add up to the totals" "$(st_totals <<<"$st")" "$(st_flows_sum <<<"$st")"
check_eq "and the totals are the device's" "$(dev_stats t1)" "$(st_totals <<<"$st")"
check_eq "t0 saw none of it" "0 0 0 0" "$(netdctl -j stats t0 | st_totals)"
check_eq "nor did its device" "0 0 0 0" "$(dev_stats t0)"

# The learned connection outlives a mark change of the socket's next packets: replies to an
# unmarked socket on another port stay app.
check "an unmarked socket afterwards" udpsend_in t1 --dst "$echo" --count 4 --size 80
st2=$(netdctl -j stats t1)
read -r x1 x2 x3 x4 <<<"$(st_flow app <<<"$st")"
read -r y1 y2 y3 y4 <<<"$(expect4 4 80)"
check_eq "counts for app, both ways" "$((x1 + y1)) $((x2 + y2)) $((x3 + y3)) $((x4 + y4))" \
        "$(st_flow app <<<"$st2")"
check_eq "the logs flow did not move" "$(st_flow logs <<<"$st")" "$(st_flow logs <<<"$st2")"

check "netdctl flows prints a table" netdctl flows t1
check_eq "one row per flow" "7" "$(netdctl flows t1 | tail -n +2 | wc -l)"
check_match "the logs row" "^logs +$((14 * 345)) +14 +$((14 * 345)) +14$" \
        "$(netdctl flows t1 | grep '^logs')"
check_eq "netdctl -j flows is the flows object" "$(jq -cS .flows <<<"$st2")" \
        "$(netdctl -j flows t1 | jq -cS .)"
check "detach t1" netdctl task detach t1
check "detach t0" netdctl task detach t0
tap_done
