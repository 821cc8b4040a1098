#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Crashes (issue 11, part 6): the agent SIGKILLed at every step of a launch (fault injection:
# the agent kills itself right after the step), then started again: a task whose shim lives is
# adopted (it goes on to RUNNING, its metadata served again) and one whose shim never started
# is torn down from the journal, with a reason; the task's shim SIGKILLed (with the agent
# running, and while it is down): the task is stopped with a reason and torn down. In every case
# nothing is left: namespace, mounts, loop devices, cgroups, runc state, netd's task and hold,
# and the ENI is available again.
set -euo pipefail
source "$(dirname "$0")/common.sh"
ln_setup 2

app='trap "exit 0" TERM; echo up; while :; do sleep 0.2; done'
ln_taskdef c "$(jq -n --arg img "$LN_IMAGE" --arg app "$app" '{containerDefinitions: [
    {name: "app", image: $img, stopTimeout: 2, command: ["/bin/sh", "-c", $app]}]}')"
# For a crash during the pull: an image whose 16 MB layer takes a while to download and unpack.
mkdir -p "$FABRIC_RUN/big"
head -c 16000000 /dev/urandom >"$FABRIC_RUN/big/blob"
fabric_image_build test/big v1 "$FABRIC_RUN/big" >/dev/null || tap_bail "image test/big"
jq --arg img "${LN_IMAGE%/test/app:v1}/test/big:v1" '.containerDefinitions[0].image = $img' \
        "$FABRIC_RUN/c.json" >"$FABRIC_RUN/big.json"

# restart: the agent killed itself; start it again with its journal.
restart()
{
        wait "$AGENT_PID" 2>/dev/null || true
        unset AGENT_PID
        ln_agent_start
}

agent_gone()
{
        ! _fabric_alive "$AGENT_PID"
}

eni_free()
{
        [[ $(netdctl -j eni show "$(fabric_eni_mac "$1")" | jq -r .state) == available ]]
}

# --- killed while provisioning: torn down at the next start (a shim that was started stops) ---
for step in netns cgroup spawn attach register; do
        rc=0
        ln_run c 1 --fault "crash:$step" >/dev/null || rc=$?
        check "$step: the agent died there (taskvm run lost it)" test "$rc" -ne 0
        check "$step: the agent is gone" wait_until 5 agent_gone
        id=$(ln_journal_task)
        [[ -n $id ]] || { tap_fail "$step: the journal has the task"; continue; }
        restart || tap_bail "agent restart"
        check "$step: after the restart the task is STOPPED" ln_wait_phase "$id" STOPPED 20
        check_match "$step: with a reason" \
                "^TaskFailedToStart TaskRuntimeError: the taskvm agent stopped while the task was provisioned$" \
                "$(ln_show "$id" | jq -r '"\(.stop_code) \(.stopped_reason)"')"
        check_eq "$step: nothing of it is left" "" "$(ln_leftovers "$id")"
        check "$step: the ENI is available again" eni_free 1
done

# --- killed after the task was provisioned: its shim is adopted ---------------------------------
for step in pulling storage prepared running; do
        def=c
        [[ $step == pulling ]] && def=big
        rc=0
        ln_run "$def" 1 --fault "crash:$step" >/dev/null || rc=$?
        check "$step: the agent died there" wait_until 5 agent_gone
        id=$(ln_journal_task)
        [[ -n $id ]] || { tap_fail "$step: the journal has the task"; continue; }
        restart || tap_bail "agent restart"
        check "$step: after the restart the adopted task is RUNNING" ln_wait_phase "$id" RUNNING 30
        check_match "$step: the agent said it adopted the shim" "Task '$id': adopting its shim" \
                "$(cat "$AGENT_LOG")"
        md=$(ln_show "$id" | jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4 // empty')
        check_eq "$step: its metadata is served again, RUNNING" RUNNING \
                "$(fabric_nsexec host curl -s --max-time 5 "http://127.0.0.1:51679/v4/${md##*/}" |
                        jq -r .KnownStatus)"
        check "$step: taskvm stop" taskvm stop "$id"
        check_eq "$step: nothing of it is left" "" "$(ln_leftovers "$id")"
        check "$step: the ENI is available again" eni_free 1
done

# --- the shim killed, the agent running ---------------------------------------------------------
id=$(ln_run c 1) || true
shim=$(ln_show "$id" | jq -r .shim.pid)
kill -KILL "$shim"
check "shim killed: the task is STOPPED" ln_wait_phase "$id" STOPPED 20
check_match "with the reason" \
        "TaskRuntimeError: the task's runtime \(taskvm shim\) was killed by signal 9" \
        "$(ln_show "$id" | jq -r .stopped_reason)"
check_eq "its container was stopped with it" STOPPED \
        "$(ln_show "$id" | jq -r '.containers[0].status')"
check_eq "nothing of it is left (its containers neither)" "" "$(ln_leftovers "$id")"
check "the ENI is available again" eni_free 1

# --- the shim killed while the agent is down ---------------------------------------------------
id=$(ln_run c 2) || true
shim=$(ln_show "$id" | jq -r .shim.pid)
md_agent_kill9
kill -KILL "$shim"
ln_agent_start || tap_bail "agent restart"
check "agent back: the task is STOPPED" ln_wait_phase "$id" STOPPED 20
check_match "with the reason" "TaskRuntimeError: the task's runtime \(taskvm shim\) ended while" \
        "$(ln_show "$id" | jq -r .stopped_reason)"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"
check "the ENI is available again" eni_free 2
check_eq "netd holds no task for the agent" 0 "$(netdctl -j task holds holder taskvm | jq length)"
check_eq "no task in netd" 0 "$(netdctl -j task list | jq length)"
check_eq "no volume, run or mount left at all" "" \
        "$(find "$FABRIC_RUN/volumes" -mindepth 1; grep -F "$FABRIC_RUN/runs" /proc/self/mountinfo || true)"
ln_done
