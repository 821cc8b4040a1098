#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# task check compares netd's record with the kernel and finds each kind of drift.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq

fabric_up 1
netd_start
mac=$(fabric_eni_mac 1)
netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
ns=$(fabric_task_ns t1)
n=$FABRIC_PREFIX-t1
ip=$(fabric_eni_ip 1)
netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16" route 10.20.0.0/16 via "$FABRIC_GATEWAY" >/dev/null

check "a fresh task checks ok" netdctl task check t1
check_eq "JSON says ok with no differences" "true 0" \
        "$(netdctl -j task check t1 | jq -r '"\(.ok) \(.differences | length)"')"

diffs()
{
        netdctl -j task check t1 | jq -c '[.differences[] | "\(.what): \(.expected) -> \(.actual)"]'
}

ip -n "$n" route del 10.20.0.0/16
check_fail "a deleted route fails the check (exit 1)" netdctl task check t1
check_eq "... and names the route" '["route: 10.20.0.0/16 via 198.18.0.1 -> missing"]' "$(diffs)"
ip -n "$n" route add 10.20.0.0/16 via "$FABRIC_GATEWAY" proto static
check "restored, it checks ok" netdctl task check t1

ip -n "$n" link set eth1 mtu 1500
check_eq "a changed MTU" '["mtu: 9001 -> 1500"]' "$(diffs)"
ip -n "$n" link set eth1 mtu 9001

handle=$(ip netns exec "$n" nft -a list chain inet taskplane-eth1 output | sed -n 's/.*169.254.169.254.*# handle \([0-9]*\)/\1/p')
ip netns exec "$n" nft delete rule inet taskplane-eth1 output handle "$handle"
check_eq "a removed IMDS guard" \
        '["guards: output: ip daddr 169.254.169.254 counter name \"imds\" reject with icmpx admin-prohibited -> missing","guards: 6 rules -> 5 rules"]' \
        "$(diffs)"
ip netns exec "$n" nft add rule inet taskplane-eth1 output ip daddr 1.2.3.4 drop
check_match "an extra rule in our table is found" '"guards: 6 rules -> 6 rules"|"guards: output: ip daddr 169.254.169.254' "$(diffs)"
ip netns exec "$n" nft delete table inet taskplane-eth1
check_eq "a deleted guards table" '["guards: table inet taskplane-eth1 -> missing"]' "$(diffs)"
check "detach restores nothing it should not (no table to delete is fine)" netdctl task detach t1
netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16" route 10.20.0.0/16 via "$FABRIC_GATEWAY" >/dev/null
check "attached again, it checks ok" netdctl task check t1

ip -n "$FABRIC_HOST_NS" link set tpmd0 down
check_match "the host side of the metadata link set down" '"metadata-link \(host\): up -> down"' "$(diffs)"
ip -n "$FABRIC_HOST_NS" link set tpmd0 up
ip -n "$FABRIC_HOST_NS" route replace 169.254.172.2/32 dev tpmd0 proto static scope link
ip -n "$n" route del 169.254.170.2
check_match "the route to the metadata endpoint removed" '"metadata-link \(task\): route 169.254.170.2/32 dev md0 -> missing"' "$(diffs)"
ip -n "$n" route add 169.254.170.2/32 dev md0 proto static scope link
check "restored, it checks ok" netdctl task check t1

ip -n "$n" addr del "$ip/16" dev eth1
check_match "a removed address (and the routes that went with it)" "\"address: $ip/16 -> missing\"" "$(diffs)"
ip -n "$n" addr add "$ip/16" dev eth1
ip -n "$n" route replace default via "$FABRIC_GATEWAY" dev eth1 proto static
ip -n "$n" route replace 10.20.0.0/16 via "$FABRIC_GATEWAY" dev eth1 proto static
check "restored, it checks ok again" netdctl task check t1

ip -n "$n" link set eth1 down
check_match "a link set down" '"link: up -> down"' "$(diffs)"
ip -n "$n" link set eth1 up
ip -n "$n" route replace default via "$FABRIC_GATEWAY" dev eth1 proto static
ip -n "$n" route replace 10.20.0.0/16 via "$FABRIC_GATEWAY" dev eth1 proto static

ip -n "$n" link set eth1 netns "$FABRIC_HOST_NS"
check_match "an ENI taken out of the namespace" '"link: eth1 \(.*\) -> missing"' "$(diffs)"
check "detach still gives it back" netdctl task detach t1
check "it is on the host under its own name" ip -n "$FABRIC_HOST_NS" link show "$(fabric_eni_name 1)"

netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16" imds allow >/dev/null
check_fail "with imds allow there is no IMDS guard" grep -q 169.254.169.254 <<<"$(ip netns exec "$n" nft list ruleset)"
check "and the check is ok" netdctl task check t1
ip netns del "$n"
check_eq "a deleted namespace" "[\"netns: $ns -> missing\"]" "$(diffs)"
check "detach" netdctl task detach t1
tap_done
