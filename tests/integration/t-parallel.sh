#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# 200 attaches in parallel from 200 separate clients all succeed, and 200 parallel detaches give
# every ENI back with nothing leaked.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq

N=200
fabric_up "$N"
netd_start
for i in $(seq "$N"); do
        echo "{\"jsonrpc\":\"2.0\",\"method\":\"eni.register\",\"params\":{\"mac\":\"$(fabric_eni_mac "$i")\",\"subnet\":\"$FABRIC_SUBNET\",\"gateway\":\"$FABRIC_GATEWAY\"},\"id\":$i}"
done | "$O/tests/tools/ctlsend" "$NETD_SOCKET" >"$FABRIC_RUN/register.out"
check_eq "$N ENIs registered over one connection" "$N" "$(netdctl -j eni list | jq length)"
for i in $(seq "$N"); do
        fabric_task_ns "t$i" >/dev/null
done

pids=()
for i in $(seq "$N"); do
        netdctl task attach "t$i" netns "/run/netns/$FABRIC_PREFIX-t$i" mac "$(fabric_eni_mac "$i")" \
                addr "$(fabric_eni_ip "$i")/16" >"$FABRIC_RUN/a$i.out" 2>&1 &
        pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
check_eq "all $N parallel attaches succeed" 0 "$fails"
check_eq "netd lists $N READY tasks" "$N" "$(netdctl -j task list | jq '[.[] | select(.phase=="READY")] | length')"
bad=0
for i in $(seq "$N"); do
        got=$(ip -n "$FABRIC_PREFIX-t$i" -j addr show dev eth1 2>/dev/null | jq -r '.[0].address')
        [[ $got == "$(fabric_eni_mac "$i")" ]] || bad=$((bad + 1))
done
check_eq "each task namespace holds its own ENI" 0 "$bad"
elems()  # elements of netd's filter of the metadata links, in both sets
{
        fabric_nsexec host nft -j list table inet taskplane-metadata |
                jq -r '[.nftables[] | select(.set) | (.set.elem // []) | length] | join(" ")'
}
check_eq "netd's filter of the metadata links holds every task's link" "$N $N" "$(elems)"
# Rebuilt at the next start with every element (more than one message of the batch holds).
netd_kill9
fabric_nsexec host nft delete table inet taskplane-metadata
check "netd restarts" netd_start
check_eq "... and rebuilds the filter with every task's link" "$N $N" "$(elems)"
check "the last task checks ok" netdctl task check "t$N"

pids=()
for i in $(seq "$N"); do
        netdctl task detach "t$i" >"$FABRIC_RUN/d$i.out" 2>&1 &
        pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
check_eq "all $N parallel detaches succeed" 0 "$fails"
check "netd finishes the teardown (metadata links, guards)" netd_settled
check_eq "no task left" 0 "$(netdctl -j task list | jq length)"
check_eq "every ENI available" "$N" "$(netdctl -j eni list | jq '[.[] | select(.state=="available")] | length')"
left=0
for i in $(seq "$N"); do
        [[ $(ip -n "$FABRIC_PREFIX-t$i" -j link | jq length) == 1 ]] || left=$((left + 1))
        ip -n "$FABRIC_HOST_NS" link show "$(fabric_eni_name "$i")" >/dev/null 2>&1 || left=$((left + 1))
done
check_eq "every ENI back under its name, every task namespace empty" 0 "$left"
check_eq "no element left in the filter" "0 0" "$(elems)"
check_eq "no journal left" "" "$(ls "$NETD_RUN_DIR/state/tasks")"
check_eq "netd has no client left" 1 "$(netdctl -j health | jq .clients)"
check "netd stops cleanly" netd_stop
tap_done
