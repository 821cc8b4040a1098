#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The platform ENI's life: attach into a platform namespace, list, show, check (which sees a
# missing counter filter), kept across a restart, detached leaving no trace. Nothing connects to
# the platform namespace from outside, a task's namespace included, while the platform's own
# connections work; no task goes into the platform namespace, and the platform ENI into no
# task's. A failure injected after each step, and a crash after each step, leave no trace.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq socat

fabric_up 2
fabric_service_start
netd_start --enable-fault-injection
pmac=$(fabric_eni_mac 2)
pip=$(fabric_eni_ip 2)
tmac=$(fabric_eni_mac 1)
tip=$(fabric_eni_ip 1)
for mac in "$pmac" "$tmac"; do
        netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
done
pns=$(fabric_task_ns plat)
tns=$(fabric_task_ns t1)
pn=$FABRIC_PREFIX-plat

snapshot()
{
        ip -n "$FABRIC_HOST_NS" -d -j link show | jq -c '[.[] | {ifname, address, mtu, operstate}]'
        ip -n "$pn" -d -j link show | jq -c '[.[] | {ifname, address, mtu, operstate}]'
        ip -n "$pn" -j addr show | jq -c '[.[].addr_info[]]'
        ip -n "$pn" -j route show table all | jq -c .
        ip netns exec "$pn" nft list ruleset
        ls -A "/etc/netns/$pn" 2>/dev/null || true
        ls "$NETD_RUN_DIR/state/platforms" "$NETD_RUN_DIR/state/counters"
}
before=$(snapshot)

# --- attach, show, check ----------------------------------------------------------------------
check "attach the platform ENI" netdctl platform attach p1 netns "$pns" mac "$pmac" \
        addr "$pip/16" nameserver "$FABRIC_GATEWAY"
p=$(netdctl -j platform show p1)
check_eq "show: its name, id, state, interface" "p1 platform:p1 ATTACHED eth0 $pip/16" \
        "$(jq -r '"\(.name) \(.id) \(.state) \(.ifname) \(.addresses[0])"' <<<"$p")"
check_eq "show: its default route through the ENI's gateway" "$FABRIC_GATEWAY" \
        "$(jq -r '.routes[] | select(.dst == "0.0.0.0/0") | .gw' <<<"$p")"
check_eq "show: its counters" "true true true" \
        "$(jq -r '.stats | "\(has("device")) \(has("attributed")) \(has("unattributed"))"' <<<"$p")"
check_eq "list: one" "p1 ATTACHED" "$(netdctl -j platform list | jq -r '.[] | "\(.name) \(.state)"')"
check_match "list (text)" "p1 +ATTACHED +$pmac +eth0" "$(netdctl platform list)"
check "check: ok" netdctl platform check p1
check_eq "the ENI says who has it" "attached platform:p1" \
        "$(netdctl -j eni show "$pmac" | jq -r '"\(.state) \(.task_id)"')"
check_eq "health counts it" 1 "$(netdctl -j health | jq .platforms)"
check_eq "it is not a task" 0 "$(netdctl -j task list | jq length)"
check_match "resolv.conf of the platform namespace" "nameserver $FABRIC_GATEWAY" \
        "$(cat "/etc/netns/$pn/resolv.conf")"

out=$(netdctl platform attach p1 netns "$pns" mac "$pmac" addr "$pip/16" 2>&1 || true)
check_match "a second attach of p1 is refused" "already exists" "$out"
out=$(netdctl task attach t1 netns "$pns" mac "$tmac" addr "$tip/16" 2>&1 || true)
check_match "no task goes into the platform namespace" "platform namespace of 'platform:p1'" "$out"
check_eq "... and the task's ENI stays available" available \
        "$(netdctl -j eni show "$tmac" | jq -r .state)"
check "attach t1 into its own namespace" netdctl task attach t1 netns "$tns" mac "$tmac" addr "$tip/16"
out=$(netdctl platform attach p2 netns "$tns" mac "$pmac" addr "$pip/16" 2>&1 || true)
check_match "an ENI that is taken is refused" "is attached to 'platform:p1'" "$out"
out=$(netdctl platform attach p2 netns /nonexistent mac 02:00:00:00:00:99 addr "$pip/16" 2>&1 || true)
check_match "an unknown ENI is refused" "not registered" "$out"
out=$(netdctl platform attach 'bad name' netns "$pns" mac "$pmac" addr "$pip/16" 2>&1 || true)
check_match "a bad name is refused" "Invalid name" "$out"
out=$(netdctl platform attach p2 netns "$pns" mac "$pmac" 2>&1 || true)
check_match "an address is needed" "needs 'netns PATH', 'mac MAC' and 'addr CIDR'" "$out"

