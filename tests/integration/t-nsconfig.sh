#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What netd sets up in a task namespace besides the ENI: lo up, and for a namespace named in
# /run/netns an /etc/netns/NAME/resolv.conf from the attach's nameservers, which `ip netns exec`
# shows as /etc/resolv.conf, removed on detach; nothing written for other namespace paths, when
# a resolv.conf is there already, or when the caller writes its own (resolv_conf false).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq

fabric_up 2
netd_start --enable-fault-injection
mac=$(fabric_eni_mac 1)
ip=$(fabric_eni_ip 1)
netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
ns=$(fabric_task_ns t1)
n=$FABRIC_PREFIX-t1
etc=/etc/netns/$n
ip -n "$n" link set lo down

attach()
{
        netdctl task attach t1 netns "$1" mac "$mac" addr "$ip/16" "${@:2}"
}
lo_up()
{
        ip -n "$n" -j link show lo | jq -e '.[0].flags | index("UP")' >/dev/null
}

check_fail "lo is down before the attach" lo_up
check "attach with nameservers, search domains and options" attach "$ns" \
        nameserver 198.18.0.2 nameserver 198.18.0.3 search a.example search b.example \
        domain example
check "lo is up after the attach" lo_up
check_match "lo answers" "1 received" "$(fabric_nsexec t1 ping -c 1 -W 2 127.0.0.1 2>&1 || true)"
check_eq "netd wrote $etc/resolv.conf" \
        "nameserver 198.18.0.2|nameserver 198.18.0.3|search a.example b.example" \
        "$(grep -v '^#' "$etc/resolv.conf" | paste -sd '|')"
check_match "... saying who wrote it" "^# Written by netd for task 't1'" "$(head -n 1 "$etc/resolv.conf")"
check_eq "ip netns exec shows it as /etc/resolv.conf" "$(cat "$etc/resolv.conf")" \
        "$(ip netns exec "$n" cat /etc/resolv.conf)"
check "the task checks ok" netdctl task check t1
rm "$etc/resolv.conf"
check_match "task check reports a removed resolv.conf" '"resolv.conf"' \
        "$(netdctl -j task check t1 | jq -c '.differences[] | .what')"
check "detach" netdctl task detach t1
check_fail "the file is gone after the detach" test -e "$etc/resolv.conf"
check_fail "... and so is the directory netd made" test -e "$etc"

check "attach with a domain and no search list" attach "$ns" nameserver 198.18.0.2 \
        domain example.com
check_eq "the domain is written when no search list is given" "nameserver 198.18.0.2|domain example.com" \
        "$(grep -v '^#' "$etc/resolv.conf" | paste -sd '|')"
check "detach" netdctl task detach t1
check_fail "gone again" test -e "$etc"

mkdir -p "$etc"
echo "nameserver 198.18.9.9" >"$etc/resolv.conf"
check "attach to a namespace with a resolv.conf of someone else's" attach "$ns" nameserver 198.18.0.2
check_eq "... leaves it as it was" "nameserver 198.18.9.9" "$(cat "$etc/resolv.conf")"
check "... and checks ok" netdctl task check t1
check "detach" netdctl task detach t1
check_eq "... and the detach leaves it too" "nameserver 198.18.9.9" "$(cat "$etc/resolv.conf")"
rm -r "$etc"

out=$(attach "$ns" nameserver 198.18.0.2 fault dns 2>&1 || true)
check_match "a fault after the dns step rolls the attach back" "Step 'dns' failed" "$out"
check_fail "... and removes the file it wrote" test -e "$etc"

req='{"jsonrpc":"2.0","id":1,"method":"task.attach","params":{"task_id":"t1","netns":"'"$ns"'",'
req+='"mac":"'"$mac"'","addresses":["'"$ip"'/16"],"dns":{"nameservers":["198.18.0.2"]},'
req+='"resolv_conf":false}}'
check_match "an attach with nameservers and resolv_conf false (a runtime that writes its own)" \
        '"result"' "$("$O/tests/tools/ctlsend" "$NETD_SOCKET" <<<"$req")"
check_fail "... gets no resolv.conf from netd" test -e "$etc"
check "detach" netdctl task detach t1

check "attach without nameservers" attach "$ns"
check_fail "writes no resolv.conf" test -e "$etc"
check "detach" netdctl task detach t1

other=$FABRIC_RUN/other-ns
touch "$other"
unshare --net="$other" true
check "attach to a namespace not in /run/netns" attach "$other" nameserver 198.18.0.2
check_eq "writes no resolv.conf anywhere" "" "$(ls /etc/netns 2>/dev/null | grep -F "$FABRIC_PREFIX" || true)"
check "detach" netdctl task detach t1
check "netd stops cleanly" netd_stop
tap_done
