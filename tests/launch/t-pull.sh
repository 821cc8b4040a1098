#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A launched task pulls its image over its own ENI (issue 11, part 2): from a registry with
# Bearer-token auth, by name (the VPC's DNS, asked with the task's nameserver); every byte of the
# pull is in netd's "pull" flow and the token request in "auth", each equal to the byte and the
# packet to an independent count on the VPC side of the task's link; the "app" flow has no IP
# packet (only the ARP of the gateway, which netd counts as app by design); progress on a
# terminal; the layer cache shared by tasks (a second task downloads nothing); an unknown image
# and a registry that is down stop the task with CannotPullContainerError and leave nothing.
set -euo pipefail
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/../image/common.sh"
require_cmd script openssl
ln_fabric 2
mkdir -p "$FABRIC_RUN/layers"
img_token_make "$FABRIC_RUN/token" test/app || tap_bail "token"
head -c 4000000 /dev/urandom >"$FABRIC_RUN/bulk"
LN_LAYERS=("$(img_layer bulk <<<"file bulk from=$FABRIC_RUN/bulk")")
LN_AGENT_ARGS=(--insecure-registry "registry.vpc.test:5001")
# vpcd hands tokens to anyone (no --token-user): anonymous pulls, as taskvm makes them.
ln_services --token-file "$FABRIC_RUN/token"
fabric_registry_start --port 5001 --token "http://$FABRIC_GATEWAY/token" tp-registry tp-issuer \
        "$FABRIC_RUN/token.crt" || tap_bail "token registry"

ip=$(fabric_eni_ip 1)
peer=vp1
# The independent count: netdev hooks on the VPC side of the task's link.
fabric_nsexec vpc nft -f - <<EOT || tap_bail "nft"
table netdev tpcount {
        counter pull_tx {}
        counter pull_rx {}
        counter auth_tx {}
        counter auth_rx {}
        counter arp_tx {}
        counter arp_rx {}
        counter other_tx {}
        counter other_rx {}
        chain from_task {
                type filter hook ingress device "$peer" priority 0;
                ip saddr $ip tcp dport 5001 counter name "pull_tx" accept
                ip saddr $ip udp dport 53 counter name "pull_tx" accept
                ip saddr $ip tcp dport 80 counter name "auth_tx" accept
                meta protocol arp counter name "arp_tx" accept
                counter name "other_tx"
        }
        chain to_task {
                type filter hook egress device "$peer" priority 0;
                ip daddr $ip tcp sport 5001 counter name "pull_rx" accept
                ip daddr $ip udp sport 53 counter name "pull_rx" accept
                ip daddr $ip tcp sport 80 counter name "auth_rx" accept
                meta protocol arp counter name "arp_rx" accept
                counter name "other_rx"
        }
}
EOT
expect_flow() { ln_vpc_flow tpcount "$1" "$2"; }
quiet()
{
        [[ -z $(nsenter --net="$1" ss -Htan state established state fin-wait-1 \
                state fin-wait-2 state close-wait state last-ack state closing state syn-sent \
                2>/dev/null) ]]
}

# The container does nothing on the network: what crosses eth1 is the pull.
ln_taskdef idle "$(jq -n --arg img "registry.vpc.test:5001/test/app:v1" '{containerDefinitions: [
    {name: "app", image: $img, stopTimeout: 2,
     command: ["/bin/sh", "-c", "trap \"exit 0\" TERM; while :; do sleep 0.2; done"]}]}')"
# On a terminal (script(1) gives it one): the progress of the pull and the phases.
script -qec "$O/taskvm --socket $AGENT_SOCKET run --task-definition $FABRIC_RUN/idle.json \
        --cluster $MD_CLUSTER --region $MD_REGION --availability-zone $MD_AZ \
        --eni $(fabric_eni_mac 1) --address $ip/16 --nameserver $FABRIC_DNS" \
        "$FABRIC_RUN/tty.out" >/dev/null </dev/null || true
out=$(tr -d '\r' <"$FABRIC_RUN/tty.out")
id=$(grep -Eo '^[0-9a-f]{32}$' <<<"$out" | tail -n 1 || true)
[[ -n $id ]] || tap_bail "taskvm run failed: $out"
check_match "on a terminal, taskvm run shows the pull's progress" \
        "pulling registry.vpc.test:5001/test/app:v1: [0-9]/2 layers, [0-9.]+/[0-9.]+ MB" "$out"
check_match "and the phases up to RUNNING" "task $id PENDING.*task $id RUNNING" "$(echo $out)"
check "and the task id after it" grep -qx "$id" <<<"$(sed -n '/ RUNNING/,$p' <<<"$out")"

show=$(ln_show "$id")
check_eq "both layers were downloaded" "2 2" \
        "$(jq -r '"\(.pull.layers_done) \(.pull.layers_total)"' <<<"$show")"
