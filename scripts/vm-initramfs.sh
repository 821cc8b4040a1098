#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The task VM's initramfs: our static init (guest/, PID 1) and the kernel modules it loads, in
# their order (scripts/vm-kernel.sh), and nothing else: no shell, no busybox; the task's root
# file systems come from its images, on virtio-blk drives.
#   scripts/vm-initramfs.sh OUTPUT INIT MODULES_DIR
# A newc cpio archive, not compressed (1.3 MB; gzip -9 makes it 0.5 MB and boots no faster
# under TCG, measured: docs/vm.md), reproducible: sorted, owned by 0:0, every time 0.

set -euo pipefail

die()
{
        echo "vm-initramfs: $*" >&2
        exit 1
}

main()
{
        local out=${1:-} init=${2:-} mods=${3:-} stage m

        [[ -n $out && -x $init && -f $mods/order ]] || die "usage: $0 OUTPUT INIT MODULES_DIR"
        command -v cpio >/dev/null || die "'cpio' is missing (scripts/deps.sh)"
        stage=$(mktemp -d "${out%/*}/initramfs.XXXXXX")
        # shellcheck disable=SC2064 # expand now: the variable is local
        trap "rm -rf '$stage'" EXIT

        mkdir -p "$stage/dev" "$stage/proc" "$stage/sys" "$stage/run" "$stage/lib/modules"
        install -m 0755 -s "$init" "$stage/init"
        while read -r m; do
                [[ -f $mods/$m ]] || die "$mods/$m is in the order but missing"
                install -m 0644 "$mods/$m" "$stage/lib/modules/$m"
        done <"$mods/order"
        install -m 0644 "$mods/order" "$stage/lib/modules/order"
        find "$stage" -exec touch -h -d @0 {} +
        (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
                cpio --quiet -o -H newc -R 0:0 --reproducible) >"$out.tmp"
        mv "$out.tmp" "$out"
}

main "$@"
