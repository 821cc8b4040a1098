#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# ENI registrations survive a restart and a reboot: they live in the state directory
# (--state-dir, /var/lib/netd by default), not in the run directory with the tasks' journal. An
# older netd's registrations in the run directory are read once. eni.register explains what is
# wrong with its input, to every client.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq

fabric_up 3
netd_start
for i in 1 2; do
        check "register ENI $i" netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" \
                gateway "$FABRIC_GATEWAY" name "eni-$i"
done
# What must survive: everything but the host's view (state, ifname, ifindex, mtu).
registrations()
{
        netdctl -j eni list | jq -cS 'map(del(.state, .ifname, .ifindex, .mtu)) | sort_by(.mac)'
}
want=$(registrations)
check_eq "two registrations" 2 "$(jq length <<<"$want")"
check "they are in the state directory" test -s "$NETD_STATE_DIR/enis.json"
check_eq "... and not in the run directory" "" "$(ls "$NETD_RUN_DIR/state" | grep enis || true)"
check_eq "health names the state directory" "$NETD_STATE_DIR" "$(netdctl -j health | jq -r .state_dir)"

# A restart.
check "netd stops" netd_stop
check "netd starts" netd_start
check_eq "the registrations after a restart, field for field" "$want" "$(registrations)"

# A reboot: the run directory (a tmpfs) is empty, the state directory is not.
check "netd stops again" netd_stop
rm -rf "$NETD_RUN_DIR"
check "netd starts with an empty run directory" netd_start
check_eq "the registrations after a reboot, field for field" "$want" "$(registrations)"
check_eq "the ENIs are available" "available available" \
        "$(netdctl -j eni list | jq -r '[.[].state] | join(" ")')"
check "a task can be attached to one" netdctl task attach t1 netns "$(fabric_task_ns t1)" \
        mac "$(fabric_eni_mac 1)" addr "$(fabric_eni_ip 1)/16"
check "and detached" netdctl task detach t1

# A deregistration is kept too.
check "deregister ENI 2" netdctl eni deregister "$(fabric_eni_mac 2)"
netd_stop
check "netd restarts" netd_start
check_eq "ENI 2 stays deregistered" "$(fabric_eni_mac 1)" "$(netdctl -j eni list | jq -r '.[].mac')"

# Migration: an older netd kept the registrations in the run directory's journal.
netd_stop
old=$NETD_RUN_DIR/state/enis.json
jq --arg mac "$(fabric_eni_mac 3)" '.enis[0].mac = $mac | .enis[0].name = "from-run-dir"' \
        "$NETD_STATE_DIR/enis.json" >"$old"
rm "$NETD_STATE_DIR/enis.json"
netd_start
check_eq "the run directory's registrations are taken over" "$(fabric_eni_mac 3) from-run-dir available" \
        "$(netdctl -j eni list | jq -r '.[] | "\(.mac) \(.name) \(.state)"')"
check "... written to the state directory" \
        bash -c "jq -e '.enis[0].name == \"from-run-dir\"' '$NETD_STATE_DIR/enis.json'"
check_fail "... and removed from the run directory (read once)" test -e "$old"
check_match "netd says so" "Moved 1 ENI registrations from '$old'" "$(cat "$NETD_LOG")"

# A state file that cannot be read is kept aside, not overwritten.
netd_stop
echo '{"version": 1, "enis": [' >"$NETD_STATE_DIR/enis.json"
netd_start
check_eq "netd starts without registrations" 0 "$(netdctl -j eni list | jq length)"
check "the broken file is kept aside" test -s "$NETD_STATE_DIR/enis.json.broken"
check_match "netd says where" "cannot be read: kept as '$NETD_STATE_DIR/enis.json.broken'" \
        "$(cat "$NETD_LOG")"

# eni.register's messages, from the CLI and from the socket (they are netd's).
mac=$(fabric_eni_mac 1)
reg_err()
{
        netdctl eni register "$mac" "$@" 2>&1 >/dev/null || true
}
check_eq "a missing gateway says so" \
        "netdctl: Missing parameter 'gateway': the subnet's gateway, an IPv4 address such as 198.18.0.1" \
        "$(reg_err subnet 198.18.0.0/16)"
check_eq "a missing subnet says so" \
        "netdctl: Missing parameter 'subnet': the ENI's IPv4 subnet, such as 198.18.0.0/16" \
        "$(reg_err gateway 198.18.0.1)"
check_eq "host bits in the subnet are refused" \
        "netdctl: The subnet 198.18.1.0/16 has host bits set; did you mean 198.18.0.0/16?" \
        "$(reg_err subnet 198.18.1.0/16 gateway 198.18.0.1)"
check_eq "... in subnet6 too" \
        "netdctl: The subnet6 2001:db8::1/64 has host bits set; did you mean 2001:db8::/64?" \
        "$(reg_err subnet 198.18.0.0/16 gateway 198.18.0.1 subnet6 2001:db8::1/64)"
check_eq "a gateway outside the subnet is refused" \
        "netdctl: Gateway 10.0.0.1 is outside subnet 198.18.0.0/16" \
        "$(reg_err subnet 198.18.0.0/16 gateway 10.0.0.1)"
check_eq "the subnet's network address as the gateway is refused" \
        "netdctl: Gateway 198.18.0.0 is the network address of subnet 198.18.0.0/16" \
        "$(reg_err subnet 198.18.0.0/16 gateway 198.18.0.0)"
check_eq "an invalid gateway says what is wanted" \
        "netdctl: Invalid gateway '198.18.0.300' (want an IPv4 address such as 198.18.0.1)" \
        "$(reg_err subnet 198.18.0.0/16 gateway 198.18.0.300)"
raw=$(printf '%s\n' '{"jsonrpc":"2.0","method":"eni.register","params":{"mac":"'"$mac"'","subnet":"198.18.0.0/16","gw":"198.18.0.1"},"id":1}' |
        "$O/tests/tools/ctlsend" "$NETD_SOCKET")
check_eq "another client gets the same messages (unknown parameter)" \
        "-32602 Unknown parameter 'gw' (known: mac, subnet, gateway, name, subnet6, gateway6)" \
        "$(jq -r '"\(.error.code) \(.error.message)"' <<<"$raw")"
raw=$(printf '%s\n' '{"jsonrpc":"2.0","method":"eni.register","params":{"mac":"'"$mac"'","subnet":"198.18.0.0/16","gateway":1},"id":1}' |
        "$O/tests/tools/ctlsend" "$NETD_SOCKET")
check_eq "... (not a string)" \
        "Parameter 'gateway' must be a string: the subnet's gateway, an IPv4 address such as 198.18.0.1" \
        "$(jq -r .error.message <<<"$raw")"
check_eq "nothing was registered" 0 "$(netdctl -j eni list | jq length)"
check "netd stops cleanly" netd_stop
tap_done
