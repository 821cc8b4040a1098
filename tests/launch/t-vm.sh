#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# taskvm run --isolation vm (issue 13): a task's containers in a task VM (qemu microvm, TCG here)
# booted by its shim on netd's VM wiring. One boot: the container sends K datagrams to the VPC's
# echo service (netd counts them on the ENI, as the VM's "app" bytes, to the byte with the
# guest's ARP exchange), has the capabilities and RLIMIT_NOFILE of a runc task and its memory
# and cpu on its cgroup in the guest, whose CPU and memory its metadata stats show (the guest's
# STATS), as its task's EphemeralStorageMetrics show the file it writes; reads its own task metadata (busybox wget to
# $ECS_CONTAINER_METADATA_URI_V4), writes L lines, and runs until stopped; its output is in
# `taskvm logs` and, shipped with awslogs by the shim from the task's namespace while the task is
# READY (the ENI shared with the namespace's sockets), at the VPC's collector, every line once,
# the bytes on the task's logs flow as the VPC counts them; its exit code (its TERM trap's) is in
# inspect, and nothing of the task is left: no qemu, no taps, no loop devices, no mounts. The
# root drive is made once per image digest. Two containers of one image: dependsOn, their own
# roots, the essential container's exit stopping the task, two task-definition volumes on the
# task's drive (one shared, mounted readOnly by the reader), gone with the task. Platform
# version 1.3.0 in a VM: its pull through the platform ENI, the VM on the task's ENI, its
# volumes on their own drive. Bad input first;
# crashes last: the agent SIGKILLed
# while a VM boots (the shim and its VM go on, adopted by the next agent; then its qemu
# SIGKILLed: the task stops, saying that the VM crashed), a task stopped while its VM boots, the
# shim SIGKILLed
# while a VM boots (qemu dies with it, PR_SET_PDEATHSIG; the agent tears the task down).
set -euo pipefail
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/../vm/common.sh"
require_vm
require_cmd rsyslogd

K=100
S=200
L=300
ARP=42 # an ARP request or reply on the wire
BIG=64 # MiB the first container writes on the task's drive

# udpsend (static) in the image, beside busybox
layer=$(mktemp -d "/tmp/tp-vm-layer.XXXXXX")
mkdir -p "$layer/bin" && cp "$VM_DIR/guest-udpsend" "$layer/bin/udpsend"
LN_LAYERS=("$layer")
LN_AGENT_ARGS=(--vm-kernel "$VM_DIR/vmlinux" --vm-initrd "$VM_DIR/initramfs.cpio"
        --platform-eni p1)
ln_setup 3
rm -rf "$layer"

# --- bad input -----------------------------------------------------------------------------
ln_taskdef bad "$(jq -n --arg img "$LN_IMAGE" '{containerDefinitions: [
    {name: "app", image: $img, command: ["true"]}]}')"
rc=0
ln_run bad 1 --isolation foo >/dev/null || rc=$?
check "--isolation foo is refused" test "$rc" -ne 0
check_match "saying why" "isolation 'foo' is not runc or vm" "$(cat "$FABRIC_RUN/bad.run")"
md_agent_stop
ln_agent_start --vm-kernel "$FABRIC_RUN/no-such-vmlinux" --vm-initrd "$VM_DIR/initramfs.cpio" ||
        tap_bail "agent"
rc=0
ln_run bad 1 --isolation vm >/dev/null || rc=$?
check "--isolation vm without a kernel is refused" test "$rc" -ne 0
check_match "naming the kernel" "kernel '$FABRIC_RUN/no-such-vmlinux'" \
        "$(cat "$FABRIC_RUN/bad.run")"
