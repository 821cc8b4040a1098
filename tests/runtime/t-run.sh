#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Containers with runc in the task's network namespace, from a generated config.json: the
# namespace's eth1 and lo (not the host's links), the command line from the image's Entrypoint
# and the task's command, environment, working directory, a user by name from the image's
# /etc/passwd, the cpu and memory limits in its cgroup (v1), Fargate's capabilities (Docker's
# default set; SYS_PTRACE added on 1.4.0, refused on 1.3.0 before anything is made), dependsOn,
# a volume shared by two containers, a read-only root, exit codes seen by the subreaper.
set -euo pipefail
source "$(dirname "$0")/rt.sh"
rt_setup 1

ns=$(rt_task_ns t1 1)
# Docker's default capabilities, as /proc/self/status shows them (CapEff)
DOCKER_CAPS=00000000a80425fb
PTRACE_CAPS=00000000a80c25fb

probe_net='echo "links: $(ip -o link | awk -F": " "{ print \$2 }" | sed "s/@.*//" | tr "\n" " ")";
           echo "addr: $(ip -o -4 addr show dev eth1 | awk "{ print \$4 }")";
           ping -c 1 -W 5 198.18.0.1 >/dev/null && echo "ping: ok";
           grep CapEff /proc/self/status'
probe_app='echo "args: $(tr "\0" " " </proc/1/cmdline | head -c 15)";
           echo "id: $(id)"; echo "cwd: $(pwd)"; echo "hostname: $(hostname)";
           echo "env: $TASK_VAR $IMAGE_VAR $AGENT_VAR $PATH $HOME $HOSTNAME";
           echo "mem: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) $(cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes)";
           echo "cpu: $(cat /sys/fs/cgroup/cpu/cpu.shares)";
           echo "nofile: $(ulimit -n) $(ulimit -Hn)";
           grep CapEff /proc/self/status; exit 42'
rt_taskdef t1 "$(jq -n --arg net "$probe_net" --arg app "$probe_app" '{family: "web",
  cpu: "256", memory: "512",
  containerDefinitions: [
    {name: "app", image: "i", cpu: 128, memory: 256, memoryReservation: 128, user: "app",
     workingDirectory: "/home/app", command: [$app],
     environment: [{name: "TASK_VAR", value: "task"}, {name: "IMAGE_VAR", value: "task-wins"}],
     dependsOn: [{containerName: "net", condition: "COMPLETE"}]},
    {name: "net", image: "i", essential: false, command: [$net]}]}')"
rc=0
rt_run t1 --netns "$ns" --hostname ip-198-18-1-1 --env AGENT_VAR=agent --keep || rc=$?
check_eq "the task runs" 0 "$rc"
check_eq "net starts first (app depends on it), app after it exited" \
        "started net|exited net status 0|started app|exited app status 42" \
        "$(grep -E '^(started|exited)' "$FABRIC_RUN/t1.out" | sed 's/^\(started [a-z]*\) [0-9]*$/\1/' |
                paste -sd '|')"
check_eq "the exit status of the essential container, from the subreaper" "exited app status 42" \
        "$(grep '^exited app' "$FABRIC_RUN/t1.out")"
check_match "and its exit stops the task" "stop an essential container exited" "$(rt_events t1)"

log=$(rt_log t1 net)
check_eq "the container sees the task namespace's lo and eth1 only" "links: lo eth1 " \
        "$(grep '^links:' <<<"$log")"
check_eq "with eth1's address" "addr: 198.18.1.1/16" "$(grep '^addr:' <<<"$log")"
check_eq "and reaches the VPC's gateway through it" "ping: ok" "$(grep '^ping:' <<<"$log" || true)"
check_eq "a root container has Docker's default capabilities" "CapEff:	$DOCKER_CAPS" \
        "$(grep '^CapEff:' <<<"$log")"

log=$(rt_log t1 app)
check_eq "args: the image's Entrypoint, then the task's command" "args: /bin/sh -c echo" \
        "$(grep '^args:' <<<"$log")"
check_eq "user by name from the image's /etc/passwd, with its groups" \
        "id: uid=1000(app) gid=1000(app) groups=50(staff)" "$(grep '^id:' <<<"$log")"
check_eq "workingDirectory" "cwd: /home/app" "$(grep '^cwd:' <<<"$log")"
check_eq "hostname" "hostname: ip-198-18-1-1" "$(grep '^hostname:' <<<"$log")"
check_eq "environment: task, image (the task's wins), agent, PATH, HOME, HOSTNAME" \
        "env: task task-wins agent /bin /home/app ip-198-18-1-1" "$(grep '^env:' <<<"$log")"
check_eq "memory and memoryReservation in its cgroup" "mem: 268435456 134217728" \
        "$(grep '^mem:' <<<"$log")"
