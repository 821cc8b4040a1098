#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A retried ADD: an ADD for an attachment netd holds already, asking for the same thing (same
# CNI_NETNS, MAC, addresses, and the keys the configuration sets), succeeds with the same result,
# as a runtime needs after an ADD whose answer it lost (code 11 while netd was slow); one that
# asks for something else is 101 naming the differences; one that comes while the first is
# still waiting for its ENI is 11.
set -euo pipefail
source "$(dirname "$0")/lib-cni.sh"
require_root
require_cmd jq

fabric_up 3
netd_start
register_enis 1 3 || tap_bail "ENI registration failed"

# kernel_view NS: what the namespace has (links, addresses, routes), to show nothing changed.
kernel_view()
{
        ns_ip "$1" -br addr
        ns_ip "$1" route
}

# --- the same ADD twice --------------------------------------------------------------------

for v in 1.0.0 1.1.0; do
        export CNI_VERSION=$v
        ns=$(fabric_task_ns "same-$v")
        conf=$(cni_conf 1 '.routes = [{dst: "10.99.0.0/16", gw: "198.18.0.1"}] |
                .dns = {nameservers: ["198.18.0.2"]}')
        cni_call ADD c-same "$ns" eth1 "$conf"
        check_cni_ok "$v: ADD"
        first=$CNI_OUT
        before=$(kernel_view "same-$v")
        cni_call ADD c-same "$ns" eth1 "$conf"
        check_cni_ok "$v: the same ADD again succeeds"
        check_eq "$v: ... with the same result" "$(jq -cS . <<<"$first")" "$(jq -cS . <<<"$CNI_OUT")"
        check_eq "$v: ... and changes nothing in the namespace" "$before" "$(kernel_view "same-$v")"
        check_eq "$v: netd still has one task" 1 "$(netdctl -j task list | jq length)"

        # The same attachment asked for with other parameters.
        cni_call ADD c-same "$ns" eth1 "$(cni_conf 1 '.mtu = 1500 | .routes = [{dst: "10.99.0.0/16", gw: "198.18.0.1"}] |
                .dns = {nameservers: ["198.18.0.2"]}')"
        check_cni_error "$v: another MTU for the same attachment is 101, naming it" 101 \
                "already, with other parameters \\(mtu: the configuration has 1500, netd's record 9001\\); DEL it first"
        cni_call ADD c-same "$ns" eth1 "$(cni_conf 1 ".addresses = [\"$(fabric_eni_ip 2)/16\"] |
                .routes = [{dst: \"10.99.0.0/16\", gw: \"198.18.0.1\"}] | .dns = {nameservers: [\"198.18.0.2\"]}")"
        check_cni_error "$v: another address is 101" 101 "address $(fabric_eni_ip 2)/16 \\(addresses\\): not in netd's record"
        cni_call ADD c-same "$ns" eth1 "$(cni_conf 1)"
        check_cni_error "$v: without the routes and DNS of the first ADD is 101" 101 \
                "routes: the configuration has 0, netd's record 1; dns: not the one in netd's record"
        cni_call ADD c-same "$(fabric_task_ns "other-$v")" eth1 "$conf"
        check_cni_error "$v: another namespace is 101" 101 "netns: CNI_NETNS is '.*other-$v'"
        check_eq "$v: none of them changed anything" "$before" "$(kernel_view "same-$v")"
        cni_call CHECK c-same "$ns" eth1 "$(with_prev "$conf" "$first")"
        check_cni_ok "$v: CHECK with the first result passes"
        cni_call DEL c-same "$ns" eth1 "$(with_prev "$conf" "$first")"
        check_cni_ok "$v: DEL"
done
unset CNI_VERSION

# --- an ADD whose answer was lost while netd was slow ------------------------------------------

# netd stops answering; the runtime gives up on the ADD (it would get 11 after its timeout; here
# it is killed sooner) while the request waits in netd's socket. netd resumes and carries it
# out for a caller that is gone.
ns=$(fabric_task_ns lost)
conf=$(cni_conf 2)
kill -STOP "$NETD_PID"
rc=0
printf '%s' "$conf" | nsenter --net="$FABRIC_HOST_NS_PATH" -- env -i CNI_COMMAND=ADD \
        CNI_CONTAINERID=c-lost CNI_NETNS="$ns" CNI_IFNAME=eth1 timeout 1 "$TASK_ENI" \
        >/dev/null 2>&1 || rc=$?
kill -CONT "$NETD_PID"
check_eq "the first ADD gave up while netd was stopped" 124 "$rc"
check "netd carried out the attach it had been sent" \
        wait_until 5 bash -c "[[ \$(\"$O/netdctl\" -s \"$NETD_SOCKET\" -j task list | jq -r '.[0].phase') == READY ]]"
cni_call ADD c-lost "$ns" eth1 "$conf"
check_cni_ok "the retried ADD succeeds (it was 101 'already exists')"
check_eq "... with the attachment's result" "eth1 $(fabric_eni_mac 2) $(fabric_eni_ip 2)/16" \
        "$(jq -r '"\(.interfaces[0].name) \(.interfaces[0].mac) \(.ips[0].address)"' <<<"$CNI_OUT")"
cni_call DEL c-lost "$ns" eth1 "$conf"
check_cni_ok "DEL"

# --- the same ADD while the first one waits for its ENI ----------------------------------------

ns=$(fabric_task_ns wait)
ip -n "$FABRIC_HOST_NS" link del "$(fabric_eni_name 3)"
conf=$(cni_conf 3 '.eniTimeoutMs = 20000')
cni_call_bg()
{
        cni_call ADD c-wait "$ns" eth1 "$conf"
        printf '%s\n' "$CNI_RC" "$CNI_OUT" >"$FABRIC_RUN/first-add"
}
cni_call_bg &
first=$!
check "the first ADD waits for the ENI" \
        wait_until 5 bash -c "[[ \$(\"$O/netdctl\" -s \"$NETD_SOCKET\" -j task list | jq -r '.[0].waiting_for_eni') == true ]]"
cni_call ADD c-wait "$ns" eth1 "$conf"
check_cni_error "an identical ADD meanwhile is 11 (try again)" 11 "still being carried out.*ATTACHING"
fabric_eni_add 3
wait "$first"
check_eq "the first ADD succeeds once the ENI appears" 0 "$(head -n 1 "$FABRIC_RUN/first-add")"
cni_call ADD c-wait "$ns" eth1 "$conf"
check_cni_ok "then the identical ADD succeeds"
check_eq "... with the first one's result" "$(tail -n +2 "$FABRIC_RUN/first-add" | jq -cS .)" \
        "$(jq -cS . <<<"$CNI_OUT")"
cni_call DEL c-wait "$ns" eth1 "$conf"
check_cni_ok "DEL"

check "netd finishes the teardown" netd_settled
check "netd stops cleanly" netd_stop
tap_done
