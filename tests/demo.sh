#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The demo (make demo): a test VPC in network namespaces with a registry (Bearer-token auth), its
# DNS and a syslog collector; netd in a private "host" namespace with an ENI; an image built
# offline; `taskvm run` of a Fargate task definition on platform version 1.4.0: the task's
# namespace, ENI, pull, storage and container, which reads its own metadata and logs to the
# collector; what netd counted per flow; then `taskvm stop`, and nothing left.
set -euo pipefail
source "$(dirname "$0")/fabric.sh"
source "$(dirname "$0")/image/common.sh" # img_token_make: the registry's tokens

if [[ $(id -u) != 0 ]]; then
        echo "demo: needs root (network namespaces, mounts, cgroups)" >&2
        exit 1
fi
for cmd in docker-registry umoci skopeo rsyslogd runc mkfs.ext4 busybox openssl jq curl; do
        if ! command -v "$cmd" >/dev/null; then
                echo "demo: '$cmd' is missing (scripts/deps.sh installs it)" >&2
                exit 1
        fi
done

if [[ -t 1 ]]; then
        say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
        say() { printf '\n== %s\n' "$*"; }
fi
run() { printf '$ %s\n' "$*"; "$@"; }
taskvm() { "$O/taskvm" --socket "$FABRIC_RUN/agent.sock" "$@"; }

AGENT_PID=
stop_agent()
{
        [[ -n $AGENT_PID ]] || return 0
        _fabric_term 10 "$AGENT_PID" || true
        wait "$AGENT_PID" 2>/dev/null || true
        AGENT_PID=
}
trap 'stop_agent; fabric_down' EXIT

fabric_up 1
img_token_make "$FABRIC_RUN/token" demo/app
fabric_service_start --token-file "$FABRIC_RUN/token"
fabric_registry_start # the push goes here; tasks pull from the same storage on 5001, with tokens
fabric_registry_start --port 5001 --token "http://$FABRIC_GATEWAY/token" tp-registry tp-issuer \
        "$FABRIC_RUN/token.crt"
REGISTRY=registry.vpc.test:5001
fabric_syslog_start
netd_start
say "A test VPC ($FABRIC_SUBNET, gateway $FABRIC_GATEWAY) in namespace $FABRIC_VPC_NS: a registry with token auth ($REGISTRY), DNS, a syslog collector; netd in $FABRIC_HOST_NS"

say "Register the ENI the task will get (the host end of a veth pair whose peer is on the VPC bridge)"
mac=$(fabric_eni_mac 1)
run netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" name demo-eni

say "Build an image offline (umoci, from busybox-static) and push it to the registry"
digest=$(fabric_image_build demo/app v1)
echo "$REGISTRY/demo/app:v1 is $digest"

say "Start the taskvm agent (metadata endpoint on 169.254.170.2, tasks under $FABRIC_RUN)"
nsenter --net="$FABRIC_HOST_NS_PATH" -- "$O/taskvm" agent --socket "$FABRIC_RUN/agent.sock" \
        --netd-socket "$NETD_SOCKET" --credentials-dir "$FABRIC_RUN/credentials" \
        --state-dir "$FABRIC_RUN/agent-state" --run-dir "$FABRIC_RUN/runs" \
        --netns-dir "$FABRIC_RUN/taskns" --image-store "$FABRIC_RUN/images" \
        --volume-dir "$FABRIC_RUN/volumes" --cgroup-parent "$FABRIC_PREFIX" \
        --insecure-registry "$REGISTRY" --stats-interval 1 \
        </dev/null >"$FABRIC_RUN/agent.log" 2>&1 &
AGENT_PID=$!
_fabric_wait 5 taskvm health >/dev/null 2>&1
taskvm health

app='echo "hello from $(hostname)";
     md=$(wget -qO- "$ECS_CONTAINER_METADATA_URI_V4");
     echo "my metadata says: $(echo "$md" | grep -o "\"KnownStatus\":\"[A-Z]*\"") $(echo "$md" | grep -o "\"ImageID\":\"[^\"]*\"")";
     echo "the VPC service says: $(wget -qO- http://198.18.0.1/ | head -c 60)";
     i=1; while [ $i -le 5 ]; do echo "working $i"; i=$((i + 1)); sleep 0.2; done;
     trap "echo bye; exit 0" TERM; while :; do sleep 0.2; done'
jq -n --arg img "$REGISTRY/demo/app:v1" --arg app "$app" '{
  family: "demo", cpu: "256", memory: "512", networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  containerDefinitions: [{name: "app", image: $img, essential: true,
    command: ["/bin/sh", "-c", $app],
    logConfiguration: {logDriver: "awslogs", options: {
      "awslogs-group": "/ecs/demo", "awslogs-region": "us-east-1",
      "awslogs-stream-prefix": "demo", "awslogs-endpoint": "tcp://syslog.vpc.test:5514"}}}]}' \
        >"$FABRIC_RUN/demo.json"
say "A Fargate task definition (one container; its logs to the collector by name)"
jq -c '.containerDefinitions[0] | {name, image, logConfiguration}' "$FABRIC_RUN/demo.json"

say "taskvm run on platform version 1.4.0: namespace, ENI (READY_PULL), pull, storage, container"
run "$O/taskvm" --socket "$FABRIC_RUN/agent.sock" run --task-definition "$FABRIC_RUN/demo.json" \
        --platform-version 1.4.0 --cluster arn:aws:ecs:us-east-1:123456789012:cluster/demo \
        --eni "$mac" --address "$(fabric_eni_ip 1)/16" --nameserver "$FABRIC_GATEWAY" |
        tee "$FABRIC_RUN/task.id"
id=$(tail -n 1 "$FABRIC_RUN/task.id")
_fabric_wait 10 grep -q "working 5" "$FABRIC_RUN/runs/$id/logs/app.log" || true
run taskvm ps
run taskvm inspect "$id"

say "The task's namespace as the kernel sees it: eth1 (the ENI), md0 (its metadata link)"
nsenter --net="$FABRIC_RUN/taskns/taskvm-$id" ip -br addr
nsenter --net="$FABRIC_RUN/taskns/taskvm-$id" ip route

say "What the container wrote (taskvm logs), and what the collector received"
run taskvm logs "$id"
jq -r --arg s "demo/app/$id" 'select(.sd | contains($s)) | "\(.time) \(.host) \(.app) \(.msg)"' \
        "$FABRIC_SYSLOG_FILE"

say "What netd counted for the task, per flow: pull and auth (the image), logs, metadata, app"
run netdctl stats "$id"

say "Stop the task: SIGTERM, then the teardown in reverse (containers, storage, registration, ENI, namespace)"
run taskvm stop "$id"
run taskvm ps
run netdctl eni list

stop_agent
netd_stop
prefix=$FABRIC_PREFIX
trap - EXIT
fabric_down
left=$(fabric_leftovers "$prefix")
say "Done"
cat <<EOT
taskvm launched a Fargate 1.4.0 task: a network namespace, its ENI attached by netd in READY_PULL,
the image pulled over the task's own ENI with a token (the pull and auth flows), a 20 GiB ext4
volume and an overlay root, the container started with runc once netd moved the task to READY;
the container read its own metadata (RUNNING, the pulled image's digest) over its metadata link
and its logs reached the collector over the logs flow. The stop tore it all down; the ENI is
available again. The namespaces, links, processes, mounts and files are gone${left:+ EXCEPT: $left}.
EOT
[[ -z $left ]]
