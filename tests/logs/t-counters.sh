#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The shipper's socket is made in the task's namespace and carries the logs flow's mark: netd
# counts the connection to the collector as the task's logs flow, to the byte, and that count
# is the device's own (ip -s link in the task namespace) and the VPC side's (the ENI's peer on
# the VPC bridge), which carry nothing else.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../counters/common.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq rsyslogd

N=5000
logs_up
counters_no_arp t1 "$LOGS_IP" "$(fabric_eni_mac 1)"

# TCP's retransmitted segments in the task's namespace (a loaded machine can drop some at the
# collector's socket): the header accounting below holds only without them.
retrans()
{
        ip netns exec "$FABRIC_PREFIX-t1" awk '$1 == "Tcp:" {
                if (!col) { for (i = 2; i <= NF; i++) if ($i == "RetransSegs") col = i; next }
                print $col }' /proc/net/snmp
}
check_eq "nothing counted before" "0 0 0 0" "$(netdctl -j stats t1 | st_flow logs)"
retrans0=$(retrans)
out=$(logship_run web -- seq -f 'line %06g' 1 $N) || tap_fail "logship exits 0" "$out"
check_eq "every message delivered" "$N $N" \
        "$(jq -r '.ship | "\(.messages) \(.delivered)"' <<<"$out")"
check "the collector wrote them" wait_received $N

# vp1 is the ENI's peer on the VPC bridge: what it received the task sent, and back.
vpc_side()
{
        ip -n "$FABRIC_VPC_NS" -j -s link show vp1 |
                jq -r '.[0].stats64 | "\(.tx.bytes) \(.tx.packets) \(.rx.bytes) \(.rx.packets)"'
}
# The connection's last packets (the FIN's acknowledgement) may trail logship's exit.
settled()
{
        [[ $(netdctl -j stats t1 | st_flow logs) == "$(dev_stats t1)" ]]
}
check "netd's logs flow settles at the device's counters" wait_until 5 settled
st=$(netdctl -j stats t1)
logs=$(st_flow logs <<<"$st")
check_eq "the logs flow is the device's count, to the byte and packet" "$(dev_stats t1)" "$logs"
check_eq "and the VPC side's" "$(vpc_side)" "$logs"
check_eq "nothing else went over the ENI (app)" "0 0 0 0" "$(st_flow app <<<"$st")"
# Counted from the other end: the frames the shipper had acknowledged, plus Ethernet, IPv4 and
# TCP headers with timestamps (14 + 20 + 32 bytes) on every packet (a GSO packet counts once),
# the SYN's and SYN-ACK's 8 more bytes of options; the collector sends no data.
read -r rxb rxp txb txp <<<"$logs"
payload=$(jq .ship.delivered_bytes <<<"$out")
resent=$(($(retrans) - retrans0))
if ((resent == 0)); then
        check_eq "tx: the shipper's $payload bytes of frames and the headers of $txp packets" \
                $((payload + 66 * txp + 8)) "$txb"
        check_eq "rx: the headers of $rxp packets" $((66 * rxp + 8)) "$rxb"
else
        # the resent bytes and the collector's SACK options count too (checked above, exactly,
        # against the device and the VPC side)
        tap_skip "tx: frames and headers" "$resent segments were retransmitted"
        tap_skip "rx: headers" "$resent segments were retransmitted"
fi
check "netd detaches the task" netdctl task detach t1
tap_done
