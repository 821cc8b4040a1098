#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A task VM (qemu microvm under TCG) on an ENI netd attached and wired for a VM ("wiring": "vm":
# tap0 beside eth1 in the task's namespace, frames redirected both ways with tc mirred). A container in the VM sends K UDP
# datagrams of S bytes to the VPC's echo service: netd's counters on eth1 count exactly that
# (and the guest's one ARP exchange), as the kernel's device counters do; a source address the
# task was not given is dropped in front of the VM and counted as spoof. The container's output
# comes back over the guest channel, its exit code too, its writes land on the task's volume (its
# image stays read-only), the VM powers off when it ends, and the wiring leaves nothing behind.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../counters/common.sh"
source "$(dirname "$0")/common.sh"
require_root
require_vm

K=200
S=300
ARP=42 # an ARP request or reply on the wire (no padding between veths, taps and VMs)

fabric_up 1
fabric_service_start
netd_start
mac=$(fabric_eni_mac 1)
ip=$(fabric_eni_ip 1)
netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
ns=$(fabric_task_ns t1)
check "attach t1, wired for a VM by netd" netdctl task attach t1 netns "$ns" mac "$mac" \
        addr "$ip/16" wiring vm
# The VPC knows the task's MAC (no ARP from its side); the guest asks for the gateway's once.
ip -n "$FABRIC_VPC_NS" neigh replace "$ip" lladdr "$mac" dev br0 nud permanent
check_eq "eth1's ingress: netd's program, the sharing, the redirect to tap0; egress: netd's program" \
        "egress 65520 bpf|ingress 1 bpf|ingress 100 u32|ingress 50 bpf" \
        "$(vm_filters t1 | sort | paste -sd'|')"

img=$FABRIC_RUN/root.img
check "a root file system image from busybox-static (mkfs.ext4 -d)" vm_image "$img"
# Fargate's storage layout: the image read-only, the container's writes on the task's volume.
scratch=$FABRIC_RUN/scratch.img
check "the task's volume: a sparse ext4" mkfs.ext4 -q -E lazy_itable_init=1,lazy_journal_init=1 \
        "$scratch" 64M

# The guest's eth1 has the ENI's MAC and address; the VPC sees the ENI.
cmd="udpsend --dst $FABRIC_GATEWAY:$FABRIC_UDP_PORT --count $K --size $S &&
ip addr add 198.18.200.1/16 dev eth1 &&
udpsend --dst $FABRIC_GATEWAY:$FABRIC_UDP_PORT --src 198.18.200.1 --count 5 --size 100 --no-replies &&
echo nameserver \$(cut -d' ' -f2 /etc/resolv.conf) host \$(hostname) mtu \$(cat /sys/class/net/eth1/mtu) &&
echo written > /written-in-vm && echo to-stderr >&2; exit 7"
rc=0
vmrun_in t1 --console "$FABRIC_RUN/console.log" --events "$FABRIC_RUN/events" \
        --nic "tap0,eth1,$mac,$ip/16,$FABRIC_MTU" --route "0.0.0.0/0,eth1,$FABRIC_GATEWAY" \
        --dns "$FABRIC_GATEWAY" --hostname task-t1 --drive "$img,image,ro" \
        --drive "$scratch,scratch" --volume scratch,scratch --root image --upper scratch \
        --env PATH=/bin -- /bin/sh -c "$cmd" >"$FABRIC_RUN/out" 2>"$FABRIC_RUN/err" || rc=$?
check_eq "the container's exit code is vmrun's" 7 "$rc"
check_eq "reported as such" 7 "$(event_field "$FABRIC_RUN/events" exited 4)"
check_eq "then the guest powered off" poweroff "$(event_field "$FABRIC_RUN/events" exit 3)"
check_eq "its stdout came back over the channel, in order" \
        "sent $K received $K|sent 5 received 0|nameserver $FABRIC_GATEWAY host task-t1 mtu $FABRIC_MTU" \
        "$(paste -sd '|' "$FABRIC_RUN/out")"
check_match "and its stderr apart" "to-stderr" "$(cat "$FABRIC_RUN/err")"
check_eq "no qemu is left" "" "$(qemu_pids)"
check_eq "what the container wrote is on the task's volume, in its writable layer" written \
        "$(debugfs -R 'cat /.tp-rootfs/app/upper/written-in-vm' "$scratch" 2>/dev/null)"
check_match "not in the image" "File not found" "$(debugfs -R 'stat /written-in-vm' "$img" 2>&1)"

st=$(netdctl -j stats t1)
read -r rb rp tb tp <<<"$(expect4 $K $S)"
want="$((rb + ARP)) $((rp + 1)) $((tb + ARP)) $((tp + 1))"
check_eq "netd counted the VM's datagrams and its ARP exchange, to the byte" "$want" \
        "$(st_totals <<<"$st")"
check_eq "as the kernel did on eth1" "$want" "$(dev_stats t1)"
check_eq "all of it app" "$want" "$(st_flow app <<<"$st")"
check_eq "the spoofed datagrams were dropped in front of the VM and counted" "$((5 * 142)) 5" \
        "$(jq -r '.drops.spoof.tx | "\(.bytes) \(.packets)"' <<<"$st")"
check_eq "the tap carried everything the VM sent, spoofed ones included" \
        "$((tb + ARP + 5 * 142)) $((tp + 1 + 5))" \
        "$(dev_stats t1 tap0 | awk '{ print $1, $2 }')"

check "task check: the wiring is intact" netdctl task check t1
check "detach" netdctl task detach t1
check_fail "no tap is left" ip -n "$FABRIC_PREFIX-t1" link show tap0
tap_done
