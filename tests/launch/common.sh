#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the launch tests (tests/launch/t-*.sh): `taskvm run` end to end in the test fabric,
# on top of tests/metadata/md.sh (the agent) and tests/lib.sh.
#
#       source "$(dirname "$0")/common.sh"
#       ln_setup 2                      # fabric, vpcd (DNS), registry, netd, ENIs 1..2
#                                       # registered, the image test/app:v1, the agent
#       ln_taskdef t1 '{...}'           # $FABRIC_RUN/t1.json (family, cpu, memory defaulted)
#       id=$(ln_run t1 1)               # taskvm run of t1 on ENI 1 (until RUNNING); its id
#       ln_wait_phase "$id" STOPPED     # wait (30 s) for a phase
#       ln_show "$id"                   # taskvm -j inspect
#       check_eq "nothing left" "" "$(ln_leftovers "$id")"
#
# The agent launches with everything under FABRIC_RUN: run directories (runs/), network
# namespaces (taskns/), the image store (images/), volumes (volumes/), cgroups below
# $FABRIC_PREFIX; the fabric's registry is insecure (plain HTTP). LN_IMAGE is the image's
# reference by name (registry.vpc.test:5000/test/app:v1), resolved by the VPC's DNS.

# shellcheck source=tests/metadata/md.sh
source "$(dirname "${BASH_SOURCE[0]}")/../metadata/md.sh"
# shellcheck source=tests/counters/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../counters/common.sh"

LN_LAYERS=()
LN_AGENT_ARGS=()

# ln_require: root and the tools, else skip.
ln_require()
{
        require_root
        require_cmd jq umoci skopeo docker-registry runc mkfs.ext4 busybox curl nft
        [[ -x $O/taskvm && -x $O/netd ]] || tap_bail "build first: make tests"
        [[ -d /sys/fs/cgroup/memory && -d /sys/fs/cgroup/cpu ]] ||
                _tap_skip_all "needs the cgroup v1 cpu and memory hierarchies"
}

# ln_agent_start [ARGS...]: the agent with the launch options of these tests.
ln_agent_start()
{
        md_agent_start --run-dir "$FABRIC_RUN/runs" --netns-dir "$FABRIC_RUN/taskns" \
                --image-store "$FABRIC_RUN/images" --volume-dir "$FABRIC_RUN/volumes" \
                --cgroup-parent "$FABRIC_PREFIX" --insecure-registry "$FABRIC_REGISTRY_NAME" \
                --insecure-registry "$FABRIC_REGISTRY" --enable-fault-injection "$@"
}

# ln_setup N [VPCD ARGS...]: ln_fabric N, then ln_services.
ln_setup()
{
        local n=$1
        shift

        ln_fabric "$n"
        ln_services "$@"
}

# ln_fabric N: the checks and the fabric with N ENIs.
ln_fabric()
{
        ln_require
        fabric_up "$1" || tap_bail "fabric_up"
        LN_ENIS=$1
}

# ln_services [VPCD ARGS...]: vpcd, the registry, netd with the fabric's ENIs registered, the
# image test/app:v1 (busybox, and LN_LAYERS: more layers, fabric_image_build's arguments), the
# agent (with LN_AGENT_ARGS).
ln_services()
{
        local i

        fabric_service_start "$@" || tap_bail "vpcd"
        fabric_registry_start || tap_bail "docker-registry"
        netd_start || tap_bail "netd"
        for ((i = 1; i <= LN_ENIS; i++)); do
                netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" \
                        gateway "$FABRIC_GATEWAY" >/dev/null || tap_bail "eni register $i"
        done
        LN_DIGEST=$(fabric_image_build test/app v1 "${LN_LAYERS[@]}") || tap_bail "image build"
        LN_IMAGE=$FABRIC_REGISTRY_NAME/test/app:v1
        export LN_IMAGE LN_DIGEST
        MD_NETD_SOCKET=$NETD_SOCKET
        ln_agent_start "${LN_AGENT_ARGS[@]}" || tap_bail "agent"
}

