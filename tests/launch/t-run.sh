#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# taskvm run end to end (issue 11, parts 1 and 4): the agent provisions the task (its network
# namespace, netd's attach of the ENI, the registration, the cgroup) and its shim runs the
# containers with runc in dependsOn order; the containers get ECS_CONTAINER_METADATA_URI_V4 and
# AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and read, from inside, their real statuses, times,
# exit codes, ImageID and Limits; Fargate's capabilities (SYS_PTRACE on 1.4.0; refused on 1.3.0
# before anything is made); an essential container's exit stops the task with Fargate's reason;
# ps and inspect show the phases; the teardown leaves nothing and gives the ENI back.
set -euo pipefail
source "$(dirname "$0")/common.sh"
ln_setup 3

DOCKER_CAPS=00000000a80425fb
PTRACE_CAPS=00000000a80c25fb
ROLE=arn:aws:iam::$MD_ACCOUNT:role/app-role
md_creds app-role AKIDAPP tok-app

app='echo "env: $ECS_CONTAINER_METADATA_URI_V4 $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI $AWS_EXECUTION_ENV $AWS_REGION $TASK_VAR";
     grep CapEff /proc/self/status;
     echo "md: $(wget -qO- "$ECS_CONTAINER_METADATA_URI_V4")";
     echo "mdtask: $(wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/task")";
     echo "creds: $(wget -qO- "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")";
     echo ready; trap "echo app-term; exit 0" TERM; while :; do sleep 0.2; done'
side='trap "echo side-term; exit 0" TERM; echo side-up; while :; do sleep 0.2; done'
ln_taskdef web "$(jq -n --arg img "$LN_IMAGE" --arg app "$app" --arg side "$side" \
        --arg role "$ROLE" '{
  taskRoleArn: $role,
  containerDefinitions: [
    {name: "side", image: $img, essential: false, command: ["/bin/sh", "-c", $side],
     dependsOn: [{containerName: "app", condition: "START"}]},
    {name: "app", image: $img, cpu: 128, memory: 256, command: ["/bin/sh", "-c", $app],
     environment: [{name: "TASK_VAR", value: "from-task"}],
     dependsOn: [{containerName: "init", condition: "SUCCESS"}]},
    {name: "init", image: $img, essential: false, command: ["/bin/sh", "-c", "echo init-done"]}]}')"

rc=0
id=$(ln_run web 1) || rc=$?
check_eq "taskvm run answers when the task is RUNNING" "0 RUNNING" \
        "$rc $(jq -r .phase "$FABRIC_RUN/web.run")"
check_match "with the task's id (32 hex digits)" '^[0-9a-f]{32}$' "$id"
[[ $id =~ ^[0-9a-f]{32}$ ]] || tap_bail "no task: $(cat "$FABRIC_RUN/web.run" "$FABRIC_RUN/web.err")"
check "its network namespace exists" test -e "$FABRIC_RUN/taskns/taskvm-$id"
nt=$(netdctl -j task show "$id")
check_eq "netd attached the ENI to it, READY, as taskvm's" \
        "$(fabric_eni_mac 1) READY taskvm" "$(jq -r '"\(.mac) \(.phase) \(.attrs.launched_by)"' <<<"$nt")"
check_eq "and holds it for the agent" "taskvm" \
        "$(netdctl -j task holds holder taskvm | jq -r --arg id "$id" '.[] | select(.task_id == $id) | .holder // "taskvm"')"
check "ps shows it RUNNING, with its metadata address" grep -Eq \
        "^$id +web:1 +1.4.0 +RUNNING +169\.254\.17[2-5]\.[0-9]+ +3 +ready " <<<"$(taskvm ps)"

wait_until 20 grep -q ready "$FABRIC_RUN/runs/$id/logs/app.log" || true
log=$(ln_logs "$id" app)
check_match "the container's environment has the agent's variables" \
        "^env: http://169\.254\.170\.2/v4/$id-[0-9]{10} /v2/credentials/[0-9a-f-]{36} AWS_ECS_FARGATE $MD_REGION from-task$" \
        "$(grep '^env:' <<<"$log")"
