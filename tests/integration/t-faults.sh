#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A failure injected after each attach step, and a crash (SIGKILL) after each step followed by a
# restart, leave no trace: the host, the task namespace and the journal are as before.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq

fabric_up 1
netd_start --enable-fault-injection
mac=$(fabric_eni_mac 1)
netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
ns=$(fabric_task_ns t1)
n=$FABRIC_PREFIX-t1
ip=$(fabric_eni_ip 1)
# A host MTU other than the task MTU, so that "as before" means something.
ip -n "$FABRIC_HOST_NS" link set "$(fabric_eni_name 1)" mtu 1400

snapshot()
{
        ip -n "$FABRIC_HOST_NS" -d -j link show | jq -c '[.[] | {ifname, address, mtu, operstate, flags}]'
        ip -n "$FABRIC_HOST_NS" -j addr show | jq -c '[.[].addr_info[]]'
        ip -n "$n" -d -j link show | jq -c '[.[] | {ifname, address, mtu, operstate}]'
        ip -n "$n" -j addr show | jq -c '[.[].addr_info[]]'
        ip -n "$n" -j route show table all | jq -c .
        ip -n "$n" -6 -j route show table all 2>/dev/null | jq -c . || true
        ip netns exec "$n" nft list ruleset
        # netd's filter of the metadata links: no element of the task left
        ip netns exec "$FABRIC_HOST_NS" nft -j list table inet taskplane-metadata |
                jq -c '[.nftables[] | select(.set) | {name: .set.name, elem: (.set.elem // [])}]'
        ls -A "/etc/netns/$n" 2>/dev/null || true
        tc -n "$FABRIC_HOST_NS" qdisc show dev "$(fabric_eni_name 1)" 2>/dev/null || true
        tc -n "$FABRIC_HOST_NS" filter show dev "$(fabric_eni_name 1)" ingress 2>/dev/null || true
}
before=$(snapshot)

steps="move guards counters mtu addresses metadata up routes loopback dns"
for step in $steps; do
        out=$(netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16" route 10.30.0.0/16 via "$FABRIC_GATEWAY" nameserver 198.18.0.2 fault "$step" 2>&1 || true)
        check_match "fault after '$step': the error names the step" "Step '$step' failed" "$out"
        check_eq "fault after '$step': no trace in the kernel" "$before" "$(snapshot)"
        check_eq "fault after '$step': no task" 0 "$(netdctl -j task list | jq length)"
        check_eq "fault after '$step': ENI available" available "$(netdctl -j eni show "$mac" | jq -r .state)"
        check_eq "fault after '$step': no journal" "" "$(ls "$NETD_RUN_DIR/state/tasks")"
        check_eq "fault after '$step': no counters journal, no final counters" "" \
                "$(ls "$NETD_RUN_DIR/state/counters" "$NETD_RUN_DIR/state/final" | grep json || true)"
done

for step in $steps; do
        netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16" route 10.30.0.0/16 via "$FABRIC_GATEWAY" nameserver 198.18.0.2 fault "crash:$step" >/dev/null 2>&1 || true
        wait_until 3 bash -c "! kill -0 $NETD_PID 2>/dev/null"
        check_fail "crash after '$step': netd died" kill -0 "$NETD_PID"
        check "crash after '$step': netd restarts" netd_start --enable-fault-injection
        if [[ $step == dns ]]; then
                # Every step had begun and the result checks out: the attach is finished.
                check_eq "crash after the last step: the attach is kept" READY \
                        "$(netdctl -j task show t1 | jq -r .phase)"
                check "crash after the last step: and it checks ok" netdctl task check t1
                check "crash after the last step: and detaches" netdctl task detach t1
                check "crash after the last step: netd finishes the teardown" netd_settled
        fi
        check_eq "crash after '$step': no trace in the kernel" "$before" "$(snapshot)"
        check_eq "crash after '$step': no task" 0 "$(netdctl -j task list | jq length)"
        check_eq "crash after '$step': ENI available" available "$(netdctl -j eni show "$mac" | jq -r .state)"
        check_eq "crash after '$step': no journal" "" "$(ls "$NETD_RUN_DIR/state/tasks")"
        check_eq "crash after '$step': no counters journal" "" "$(ls "$NETD_RUN_DIR/state/counters")"
done
check "a normal attach works after all that" netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16"
check "and a detach" netdctl task detach t1
check "netd finishes the teardown" netd_settled
check_eq "leaving no trace" "$before" "$(snapshot)"
check "netd stops cleanly" netd_stop
tap_done
