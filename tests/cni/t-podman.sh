#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A real runtime: Debian's podman (runc, the CNI network backend, its own containers.conf and
# storage under the test's directory) runs a busybox container on a network whose conflist uses
# task-eni. Inside, eth1 has the ENI's MAC (passed as podman's mac option, the 'mac' capability)
# and address and reaches the VPC service; after `podman rm` the ENI is back on the host and
# netd lists no task. podman runs in the fabric's host namespace, where netd and the ENIs are.
set -euo pipefail
source "$(dirname "$0")/lib-cni.sh"
require_root
require_cmd jq podman runc conmon

BUSYBOX=/bin/busybox
if ! [[ -x $BUSYBOX ]] || ldd "$BUSYBOX" >/dev/null 2>&1; then
        echo "1..0 # SKIP no static $BUSYBOX (busybox-static)"
        exit 77
fi

fabric_up 1
fabric_service_start
netd_start
register_enis 1 1 || tap_bail "ENI registration failed"

P=$FABRIC_RUN/podman
# podman 4.3 keeps libcni's results in /var/lib/cni and image import's blob cache in
# /var/lib/containers/cache whatever --root says: remove what it creates there.
had_cni_dir=0 had_containers_dir=0
[[ -d /var/lib/cni ]] && had_cni_dir=1
[[ -d /var/lib/containers ]] && had_containers_dir=1
NET=tp$FABRIC_ID
mac=$(fabric_eni_mac 1)
ip=$(fabric_eni_ip 1)
mkdir -p "$P/net" "$P/plugins" "$P/tmp" "$P/cni-cache"
ln -s "$O/task-eni" "$P/plugins/task-eni"

# podman lowers its own RLIMIT_NPROC hard limit to 32768 and runc, without CAP_SYS_RESOURCE in
# some sandboxes, cannot raise a limit above the caller's: ask for what the caller has.
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
[[ $nofile == unlimited ]] && nofile=1048576
cat >"$P/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:$nofile", "nproc=1024:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$P/events.log"
runtime = "runc"
tmp_dir = "$P/tmp"
[network]
network_backend = "cni"
cni_plugin_dirs = ["$P/plugins", "/usr/lib/cni"]
network_config_dir = "$P/net"
EOF
jq -n --arg name "$NET" --arg sock "$NETD_SOCKET" --arg addr "$ip/$FABRIC_PREFIXLEN" '{
        cniVersion: "1.0.0", name: $name,
        plugins: [{type: "task-eni", socket: $sock, addresses: [$addr],
                   dns: {nameservers: ["198.18.0.2"]}, capabilities: {mac: true}}]
}' >"$P/net/$NET.conflist"

podman_()
{
        CONTAINERS_CONF=$P/containers.conf TMPDIR=$P/tmp \
                nsenter --net="$FABRIC_HOST_NS_PATH" -- podman --root "$P/root" \
                --runroot "$P/runroot" --storage-driver vfs --cgroup-manager cgroupfs \
                --runtime runc --network-config-dir "$P/net" "$@"
}

cleanup()
{
        local rc=$?

        podman_ rm -f -a -t 0 >/dev/null 2>&1 || true
        podman_ system reset -f >/dev/null 2>&1 || true
        rm -f /var/lib/cni/results/"$NET"-* 2>/dev/null || true
        if ((!had_cni_dir)); then
                rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
        fi
        if ((!had_containers_dir)); then
                rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb
                rmdir /var/lib/containers/cache /var/lib/containers 2>/dev/null || true
        fi
        fabric_down
        return $rc
}
trap cleanup EXIT

# A busybox root filesystem from busybox-static, imported as an image.
rootfs=$P/rootfs
mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp,run}
cp "$BUSYBOX" "$rootfs/bin/busybox"
# (busybox-static's wget crashes in its resolver, even for an IP address: nc talks HTTP here)
for a in sh ip nc cat sleep ls grep hostname printf; do
        ln -s busybox "$rootfs/bin/$a"
