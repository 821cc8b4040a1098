#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Stats: /task/stats carries netd's counters of the task ENI (networks.eth1, the kernel's counters
# of eth1) and rates, sampled in the background; CPU and memory come from the task's cgroup (and a
# container's own cgroup below it); a platform version 1.3.0 task has no network stats and no
# AvailabilityZone.
set -euo pipefail
source "$(dirname "$0")/md.sh"
require_root
require_cmd jq curl

fabric_up 2
fabric_service_start
netd_start
md_netd_up
md_agent_start
md_task_up a 1
md_task_up c 2
md_stats_feed a c

# A cgroup for task c, with one for its container "app" below (v1 where this kernel has it,
# v2 otherwise), and a process in it that burns some CPU and holds some memory. The burn is a
# count of work (~0.5 s of CPU), not a span of time: a loaded machine gives a second of wall
# time far less CPU than the 100 ms the check below asks for.
CG=taskplane-test-$FABRIC_PREFIX/c
cg_dirs=()
if [[ -d /sys/fs/cgroup/cpuacct || -d /sys/fs/cgroup/memory ]]; then
        for h in cpuacct memory cpu,cpuacct; do
                [[ -d /sys/fs/cgroup/$h && ! -L /sys/fs/cgroup/$h ]] && cg_dirs+=("/sys/fs/cgroup/$h")
        done
else
        cg_dirs+=(/sys/fs/cgroup)
        echo +cpu +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
fi
cg_cleanup()
{
        local d pid

        for d in "${cg_dirs[@]}"; do
                for pid in $(cat "$d/$CG/app/cgroup.procs" "$d/$CG/cgroup.procs" 2>/dev/null); do
                        kill -KILL "$pid" 2>/dev/null || true
                done
        done
        sleep 0.2
        for d in "${cg_dirs[@]}"; do
                rmdir "$d/$CG/app" "$d/$CG" "$d/${CG%/c}" 2>/dev/null || true
        done
}
trap 'cg_cleanup; fabric_down' EXIT
for d in "${cg_dirs[@]}"; do
        mkdir -p "$d/$CG/app"
done
# shellcheck disable=SC2016
bash -c 'for d; do echo $$ >"$d/cgroup.procs"; done; x=$(head -c 4000000 /dev/zero | tr "\0" a);
        for ((i = 0; i < 400000; i++)); do :; done; sleep 60' \
        burn "${cg_dirs[@]/%//$CG/app}" &
disown

