#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Attach and detach several tasks: the kernel's view of each task namespace matches what netd
# reports, each task reaches the VPC service, and detach gives every ENI back as it was.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq curl

fabric_up 3
fabric_service_start
netd_start

for i in 1 2 3; do
        check "register ENI $i" netdctl eni register "$(fabric_eni_mac "$i")" \
                subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" name "eni$i"
done
check_eq "three ENIs available" "available available available" \
        "$(netdctl -j eni list | jq -r '[.[].state] | join(" ")')"
check "registering again with the same parameters is a no-op" \
        netdctl eni register "$(fabric_eni_mac 1)" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" name eni1
check_fail "registering again with other parameters fails" \
        netdctl eni register "$(fabric_eni_mac 1)" subnet "$FABRIC_SUBNET" gateway 198.18.0.2

declare -A host_mtu
for i in 1 2 3; do
        host_mtu[$i]=$(ip -n "$FABRIC_HOST_NS" -j link show "$(fabric_eni_name "$i")" | jq '.[0].mtu')
done

for i in 1 2 3; do
        ns=$(fabric_task_ns "t$i")
        check "attach task t$i" netdctl task attach "t$i" netns "$ns" mac "$(fabric_eni_mac "$i")" \
                addr "$(fabric_eni_ip "$i")/16" route 10.99.0.0/16 via "$FABRIC_GATEWAY" \
                nameserver 198.18.0.2 search example.internal
done

for i in 1 2 3; do
        ns=$FABRIC_PREFIX-t$i
        mac=$(fabric_eni_mac "$i")
        link=$(ip -n "$ns" -j link show eth1)
        check_eq "t$i: eth1 has the ENI's MAC" "$mac" "$(jq -r '.[0].address' <<<"$link")"
        check_eq "t$i: eth1 MTU 9001" 9001 "$(jq -r '.[0].mtu' <<<"$link")"
        check_match "t$i: eth1 is up" '"UP"' "$(jq -c '.[0].flags' <<<"$link")"
        check_eq "t$i: address" "$(fabric_eni_ip "$i")/16" \
                "$(ip -n "$ns" -j addr show dev eth1 | jq -r '.[0].addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)"')"
        check_eq "t$i: default route via the gateway" "$FABRIC_GATEWAY" \
                "$(ip -n "$ns" -j route show default | jq -r '.[0].gateway')"
        check_eq "t$i: extra route" "$FABRIC_GATEWAY" \
                "$(ip -n "$ns" -j route show 10.99.0.0/16 | jq -r '.[0].gateway')"
        guards=$(ip netns exec "$ns" nft list table inet taskplane-eth1)
        check_match "t$i: IMDS rejected and counted by the guards" \
                'ip daddr 169.254.169.254 counter name "imds" reject' "$guards"
        md=$(netdctl -j task show "t$i" | jq -r .metadata.address)
        check_match "t$i: only 169.254.170.2:80 from its own address over the metadata link" \
                "oifname \"md0\" ip saddr $md ip daddr 169.254.170.2 tcp dport 80 accept" "$guards"
        check_eq "t$i: metadata link address" "$md/32" \
                "$(ip -n "$ns" -j addr show dev md0 | jq -r '.[0].addr_info[0] | "\(.local)/\(.prefixlen)"')"
        check_eq "t$i: route to the metadata endpoint over md0" md0 \
                "$(ip -n "$ns" -j route show 169.254.170.2 | jq -r '.[0].dev')"
        check_fail "t$i: ENI gone from the host" ip -n "$FABRIC_HOST_NS" link show "$(fabric_eni_name "$i")"
        show=$(netdctl -j task show "t$i")
        check_eq "t$i: netd reports the interface" "eth1 $mac 9001 /run/netns/$ns" \
                "$(jq -r '.interfaces[0] | "\(.name) \(.mac) \(.mtu) \(.sandbox)"' <<<"$show")"
        check_eq "t$i: netd reports the DNS" "198.18.0.2 example.internal" \
                "$(jq -r '"\(.dns.nameservers[0]) \(.dns.search[0])"' <<<"$show")"
        check_eq "t$i: phase READY" READY "$(jq -r .phase <<<"$show")"
        check "t$i: task check ok" netdctl task check "t$i"
        body=$(fabric_nsexec "t$i" curl -sS --max-time 5 "$FABRIC_HTTP_URL" 2>&1 || true)
        check_match "t$i: reaches the VPC service" "you are $(fabric_eni_ip "$i")" "$body"
done

check_eq "netd lists three tasks" "t1 t2 t3" \
        "$(netdctl -j task list | jq -r '[.[].task_id] | sort | join(" ")')"
check_eq "three ENIs attached" "attached attached attached" \
        "$(netdctl -j eni list | jq -r '[.[].state] | join(" ")')"
check_fail "an attached ENI cannot be deregistered" netdctl eni deregister "$(fabric_eni_mac 1)"
check_fail "a second attach of the same ENI fails" netdctl task attach t9 \
        netns "$(fabric_task_ns t9)" mac "$(fabric_eni_mac 1)" addr 198.18.9.9/16
check_fail "a second task with the same id fails" netdctl task attach t1 \
        netns "$(fabric_task_ns t8)" mac "$(fabric_eni_mac 2)" addr 198.18.9.9/16

for i in 1 2 3; do
        check "detach t$i" netdctl task detach "t$i"
done
check "netd finishes the teardown (metadata links, guards)" netd_settled
for i in 1 2 3; do
        name=$(fabric_eni_name "$i")
        check "ENI $i back on the host as $name" fabric_nsexec host ip link show "$name"
        check_eq "ENI $i has its MTU back" "${host_mtu[$i]}" \
                "$(ip -n "$FABRIC_HOST_NS" -j link show "$name" | jq '.[0].mtu')"
        check_match "ENI $i is down on the host" "state DOWN" "$(fabric_nsexec host ip link show "$name")"
        check_eq "t$i's namespace is empty but lo" "lo" \
                "$(ip -n "$FABRIC_PREFIX-t$i" -j link | jq -r '[.[].ifname] | join(" ")')"
        check_eq "t$i's guards are gone" "" "$(ip netns exec "$FABRIC_PREFIX-t$i" nft list ruleset)"
done
check_eq "no task left" 0 "$(netdctl -j task list | jq length)"
check_eq "no metadata link left on the host" "" \
        "$(ip -n "$FABRIC_HOST_NS" -j link | jq -r '.[] | select(.ifname | startswith("tpmd")) | .ifname')"
check_eq "three ENIs available again" "available available available" \
        "$(netdctl -j eni list | jq -r '[.[].state] | join(" ")')"
check "deregister ENI 3" netdctl eni deregister "$(fabric_eni_mac 3)"
check_eq "two ENIs left" 2 "$(netdctl -j eni list | jq length)"
check "netd stops cleanly" netd_stop
check_eq "run directory holds no task journal" "" "$(ls "$NETD_RUN_DIR/state/tasks")"
tap_done
