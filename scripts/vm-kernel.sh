#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The task VM's guest kernel and modules, from Debian's cloud kernel package, fetched with
# apt-get download and unpacked with dpkg-deb: never installed, and nothing read from /boot.
#   scripts/vm-kernel.sh OUTDIR         (make vm-kernel: OUTDIR = build/vm)
# Writes into OUTDIR:
#   vmlinux            the uncompressed ELF kernel, cut out of the package's bzImage: booted
#                      directly (PVH entry), it skips the decompressor (slow under TCG)
#   modules/*.ko       the modules the guest init loads, and those they depend on
#   modules/order      their file names, one a line, each after the modules it depends on
#                      (the package has no modules.dep: the order comes from each module's
#                      depends= field, read with modinfo)
#   kernel.txt         package, version, the .deb's SHA-256, the bzImage's compression
# Cached: nothing is fetched again while kernel.txt names the package apt would pick now and
# the same modules.
#
# Knobs: VM_KERNEL_PKG (default: what linux-image-cloud-amd64 depends on today, e.g.
# linux-image-6.1.0-57-cloud-amd64), VM_MODULES (the modules wanted; dependencies are added).

set -euo pipefail

META=linux-image-cloud-amd64
MODULES=${VM_MODULES:-virtio_mmio virtio_blk virtio_net virtio_console overlay}

die()
{
        echo "vm-kernel: $*" >&2
        exit 1
}

# The versioned kernel package behind the meta package (apt-cache needs the package lists).
kernel_package()
{
        local pkg

        pkg=$(apt-cache depends --no-recommends --no-suggests "$META" 2>/dev/null |
                sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
        if [[ -z $pkg && $EUID -eq 0 ]]; then
                apt-get update -qq >&2
                pkg=$(apt-cache depends --no-recommends --no-suggests "$META" 2>/dev/null |
                        sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
        fi
        [[ -n $pkg ]] || die "apt-cache knows no '$META' (apt-get update?)"
        echo "$pkg"
}

# le32 FILE OFFSET: the little-endian 32-bit number at OFFSET.
le32()
{
        od -A n -t u4 -j "$2" -N 4 "$1" | tr -d ' '
}

# hexbytes FILE OFFSET COUNT: the bytes as one hex string.
hexbytes()
{
        od -A n -t x1 -j "$2" -N "$3" "$1" | tr -d ' \n'
}

# extract_vmlinux BZIMAGE OUT: the compressed payload is where the x86 boot protocol's header
# says (setup_sects at 0x1f1, payload_offset and payload_length at 0x248, protocol >= 2.08),
# followed by the uncompressed size (4 bytes, little endian). Its magic names the decompressor.
extract_vmlinux()
{
        local bz=$1 out=$2 setup sects version off len start magic tool size

        [[ $(hexbytes "$bz" $((0x202)) 4) == 48647253 ]] || die "$bz: no 'HdrS' boot header"
        version=$(od -A n -t u2 -j $((0x206)) -N 2 "$bz" | tr -d ' ')
        ((version >= 0x208)) || die "$bz: boot protocol $version has no payload fields"
        sects=$(od -A n -t u1 -j $((0x1f1)) -N 1 "$bz" | tr -d ' ')
        ((sects == 0)) && sects=4
        setup=$(((sects + 1) * 512))
        off=$(le32 "$bz" $((0x248)))
        len=$(le32 "$bz" $((0x24c)))
        start=$((setup + off))
        ((len > 4 && start + len <= $(stat -c %s "$bz"))) || die "$bz: payload out of the file"
        magic=$(hexbytes "$bz" "$start" 6)
        case $magic in
        02214c18*) tool="lz4 -dc" ;;
        fd377a585a00) tool="xz -dc --single-stream" ;;
        28b52ffd*) tool="zstd -dcq" ;;
        1f8b*) tool="gzip -dc" ;;
        5d0000*) tool="xz -dc --format=lzma" ;;
        *) die "$bz: unknown payload compression (magic $magic)" ;;
        esac
        size=$(le32 "$bz" $((start + len - 4)))
        command -v "${tool%% *}" >/dev/null || die "'${tool%% *}' is missing (scripts/deps.sh)"
        # shellcheck disable=SC2086 # the tool's arguments
        dd if="$bz" iflag=skip_bytes,count_bytes skip="$start" count=$((len - 4)) status=none |
                $tool >"$out.tmp" ||
                die "$bz: ${tool%% *} failed"
        [[ $(hexbytes "$out.tmp" 0 4) == 7f454c46 ]] || die "$bz: the payload is not an ELF file"
        [[ $(stat -c %s "$out.tmp") == "$size" ]] ||
                die "$bz: $(stat -c %s "$out.tmp") bytes unpacked, the trailer says $size"
        mv "$out.tmp" "$out"
        echo "${tool%% *}"
}

