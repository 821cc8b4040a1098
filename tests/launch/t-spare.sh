#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The spare shim (issue 11, the task start): once the agent has launched a task, it keeps one
# shim exec'd ahead of the next (`taskvm shim --dir RUN_DIR/ID --spare`, waiting on a pipe). The
# next task takes its id and its process; a new spare follows once that task runs. A spare that
# dies is reaped and removed, and the next task starts a shim of its own; the agent's exit, or
# its SIGKILL, ends the spare (the end of its pipe), and a restarted agent removes what is left;
# a task that took the spare's id and is stopped before its provisioning (task.run and
# task.stop in one write) ends it too; --no-spare-shim keeps none. A spare makes the next task's
# volumes ahead (formatted, then mounted where its task's shim mounts them): a task of the
# default size takes them as they are, one of another size makes its own and the spare's go.
# The agent makes the next task's network namespace and cgroup with the spare; the task takes
# them, a restarted agent removes those of a spare before it. A spare waits at niceness 10; its
# task's shim and containers run at 0; its libraries are bound at its exec (LD_BIND_NOW), not
# on the task's way. Every shim runs runc from the agent's sealed copy of it
# (one memfd, the shim's descriptor 3), none with --no-runc-copy. Nothing is left.
set -euo pipefail
source "$(dirname "$0")/common.sh"
ln_setup 2

RUNS=$FABRIC_RUN/runs

# spare_id PID: the id in its command line (its run directory's name), empty if it is gone.
spare_id()
{
        tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null |
                sed -nE 's|.*--dir [^ ]*/([0-9a-f]{32}) .*|\1|p' || true
}

# spare_pid: the pid of the spare shim of this fabric's agent, empty if none: started with
# --spare (a task's shim that was a spare keeps it) and its directory still marked.
spare_pid()
{
        local pid id

        for pid in $(pgrep -f "^taskvm shim --dir $RUNS/[0-9a-f]{32} --log-level [0-9]+ --spare( --runc-fd 3)?$"); do
                id=$(spare_id "$pid")
                [[ -n $id && -e $RUNS/$id/spare ]] && echo "$pid"
        done
        return 0
}

has_spare() { [[ -n $(spare_pid) ]]; }
no_spare() { [[ -z $(spare_pid) ]]; }
gone() { [[ ! -e /proc/$1 ]]; }

ln_taskdef long "$(jq -n --arg img "$LN_IMAGE" '{containerDefinitions: [
  {name: "app", image: $img, stopTimeout: 2,
   command: ["/bin/sh", "-c", "echo hello; exec sleep 1000"]}]}')"

check "no spare before the first task" no_spare
check_eq "no run directory either" "" "$(ls "$RUNS" 2>/dev/null)"

# --- the first task starts a shim of its own; a spare follows -----------------------------------
id1=$(ln_run long 1) || true
check_eq "the first task runs" RUNNING "$(ln_phase "$id1")"
check "a spare shim is started once it runs" wait_until 10 has_spare
spare=$(spare_pid)
sid=$(spare_id "$spare")
check_eq "one spare" 1 "$(wc -w <<<"$spare")"
check "its directory is marked" test -e "$RUNS/$sid/spare"
check_match "it waits: sleeping in a read" "^S" "$(awk '{print $3}' "/proc/$spare/stat")"
# nice_of PID: its niceness (field 19 of /proc/PID/stat; the command, field 2, has no blank)
nice_of() { awk '{print $19}' "/proc/$1/stat"; }
check_eq "at niceness 10: what it makes ahead yields to launches under way" 10 "$(nice_of "$spare")"
# env_has PID VAR=VALUE: VAR=VALUE in the environment PID was exec'd with
env_has() { tr '\0' '\n' <"/proc/$1/environ" | grep -qx "$2"; }
env_lacks() { [[ -n $1 && -r /proc/$1/environ ]] && ! env_has "$@"; }
check "its libraries bound at its exec, ahead of the task (LD_BIND_NOW=1)" \
        env_has "$spare" LD_BIND_NOW=1
