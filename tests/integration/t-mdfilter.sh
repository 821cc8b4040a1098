#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The host side of the metadata links: from a task's link the host takes only TCP to
# 169.254.170.2:80 from that task's own metadata address. Raw SYNs (CAP_NET_RAW, past the task's
# own guards) to other services of netd's namespace, to other host addresses or with another
# task's address get no answer and are counted per task; with CAP_NET_ADMIN a task that deletes
# its guards still reaches nothing else; the filter survives a netd restart.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq curl nft

fabric_up 3
netd_start
for i in 1 2 3; do
        netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
done
netdctl task attach a netns "$(fabric_task_ns a)" mac "$(fabric_eni_mac 1)" addr "$(fabric_eni_ip 1)/16" >/dev/null
netdctl task attach b netns "$(fabric_task_ns b)" mac "$(fabric_eni_mac 2)" addr "$(fabric_eni_ip 2)/16" >/dev/null
mda=$(netdctl -j task show a | jq -r .metadata.address)
mdb=$(netdctl -j task show b | jq -r .metadata.address)
hosta=$(netdctl -j task show a | jq -r .metadata.host_ifname)
hostb=$(netdctl -j task show b | jq -r .metadata.host_ifname)
maca=$(ip -n "$FABRIC_HOST_NS" -j link show "$hosta" | jq -r '.[0].address')

# netd's namespace: the metadata endpoint, a service on 0.0.0.0 and another address of the host.
other=198.19.255.1
ip -n "$FABRIC_HOST_NS" addr add "$other/32" dev lo
fabric_nsexec host "$O/tests/tools/vpcd" --http 169.254.170.2:80 >/dev/null 2>&1 &
fabric_nsexec host "$O/tests/tools/vpcd" --http 0.0.0.0:2222 --body host-service >/dev/null 2>&1 &
check "the endpoint and a host service listen" wait_until 5 fabric_nsexec host bash -c \
        "ss -ltn | grep -q 169.254.170.2:80 && ss -ltn | grep -q 0.0.0.0:2222"

probe()  # probe SRC DST:PORT: what a raw SYN from task a through md0 gets back
{
        fabric_nsexec a "$O/tests/tools/rawsyn" --ifname md0 --dst-mac "$maca" --src "$1" \
                --dst "$2" --timeout-ms 1000 2>&1 || echo "rawsyn failed"
}
drops()  # drops TASK: packets the host-side filter dropped from the task's link
{
        netdctl -j stats "$1" | jq .drops.metadata_filter.tx.packets
}

check_eq "a raw SYN to the endpoint gets its SYN-ACK (the probe works)" syn-ack \
        "$(probe "$mda" 169.254.170.2:80)"
check_eq "no drops counted for a yet" 0 "$(drops a)"
check_eq "a raw SYN to a 0.0.0.0 service of netd's namespace gets no answer" none \
        "$(probe "$mda" 169.254.170.2:2222)"
check_eq "a raw SYN to another address of the host gets no answer" none \
        "$(probe "$mda" "$other:2222")"
check_eq "a raw SYN with b's metadata address gets no answer" none \
        "$(probe "$mdb" 169.254.170.2:80)"
check_eq "the three are counted as a's drops of reason metadata_filter" 3 "$(drops a)"
check_eq "... and none as b's" 0 "$(drops b)"
check_match "netdctl stats shows them" "metadata_filter rx 0 tx 3 packets" "$(netdctl stats a)"
check_match "the stats of every task carry the reason" "metadata_filter" \
        "$(netdctl -j stats | jq -r '.tasks[0].drops | keys | join(" ")')"

for side in "$hosta" "$hostb"; do
        check_eq "strict reverse-path filtering on $side" 1 \
                "$(fabric_nsexec host sysctl -n "net.ipv4.conf.$side.rp_filter")"
done

# CAP_NET_ADMIN in the task: its own guards go, the host's filter stays.
ip netns exec "$FABRIC_PREFIX-a" nft flush ruleset
ip -n "$FABRIC_PREFIX-a" route add "$other/32" dev md0
check_fail "without its guards, a cannot connect to the host service over md0" \
        fabric_nsexec a curl -sS --max-time 2 http://169.254.170.2:2222/
check_fail "... nor to another host address routed over md0" \
        fabric_nsexec a curl -sS --max-time 2 "http://$other:2222/"
n=$(drops a)
ip -n "$FABRIC_PREFIX-a" addr add "$mdb/32" dev md0
fabric_nsexec a curl -sS --max-time 2 --interface "$mdb" http://169.254.170.2/ >/dev/null 2>&1 || true
ip -n "$FABRIC_PREFIX-a" addr del "$mdb/32" dev md0
check_match "... and a connection from b's address is dropped and counted as a's" '^[1-9]' "$(($(drops a) - n))"
check_match "... while the endpoint still answers it" "you are $mda\$" \
        "$(fabric_nsexec a curl -sS --max-time 3 http://169.254.170.2/ 2>&1 || true)"
