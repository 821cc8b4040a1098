#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The control socket checks who calls it (SO_PEERCRED): anyone may read, only uid 0 or the
# configured group may change state.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq setpriv

fabric_up 1
chmod 0755 "$FABRIC_RUN"
netd_start
mac=$(fabric_eni_mac 1)
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$O/netdctl" -s "$NETD_SOCKET" "$@"; }
# uid 65533 with the supplementary group "users" (gid 100); nobody (65534) is not in it.
as_member() { setpriv --reuid=65533 --regid=65533 --groups=100 "$O/netdctl" -s "$NETD_SOCKET" "$@"; }

check "nobody may read health" as_nobody health
check "nobody may list ENIs" as_nobody eni list
out=$(as_nobody -j eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" || true)
check_eq "nobody may not register an ENI (-32003)" -32003 "$(jq -r .error.code <<<"$out")"
check_match "the error says who asked" "needs uid 0.*caller uid 65534" "$(jq -r .error.message <<<"$out")"
check_eq "and nothing was registered" 0 "$(netdctl -j eni list | jq length)"
netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
ns=$(fabric_task_ns t1)
check_fail "nobody may not attach" as_nobody task attach t1 netns "$ns" mac "$mac" addr "$(fabric_eni_ip 1)/16"
netdctl task attach t1 netns "$ns" mac "$mac" addr "$(fabric_eni_ip 1)/16" >/dev/null
check_fail "nobody may not detach" as_nobody task detach t1
check "nobody may check" as_nobody task check t1
check_fail "a supplementary group member may not write without --group" as_member task detach t1
netd_stop

netd_start --group users
check "with --group, a member (supplementary group) may detach" as_member task detach t1
check_fail "a non-member still may not" as_nobody eni deregister "$mac"
check "a member may deregister" as_member eni deregister "$mac"
check "netd stops cleanly" netd_stop
tap_done
