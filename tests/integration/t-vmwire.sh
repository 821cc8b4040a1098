#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The VM wiring ("wiring": "vm"): an attach makes tap0 beside eth1 and tapmd beside md0 with tc
# redirects both ways, after netd's counter filter on eth1's ingress; frames from the VPC come
# out of tap0 and frames written to tap0 leave through eth1, counted there; task check sees a
# missing redirect; a detach removes everything; a failure and a crash after the step leave no
# trace; a tap already there is refused before anything changes.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../counters/common.sh"
require_root
require_cmd jq tc

fabric_up 1
netd_start --enable-fault-injection
mac=$(fabric_eni_mac 1)
ip=$(fabric_eni_ip 1)
netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
ns=$(fabric_task_ns t1)
n=$FABRIC_PREFIX-t1

snapshot()
{
        ip -n "$FABRIC_HOST_NS" -d -j link show | jq -c '[.[] | {ifname, address, mtu, operstate}]'
        ip -n "$n" -d -j link show | jq -c '[.[] | {ifname, address, mtu, operstate}]'
        ip netns exec "$n" nft list ruleset
        ls "$NETD_RUN_DIR/state/tasks"
}
# "DIRECTION PREF KIND" of DEV's filters in the task namespace
filters()
{
        local dir

        for dir in ingress egress; do
                tc -n "$n" -j filter show dev "$1" "$dir" 2>/dev/null |
                        jq -r --arg d "$dir" '.[] | select(.kind != null) | "\($d) \(.pref) \(.kind)"' |
                        sort -u
        done | xargs
}
before=$(snapshot)

check "attach t1 wired for a VM" netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16" wiring vm
check_eq "the task says so" vm "$(netdctl -j task show t1 | jq -r .wiring)"
check_match "task show (text) names the taps" "wiring vm: tap0 beside eth1, tapmd beside md0" \
        "$(netdctl task show t1)"
check_eq "tap0 and tapmd are taps, up, with the MTU of what they stand beside" \
        "tap0 tun 9001 UP|tapmd tun $(ip -n "$n" -j link show md0 | jq .[0].mtu) UP" \
        "$(for t in tap0 tapmd; do ip -n "$n" -d -j link show "$t" |
                jq -r '.[0] | "\(.ifname) \(.linkinfo.info_kind) \(.mtu) \(.flags | index("UP") | if . then "UP" else "DOWN" end)"'; done |
                paste -sd'|')"
check_eq "eth1: netd's counters first on ingress, the sharing, then the redirect; counters on egress" \
        "ingress 1 bpf ingress 100 u32 ingress 50 bpf egress 65520 bpf" "$(filters eth1)"
check_eq "tap0: the redirect back" "ingress 100 u32" "$(filters tap0)"
check_eq "md0 and tapmd: the same" "ingress 100 u32|ingress 100 u32" "$(filters md0)|$(filters tapmd)"
check_match "the redirects are mirred to the other side" "Egress Redirect to device tap0" \
        "$(tc -n "$n" filter show dev eth1 ingress pref 100)"
check_match "... both ways" "Egress Redirect to device eth1" "$(tc -n "$n" filter show dev tap0 ingress pref 100)"
check "task check: ok" netdctl task check t1

# Frames, without a VM: what the VPC sends to the task's address is counted on eth1 by netd,
# then hits the redirect (with no reader on tap0 it has no carrier and mirred drops them:
# tests/vm/ boot a VM on it).
counters_no_arp t1 "$ip" "$mac"
redirected() { tc -n "$n" -s -j filter show dev eth1 ingress pref 100 | jq '[.[].options.actions[]?.stats.packets] | add // 0'; }
r0=$(redirected)
fabric_nsexec vpc "$O/tests/tools/udpsend" --dst "$ip:9" --count 5 --size 100 --no-replies >/dev/null
check_eq "5 frames from the VPC were counted on eth1 by netd" 5 "$(netdctl -j stats t1 | jq .totals.rx.packets)"
check_eq "... and went through the redirect to tap0" 5 "$(($(redirected) - r0))"

# Drift
tc -n "$n" filter del dev tap0 ingress pref 100
out=$(netdctl task check t1 2>&1 || true)
check_match "task check sees the missing redirect" "vm: expected tc ingress filter of tap0 to eth1, found missing" "$out"
ip -n "$n" link del tapmd
out=$(netdctl task check t1 2>&1 || true)
check_match "... and a missing tap" "vm: expected tap tapmd beside md0, found missing" "$out"

check "detach" netdctl task detach t1
check "netd finishes the teardown" netd_settled
check_eq "no tap, no filter left: as before" "$before" "$(snapshot)"

