#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The demo (make demo): a test VPC in network namespaces, netd in a private "host" namespace,
# three ENIs registered, two tasks attached, their namespaces shown as netd and the kernel see
# them, a fetch from the VPC service inside each task, then everything detached and torn down.
set -euo pipefail
source "$(dirname "$0")/fabric.sh"

if [[ $(id -u) != 0 ]]; then
        echo "demo: needs root (network namespaces)" >&2
        exit 1
fi

if [[ -t 1 ]]; then
        say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
        say() { printf '\n== %s\n' "$*"; }
fi
run() { printf '$ %s\n' "$*"; "$@"; }

fabric_up 3
fabric_service_start
netd_start
say "A test VPC ($FABRIC_SUBNET, gateway $FABRIC_GATEWAY) in namespace $FABRIC_VPC_NS, netd in $FABRIC_HOST_NS"

say "Register three ENIs (host ends of veth pairs whose peers sit on the VPC bridge)"
for i in 1 2 3; do
        run netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" \
                gateway "$FABRIC_GATEWAY" name "demo-eni-$i"
done
run netdctl eni list

say "Attach two tasks, each to its own network namespace"
for i in 1 2; do
        ns=$(fabric_task_ns "task$i")
        run netdctl task attach "task$i" netns "$ns" mac "$(fabric_eni_mac "$i")" \
                addr "$(fabric_eni_ip "$i")/16" nameserver 198.18.0.2 >/dev/null
done
run netdctl task list
run netdctl eni list

for i in 1 2; do
        say "task$i as the kernel sees it (ip -n $FABRIC_PREFIX-task$i)"
        ip -n "$FABRIC_PREFIX-task$i" -br addr show eth1
        ip -n "$FABRIC_PREFIX-task$i" -br addr show md0
        ip -n "$FABRIC_PREFIX-task$i" route show table all | grep -v -e '^local' -e '^broadcast' -e '^multicast' -e 'ff00::/8' -e 'fe80::/64'
        ip netns exec "$FABRIC_PREFIX-task$i" nft list chain inet taskplane-eth1 output | grep -e daddr -e oifname
        run netdctl task check "task$i"
done

say "Fetch from the VPC service inside each task"
for i in 1 2; do
        printf 'task%s: ' "$i"
        fabric_nsexec "task$i" curl -sS --max-time 5 "$FABRIC_HTTP_URL"
done

say "What netd counted for task1 (eBPF on eth1, per flow and direction; the kernel's own counters beside)"
run netdctl stats task1

say "Detach both tasks: the ENIs go back to the host under their own names"
for i in 1 2; do
        run netdctl task detach "task$i"
done
run netdctl eni list
run netdctl events

netd_stop
prefix=$FABRIC_PREFIX
fabric_down
left=$(fabric_leftovers "$prefix")
say "Done"
cat <<EOT
netd registered 3 ENIs and moved 2 of them into 2 task namespaces as eth1 (MTU 9001, address,
default route via $FABRIC_GATEWAY), each with a point-to-point metadata link (md0), guards (the
instance metadata address rejected and counted, only 169.254.170.2:80 over md0) and eBPF
counters. Both tasks fetched from the VPC service; detach gave both ENIs back to the host. The
namespaces, links, service and netd are gone${left:+ EXCEPT: $left}.
EOT
[[ -z $left ]]