# Module file of NAME below DIR ('-' and '_' are the same in module names).
module_file()
{
        local f

        f=$(find "$1" -name "${2//-/_}.ko" -o -name "${2//_/-}.ko" | head -n 1)
        [[ -n $f ]] || die "module '$2' is not in the package"
        echo "$f"
}

# Depth first: each module after its dependencies, each once.
declare -A SEEN=()
ORDER=()
add_module()
{
        local tree=$1 name=${2//-/_} f dep

        [[ -n ${SEEN[$name]:-} ]] && return 0
        SEEN[$name]=1
        f=$(module_file "$tree" "$name")
        for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
                add_module "$tree" "$dep"
        done
        ORDER+=("$f")
}

main()
{
        local out=${1:-} pkg version deb tree bz comp m sha

        [[ -n $out ]] || die "usage: $0 OUTDIR"
        for m in apt-get apt-cache dpkg-deb modinfo od sha256sum; do
                command -v "$m" >/dev/null || die "'$m' is missing (scripts/deps.sh)"
        done
        pkg=${VM_KERNEL_PKG:-$(kernel_package)}
        mkdir -p "$out"
        if [[ -f $out/kernel.txt && -f $out/vmlinux && -f $out/modules/order ]] &&
                grep -qx "package $pkg" "$out/kernel.txt" &&
                grep -qx "modules $MODULES" "$out/kernel.txt"; then
                touch "$out/kernel.txt"
                exit 0
        fi

        WORK=$(mktemp -d "$out/fetch.XXXXXX")
        trap 'rm -rf "$WORK"' EXIT
        echo "vm-kernel: fetching $pkg" >&2
        (cd "$WORK" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) ||
                die "apt-get download $pkg failed"
        deb=$(echo "$WORK"/*.deb)
        [[ -f $deb ]] || die "no .deb downloaded"
        version=$(dpkg-deb -f "$deb" Version)
        sha=$(sha256sum "$deb" | cut -d ' ' -f 1)
        dpkg-deb -x "$deb" "$WORK/pkg"
        bz=$(echo "$WORK"/pkg/boot/vmlinuz-*)
        [[ -f $bz ]] || die "$pkg has no boot/vmlinuz-*"
        tree=$(echo "$WORK"/pkg/lib/modules/*)
        [[ -d $tree ]] || die "$pkg has no lib/modules/VERSION"

        comp=$(extract_vmlinux "$bz" "$WORK/vmlinux")
        for m in $MODULES; do
                add_module "$tree" "$m"
        done

        rm -rf "$out/modules" "$out/vmlinux" "$out/kernel.txt"
        mkdir -p "$out/modules"
        for m in "${ORDER[@]}"; do
                cp "$m" "$out/modules/"
                echo "${m##*/}" >>"$out/modules/order"
        done
        mv "$WORK/vmlinux" "$out/vmlinux"
        printf '%s\n' "package $pkg" "version $version" "sha256 $sha" "release ${tree##*/}" \
                "compression $comp" "modules $MODULES" >"$out/kernel.txt"
        echo "vm-kernel: $pkg $version: vmlinux ($comp), ${#ORDER[@]} modules" >&2
}

main "$@"
