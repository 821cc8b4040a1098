#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A task's secrets fetched on its behalf, from the host side into its namespace (as the shim will
# before the containers start), from the VPC's Secrets Manager / SSM endpoint by name: the values
# are right (JSON keys, a version stage, SSM by name and by ARN), every socket is the task's and
# marked, so netd's counters on the task's eth1 show the exchange (HTTP and DNS) in the "secrets"
# flow and nothing elsewhere, equal to the byte and the packet to an independent nftables count on
# the VPC side of the task's link; and what the client sent and received is what the endpoint
# read and wrote, to the byte.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
sec_require

sec_up 2
# t0 takes slot 0, so that t1's slot (1) shows that the slot comes from the mark.
sec_task_up t0 1
sec_task_up t1 2
ip=$(fabric_eni_ip 2)
peer=vp2

# The independent count: netdev hooks on the VPC side of the task's link (frames from the task
# at ingress, to it at egress), by the task's address and the service's port.
fabric_nsexec vpc nft -f - <<EOT || tap_bail "nft"
table netdev tpcount {
        counter sec_tx {}
        counter sec_rx {}
        counter other_tx {}
        counter other_rx {}
        chain from_task {
                type filter hook ingress device "$peer" priority 0;
                ip saddr $ip tcp dport $FABRIC_SECRETS_PORT counter name "sec_tx" accept
                ip saddr $ip udp dport 53 counter name "sec_tx" accept
                counter name "other_tx"
        }
        chain to_task {
                type filter hook egress device "$peer" priority 0;
                ip daddr $ip tcp sport $FABRIC_SECRETS_PORT counter name "sec_rx" accept
                ip daddr $ip udp sport 53 counter name "sec_rx" accept
                counter name "other_rx"
        }
}
EOT
nft_counter()
{
        fabric_nsexec vpc nft -j list counter netdev tpcount "$1" |
                jq -r '.nftables[] | select(.counter) | .counter | "\(.bytes) \(.packets)"'
}
# netd's "rx_bytes rx_packets tx_bytes tx_packets" from the two nft counters (ingress hooks see
# frames without their 14-byte Ethernet header, egress hooks and tc with it).
expect_flow()
{
        local tb tp rb rp

        read -r tb tp <<<"$(nft_counter "$1")"
        read -r rb rp <<<"$(nft_counter "$2")"
        echo "$rb $rp $((tb + 14 * tp)) $tp"
}
quiet()
{
        [[ -z $(fabric_nsexec t1 ss -Htan state established state fin-wait-1 state fin-wait-2 \
                state close-wait state last-ack state closing state syn-sent) ]]
}

check_eq "nothing counted yet" "0 0 0 0" "$(netdctl -j stats t1 | st_totals)"
out=$(sec_get t1) || tap_bail "the fetch failed"
check_eq "Secrets Manager: a JSON key of the current version" "hunter2" \
        "$(jq -r .containers.app.DB_PASSWORD <<<"$out")"
check_eq "... by the ARN without its random suffix" "admin" "$(jq -r .containers.app.DB_USER <<<"$out")"
check_eq "... a number, as ECS makes it a string" "5432" "$(jq -r .containers.app.DB_PORT <<<"$out")"
check_eq "... the version of a stage" "swordfish" "$(jq -r .containers.app.DB_OLD_PASSWORD <<<"$out")"
check_eq "... a whole secret" 604 "$(jq -r '.containers.app.API_TOKEN | length' <<<"$out")"
check_eq "SSM: by name, by ARN, and a name without a path" \
        "https://api.example.test/v1 https://api.example.test/v1 test" \
        "$(jq -r '.containers.app | "\(.API_URL) \(.API_URL_BY_ARN) \(.REGION_NAME)"' <<<"$out")"
check_eq "a second container's secret" "hunter2" "$(jq -r .containers.sidecar.DB_PASSWORD <<<"$out")"
check "the task's connections are closed" wait_until 10 quiet
sleep 0.2

st=$(netdctl -j stats t1)
secrets=$(expect_flow sec_tx sec_rx)
check_match "the exchange crossed the link" '^[1-9][0-9]{3,} [1-9]' "$secrets"
check_eq "secrets: netd's flow equals the VPC side's count (the endpoint and DNS)" "$secrets" \
        "$(st_flow secrets <<<"$st")"
check_eq "nothing else crossed the link" "0 0 0 0" "$(expect_flow other_tx other_rx)"
for f in app pull auth logs metadata; do
        check_eq "nothing was counted as $f" "0 0 0 0" "$(st_flow "$f" <<<"$st")"
done
check_eq "the flows add up to the device's counters" "$(dev_stats t1)" "$(st_flows_sum <<<"$st")"
check_eq "t0 saw none of it" "0 0 0 0" "$(netdctl -j stats t0 | st_totals)"

# The HTTP bytes: what secretsget sent and received is what vpcd read and wrote on the task's
# connections; one connection, kept alive: 3 Secrets Manager requests (the two keys of
# prod/db's current version are one), 1 of prod/db's AWSPREVIOUS, 1 GetParameters for the three
# SSM names of the task's region.
check_eq "the endpoint read and wrote what the client sent and received, in 5 requests on 1 connection" \
        "$(jq -r '"\(.bytes_sent) \(.bytes_received) 5 1"' <<<"$out")" "$(sec_connections "$ip")"
check_match "the name was resolved by the VPC's nameserver, asked from the task's address" \
        "dns type 1 'secrets.vpc.test' from $ip: NOERROR 198.18.0.1" "$(cat "$FABRIC_RUN/vpcd.log")"
tap_diag "secrets (rx bytes, packets, tx bytes, packets): $secrets" \
        "HTTP: $(jq -c '{bytes_sent, bytes_received}' <<<"$out")"

check "detach t1" netdctl task detach t1
check "detach t0" netdctl task detach t0
tap_done
