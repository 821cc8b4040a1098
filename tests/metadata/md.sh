#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the metadata endpoint tests (tests/metadata/t-*.sh), on top of tests/lib.sh:
#
#       source "$(dirname "$0")/md.sh"         # also sources tests/lib.sh
#       fabric_up 2; netd_start
#       md_netd_up                              # netd's stats.get, or a stand-in (see below)
#       md_agent_start [AGENT ARGS...]          # taskvm agent in the host namespace
#       md_task_up a 1                          # ENI 1 attached as task "a", its metadata link
#       md_register a [REGISTER ARGS...]        # prints the registration (JSON)
#       md_curl a URL...                        # curl from inside task a
#
# Two parts of issue 5 are netd's and are being built beside this: the per-task metadata link
# and stats.get (issue 4). Until they land, these helpers stand in for them, and switch to netd's
# own by themselves once netd has them:
#   - md_link: if netd's task.show reports "metadata": {"address": ...}, that link is used;
#     otherwise a veth pair is made here the way netd will (task side md0 169.254.172.N/32 with a
#     route to 169.254.170.2/32; host side tmdN with 169.254.170.2/32, a /32 route back and a
#     strict reverse-path filter).
#   - md_netd_up: if netd answers stats.get, the agent talks to netd; otherwise to fake-netd
#     (tests/tools/fake-netd.c), which forwards everything to netd but answers stats.get from
#     files that md_stats_feed writes from the kernel's counters of the task's eth1.
# Set by these: MD_NETD_SOCKET (the socket the agent uses), MD_FAKE_STATS (1 with the stand-in),
# AGENT_SOCKET, AGENT_LOG, AGENT_PID, AGENT_STATE_DIR, MD_CREDS_DIR.

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

MD_REGION=us-west-2
MD_AZ=us-west-2b
MD_ACCOUNT=123456789012
MD_CLUSTER=arn:aws:ecs:$MD_REGION:$MD_ACCOUNT:cluster/tp-test

taskvm()
{
        "$O/taskvm" --socket "$AGENT_SOCKET" "$@"
}

# md_call SOCKET METHOD [PARAMS]: one JSON-RPC call, prints the result (or fails).
md_call()
{
        local out params=${3:-'{}'}

        out=$(printf '{"jsonrpc":"2.0","method":"%s","params":%s,"id":1}\n' "$2" "$params" |
                "$O/tests/tools/ctlsend" "$1" 1) || return 1
        jq -e '.result' <<<"$out"
}

md_addr()
{
        echo "169.254.$((172 + $1 / 256)).$(($1 % 256))"
}

# md_link_build NAME N [IFNAME]: a metadata link for task NAME with address N (see above);
# prints the address. The task side is IFNAME (md0).
md_link_build()
{
        local name=$1 n=$2 ifname=${3:-md0} ns=$FABRIC_PREFIX-$1 addr

        addr=$(md_addr "$n")
        printf '%s\n' "link add tmd$n type veth peer name $ifname netns $ns" \
                "addr add 169.254.170.2/32 dev tmd$n" "link set tmd$n up" \
                "route add $addr/32 dev tmd$n src 169.254.170.2" |
                ip -n "$FABRIC_HOST_NS" -batch - >&2 || return 1
        nsenter --net="$FABRIC_HOST_NS_PATH" sysctl -qw "net.ipv4.conf.tmd$n.rp_filter=1" >&2
        printf '%s\n' "addr add $addr/32 dev $ifname" "link set $ifname up" \
                "route add 169.254.170.2/32 dev $ifname src $addr" |
                ip -n "$ns" -batch - >&2 || return 1
        echo "$addr"
}

# md_link NAME N: the metadata link of task NAME, netd's if it built one, else one built here
# with address N; prints the task's metadata address.
md_link()
{
        local addr

        addr=$(netdctl -j task show "$1" | jq -r '.metadata.address // empty')
        if [[ -n $addr ]]; then
                echo "${addr%/*}"
                return 0
        fi
        md_link_build "$1" "$2"
}

# md_netd_link NAME: whether netd built task NAME's metadata link (and reports its address).
md_netd_link()
{
        [[ -n $(netdctl -j task show "$1" | jq -r '.metadata.address // empty') ]]
}

# md_task_up NAME I [ARGS...]: netd attaches ENI I to a new task NAME (ARGS: more of netdctl
# task attach's, e.g. wiring vm); its metadata link. Sets MD_ADDR[NAME] to the task's metadata
# address.
declare -gA MD_ADDR=()
md_task_up()
{
        local name=$1 i=$2 ns
        shift 2

        netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" \
                gateway "$FABRIC_GATEWAY" >/dev/null || return 1
        ns=$(fabric_task_ns "$name") || return 1
        netdctl task attach "$name" netns "$ns" mac "$(fabric_eni_mac "$i")" \
                addr "$(fabric_eni_ip "$i")/16" nameserver 198.18.0.2 search tp.internal "$@" \
                >/dev/null || return 1
        MD_ADDR[$name]=$(md_link "$name" "$i") || return 1
}

