#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A task VM's life: a stop reaches the container as its stop signal and the VM powers off; a
# container that ignores it is killed at the stop timeout; a command that cannot run is an error
# with status 127; qemu killed from outside is a crash with its reason; the VM's owner killed
# mid-boot takes qemu with it; a stop mid-boot makes qemu quit (QMP); a guest that cannot boot
# says why. Nothing is left: no qemu, no files, no mounts. Seven short boots, no traffic (the
# network is t-net.sh's).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_vm

fabric_up 0
fabric_task_ns t1 >/dev/null
img=$FABRIC_RUN/root.img
check "a root file system image" vm_image "$img"
ev=$FABRIC_RUN/events

# run NAME ARGS...: vmrun in t1 with the image as root; its status in RC, events in $ev.
run()
{
        RC=0
        vmrun_in t1 --console "$FABRIC_RUN/console-$1.log" --events "$ev" --drive "$img,root" \
                --root root --env PATH=/bin "${@:2}" >"$FABRIC_RUN/out" 2>"$FABRIC_RUN/err" ||
                RC=$?
}

# 1. An orderly stop: the stop signal (SIGTERM) reaches the container, which exits by itself.
run stop --stop-after 300 --stop-timeout 20000 -- /bin/sh -c \
        'trap "echo got TERM; exit 0" TERM; echo running; while :; do sleep 0.1; done'
check_eq "stopped: the container saw SIGTERM and exited 0" "0|running got TERM" \
        "$RC|$(paste -sd ' ' "$FABRIC_RUN/out")"
check_eq "the guest powered off" poweroff "$(event_field "$ev" exit 3)"

# 2. A container that ignores its stop signal (PID 1 of its namespace without a handler) is
# killed when the timeout passes; the VM powers off all the same.
run kill --stop-after 300 --stop-timeout 500 -- /bin/sh -c 'echo running; exec sleep 1000'
check_eq "killed at the stop timeout" "137 9" "$RC $(event_field "$ev" exited 4)"
check_eq "the guest powered off" poweroff "$(event_field "$ev" exit 3)"

# 3. A command that is not in the image.
run enoent -- /bin/no-such-command
check_eq "a missing command exits 127" 127 "$RC"
check_match "and the guest says why" "exec /bin/no-such-command: No such file or directory" \
        "$(grep '^error' "$ev" || true)"

# 4. qemu dies under the task (here: SIGKILL from outside): a crash, with its reason.
rm -f "$ev"
vmrun_in t1 --events "$ev" --drive "$img,root" --root root --env PATH=/bin -- /bin/sleep 1000 \
        >/dev/null 2>&1 &
bg=$!
check "the VM runs its container" wait_until 60 grep -q '^started' "$ev"
kill -KILL "$(event_field "$ev" qemu 3)"
rc=0
wait "$bg" || rc=$?
check_eq "no container exit: vmrun says 125" 125 "$rc"
check_match "seen as a crash, with the signal" "^exit [0-9]+ crashed qemu was killed by signal 9" \
        "$(grep '^exit' "$ev")"

# 5. The VM's owner dies mid-boot (SIGKILL): qemu goes with it (PR_SET_PDEATHSIG), though its
# container would run for ever.
rm -f "$ev"
vmrun_in t1 --events "$ev" --drive "$img,root" --root root -- /bin/sleep 1000 >/dev/null 2>&1 &
bg=$!
check "qemu started" wait_until 10 grep -q '^qemu' "$ev"
qemu=$(event_field "$ev" qemu 3)
kill -KILL "$(event_field "$ev" vmrun 2)"
wait "$bg" 2>/dev/null || true
check_fail "it had not booted yet" grep -q '^ready' "$ev"
no_qemu()
{
        [[ ! -e /proc/$qemu ]] && [[ -z $(qemu_pids) ]]
}
check "qemu is gone with its owner" wait_until 5 no_qemu

# 6. A stop while the guest boots: no init to ask, qemu quits (QMP quit).
rm -f "$ev"
vmrun_in t1 --events "$ev" --drive "$img,root" --root root -- /bin/true >/dev/null 2>&1 &
bg=$!
check "qemu started" wait_until 10 grep -q '^qemu' "$ev"
kill -TERM "$(event_field "$ev" vmrun 2)"
rc=0
wait "$bg" || rc=$?
check_eq "stopped before the container ran: 125" 125 "$rc"
check_match "qemu quit when asked over QMP" "^exit [0-9]+ quit qemu quit as asked" \
        "$(grep '^exit' "$ev")"

# 7. A guest that cannot finish its boot (a gateway off its subnet) tells the host why.
ip -n "$FABRIC_PREFIX-t1" tuntap add dev tap0 mode tap
rc=0
vmrun_in t1 --events "$ev" --nic "tap0,eth1,02:00:00:00:00:01,198.18.1.1/16" \
        --route "0.0.0.0/0,eth1,198.19.0.1" --drive "$img,root" --root root -- /bin/true \
        >/dev/null 2>&1 || rc=$?
check_eq "no container ran: 125" 125 "$rc"
check_match "the guest's reason came over the channel" \
        "^error [0-9]+ -1 route 0 via eth1: Network is unreachable" "$(grep '^error' "$ev")"
check_match "and the boot failed" "^exit [0-9]+ boot-failed " "$(grep '^exit' "$ev")"
ip -n "$FABRIC_PREFIX-t1" link del tap0

check_eq "no mount of the fabric's" "" "$(grep -F "$FABRIC_RUN" /proc/self/mountinfo || true)"
check_eq "no file but the test's own" "console-enoent.log console-kill.log console-stop.log err events out root.img" \
        "$(cd "$FABRIC_RUN" && ls | grep -v '^netns$' | sort | paste -sd ' ')"
tap_done
