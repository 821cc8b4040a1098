#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A task detached in netd while it is still registered with the agent: the agent drops it at
# once (netd's event stream; netd's task list as the backstop), and while the agent may still
# answer for it (stopped, killed), netd keeps its metadata address from new tasks (the agent's
# hold, task.hold). So a task that comes next never reads the detached task's metadata or
# credentials, and registers without a clash; the agent releases its holds when it drops a task,
# also after a restart, also holds it has no record of.
set -euo pipefail
source "$(dirname "$0")/md.sh"
require_root
require_cmd jq curl

fabric_up 4
netd_start
md_netd_up
md_agent_start
# reg NAME: register task NAME; sets URI[NAME] and CREDS[NAME] (its credentials URI).
declare -A URI=() CREDS=()
reg()
{
        local out

        md_creds "$1-role" "AKID$1" "token-$1"
        out=$(md_register "$1") || return 1
        URI[$1]=$(jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4' <<<"$out")
        CREDS[$1]=http://169.254.170.2$(jq -r '.containers[0].env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI' <<<"$out")
}
# holds: netd's holds as "TASK:STATE:HOLDERS ...".
holds()
{
        netdctl -j task holds | jq -r '[.[] | "\(.task_id):\(.state):\(.holders | join(","))"] | join(" ")'
}
registered()
{
        taskvm -j ps | jq -r '[.[].task_id] | sort | join(" ")'
}
# from TASK VICTIM: the statuses of the victim's container, task and credentials paths from TASK.
from()
{
        echo "$(md_status "$1" "${URI[$2]}") $(md_status "$1" "${URI[$2]}/task") $(md_status "$1" "${CREDS[$2]}")"
}

md_task_up c 1
reg c
check_eq "c reads its own metadata and credentials" "200 200 200" "$(from c c)"
check_eq "the agent holds c in netd" "c:attached:taskvm" "$(holds)"
check_eq "netd shows the holder" '["taskvm"]' "$(netdctl -j task show c | jq -c .holders)"

# --- detached while the agent runs: dropped at once ------------------------------------------
netdctl task detach c >/dev/null
check "the agent drops c at once" wait_until 3 bash -c \
        "[[ -z \$('$O/taskvm' --socket '$AGENT_SOCKET' -j ps | jq -r '.[].task_id') ]]"
check_match "and says why" "Task 'c' dropped: netd detached it" "$(cat "$AGENT_LOG")"
check "its hold is released" wait_until 3 bash -c "[[ -z \$('$O/netdctl' -s '$NETD_SOCKET' -j task holds | jq -r '.[].task_id') ]]"
check_eq "and its journal record removed" "" "$(ls "$AGENT_STATE_DIR/tasks")"
netd_settled
md_task_up d 2
check_eq "d is given c's address, free again" "${MD_ADDR[c]}" "${MD_ADDR[d]}"
check_eq "from d, c's metadata and credentials: 404" "404 404 404" "$(from d c)"
reg d
check_eq "d registers, and is served its own" "200 200 200" "$(from d d)"

# --- detached while the agent is stopped: held --------------------------------------------------
md_task_up e 3
reg e
kill -STOP "$AGENT_PID"
netdctl task detach e >/dev/null
netd_settled
check_eq "e's slot stays reserved for the agent" "d:attached:taskvm e:detached:taskvm" "$(holds)"
check_match "netdctl task holds shows it" "e +detached +[0-9]+ +${MD_ADDR[e]//./\\.} +taskvm" \
        "$(netdctl task holds)"
md_task_up f 1 >/dev/null
check "f is not given e's address (${MD_ADDR[e]}) while held: ${MD_ADDR[f]}" \
        test "${MD_ADDR[f]}" != "${MD_ADDR[e]}"
kill -CONT "$AGENT_PID"
check "the agent, going on, drops e" wait_until 5 bash -c \
        "[[ \$('$O/taskvm' --socket '$AGENT_SOCKET' -j ps | jq -r '[.[].task_id] | sort | join(\" \")') == d ]]"
check "and releases e's hold" wait_until 5 bash -c \
        "[[ \$('$O/netdctl' -s '$NETD_SOCKET' -j task holds | jq -r '[.[].task_id] | join(\" \")') == d ]]"
check_eq "from f, e's metadata and credentials: 404" "404 404 404" "$(from f e)"
reg f
check_eq "f registers" "d f" "$(registered)"

# --- detached while the agent is dead: held, released at its start -----------------------------
md_agent_kill9
netdctl task detach f >/dev/null
netd_settled
check_eq "f's slot stays reserved" "d:attached:taskvm f:detached:taskvm" "$(holds)"
md_task_up g 3 >/dev/null
check "g is not given f's address (${MD_ADDR[f]}): ${MD_ADDR[g]}" test "${MD_ADDR[g]}" != "${MD_ADDR[f]}"
md_agent_start
check_eq "the agent restarted: d restored, f dropped" "d" "$(registered)"
check_match "f dropped with a log line" "Task 'f' dropped from the journal: netd has no task 'f'" \
        "$(cat "$AGENT_LOG")"
check "f's hold released" wait_until 3 bash -c \
        "[[ \$('$O/netdctl' -s '$NETD_SOCKET' -j task holds | jq -r '[.[].task_id] | join(\" \")') == d ]]"
check_eq "from g, f's metadata and credentials: 404" "404 404 404" "$(from g f)"

# --- a hold the agent has no record of: released at its start --------------------------------
reg g
md_agent_kill9
rm "$AGENT_STATE_DIR/tasks/g.json"
md_agent_start
check_eq "without its record, g is not registered" "d" "$(registered)"
check_eq "and the agent released g's hold (g is still attached)" "d:attached:taskvm" "$(holds)"
check_match "saying so" "Releasing netd's hold of task 'g' \(attached\)" "$(cat "$AGENT_LOG")"

# --- without netd's events: its task list is the backstop ---------------------------------------
md_agent_stop
md_fake_start
md_agent_start
check_eq "the agent (behind fake-netd, no events) restored d" "d" "$(registered)"
check_match "it follows netd by sampling" "following its events failed" "$(cat "$AGENT_LOG")"
netdctl task detach d >/dev/null
check "d is dropped at the next sampling" wait_until 5 bash -c \
        "[[ -z \$('$O/taskvm' --socket '$AGENT_SOCKET' -j ps | jq -r '.[].task_id') ]]"
check_match "said why" "Task 'd' dropped: netd detached it \(not in its task list\)" "$(cat "$AGENT_LOG")"
check "d's hold is released" wait_until 3 bash -c "[[ -z \$('$O/netdctl' -s '$NETD_SOCKET' -j task holds | jq -r '.[].task_id') ]]"
md_agent_stop
md_fake_stop
md_done
