#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The metadata link: each task reaches 169.254.170.2 on the host over its own point-to-point
# link, from its own address; no task reaches another task's link or address, or any other port
# over it; the guards survive a netd restart and go with the task.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq curl nft

fabric_up 2
netd_start
for i in 1 2; do
        netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
done
netdctl task attach a netns "$(fabric_task_ns a)" mac "$(fabric_eni_mac 1)" addr "$(fabric_eni_ip 1)/16" >/dev/null
netdctl task attach b netns "$(fabric_task_ns b)" mac "$(fabric_eni_mac 2)" addr "$(fabric_eni_ip 2)/16" >/dev/null
mda=$(netdctl -j task show a | jq -r .metadata.address)
mdb=$(netdctl -j task show b | jq -r .metadata.address)
check_match "each task has its own metadata address in 169.254.172.0/22" "^169\.254\.17[2-5]\.[0-9]+ 169\.254\.17[2-5]\.[0-9]+$" "$mda $mdb"
check_fail "... and they differ" test "$mda" = "$mdb"

# The endpoint: a server on the host side. It tells each caller its source address.
fabric_nsexec host "$O/tests/tools/vpcd" --http 169.254.170.2:80 >/dev/null 2>&1 &
check "the endpoint listens on 169.254.170.2:80" wait_until 5 fabric_nsexec host bash -c "ss -ltn | grep -q 169.254.170.2:80"
check_match "task a reaches 169.254.170.2 from its own address" "you are $mda\$" \
        "$(fabric_nsexec a curl -sS --max-time 3 http://169.254.170.2/ 2>&1 || true)"
check_match "task b reaches 169.254.170.2 from its own address" "you are $mdb\$" \
        "$(fabric_nsexec b curl -sS --max-time 3 http://169.254.170.2/ 2>&1 || true)"

# Even with forwarding on in the host, a task cannot reach another task's link.
ip netns exec "$FABRIC_HOST_NS" sysctl -qw net.ipv4.ip_forward=1
fabric_nsexec b "$O/tests/tools/vpcd" --http "$mdb:80" >/dev/null 2>&1 &
check "task b serves on its metadata address (to be probed)" wait_until 5 fabric_nsexec b bash -c "ss -ltn | grep -q $mdb:80"
check_fail "task a cannot reach b's metadata address" fabric_nsexec a curl -sS --max-time 2 "http://$mdb/"
check_fail "... not even through its own md0" fabric_nsexec a curl -sS --max-time 2 --interface md0 "http://$mdb/"
check_fail "task a cannot reach another port of the endpoint" fabric_nsexec a curl -sS --max-time 2 http://169.254.170.2:8080/
drops=$(ip netns exec "$FABRIC_PREFIX-a" nft -j list counter inet taskplane-eth1 metadata_out | jq '.nftables[1].counter.packets')
if ((drops > 0)); then tap_ok "those attempts are dropped and counted ($drops packets)"; else
        tap_fail "those attempts are dropped and counted" "metadata_out counter: $drops"; fi
check_eq "netd's stats carry them as drops of reason policy" "$drops" \
        "$(netdctl -j stats a | jq .drops.policy.tx.packets)"

# The metadata link's traffic is the metadata flow, and stays out of the ENI's device counters.
before=$(netdctl -j stats a)
for _ in 1 2 3; do fabric_nsexec a curl -s --max-time 3 -o /dev/null http://169.254.170.2/; done
after=$(netdctl -j stats a)
md_tx=$(( $(jq .flows.metadata.tx.packets <<<"$after") - $(jq .flows.metadata.tx.packets <<<"$before") ))
md_rx=$(( $(jq .flows.metadata.rx.packets <<<"$after") - $(jq .flows.metadata.rx.packets <<<"$before") ))
if ((md_tx >= 15 && md_rx >= 12)); then tap_ok "three requests are counted as the metadata flow ($md_tx out, $md_rx in)"; else
        tap_fail "three requests are counted as the metadata flow" "tx +$md_tx rx +$md_rx"; fi
check_eq "... and none of it is in the ENI's device counters" \
        "$(jq -c '.device | [.rx_packets, .tx_packets]' <<<"$before")" \
        "$(jq -c '.device | [.rx_packets, .tx_packets]' <<<"$after")"