done
echo 'root:x:0:0:root:/:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
tar -C "$rootfs" -cf "$P/rootfs.tar" .
check "podman imports the busybox rootfs" podman_ import "$P/rootfs.tar" localhost/tp-busybox:1

[[ -n ${PODMAN_DEBUG:-} ]] && podman_ --log-level debug run --rm --network "$NET:interface_name=eth1" \
        --mac-address "$mac" localhost/tp-busybox:1 /bin/true 2>&1 | grep -iE "mac|cni|error" | tail -30
check "podman lists the task-eni network" bash -c "$(declare -f podman_); P=$P; \
        podman_ network ls --format '{{.Name}}' | grep -qx $NET"

out=$(podman_ run -d --name tpc --network "$NET:interface_name=eth1" --mac-address "$mac" \
        localhost/tp-busybox:1 /bin/sleep 600 2>&1) || true
cid=$(podman_ inspect -f '{{.Id}}' tpc 2>/dev/null || true)
check_match "podman runs the container on the task-eni network" '^[0-9a-f]{64}$' "$cid"
tap_diag "podman run: $out"

link=$(podman_ exec tpc ip -o link show eth1 2>&1 || true)
check_match "inside, eth1 has the ENI's MAC" "link/ether $mac" "$link"
check_match "inside, eth1 is up with MTU 9001" "mtu 9001.*state UP|state UP.*mtu 9001|<.*UP.*> mtu 9001" "$link"
check_match "inside, eth1 has the ENI's address" "inet $ip/16" \
        "$(podman_ exec tpc ip -o addr show eth1 2>&1 || true)"
check_match "inside, the default route is via the VPC gateway" "default via $FABRIC_GATEWAY dev eth1" \
        "$(podman_ exec tpc ip route 2>&1 || true)"
http_get="printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 $FABRIC_GATEWAY $FABRIC_HTTP_PORT"
check_match "inside, the container reaches the VPC service" "you are $ip" \
        "$(podman_ exec tpc sh -c "$http_get" 2>&1 || true)"
check_match "inside, the instance metadata service is refused at once" \
        "can't connect.*(refused|unreachable|denied|No route)" \
        "$(podman_ exec tpc nc -w 3 169.254.169.254 80 </dev/null 2>&1 || true)"
check_eq "the ENI is gone from the host" "" \
        "$(ip -n "$FABRIC_HOST_NS" -o link show "$(fabric_eni_name 1)" 2>/dev/null)"
tasks=$(netdctl -j task list)
check_eq "netd has one task, for podman's container on this network" "1 $NET $cid eth1" \
        "$(jq -r '"\(length) \(.[0].attrs["cni.network"]) \(.[0].attrs["cni.container_id"]) \(.[0].attrs["cni.ifname"])"' <<<"$tasks")"
check_match "its namespace is podman's" "^/run/netns/" "$(jq -r '.[0].netns' <<<"$tasks")"

check "podman rm -f removes the container" podman_ rm -f -t 0 tpc
check "the ENI is back on the host" ip -n "$FABRIC_HOST_NS" link show "$(fabric_eni_name 1)"
check_match "the ENI is down on the host, MAC unchanged" "state DOWN.*link/ether $mac" \
        "$(ip -n "$FABRIC_HOST_NS" -o link show "$(fabric_eni_name 1)")"
check_eq "netd lists no task" 0 "$(netdctl -j task list | jq length)"
check_eq "the ENI is available again" available \
        "$(netdctl -j eni show "$mac" | jq -r .state)"

# The same ENI serves the next container.
out=$(podman_ run --rm --network "$NET:interface_name=eth1" --mac-address "$mac" localhost/tp-busybox:1 \
        /bin/sh -c "$http_get" 2>&1 || true)
check_match "a second container (podman run --rm) gets the ENI and reaches the service" \
        "you are $ip" "$out"
check_eq "and after it, netd lists no task" 0 "$(netdctl -j task list | jq length)"

check "netd stops cleanly" netd_stop
tap_done
