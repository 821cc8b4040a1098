#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A crash of the runtime part-way through a launch (ctrrun killed with SIGKILL right after each
# step, and from outside while its container runs) leaves volumes, mounts, cgroups, runc state
# and processes; a teardown from what is on disk removes all of it, and can run twice.
set -euo pipefail
source "$(dirname "$0")/rt.sh"
rt_setup 0

ns=$(rt_task_ns t1)
rt_taskdef task '{"family": "crash", "cpu": "256", "memory": "512",
  "volumes": [{"name": "data"}],
  "containerDefinitions": [{"name": "app", "image": "i",
    "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}],
    "command": ["trap \"exit 0\" TERM; echo up; while :; do sleep 1; done"]}]}'

for step in cgroup storage rootfs bundle create start; do
        name=c-$step
        rc=0
        rt_run "$name" --netns "$ns" --taskdef "$FABRIC_RUN/task.json" --crash-at "$step" || rc=$?
        check_eq "$step: ctrrun is killed right after it" "137 crash $step" \
                "$rc $(tail -n 1 "$FABRIC_RUN/$name.out")"
        left=$(rt_leftovers "$name" t1)
        check "$step: it left things behind" test -n "$left"
        case $step in
        create | start)
                check "$step: among them the container's process" has_line '^process ' "$left"
                ;;
        esac
        check "$step: teardown from disk" rt_ctrrun "$name" teardown --cgroup "$FABRIC_PREFIX/$name"
        check_eq "$step: nothing is left" "" "$(rt_leftovers "$name" t1)"
done

# killed from outside while the container runs
rt_run_bg kill --netns "$ns" --taskdef "$FABRIC_RUN/task.json"
if rt_wait_event kill '^usage '; then
        kill -KILL "$RT_PID"
        wait "$RT_PID" 2>/dev/null || true
        left=$(rt_leftovers kill t1)
        check "killed mid-run: its container still runs" has_line '^process .*sh -c' "$left"
        check "its volume is mounted" has_line '^mount .*/mnt/ephemeral$' "$left"
        check "its loop device is attached" has_line '^loop /dev/loop' "$left"
        check "its cgroup is there" has_line '^cgroup /sys/fs/cgroup/memory/' "$left"
        check "runc knows the container" has_line '^runc state .*: app' "$left"
        check "teardown from disk" rt_ctrrun kill teardown --cgroup "$FABRIC_PREFIX/kill"
        check_eq "nothing is left" "" "$(rt_leftovers kill t1)"
        check "a second teardown is fine" rt_ctrrun kill teardown --cgroup "$FABRIC_PREFIX/kill"
else
        tap_fail "the container starts" "$(rt_events kill)" "$(cat "$FABRIC_RUN/kill.err")"
        kill -KILL "$RT_PID" 2>/dev/null || true
        wait "$RT_PID" || true
fi
tap_done
