#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the container runtime tests (tests/runtime/t-*.sh), on top of tests/lib.sh. They
# drive the runtime's modules (storage, oci, runc, platform, taskdef) through tests/tools/ctrrun,
# which stands in for the per-task shim:
#
#       source "$(dirname "$0")/rt.sh"          # also sources tests/lib.sh
#       rt_setup 1                              # fabric with 1 ENI, the image (busybox layers)
#       ns=$(rt_task_ns t1 1)                   # task namespace, ENI 1 in it as eth1
#       rt_taskdef t1 '{"family": ...}'         # writes $FABRIC_RUN/t1.json
#       rt_run t1 --netns "$ns"                 # ctrrun run; events in $FABRIC_RUN/t1.out
#       rt_log t1 app                           # what container app wrote
#       check_eq "nothing left" "" "$(rt_leftovers t1)"
#
# The image has two layers (so that the overlay has several lower directories): busybox-static
# with its applets, and /etc with users root, app (1000, also in group staff 50) and nobody. Its
# config: Entrypoint ["/bin/sh", "-c"], Cmd ["echo image-cmd"], Env PATH=/bin and IMAGE_VAR=1.
# Each task NAME has its directory $FABRIC_RUN/NAME (ctrrun --dir) and the cgroup
# $FABRIC_PREFIX/NAME, which fabric_leftovers and its teardown know about.

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CTRRUN=$O/tests/tools/ctrrun

# rt_setup N: the checks, a fabric with N ENIs, the image.
rt_setup()
{
        local a

        require_root
        require_cmd runc mkfs.ext4 losetup busybox jq
        [[ -x $CTRRUN ]] || tap_bail "$CTRRUN is not built (make tests)"
        [[ -d /sys/fs/cgroup/memory && -d /sys/fs/cgroup/cpu ]] ||
                _tap_skip_all "needs the cgroup v1 cpu and memory hierarchies"
        fabric_up "${1:-0}" || tap_bail "fabric_up failed"

        RT_IMAGE=$FABRIC_RUN/image
        mkdir -p "$RT_IMAGE/busybox/bin" "$RT_IMAGE/busybox/tmp" "$RT_IMAGE/etc/etc" \
                "$RT_IMAGE/etc/home/app"
        cp "$(command -v busybox)" "$RT_IMAGE/busybox/bin/busybox"
        for a in $(busybox --list); do
                [[ $a == busybox ]] || ln -s busybox "$RT_IMAGE/busybox/bin/$a"
        done
        chmod 1777 "$RT_IMAGE/busybox/tmp"
        printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'app:x:1000:1000:app:/home/app:/bin/sh' \
                'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$RT_IMAGE/etc/etc/passwd"
        printf '%s\n' 'root:x:0:' 'staff:x:50:app' 'app:x:1000:' 'nogroup:x:65534:' \
                >"$RT_IMAGE/etc/etc/group"
        chown 1000:1000 "$RT_IMAGE/etc/home/app"
        jq -n '{architecture: "amd64", os: "linux",
                config: {Entrypoint: ["/bin/sh", "-c"], Cmd: ["echo image-cmd"],
                         Env: ["PATH=/bin", "IMAGE_VAR=1"], WorkingDir: "/"},
                rootfs: {type: "layers", diff_ids: []}}' >"$RT_IMAGE/config.json"
        export RT_IMAGE
}

# rt_task_ns NAME [ENI]: the task's network namespace (printed), with ENI number ENI moved into
# it as eth1, 198.18.1.ENI/16, up.
rt_task_ns()
{
        local ns eni=${2:-}

        ns=$(fabric_task_ns "$1") || return 1
        if [[ -n $eni ]]; then
                ip -n "$FABRIC_HOST_NS" link set "$(fabric_eni_name "$eni")" netns "$ns" \
                        name eth1 || return 1
                printf '%s\n' "addr add $(fabric_eni_ip "$eni")/$FABRIC_PREFIXLEN dev eth1" \
                        "link set eth1 up" | ip -n "$FABRIC_PREFIX-$1" -batch - || return 1
        fi
        echo "$ns"
}

# rt_taskdef NAME JSON: the task definition of task NAME.
rt_taskdef()
{
        jq . <<<"$2" >"$FABRIC_RUN/$1.json"
}

