#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# READY_PULL with a task VM up (one boot): netd wires the VM to eth1 and shares eth1 with the
# task namespace's own sockets. While a container in the VM sends K UDP datagrams of S bytes to
# the VPC, a TCP download from the namespace (marked pull, as the runtime's pulls are) gets its
# whole body beside it; on eth1 the VM's traffic is app, to the byte, and the download is pull;
# after READY the namespace's sockets keep theirs (the shim's log shippers run then).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../counters/common.sh"
source "$(dirname "$0")/common.sh"
require_root
require_vm

K=100
S=300
ARP=42
BODY=20000

fabric_up 1
body=$(head -c $BODY /dev/zero | tr '\0' x)
fabric_service_start --body "$body"
netd_start
mac=$(fabric_eni_mac 1)
ip=$(fabric_eni_ip 1)
netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
ns=$(fabric_task_ns t1)
check "attach t1 wired for a VM, READY_PULL" netdctl task attach t1 netns "$ns" mac "$mac" \
        addr "$ip/16" wiring vm phase READY_PULL
# No ARP from the VPC's side nor from the namespace's: the guest's one exchange is all there is.
ip -n "$FABRIC_VPC_NS" neigh replace "$ip" lladdr "$mac" dev br0 nud permanent
gwmac=$(ip -n "$FABRIC_VPC_NS" -j link show br0 | jq -r '.[0].address')
ip -n "$FABRIC_PREFIX-t1" neigh replace "$FABRIC_GATEWAY" lladdr "$gwmac" dev eth1 nud permanent
slot=$(netdctl -j task show t1 | jq .slot)

# download: an HTTP GET from the namespace on a socket marked pull, as the runtime's pulls are.
download()
{
        fabric_nsexec t1 "$O/tests/tools/tcpget" --dst "$FABRIC_GATEWAY:80" --timeout 5 \
                --mark "$(counters_mark "$slot" 1)"
}
vm_up() { [[ $(ip -n "$FABRIC_PREFIX-t1" -j link show tap0 | jq -r '.[0].flags | index("LOWER_UP") != null') == true ]]; }
# When qemu has the tap, download while the container runs (it sleeps first).
(wait_until 60 vm_up && download >"$FABRIC_RUN/download" 2>"$FABRIC_RUN/download.err") &
dl=$!

img=$FABRIC_RUN/root.img
check "a root file system image" vm_image "$img"
rc=0
vmrun_in t1 --timeout 60 --console "$FABRIC_RUN/console.log" --events "$FABRIC_RUN/events" \
        --nic "tap0,eth1,$mac,$ip/16,$FABRIC_MTU" --route "0.0.0.0/0,eth1,$FABRIC_GATEWAY" \
        --drive "$img,root" --root root --env PATH=/bin -- /bin/sh -c \
        "sleep 2 && udpsend --dst $FABRIC_GATEWAY:$FABRIC_UDP_PORT --count $K --size $S" \
        >"$FABRIC_RUN/out" 2>"$FABRIC_RUN/err" || rc=$?
check_eq "the container sent its datagrams and got every reply" "0 sent $K received $K" \
        "$rc $(cat "$FABRIC_RUN/out")"
check "the download from the namespace ended" wait "$dl"
check_eq "it got the whole body while the VM had the ENI too" "$BODY" "$(cat "$FABRIC_RUN/download")"

st=$(netdctl -j stats t1)
read -r rb rp tb tp <<<"$(expect4 $K $S)"
check_eq "the VM's traffic (and its ARP exchange) is app, to the byte" \
        "$((rb + ARP)) $((rp + 1)) $((tb + ARP)) $((tp + 1))" "$(st_flow app <<<"$st")"
check_match "the download is pull" '^[1-9][0-9]* [1-9][0-9]* [1-9][0-9]* [1-9][0-9]*$' \
        "$(st_flow pull <<<"$st")"
check_eq "and pull is at least the body it received" 1 \
        "$(jq --argjson b $BODY '.flows.pull.rx.bytes > $b | if . then 1 else 0 end' <<<"$st")"
check_eq "app and pull are all of eth1's traffic" "$(dev_stats t1)" "$(st_totals <<<"$st")"

check "READY" netdctl task phase t1 READY
check_eq "in READY too a socket of the namespace gets its replies (the shim's log shippers)" \
        "$BODY" "$(download 2>/dev/null)"
check "task check: ok" netdctl task check t1
check "detach" netdctl task detach t1
check_eq "no qemu is left" "" "$(qemu_pids)"
tap_done