uri_a=$(md_register a | jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4')
reg_c=$(md_register c --platform-version 1.3.0 --cgroup "$CG")
uri_c=$(jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4' <<<"$reg_c")

# --- netd's counters ------------------------------------------------------------------------------
for _ in 1 2 3 4 5; do
        md_curl a -o /dev/null "$FABRIC_HTTP_URL" || true
done
# A packet may come in at any time (the gateway's ARP): compare netd's counters with the kernel's,
# and the agent's with netd's, at the same moment, until no packet fell in between.
netd_dev()
{
        md_call "$MD_NETD_SOCKET" stats.get '{"task_id":"a"}' | jq -cS '.device | del(.ifname)'
}
netd_is_kernel()
{
        local kernel

        md_stats_feed a
        kernel=$(ip -n "$FABRIC_PREFIX-a" -s -j link show eth1 | jq -cS '.[0].stats64 |
                {rx_bytes: .rx.bytes, rx_packets: .rx.packets, rx_errors: .rx.errors,
                 rx_dropped: .rx.dropped, tx_bytes: .tx.bytes, tx_packets: .tx.packets,
                 tx_errors: .tx.errors, tx_dropped: .tx.dropped}')
        [[ $(netd_dev) == "$kernel" ]]
}
agent_is_netd()
{
        [[ $(md_curl a "$uri_a/task/stats" | jq -cS 'to_entries[0].value.networks.eth1') == \
                "$(netd_dev)" ]]
}
check "netd's device counters are the kernel's counters of a's eth1" wait_until 5 netd_is_kernel
check "/task/stats networks.eth1 is netd's device, all eight counters, within an interval" \
        wait_until 5 agent_is_netd
check "the traffic shows: more than 5 packets each way" \
        jq -e '.rx_packets > 5 and .tx_packets > 5' <<<"$(netd_dev)"
ts=$(md_curl a "$uri_a/task/stats")
check_eq "every container reports the same task-level counters" 1 \
        "$(jq '[.[] | .networks] | unique | length' <<<"$ts")"
# netd's rates change at netd's own sampling: compare the agent's with netd's of the moment,
# until one of the agent's samples falls between two of netd's.
same_rates()
{
        local agent netd

        netd=$(md_call "$MD_NETD_SOCKET" stats.get '{"task_id":"a"}' |
                jq -c '.rates | {rx_bytes_per_sec, tx_bytes_per_sec}')
        agent=$(md_curl a "$uri_a/task/stats" | jq -c 'to_entries[0].value.network_rate_stats')
        [[ $agent == "$netd" ]]
}
check "network_rate_stats is netd's rates" wait_until 12 same_rates
check "and the rates show the traffic" wait_until 12 bash -c \
        "nsenter --net=/run/netns/$FABRIC_PREFIX-a curl -s --max-time 2 $uri_a/task/stats |
         jq -e 'to_entries[0].value.network_rate_stats | .rx_bytes_per_sec > 0 and .tx_bytes_per_sec > 0'"
check "read and preread are one sampling interval apart" jq -e 'to_entries[0].value |
        ((.read | sub("\\.[0-9]+Z$"; "Z") | fromdate) - (.preread | sub("\\.[0-9]+Z$"; "Z") | fromdate)) as $d
        | $d >= 0 and $d <= 2' <<<"$ts"
check_eq "no cgroup: CPU and memory present and zero" "0 0 0" \
        "$(jq -r 'to_entries[0].value | "\(.cpu_stats.cpu_usage.total_usage) \(.memory_stats.usage) \(.memory_stats.limit)"' <<<"$ts")"
check "the host's CPU figures are there" jq -e 'to_entries[0].value.cpu_stats |
        .system_cpu_usage > 0 and .online_cpus > 0' <<<"$ts"

# --- platform version 1.3.0, cgroups ------------------------------------------------------------------
check "c: the container's cgroup shows CPU time and memory" wait_until 6 bash -c \
        "nsenter --net=/run/netns/$FABRIC_PREFIX-c curl -s --max-time 2 $uri_c/stats |
         jq -e '.cpu_stats.cpu_usage.total_usage > 100000000 and .memory_stats.usage > 0 and
                .memory_stats.max_usage > 1000000'"
s=$(md_curl c "$uri_c/stats")
check "c: precpu_stats is the sample before" jq -e \
        '.precpu_stats.cpu_usage.total_usage <= .cpu_stats.cpu_usage.total_usage and
         .precpu_stats.system_cpu_usage < .cpu_stats.system_cpu_usage' <<<"$s"
check "c: memory_stats.stats holds the cgroup's own keys" jq -e '.memory_stats.stats | length > 3' <<<"$s"
check_eq "c (1.3.0): no networks, no network_rate_stats" "false false" \
        "$(jq -r '"\(has("networks")) \(has("network_rate_stats"))"' <<<"$s")"
t=$(md_curl c "$uri_c/task")
check_eq "c (1.3.0): no AvailabilityZone; Networks in the container still" "false 1" \
        "$(jq -r '"\(has("AvailabilityZone")) \(.Containers[0].Networks | length)"' <<<"$t")"
sc=$(md_curl c "$uri_c/task/stats" | jq -c '.[] | select(.name == "sidecar")')
check "c: the sidecar (no cgroup of its own) reads the task's cgroup" \
        jq -e '.cpu_stats.cpu_usage.total_usage > 0' <<<"$sc"
check_eq "inspect: c's cgroup and stats" "$CG true" \
        "$(taskvm -j inspect c | jq -r '"\(.cgroup) \(.stats.cgroup)"')"
md_done