# ln_platform_eni N: ENI N (registered by ln_services) attached by netd as the platform ENI
# "p1" (platform version 1.3.0's pull, auth, secrets and logs) in the namespace $FABRIC_PREFIX-plat,
# with the VPC's nameserver; the agent names it with --platform-eni p1 (in LN_AGENT_ARGS: it is
# read at each 1.3.0 run, so the order does not matter). LN_PLATFORM_NS is the namespace.
ln_platform_eni()
{
        LN_PLATFORM_NS=$(fabric_task_ns plat) || return 1
        netdctl platform attach p1 netns "$LN_PLATFORM_NS" mac "$(fabric_eni_mac "$1")" \
                addr "$(fabric_eni_ip "$1")/$FABRIC_PREFIXLEN" nameserver "$FABRIC_DNS" >/dev/null
}

# ln_taskdef NAME JSON: a task definition (family NAME, cpu 256, memory 512 unless given).
ln_taskdef()
{
        jq --arg f "$1" '{family: $f, cpu: "256", memory: "512"} + .' <<<"$2" \
                >"$FABRIC_RUN/$1.json"
}

# ln_run NAME ENI [RUN ARGS...]: taskvm run of task definition NAME with ENI number ENI (its
# fabric address, the VPC's nameserver); prints the task id. Output in $FABRIC_RUN/NAME.run.
ln_run()
{
        local name=$1 eni=$2 out rc=0
        shift 2

        out=$(taskvm -j run --task-definition "$FABRIC_RUN/$name.json" --cluster "$MD_CLUSTER" \
                --region "$MD_REGION" --availability-zone "$MD_AZ" \
                --eni "$(fabric_eni_mac "$eni")" --address "$(fabric_eni_ip "$eni")/16" \
                --nameserver "$FABRIC_DNS" "$@" 2>"$FABRIC_RUN/$name.err") || rc=$?
        echo "$out" >"$FABRIC_RUN/$name.run"
        jq -r '.task_id // .error.message // empty' <<<"$out"
        return $rc
}

# ln_show ID: the task as taskvm inspect -j shows it.
ln_show()
{
        taskvm -j inspect "$1"
}

ln_phase()
{
        taskvm -j inspect "$1" 2>/dev/null | jq -r '.phase // empty'
}

_ln_phase_is()
{
        [[ $(ln_phase "$1") == "$2" ]]
}

# ln_wait_phase ID PHASE [SECONDS]: wait (30 s) until the task is in PHASE.
ln_wait_phase()
{
        wait_until "${3:-30}" _ln_phase_is "$1" "$2"
}

# ln_container ID NAME: the container's object in taskvm inspect -j.
ln_container()
{
        ln_show "$1" | jq -c --arg n "$2" '.containers[] | select(.name == $n)'
}

# ln_logs ID [CONTAINER]: what taskvm logs shows (stdout and stderr).
ln_logs()
{
        taskvm logs "$@" 2>&1
}

# The independent count of a flow: nft counters in a netdev table of the VPC's namespace, on the
# VPC side of a task's link (vpN), gone with the fabric.
#
# ln_vpc_port_count TABLE N PORT: counters "tx" (from ENI N's address to TCP PORT, an ingress
# hook) and "rx" (back, an egress hook) in the new table TABLE.
ln_vpc_port_count()
{
        local ip

        ip=$(fabric_eni_ip "$2")
        fabric_nsexec vpc nft -f - <<EOT
table netdev $1 {
        counter tx {}
        counter rx {}
        chain from_task {
                type filter hook ingress device "vp$2" priority 0;
                ip saddr $ip tcp dport $3 counter name "tx"
        }
        chain to_task {
                type filter hook egress device "vp$2" priority 0;
                ip daddr $ip tcp sport $3 counter name "rx"
        }
}
EOT
}

