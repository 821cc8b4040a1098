#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# taskvm run --isolation vm (issue 13): a task's containers in a task VM (qemu microvm, TCG here)
# booted by its shim on netd's VM wiring. One boot: the container sends K datagrams to the VPC's
# echo service (netd counts them on the ENI, as the VM's "app" bytes, to the byte with the
# guest's ARP exchange), reads its own task metadata (busybox wget to
# $ECS_CONTAINER_METADATA_URI_V4), and runs until stopped; its output is in `taskvm logs`, its
# exit code (its TERM trap's) in inspect, and nothing of the task is left: no qemu, no taps, no
# loop devices, no mounts. The root drive is made once per image digest. Bad input first.
set -euo pipefail
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/../counters/common.sh"
source "$(dirname "$0")/../vm/common.sh"
require_vm

K=100
S=200
ARP=42 # an ARP request or reply on the wire

# udpsend (static) in the image, beside busybox
layer=$(mktemp -d "/tmp/tp-vm-layer.XXXXXX")
mkdir -p "$layer/bin" && cp "$VM_DIR/guest-udpsend" "$layer/bin/udpsend"
LN_LAYERS=("$layer")
LN_AGENT_ARGS=(--vm-kernel "$VM_DIR/vmlinux" --vm-initrd "$VM_DIR/initramfs.cpio")
ln_setup 2
rm -rf "$layer"

# --- bad input -----------------------------------------------------------------------------
ln_taskdef bad "$(jq -n --arg img "$LN_IMAGE" '{containerDefinitions: [
    {name: "app", image: $img, command: ["true"]}]}')"
rc=0
ln_run bad 1 --isolation foo >/dev/null || rc=$?
check "--isolation foo is refused" test "$rc" -ne 0
check_match "saying why" "isolation 'foo' is not runc or vm" "$(cat "$FABRIC_RUN/bad.run")"
md_agent_stop
ln_agent_start --vm-kernel "$FABRIC_RUN/no-such-vmlinux" --vm-initrd "$VM_DIR/initramfs.cpio" ||
        tap_bail "agent"
rc=0
ln_run bad 1 --isolation vm >/dev/null || rc=$?
check "--isolation vm without a kernel is refused" test "$rc" -ne 0
check_match "naming the kernel" "kernel '$FABRIC_RUN/no-such-vmlinux'" \
        "$(cat "$FABRIC_RUN/bad.run")"
check_eq "and the agent lives on" "ok" "$(taskvm -j health 2>/dev/null | jq -r '.status // "ok"')"
md_agent_stop
ln_agent_start "${LN_AGENT_ARGS[@]}" || tap_bail "agent"

# --- one task in a VM --------------------------------------------------------------------------
cmd="udpsend --dst $FABRIC_GATEWAY:$FABRIC_UDP_PORT --count $K --size $S &&
wget -q -O - \"\$ECS_CONTAINER_METADATA_URI_V4\" > /tmp/md && echo && echo metadata \$(cat /tmp/md) &&
echo host \$(hostname) && echo in-the-vm >&2 &&
trap 'echo got TERM; exit 3' TERM; sleep 600 & wait"
ln_taskdef vm1 "$(jq -n --arg img "$LN_IMAGE" --arg cmd "$cmd" '{containerDefinitions: [
    {name: "app", image: $img, command: ["/bin/sh", "-c", $cmd]}]}')"
ip -n "$FABRIC_VPC_NS" neigh replace "$(fabric_eni_ip 1)" lladdr "$(fabric_eni_mac 1)" dev br0 \
        nud permanent
id=$(ln_run vm1 1 --isolation vm) || true
check_match "taskvm run --isolation vm: RUNNING" '"phase": *"RUNNING"' \
        "$(tr -d '\n' <"$FABRIC_RUN/vm1.run")"
check_eq "inspect shows the isolation" vm "$(ln_show "$id" | jq -r .isolation)"
_sent() { ln_logs "$id" app | grep -q "^host "; }
check "the container's output arrives in taskvm logs" wait_until 60 _sent
logs=$(ln_logs "$id" app)
check_match "its datagrams were echoed" "sent $K received $K" "$logs"
check_match "it read its own metadata" "metadata .*\"Name\":\"app\"" "$logs"
check_match "its stderr too" "in-the-vm" "$logs"
check_eq "one qemu runs" 1 "$(qemu_pids | wc -l)"
check "netd made the VM's tap in the task's namespace" \
        nsenter --net="$FABRIC_RUN/taskns/taskvm-$id" ip link show tap0
roots=$(find "$FABRIC_RUN/images/vm-root" -name '*.ext4' 2>/dev/null | wc -l)
check_eq "its root drive was made in the image store" 1 "$roots"

st=$(netdctl -j stats "$id")
read -r rb rp tb tp <<<"$(expect4 $K $S)"
# Two ARP exchanges for the gateway, unmarked (app): the namespace's, for the pull, and the
# guest's. The VPC knows the task's MAC (no ARP from its side).
check_eq "netd counted the VM's datagrams and the ARP exchanges as app, to the byte" \
        "$((rb + 2 * ARP)) $((rp + 2)) $((tb + 2 * ARP)) $((tp + 2))" "$(st_flow app <<<"$st")"

check "taskvm stop" taskvm stop "$id" --detach
check "the task stops" ln_wait_phase "$id" STOPPED 60
c=$(ln_container "$id" app)
check_eq "the container's exit code (its TERM trap) in inspect" 3 "$(jq -r .exit_code <<<"$c")"
check_eq "the task's stop reason" "UserInitiated" "$(ln_show "$id" | jq -r .stop_code)"
check_match "taskvm logs has the trap's line" "got TERM" "$(ln_logs "$id" app)"
check_eq "no qemu is left" "" "$(qemu_pids)"
check_eq "nothing of the task is left" "" "$(ln_leftovers "$id")"
ln_done