check_eq "... nor in the ENI's share of the totals" \
        "$(jq -c '[.eni.rx.packets, .eni.tx.packets]' <<<"$before")" \
        "$(jq -c '[.eni.rx.packets, .eni.tx.packets]' <<<"$after")"
md0=$(ip -n "$FABRIC_PREFIX-a" -j -s link show md0 | jq -c '[.[0].stats64.rx.packets, .[0].stats64.tx.packets]')
check_eq "the metadata flow equals md0's own counters" "$md0" \
        "$(jq -c '[.flows.metadata.rx.packets, .flows.metadata.tx.packets]' <<<"$after")"
check_match "the host saw a's request only from a" "you are $mda\$" \
        "$(fabric_nsexec a curl -sS --max-time 3 http://169.254.170.2/ 2>&1 || true)"

# The guards and the link survive netd's death; the new netd finds them in force.
pid=$NETD_PID
netd_kill9
check_fail "netd is gone" kill -0 "$pid"
check_match "the guards are in force while netd is down" 'counter name "imds"' \
        "$(ip netns exec "$FABRIC_PREFIX-a" nft list table inet taskplane-eth1)"
check_match "the endpoint is reachable while netd is down" "you are $mda\$" \
        "$(fabric_nsexec a curl -sS --max-time 3 http://169.254.170.2/ 2>&1 || true)"
check "netd restarts" netd_start
check "task a checks ok after the restart (guards and link verified)" netdctl task check a
check "task b checks ok after the restart" netdctl task check b

out=$(netdctl task attach c netns "$(fabric_task_ns c)" mac "$(fabric_eni_mac 1)" ifname md0 addr 198.18.9.9/16 2>&1 || true)
check_match "an ENI cannot take the metadata link's name" "metadata link's name" "$out"
check "detach a" netdctl task detach a
netdctl task attach c netns "/run/netns/$FABRIC_PREFIX-c" mac "$(fabric_eni_mac 1)" addr 198.18.9.9/16 metadata off >/dev/null
check_fail "with metadata off there is no md0" ip -n "$FABRIC_PREFIX-c" link show md0
check_eq "... the guards hold only the IMDS rules" 2 \
        "$(ip netns exec "$FABRIC_PREFIX-c" nft -j list ruleset | jq '[.nftables[] | select(.rule)] | length')"
check_eq "... and netd reports no metadata link" null "$(netdctl -j task show c | jq .metadata)"
check "... and it checks ok" netdctl task check c
check "detach c" netdctl task detach c
# The metadata link and guards go after the detach has answered, once netd has been idle for a
# moment (the reaper); a netd killed before that finishes the job when it starts again. So that
# the kill does not race the reaper's idle timer, netd is stopped (SIGSTOP) as soon as the detach
# has answered, and killed only once the teardown is seen pending in its journal; if the reaper
# was first all the same (a loaded machine), b is attached again and the detach retried, five
# times at most.
detached=0
for _ in 1 2 3 4 5; do
        netdctl task detach b >/dev/null || break
        kill -STOP "$NETD_PID" || break
        detached=1
        [[ -n $(ls "$NETD_RUN_DIR/state/reap") ]] && break
        tap_diag "netd's reaper was first (a loaded machine?): attaching b again"
        kill -CONT "$NETD_PID" || break
        detached=0
        netdctl task attach b netns "/run/netns/$FABRIC_PREFIX-b" mac "$(fabric_eni_mac 2)" \
                addr "$(fabric_eni_ip 2)/16" >/dev/null || break
done
check "detach b (netd stopped with its teardown pending)" test "$detached" = 1
pid=$NETD_PID
netd_kill9
check_match "teardown left pending in the journal by a killed netd" "json" "$(ls "$NETD_RUN_DIR/state/reap")"
check "netd restarts" netd_start
check_eq "the restarted netd finished the teardown" "" "$(ls "$NETD_RUN_DIR/state/reap")"
check_eq "no metadata link left on the host" "" \
        "$(ip -n "$FABRIC_HOST_NS" -j link | jq -r '.[] | select(.ifname | startswith("tpmd")) | .ifname')"
check_eq "no guards left in a" "" "$(ip netns exec "$FABRIC_PREFIX-a" nft list ruleset)"
check "netd stops cleanly" netd_stop
tap_done
