#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A netd of an older commit (NETD_COMPAT_REV: the last before netd was made of plans of steps)
# replaced by this one over its live run directory: the tasks it attached run on and are checked,
# stats-read, released and detached by this netd; what it left half-done (an attach cut by a
# crash, teardown pending in its reaper) is finished; its ENI registrations and holds are kept.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq curl git

REV=${NETD_COMPAT_REV:-ecaa1f9}
git -C "$FABRIC_ROOT" rev-parse --verify --quiet "$REV^{commit}" >/dev/null || {
        echo "1..0 # SKIP no commit $REV in this tree (not a git checkout?)"
        exit 0
}
compat=$("$FABRIC_ROOT/scripts/build-rev.sh" "$REV" "$O/rev-$REV" netd) ||
        tap_bail "building netd of $REV failed"

fabric_up 4
fabric_service_start
# The old netd, as netd_start runs ours (it takes the binary from $O).
O=$compat netd_start --enable-fault-injection --stats-interval 1 ||
        tap_bail "netd of $REV did not start"
old_pid=$NETD_PID
check_match "the old netd runs" "\"version\"" "$(netdctl -j health)"
for i in 1 2 3 4; do
        netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" \
                gateway "$FABRIC_GATEWAY" >/dev/null
done
# attach NAME I ARGS...: task NAME on ENI I in namespace NAME.
attach()
{
        local name=$1 i=$2
        shift 2

        netdctl task attach "$name" netns "$(fabric_task_ns "$name")" mac "$(fabric_eni_mac "$i")" \
                addr "$(fabric_eni_ip "$i")/16" "$@" >/dev/null
}
check "the old netd attaches t1 (guards, counters, metadata link, resolv.conf)" \
        attach t1 1 nameserver 198.18.0.1 search vpc.test
check "and t2" attach t2 2 imds allow
check "t1 is held by the agent" netdctl task hold t1 holder agent
fabric_nsexec t1 curl -s -o /dev/null --max-time 3 "$FABRIC_HTTP_URL" || true
sleep 1.2 # a sample of the counters, by the old netd
before=$(netdctl -j task list | jq -S 'sort_by(.task_id)')
rx_before=$(netdctl -j stats t1 | jq '.totals.rx.bytes')
# Teardown left to the reaper: t3's metadata link and guards table, when netd is killed at once.
check "the old netd attaches t3" attach t3 3
slot3=$(netdctl -j task show t3 | jq -r .slot)
check "and detaches it" netdctl task detach t3
# An attach cut by a crash after its addresses step (the old netd kills itself).
netdctl task attach t4 netns "$(fabric_task_ns t4)" mac "$(fabric_eni_mac 4)" \
        addr "$(fabric_eni_ip 4)/16" fault crash:addresses >/dev/null 2>&1 || true
check "the old netd died in t4's attach" wait_until 5 bash -c "! kill -0 $old_pid 2>/dev/null"
wait "$old_pid" 2>/dev/null || true
unset NETD_PID
check "t4's journal says it was attaching" jq -e '.phase == "ATTACHING"' \
        "$NETD_RUN_DIR/state/tasks/t4.json"
# The old reaper waits for 200 ms of quiet, which t4's attach did not give it (unless the machine
# was that slow): its record of t3's teardown is the old netd's format.
reap_job=$NETD_RUN_DIR/state/reap/$slot3.json
[[ -e $reap_job ]] && reap_pending=1 || reap_pending=0

# --- this netd, over the same directories and pins ------------------------------------------------
check "this netd starts over the old one's run directory" netd_start --stats-interval 1
check_eq "it is this build" "$O/netd" "$(readlink "/proc/$NETD_PID/exe")"
after=$(netdctl -j task list | jq -S 'sort_by(.task_id)')
check_eq "it lists the old netd's tasks, field for field" "$before" "$after"
for t in t1 t2; do
        check "$t checks ok: every step's work is where this netd expects it" \
                netdctl task check "$t"
done
if ((reap_pending)); then
        check "the old reaper's pending work is finished at start" grep -q \
                "Finishing the teardown of 1 detached tasks$" "$NETD_LOG"
        check_fail "and its record removed" test -e "$reap_job"
else
        tap_skip "the old reaper's pending work is finished at start" "it had done it"
        tap_skip "and its record removed" "it had done it"
fi
check_fail "t4's interrupted attach is undone" netdctl task show t4
check_eq "its ENI is available again" available \
        "$(netdctl -j eni show "$(fabric_eni_mac 4)" | jq -r .state)"
check "t4's namespace has no ENI left" bash -c \
        "! ip -n '$FABRIC_PREFIX-t4' -o link show | grep -q eth1"
check_fail "t3's metadata link is gone from the host" \
        ip -n "$FABRIC_HOST_NS" link show "tpmd$slot3"
check_fail "and its guards table from its namespace" \
        fabric_nsexec t3 nft list table inet taskplane-eth1
check_eq "ENI 3 is available" available \
        "$(netdctl -j eni show "$(fabric_eni_mac 3)" | jq -r .state)"
check_eq "the registrations are kept" 4 "$(netdctl -j eni list | jq length)"
check_eq "t1 is still held" agent "$(netdctl -j task holds | jq -r '.[] | select(.task_id == "t1") | .holders[0]')"
check "t1 still reaches the VPC" fabric_nsexec t1 curl -sS -o /dev/null --max-time 3 "$FABRIC_HTTP_URL"
check "t1's counters go on from the old netd's" bash -c \
        "[[ \$(\"$O/netdctl\" --socket '$NETD_SOCKET' -j stats t1 | jq '.totals.rx.bytes') -ge $rx_before ]]"
check "t1's resolv.conf is the old netd's" grep -q "^nameserver 198.18.0.1" \
        "/etc/netns/$FABRIC_PREFIX-t1/resolv.conf"

# --- detached by this netd --------------------------------------------------------------------------
for i in 1 2; do
        check "t$i detaches" netdctl task detach "t$i"
        check "ENI $i is back on the host" ip -n "$FABRIC_HOST_NS" link show "$(fabric_eni_name "$i")"
done
check_fail "t1's resolv.conf is removed" test -e "/etc/netns/$FABRIC_PREFIX-t1/resolv.conf"
check_eq "t1's final counters are kept" t1 "$(netdctl -j stats collect t1 | jq -r '.tasks[0].task_id')"
check "t1's slot stays held until the agent releases it" bash -c \
        "\"$O/netdctl\" --socket '$NETD_SOCKET' -j task holds | jq -e '.[0].state == \"detached\"'"
check "the agent releases it" netdctl task release t1 holder agent
check_eq "no task left" 0 "$(netdctl -j task list | jq length)"
check "netd stops cleanly" netd_stop
tap_done