check_eq "and the agent lives on" "ok" "$(taskvm -j health 2>/dev/null | jq -r '.status // "ok"')"
md_agent_stop
ln_agent_start "${LN_AGENT_ARGS[@]}" || tap_bail "agent"
# the volumes a VM cannot have (nor Fargate): refused, naming the volume
for v in '{name: "hostdir", host: {sourcePath: "/etc"}}' \
        '{name: "efsvol", efsVolumeConfiguration: {fileSystemId: "fs-1"}}'; do
        ln_taskdef badvol "$(jq -n --arg img "$LN_IMAGE" "{volumes: [$v], containerDefinitions: [
            {name: \"app\", image: \$img, command: [\"true\"]}]}")"
        name=$(jq -r '.volumes[0].name' "$FABRIC_RUN/badvol.json")
        rc=0
        ln_run badvol 1 --isolation vm >/dev/null || rc=$?
        check "a VM task with volume $name is refused" test "$rc" -ne 0
        check_match "naming it" "volume '$name'" "$(cat "$FABRIC_RUN/badvol.run")"
done
check_eq "no qemu ran" "" "$(qemu_pids)"

# --- one task in a VM --------------------------------------------------------------------------
fabric_syslog_start || tap_bail "syslog collector"
ln_vpc_port_count tpvmlogs 1 5514 || tap_bail "nft"
cmd="seq 1 $L | sed 's/^/line /' &&
udpsend --dst $FABRIC_GATEWAY:$FABRIC_UDP_PORT --count $K --size $S &&
wget -q -O - \"\$ECS_CONTAINER_METADATA_URI_V4\" > /tmp/md && echo && echo metadata \$(cat /tmp/md) &&
echo caps \$(awk '/^Cap/ { printf \"%s%s \", \$1, \$2 }' /proc/self/status) &&
echo nofile \$(ulimit -Sn) \$(ulimit -Hn) &&
echo pid1 \$(tr '\\0' ' ' </proc/1/cmdline | head -c 10) &&
echo cgroup \$(cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.weight) &&
dd if=/dev/zero of=/dev/shm/hold bs=1M count=32 2>/dev/null &&
{ (i=0; while [ \$i -lt 30000 ]; do i=\$((i + 1)); done; sleep 12;
   dd if=/dev/zero of=/big bs=1M count=$BIG 2>/dev/null && sync && echo wrote-big) & } &&
echo host \$(hostname) && echo in-the-vm >&2 &&
trap 'echo got TERM; exit 3' TERM; sleep 600 & wait"
ln_taskdef vm1 "$(jq -n --arg img "$LN_IMAGE" --arg cmd "$cmd" --arg ep "$FABRIC_SYSLOG_ENDPOINT" '{containerDefinitions: [
    {name: "app", image: $img, command: ["/bin/sh", "-c", $cmd], memory: 300, cpu: 128,
     linuxParameters: {capabilities: {add: ["SYS_PTRACE"]}},
     logConfiguration: {logDriver: "awslogs", options: {
       "awslogs-group": "/ecs/vm", "awslogs-region": "us-west-2",
       "awslogs-stream-prefix": "ecs", "awslogs-endpoint": $ep}}}]}')"
ip -n "$FABRIC_VPC_NS" neigh replace "$(fabric_eni_ip 1)" lladdr "$(fabric_eni_mac 1)" dev br0 \
        nud permanent
id=$(ln_run vm1 1 --isolation vm) || true
check_match "taskvm run --isolation vm: RUNNING" '"phase": *"RUNNING"' \
        "$(tr -d '\n' <"$FABRIC_RUN/vm1.run")"
check_eq "inspect shows the isolation" vm "$(ln_show "$id" | jq -r .isolation)"
_sent() { ln_logs "$id" app | grep -q "^host "; }
check "the container's output arrives in taskvm logs" wait_until 60 _sent
logs=$(ln_logs "$id" app)
check_match "its datagrams were echoed" "sent $K received $K" "$logs"
check_match "it read its own metadata" "metadata .*\"Name\":\"app\"" "$logs"
check_match "its stderr too" "in-the-vm" "$logs"
# The process runc makes of the same task definition: Fargate's default capabilities and the
# SYS_PTRACE it adds, in the bounding, permitted and effective sets, no inheritable or ambient
# ones; the platform's RLIMIT_NOFILE; PID 1 of its PID namespace is its own shell, not the
# guest's init.
mask=0
for cap in 0 1 3 4 5 6 7 8 10 13 18 27 29 31 19; do # CHOWN ... SETFCAP (Fargate), SYS_PTRACE
        mask=$((mask | 1 << cap))
done
mask=$(printf '%016x' "$mask")
check_eq "its capabilities are a runc task's: Fargate's default set and SYS_PTRACE ($mask)" \
        "caps CapInh:0000000000000000 CapPrm:$mask CapEff:$mask CapBnd:$mask CapAmb:0000000000000000" \
        "$(grep '^caps ' <<<"$logs" | sed 's/ *$//')"
check_eq "its RLIMIT_NOFILE is the platform's (1024 soft, 4096 hard)" "nofile 1024 4096" \
        "$(grep '^nofile ' <<<"$logs")"
check_eq "PID 1 of its PID namespace is its own shell, not the guest's init" "pid1 /bin/sh -c" \
        "$(grep '^pid1 ' <<<"$logs")"