check_eq "cpu units as its cgroup's shares" "cpu: 128" "$(grep '^cpu:' <<<"$log")"
check_eq "Fargate's nofile limits" "nofile: 1024 4096" "$(grep '^nofile:' <<<"$log")"
check_eq "a non-root user has no effective capabilities (as in Docker)" \
        "CapEff:	0000000000000000" "$(grep '^CapEff:' <<<"$log")"

cg=$FABRIC_PREFIX/t1
check_eq "the task's memory on its cgroup" 536870912 \
        "$(cat "/sys/fs/cgroup/memory/$cg/memory.limit_in_bytes" 2>&1)"
check_eq "the task's cpu (256 units) as a CFS quota" "25000 100000" \
        "$(cat "/sys/fs/cgroup/cpu/$cg/cpu.cfs_quota_us" "/sys/fs/cgroup/cpu/$cg/cpu.cfs_period_us" \
                2>&1 | paste -sd ' ')"
check_eq "runc removed the exited containers' cgroups" "" \
        "$(find "/sys/fs/cgroup/memory/$cg" -mindepth 1 -type d)"
check "teardown (the run was kept)" rt_ctrrun t1 teardown --cgroup "$cg"
check_eq "nothing is left" "" "$(rt_leftovers t1 t1)"

# --- SYS_PTRACE: 1.4.0 adds it, 1.3.0 refuses the task ---
rt_taskdef pt '{"family": "pt", "cpu": "256", "memory": "512", "containerDefinitions": [
  {"name": "app", "image": "i", "command": ["grep CapEff /proc/self/status"],
   "linuxParameters": {"capabilities": {"add": ["SYS_PTRACE"]}}}]}'
check "1.4.0: a container with SYS_PTRACE runs" rt_run pt --platform 1.4.0 --netns "$ns"
check_eq "1.4.0: SYS_PTRACE is in its effective set, the defaults with it" \
        "CapEff:	$PTRACE_CAPS" "$(rt_log pt app)"
check_eq "nothing is left" "" "$(rt_leftovers pt t1)"
rc=0
rt_run pt13 --platform 1.3.0 --netns "$ns" --taskdef "$FABRIC_RUN/pt.json" || rc=$?
check_eq "1.3.0: the task is refused" 1 "$rc"
check_eq "with a clear error" \
        "ctrrun: container 'app': capability SYS_PTRACE needs platform version 1.4.0 or later (platform version 1.3.0 may add none)" \
        "$(cat "$FABRIC_RUN/pt13.err")"
check_eq "before anything was made" "no" "$([[ -e $FABRIC_RUN/pt13 ]] && echo yes || echo no)"
check_eq "no cgroup, no volume" "" "$(rt_leftovers pt13 t1)"

# --- a volume shared by two containers, a read-only root ---
writer='echo "hello from writer" > /data/msg && echo wrote'
reader='cat /data/msg; touch /data/x 2>&1 | grep -o "Read-only file system";
        touch /rootfile 2>&1 | grep -o "Read-only file system";
        touch /tmp/x 2>&1 | grep -o "Read-only file system"'
rt_taskdef vol "$(jq -n --arg w "$writer" --arg r "$reader" '{family: "vol", cpu: "256",
  memory: "512", volumes: [{name: "shared"}],
  containerDefinitions: [
    {name: "reader", image: "i", readonlyRootFilesystem: true, command: [$r],
     mountPoints: [{sourceVolume: "shared", containerPath: "/data", readOnly: true}],
     dependsOn: [{containerName: "writer", condition: "SUCCESS"}]},
    {name: "writer", image: "i", essential: false, command: [$w],
     mountPoints: [{sourceVolume: "shared", containerPath: "/data"}]}]}')"
check "a writer and a reader of one volume run" rt_run vol --netns "$ns"
check_eq "the writer wrote" "wrote" "$(rt_log vol writer)"
check_eq "the reader reads it; a read-only mount and root refuse writes" \
        "hello from writer|Read-only file system|Read-only file system|Read-only file system" \
        "$(rt_log vol reader | paste -sd '|')"
check_eq "nothing is left" "" "$(rt_leftovers vol t1)"

# a failed SUCCESS dependency: the dependent never starts; it is essential, so the task stops
rt_taskdef vol "$(jq -n --arg r "$reader" '{family: "vol", cpu: "256", memory: "512",
  containerDefinitions: [
    {name: "reader", image: "i", command: [$r],
     dependsOn: [{containerName: "writer", condition: "SUCCESS"}]},
    {name: "writer", image: "i", essential: false, command: ["exit 3"]}]}')"
check "a task whose dependency fails" rt_run vol --netns "$ns"
check_eq "the dependent container is skipped" \
        "exited writer status 3|skipped reader dependency writer failed" \
        "$(grep -E '^(exited|skipped)' "$FABRIC_RUN/vol.out" | paste -sd '|')"
check_eq "nothing is left" "" "$(rt_leftovers vol t1)"
tap_done
