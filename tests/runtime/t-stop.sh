#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Stopping a task: SIGTERM to every container, SIGKILL to those still running after their
# stopTimeout (one that ignores SIGTERM, and a pid 1 without a handler, which the kernel does not
# even deliver it to); an essential container's exit stops the others.
set -euo pipefail
source "$(dirname "$0")/rt.sh"
rt_setup 0

ns=$(rt_task_ns t1)
graceful='trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 1; done'
stubborn='trap "" TERM; echo ready; while :; do sleep 1; done'

# events NAME: the stop's events, pids dropped
events()
{
        grep -Ev '^(storage|usage|started)' "$FABRIC_RUN/$1.out" | paste -sd '|'
}

rt_taskdef t1 "$(jq -n --arg g "$graceful" --arg s "$stubborn" '{family: "stop", cpu: "256",
  memory: "512", containerDefinitions: [
    {name: "graceful", image: "i", stopTimeout: 30, command: [$g]},
    {name: "stubborn", image: "i", stopTimeout: 1, command: [$s]},
    {name: "sleeper", image: "i", stopTimeout: 1, entryPoint: ["/bin/sleep"],
     command: ["1000"]}]}')"
rt_run_bg t1 --netns "$ns"
if wait_until 20 grep -q ready "$FABRIC_RUN/t1/logs/graceful.log" &&
        wait_until 20 grep -q ready "$FABRIC_RUN/t1/logs/stubborn.log" &&
        rt_wait_event t1 '^started sleeper'; then
        kill -TERM "$RT_PID"
        rc=0
        wait "$RT_PID" || rc=$?
        check_eq "the task stops on SIGTERM" 0 "$rc"
        ev=$(events t1)
        check_match "SIGTERM to every container" \
                "^stop SIGTERM\|stopping graceful SIGTERM\|stopping stubborn SIGTERM\|stopping sleeper SIGTERM\|" \
                "$ev"
        check_match "the graceful one exits on SIGTERM, with its own status" \
                "\|exited graceful status 3\|" "$ev"
        check_eq "it got the signal" "ready|got-term" "$(rt_log t1 graceful | paste -sd '|')"
        check_match "the one ignoring SIGTERM is killed after its stopTimeout" \
                "\|killing stubborn SIGKILL\|(.*\|)?exited stubborn signal 9(\||$)" "$ev"
        check_match "so is a pid 1 without a SIGTERM handler" \
                "\|killing sleeper SIGKILL\|(.*\|)?exited sleeper signal 9(\||$)" "$ev"
        check_eq "the graceful one is not killed" "" "$(grep 'killing graceful' <<<"$ev" || true)"
else
        tap_fail "the containers start" "$(rt_events t1)" "$(cat "$FABRIC_RUN/t1.err")"
        kill -KILL "$RT_PID" 2>/dev/null || true
        wait "$RT_PID" || true
fi
check_eq "nothing is left" "" "$(rt_leftovers t1 t1)"

# an essential container's exit stops the task
rt_taskdef t2 "$(jq -n --arg g "$graceful" '{family: "stop", cpu: "256", memory: "512",
  containerDefinitions: [
    {name: "main", image: "i", command: ["sleep 1; exit 0"],
     dependsOn: [{containerName: "side", condition: "START"}]},
    {name: "side", image: "i", essential: false, command: [$g]}]}')"
check "a task whose essential container exits" rt_run t2 --netns "$ns"
check_eq "stops its other containers" \
        "exited main status 0|stop an essential container exited|stopping side SIGTERM|exited side status 3|done" \
        "$(events t2)"
check_eq "nothing is left" "" "$(rt_leftovers t2 t1)"

# a non-essential container's exit does not
rt_taskdef t3 '{"family": "stop", "cpu": "256", "memory": "512", "containerDefinitions": [
  {"name": "main", "image": "i", "command": ["sleep 1; exit 5"]},
  {"name": "side", "image": "i", "essential": false, "command": ["exit 0"]}]}'
check "a task whose non-essential container exits first" rt_run t3 --netns "$ns"
check_eq "runs on until the essential one exits" \
        "exited side status 0|exited main status 5|stop an essential container exited|done" \
        "$(events t3)"
check_eq "nothing is left" "" "$(rt_leftovers t3 t1)"
tap_done
