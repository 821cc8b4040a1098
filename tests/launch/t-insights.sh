#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Container Insights in the launch (issue 12, part 4): with --insights-endpoint, the agent makes a
# Task event of every launched task each --insights-interval from its samples, checks it against
# the EMF specification and has the task's shim ship it over the task's logs flow to the VPC's
# syslog collector, in the log group Container Insights uses. Here each event is checked
# against the specification's required keys by a checker of the test's own (jq, not the C
# validator), for its dimensions and values (the reserved CPU, memory and storage of the task
# definition and platform; the network rates equal to the metadata's network_rate_stats of the
# same sample, which are netd's); a 1.3.0 task's events have no network metrics and leave through
# the platform ENI (--platform-eni), counted in its platform share; and the events' bytes are the
# task's logs flow in netd, equal to an nftables count on the VPC side.
set -euo pipefail
source "$(dirname "$0")/common.sh"
require_cmd rsyslogd
ln_fabric 3
LN_AGENT_ARGS=(--insights-endpoint "tcp://$FABRIC_GATEWAY:$FABRIC_SYSLOG_PORT" --insights-interval 2
        --platform-eni p1)
ln_services
ln_platform_eni 3 || tap_bail "platform ENI"
fabric_syslog_start || tap_bail "syslog collector"

ln_taskdef ci "$(jq -n --arg img "$LN_IMAGE" '{containerDefinitions: [{name: "app", image: $img,
    stopTimeout: 2, command: ["/bin/sh", "-c", "trap \"exit 0\" TERM; while :; do sleep 0.2; done"]}]}')"

# The independent count of the logs flow: the VPC side of ENI 1's link.
ip=$(fabric_eni_ip 1)
ln_vpc_port_count tpinsights 1 "$FABRIC_SYSLOG_PORT" || tap_bail "nft"

# events ID: the Task events of task ID at the collector, one JSON object a line.
events()
{
        jq -c --arg s "FargateTelemetry/containerinsights/$1" 'select(.sd | contains($s)) | .msg' \
                "$FABRIC_SYSLOG_FILE" | jq -c 'fromjson'
}
_events_at_least()
{
        (($(events "$1" | wc -l) >= $2))
}

t1=$(ln_run ci 1) || true
t2=$(ln_run ci 2 --platform-version 1.3.0) || true
check_eq "a 1.4.0 task and a 1.3.0 task run" "RUNNING RUNNING" "$(ln_phase "$t1") $(ln_phase "$t2")"