check "the first task's shim, exec'd on its way, binds them lazily" \
        env_lacks "$(ln_show "$id1" | jq -r .shim.pid)" LD_BIND_NOW=1
VOLS=$FABRIC_RUN/volumes
spare_vol=$VOLS/$sid/ephemeral.img
# mounted_at DIR: the source of the mount on DIR, empty if none.
mounted_at() { findmnt -n -o SOURCE --mountpoint "$1" || true; }
spare_mounted() { [[ -n $(mounted_at "$RUNS/$sid/mnt/ephemeral") ]]; }
check "it made the next task's volume ahead, and mounted it" wait_until 10 spare_mounted
check_eq "20 GiB (1.4.0), sparse" "$((20 << 30))" "$(stat -c %s "$spare_vol")"
check_eq "formatted: ext4" ext4 "$(blkid -o value -s TYPE "$spare_vol" || true)"
check "and the next task's network namespace" test -e "$FABRIC_RUN/taskns/taskvm-$sid"
check "and its cgroup" test -d "/sys/fs/cgroup/memory/$FABRIC_PREFIX/$sid"
check_eq "on its loop device, where the task's shim mounts it" \
        "$(losetup -n -O NAME -j "$spare_vol")" "$(mounted_at "$RUNS/$sid/mnt/ephemeral")"

# --- the next task takes it ----------------------------------------------------------------------
id2=$(ln_run long 2) || true
check_eq "the next task has the spare's id" "$sid" "$id2"
check_eq "and its process as its shim" "$spare" "$(ln_show "$id2" | jq -r .shim.pid)"
check_eq "it runs" RUNNING "$(ln_phase "$id2")"
check_eq "the task's shim at niceness 0 again" 0 "$(nice_of "$spare")"
# ctr_pid_of ID: the pid of task ID's container 'app' (its cgroup's process), empty if none.
ctr_pid_of()
{
        head -n 1 "/sys/fs/cgroup/pids/$FABRIC_PREFIX/$1/app/cgroup.procs" 2>/dev/null || true
}
has_ctr() { [[ -n $(ctr_pid_of "$1") ]]; }
check "its container's process is there" wait_until 10 has_ctr "$id2"
check_eq "and at niceness 0" 0 "$(nice_of "$(ctr_pid_of "$id2")" 2>/dev/null || echo none)"
check "and without LD_BIND_NOW" env_lacks "$(ctr_pid_of "$id2")" LD_BIND_NOW=1
said_hello() { [[ $(ln_logs "$1" app) == hello ]]; }
check "its container's output comes back" wait_until 10 said_hello "$id2"
check "the mark is gone" test ! -e "$RUNS/$id2/spare"
check "it took the volume made and mounted ahead" \
        grep -q "made and mounted ahead by the spare" "$RUNS/$id2/shim.log"
check_eq "as its own: one volume, one mount" "1 1" \
        "$(_fabric_loops "$VOLS/$id2" | wc -l) $(grep -c " $RUNS/$id2/mnt/ephemeral " /proc/self/mountinfo)"
md=$(ln_show "$id2" | jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4 // empty')
check_eq "its metadata is served" RUNNING \
        "$(fabric_nsexec host curl -s --max-time 5 "http://127.0.0.1:51679/v4/${md##*/}" |
                jq -r .KnownStatus)"
other_spare() { local p; p=$(spare_pid); [[ -n $p && $p != "$1" ]]; }
check "a new spare follows" wait_until 10 other_spare "$spare"

