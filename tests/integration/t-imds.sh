#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A task cannot reach the instance metadata address: an IMDS stand-in answers in the VPC, a task
# attached with imds allow reaches it, a task attached with the default block does not.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq curl

fabric_up 2
fabric_service_start
ip -n "$FABRIC_VPC_NS" addr add 169.254.169.254/32 dev br0
fabric_nsexec vpc "$O/tests/tools/vpcd" --http 169.254.169.254:80 --body "imds-secret" >/dev/null 2>&1 &
wait_until 5 bash -c "ip netns exec $FABRIC_VPC_NS ss -ltn | grep -q 169.254.169.254:80"
netd_start
for i in 1 2; do
        netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
done
netdctl task attach open netns "$(fabric_task_ns open)" mac "$(fabric_eni_mac 1)" \
        addr "$(fabric_eni_ip 1)/16" imds allow >/dev/null
netdctl task attach guarded netns "$(fabric_task_ns guarded)" mac "$(fabric_eni_mac 2)" \
        addr "$(fabric_eni_ip 2)/16" >/dev/null

check_match "the IMDS stand-in answers a task attached with imds allow" "imds-secret" \
        "$(fabric_nsexec open curl -sS --max-time 3 http://169.254.169.254/ 2>&1 || true)"
start=$(date +%s%N)
out=$(fabric_nsexec guarded curl -sS --max-time 3 http://169.254.169.254/ 2>&1 || true)
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
check_match "a guarded task cannot reach it" "(No route to host|Network is unreachable|Couldn't connect|Permission denied)" "$out"
check_fail "and gets nothing of it" grep -q imds-secret <<<"$out"
if ((elapsed < 2000)); then tap_ok "the attempt fails at once, not by timeout"; else
        tap_fail "the attempt fails at once, not by timeout" "after $elapsed ms: $out"; fi
fabric_nsexec guarded curl -sS --max-time 3 http://169.254.169.254/latest/meta-data/ >/dev/null 2>&1 || true
counted=$(ip netns exec "$FABRIC_PREFIX-guarded" nft -j list counter inet taskplane-eth1 imds | jq '.nftables[1].counter.packets')
check_eq "each attempt is counted (two attempts, two SYNs)" 2 "$counted"
udp_before=$counted
fabric_nsexec guarded bash -c 'echo x > /dev/udp/169.254.169.254/53' 2>/dev/null || true
check_eq "a UDP attempt is counted too" $((udp_before + 1)) \
        "$(ip netns exec "$FABRIC_PREFIX-guarded" nft -j list counter inet taskplane-eth1 imds | jq '.nftables[1].counter.packets')"
check_eq "netd's stats count the same attempts as drops of reason imds" "$((udp_before + 1))" \
        "$(netdctl -j stats guarded | jq .drops.imds.tx.packets)"
check_eq "... and so does the Prometheus-free text report" 1 \
        "$(netdctl stats guarded | grep -c "imds rx 0 tx $((udp_before + 1)) packets")"
check_match "the guarded task still reaches the VPC service" "you are" \
        "$(fabric_nsexec guarded curl -sS --max-time 3 "$FABRIC_HTTP_URL" 2>&1 || true)"
check "detach open" netdctl task detach open
check "detach guarded" netdctl task detach guarded
tap_done