# Meanwhile the metadata's stats of t1, every quarter second: their time and netd's rates.
md=$(ln_show "$t1" | jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4')
(
        end=$((SECONDS + 40))
        while ((SECONDS < end)); do
                fabric_nsexec host curl -s --max-time 2 "http://127.0.0.1:51679/v4/${md##*/}/stats" |
                        jq -c '{read, rates: .network_rate_stats}' 2>/dev/null || true
                sleep 0.25
        done
) >"$FABRIC_RUN/stats.jsonl" &
poller=$!
# Traffic for the rates: pings from the VPC, 1 KB each, five a second.
fabric_nsexec vpc ping -q -c 200 -i 0.2 -s 1000 "$ip" >/dev/null 2>&1 &
pinger=$!
check "t1: four events arrive at the collector" wait_until 20 _events_at_least "$t1" 4
check "t2: four events" wait_until 10 _events_at_least "$t2" 4
# (netd's rates are over its window: the pings show in them after a few seconds)
_busy_event() { [[ -n $(events "$t1" | jq 'select(.NetworkRxBytes > 1000)') ]]; }
check "t1: an event with the pings' traffic in its rates" wait_until 30 _busy_event
kill "$poller" "$pinger" 2>/dev/null || true
wait "$poller" "$pinger" 2>/dev/null || true

# The EMF specification's required keys, checked here on their own terms.
emf_errors()
{
        jq -r '
          def units: ["Seconds","Microseconds","Milliseconds","Bytes","Kilobytes","Megabytes",
            "Gigabytes","Terabytes","Bits","Kilobits","Megabits","Gigabits","Terabits","Percent",
            "Count","Bytes/Second","Kilobytes/Second","Megabytes/Second","Gigabytes/Second",
            "Terabytes/Second","Bits/Second","Kilobits/Second","Megabits/Second",
            "Gigabits/Second","Terabits/Second","Count/Second","None"];
          . as $root
          | if (._aws | type) != "object" then "no _aws object"
            elif (._aws.Timestamp | type) != "number" or (._aws.Timestamp | floor) != ._aws.Timestamp
              then "_aws.Timestamp is not an integer"
            elif (._aws.CloudWatchMetrics | type) != "array" or (._aws.CloudWatchMetrics | length) == 0
              then "_aws.CloudWatchMetrics is not a non-empty array"
            else ._aws.CloudWatchMetrics[]
              | if (.Namespace | type) != "string" or (.Namespace | length) == 0 then "a Namespace"
                elif (.Dimensions | type) != "array" or (.Dimensions | length) == 0 then "Dimensions"
                elif any(.Dimensions[]; type != "array" or length > 30 or
                         any(.[]; ($root[.] | type) != "string")) then "a DimensionSet"
                elif (.Metrics | type) != "array" or (.Metrics | length) > 100 then "Metrics"
                elif any(.Metrics[]; (.Name | type) != "string" or ($root[.Name] | type) != "number"
                         or ((.Unit // "None") | IN(units[]) | not)) then "a MetricDefinition"
                else empty end
            end'
}
for t in "$t1" "$t2"; do
        check_eq "$t: every event meets the EMF specification's rules" "" "$(events "$t" | emf_errors)"
done
first=$(events "$t1" | sed -n 1p)
check_eq "the Task event: type, ids, cluster's name, the namespace and dimension sets" \
        "Task $t1 ci tp-test ECS/ContainerInsights [[\"ClusterName\"],[\"ClusterName\",\"TaskDefinitionFamily\"]]" \
        "$(jq -r '"\(.Type) \(.TaskId) \(.TaskDefinitionFamily) \(.ClusterName) \(._aws.CloudWatchMetrics[0].Namespace) \(._aws.CloudWatchMetrics[0].Dimensions | tojson)"' <<<"$first")"
check_eq "reserved: 256 CPU units, 512 MiB, 20 GiB of ephemeral storage (1.4.0)" "256 512 20" \
        "$(jq -r '"\(.CpuReserved) \(.MemoryReserved) \(.EphemeralStorageReserved)"' <<<"$first")"
check_eq "account, region, zone, status, launch type" "$MD_ACCOUNT $MD_REGION $MD_AZ RUNNING FARGATE" \
        "$(jq -r '"\(.AccountID) \(.Region) \(.AvailabilityZone) \(.KnownStatus) \(.LaunchType)"' <<<"$first")"
check_eq "the log group Container Insights uses" "/aws/ecs/containerinsights/tp-test/performance" \
        "$(jq -r --arg s "FargateTelemetry/containerinsights/$t1" 'select(.sd | contains($s)) | .sd' \
                "$FABRIC_SYSLOG_FILE" | sed -n 1p | sed -n 's/.*group="\([^"]*\)".*/\1/p')"
check_eq "events every 2 s: timestamps 2 s apart (one stats interval early at most)" "" \
        "$(events "$t1" | jq -s -r '[.[]._aws.Timestamp] | . as $t | range(1; length)
                | ($t[.] - $t[. - 1]) | select(. < 1400 or . > 3100)')"
check_eq "the memory used is the container's, more than nothing" true \
        "$(jq '.MemoryUtilized > 0 and .MemoryUtilized < 512' <<<"$first")"

# Network: the rates of each event are netd's of the same sample, as the metadata shows them.
ms='.read | capture("^(?<s>[^.]+)\\.(?<f>[0-9]+)Z$") | ((.s + "Z") | fromdateiso8601) * 1000 + ((.f + "000")[0:3] | tonumber)'
matched=0 differ=0 busy=0
while read -r ev; do
        ts=$(jq -r ._aws.Timestamp <<<"$ev")
        st=$(jq -c --argjson ts "$ts" "select(($ms) == \$ts) | .rates" "$FABRIC_RUN/stats.jsonl" | sed -n 1p)
        [[ -n $st && $st != null ]] || continue
        matched=$((matched + 1))
        [[ $(jq '.NetworkRxBytes > 1000' <<<"$ev") == true ]] && busy=$((busy + 1))
        [[ "$(jq -c '[.NetworkRxBytes, .NetworkTxBytes]' <<<"$ev")" == \
           "$(jq -c '[.rx_bytes_per_sec, .tx_bytes_per_sec]' <<<"$st")" ]] || {
                differ=$((differ + 1))
                tap_diag "event $ts: $(jq -c '[.NetworkRxBytes, .NetworkTxBytes]' <<<"$ev"), stats: $st"
        }
done < <(events "$t1")
check "some events were matched with the metadata's sample of their time ($matched)" test "$matched" -ge 2
check_eq "their NetworkRxBytes and NetworkTxBytes are netd's rates of that sample" 0 "$differ"
check "with traffic in them (the pings: over 1000 bytes/s received in $busy)" test "$busy" -ge 1
check_eq "the network's log fields are there" true \
        "$(jq 'has("NetworkRxPackets") and has("NetworkTxPackets") and .NetworkTxPackets > 0' <<<"$first")"

t2first=$(events "$t2" | sed -n 1p)
check_eq "1.3.0: no network metrics, no network fields, no AvailabilityZone" "[] false false" \
        "$(jq -c '[._aws.CloudWatchMetrics[0].Metrics[].Name | select(startswith("Network"))]' <<<"$t2first") $(jq 'has("NetworkRxPackets")' <<<"$t2first") $(jq 'has("AvailabilityZone")' <<<"$t2first")"
check_eq "1.3.0: no ephemeral storage metrics (revision 3)" false \
        "$(jq 'has("EphemeralStorageReserved")' <<<"$t2first")"

# The logs flow: stopped, the shim drained the events; netd's final counters of the task.
n_before=$(events "$t1" | wc -l)
check "taskvm stop (t1)" taskvm stop "$t1"
check "taskvm stop (t2)" taskvm stop "$t2"
check_match "the events crossed the link" '^[1-9][0-9]{3,} [1-9]' "$(ln_vpc_counter tpinsights tx)"
check_eq "netd's logs flow of t1 equals the VPC side's count" "$(ln_vpc_flow tpinsights tx rx)" \
        "$(netdctl -j stats "$t1" | st_at .flows.logs)"
check "no event was lost at the stop" test "$(events "$t1" | wc -l)" -ge "$n_before"
# 1.3.0's logs leave through the platform ENI: t2's events are its platform share, not its ENI's.
check_eq "t2 (1.3.0): no logs on its own ENI" "0 0" \
        "$(netdctl -j stats "$t2" | jq -r '"\(.flows.logs.tx.bytes) \(.flows.logs.rx.bytes)"')"
check_match "its events crossed the platform ENI, counted for it" '^[1-9][0-9]{3,} [1-9]' \
        "$(netdctl -j stats "$t2" | jq -r '"\(.platform.flows.logs.tx.bytes) \(.platform.flows.logs.tx.packets)"')"
check_eq "nothing of the tasks is left" "" "$(ln_leftovers "$t1"; ln_leftovers "$t2")"
fabric_nsexec vpc nft delete table netdev tpinsights || true
ln_done
