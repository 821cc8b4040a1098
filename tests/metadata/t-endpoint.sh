#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The metadata and credentials endpoints from inside task namespaces: every path answers for the
# task's own ids, field for field; another task's ids and unknown ids get 404; credentials follow
# the operator's files; every answer is JSON; the local listener answers by id.
set -euo pipefail
source "$(dirname "$0")/md.sh"
require_root
require_cmd jq curl

fabric_up 2
fabric_service_start
netd_start
md_netd_up
# The agent starts before any metadata link exists: 169.254.170.2 is bound with IP_FREEBIND.
md_agent_start
md_task_up a 1
md_task_up b 2
md_stats_feed a b
md_creds a-role AKIAAAAA token-a-1

reg_a=$(md_register a)
check "register task a" test -n "$reg_a"
reg_b=$(md_register b)
check "register task b" test -n "$reg_b"
uri_a=$(jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4' <<<"$reg_a")
uri_a2=$(jq -r '.containers[1].env.ECS_CONTAINER_METADATA_URI_V4' <<<"$reg_a")
uri_b=$(jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4' <<<"$reg_b")
cred_a=$(jq -r '.containers[0].env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI' <<<"$reg_a")
cred_b=$(jq -r '.containers[0].env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI' <<<"$reg_b")
id_a=${uri_a##*/}
arn_a=$(jq -r .task_arn <<<"$reg_a")
check_match "the metadata URI is 169.254.170.2/v4/<task id>-<10 digits>" \
        '^http://169\.254\.170\.2/v4/[0-9a-f]{32}-[0-9]{10}$' "$uri_a"
check_match "the credentials URI is /v2/credentials/<128 bits>" \
        '^/v2/credentials/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "$cred_a"
check_eq "each task has its own credentials id" "" "$( [[ $cred_a == "$cred_b" ]] && echo same)"
check_eq "taskvm ps lists both, with their metadata addresses" \
        "a ${MD_ADDR[a]} b ${MD_ADDR[b]}" \
        "$(taskvm -j ps | jq -r 'sort_by(.task_id) | map("\(.task_id) \(.metadata_address)") | join(" ")')"

# --- every path answers for the task's own ids ---------------------------------------------------
c=$(md_curl a "$uri_a")
check_eq "a: container DockerId is its endpoint id" "$id_a" "$(jq -r .DockerId <<<"$c")"
check_eq "a: container name, image, status" "app public.ecr.aws/tp/app:1 RUNNING RUNNING NORMAL" \
        "$(jq -r '"\(.Name) \(.Image) \(.DesiredStatus) \(.KnownStatus) \(.Type)"' <<<"$c")"
check_eq "a: container network is its ENI (address, MAC, subnet, gateway/prefix)" \
        "$(fabric_eni_ip 1) $(fabric_eni_mac 1) 198.18.0.0/16 198.18.0.1/16 198.18.0.2 tp.internal" \
        "$(jq -r '.Networks[0] | "\(.IPv4Addresses[0]) \(.MACAddress) \(.IPv4SubnetCIDRBlock) \(.SubnetGatewayIpv4Address) \(.DomainNameServers[0]) \(.DomainNameSearchList[0])"' <<<"$c")"
check_eq "a: log options from the task definition" "awslogs /ecs/a us-west-2" \
        "$(jq -r '"\(.LogDriver) \(.LogOptions["awslogs-group"]) \(.LogOptions["awslogs-region"])"' <<<"$c")"
check_eq "a: labels name the task" "$arn_a a 4" \
        "$(jq -r '.Labels | "\(.["com.amazonaws.ecs.task-arn"]) \(.["com.amazonaws.ecs.task-definition-family"]) \(.["com.amazonaws.ecs.task-definition-version"])"' <<<"$c")"
c2=$(md_curl a "$uri_a2")
check_eq "a: the second container's endpoint gives the second container" "sidecar" \
        "$(jq -r .Name <<<"$c2")"

t=$(md_curl a "$uri_a/task")
check_eq "a: /task: TaskARN, Cluster as an ARN, Family, Revision as a string" \
        "$arn_a $MD_CLUSTER a \"4\"" \
        "$(jq -r '"\(.TaskARN) \(.Cluster) \(.Family) \(.Revision | tojson)"' <<<"$t")"
check_eq "a: /task: AvailabilityZone, LaunchType, Limits (vCPU, MiB)" "us-west-2b FARGATE 0.5 1024" \
        "$(jq -r '"\(.AvailabilityZone) \(.LaunchType) \(.Limits.CPU) \(.Limits.Memory)"' <<<"$t")"
check_match "a: /task: ClockDrift with ReferenceTimestamp" \
        '^[0-9.]+ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z (SYNCHRONIZED|NOT_SYNCHRONIZED)$' \
        "$(jq -r '.ClockDrift | "\(.ClockErrorBound) \(.ReferenceTimestamp) \(.ClockSynchronizationStatus)"' <<<"$t")"
check_eq "a: /task: both containers, their own DockerIds" "$id_a ${uri_a2##*/}" \
        "$(jq -r '[.Containers[].DockerId] | join(" ")' <<<"$t")"
check_match "a: /task: times are RFC 3339 with nanoseconds" \
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$' \
        "$(jq -r '.Containers[0].CreatedAt' <<<"$t")"

s=$(md_curl a "$uri_a/stats")
check_eq "a: /stats is the container's" "app $id_a" "$(jq -r '"\(.name) \(.id)"' <<<"$s")"
check_eq "a: /stats has networks.eth1 and network_rate_stats" "eth1 true" \
        "$(jq -r '"\(.networks | keys | join(",")) \(.network_rate_stats | has("rx_bytes_per_sec"))"' <<<"$s")"
ts=$(md_curl a "$uri_a/task/stats")
check_eq "a: /task/stats is keyed by both DockerIds" "$(jq -r '[.Containers[].DockerId] | sort | join(" ")' <<<"$t")" \
        "$(jq -r 'keys | join(" ")' <<<"$ts")"

cr=$(md_curl a "http://169.254.170.2$cred_a")
check_eq "a: its credentials, from the operator's file" \
        "arn:aws:iam::$MD_ACCOUNT:role/a-role AKIAAAAA secret-AKIAAAAA token-a-1 2035-01-01T00:00:00Z" \
        "$(jq -r '"\(.RoleArn) \(.AccessKeyId) \(.SecretAccessKey) \(.Token) \(.Expiration)"' <<<"$cr")"

# --- another task's ids, unknown ids -------------------------------------------------------------
for p in "" /task /stats /task/stats; do
        check_eq "a asking for b's $p: 404" 404 "$(md_status a "$uri_b$p")"
        check_eq "b asking for a's $p: 404" 404 "$(md_status b "$uri_a$p")"
        check_eq "unknown id $p: 404" 404 \
                "$(md_status a "http://169.254.170.2/v4/0123456789abcdef0123456789abcdef-0123456789$p")"
done
check_eq "a asking for b's credentials: 404" 404 "$(md_status a "http://169.254.170.2$cred_b")"
check_eq "b asking for a's credentials: 404" 404 "$(md_status b "http://169.254.170.2$cred_a")"
check_eq "... with the error body {code, message}" "InvalidIdInRequest" \
        "$(md_curl a "http://169.254.170.2$cred_b" | jq -r .code)"
check_eq "a's credentials id is no metadata id" 404 \
        "$(md_status a "http://169.254.170.2/v4/${cred_a##*/}/task")"
check_eq "no credentials id: 400 NoIdInRequest" "400 NoIdInRequest" \
        "$(md_curl a -w ' %{http_code}' http://169.254.170.2/v2/credentials/ | jq -Rr 'split(" ") | "\(.[-1]) \(.[:-1] | join(" ") | fromjson | .code)"')"
check_eq "an unknown path: 404" 404 "$(md_status a "$uri_a/tasks")"
# b's 4 paths, 4 unknown ids, b's credentials twice, its own credentials id as a metadata id
check_eq "the denials are counted against task a" 11 \
        "$(taskvm -j inspect a | jq .requests.denied)"

# --- JSON everywhere ------------------------------------------------------------------------------
for u in "$uri_a" "$uri_a/task" "$uri_a/stats" "$uri_a/task/stats" "http://169.254.170.2$cred_a" \
        "$uri_b" "http://169.254.170.2$cred_b" http://169.254.170.2/v2/credentials/ \
        http://169.254.170.2/nowhere; do
        h=$(md_curl a -o "$FABRIC_RUN/body" -D - "$u" | tr -d '\r')
        check_match "Content-Type application/json: ${u#http://169.254.170.2}" \
                '(^|'$'\n'')Content-Type: application/json('$'\n''|$)' "$h"
        check "the body is JSON: ${u#http://169.254.170.2}" jq -e . "$FABRIC_RUN/body"
done
check_eq "POST: 405, JSON" "405 application/json" \
        "$(md_curl a -X POST -o /dev/null -w '%{http_code} %{content_type}' "$uri_a")"

# --- credentials follow the operator's files ----------------------------------------------------
check_eq "b's role has no credentials file yet: 503 CredentialsUninitialized" \
        "503 CredentialsUninitialized" \
        "$(md_curl b -w ' %{http_code}' "http://169.254.170.2$cred_b" | jq -Rr 'split(" ") | "\(.[-1]) \(.[:-1] | join(" ") | fromjson | .code)"')"
md_creds b-role AKIABBBB token-b-1
check "b's credentials are served once the file is there" wait_until 5 \
        bash -c "[[ \$(nsenter --net=/run/netns/$FABRIC_PREFIX-b curl -s --max-time 2 http://169.254.170.2$cred_b | jq -r .Token) == token-b-1 ]]"
md_creds a-role AKIAAAAA token-a-2
check "a's rotated credentials are served" wait_until 5 \
        bash -c "[[ \$(nsenter --net=/run/netns/$FABRIC_PREFIX-a curl -s --max-time 2 http://169.254.170.2$cred_a | jq -r .Token) == token-a-2 ]]"
check_eq "and b still gets only its own" "AKIABBBB token-b-1" \
        "$(md_curl b "http://169.254.170.2$cred_b" | jq -r '"\(.AccessKeyId) \(.Token)"')"

# --- a task cannot pass for another -------------------------------------------------------------
# a takes b's metadata address: netd's filter of the metadata links drops (and counts as a's)
# what arrives on a's link from b's address, so nothing is answered (tests/integration/t-mdfilter).
md_if=$(ip -n "$FABRIC_PREFIX-a" -j addr show to "${MD_ADDR[a]}/32" | jq -r '.[0].ifname')
ip -n "$FABRIC_PREFIX-a" addr add "${MD_ADDR[b]}/32" dev "$md_if"
out=$(md_curl a --max-time 2 --interface "${MD_ADDR[b]}" -w ' %{http_code}' "$uri_b/task" 2>&1 || true)
check_match "a sending from b's address gets no answer" '(timed out|Timeout| 000$)' "$out"
ip -n "$FABRIC_PREFIX-a" addr del "${MD_ADDR[b]}/32" dev "$md_if"
check_eq "the host has no metadata address of a task: 404" 404 \
        "$(fabric_nsexec host curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$uri_a")"

# --- the local listener answers by id ------------------------------------------------------------
check_eq "local listener: a's task by id" "$arn_a" \
        "$(fabric_nsexec host curl -s --max-time 5 "http://127.0.0.1:51679/v4/$id_a/task" | jq -r .TaskARN)"
check_eq "local listener: b's credentials by id" "AKIABBBB" \
        "$(fabric_nsexec host curl -s --max-time 5 "http://127.0.0.1:51679$cred_b" | jq -r .AccessKeyId)"
check_eq "local listener: unknown id 404" 404 \
        "$(fabric_nsexec host curl -s --max-time 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:51679/v4/nope)"

# --- inspect, deregister ----------------------------------------------------------------------------
src=register
md_netd_link a && src=netd
check_eq "inspect: address from $src, credentials ready" "$src ready" \
        "$(taskvm -j inspect a | jq -r '"\(.metadata_address_source) \(.credentials)"')"
check "inspect in text" taskvm inspect a
check "ps in text" taskvm ps
check_eq "ps in text: no field printed as (null)" "" "$(taskvm ps | grep -F '(null)' || true)"
check_eq "inspect in text: no field printed as (null)" "" \
        "$(taskvm inspect a | grep -F '(null)' || true)"
check "deregister b" taskvm deregister b
check_eq "b's metadata: 404 once deregistered" 404 "$(md_status b "$uri_b/task")"
check_eq "b's credentials: 404 once deregistered" 404 "$(md_status b "http://169.254.170.2$cred_b")"
check_eq "a is served as before" 200 "$(md_status a "$uri_a/task")"
check_fail "deregister b again fails" taskvm deregister b
check "the agent stops cleanly on SIGTERM" md_agent_stop
check_eq "and removes its socket" "" "$(ls "$AGENT_SOCKET" 2>/dev/null || true)"
md_done