# rt_run NAME [CTRRUN ARGS...]: run task NAME (its taskdef, the image, its directory and cgroup),
# events to $FABRIC_RUN/NAME.out, errors to NAME.err; returns ctrrun's exit status. (The shell's
# own "Killed" note for a --crash-at goes to /dev/null.)
rt_run()
{
        local name=$1
        shift

        {
                "$CTRRUN" run --dir "$FABRIC_RUN/$name" --taskdef "$FABRIC_RUN/$name.json" \
                        --image-config "$RT_IMAGE/config.json" --layer "$RT_IMAGE/etc" \
                        --layer "$RT_IMAGE/busybox" --cgroup "$FABRIC_PREFIX/$name" --timeout 60 \
                        "$@" >"$FABRIC_RUN/$name.out" 2>"$FABRIC_RUN/$name.err"
        } 2>/dev/null
}

# rt_run_bg NAME [ARGS...]: the same in the background; RT_PID is ctrrun's pid.
rt_run_bg()
{
        local name=$1
        shift

        "$CTRRUN" run --dir "$FABRIC_RUN/$name" --taskdef "$FABRIC_RUN/$name.json" \
                --image-config "$RT_IMAGE/config.json" --layer "$RT_IMAGE/etc" \
                --layer "$RT_IMAGE/busybox" --cgroup "$FABRIC_PREFIX/$name" --timeout 60 "$@" \
                >"$FABRIC_RUN/$name.out" 2>"$FABRIC_RUN/$name.err" &
        RT_PID=$!
}

# rt_events NAME: the events of task NAME's last run.
rt_events()
{
        cat "$FABRIC_RUN/$1.out"
}

# rt_event NAME PATTERN: is there an event line matching the extended regex PATTERN?
rt_event()
{
        grep -Eq "$2" "$FABRIC_RUN/$1.out"
}

# rt_log NAME CONTAINER: what the container wrote (stdout and stderr).
rt_log()
{
        cat "$FABRIC_RUN/$1/logs/$2.log" 2>/dev/null
}

# rt_ctrrun NAME CMD [ARGS...]: another ctrrun command on task NAME's directory.
rt_ctrrun()
{
        local name=$1 cmd=$2
        shift 2

        "$CTRRUN" "$cmd" --dir "$FABRIC_RUN/$name" "$@"
}

# rt_leftovers NAME [NETNS]: one line per thing of task NAME's that is still there: loop
# devices backed by its files, mounts below its directory, volume images, runc containers or
# state, processes in its cgroups (and in the fabric namespace NETNS), its cgroups.
rt_leftovers()
{
        local dir=$FABRIC_RUN/$1 f mnt pid

        _fabric_loops "$dir" | sed 's/^/loop /'
        while read -r _ _ _ _ mnt _; do
                [[ $mnt == "$dir"/* ]] && echo "mount $mnt"
        done </proc/self/mountinfo
        for f in "$dir"/state/*.img; do
                [[ -e $f ]] && echo "file $f"
        done
        [[ -e $dir/state ]] && echo "dir $dir/state"
        [[ -e $dir/mnt ]] && echo "dir $dir/mnt"
        [[ -e $dir/runc ]] && echo "runc state $dir/runc: $(ls "$dir/runc" | tr '\n' ' ')"
        {
                if [[ -d /sys/fs/cgroup/pids/$FABRIC_PREFIX/$1 ]]; then
                        find "/sys/fs/cgroup/pids/$FABRIC_PREFIX/$1" -name cgroup.procs \
                                -exec cat {} +
                fi
                [[ -n ${2:-} ]] && ip netns pids "$FABRIC_PREFIX-$2" 2>/dev/null
        } | sort -u | while read -r pid; do
                echo "process $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
        done
        for f in /sys/fs/cgroup/*/"$FABRIC_PREFIX/$1"; do
                [[ -d $f ]] && echo "cgroup $f"
        done
        return 0
}

# has_line REGEX TEXT: does a line of TEXT match REGEX (grep -E)?
has_line()
{
        grep -Eq "$1" <<<"$2"
}

# rt_wait_event NAME PATTERN [SECONDS]: wait (10 s) for an event line.
rt_wait_event()
{
        wait_until "${3:-10}" rt_event "$1" "$2"
}
