#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# taskvm register and the agent's control socket: what a registration needs and refuses, what it
# prints, the task ARN and launch type given, who may register, and who sees the ids.
set -euo pipefail
source "$(dirname "$0")/md.sh"
require_root
require_cmd jq curl setpriv

fabric_up 3
chmod 0755 "$FABRIC_RUN"
netd_start
md_netd_up
md_agent_start
md_task_up a 1
md_task_up b 2
md_task_up c 3
md_stats_feed a b c
def=$FABRIC_RUN/taskdef-a.json
md_taskdef "$def" a "arn:aws:iam::$MD_ACCOUNT:role/a-role"
# reg [-j] ARGS...: register with the task definition of a and the test's cluster and zone.
reg()
{
        local json=()

        [[ $1 == -j ]] && json=(-j) && shift
        taskvm "${json[@]}" register --task-definition "$def" --cluster "$MD_CLUSTER" \
                --region "$MD_REGION" --availability-zone "$MD_AZ" "$@"
}
as_nobody()
{
        setpriv --reuid=65534 --regid=65534 --clear-groups "$O/taskvm" --socket "$AGENT_SOCKET" "$@"
}
rc_of()
{
        local rc=0

        "$@" >/dev/null 2>&1 || rc=$?
        echo "$rc"
}

# --- usage --------------------------------------------------------------------------------------
check_eq "register without a task definition: usage (2)" 2 \
        "$(rc_of taskvm register --cluster c --region r --availability-zone z --netd-task a)"
check_eq "register without --netd-task: usage (2)" 2 \
        "$(rc_of taskvm register --task-definition "$def" --cluster c --region r --availability-zone z)"
check_eq "an unknown option: usage (2)" 2 "$(rc_of reg --netd-task a --bogus x)"
check_eq "an unknown command: usage (2)" 2 "$(rc_of taskvm frobnicate)"
echo '{"family": ' >"$FABRIC_RUN/broken.json"
out=$(taskvm register --task-definition "$FABRIC_RUN/broken.json" --cluster c --region r \
        --availability-zone z --netd-task a 2>&1 || true)
check_match "a file that is not JSON: said so" "broken.json" "$out"

# --- refused registrations -----------------------------------------------------------------------
jq '.networkMode = "bridge"' "$def" >"$FABRIC_RUN/bridge.json"
out=$(taskvm -j register --task-definition "$FABRIC_RUN/bridge.json" --cluster "$MD_CLUSTER" \
        --region "$MD_REGION" --availability-zone "$MD_AZ" --netd-task a || true)
check_eq "networkMode bridge: invalid params (-32602)" -32602 "$(jq -r .error.code <<<"$out")"
check_match "... saying awsvpc" "awsvpc" "$(jq -r .error.message <<<"$out")"
check_match "a zone of another region: refused" "not a zone of region" \
        "$(taskvm -j register --task-definition "$def" --cluster "$MD_CLUSTER" --region "$MD_REGION" \
                --availability-zone eu-west-1a --netd-task a | jq -r .error.message || true)"
check_match "an address outside 169.254.172.0/22: refused" "169.254.172.0/22" \
        "$(reg -j --netd-task a --metadata-address 169.254.170.2 | jq -r .error.message || true)"
check_match "a cgroup path that climbs: refused" "relative path" \
        "$(reg -j --netd-task a --cgroup ../x | jq -r .error.message || true)"
check_match "platform version 1.2.0: refused" "platform version" \
        "$(reg -j --netd-task a --platform-version 1.2.0 | jq -r .error.message || true)"
check_eq "nothing was registered" 0 "$(taskvm -j ps | jq length)"

# --- registered -------------------------------------------------------------------------------------
arn=arn:aws:ecs:$MD_REGION:$MD_ACCOUNT:task/tp-test/0123456789abcdef0123456789abcdef
out=$(reg --netd-task a --metadata-address "${MD_ADDR[a]}" --task-arn "$arn")
check_match "register prints the container's environment" \
        "ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/0123456789abcdef0123456789abcdef-[0-9]{10}" "$out"