_md_fake_ready()
{
        [[ -S $MD_NETD_SOCKET ]] && md_call "$MD_NETD_SOCKET" health >/dev/null 2>&1
}

# md_fake_start: fake-netd in front of netd, on MD_NETD_SOCKET, replies in MD_REPLIES.
md_fake_start()
{
        MD_NETD_SOCKET=$FABRIC_RUN/netd-stats.sock
        MD_REPLIES=$FABRIC_RUN/replies
        mkdir -p "$MD_REPLIES/stats.get" "$MD_REPLIES/task.show"
        nsenter --net="$FABRIC_HOST_NS_PATH" -- "$O/tests/tools/fake-netd" \
                --socket "$MD_NETD_SOCKET" --replies "$MD_REPLIES" --upstream "$NETD_SOCKET" \
                </dev/null >>"$FABRIC_RUN/fake-netd.log" 2>&1 &
        MD_FAKE_PID=$!
        _fabric_wait 5 _md_fake_ready
}

md_fake_stop()
{
        [[ -n ${MD_FAKE_PID:-} ]] || return 0
        _fabric_term 5 "$MD_FAKE_PID"
        wait "$MD_FAKE_PID" 2>/dev/null || true
        unset MD_FAKE_PID
}

# md_netd_up: decide where stats.get comes from (see the top of this file).
md_netd_up()
{
        local out

        out=$(printf '{"jsonrpc":"2.0","method":"stats.get","params":{},"id":1}\n' |
                "$O/tests/tools/ctlsend" "$NETD_SOCKET" 1)
        if [[ $(jq -r '.error.code // empty' <<<"$out") != -32601 ]]; then
                MD_NETD_SOCKET=$NETD_SOCKET
                MD_FAKE_STATS=0
                return 0
        fi
        MD_FAKE_STATS=1
        md_fake_start
}

