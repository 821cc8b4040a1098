#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Attach errors say what was wrong and change nothing: unknown MAC, a MAC that never appears,
# an interface name already taken in the namespace, bad parameters, a missing namespace.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq

fabric_up 2
netd_start
mac1=$(fabric_eni_mac 1)
netdctl eni register "$mac1" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
ns=$(fabric_task_ns t1)
ip1="$(fabric_eni_ip 1)/16"

# The kernel's view of everything an attach could touch, to compare before and after.
snapshot()
{
        ip -n "$FABRIC_HOST_NS" -d -j link show | jq -c '[.[] | {ifname, address, mtu, operstate}]'
        ip -n "$FABRIC_PREFIX-t1" -d -j link show | jq -c '[.[] | {ifname, address, mtu, operstate}]'
        ip -n "$FABRIC_PREFIX-t1" -j addr show | jq -c '[.[].addr_info[]]'
        ip -n "$FABRIC_PREFIX-t1" -j route show table all | jq -c .
}
before=$(snapshot)

out=$(netdctl task attach t1 netns "$ns" mac 02:00:5e:00:00:99 addr "$ip1" 2>&1 || true)
check_match "unknown MAC: error names it" "Unknown ENI 02:00:5e:00:00:99" "$out"
out=$(netdctl -j task attach t1 netns "$ns" mac 02:00:5e:00:00:99 addr "$ip1" || true)
check_eq "unknown MAC: JSON error with code -32001" "-32001" "$(jq -r .error.code <<<"$out")"

never=02:00:5e:00:00:aa
netdctl eni register "$never" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
start=$(date +%s%N)
out=$(netdctl -j task attach t1 netns "$ns" mac "$never" addr "$ip1" wait 700 || true)
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
check_match "MAC that never appears: error after the deadline" "did not appear within 700 ms" "$out"
check_eq "MAC that never appears: timeout code -32004, errno ETIMEDOUT" "-32004 ETIMEDOUT" \
        "$(jq -r '"\(.error.code) \(.error.data.errno)"' <<<"$out")"
if ((elapsed >= 650)); then tap_ok "the error came no earlier than the deadline"; else
        tap_fail "the error came no earlier than the deadline" "after ${elapsed} ms"; fi
check_eq "no task is left behind" 0 "$(netdctl -j task list | jq length)"

ip -n "$FABRIC_PREFIX-t1" link add eth1 type veth peer name eth1p
before_taken=$(snapshot)
out=$(netdctl task attach t1 netns "$ns" mac "$mac1" addr "$ip1" 2>&1 || true)
check_match "ifname taken: error says so" "Interface 'eth1' already exists in namespace" "$out"
check_eq "ifname taken: nothing changed" "$before_taken" "$(snapshot)"
check_eq "ifname taken: ENI still available" available \
        "$(netdctl -j eni show "$mac1" | jq -r .state)"
ip -n "$FABRIC_PREFIX-t1" link del eth1

bad()
{
        local name=$1 want=$2
        shift 2
        out=$(netdctl task attach t1 netns "$ns" mac "$mac1" "$@" 2>&1 || true)
        check_match "$name" "$want" "$out"
}
bad "address outside the ENI's subnet" "outside the ENI's subnet" addr 10.1.2.3/24
bad "address that is not a CIDR" "invalid address '198.18.1.1'" addr 198.18.1.1
bad "no address" "At least one address" mtu 1500
bad "MTU out of range" "'mtu' is 10, want 68..65535" addr "$ip1" mtu 10
bad "route with a bad destination" "invalid destination" addr "$ip1" route 10.0.0.0/99
bad "route with a gateway of the other family" "invalid gateway" addr "$ip1" route 10.0.0.0/8 via fe80::1
bad "route that duplicates the default" "default route comes from the ENI" addr "$ip1" route 0.0.0.0/0 via 198.18.0.9
bad "bad interface name" "Invalid ifname" addr "$ip1" ifname "a/b"
bad "bad phase" "Invalid phase" addr "$ip1" phase RUNNING
bad "fault injection refused without the option" "needs netd --enable-fault-injection" addr "$ip1" fault move
bad "unreachable route gateway is a kernel error naming the route" "Failed to add route '10.0.0.0/8 via 10.9.9.9'" \
        addr "$ip1" route 10.0.0.0/8 via 10.9.9.9
check_eq "after all of these, nothing changed" "$before" "$(snapshot)"

out=$(netdctl task attach t1 netns /run/netns/does-not-exist mac "$mac1" addr "$ip1" 2>&1 || true)
check_match "missing namespace" "Namespace '/run/netns/does-not-exist' does not exist" "$out"
out=$(netdctl task attach t1 netns /etc/hostname mac "$mac1" addr "$ip1" 2>&1 || true)
check_match "a path that is not a namespace" "is not a network namespace" "$out"
out=$(netdctl task attach t1 netns "$FABRIC_HOST_NS_PATH" mac "$mac1" addr "$ip1" 2>&1 || true)
check_match "netd's own namespace is refused" "netd's own namespace" "$out"
out=$(netdctl task attach 'bad id' netns "$ns" mac "$mac1" addr "$ip1" 2>&1 || true)
check_match "bad task id" "Invalid task_id" "$out"
check_eq "still nothing changed" "$before" "$(snapshot)"

out=$(netdctl eni register 02:00:00:00:00:01 subnet 198.18.0.0/16 gateway 10.0.0.1 2>&1 || true)
check_match "ENI with a gateway outside its subnet" "outside subnet" "$out"
out=$(netdctl eni register 01:00:00:00:00:01 subnet 198.18.0.0/16 gateway 198.18.0.1 2>&1 || true)
check_match "ENI with a multicast MAC" "Invalid MAC address" "$out"
check_fail "show of an unknown task fails" netdctl task show nope
check_fail "check of an unknown task fails" netdctl task check nope
set +e
netdctl frobnicate >/dev/null 2>&1; rc=$?
set -e
check_eq "an unknown object is a usage error (exit 2)" 2 "$rc"
check_match "an error under -j is JSON on stdout" '"error":' \
        "$(netdctl -j task show nope 2>/dev/null || true)"
tap_done
