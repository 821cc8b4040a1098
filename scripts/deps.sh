#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian packages that taskplane needs and that are missing. Fast (one dpkg-query)
# when everything is there; apt-get update runs only when something is missing.
#   scripts/deps.sh           install what is missing (root), or list it and fail (not root)
#   scripts/deps.sh --list    print the package list
#   scripts/deps.sh --check   exit 1 and list what is missing, install nothing
#
# To add a package: one line in PACKAGES, with a comment saying why. "a|b" means either will do
# (the first one is installed when neither is there).

set -euo pipefail

PACKAGES='
# --- build ---
gcc                     # the compiler
make                    # the build
pkg-config              # library flags in the Makefile
clang                   # eBPF programs (clang -target bpf)
llvm                    # llvm-strip and friends for BPF objects
libclang-rt-14-dev|libclang-rt-dev # libFuzzer and sanitizer runtimes of clang (tests/fuzz)
libnl-3-dev             # rtnetlink: links, addresses, routes, link statistics
libnl-route-3-dev       # rtnetlink route objects
libmnl-dev              # netlink sockets for nftables batches
libnftnl-dev            # nftables objects (guards)
libbpf-dev              # eBPF loading, tc attach, skeletons
bpftool                 # skeleton generation (bpftool gen skeleton)
libjansson-dev          # all JSON
libcmocka-dev           # unit tests
libmicrohttpd-dev       # HTTP of the metadata endpoint (taskvm agent) and of the netd metrics
libsystemd-dev          # sd_notify: Type=notify units of netd and the agent
pandoc                  # the man pages, from docs/man/*.md to roff at build time
libcurl4-openssl-dev    # the registry client of the image puller (runtime/regclient.c)
libarchive-dev          # unpacking image layers (runtime/layer.c)
libssl-dev              # SHA-256 of libcrypto for blob digests (libcurl loads libcrypto anyway)
linux-libc-dev          # kernel UAPI headers
libc6-dev               # C library headers
# --- runtime and tests ---
iproute2                # the test fabric (ip netns, veth, bridge) and an independent view
util-linux              # nsenter, unshare; losetup, findmnt (runtime tests: task volumes)
e2fsprogs               # mkfs.ext4: the task volumes (runtime/storage.c execs it)
procps                  # sysctl, ps, pgrep
psmisc                  # fuser, killall (debugging leftovers)
curl                    # HTTP client in tests and the demo
nftables                # nft: an independent view of the guards
iperf3                  # benchmarks
busybox-static          # static tools for task root filesystems (the runtime tests image)
iputils-ping            # ping from task namespaces
socat                   # UDP and TCP clients in tests; a notify socket (t-systemd.sh)
systemd                 # systemd-analyze verify of the units in make check
man-db                  # man: the man page checks, and the Documentation= check of systemd-analyze
jq                      # JSON checks in tests and the demo
podman                  # a real CNI runtime for task-eni (tests/cni/t-podman.sh)
runc                    # the OCI runtime of taskvm and of podman (crun does not work here)
containerd              # the peer of bench/task-start (ctr run, private config)
conmon                  # the container monitor of podman
containernetworking-plugins # reference CNI plugins: tuning (chain test), host-device + static (bench)
nodejs                  # the real npm clients of the metadata endpoint (tests/metadata)
npm|nodejs              # installs them (.ci/run); the nodesource nodejs carries npm
wrk                     # HTTP load for the metadata benchmark (bench/metadata)
docker-registry         # the OCI distribution registry of the test VPC (tests/image, demo)
skopeo                  # pushes the test images to the registry; the peer in bench/image-pull
umoci                   # builds the test images offline; unpacks them in bench/image-pull
apache2-utils           # htpasswd: bcrypt credentials for Basic auth of the test registry (tests/image)
attr                    # getfattr: the xattrs of unpacked layers (tests/image)
rsyslog                 # the syslog collector of the test VPC (fabric_syslog_start, tests/logs)
qemu-system-x86         # the task VM: qemu-system-x86_64 -M microvm (runtime/vm.c, tests/vm)
kmod                    # modinfo: the dependency order of the guest modules (scripts/vm-kernel.sh)
lz4                     # the guest kernel payload in the Debian bzImage (scripts/vm-kernel.sh)
zstd                    # the same, for kernels packed with zstd (scripts/vm-kernel.sh)
xz-utils                # the same, for kernels packed with xz or lzma (scripts/vm-kernel.sh)
cpio                    # the initramfs of the task VM (scripts/vm-initramfs.sh)
'

pkg_list()
{
        sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' <<<"$PACKAGES"
}

# Print the packages (first alternative) of which no alternative is installed.
missing()
{
        local -A have=()
        local pkg status spec alt ok

        # shellcheck disable=SC2016 # dpkg-query fields, not shell variables
        while read -r pkg status; do
                [[ ${status:1:1} == i ]] && have[$pkg]=1
        done < <(pkg_list | tr '|' '\n' |
                xargs dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' 2>/dev/null)

        while read -r spec; do
                ok=0
                for alt in ${spec//|/ }; do
                        [[ -n ${have[$alt]:-} ]] && ok=1
                done
                ((ok)) || echo "${spec%%|*}"
        done < <(pkg_list)
}

main()
{
        local miss

        case ${1:-} in
        --list)
                pkg_list
                return 0
                ;;
        --check | "") ;;
        *)
                echo "usage: $0 [--list|--check]" >&2
                return 2
                ;;
        esac

        if ! command -v dpkg-query >/dev/null; then
                echo "deps: not a Debian system (no dpkg-query); install by hand:" >&2
                pkg_list | sed 's/^/  /' >&2
                return 1
        fi

        mapfile -t miss < <(missing)
        ((${#miss[@]} == 0)) && return 0

        if [[ ${1:-} == --check || $EUID -ne 0 ]]; then
                echo "deps: missing packages: ${miss[*]}" >&2
                [[ $EUID -ne 0 ]] && echo "deps: run as root: scripts/deps.sh" >&2
                return 1
        fi

        echo "deps: installing ${miss[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${miss[@]}"
}

main "$@"