# its cgroup in the guest (its cgroup namespace's root): memory 300 MiB as memory.max, cpu 128
# shares as runc makes them a cpu.weight
check_eq "its cgroup in the guest: memory.max 300 MiB, cpu.weight of 128 shares as runc's" \
        "cgroup $((300 << 20)) $((1 + (128 - 2) * 9999 / 262142))" "$(grep '^cgroup ' <<<"$logs")"
# Its statistics are its cgroup's in the guest (the guest's STATS, through the shim's status):
# CPU burnt, 32 MiB held in its /dev/shm; the task drive's use grows by the file it writes.
md=$(ln_show "$id" | jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4')
md_get() { fabric_nsexec host curl -s --max-time 5 "http://127.0.0.1:51679/v4/${md##*/}$1"; }
_gstats() { [[ $(md_get /stats | jq '.memory_stats.usage') -gt $((32 << 20)) ]]; }
check "its metadata stats are the guest's: memory_stats.usage above the 32 MiB it holds" \
        wait_until 10 _gstats
check_match "cpu_stats.total_usage > 0, memory_stats.limit its 300 MiB" \
        "^[1-9][0-9]* $((300 << 20))\$" \
        "$(md_get /stats | jq -r '"\(.cpu_stats.cpu_usage.total_usage) \(.memory_stats.limit)"')"
check_match "and so are the task's stats" '^[1-9][0-9]* [1-9][0-9]*$' \
        "$(md_get /task/stats | jq -r '.[] | "\(.cpu_stats.cpu_usage.total_usage) \(.memory_stats.usage)"')"
used0=$(md_get /task | jq -r .EphemeralStorageMetrics.Utilized)
check "EphemeralStorageMetrics read before it writes its $BIG MiB ($used0 MiB)" \
        test -n "$used0" -a -z "$(ln_logs "$id" app | grep wrote-big)"
_grown() {
        used1=$(md_get /task | jq -r .EphemeralStorageMetrics.Utilized)
        [[ $used1 -ge $((used0 + BIG)) ]]
}
check "EphemeralStorageMetrics grow by the $BIG MiB it writes on the task's drive" \
        wait_until 30 _grown
check "by about that ($used0 -> $used1 MiB)" test "$used1" -le $((used0 + BIG + 8))
check_eq "one qemu runs" 1 "$(qemu_pids | wc -l)"
check "netd made the VM's tap in the task's namespace" \
        nsenter --net="$FABRIC_RUN/taskns/taskvm-$id" ip link show tap0
roots=$(find "$FABRIC_RUN/images/vm-root" -name '*.ext4' 2>/dev/null | wc -l)
check_eq "its root drive was made in the image store" 1 "$roots"

st=$(netdctl -j stats "$id")
read -r rb rp tb tp <<<"$(expect4 $K $S)"
# Two ARP exchanges for the gateway, unmarked (app): the namespace's, for the pull, and the
# guest's. The VPC knows the task's MAC (no ARP from its side).
check_eq "netd counted the VM's datagrams and the ARP exchanges as app, to the byte" \
        "$((rb + 2 * ARP)) $((rp + 2)) $((tb + 2 * ARP)) $((tp + 2))" "$(st_flow app <<<"$st")"

check "taskvm stop" taskvm stop "$id" --detach
check "the task stops" ln_wait_phase "$id" STOPPED 60
c=$(ln_container "$id" app)
check_eq "the container's exit code (its TERM trap) in inspect" 3 "$(jq -r .exit_code <<<"$c")"
check_eq "the task's stop reason" "UserInitiated" "$(ln_show "$id" | jq -r .stop_code)"
check_match "taskvm logs has the trap's line" "got TERM" "$(ln_logs "$id" app)"
check_eq "no qemu is left" "" "$(qemu_pids)"

# the logs, shipped from the namespace while the VM had the ENI
sel="(.sd | contains(\"ecs/app/$id\"))"
n=$(ln_logs "$id" app | wc -l)
check_eq "every line of taskvm logs reached the collector, once" "$n" \
        "$(jq -r "select($sel) | .msg" "$FABRIC_SYSLOG_FILE" | wc -l)"
check "the $L lines among them, in order" diff <(jq -r "select($sel) | .msg" \
        "$FABRIC_SYSLOG_FILE" | grep '^line ') <(seq -f 'line %g' 1 $L)
st=$(netdctl -j stats "$id")
check_match "the logs flow carried them" '^[0-9]{4,}$' "$(jq -r .flows.logs.tx.bytes <<<"$st")"
check_eq "logs: netd's flow equals the VPC side's count, both ways" \
        "$(ln_vpc_flow tpvmlogs tx rx)" "$(st_at .flows.logs <<<"$st")"
check_eq "nothing of the task is left" "" "$(ln_leftovers "$id")"

# --- two containers of one image, dependsOn, the essential rule, the task's volumes ----------
# side writes a file on the volume "shared"; main (dependsOn side) reads it through a readOnly
# mount that refuses its write, and writes on "scratch".
main_cmd='for i in $(seq 1 100); do [ -f /shared/msg ] && break; sleep 0.1; done
echo main read $(cat /shared/msg)
if echo x 2>/dev/null >/shared/nope; then echo ro write ok; else echo ro write refused; fi
echo kept >/scratch/file && echo scratch $(cat /scratch/file)
echo main > /tmp/who; sleep 1; echo main saw $(cat /tmp/who); exit 4'
side_cmd='trap "echo side TERM; exit 0" TERM; echo side up
echo from-side >/shared/.msg && mv /shared/.msg /shared/msg
sleep 0.5; echo side > /tmp/who; sleep 600 & wait'
ln_taskdef two "$(jq -n --arg img "$LN_IMAGE" --arg main "$main_cmd" --arg side "$side_cmd" '{
  volumes: [{name: "shared"}, {name: "scratch", host: {}}],
  containerDefinitions: [
    {name: "main", image: $img, dependsOn: [{containerName: "side", condition: "START"}],
     mountPoints: [{sourceVolume: "scratch", containerPath: "/scratch"},
                   {sourceVolume: "shared", containerPath: "/shared", readOnly: true}],
     command: ["/bin/sh", "-c", $main]},
    {name: "side", image: $img, essential: false, stopTimeout: 5,
     mountPoints: [{sourceVolume: "shared", containerPath: "/shared"}],
     command: ["/bin/sh", "-c", $side]}]}')"
