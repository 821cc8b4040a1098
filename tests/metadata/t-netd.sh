#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The agent and netd: the metadata address netd reports (its metadata link) wins over one given
# at registration, and one that appears later is picked up; when stats.get fails or netd is
# unreachable the endpoint keeps answering (without network stats) and recovers with netd.
# fake-netd stands in front of netd here, to report addresses and to fail on purpose.
# MD_ADDR (md.sh) is keyed by task name; MD_FAKE_STATS is read by md.sh.
# shellcheck disable=SC2034,SC2154
set -euo pipefail
source "$(dirname "$0")/md.sh"
require_root
require_cmd jq curl

fabric_up 3
netd_start
md_fake_start
MD_FAKE_STATS=1
md_agent_start
for i in 1 2; do
        netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" \
                gateway "$FABRIC_GATEWAY" >/dev/null
done
netdctl task attach a netns "$(fabric_task_ns a)" mac "$(fabric_eni_mac 1)" addr "$(fabric_eni_ip 1)/16" >/dev/null
netdctl task attach b netns "$(fabric_task_ns b)" mac "$(fabric_eni_mac 2)" addr "$(fabric_eni_ip 2)/16" >/dev/null
md_stats_feed a b

# netd_md NAME N: the task's metadata address as netd reports it; where netd builds no link yet,
# one is built here and fake-netd's task.show reports it as netd will.
netd_md()
{
        local addr

        addr=$(netdctl -j task show "$1" | jq -r '.metadata.address // empty')
        if [[ -n $addr ]]; then
                echo "${addr%/*}"
                return 0
        fi
        addr=$(md_link_build "$1" "$2")
        netdctl -j task show "$1" | jq --arg a "$addr" '. + {metadata: {address: ($a + "/22")}}' \
                >"$MD_REPLIES/task.show/$1.json"
        echo "$addr"
}

# netd reports a's metadata address: it wins over the one given at registration.
addr_a=$(netd_md a 50)
MD_ADDR[a]=$(md_addr 200)
reg_a=$(md_register a)
uri_a=$(jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4' <<<"$reg_a")
check_eq "a: netd's metadata address wins over --metadata-address" "$addr_a netd" \
        "$(taskvm -j inspect a | jq -r '"\(.metadata_address) \(.metadata_address_source)"')"
check_eq "a is served over that link" 200 "$(md_status a "$uri_a/task")"

# b registered while netd reports no address (fake-netd hides it), and without one: the local
# listener only; then netd reports it, and the agent picks it up.
addr_b=$(netd_md b 51)
netdctl -j task show b | jq 'del(.metadata)' >"$MD_REPLIES/task.show/b.json"
reg_b=$(taskvm -j register --task-definition <(md_taskdef /dev/stdout b "") --cluster "$MD_CLUSTER" \
        --region "$MD_REGION" --availability-zone "$MD_AZ" --netd-task b)
uri_b=$(jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4' <<<"$reg_b")
check_eq "b: no address yet" "null" "$(jq -r .metadata_address <<<"$reg_b")"
check_eq "b: no credentials id without a task role" "null" "$(jq -r .credentials_id <<<"$reg_b")"
check_eq "b: the local listener serves it" 200 \
        "$(fabric_nsexec host curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:51679/v4/${uri_b##*/}")"
check_eq "b: not served over its link yet" 404 "$(md_status b "$uri_b/task")"
netdctl -j task show b | jq --arg a "$addr_b" '.metadata = (.metadata // {address: $a})' \
        >"$MD_REPLIES/task.show/b.json"
check "b: netd's address is picked up at the next refresh" wait_until 5 bash -c \
        "[[ \$('$O/taskvm' --socket '$AGENT_SOCKET' -j inspect b | jq -r .metadata_address) == $addr_b ]]"
check_eq "b is served over its link now" 200 "$(md_status b "$uri_b/task")"
check_eq "and its network came from netd" "$(fabric_eni_ip 2) $(fabric_eni_mac 2)" \
        "$(md_curl b "$uri_b" | jq -r '.Networks[0] | "\(.IPv4Addresses[0]) \(.MACAddress)"')"

# stats.get fails (as before netd has it): no network stats, the rest served.
check "a has network stats" wait_until 5 bash -c \
        "nsenter --net=/run/netns/$FABRIC_PREFIX-a curl -s --max-time 2 $uri_a/stats | jq -e .networks.eth1"
echo '{"code":-32601,"message":"Unknown method '"'stats.get'"'"}' >"$MD_REPLIES/stats.get.error"
check "stats.get failing: /stats answers without networks" wait_until 5 bash -c \
        "nsenter --net=/run/netns/$FABRIC_PREFIX-a curl -s --max-time 2 $uri_a/stats |
         jq -e '(has(\"networks\") | not) and (has(\"network_rate_stats\") | not) and .cpu_stats != null'"
check_match "health says why" "Unknown method 'stats.get'" "$(taskvm -j health | jq -r .netd.stats_get)"
check_match "inspect says why" "Unknown method" "$(taskvm -j inspect a | jq -r .stats.network_note)"
rm "$MD_REPLIES/stats.get.error"
md_stats_feed a b
check "stats.get back: networks back" wait_until 5 bash -c \
        "nsenter --net=/run/netns/$FABRIC_PREFIX-a curl -s --max-time 2 $uri_a/stats | jq -e .networks.eth1"

# netd unreachable: the endpoint keeps serving what it has.
md_fake_stop
check "netd gone: health says so" wait_until 5 bash -c \
        "'$O/taskvm' --socket '$AGENT_SOCKET' -j health | jq -e '.netd.stats_get | test(\"Cannot reach netd\")'"
check_eq "a's metadata is still served" "200 200" \
        "$(md_status a "$uri_a/task") $(md_status a "$uri_a/task/stats")"
check_eq "with the network netd gave" "$(fabric_eni_ip 1)" \
        "$(md_curl a "$uri_a" | jq -r '.Networks[0].IPv4Addresses[0]')"
MD_ADDR[c]=$(md_addr 3)
check_fail "registering while netd is unreachable fails" md_register c
check_match "... saying so" "Cannot reach netd|netd:" "$(md_register c 2>&1 || true)"
md_fake_start
md_stats_feed a b
check "netd back: network stats back" wait_until 5 bash -c \
        "nsenter --net=/run/netns/$FABRIC_PREFIX-a curl -s --max-time 2 $uri_a/stats | jq -e .networks.eth1"
check_eq "health is ok again" "ok ok" "$(taskvm -j health | jq -r '"\(.netd.task_list) \(.netd.stats_get)"')"

# a task netd does not know cannot be registered
MD_ADDR[zz]=169.254.172.99
out=$(md_register zz 2>&1 || true)
check_match "a task netd does not know: refused" "netd has no task 'zz'" "$out"
md_done
