#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The agent's registrations survive its restart and a restart of the host's services: each is
# journalled (--state-dir) and restored at start with the same ids (task ARN, endpoint ids,
# credentials id, times) once netd confirms its task (the same instance, still ready); those
# whose task went meanwhile are dropped with a log line, and the agent's holds of them released.
# While netd cannot be reached, they wait unserved.
set -euo pipefail
source "$(dirname "$0")/md.sh"
require_root
require_cmd jq curl stat

fabric_up 3
netd_start
md_netd_up
md_agent_start
md_task_up a 1
md_task_up b 2
md_stats_feed a b
md_creds a-role AKIDA token-a
md_creds b-role AKIDB token-b
reg_a=$(md_register a)
md_register b >/dev/null
uri_a=$(jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4' <<<"$reg_a")
uri_a2=$(jq -r '.containers[1].env.ECS_CONTAINER_METADATA_URI_V4' <<<"$reg_a")
creds_a=http://169.254.170.2$(jq -r '.containers[0].env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI' <<<"$reg_a")
before=$(md_curl a "$uri_a/task" | jq -c '{TaskARN, Containers: [.Containers[] | {DockerId, ContainerARN, CreatedAt}]}')
registered()
{
        taskvm -j ps | jq -r '[.[].task_id] | sort | join(" ")'
}
# served: the statuses of a's container, second container, task and credentials paths.
served()
{
        echo "$(md_status a "$uri_a") $(md_status a "$uri_a2") $(md_status a "$uri_a/task") $(md_status a "$creds_a")"
}
holds()
{
        netdctl -j task holds | jq -r '[.[] | "\(.task_id):\(.state)"] | join(" ")'
}

check_eq "one record per task, readable by root only" "700 600 600" \
        "$(stat -c %a "$AGENT_STATE_DIR/tasks" "$AGENT_STATE_DIR/tasks/a.json" "$AGENT_STATE_DIR/tasks/b.json" | xargs)"
check_eq "health names the state directory" "$AGENT_STATE_DIR" "$(taskvm -j health | jq -r .state_dir)"

# --- the agent restarts -------------------------------------------------------------------------
check "the agent stops" md_agent_stop
check_eq "its holds stay in netd while it is away" "a:attached b:attached" "$(holds)"
md_agent_start
check_eq "restarted, it has both tasks again" "a b" "$(registered)"
check_eq "a's metadata and credentials answer at the same URIs" "200 200 200 200" "$(served)"
check_eq "with the same task ARN, endpoint ids, container ARNs and times" "$before" \
        "$(md_curl a "$uri_a/task" | jq -c '{TaskARN, Containers: [.Containers[] | {DockerId, ContainerARN, CreatedAt}]}')"
check_eq "and the same credentials" AKIDA "$(md_curl a "$creds_a" | jq -r .AccessKeyId)"
check_match "logged" "Task 'a' restored from the journal" "$(cat "$AGENT_LOG")"

# --- a task detached while the agent was away is dropped at start ------------------------------
md_agent_stop
netdctl task detach b >/dev/null
echo '{"version": 1, "task_id": ' >"$AGENT_STATE_DIR/tasks/zz.json"
md_agent_start
check_eq "b, detached meanwhile, is dropped" "a" "$(registered)"
check_match "with a log line" "Task 'b' dropped from the journal: netd has no task 'b'" "$(cat "$AGENT_LOG")"
check_eq "its record is gone" "a.json" "$(ls "$AGENT_STATE_DIR/tasks" | xargs)"
check "and its hold released" wait_until 3 bash -c \
        "[[ \$('$O/netdctl' -s '$NETD_SOCKET' -j task holds | jq -r '[.[].task_id] | join(\" \")') == a ]]"
check_match "a record that cannot be read is dropped, said so" "Journal: '.*/zz.json': .*dropped" \
        "$(cat "$AGENT_LOG")"

# --- netd cannot be reached at start: the registrations wait, unserved ------------------------
md_agent_stop
netd_stop
md_agent_start
check_eq "without netd, nothing is registered yet" "" "$(registered)"
check_eq "one registration waits" 1 "$(taskvm -j health | jq .pending)"
check_eq "a is not served meanwhile" "404 404 404 404" "$(served)"
check_match "registering it anew meanwhile is refused" "in the journal, waiting for netd" \
        "$(md_register a 2>&1 || true)"
netd_start
check "netd back: a is restored" wait_until 10 bash -c \
        "[[ \$('$O/taskvm' --socket '$AGENT_SOCKET' -j ps | jq -r '.[].task_id') == a ]]"
check_eq "and served as before" "200 200 200 200" "$(served)"
check_eq "nothing waits" 0 "$(taskvm -j health | jq .pending)"

# --- both host services restart -----------------------------------------------------------------
netd_stop
md_agent_stop
netd_start
md_agent_start
check_eq "netd and the agent restarted: a is there" "a" "$(registered)"
check_eq "and served with its ids" "200 200 200 200" "$(served)"

# --- a attached again (a new instance) while the agent was away: the old one is dropped ---------
md_agent_stop
netdctl task detach a >/dev/null
netdctl task attach a netns "$(fabric_task_ns a2)" mac "$(fabric_eni_mac 1)" \
        addr "$(fabric_eni_ip 1)/16" >/dev/null
md_agent_start
check_eq "the registration of a's old instance is dropped" "" "$(registered)"
check_match "said why" "Task 'a' dropped from the journal: netd's task 'a' is another instance now" \
        "$(cat "$AGENT_LOG")"
check "the old instance's hold is released" wait_until 3 bash -c \
        "[[ -z \$('$O/netdctl' -s '$NETD_SOCKET' -j task holds | jq -r '.[].task_id') ]]"
check_eq "the journal is empty" "" "$(ls "$AGENT_STATE_DIR/tasks")"
md_done
