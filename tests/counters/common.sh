#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the counter tests (tests/counters/t-*.sh), sourced after tests/lib.sh.

# The socket mark of flow FLOW (a number) for slot SLOT: 0x54 << 24 | slot << 8 | flow.
counters_mark()
{
        echo $(((0x54 << 24) | ($1 << 8) | $2))
}

# counters_no_arp TASK IP MAC: permanent neighbours on both sides (the task's gateway, the VPC's
# entry for the task), so that the wire carries exactly the datagrams a test sends.
counters_no_arp()
{
        local task=$1 ip=$2 mac=$3 gwmac

        gwmac=$(ip -n "$FABRIC_VPC_NS" -j link show br0 | jq -r '.[0].address')
        ip -n "$FABRIC_PREFIX-$task" neigh replace "$FABRIC_GATEWAY" lladdr "$gwmac" dev eth1 \
                nud permanent
        ip -n "$FABRIC_VPC_NS" neigh replace "$ip" lladdr "$mac" dev br0 nud permanent
}

# udpsend_in TASK ARGS...: tests/tools/udpsend in the task's namespace.
udpsend_in()
{
        local task=$1
        shift

        fabric_nsexec "$task" "$O/tests/tools/udpsend" "$@"
}

# dev_stats TASK [IFNAME]: "rx_bytes rx_packets tx_bytes tx_packets" of the kernel, read with
# ip -s link in the task namespace.
dev_stats()
{
        ip -n "$FABRIC_PREFIX-$1" -j -s link show "${2:-eth1}" |
                jq -r '.[0].stats64 | "\(.rx.bytes) \(.rx.packets) \(.tx.bytes) \(.tx.packets)"'
}

# The same four numbers from a stats object (stdin): netd's totals, its device section, the sum
# over the flows, one flow.
st_totals()
{
        jq -r '"\(.totals.rx.bytes) \(.totals.rx.packets) \(.totals.tx.bytes) \(.totals.tx.packets)"'
}

st_device()
{
        jq -r '.device | "\(.rx_bytes) \(.rx_packets) \(.tx_bytes) \(.tx_packets)"'
}

st_flows_sum()
{
        jq -r '[.flows[]] | "\(map(.rx.bytes) | add) \(map(.rx.packets) | add) \(map(.tx.bytes) | add) \(map(.tx.packets) | add)"'
}

st_flow()
{
        st_at ".flows.$1"
}

# st_at PATH: the four numbers of the flow object at PATH (.flows.logs, .platform.totals, ...).
st_at()
{
        jq -r "$1"' | "\(.rx.bytes) \(.rx.packets) \(.tx.bytes) \(.tx.packets)"'
}

# expect4 K S: the four numbers of K datagrams of S payload bytes each way (UDP/IPv4/Ethernet).
expect4()
{
        local k=$1 w=$(($2 + 8 + 20 + 14))

        echo "$((k * w)) $k $((k * w)) $k"
}