# READY_PULL: the ENI shared with the namespace's own sockets (the runtime's pulls).
fabric_service_start
ports_before=$(ip netns exec "$n" sysctl -n net.ipv4.ip_local_port_range | tr -s '\t ' ' ')
check "attach t1 wired for a VM, READY_PULL" netdctl task attach t1 netns "$ns" mac "$mac" \
        addr "$ip/16" wiring vm phase READY_PULL
counters_no_arp t1 "$ip" "$mac"
check_eq "eth1: counters, the sharing program, the redirect" \
        "ingress 1 bpf ingress 100 u32 ingress 50 bpf egress 65520 bpf" "$(filters eth1)"
check_eq "the namespace's ephemeral ports moved out of the VM's" "61000 65535" \
        "$(ip netns exec "$n" sysctl -n net.ipv4.ip_local_port_range | tr -s '\t ' ' ')"
check "task check: ok" netdctl task check t1
check "a socket of the namespace, marked pull, gets its 20 replies beside the VM's wiring" \
        udpsend_in t1 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --count 20 --size 200 \
        --mark "$(counters_mark "$(netdctl -j task show t1 | jq .slot)" 1)"
check_eq "counted as pull on eth1, both ways" "$(expect4 20 200)" "$(netdctl -j stats t1 | st_flow pull)"
r0=$(redirected)
fabric_nsexec vpc "$O/tests/tools/udpsend" --dst "$ip:9" --count 3 --size 100 --no-replies >/dev/null
check_eq "what is for no socket of the namespace still goes to the VM" 3 "$(($(redirected) - r0))"
check "READY" netdctl task phase t1 READY
check_eq "eth1: the sharing program stays in READY" \
        "ingress 1 bpf ingress 100 u32 ingress 50 bpf egress 65520 bpf" "$(filters eth1)"
check "task check: ok" netdctl task check t1
check "in READY the namespace's socket (as the shim's log shippers) still gets its replies" \
        udpsend_in t1 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --count 2 --size 200 --timeout 2 \
        --mark "$(counters_mark "$(netdctl -j task show t1 | jq .slot)" 4)"
r0=$(redirected)
fabric_nsexec vpc "$O/tests/tools/udpsend" --dst "$ip:9" --count 3 --size 100 --no-replies >/dev/null
check_eq "and the rest still goes to the VM" 3 "$(($(redirected) - r0))"
check "READY_PULL again" netdctl task phase t1 READY_PULL
check_eq "the sharing program is still there" \
        "ingress 1 bpf ingress 100 u32 ingress 50 bpf egress 65520 bpf" "$(filters eth1)"
tc -n "$n" filter del dev eth1 ingress pref 50
out=$(netdctl task check t1 2>&1 || true)
check_match "task check sees the sharing gone" "vm: expected the ENI shared with the namespace" "$out"
check "detach" netdctl task detach t1
check "netd settles" netd_settled
check_eq "the ephemeral ports are as they were" "$ports_before" \
        "$(ip netns exec "$n" sysctl -n net.ipv4.ip_local_port_range | tr -s '\t ' ' ')"
check_eq "no trace" "$before" "$(snapshot)"

# Refusals, failures, crashes
ip -n "$n" tuntap add dev tap0 mode tap
out=$(netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16" wiring vm 2>&1 || true)
check_match "a tap0 already there is refused" "Interface 'tap0' \\(a task VM's tap\\) already exists" "$out"
ip -n "$n" link del tap0
out=$(netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16" wiring vmm 2>&1 || true)
check_match "an unknown wiring is refused" "Invalid wiring 'vmm'" "$out"
check_eq "nothing changed" "$before" "$(snapshot)"
for step in dns vm; do
        out=$(netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16" wiring vm fault "$step" 2>&1 || true)
        check_match "fault after '$step': the error names it" "Step '$step' failed" "$out"
        check "fault after '$step': netd settles" netd_settled
        check_eq "fault after '$step': no trace" "$before" "$(snapshot)"
        netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16" wiring vm \
                fault "crash:$step" >/dev/null 2>&1 || true
        wait_until 3 bash -c "! kill -0 $NETD_PID 2>/dev/null"
        check_fail "crash after '$step': netd died" kill -0 "$NETD_PID"
        check "crash after '$step': netd restarts" netd_start --enable-fault-injection
        if [[ $step == vm ]]; then
                check_eq "crash after the last step: the attach is kept" READY \
                        "$(netdctl -j task show t1 | jq -r .phase)"
                check "... wired: it checks ok" netdctl task check t1
                check "... and detaches" netdctl task detach t1
        fi
        check "crash after '$step': netd settles" netd_settled
        check_eq "crash after '$step': no trace" "$before" "$(snapshot)"
done
check "a task without the wiring has no tap" netdctl task attach t1 netns "$ns" mac "$mac" addr "$ip/16"
check_fail "... none" ip -n "$n" link show tap0
check "detach" netdctl task detach t1
check "netd stops cleanly" netd_stop
tap_done
