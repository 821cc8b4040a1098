#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# task-eni chained with Debian's reference tuning plugin in one .conflist, driven the way libcni
# drives a list (tests/cni/conflist.sh): task-eni's ADD result is tuning's prevResult, and the
# chain's final result (tuning's) is what task-eni gets back on CHECK and DEL. In 0.4.0 and
# 1.0.0, the versions Debian's plugins speak; the runtime passes mac and ips as capabilities.
# tuning sets the MTU after task-eni: CHECK must allow it (spec 1.1: a later plugin may have
# modified the networking resources), and still fail when a route of task-eni's goes.
set -euo pipefail
source "$(dirname "$0")/lib-cni.sh"
require_root
require_cmd jq curl

TUNING=/usr/lib/cni/tuning
[[ -x $TUNING ]] || { echo "1..0 # SKIP $TUNING missing (containernetworking-plugins)"; exit 77; }

fabric_up 2
fabric_service_start
netd_start
register_enis 1 2 || tap_bail "ENI registration failed"

plugins=$FABRIC_RUN/plugins
mkdir -p "$plugins"
ln -s "$O/task-eni" "$plugins/task-eni"
ln -s "$TUNING" "$plugins/tuning"

# drive CMD CID NETNS: the conflist driver in the fabric's host namespace; sets RC and OUT.
drive()
{
        RC=0
        OUT=$(nsenter --net="$FABRIC_HOST_NS_PATH" -- env CNI_PATH="$plugins" \
                CNI_CACHE_DIR="$FABRIC_RUN/cache" CAP_ARGS="${CAP_ARGS:-}" \
                "$(dirname "$0")/conflist.sh" "$1" "$LIST" "$2" "$3" eth1 \
                2>"$FABRIC_RUN/drive.err") || RC=$?
}

check_drive_ok()
{
        if ((RC == 0)); then
                tap_ok "$1"
        else
                tap_fail "$1" "exit status $RC" "$OUT" "$(cat "$FABRIC_RUN/drive.err")"
        fi
}

i=0
for v in 0.4.0 1.0.0; do
        i=$((i + 1))
        ns=$(fabric_task_ns "c$i")
        nsname=$FABRIC_PREFIX-c$i
        mac=$(fabric_eni_mac "$i")
        ip=$(fabric_eni_ip "$i")
        LIST=$FABRIC_RUN/chain-$v.conflist
        jq -n --arg v "$v" --arg sock "$NETD_SOCKET" --arg dd "$FABRIC_RUN/tuning" '{
                cniVersion: $v, name: "chain",
                plugins: [
                        {type: "task-eni", socket: $sock, capabilities: {mac: true, ips: true},
                         routes: [{dst: "10.99.0.0/16", gw: "198.18.0.1"}],
                         dns: {nameservers: ["198.18.0.2"]}},
                        {type: "tuning", dataDir: $dd, promisc: true, allmulti: true, mtu: 1500,
                         sysctl: {"net.ipv4.conf.eth1.arp_notify": "1"}}
                ]}' >"$LIST"
        export CAP_ARGS="{\"mac\":\"$mac\",\"ips\":[\"$ip/16\"]}"

        # ADD: task-eni's result flows into tuning as prevResult.
        promisc_before=$(ip -n "$FABRIC_HOST_NS" -d -j link show "$(fabric_eni_name "$i")" | jq .[0].promiscuity)
        drive add "ctr$i" "$ns"
        check_drive_ok "$v: ADD through task-eni then tuning"
        final=$OUT
        check_eq "$v: the chain's result is in $v" "$v" "$(jq -r .cniVersion <<<"$final")"
        check_eq "$v: tuning passed task-eni's result through (interface, MAC, address, routes)" \
                "eth1 $mac $ns|$ip/16|0.0.0.0/0 10.99.0.0/16" \
                "$(jq -r '"\(.interfaces[0].name) \(.interfaces[0].mac) \(.interfaces[0].sandbox)|\(.ips[0].address)|\([.routes[].dst] | join(" "))"' <<<"$final")"
        check_eq "$v: the capabilities reached task-eni as runtimeConfig" "$mac" \
                "$(ip -n "$nsname" -j link show eth1 | jq -r '.[0].address')"
        link=$(ip -n "$nsname" -d -j link show eth1)
        check_eq "$v: tuning worked on task-eni's interface (promisc, allmulti, MTU over netd's 9001)" \
                "1 ALLMULTI 1500" \
                "$(jq -r '.[0] | "\(.promiscuity) \(.flags | map(select(. == "ALLMULTI")) | join("")) \(.mtu)"' <<<"$link")"
        check_eq "$v: tuning's sysctl is set on eth1" 1 \
                "$(ip netns exec "$nsname" sysctl -n net.ipv4.conf.eth1.arp_notify)"
        body=$(fabric_nsexec "c$i" curl -sS --max-time 5 "$FABRIC_HTTP_URL" 2>&1 || true)
        check_match "$v: the task reaches the VPC service" "you are $ip" "$body"

        # CHECK: both plugins get the final result.
        drive check "ctr$i" "$ns"
        check_drive_ok "$v: CHECK of the chain (each plugin given the final result; tuning's MTU allowed)"
        ip -n "$nsname" link set eth1 promisc off
        drive check "ctr$i" "$ns"
        ((RC != 0)) && tap_ok "$v: CHECK fails when tuning's setting drifts" ||
                tap_fail "$v: CHECK fails when tuning's setting drifts" "$OUT"
        ip -n "$nsname" link set eth1 promisc on
        ip -n "$nsname" route del 10.99.0.0/16
        drive check "ctr$i" "$ns"
        check_eq "$v: CHECK fails at task-eni when its route is gone" "102" \
                "$(jq -r .code <<<"$OUT" 2>/dev/null)"
        ip -n "$nsname" route add 10.99.0.0/16 via 198.18.0.1 dev eth1 proto static
        drive check "ctr$i" "$ns"
        check_drive_ok "$v: CHECK passes again"

        check_eq "$v: netd's own check still sees the MTU tuning set" "mtu 9001 1500" \
                "$(netdctl -j task check "$(jq -r '.[0].task_id' <<<"$(netdctl -j task list)")" |
                        jq -r '.differences[] | select(.what == "mtu") | "\(.what) \(.expected) \(.actual)"')"

        # DEL in reverse: tuning restores its settings, then task-eni gives the ENI back.
        drive del "ctr$i" "$ns"
        check_drive_ok "$v: DEL of the chain"
        check_eq "$v: netd has no task" 0 "$(netdctl -j task list | jq length)"
        link=$(ip -n "$FABRIC_HOST_NS" -d -j link show "$(fabric_eni_name "$i")")
        check_eq "$v: the ENI is back on the host, promisc as before tuning" "$promisc_before" \
                "$(jq .[0].promiscuity <<<"$link")"
        check "$v: netd finishes the teardown (md0 and the guards go after DEL answered)" netd_settled
        check_eq "$v: the namespace holds only lo again (eth1 and md0 gone)" "lo" \
                "$(ip -n "$nsname" -j link | jq -r '[.[].ifname] | sort | join(" ")')"
        drive del "ctr$i" "$ns"
        check_drive_ok "$v: DEL of the chain again (no cached result) succeeds"
done

check "netd stops cleanly" netd_stop
tap_done
