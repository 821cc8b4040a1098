#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The ENI's life around a task: waiting for an ENI that appears late, detach twice, detach after
# the namespace was deleted (the veth stand-in is lost, netd says so and its inventory stays
# consistent), the lost ENI coming back, a detach cancelling a waiting attach, a renamed ENI;
# `netdctl events follow` sees all of it as events.list has it, and ends when netd goes.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq curl

fabric_up 2
fabric_service_start
netd_start
mac1=$(fabric_eni_mac 1)
mac2=$(fabric_eni_mac 2)
late=02:${FABRIC_ID:0:2}:${FABRIC_ID:2:2}:${FABRIC_ID:4:2}:00:63
task_waiting() { netdctl -j task show "$1" 2>/dev/null | jq -e '.waiting_for_eni' >/dev/null; }
eni_state_is() { [[ $(netdctl -j eni show "$1" | jq -r .state) == "$2" ]]; }
# A follower of the event stream from the start to netd's exit.
netdctl -j events follow >"$FABRIC_RUN/follow.json" 2>&1 &
follow_pid=$!
followers() { [[ $(netdctl -j health | jq .clients) == 2 ]]; }
check "netdctl events follow subscribes" wait_until 3 followers
for m in "$mac1" "$mac2" "$late"; do
        netdctl eni register "$m" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
done
check_eq "an ENI not on the host is 'missing'" missing "$(netdctl -j eni show "$late" | jq -r .state)"

# An ENI that appears after the attach started: netd waits on link events.
ns=$(fabric_task_ns late)
netdctl -j task attach late netns "$ns" mac "$late" addr 198.18.2.99/16 wait 5000 >"$FABRIC_RUN/late.json" 2>&1 &
attach_pid=$!
check "the attach waits for the ENI" wait_until 3 task_waiting late
check_eq "the waiting task shows as ATTACHING" ATTACHING "$(netdctl -j task show late | jq -r .phase)"
fabric_eni_add 99          # ENI 99 has the MAC 02:<run>:00:63
set +e
wait "$attach_pid"
rc=$?
set -e
check_eq "the attach completes once the ENI appears" 0 "$rc"
check_eq "its result says READY" READY "$(jq -r .phase "$FABRIC_RUN/late.json")"
check "it really is in the task" ip -n "$FABRIC_PREFIX-late" link show eth1
check "detach it" netdctl task detach late

# A detach cancels an attach that waits.
netdctl eni register 02:00:5e:00:01:01 subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
ns=$(fabric_task_ns w)
netdctl -j task attach w netns "$ns" mac 02:00:5e:00:01:01 addr 198.18.2.98/16 wait 20000 >"$FABRIC_RUN/w.json" 2>&1 &
attach_pid=$!
check "the attach waits" wait_until 3 task_waiting w
check "detach the waiting task" netdctl task detach w
set +e
wait "$attach_pid"
rc=$?
set -e
check_eq "the waiting attach fails" 1 "$rc"
check_match "... saying it was cancelled" "cancelled by a detach" "$(cat "$FABRIC_RUN/w.json")"

# Detach twice.
ns=$(fabric_task_ns t1)
check "attach t1" netdctl task attach t1 netns "$ns" mac "$mac1" addr "$(fabric_eni_ip 1)/16"
check "detach t1" netdctl task detach t1
check_fail "detach t1 again fails: no such task (as ip does)" netdctl task detach t1
check "... unless --if-exists" netdctl task detach t1 --if-exists
check_eq "which says there was nothing to do" false \
        "$(netdctl -j task detach --if-exists t1 | jq -r .detached)"
check_eq "the ENI is available once" available "$(netdctl -j eni show "$mac1" | jq -r .state)"

# A task that renames its interface still gets its ENI back under the original name.
check "attach t1 again" netdctl task attach t1 netns "$ns" mac "$mac1" addr "$(fabric_eni_ip 1)/16"
ip -n "$FABRIC_PREFIX-t1" link set eth1 down
ip -n "$FABRIC_PREFIX-t1" link set eth1 name renamed0
check_fail "check sees the rename" netdctl task check t1
check "detach the renamed ENI" netdctl task detach t1
check "it is back as $(fabric_eni_name 1)" ip -n "$FABRIC_HOST_NS" link show "$(fabric_eni_name 1)"

# Detach after the namespace was deleted: the veth ENI dies with it.
ns=$(fabric_task_ns t2)
check "attach t2" netdctl task attach t2 netns "$ns" mac "$mac2" addr "$(fabric_eni_ip 2)/16"
body=$(fabric_nsexec t2 curl -sS --max-time 5 "$FABRIC_HTTP_URL" 2>&1 || true)
check_match "t2 reaches the VPC" "you are $(fabric_eni_ip 2)" "$body"
ip netns del "$FABRIC_PREFIX-t2"
check "detach after the namespace is gone succeeds" netdctl task detach t2
check_eq "the ENI is reported lost" lost "$(netdctl -j eni show "$mac2" | jq -r .state)"
check_eq "an eni.lost event says so" 1 \
        "$(netdctl -j events | jq "[.[] | select(.type==\"eni.lost\" and .mac==\"$mac2\")] | length")"
check_eq "no task is left" 0 "$(netdctl -j task list | jq length)"
check_eq "health counts it" 1 "$(netdctl -j health | jq .enis.lost)"
check "detaching it again succeeds with --if-exists" netdctl task detach t2 --if-exists
# The same MAC reappears (a new stand-in): the ENI is available again.
fabric_eni_add 2
check "the reappearing ENI is noticed" wait_until 3 eni_state_is "$mac2" available
check_eq "a lost ENI that reappears is available" available "$(netdctl -j eni show "$mac2" | jq -r .state)"
ns=$(fabric_task_ns t2b)
check "and can be attached again" netdctl task attach t2b netns "$ns" mac "$mac2" addr "$(fabric_eni_ip 2)/16"
check "and detached" netdctl task detach t2b
netdctl -j events >"$FABRIC_RUN/events.json"
check "netd stops cleanly" netd_stop
set +e
timeout 5 tail --pid="$follow_pid" -f /dev/null
wait "$follow_pid"
rc=$?
set -e
check_eq "the follower ends with status 0 when netd goes" 0 "$rc"
check_eq "it printed one JSON object per line" "$(wc -l <"$FABRIC_RUN/follow.json")" \
        "$(jq -c . "$FABRIC_RUN/follow.json" 2>/dev/null | wc -l)"
check_eq "with the events as they came: ENI 2 lost, then back" "eni.lost eni.appeared" \
        "$(jq -r --arg m "$mac2" 'select(.mac == $m and (.type == "eni.appeared" or .type == "eni.lost")) | .type' \
                "$FABRIC_RUN/follow.json" | tr '\n' ' ' | sed 's/ $//')"
check_eq "every event of events.list, in order, and no other" "$(jq -c '.[]' "$FABRIC_RUN/events.json")" \
        "$(jq -c . "$FABRIC_RUN/follow.json")"
tap_done