id=$(ln_run two 2 --isolation vm) || true
check "the essential container's exit stops the task" ln_wait_phase "$id" STOPPED 60
check_eq "stop code" EssentialContainerExited "$(ln_show "$id" | jq -r .stop_code)"
check_eq "main: exit code 4; side: stopped by its TERM trap, 0" "4 0" \
        "$(ln_container "$id" main | jq -r .exit_code) $(ln_container "$id" side | jq -r .exit_code)"
check_eq "each has a root of its own over the one image drive (main saw its own /tmp/who)" \
        "main saw main" "$(ln_logs "$id" main | tail -n 1)"
check_match "one root drive for both, and the task's volume" "2 drives" \
        "$(grep 'Task VM: qemu' "$FABRIC_RUN/runs/$id/shim.log")"
check_eq "side ran, and was stopped with the task" "side up|side TERM" \
        "$(ln_logs "$id" side | paste -sd'|')"
check_eq "side was started before main (dependsOn START)" true \
        "$(ln_show "$id" | jq '(.containers | map({(.name): .started}) | add) as $s |
                $s.side <= $s.main')"
check_eq "main read side's file on their volume; its readOnly mount refused the write" \
        "main read from-side|ro write refused|scratch kept" \
        "$(ln_logs "$id" main | grep -E '^(main read|ro write|scratch)' | paste -sd'|')"
check_eq "no qemu is left" "" "$(qemu_pids)"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"
check_eq "the volumes' data went with the task's storage" "" \
        "$(find "$FABRIC_RUN/volumes/$id" -type f 2>/dev/null)"

# --- platform version 1.3.0 in a VM ----------------------------------------------------------
# The pull through the platform ENI (the task's platform share), the VM's traffic on the task's
# ENI, the volumes on their own 4 GiB drive beside the 10 GiB layer drive.
check "netd attaches ENI 3 as the platform ENI p1" ln_platform_eni 3
cmd="udpsend --dst $FABRIC_GATEWAY:$FABRIC_UDP_PORT --count $K --size $S &&
echo data \$(df -k /data | tail -n 1 | awk '{print \$2}') root \$(df -k / | tail -n 1 | awk '{print \$2}') &&
echo on-the-volume >/data/f && echo read \$(cat /data/f)"
ln_taskdef p13 "$(jq -n --arg img "$LN_IMAGE" --arg cmd "$cmd" '{volumes: [{name: "data"}],
  containerDefinitions: [{name: "app", image: $img, command: ["/bin/sh", "-c", $cmd],
    mountPoints: [{sourceVolume: "data", containerPath: "/data"}]}]}')"