check_match "4 MB and more" '^[4-9][0-9]{6} ' "$(jq -r '"\(.pull.bytes_done) \(.pull.bytes_total)"' <<<"$show")"
ns=$FABRIC_RUN/taskns/taskvm-$id
check "the task's connections are closed" wait_until 10 quiet "$ns"
sleep 0.2
st=$(netdctl -j stats "$id")
pull=$(expect_flow pull_tx pull_rx)
auth=$(expect_flow auth_tx auth_rx)
check_match "the pull moved megabytes" '^[0-9]{7,} ' "$pull"
check_eq "pull: netd's flow equals the VPC side's count (registry and DNS)" "$pull" \
        "$(st_flow pull <<<"$st")"
check_eq "auth: the token request, likewise" "$auth" "$(st_flow auth <<<"$st")"
check_match "... which is a real exchange" '^[1-9][0-9]+ [1-9]' "$auth"
check_eq "app: no IP packet, only the gateway's ARP" "$(expect_flow arp_tx arp_rx)" \
        "$(st_flow app <<<"$st")"
check_eq "nothing else crossed the link" "0 0 0 0" "$(expect_flow other_tx other_rx)"
check_eq "the flows add up to the device's counters" \
        "$(ip -n "$FABRIC_VPC_NS" -j -s link show "$peer" |
                jq -r '.[0].stats64 | "\(.tx.bytes) \(.tx.packets) \(.rx.bytes) \(.rx.packets)"')" \
        "$(st_flows_sum <<<"$st")"
check_match "the name was resolved by the VPC's nameserver, asked from the task's address" \
        "dns type 1 'registry.vpc.test' from $ip: NOERROR 198.18.0.1" "$(cat "$FABRIC_RUN/vpcd.log")"
check_match "the token was asked from the task's address" "token .* from $ip.*: 200" \
        "$(cat "$FABRIC_RUN/vpcd.log")"
check "stop it" taskvm stop "$id"

# --- the cache: a second task of the same image downloads no layer -------------------------
id2=$(ln_run idle 2) || true
show=$(ln_show "$id2")
check_eq "a second task: the layers come from the store" "2 2 0" \
        "$(jq -r '"\(.pull.layers_done) \(.pull.layers_total) \(.pull.bytes_total)"' <<<"$show")"
check_eq "and the same image" "$(ln_container "$id" app | jq -r .image_digest)" \
        "$(ln_container "$id2" app | jq -r .image_digest)"
check_eq "only the manifest crossed its link: pull well below a layer" 1 \
        "$(netdctl -j stats "$id2" | jq '.flows.pull.rx.bytes < 100000 and .flows.pull.rx.bytes > 0 | if . then 1 else 0 end')"
check_match "the first task's pull ran in a child of its shim" "Pulling .* \(pid [0-9]+\)" \
        "$(cat "$FABRIC_RUN/runs/$id/shim.log")"
check_match "the second's in a thread, the store having the image (no child)" \
        "Pulling .* \(in a thread: the store has it\)" "$(cat "$FABRIC_RUN/runs/$id2/shim.log")"
check "stop it" taskvm stop "$id2"

# --- errors ---------------------------------------------------------------------------------
ln_taskdef nosuch "$(jq -n '{containerDefinitions: [
    {name: "app", image: "registry.vpc.test:5000/test/nosuch:v1"}]}')"
rc=0
out=$(ln_run nosuch 1) || rc=$?
check_eq "an unknown image: taskvm run fails" 1 "$rc"
show=$(jq . "$FABRIC_RUN/nosuch.run")
check_eq "the task stopped before it ran" "STOPPED TaskFailedToStart" \
        "$(jq -r '"\(.phase) \(.stop_code)"' <<<"$show")"
check_match "CannotPullContainerError, saying what is missing" \
        "^CannotPullContainerError: .*test/nosuch.*not found" "$(jq -r .stopped_reason <<<"$show")"
check_match "the container says it too" "^CannotPullContainerError" \
        "$(jq -r '.containers[0].reason' <<<"$show")"
check_eq "nothing of it is left" "" "$(ln_leftovers "$(jq -r .task_id <<<"$show")")"

ln_taskdef down "$(jq -n '{containerDefinitions: [
    {name: "app", image: "registry.vpc.test:5009/test/app:v1"}]}')"
out=$(ln_run down 1) || true
check_match "a registry that is down: CannotPullContainerError, connection refused" \
        "^CannotPullContainerError: .*(refused|Connection)" \
        "$(jq -r .stopped_reason "$FABRIC_RUN/down.run")"
check_eq "nothing of it is left" "" "$(ln_leftovers "$(jq -r .task_id "$FABRIC_RUN/down.run")")"
check_eq "the ENIs are available again" "available available" \
        "$(netdctl -j eni list | jq -r '[.[].state] | join(" ")')"
ln_done
