#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# 100 tasks attached, each with its own traffic: one read returns all of them, and each one's
# numbers are its own, exact, and equal to its device's counters.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq

N=100
fabric_up $N
fabric_service_start
netd_start
gwmac=$(ip -n "$FABRIC_VPC_NS" -j link show br0 | jq -r '.[0].address')
: >"$FABRIC_RUN/neigh.batch"
for ((i = 1; i <= N; i++)); do
        netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
        echo "neigh replace $(fabric_eni_ip "$i") lladdr $(fabric_eni_mac "$i") dev br0 nud permanent" \
                >>"$FABRIC_RUN/neigh.batch"
done
ip -n "$FABRIC_VPC_NS" -batch "$FABRIC_RUN/neigh.batch"
failed=0
for ((i = 1; i <= N; i++)); do
        netdctl task attach "t$i" netns "$(fabric_task_ns "t$i")" mac "$(fabric_eni_mac "$i")" \
                addr "$(fabric_eni_ip "$i")/16" >/dev/null || failed=$((failed + 1))
        ip -n "$FABRIC_PREFIX-t$i" neigh replace "$FABRIC_GATEWAY" lladdr "$gwmac" dev eth1 nud permanent
done
check_eq "$N tasks attached" "0" "$failed"

# Task i sends i datagrams of 60 + i bytes, eight tasks at a time.
# (wait with pids: netd and vpcd are background jobs of this shell too)
pids=()
for ((i = 1; i <= N; i++)); do
        udpsend_in "t$i" --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --count "$i" --size $((60 + i)) \
                >"$FABRIC_RUN/send.$i" 2>&1 &
        pids+=($!)
        if ((${#pids[@]} == 8 || i == N)); then
                wait "${pids[@]}" || true
                pids=()
        fi
done
bad=$(grep -L "^sent [0-9]* received [0-9]*$" "$FABRIC_RUN"/send.* | wc -l)
check_eq "every task's datagrams came back" "$N" "$(grep -l "^sent \([0-9]*\) received \1$" "$FABRIC_RUN"/send.* | wc -l)"
((bad == 0)) || tap_diag "$(cat "$FABRIC_RUN"/send.*)"

t0=$(_fabric_now)
all=$(netdctl -j stats)
t1=$(_fabric_now)
tap_diag "one stats read of $N tasks (netdctl included): $(((t1 - t0) / 1000)) ms, $(wc -c <<<"$all") bytes"
check_eq "one read returns all $N tasks" "$N" "$(jq '.tasks | length' <<<"$all")"

wrong=()
devwrong=()
for ((i = 1; i <= N; i++)); do
        one=$(jq --arg t "t$i" '.tasks[] | select(.task_id == $t)' <<<"$all")
        [[ $(st_totals <<<"$one") == "$(expect4 "$i" $((60 + i)))" ]] || wrong+=("t$i: $(st_totals <<<"$one")")
        [[ $(st_totals <<<"$one") == "$(dev_stats "t$i")" ]] || devwrong+=("t$i: $(st_totals <<<"$one") vs $(dev_stats "t$i")")
done
check_eq "each task has exactly its own traffic" "" "${wrong[*]}"
check_eq "each task's totals equal its device's counters" "" "${devwrong[*]}"
check_eq "each task's flows add up to its totals" "$N" \
        "$(jq '[.tasks[] | select(([.flows[][]] | map(.bytes) | add) == (.totals.rx.bytes + .totals.tx.bytes))] | length' <<<"$all")"
check_eq "the slots are distinct" "$N" "$(jq '[.tasks[].slot] | unique | length' <<<"$all")"
check_eq "the text table has a row per task" "$N" "$(netdctl stats | tail -n +2 | wc -l)"

failed=0
for ((i = 1; i <= N; i++)); do
        netdctl task detach "t$i" >/dev/null || failed=$((failed + 1))
done
check_eq "$N tasks detached" 0 "$failed"
check_eq "their final counters are all readable" "$N" \
        "$(netdctl -j stats | jq '[.tasks[] | select(.detached)] | length')"
check_eq "collect takes them all" "$N" "$(netdctl -j stats collect | jq '.tasks | length')"
tap_done
