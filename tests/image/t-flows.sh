#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A pull on a task's behalf, from the host side into the task's namespace (as the shim will
# do it), through a registry with Bearer-token auth, by name: every socket is the task's and
# marked, so netd's counters on the task's eth1 show the pull (registry and DNS) in the "pull"
# flow and the token request in "auth", nothing in "app", and each equals, to the byte and the
# packet, what an independent nftables counter on the VPC side of the task's link saw.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
img_require

fabric_up 1 || tap_bail "fabric_up"
IMG_STORE=$FABRIC_RUN/store
mkdir -p "$FABRIC_RUN/layers"
img_token_make "$FABRIC_RUN/token" test/app || tap_bail "token"
fabric_service_start --token-file "$FABRIC_RUN/token" --token-user alice:s3cret ||
        tap_bail "vpcd"
fabric_registry_start || tap_bail "registry"
fabric_registry_start --port 5001 --token "http://$FABRIC_GATEWAY/token" tp-registry tp-issuer \
        "$FABRIC_RUN/token.crt" || tap_bail "token registry"
netd_start || tap_bail "netd"
# t0 takes slot 0, so that t1's slot (1) shows that the slot comes from the mark.
img_task_up t0 1
fabric_eni_add 2
img_task_up t1 2
slot=$(netdctl -j task show t1 | jq .slot)
ip=$(fabric_eni_ip 2)
peer=vp2

# Let some bulk make the numbers big: a layer of 4 MB that does not compress.
head -c 4000000 /dev/urandom >"$FABRIC_RUN/bulk"
l=$(img_layer bulk <<<"file bulk from=$FABRIC_RUN/bulk")
check "an image with 2 layers is pushed" fabric_image_build test/app v1 "$l"

# The independent count: netdev hooks on the VPC side of the task's link (frames from the task
# at ingress, to it at egress), by the task's address and the service's port.
fabric_nsexec vpc nft -f - <<EOT || tap_bail "nft"
table netdev tpcount {
        counter pull_tx {}
        counter pull_rx {}
        counter auth_tx {}
        counter auth_rx {}
        counter other_tx {}
        counter other_rx {}
        chain from_task {
                type filter hook ingress device "$peer" priority 0;
                ip saddr $ip tcp dport 5001 counter name "pull_tx" accept
                ip saddr $ip udp dport 53 counter name "pull_tx" accept
                ip saddr $ip tcp dport 80 counter name "auth_tx" accept
                counter name "other_tx"
        }
        chain to_task {
                type filter hook egress device "$peer" priority 0;
                ip daddr $ip tcp sport 5001 counter name "pull_rx" accept
                ip daddr $ip udp sport 53 counter name "pull_rx" accept
                ip daddr $ip tcp sport 80 counter name "auth_rx" accept
                counter name "other_rx"
        }
}
EOT
# nft_counter NAME: "bytes packets".
nft_counter()
{
        fabric_nsexec vpc nft -j list counter netdev tpcount "$1" |
                jq -r '.nftables[] | select(.counter) | .counter | "\(.bytes) \(.packets)"'
}
# expect_flow TX RX: netd's "rx_bytes rx_packets tx_bytes tx_packets" from the two nft
# counters. Ingress hooks see frames without their 14-byte Ethernet header, egress hooks and
# tc with it.
expect_flow()
{
        local tb tp rb rp

        read -r tb tp <<<"$(nft_counter "$1")"
        read -r rb rp <<<"$(nft_counter "$2")"
        echo "$rb $rp $((tb + 14 * tp)) $tp"
}
# No TCP connection of the task's may still be sending (FIN, last ACK) when counting.
quiet()
{
        [[ -z $(fabric_nsexec t1 ss -Htan state established state fin-wait-1 state fin-wait-2 \
                state close-wait state last-ack state closing state syn-sent) ]]
}

check_eq "nothing counted yet" "0 0 0 0" "$(netdctl -j stats t1 | st_totals)"
out=$(nsenter --net="$FABRIC_HOST_NS_PATH" "$IMGPULL" --store "$IMG_STORE" \
        --netns "/run/netns/$FABRIC_PREFIX-t1" --slot "$slot" --nameserver "$FABRIC_DNS" \
        --insecure registry.vpc.test:5001 --user alice:s3cret --timeout 60000 \
        registry.vpc.test:5001/test/app:v1) || tap_bail "the pull failed"
check_eq "the pull downloaded both layers" 2 "$(jq .layers_downloaded <<<"$out")"
check "the task's connections are closed" wait_until 10 quiet
sleep 0.2

st=$(netdctl -j stats t1)
pull=$(expect_flow pull_tx pull_rx)
auth=$(expect_flow auth_tx auth_rx)
check_match "the pull moved megabytes" '^[0-9]{7,} ' "$pull"
check_eq "pull: netd's flow equals the VPC side's count (registry and DNS)" "$pull" \
        "$(st_flow pull <<<"$st")"
check_eq "auth: the token request, likewise" "$auth" "$(st_flow auth <<<"$st")"
check_match "... which is a real exchange" '^[1-9][0-9]+ [1-9]' "$auth"
check_eq "nothing else crossed the link" "0 0 0 0" "$(expect_flow other_tx other_rx)"
check_eq "nothing was counted as app" "0 0 0 0" "$(st_flow app <<<"$st")"
check_eq "the flows add up to the device's counters" "$(dev_stats t1)" "$(st_flows_sum <<<"$st")"
check_eq "t0 saw none of it" "0 0 0 0" "$(netdctl -j stats t0 | st_totals)"
check_match "the name was resolved by the VPC's nameserver, asked from the task's address" \
        "dns type 1 'registry.vpc.test' from $ip: NOERROR 198.18.0.1" "$(cat "$FABRIC_RUN/vpcd.log")"
check_match "the token was asked from the task's address" "token .* from $ip \(user alice\): 200" \
        "$(cat "$FABRIC_RUN/vpcd.log")"
check "the registry was reached from it" \
        grep -q "^$ip - - .*GET /v2/test/app/blobs/" "$FABRIC_RUN/registry-5001.log"
tap_diag "pull (rx bytes, packets, tx bytes, packets): $pull" "auth: $auth"

check "detach t1" netdctl task detach t1
check "detach t0" netdctl task detach t0
tap_done