# ln_vpc_counter TABLE NAME: "bytes packets" of the counter NAME of TABLE.
ln_vpc_counter()
{
        fabric_nsexec vpc nft -j list counter netdev "$1" "$2" |
                jq -r '.nftables[] | select(.counter) | .counter | "\(.bytes) \(.packets)"'
}

# ln_vpc_flow TABLE TX RX: the counters TX (from the task) and RX (to it) of TABLE as netd
# counts a flow: "rx_bytes rx_packets tx_bytes tx_packets". Ingress hooks see frames without
# their 14-byte Ethernet header, egress hooks and tc with it.
ln_vpc_flow()
{
        local tb tp rb rp

        read -r tb tp <<<"$(ln_vpc_counter "$1" "$2")"
        read -r rb rp <<<"$(ln_vpc_counter "$1" "$3")"
        echo "$rb $rp $((tb + 14 * tp)) $tp"
}

# ln_leftovers ID: one line per thing of task ID that is still there: its namespace, mounts
# below its run or volume directory, loop devices backed by its volumes, its cgroups, runc
# state, processes in its cgroups, netd's task, netd's hold.
ln_leftovers()
{
        local id=$1 runs=$FABRIC_RUN/runs/$1 vols=$FABRIC_RUN/volumes/$1 mnt f pid

        [[ -e $FABRIC_RUN/taskns/taskvm-$id ]] && echo "netns $FABRIC_RUN/taskns/taskvm-$id"
        while read -r _ _ _ _ mnt _; do
                [[ $mnt == "$runs"/* || $mnt == "$vols"/* || $mnt == "$FABRIC_RUN/taskns/taskvm-$id" ]] &&
                        echo "mount $mnt"
        done </proc/self/mountinfo
        _fabric_loops "$vols" | sed 's/^/loop /'
        for f in "$vols"/*.img "$vols"/*.spare "$vols"/*.spare-new; do
                [[ -e $f ]] && echo "file $f"
        done
        [[ -e $runs/runc ]] && echo "runc state $runs/runc"
        [[ -e $runs/mnt ]] && echo "dir $runs/mnt"
        for f in /sys/fs/cgroup/*/"$FABRIC_PREFIX/$id"; do
                [[ -d $f ]] && echo "cgroup $f"
        done
        for pid in $(find /sys/fs/cgroup/pids/"$FABRIC_PREFIX/$id" -name cgroup.procs \
                -exec cat {} + 2>/dev/null); do
                echo "process $pid"
        done
        netdctl -j task show "$id" >/dev/null 2>&1 && echo "netd task $id"
        netdctl -j task holds holder taskvm 2>/dev/null | jq -r --arg id "$id" \
                '.[]? | select(.task_id == $id) | "netd hold \(.task_id)"'
        return 0
}

# ln_journal_task: the task the agent's journal has that is not STOPPED (the one launch of a
# round of the crash tests).
ln_journal_task()
{
        local f

        for f in "$AGENT_STATE_DIR"/launch/*.json; do
                [[ -e $f ]] || continue
                jq -r 'select(.phase != "STOPPED") | .task_id' "$f"
        done
}

# ln_volume_files: the files under the agents' volume directory but the spare shim's (the
# next task's volumes, made ahead: its run directory is marked).
ln_volume_files()
{
        local f id

        find "$FABRIC_RUN/volumes" -type f 2>/dev/null | while read -r f; do
                id=${f#"$FABRIC_RUN/volumes/"}
                id=${id%%/*}
                [[ -e $FABRIC_RUN/runs/$id/spare ]] || echo "$f"
        done
}

# ln_done: like tap_done, with the agent's log and the shims' on failure.
ln_done()
{
        local f

        [[ -n ${LN_PLATFORM_NS:-} ]] && netdctl platform detach p1 --if-exists >/dev/null 2>&1
        if ((TAP_FAILED)); then
                for f in "$FABRIC_RUN"/runs/*/shim.log; do
                        [[ -s $f ]] || continue
                        tap_diag "the end of $f:"
                        tail -n 20 "$f" | tap_diag
                done
        fi
        md_done
}
