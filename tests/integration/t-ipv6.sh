#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# IPv6: an address added without duplicate address detection (usable at once), a default route
# via the ENI's IPv6 gateway, and the IPv6 instance metadata address guarded too.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq

export FABRIC_IPV6=1
fabric_up 1
netd_start
mac=$(fabric_eni_mac 1)
check "register an ENI with an IPv6 subnet and gateway" netdctl eni register "$mac" \
        subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" subnet6 fd00:198:18::/64 gateway6 fe80::1
ns=$(fabric_task_ns t1)
n=$FABRIC_PREFIX-t1
check "attach with an IPv4 and an IPv6 address" netdctl task attach t1 netns "$ns" mac "$mac" \
        addr "$(fabric_eni_ip 1)/16" addr fd00:198:18::10/64
a6=$(ip -n "$n" -6 -j addr show dev eth1 scope global)
check_eq "the IPv6 address is there" "fd00:198:18::10/64" \
        "$(jq -r '.[0].addr_info[0] | "\(.local)/\(.prefixlen)"' <<<"$a6")"
check_eq "and not tentative (no DAD wait)" "null" "$(jq -r '.[0].addr_info[0].tentative' <<<"$a6")"
check_eq "IPv6 default route via the gateway" "fe80::1" \
        "$(ip -n "$n" -6 -j route show default | jq -r '.[0].gateway')"
check_match "fd00:ec2::254 is rejected and counted by the guards" \
        'ip6 daddr fd00:ec2::254 counter name "imds6" reject' "$(ip netns exec "$n" nft list table inet taskplane-eth1)"
check "the check covers all of it" netdctl task check t1
handle=$(ip netns exec "$n" nft -a list chain inet taskplane-eth1 output | sed -n 's/.*fd00:ec2::254.*# handle \([0-9]*\)/\1/p')
ip netns exec "$n" nft delete rule inet taskplane-eth1 output handle "$handle"
check_match "a removed IPv6 block is found" "guards: output: ip6 daddr fd00:ec2::254" \
        "$(netdctl -j task check t1 | jq -r '.differences[] | "\(.what): \(.expected)"')"
check "detach" netdctl task detach t1
tap_done
