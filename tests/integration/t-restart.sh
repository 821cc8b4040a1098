#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# netd killed with SIGKILL while tasks run, and restarted: the tasks keep their network while it
# is down, and the new netd lists, checks and detaches every one of them.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq curl

fabric_up 3
fabric_service_start
netd_start
for i in 1 2 3; do
        netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
        ns=$(fabric_task_ns "t$i")
        netdctl task attach "t$i" netns "$ns" mac "$(fabric_eni_mac "$i")" addr "$(fabric_eni_ip "$i")/16" \
                route 10.40.0.0/16 via "$FABRIC_GATEWAY" attr owner=test >/dev/null
done
before=$(netdctl -j task list | jq -S 'sort_by(.task_id)')

# Traffic from t1 for the whole restart: a request every 50 ms.
fabric_nsexec t1 bash -c "for i in \$(seq 60); do curl -s -o /dev/null -w '%{http_code}\n' --max-time 2 '$FABRIC_HTTP_URL'; sleep 0.05; done" >"$FABRIC_RUN/traffic.txt" 2>&1 &
traffic=$!
sleep 0.5
pid=$NETD_PID
netd_kill9
check_fail "netd is gone" kill -0 "$pid"
check "t2 still reaches the VPC with netd down" fabric_nsexec t2 curl -sS -o /dev/null --max-time 3 "$FABRIC_HTTP_URL"
sleep 0.5
check "netd restarts (over its stale socket file)" netd_start
wait "$traffic" || true
check_eq "no request failed during the restart" "60" "$(grep -c '^200$' "$FABRIC_RUN/traffic.txt")"

after=$(netdctl -j task list | jq -S 'sort_by(.task_id)')
check_eq "the new netd lists the same tasks, field for field" "$before" "$after"
for i in 1 2 3; do
        check "t$i checks ok after the restart" netdctl task check "t$i"
done
check_eq "ENIs are attached" "attached attached attached" \
        "$(netdctl -j eni list | jq -r '[.[].state] | join(" ")')"
check_eq "the filter on attrs still works" 3 "$(netdctl -j task list | jq 'length')"

# A second kill with a task half-detached on disk: DETACHING is finished on start.
jq '.phase = "DETACHING"' "$NETD_RUN_DIR/state/tasks/t3.json" >"$FABRIC_RUN/t3.json"
netd_kill9
cp "$FABRIC_RUN/t3.json" "$NETD_RUN_DIR/state/tasks/t3.json"
check "netd restarts again" netd_start
check_fail "an interrupted detach is finished on start" netdctl task show t3
check "t3's ENI is back on the host" ip -n "$FABRIC_HOST_NS" link show "$(fabric_eni_name 3)"

for i in 1 2; do
        check "detach t$i" netdctl task detach "t$i"
        check "ENI $i is back on the host" ip -n "$FABRIC_HOST_NS" link show "$(fabric_eni_name "$i")"
done
check_eq "no task left" 0 "$(netdctl -j task list | jq length)"
check "netd stops cleanly" netd_stop
tap_done