check_match "task b reaches the endpoint as itself" "you are $mdb\$" \
        "$(fabric_nsexec b curl -sS --max-time 3 http://169.254.170.2/ 2>&1 || true)"
ip -n "$FABRIC_PREFIX-a" route del "$other/32" dev md0

# task check sees a missing element; a restarted netd puts it back and keeps the counts.
before=$(drops a)
fabric_nsexec host nft delete element inet taskplane-metadata links "{ \"$hosta\" }"
check_match "task check reports a's missing filter element" "metadata-filter" \
        "$(netdctl -j task check a | jq -c .differences)"
check "task b still checks ok" netdctl task check b
check_eq "a link missing from the filter is still dropped" none "$(probe "$mda" 169.254.170.2:2222)"
netd_kill9
check_eq "while netd is down the filter holds" none "$(probe "$mda" 169.254.170.2:2222)"
check "netd restarts" netd_start
check_match "the restart re-adopted the filter and put a's element back" '"tpmd' \
        "$(fabric_nsexec host nft -j list set inet taskplane-metadata links | jq -c '.nftables[1].set.elem')"
check "task b checks ok after the restart" netdctl task check b
check_eq "b's element kept its count across the restart" 0 "$(drops b)"
check_eq "the endpoint answers a after the restart" syn-ack "$(probe "$mda" 169.254.170.2:80)"
check_eq "and the filter still drops and counts" none "$(probe "$mda" 169.254.170.2:2222)"
check_eq "a's count went on from where it was" "$((before + 1))" "$(drops a)"

# A rule removed by hand: task check says so, and a restarted netd rebuilds the table with every
# task's element, each count carried on.
handle=$(fabric_nsexec host nft -a list chain inet taskplane-metadata input |
        sed -n 's/.*jump check_dest # handle \([0-9]*\)/\1/p')
fabric_nsexec host nft delete rule inet taskplane-metadata input handle "$handle"
check_match "task check reports the filter's missing rule" \
        '"metadata-filter: input: iifname \\"tpmd\*\\" jump check_dest -> missing"' \
        "$(netdctl -j task check b | jq -c '[.differences[] | "\(.what): \(.expected) -> \(.actual)"]')"
counts="$(drops a) $(drops b)"
netd_stop
check "netd restarts" netd_start
check_eq "a's filter checks ok in the rebuilt table (its guards are gone since the flush)" \
        '["guards"]' "$(netdctl -j task check a | jq -c '[.differences[].what] | unique')"
check "b checks ok in the rebuilt table" netdctl task check b
check_eq "the counts went on" "$counts" "$(drops a) $(drops b)"
check_eq "the host service is out of reach again" none "$(probe "$mda" 169.254.170.2:2222)"
check_eq "... and counted" "$(($(drops a) - 1)) $(drops b)" "$counts"

# The table deleted by hand: task check says so, and the next attach makes it again, with
# every task's elements.
fabric_nsexec host nft delete table inet taskplane-metadata
check_match "task check reports the filter's missing table" \
        '"metadata-filter: table inet taskplane-metadata -> missing"' \
        "$(netdctl -j task check b | jq -c '[.differences[] | "\(.what): \(.expected) -> \(.actual)"]')"
check "an attach makes the table again" netdctl task attach c netns "$(fabric_task_ns c)" \
        mac "$(fabric_eni_mac 3)" addr "$(fabric_eni_ip 3)/16"
check "b checks ok in it" netdctl task check b
check "c checks ok in it" netdctl task check c
check_eq "the host service is out of reach again" none "$(probe "$mda" 169.254.170.2:2222)"
check "detach c" netdctl task detach c

final=$(drops a)
check "detach a" netdctl task detach a
check_eq "a's final counters keep what the filter dropped" "true $final" \
        "$(netdctl -j stats a | jq -r '"\(.detached) \(.drops.metadata_filter.tx.packets)"')"
check "detach b" netdctl task detach b
check "netd finishes the teardown" netd_settled
check_eq "no element left in the filter" "0 0" \
        "$(fabric_nsexec host nft -j list table inet taskplane-metadata |
                jq -r '[.nftables[] | select(.set) | (.set.elem // []) | length] | join(" ")')"
check "netd stops cleanly" netd_stop
check_eq "with no task left, netd removed its table" "" "$(fabric_nsexec host nft list ruleset)"
tap_done
