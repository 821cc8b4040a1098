#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the task VM tests (tests/vm/t-*.sh), sourced after tests/lib.sh. Each boot of a
# VM under TCG costs 1.5-3 s of CPU: the tests boot few.

VM_DIR=$O/vm
VMRUN=$O/tests/tools/vmrun

# require_vm: skip unless the guest kernel, initramfs, qemu and mkfs.ext4 are there.
require_vm()
{
        require_cmd qemu-system-x86_64 mkfs.ext4 busybox jq
        [[ -r $VM_DIR/vmlinux && -r $VM_DIR/initramfs.cpio && -x $VMRUN &&
                -x $VM_DIR/guest-udpsend ]] || _tap_skip_all "no guest kernel and initramfs ($O/vm: make tests)"
}

# vm_image IMG [FILE...]: an ext4 image (mkfs.ext4 -d) of a root file system made of busybox
# (busybox-static: the same as fabric_image_build's layer 1) and udpsend in /bin, plus FILEs in
# /bin; its size is what it holds plus room.
vm_image()
{
        local img=$1 root f a
        shift

        root=$(mktemp -d "$FABRIC_RUN/rootfs.XXXXXX") || return 1
        mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" || return 1
        chmod 1777 "$root/tmp"
        cp "$(command -v busybox)" "$root/bin/busybox" || return 1
        for a in $(busybox --list); do
                [[ $a == busybox ]] || ln -sf busybox "$root/bin/$a"
        done
        cp "$VM_DIR/guest-udpsend" "$root/bin/udpsend" || return 1
        for f in "$@"; do
                cp "$f" "$root/bin/" || return 1
        done
        echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
        echo 'root:x:0:' >"$root/etc/group"
        mkfs.ext4 -q -F -E root_owner=0:0 -d "$root" "$img" 16M >/dev/null || return 1
        rm -rf "$root"
}

# vm_filters TASK: eth1's tc filters, one "DIRECTION PREF KIND" a line.
vm_filters()
{
        local ns=$FABRIC_PREFIX-$1 dir

        for dir in ingress egress; do
                tc -n "$ns" -j filter show dev eth1 "$dir" |
                        jq -r --arg d "$dir" '.[] | select(.kind != null) | "\($d) \(.pref) \(.kind)"' |
                        sort -u
        done
}

# vmrun_in TASK ARGS...: vmrun in the task's namespace, with the kernel and initramfs.
vmrun_in()
{
        local task=$1
        shift

        fabric_nsexec "$task" "$VMRUN" --kernel "$VM_DIR/vmlinux" --initrd "$VM_DIR/initramfs.cpio" \
                "$@"
}

# qemu_pids: the qemu processes of this fabric (their command line names its directory).
qemu_pids()
{
        local f cmd

        for f in /proc/[0-9]*; do
                cmd=$(tr '\0' ' ' 2>/dev/null <"$f/cmdline") || continue
                [[ $cmd == qemu-system-x86_64* && $cmd == *"$FABRIC_RUN"* ]] && echo "${f#/proc/}"
        done
        return 0
}

# event_field FILE EVENT N: field N (1 = the event's name) of the first EVENT line.
event_field()
{
        awk -v e="$2" -v n="$3" '$1 == e { print $n; exit }' "$1"
}