# md_stats_feed NAME...: with the stand-in, stats.get of each task becomes the kernel's counters
# of its eth1 now, and rates over a window of up to 10 s (as netd computes them: from a base
# sample, replaced once it is 10 s old). No-op with netd.
md_stats_feed()
{
        local name now prev dev

        ((MD_FAKE_STATS)) || return 0
        now=$(_fabric_now)
        for name; do
                dev=$(ip -n "$FABRIC_PREFIX-$name" -s -j link show eth1 | jq -c '.[0].stats64 |
                        {ifname: "eth1", rx_bytes: .rx.bytes, rx_packets: .rx.packets,
                         rx_errors: .rx.errors, rx_dropped: .rx.dropped, tx_bytes: .tx.bytes,
                         tx_packets: .tx.packets, tx_errors: .tx.errors, tx_dropped: .tx.dropped}')
                prev=$MD_REPLIES/stats.get/$name.json
                jq -n --arg id "$name" --argjson dev "$dev" --argjson now "$now" \
                        --slurpfile prev <(cat "$prev" 2>/dev/null || true) '
                        ($prev[0]._base // {usec: $now, device: $dev}) as $b0
                        | (if $now - $b0.usec > 10000000 then {usec: $prev[0]._usec, device: $prev[0].device} else $b0 end) as $base
                        | (($now - $base.usec) / 1e6) as $dt
                        | {task_id: $id, slot: 0, phase: "READY", detached: false,
                           time: (now | todate), device: $dev,
                           totals: {rx: {bytes: $dev.rx_bytes, packets: $dev.rx_packets},
                                    tx: {bytes: $dev.tx_bytes, packets: $dev.tx_packets}},
                           flows: {}, drops: {},
                           rates: {window_sec: 10,
                                   rx_bytes_per_sec: (if $dt > 0 then ($dev.rx_bytes - $base.device.rx_bytes) / $dt else 0 end),
                                   tx_bytes_per_sec: (if $dt > 0 then ($dev.tx_bytes - $base.device.tx_bytes) / $dt else 0 end)},
                           _usec: $now, _base: $base}' >"$prev.tmp" && mv "$prev.tmp" "$prev"
        done
}

_md_agent_ready()
{
        _fabric_alive "$AGENT_PID" || return 0
        [[ -S $AGENT_SOCKET ]] && taskvm health >/dev/null 2>&1
}

# md_agent_start [ARGS...]: taskvm agent in the host namespace, on $FABRIC_RUN/agent.sock,
# talking to MD_NETD_SOCKET, credentials in MD_CREDS_DIR, its journal in AGENT_STATE_DIR
# ($FABRIC_RUN/agent-state, kept across restarts of the agent), stats every second.
md_agent_start()
{
        AGENT_SOCKET=$FABRIC_RUN/agent.sock
        AGENT_LOG=$FABRIC_RUN/agent.log
        AGENT_STATE_DIR=$FABRIC_RUN/agent-state
        MD_CREDS_DIR=${MD_CREDS_DIR:-$FABRIC_RUN/credentials}
        echo "--- md_agent_start $* ($(date '+%T.%N'))" >>"$AGENT_LOG"
        nsenter --net="$FABRIC_HOST_NS_PATH" -- "$O/taskvm" agent --socket "$AGENT_SOCKET" \
                --netd-socket "${MD_NETD_SOCKET:-$NETD_SOCKET}" --credentials-dir "$MD_CREDS_DIR" \
                --state-dir "$AGENT_STATE_DIR" --stats-interval 1 --log-level debug "$@" \
                </dev/null >>"$AGENT_LOG" 2>&1 &
        AGENT_PID=$!
        if ! _fabric_wait 5 _md_agent_ready || ! _fabric_alive "$AGENT_PID"; then
                _fabric_err "the agent did not start; the end of its log:"
                tail -n 30 "$AGENT_LOG" >&2
                return 1
        fi
}

# md_agent_kill9: SIGKILL, no chance to clean up.
md_agent_kill9()
{
        local pid=${AGENT_PID:-}

        [[ -n $pid ]] || return 0
        kill -KILL "$pid" 2>/dev/null
        _fabric_wait 5 _fabric_none_alive "$pid"
        wait "$pid" 2>/dev/null || true
        unset AGENT_PID
}

# md_agent_stop: SIGTERM and wait; returns the agent's exit status.
md_agent_stop()
{
        local pid=${AGENT_PID:-} rc=0

        [[ -n $pid ]] || return 0
        _fabric_term 10 "$pid" || rc=1
        wait "$pid" 2>/dev/null || rc=$?
        unset AGENT_PID
        return $rc
}

# md_taskdef FILE FAMILY ROLE: a task definition with two containers (app, sidecar).
md_taskdef()
{
        jq -n --arg family "$2" --arg role "$3" '{
                family: $family, revision: 4, cpu: "512", memory: "1 GB", networkMode: "awsvpc",
                requiresCompatibilities: ["FARGATE"], ephemeralStorage: {sizeInGiB: 21},
                containerDefinitions: [
                  {name: "app", image: "public.ecr.aws/tp/app:1", cpu: 256, memory: 512,
                   essential: true, portMappings: [{containerPort: 8080, protocol: "tcp"}],
                   logConfiguration: {logDriver: "awslogs", options: {
                     "awslogs-group": ("/ecs/" + $family), "awslogs-region": "us-west-2",
                     "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}},
                   linuxParameters: {initProcessEnabled: true}},
                  {name: "sidecar", image: "public.ecr.aws/tp/sidecar:1", essential: false}]}
                + (if $role == "" then {} else {taskRoleArn: $role} end)' >"$1"
}

# md_register NAME [ARGS...]: register task NAME (family NAME, role NAME-role) with the agent.
md_register()
{
        local name=$1 def=$FABRIC_RUN/taskdef-$1.json
        shift

        [[ -f $def ]] || md_taskdef "$def" "$name" "arn:aws:iam::$MD_ACCOUNT:role/$name-role"
        taskvm -j register --task-definition "$def" --cluster "$MD_CLUSTER" --region "$MD_REGION" \
                --availability-zone "$MD_AZ" --launch-type FARGATE --netd-task "$name" \
                --metadata-address "${MD_ADDR[$name]}" "$@"
}

# md_creds ROLE ACCESS_KEY TOKEN: the operator's credentials file for ROLE (written atomically).
md_creds()
{
        MD_CREDS_DIR=${MD_CREDS_DIR:-$FABRIC_RUN/credentials}
        mkdir -p "$MD_CREDS_DIR"
        jq -n --arg a "$2" --arg t "$3" '{AccessKeyId: $a, SecretAccessKey: ("secret-" + $a),
                Token: $t, Expiration: "2035-01-01T00:00:00Z"}' >"$MD_CREDS_DIR/.$1.tmp"
        chmod 600 "$MD_CREDS_DIR/.$1.tmp"
        mv "$MD_CREDS_DIR/.$1.tmp" "$MD_CREDS_DIR/$1.json"
}

# md_curl NAME ARGS...: curl from inside task NAME, bounded.
md_curl()
{
        local name=$1
        shift
        fabric_nsexec "$name" curl -sS --max-time 5 "$@"
}

# md_status NAME URL: the HTTP status of a GET from task NAME.
md_status()
{
        md_curl "$1" -o /dev/null -w '%{http_code}' "$2" 2>/dev/null || true
}

_tap_agent_log()
{
        if [[ -n ${AGENT_LOG:-} && -s $AGENT_LOG ]]; then
                tap_diag "the end of $AGENT_LOG:"
                tail -n 40 "$AGENT_LOG" | tap_diag
        fi
}

# md_done: like tap_done, with the agent's log on failure.
md_done()
{
        ((TAP_FAILED)) && _tap_agent_log
        tap_done
}