# --- nothing comes in --------------------------------------------------------------------------
fabric_nsexec plat socat TCP-LISTEN:8000,bind="$pip",reuseaddr,fork SYSTEM:'echo platform' \
        </dev/null >/dev/null 2>&1 &
listener=$!
wait_until 5 bash -c "nsenter --net=$pns ss -Hltn 'sport = :8000' | grep -q ."
check_eq "the listener answers inside the platform namespace" platform \
        "$(fabric_nsexec plat timeout 5 socat -T 2 - TCP:"$pip":8000,connect-timeout=2 </dev/null)"
check_fail "a task's namespace cannot connect to the platform namespace" \
        fabric_nsexec t1 timeout 5 socat -T 2 - TCP:"$pip":8000,connect-timeout=2
check_fail "nor can the VPC" \
        fabric_nsexec vpc timeout 5 socat -T 2 - TCP:"$pip":8000,connect-timeout=2
check "the platform's own connections out work (HTTP to the VPC)" \
        fabric_nsexec plat timeout 5 socat -T 2 - TCP:"$FABRIC_GATEWAY":80,connect-timeout=2 \
        <<<$'GET / HTTP/1.0\r\n\r'
check_match "the refused connections are counted as inbound policy drops" '^[1-9]' \
        "$(netdctl -j platform show p1 | jq '.stats.drops.policy.rx.packets')"
kill "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
check "detach t1" netdctl task detach t1

# --- check, restart ----------------------------------------------------------------------------
tc -n "$pn" filter del dev eth0 ingress
out=$(netdctl platform check p1 2>&1 || true)
check_match "check sees a missing counter filter" "counters: expected tc ingress filter" "$out"
check "netd stops" netd_stop
check "netd starts again" netd_start --enable-fault-injection
check_eq "the platform ENI is kept across a restart" "p1 ATTACHED" \
        "$(netdctl -j platform list | jq -r '.[] | "\(.name) \(.state)"')"
check "and its missing filter was attached again: check ok" netdctl platform check p1
check_match "(an event says so)" "counters.reattached" "$(netdctl -j events | jq -r '.[].type')"

# --- detach ------------------------------------------------------------------------------------
check "detach" netdctl platform detach p1
check "netd finishes the teardown" netd_settled
check_eq "no platform ENI" 0 "$(netdctl -j platform list | jq length)"
check_eq "the ENI is available" available "$(netdctl -j eni show "$pmac" | jq -r .state)"
check_eq "no trace in the kernel or the journal" "$before" "$(snapshot)"
check_fail "a detach of nothing fails" netdctl platform detach p1
check "... unless --if-exists" netdctl platform detach p1 --if-exists
check_eq "health counts none" 0 "$(netdctl -j health | jq .platforms)"

# --- faults ------------------------------------------------------------------------------------
steps="move guards counters mtu addresses up routes loopback dns"
for step in $steps; do
        out=$(netdctl platform attach p1 netns "$pns" mac "$pmac" addr "$pip/16" \
                nameserver 198.18.0.2 fault "$step" 2>&1 || true)
        check_match "fault after '$step': the error names the step" "Step '$step' failed" "$out"
        check_eq "fault after '$step': no trace" "$before" "$(snapshot)"
        check_eq "fault after '$step': ENI available" available \
                "$(netdctl -j eni show "$pmac" | jq -r .state)"
done
for step in $steps; do
        netdctl platform attach p1 netns "$pns" mac "$pmac" addr "$pip/16" \
                nameserver 198.18.0.2 fault "crash:$step" >/dev/null 2>&1 || true
        wait_until 3 bash -c "! kill -0 $NETD_PID 2>/dev/null"
        check_fail "crash after '$step': netd died" kill -0 "$NETD_PID"
        check "crash after '$step': netd restarts" netd_start --enable-fault-injection
        if [[ $step == dns ]]; then
                check_eq "crash after the last step: the attach is kept" ATTACHED \
                        "$(netdctl -j platform show p1 | jq -r .state)"
                check "crash after the last step: it checks ok" netdctl platform check p1
                check "crash after the last step: and detaches" netdctl platform detach p1
                check "crash after the last step: netd finishes the teardown" netd_settled
        fi
        check_eq "crash after '$step': no trace" "$before" "$(snapshot)"
        check_eq "crash after '$step': ENI available" available \
                "$(netdctl -j eni show "$pmac" | jq -r .state)"
done
check "netd stops cleanly" netd_stop
tap_done