check_eq "a root container has Docker's default capabilities" "CapEff:	$DOCKER_CAPS" \
        "$(grep '^CapEff:' <<<"$log")"

md=$(grep '^md: ' <<<"$log" | cut -c5-)
mdtask=$(grep '^mdtask: ' <<<"$log" | cut -c9-)
check_eq "its metadata, read from inside: RUNNING, the pulled image's digest" \
        "RUNNING RUNNING $LN_DIGEST" "$(jq -r '"\(.DesiredStatus) \(.KnownStatus) \(.ImageID)"' <<<"$md")"
check_eq "its Limits" '{"CPU":128,"Memory":256}' "$(jq -c .Limits <<<"$md")"
check "CreatedAt <= StartedAt, no FinishedAt, no ExitCode" jq -e \
        '.CreatedAt <= .StartedAt and (has("FinishedAt") | not) and (has("ExitCode") | not)' <<<"$md"
check_eq "the task: RUNNING" "RUNNING" "$(jq -r .KnownStatus <<<"$mdtask")"
check_eq "init: STOPPED with its ExitCode and FinishedAt, before app started" "STOPPED 0 true" \
        "$(jq -r '(.Containers[] | select(.Name == "init")) as $i | (.Containers[] | select(.Name == "app")) as $a |
                "\($i.KnownStatus) \($i.ExitCode) \($i.FinishedAt <= $a.StartedAt)"' <<<"$mdtask")"
check "PullStartedAt <= PullStoppedAt <= app's CreatedAt" jq -e \
        '.PullStartedAt <= .PullStoppedAt and .PullStoppedAt <= (.Containers[] | select(.Name == "app") | .CreatedAt)' <<<"$mdtask"
check_match "EphemeralStorageMetrics: 20 GiB reserved, in MiB" '^[0-9]+ 20[0-9]{3}$' \
        "$(jq -r '"\(.EphemeralStorageMetrics.Utilized) \(.EphemeralStorageMetrics.Reserved)"' <<<"$mdtask")"
check_eq "the credentials of its task role" "AKIDAPP tok-app $ROLE" \
        "$(grep '^creds: ' <<<"$log" | cut -c8- | jq -r '"\(.AccessKeyId) \(.Token) \(.RoleArn)"')"

# The task's limits (cpu 256, memory 512): the CPU limit set by the shim before its first
# container started, every container's cgroup below the task's.
cg=$FABRIC_PREFIX/$id
check_eq "the task's cgroup: a quarter of a vCPU, 512 MiB" "25000 100000 536870912" \
        "$(cat "/sys/fs/cgroup/cpu/$cg/cpu.cfs_quota_us" "/sys/fs/cgroup/cpu/$cg/cpu.cfs_period_us" \
                "/sys/fs/cgroup/memory/$cg/memory.limit_in_bytes" | xargs)"
check_eq "the running containers' processes are below it" "app side" \
        "$(for c in app side; do [[ -n $(cat "/sys/fs/cgroup/cpu/$cg/$c/cgroup.procs") ]] && echo "$c"; done | xargs)"
check_match "the shim set it before the first container's start" \
        "The task's CPU limit: 25000 us per 100000 us.*Container 'init' started" \
        "$(grep -E "CPU limit|Container 'init' started" "$FABRIC_RUN/runs/$id/shim.log" | tr '\n' ' ')"

show=$(ln_show "$id")
check_eq "inspect: every container's status" "side RUNNING|app RUNNING|init STOPPED 0" \
        "$(jq -r '[.containers[] | "\(.name) \(.status)\(if .exit_code != null then " \(.exit_code)" else "" end)"] | join("|")' <<<"$show")"