check_match "... the credentials URI" "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/" "$out"
check_match "... and the region" "AWS_REGION=us-west-2" "$out"
check_eq "one block per container" 2 "$(grep -c '^ECS_CONTAINER_METADATA_URI_V4=' <<<"$out")"
uri=$(sed -n 's/^ECS_CONTAINER_METADATA_URI_V4=//p' <<<"$out" | awk 'NR == 1')
check_eq "the task ARN given is the one served" "$arn" "$(md_curl a "$uri/task" | jq -r .TaskARN)"
out=$(reg -j --netd-task a --metadata-address "${MD_ADDR[a]}" || true)
check_eq "the same task twice: exists (-32002)" -32002 "$(jq -r .error.code <<<"$out")"
out=$(reg -j --netd-task b --metadata-address "${MD_ADDR[a]}" || true)
if md_netd_link b; then
        # netd's own address wins over a wrong one given by hand: no clash to refuse.
        check_eq "another task's address given, netd's used" "netd ${MD_ADDR[b]}" \
                "$(taskvm -j inspect b | jq -r '"\(.metadata_address_source) \(.metadata_address)"')"
        taskvm deregister b >/dev/null
else
        check_eq "another task's metadata address: exists (-32002)" -32002 "$(jq -r .error.code <<<"$out")"
        check_eq "and b is not half-registered" "a" "$(taskvm -j ps | jq -r '[.[].task_id] | join(" ")')"
fi
out=$(reg -j --netd-task b --metadata-address "${MD_ADDR[b]}" --launch-type EC2 \
        --cluster tp-test --platform-version 1.3.0)
uri_b=$(jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4' <<<"$out")
check_eq "EC2 launch type: execution environment" AWS_ECS_EC2 \
        "$(jq -r '.containers[0].env.AWS_EXECUTION_ENV' <<<"$out")"
check_eq "EC2, cluster by name (account from the task role), 1.3.0 served as such" \
        "EC2 $MD_CLUSTER false" \
        "$(md_curl b "$uri_b/task" | jq -r '"\(.LaunchType) \(.Cluster) \(has("AvailabilityZone"))"')"

# --- privileges --------------------------------------------------------------------------------------
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$O/taskvm" --socket "$AGENT_SOCKET" -j \
        register --task-definition "$def" --cluster "$MD_CLUSTER" --region "$MD_REGION" \
        --availability-zone "$MD_AZ" --netd-task c || true)
check_eq "nobody may not register (-32003)" -32003 "$(jq -r .error.code <<<"$out")"
check_eq "nobody may not deregister" -32003 "$(as_nobody -j deregister a | jq -r .error.code || true)"
check_eq "nobody may list" "a b" "$(as_nobody -j ps | jq -r '[.[].task_id] | sort | join(" ")')"
ins=$(as_nobody -j inspect a)
check_eq "nobody sees no ids (they are bearer secrets on the local listener)" "(hidden) (hidden) (hidden)" \
        "$(jq -r '"\(.credentials_id) \(.containers[0].docker_id) \(.containers[0].env.ECS_CONTAINER_METADATA_URI_V4)"' <<<"$ins")"
check_fail "nor anywhere in what inspect gives" grep -q "${uri##*/}" <<<"$ins"
check_match "root does" "^[0-9a-f]{8}-" "$(taskvm -j inspect a | jq -r .credentials_id)"
check "nobody may ask health" as_nobody health

# --- the agent itself ----------------------------------------------------------------------------
check_fail "a second agent on the same socket is refused" nsenter --net="$FABRIC_HOST_NS_PATH" \
        "$O/taskvm" agent --socket "$AGENT_SOCKET" --netd-socket "$NETD_SOCKET" \
        --credentials-dir "$MD_CREDS_DIR" --listen 169.254.170.2:81 --local-listen none
check_eq "a bad listen address: usage (2)" 2 "$(rc_of "$O/taskvm" agent --listen nowhere)"
check_eq "a bad rate limit: usage (2)" 2 "$(rc_of "$O/taskvm" agent --rate-limit 40:)"
check "agent --help" "$O/taskvm" agent --help
check "taskvm --help" "$O/taskvm" --help
md_done
