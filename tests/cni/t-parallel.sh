#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Hundreds of runtime calls at once: 200 task-eni ADDs for 200 containers run concurrently, each
# gets its own ENI and a correct result; 200 concurrent CHECKs pass; then 200 concurrent DELs,
# half of them after their namespace was deleted, all succeed and leave nothing behind.
set -euo pipefail
source "$(dirname "$0")/lib-cni.sh"
require_root
require_cmd jq

N=200
fabric_up "$N"
netd_start
register_enis 1 "$N"
for i in $(seq "$N"); do
        fabric_task_ns "p$i" >/dev/null
done

# run_all COMMAND: one background cni_call per container; "rc" and the output in p<I>.res.
run_all()
{
        local cmd=$1 i conf
        local -a pids=()

        for i in $(seq "$N"); do
                (
                        conf=$(cni_conf "$i")
                        [[ -f $FABRIC_RUN/p$i.add ]] && conf=$(with_prev "$conf" "$(cat "$FABRIC_RUN/p$i.add")")
                        cni_call "$cmd" "p$i" "/run/netns/$FABRIC_PREFIX-p$i" eth1 "$conf"
                        printf '%s\n%s\n' "$CNI_RC" "$CNI_OUT$CNI_ERR" >"$FABRIC_RUN/p$i.res"
                ) &
                pids+=($!)
        done
        wait "${pids[@]}"
}

# failed: the containers whose last call did not exit 0, with the first line of what they said.
failed()
{
        local i

        for i in $(seq "$N"); do
                [[ $(head -1 "$FABRIC_RUN/p$i.res") == 0 ]] ||
                        echo "p$i: $(sed -n 2p "$FABRIC_RUN/p$i.res")"
        done
}

run_all ADD
check_eq "$N concurrent ADDs all succeed" "" "$(failed)"
bad=0
for i in $(seq "$N"); do
        out=$(tail -n +2 "$FABRIC_RUN/p$i.res")
        printf '%s' "$out" >"$FABRIC_RUN/p$i.add"
        [[ $(jq -r '.interfaces[0].mac' <<<"$out") == "$(fabric_eni_mac "$i")" &&
                $(jq -r '.ips[0].address' <<<"$out") == "$(fabric_eni_ip "$i")/$FABRIC_PREFIXLEN" ]] ||
                bad=$((bad + 1))
        [[ $(ns_ip "p$i" -j addr show dev eth1 | jq -r '.[0].address') == "$(fabric_eni_mac "$i")" ]] ||
                bad=$((bad + 1))
done
check_eq "each result and each namespace has its container's own ENI and address" 0 "$bad"
check_eq "netd lists $N READY tasks" "$N" \
        "$(netdctl -j task list | jq '[.[] | select(.phase == "READY")] | length')"

run_all CHECK
check_eq "$N concurrent CHECKs with prevResult all pass" "" "$(failed)"

for i in $(seq 2 2 "$N"); do
        ip netns del "$FABRIC_PREFIX-p$i"
done
run_all DEL
check_eq "$N concurrent DELs all succeed, half of them with the namespace gone" "" "$(failed)"
check "netd finishes the teardown" netd_settled
check_eq "no task left" 0 "$(netdctl -j task list | jq length)"
check_eq "the ENIs of the live namespaces are available again" "$((N / 2))" \
        "$(netdctl -j eni list | jq '[.[] | select(.state == "available")] | length')"
check_eq "the ENIs whose namespace vanished are reported lost" "$((N / 2))" \
        "$(netdctl -j eni list | jq '[.[] | select(.state == "lost")] | length')"
left=0
for i in $(seq 1 2 "$N"); do
        [[ $(ns_ip "p$i" -j link | jq length) == 1 ]] || left=$((left + 1))
        ip -n "$FABRIC_HOST_NS" link show "$(fabric_eni_name "$i")" >/dev/null 2>&1 || left=$((left + 1))
done
check_eq "every surviving ENI back under its name, every live task namespace empty" 0 "$left"
check_eq "no journal left" "" "$(ls "$NETD_RUN_DIR/state/tasks")"
check "netd stops cleanly" netd_stop
tap_done