check "dependsOn: init exited before app started, side started after app" jq -e \
        '(.containers | map({(.name): .}) | add) as $c |
         $c.init.finished <= $c.app.started and $c.app.started <= $c.side.started' <<<"$show"

# Reverse dependency order: side (which depends on app) stops first.
check "taskvm stop" taskvm stop "$id"
show=$(ln_show "$id")
check_eq "the task is STOPPED, stopped by the user" "STOPPED UserInitiated Task stopped by user" \
        "$(jq -r '"\(.phase) \(.stop_code) \(.stopped_reason)"' <<<"$show")"
check "side stopped before app" jq -e \
        '(.containers | map({(.name): .}) | add) as $c | $c.side.finished <= $c.app.finished' <<<"$show"
check_eq "both by SIGTERM, with their handlers' status" "0 0" \
        "$(jq -r '[.containers[] | select(.name != "init") | .exit_code] | join(" ")' <<<"$show")"
check "ps keeps the stopped task, with its reason" grep -Eq \
        "^$id +web:1 +1.4.0 +STOPPED .* Task stopped by user$" <<<"$(taskvm ps)"
check_eq "nothing of the task is left" "" "$(ln_leftovers "$id")"
check_eq "the ENI is available again" available \
        "$(netdctl -j eni show "$(fabric_eni_mac 1)" | jq -r .state)"
check_eq "its metadata is no longer served" 404 \
        "$(fabric_nsexec host curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
                "http://127.0.0.1:51679/v4/$(jq -r .DockerId <<<"$md")" 2>/dev/null || true)"

# --- an essential container's exit stops the task -------------------------------------------
ln_taskdef ess "$(jq -n --arg img "$LN_IMAGE" '{containerDefinitions: [
    {name: "main", image: $img, command: ["/bin/sh", "-c", "sleep 0.5; exit 7"]},
    {name: "helper", image: $img, essential: false, stopTimeout: 5,
     command: ["/bin/sh", "-c", "trap \"exit 143\" TERM; while :; do sleep 0.2; done"]}]}')"
id2=$(ln_run ess 2) || true
check "the task stops by itself" ln_wait_phase "$id2" STOPPED
show=$(ln_show "$id2")
check_eq "with Fargate's code and reason" "EssentialContainerExited|Essential container in task exited" \
        "$(jq -r '"\(.stop_code)|\(.stopped_reason)"' <<<"$show")"
check_eq "main's exit code; helper stopped with SIGTERM" "main 7|helper 143" \
        "$(jq -r '[.containers[] | "\(.name) \(.exit_code)"] | join("|")' <<<"$show")"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id2")"

# --- capabilities: SYS_PTRACE may be added on 1.4.0, not on 1.3.0 --------------------------
ln_taskdef ptrace "$(jq -n --arg img "$LN_IMAGE" '{containerDefinitions: [
    {name: "app", image: $img, command: ["/bin/sh", "-c", "grep CapEff /proc/self/status"],
     linuxParameters: {capabilities: {add: ["SYS_PTRACE"]}}}]}')"
id3=$(ln_run ptrace 2) || true
ln_wait_phase "$id3" STOPPED || true
check_eq "1.4.0: SYS_PTRACE added to the defaults" "CapEff:	$PTRACE_CAPS" "$(ln_logs "$id3" app)"
before=$(ls "$FABRIC_RUN/taskns" | wc -l)
rc=0
out=$(ln_run ptrace 2 --platform-version 1.3.0) || rc=$?
check_eq "1.3.0: taskvm run refuses it" 1 "$rc"
check_match "with a clear error" \
        "container 'app': capability SYS_PTRACE needs platform version 1.4.0 or later" "$out"
check_eq "and nothing was made: no namespace, no task in netd" "$before 0" \
        "$(ls "$FABRIC_RUN/taskns" | wc -l) $(netdctl -j task list | jq length)"

check "the agent is still healthy" taskvm health
ln_done
