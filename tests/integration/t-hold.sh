#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Holds (task.hold, task.release, task.holds): a task's instance id; a held task's slot, and so
# its metadata address, stays reserved after its detach until the last holder releases it, also
# across a netd restart (kill -9 too); the operator sees and force-releases held slots; bad
# requests are refused with clear messages.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq

fabric_up 4
netd_start
for i in 1 2 3 4; do
        netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
done
# attach NAME I [NS]: task NAME on ENI I in a new namespace (named NS); prints its metadata address.
attach()
{
        netdctl task attach "$1" netns "$(fabric_task_ns "${3:-$1}")" mac "$(fabric_eni_mac "$2")" \
                addr "$(fabric_eni_ip "$2")/16" >/dev/null && netdctl -j task show "$1" | jq -r .metadata.address
}
rpc_code()
{
        netdctl -j "$@" 2>/dev/null | jq -r '.error.code // "ok"' || true
}

addr_a=$(attach a 1)
inst_a=$(netdctl -j task show a | jq -r .instance)
check_match "a task has an instance id" '^[0-9a-f]{32}$' "$inst_a"

# --- refused ------------------------------------------------------------------------------------
check_eq "hold of an unknown task: not found (-32001)" -32001 "$(rpc_code task hold zz holder agent)"
check_eq "hold of another instance: not found (-32001)" -32001 \
        "$(rpc_code task hold a holder agent instance 0123456789abcdef0123456789abcdef)"
check_match "a bad holder name: invalid params, said so" "Invalid holder" \
        "$(netdctl -j task hold a holder 'a b' 2>/dev/null | jq -r .error.message || true)"
check_match "a bad instance: invalid params, said so" "32 lower-case hex" \
        "$(netdctl -j task hold a holder agent instance XYZ 2>/dev/null | jq -r .error.message || true)"
check_fail "hold without a holder: usage" netdctl task hold a
out=$(printf '{"jsonrpc":"2.0","method":"task.hold","params":{"task_id":"a","holder":"x","extra":1},"id":1}\n' |
        "$O/tests/tools/ctlsend" "$NETD_SOCKET" 1)
check_eq "an unknown parameter: invalid params (-32602)" -32602 "$(jq -r .error.code <<<"$out")"
check_eq "nothing is held" 0 "$(netdctl -j task holds | jq length)"

# --- held while attached -------------------------------------------------------------------------
check_eq "a is held by agent" '["agent"]' \
        "$(netdctl -j task hold a holder agent instance "$inst_a" | jq -c .holders)"
check_eq "holding again changes nothing" '["agent"]' \
        "$(netdctl -j task hold a holder agent | jq -c .holders)"
check_eq "a second holder" '["agent","ops"]' "$(netdctl -j task hold a holder ops | jq -c .holders)"
check_eq "task show lists the holders" '["agent","ops"]' "$(netdctl -j task show a | jq -c .holders)"
check_match "... in text too" "held by agent ops" "$(netdctl task show a)"
check_eq "health counts the holds" 1 "$(netdctl -j health | jq .holds)"

# --- detached: the slot stays reserved ----------------------------------------------------------
netdctl task detach a >/dev/null
netd_settled
h=$(netdctl -j task holds)
check_eq "the detached task's hold is listed: state, address, holders" \
        "a detached $addr_a agent,ops $inst_a" \
        "$(jq -r '.[0] | "\(.task_id) \(.state) \(.metadata_address) \(.holders | join(",")) \(.instance)"' <<<"$h")"
check_match "... with the time of the detach" '^[0-9]{4}-' "$(jq -r '.[0].detached' <<<"$h")"
check_match "netdctl task holds shows it as a table" "a +detached +0 +$addr_a +agent,ops" "$(netdctl task holds)"
check_match "task.held was an event" "task.held" "$(netdctl -j events | jq -r '.[].type' | tr '\n' ' ')"
addr_b=$(attach b 2)
check "a new task does not get the held address" test "$addr_b" != "$addr_a"
# a is attached again: a new instance, which the old instance's holds do not cover
addr_a2=$(attach a 3 a2)
inst_a2=$(netdctl -j task show a | jq -r .instance)
check "a attached again is another instance" test "$inst_a2" != "$inst_a"
check "... with another address too" test "$addr_a2" != "$addr_a"
check_eq "the new instance has no holders" null "$(netdctl -j task show a | jq -c .holders)"
check_eq "a hold on the old instance is refused" -32001 \
        "$(rpc_code task hold a holder agent instance "$inst_a")"

# --- kept across restarts ----------------------------------------------------------------------
netd_stop
check "netd restarts" netd_start
check_eq "the hold of the detached instance is kept" "a $inst_a detached agent,ops" \
        "$(netdctl -j task holds | jq -r '.[] | "\(.task_id) \(.instance) \(.state) \(.holders | join(","))"')"
check_eq "the instance of a live task is kept" "$inst_a2" "$(netdctl -j task show a | jq -r .instance)"
netdctl task hold b holder agent >/dev/null
netd_kill9
check "netd restarts after kill -9" netd_start
check_eq "both holds are there" "a:detached b:attached" \
        "$(netdctl -j task holds | jq -r '[.[] | "\(.task_id):\(.state)"] | join(" ")')"
netdctl task detach b >/dev/null
netd_settled
addr_c=$(attach c 2)
check "still, no new task gets a held address" test "$addr_c" != "$addr_a" -a "$addr_c" != "$addr_b"

# --- released ------------------------------------------------------------------------------------
check_eq "one holder releases a's old instance" 1 \
        "$(netdctl -j task release a holder ops instance "$inst_a" | jq .released)"
check_eq "the slot stays reserved for the other" "a agent" \
        "$(netdctl -j task holds | jq -r '.[] | select(.task_id == "a") | "\(.task_id) \(.holders | join(","))"')"
check_eq "releasing what is not held: nothing, no error" 0 \
        "$(netdctl -j task release zz holder ops | jq .released)"
check_match "the operator force-releases a held slot" "released 1 hold" \
        "$(netdctl task release a holder agent)"
check_match "task.released was an event" "task.released" "$(netdctl -j events | jq -r '.[].type' | tr '\n' ' ')"
check_eq "the holds of the held tasks are gone" "b" "$(netdctl -j task holds | jq -r '[.[].task_id] | join(" ")')"
netdctl task release b holder agent >/dev/null
check_eq "nothing is held" 0 "$(netdctl -j task holds | jq length)"
netdctl task detach c >/dev/null
netd_settled
check_eq "a's old address is given out again once released" "$addr_a" "$(attach d 4)"
check_eq "the holds' journal is empty" "" "$(ls "$NETD_RUN_DIR/state/holds")"
tap_done
