#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Real clients from npm, run with Node.js inside a task namespace with a container's environment:
# the OpenTelemetry ECS resource detector (@opentelemetry/resource-detector-aws) and the AWS SDK's
# container credential providers (@aws-sdk/credential-providers fromContainerMetadata, fromHttp).
# .ci/run installs them (npm ci in tests/metadata/npm).
set -euo pipefail
source "$(dirname "$0")/md.sh"
require_root
require_cmd jq curl node
NPM_DIR=$FABRIC_ROOT/tests/metadata/npm
[[ -d $NPM_DIR/node_modules/@opentelemetry/resource-detector-aws &&
   -d $NPM_DIR/node_modules/@aws-sdk/credential-providers ]] ||
        _tap_skip_all "npm packages not installed: (cd tests/metadata/npm && npm ci)"

fabric_up 2
netd_start
md_netd_up
md_agent_start
md_task_up a 1
md_task_up b 2
md_stats_feed a b
md_creds a-role AKIAOTELTEST token-a
md_creds b-role AKIABBBBBBBB token-b
reg_a=$(md_register a)
reg_b=$(md_register b)
arn_a=$(jq -r .task_arn <<<"$reg_a")
cid_a=$(jq -r '.containers[0].container_arn' <<<"$reg_a")

# node NAME MODE [VAR=VALUE...]: run the clients inside task NAME with container app's
# environment (and VARs on top).
client()
{
        local name=$1 mode=$2 reg env
        shift 2

        reg=reg_$name
        mapfile -t env < <(jq -r '.containers[0].env | to_entries[] | "\(.key)=\(.value)"' <<<"${!reg}")
        fabric_nsexec "$name" env -i PATH="$PATH" HOME=/nonexistent "${env[@]}" "$@" \
                timeout 20 node "$NPM_DIR/clients.js" "$mode"
}

# --- the OpenTelemetry ECS detector -------------------------------------------------------------
attrs=$(client a detector)
check_eq "detector: cloud provider and platform" "aws aws_ecs" \
        "$(jq -r '"\(.["cloud.provider"]) \(.["cloud.platform"])"' <<<"$attrs")"
check_eq "detector: the task's ARN" "$arn_a" "$(jq -r '.["aws.ecs.task.arn"]' <<<"$attrs")"
check_eq "detector: the cluster ARN" "$MD_CLUSTER" "$(jq -r '.["aws.ecs.cluster.arn"]' <<<"$attrs")"
check_eq "detector: family and revision" "a 4" \
        "$(jq -r '"\(.["aws.ecs.task.family"]) \(.["aws.ecs.task.revision"])"' <<<"$attrs")"
check_eq "detector: launch type" "fargate" "$(jq -r '.["aws.ecs.launchtype"]' <<<"$attrs")"
check_eq "detector: availability zone, region and account" "$MD_AZ $MD_REGION $MD_ACCOUNT" \
        "$(jq -r '"\(.["cloud.availability_zone"]) \(.["cloud.region"]) \(.["cloud.account.id"])"' <<<"$attrs")"
check_eq "detector: the container ARN" "$cid_a $cid_a" \
        "$(jq -r '"\(.["aws.ecs.container.arn"]) \(.["cloud.resource_id"])"' <<<"$attrs")"
# Fargate's stream: <awslogs-stream-prefix>/<container>/<task id>
check_eq "detector: log group and stream from the log options" "/ecs/a ecs/app/${arn_a##*/}" \
        "$(jq -r '"\(.["aws.log.group.names"][0]) \(.["aws.log.stream.names"][0])"' <<<"$attrs")"
check_eq "detector: log group ARN" \
        "arn:aws:logs:us-west-2:$MD_ACCOUNT:log-group:/ecs/a" \
        "$(jq -r '.["aws.log.group.arns"][0]' <<<"$attrs")"
attrs_b=$(client b detector)
check_eq "detector in b: b's task" "$(jq -r .task_arn <<<"$reg_b")" \
        "$(jq -r '.["aws.ecs.task.arn"]' <<<"$attrs_b")"
# a's metadata URI from inside b: the detector gets 404s and reports nothing of a
attrs_x=$(client b detector ECS_CONTAINER_METADATA_URI_V4="$(jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4' <<<"$reg_a")")
check_eq "detector in b with a's URI: none of a's attributes" "null" \
        "$(jq -r '.["aws.ecs.task.arn"]' <<<"$attrs_x")"

# --- the AWS SDK's container credential providers ------------------------------------------------
want="AKIAOTELTEST secret-AKIAOTELTEST token-a 2035-01-01T00:00:00.000Z"
fmt='"\(.accessKeyId) \(.secretAccessKey) \(.sessionToken) \(.expiration)"'
check_eq "fromContainerMetadata: the task's credentials" "$want" \
        "$(client a container-metadata | jq -r "$fmt")"
check_eq "fromHttp: the task's credentials" "$want" "$(client a http | jq -r "$fmt")"
check_eq "fromHttp in b: b's own" "AKIABBBBBBBB" "$(client b http | jq -r .accessKeyId)"
# b presenting a's credentials URI: both providers fail, with no credentials
cred_a=$(jq -r '.containers[0].env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI' <<<"$reg_a")
out=$(client b container-metadata AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="$cred_a" || true)
check_eq "fromContainerMetadata with a's URI from b: refused (404)" "ProviderError 404" \
        "$(jq -r '"\(.error) \(.statusCode)"' <<<"$out")"
out=$(client b http AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="$cred_a" || true)
check_match "fromHttp with a's URI from b: refused" "status: 404" "$(jq -r .message <<<"$out")"
check_fail "... and no key of a's anywhere" grep -q AKIAOTELTEST <<<"$out"
rm "$MD_CREDS_DIR/a-role.json"
check "a's role file removed" wait_until 5 bash -c \
        "[[ \$(nsenter --net=/run/netns/$FABRIC_PREFIX-a curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://169.254.170.2$cred_a) == 503 ]]"
out=$(client a http || true)
check_match "fromHttp when the credentials are not there: a clear failure (503)" "status: 503" \
        "$(jq -r .message <<<"$out")"
md_done