id=$(ln_run p13 2 --platform-version 1.3.0 --isolation vm) || true
check "the 1.3.0 VM task runs to its end" ln_wait_phase "$id" STOPPED 60
check_eq "its container exited 0" 0 "$(ln_container "$id" app | jq -r .exit_code)"
logs=$(ln_logs "$id" app)
check_match "its datagrams were echoed" "sent $K received $K" "$logs"
check_eq "it wrote and read its volume" "read on-the-volume" "$(grep '^read ' <<<"$logs")"
read -r _ dkib _ rkib <<<"$(grep '^data ' <<<"$logs")"
check "the volume is its own ~4 GiB drive ($dkib KiB)" test "${dkib:-0}" -gt 3500000 -a "${dkib:-0}" -le 4194304
check "the writable layer is on the ~10 GiB one ($rkib KiB)" test "${rkib:-0}" -gt 9000000 -a "${rkib:-0}" -le 10485760
check_match "three drives: the root, the layer drive, the volumes drive" "3 drives" \
        "$(grep 'Task VM: qemu' "$FABRIC_RUN/runs/$id/shim.log")"
st=$(netdctl -j stats "$id")
# (the image's layers are in the store since the first task: its pull is the manifest's)
check_match "the pull is the task's platform share" '^[1-9][0-9]* [1-9]' \
        "$(jq -r '.platform.flows.pull | "\(.rx.bytes) \(.rx.packets)"' <<<"$st")"
check_eq "and not on its own ENI" "0 0 0 0" "$(st_flow pull <<<"$st")"
read -r rb rp tb tp <<<"$(st_flow app <<<"$st")"
check "the VM's datagrams are on the task's ENI ($rp rx, $tp tx packets)" \
        test "${rp:-0}" -ge $K -a "${tp:-0}" -ge $K
check_eq "no qemu is left" "" "$(qemu_pids)"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"
check "the platform ENI detaches" netdctl platform detach p1
LN_PLATFORM_NS=

# --- crashes while the VM boots ----------------------------------------------------------------
ln_taskdef long "$(jq -n --arg img "$LN_IMAGE" '{containerDefinitions: [
    {name: "app", image: $img, stopTimeout: 2,
     command: ["/bin/sh", "-c", "trap \"exit 0\" TERM; echo up; sleep 600 & wait"]}]}')"
_booting() { [[ -n $(qemu_pids) ]]; }
id=$(ln_run long 2 --isolation vm --detach) || true
check "a VM boots" wait_until 30 _booting
md_agent_kill9
check_eq "the agent killed mid-boot: its VM boots on" 1 "$(qemu_pids | wc -l)"
ln_agent_start "${LN_AGENT_ARGS[@]}" || tap_bail "agent restart"
check "the next agent adopts the task: RUNNING" ln_wait_phase "$id" RUNNING 60
_up() { ln_logs "$id" app | grep -q '^up$'; }
check "its container runs" wait_until 30 _up
kill -KILL "$(qemu_pids)"
check "qemu SIGKILLed: the task is STOPPED" ln_wait_phase "$id" STOPPED 30
check_match "with a reason that says so" "The task VM crashed" \
        "$(ln_show "$id" | jq -r .stopped_reason)"
c=$(ln_container "$id" app)
check_eq "its container STOPPED, exit code 137, and why" \
        "STOPPED 137 The task VM stopped before the container exited (crashed)" \
        "$(jq -r '"\(.status) \(.exit_code) \(.reason)"' <<<"$c")"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

id=$(ln_run long 2 --isolation vm --detach) || true
check "another VM boots" wait_until 30 _booting
check "stopped while it boots" taskvm stop "$id" --detach
check "STOPPED at once, not after the container's stopTimeout" ln_wait_phase "$id" STOPPED 15
check_eq "no qemu is left" "" "$(qemu_pids)"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

id=$(ln_run long 2 --isolation vm --detach) || true
check "a third VM boots" wait_until 30 _booting
shim=$(ln_show "$id" | jq -r .shim.pid)
kill -KILL "$shim"
check "the shim killed mid-boot: the task is STOPPED" ln_wait_phase "$id" STOPPED 30
check_match "with the reason" "the task's runtime \(taskvm shim\) was killed by signal 9" \
        "$(ln_show "$id" | jq -r .stopped_reason)"
_no_qemu() { [[ -z $(qemu_pids) ]]; }
check "qemu died with its shim" wait_until 10 _no_qemu
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"
check_eq "the root drive was made once for the image: reused by every task since" 1 \
        "$(find "$FABRIC_RUN/images/vm-root" -name '*.ext4' | wc -l)"
check_eq "and no temporary file of it" "" "$(find "$FABRIC_RUN/images/vm-root" -name '*.tmp')"
ln_done
