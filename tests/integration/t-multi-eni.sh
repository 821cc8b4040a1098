#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Two ENIs in one task namespace: each has its own guards table, a failed attach of the second
# undoes only what it made (the first keeps its IMDS block), only the first gets the default
# route, both check ok across a netd restart, and a detach in either order leaves nothing.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq curl nft

fabric_up 2
fabric_service_start
ip -n "$FABRIC_VPC_NS" addr add 169.254.169.254/32 dev br0
fabric_nsexec vpc "$O/tests/tools/vpcd" --http 169.254.169.254:80 --body imds-secret >/dev/null 2>&1 &
wait_until 5 bash -c "ip netns exec $FABRIC_VPC_NS ss -ltn | grep -q 169.254.169.254:80"
netd_start --enable-fault-injection
mac1=$(fabric_eni_mac 1)
mac2=$(fabric_eni_mac 2)
ip1=$(fabric_eni_ip 1)
ip2=$(fabric_eni_ip 2)
for mac in "$mac1" "$mac2"; do
        netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
done
ns=$(fabric_task_ns n)
n=$FABRIC_PREFIX-n

imds_blocked()
{
        local out

        out=$(fabric_nsexec n curl -sS --max-time 3 http://169.254.169.254/ 2>&1) && return 1
        ! grep -q imds-secret <<<"$out"
}
attach_a()
{
        netdctl task attach a netns "$ns" mac "$mac1" addr "$ip1/16"
}
attach_b()
{
        netdctl task attach b netns "$ns" mac "$mac2" ifname eth2 addr "$ip2/16" metadata off "$@"
}
tables()
{
        ip netns exec "$n" nft -j list tables | jq -r '[.nftables[].table.name | select(.)] | sort | join(" ")'
}

check "attach a (eth1, metadata link)" attach_a
check "a's namespace is blocked from IMDS" imds_blocked
out=$(attach_b fault routes 2>&1 || true)
check_match "b's attach into the same namespace fails where the fault is injected" \
        "Step 'routes' failed: Injected fault" "$out"
check "... and a still cannot reach IMDS" imds_blocked
check "... and a checks ok" netdctl task check a
check_fail "... and nothing of b is left" ip -n "$n" link show eth2
check_eq "... and its ENI is available again" available "$(netdctl -j eni show "$mac2" | jq -r .state)"

ip netns exec "$n" nft add table inet taskplane-eth2
out=$(attach_b 2>&1 || true)
check_match "a table of that name made by someone else fails b's guards step" \
        "Step 'guards' failed: .*already exists" "$out"
check_eq "... and the rollback left that table alone" "taskplane-eth1 taskplane-eth2" "$(tables)"
ip netns exec "$n" nft delete table inet taskplane-eth2

check "attach b (eth2, no metadata link)" attach_b
check_eq "each ENI has its own guards table" "taskplane-eth1 taskplane-eth2" "$(tables)"
check_eq "one default route, a's" "eth1" \
        "$(ip -n "$n" -j route show default | jq -r '[.[].dev] | join(" ")')"
check_eq "b's routes are its subnet's only" "" \
        "$(netdctl -j task show b | jq -r '[.routes[] | select(.kind == "default")] | length | select(. > 0)')"
check_match "b reaches the VPC over eth2" "you are $ip2\$" \
        "$(fabric_nsexec n curl -sS --max-time 3 --interface eth2 "$FABRIC_HTTP_URL" 2>&1 || true)"
check_match "a reaches the VPC over eth1" "you are $ip1\$" \
        "$(fabric_nsexec n curl -sS --max-time 3 --interface eth1 "$FABRIC_HTTP_URL" 2>&1 || true)"
check "IMDS is blocked with both" imds_blocked
check "a checks ok" netdctl task check a
check "b checks ok" netdctl task check b

netd_kill9
check "netd restarts" netd_start --enable-fault-injection
check "a checks ok after the restart" netdctl task check a
check "b checks ok after the restart" netdctl task check b

check "detach a first" netdctl task detach a
check "netd finishes a's teardown" netd_settled
check "b still checks ok" netdctl task check b
check "IMDS is still blocked by b's guards" imds_blocked
check_eq "only b's table is left" "taskplane-eth2" "$(tables)"
check "detach b" netdctl task detach b
check "netd finishes b's teardown" netd_settled
check_eq "nothing left in the namespace: tables" "" "$(tables)"
check_eq "... links" "lo" "$(ip -n "$n" -j link show | jq -r '[.[].ifname] | join(" ")')"
check_eq "... routes" "" "$(ip -n "$n" route show table all | grep -v '^local\|^broadcast' || true)"

check "attach a again" attach_a
check "attach b again" attach_b
check "detach b first" netdctl task detach b
check "netd finishes b's teardown" netd_settled
check "a still checks ok" netdctl task check a
check "a still cannot reach IMDS" imds_blocked
check_eq "a still has its default route" "eth1" \
        "$(ip -n "$n" -j route show default | jq -r '[.[].dev] | join(" ")')"
check "detach a" netdctl task detach a
check "netd finishes a's teardown" netd_settled
check_eq "nothing left in the namespace: tables" "" "$(tables)"
check_eq "... links" "lo" "$(ip -n "$n" -j link show | jq -r '[.[].ifname] | join(" ")')"
check_eq "both ENIs are available" "available available" \
        "$(netdctl -j eni list | jq -r '[.[].state] | join(" ")')"
check "netd stops cleanly" netd_stop
tap_done