# --- runc from the agent's sealed copy: one memfd for every shim, each shim's descriptor 3 ------
memfd_inodes()
{
        local f

        for f in /proc/"$1"/fd/*; do
                [[ $(readlink "$f" 2>/dev/null) == "/memfd:runc (deleted)" ]] && stat -L -c %i "$f"
        done
        return 0
}
shim2=$(ln_show "$id2" | jq -r .shim.pid)
check_eq "the task's shim holds runc's sealed copy as its descriptor 3" "/memfd:runc (deleted)" \
        "$(readlink "/proc/$shim2/fd/3" || true)"
check_eq "sealed: no write opens it" "" \
        "$( (echo x >>"/proc/$shim2/fd/3") 2>/dev/null && echo written)"
check_eq "the agent's copy, not one of its own" "$(memfd_inodes "$AGENT_PID")" \
        "$(memfd_inodes "$shim2")"
check_eq "the new spare's too" "$(memfd_inodes "$AGENT_PID")" "$(memfd_inodes "$(spare_pid)")"
check_eq "its runc is a link to it (runc's name stays runc)" /proc/self/fd/3 \
        "$(readlink "$RUNS/$id2/bin/runc" || true)"

# --- a spare that dies: reaped, removed; the next task starts its own ----------------------------
spare=$(spare_pid)
sid=$(spare_id "$spare")
kill -KILL "$spare"
check "a killed spare is reaped (no zombie)" wait_until 5 gone "$spare"
check "and its directory removed" wait_until 5 test ! -e "$RUNS/$sid"
check "and its volume" wait_until 5 test ! -e "$VOLS/$sid"
check_eq "nothing of it is left (its mount, its loop device)" "" "$(ln_leftovers "$sid")"
check_match "the agent said so" "The spare shim \(pid $spare\) was killed by signal 9" \
        "$(cat "$AGENT_LOG")"
check "taskvm stop of the first task" taskvm stop "$id1"
id3=$(ln_run long 1) || true
check_eq "the next task runs (a shim of its own)" RUNNING "$(ln_phase "$id3")"
check "not the dead spare's id" test "$id3" != "$sid"
check "a spare again" wait_until 10 has_spare

# --- a task that took the spare's id, stopped before its provisioning began (task.run and
# task.stop in one write): the spare exits and is reaped, the task is STOPPED, nothing started --
spare=$(spare_pid)
sid=$(spare_id "$spare")
{
        jq -nc --slurpfile td "$FABRIC_RUN/long.json" --arg c "$MD_CLUSTER" --arg r "$MD_REGION" \
                --arg az "$MD_AZ" --arg mac "$(fabric_eni_mac 2)" --arg a "$(fabric_eni_ip 2)/16" '
                {jsonrpc: "2.0", id: 1, method: "task.run", params: {task_definition: $td[0],
                 cluster: $c, region: $r, availability_zone: $az,
                 eni: {mac: $mac, addresses: [$a]}}}'
        jq -nc --arg id "$sid" '{jsonrpc: "2.0", id: 2, method: "task.stop",
                params: {task_id: $id, reason: "changed my mind"}}'
} >"$FABRIC_RUN/runstop.in"
out=$("$O/tests/tools/ctlsend" "$AGENT_SOCKET" 2 <"$FABRIC_RUN/runstop.in") || true
check_eq "the run took the spare's id, the stop found it" "$sid $sid" \
        "$(jq -rs '[.[].result.task_id] | join(" ")' <<<"$out")"
check "the task is STOPPED" ln_wait_phase "$sid" STOPPED 10
check_eq "as asked" "UserInitiated changed my mind" \
        "$(ln_show "$sid" | jq -r '"\(.stop_code) \(.stopped_reason)"')"
check "its spare exits" wait_until 5 gone "$spare"
check_eq "no shim ran for it" 0 "$(ln_show "$sid" | jq -r '.shim.pid // 0')"
check_eq "nothing of it is left" "" "$(ln_leftovers "$sid")"
check "a new spare follows" wait_until 10 other_spare "$spare"

# --- a task of another size (ephemeralStorage 30 GiB) takes a spare: a volume of its own ---------
spare=$(spare_pid)
sid=$(spare_id "$spare")
check "its volume is made and mounted ahead" wait_until 10 spare_mounted
check "taskvm stop $id2" taskvm stop "$id2"
check "stopped" ln_wait_phase "$id2" STOPPED 20
jq '. + {ephemeralStorage: {sizeInGiB: 30}}' "$FABRIC_RUN/long.json" >"$FABRIC_RUN/big.json"
idb=$(ln_run big 2) || true
check_eq "it has the spare's id" "$sid" "$idb"
check_eq "it runs" RUNNING "$(ln_phase "$idb")"
check_eq "on a volume of its own, 30 GiB" "$((30 << 30))" \
        "$(stat -c %s "$VOLS/$idb/ephemeral.img" 2>/dev/null || true)"
check_eq "the spare's 20 GiB volume is gone: one loop device, one mount" "1 1" \
        "$(_fabric_loops "$VOLS/$idb" | wc -l) $(grep -c " $RUNS/$idb/mnt/ephemeral " /proc/self/mountinfo)"
check_eq "the mounted one is the 30 GiB one" "$(losetup -n -O NAME -j "$VOLS/$idb/ephemeral.img")" \
        "$(mounted_at "$RUNS/$idb/mnt/ephemeral")"
check "a new spare follows" wait_until 10 other_spare "$spare"

# --- the agent SIGKILLed: the spare ends; a restarted agent removes its directory ---------------
spare=$(spare_pid)
sid=$(spare_id "$spare")
md_agent_kill9
check "the agent killed: its spare exits (the end of its pipe)" wait_until 5 gone "$spare"
check "removing its volume" test ! -e "$VOLS/$sid"
check_eq "unmounted, its loop device detached" "" \
        "$(ln_leftovers "$sid" | grep -vE "^(netns|cgroup) |^mount $FABRIC_RUN/taskns/" || true)"
check "its directory is still there" test -e "$RUNS/$sid/spare"
check "and the next task's namespace, made with it" test -e "$FABRIC_RUN/taskns/taskvm-$sid"
ln_agent_start || tap_bail "agent restart"
check "restarted: the spare's directory is removed" wait_until 5 test ! -e "$RUNS/$sid"
check_eq "and the namespace and cgroup made with it" "" "$(ln_leftovers "$sid")"
check_eq "the running tasks are adopted" "RUNNING RUNNING" "$(ln_phase "$idb") $(ln_phase "$id3")"
check "no spare until this agent launches" no_spare

# --- stopped: the spare exits, its directory goes ------------------------------------------------
check "taskvm stop" taskvm stop "$id3"
id4=$(ln_run long 1) || true
check_eq "a task on the restarted agent" RUNNING "$(ln_phase "$id4")"
check "a spare" wait_until 10 has_spare
spare=$(spare_pid)
sid=$(spare_id "$spare")
check "md_agent_stop" md_agent_stop
check "stopped: the spare exits" wait_until 5 gone "$spare"
check "and its directory is removed" test ! -e "$RUNS/$sid"
check "and its volume" test ! -e "$VOLS/$sid"
check_eq "and its mount" "" "$(ln_leftovers "$sid")"

# --- --no-spare-shim ----------------------------------------------------------------------------
ln_agent_start --no-spare-shim --no-runc-copy || tap_bail "agent restart"
check "taskvm stop" taskvm stop "$id4"
id5=$(ln_run long 1) || true
check_eq "a task runs without spares" RUNNING "$(ln_phase "$id5")"
sleep 1
check "and no spare follows it" no_spare
shim5=$(ln_show "$id5" | jq -r .shim.pid)
check_eq "--no-runc-copy: the agent holds no copy of runc" "" "$(memfd_inodes "$AGENT_PID")"
check_eq "the shim neither" "" "$(memfd_inodes "$shim5")"
check "and it runs runc by its path (no link)" test ! -e "$RUNS/$id5/bin/runc"

for id in "$idb" "$id5"; do
        check "taskvm stop $id" taskvm stop "$id"
done
for id in "$id1" "$id2" "$id3" "$id4" "$id5" "$idb"; do
        check_eq "nothing of task $id is left" "" "$(ln_leftovers "$id")"
done
check_eq "no shim left" "" "$(pgrep -f "^taskvm shim --dir $RUNS/" || true)"
ln_done
