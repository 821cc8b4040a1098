#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# CNI 1.1 conformance of task-eni, run exactly as a runtime runs it (environment + stdin, in the
# host namespace of the test fabric): one case per plugin-side MUST of the spec (numbered as in
# network-plane-anchors.md §1.4) and per error code task-eni returns, in 0.4.0, 1.0.0 and 1.1.0.
set -euo pipefail
source "$(dirname "$0")/lib-cni.sh"
require_root
require_cmd jq curl

fabric_up 14
fabric_service_start
netd_start
register_enis 1 12 || tap_bail "ENI registration failed"

# --- VERSION (MUST 17) ------------------------------------------------------------------------

for v in 0.4.0 1.0.0 1.1.0; do
        cni_call VERSION - - - "{\"cniVersion\":\"$v\"}"
        check_cni_ok "VERSION $v exits 0 with one JSON object"
        check_eq "VERSION $v answers in $v and lists exactly what task-eni supports" \
                "$v|[\"0.4.0\",\"1.0.0\",\"1.1.0\"]" \
                "$(jq -rc '"\(.cniVersion)|\(.supportedVersions)"' <<<"$CNI_OUT")"
done
cni_call VERSION - - - ""
check_eq "VERSION with no input answers in 1.1.0" 1.1.0 "$(jq -r .cniVersion <<<"$CNI_OUT")"

# --- ADD, CHECK, DEL in each version (MUSTs 1, 3, 6, 7, 9) -------------------------------------

i=0
for v in 0.4.0 1.0.0 1.1.0; do
        i=$((i + 1))
        export CNI_VERSION=$v
        ns=$(fabric_task_ns "v$i")
        mac=$(fabric_eni_mac "$i")
        ip=$(fabric_eni_ip "$i")
        conf=$(cni_conf "$i" '.routes = [{dst: "10.99.0.0/16", gw: "198.18.0.1"}] |
                .dns = {nameservers: ["198.18.0.2"], search: ["tasks.internal"]}')
        cni_call ADD "ctr-$v" "$ns" eth1 "$conf"
        check_cni_ok "$v: ADD exits 0 and prints one JSON object (MUST 1, 3)"
        res=$CNI_OUT
        check_eq "$v: the result is in the input's version (MUST 3)" "$v" \
                "$(jq -r .cniVersion <<<"$res")"
        check_eq "$v: the result has interfaces, ips, routes and dns (MUST 3)" \
                "true true true true" \
                "$(jq -r '[has("interfaces"), has("ips"), has("routes"), has("dns")] | map(tostring) | join(" ")' <<<"$res")"
        check_eq "$v: interfaces[0] is eth1 with the ENI's MAC and the sandbox path" \
                "eth1 $mac $ns" \
                "$(jq -r '.interfaces[0] | "\(.name) \(.mac) \(.sandbox)"' <<<"$res")"
        check_eq "$v: ips[0] is the address on interface 0 via the gateway" \
                "$ip/16 $FABRIC_GATEWAY 0" \
                "$(jq -r '.ips[0] | "\(.address) \(.gateway) \(.interface)"' <<<"$res")"
        check_eq "$v: routes: the default route and the extra route" \
                "0.0.0.0/0 10.99.0.0/16" \
                "$(jq -r '[.routes[].dst] | join(" ")' <<<"$res")"
        check_eq "$v: dns as configured" "198.18.0.2 tasks.internal" \
                "$(jq -r '"\(.dns.nameservers[0]) \(.dns.search[0])"' <<<"$res")"
        case $v in
        0.4.0) check_eq "0.4.0: ips carry their version" 4 "$(jq -r '.ips[0].version' <<<"$res")" ;;
        1.0.0) check_eq "1.0.0: no 1.1-only fields (interface mtu)" null \
                "$(jq -r '.interfaces[0].mtu' <<<"$res")" ;;
        1.1.0) check_eq "1.1.0: the interface MTU is reported" 9001 \
                "$(jq -r '.interfaces[0].mtu' <<<"$res")" ;;
        esac
        link=$(ns_ip "v$i" -j link show eth1)
        check_eq "$v: eth1 in the namespace has the ENI's MAC and is up" "$mac UP" \
                "$(jq -r '.[0] | "\(.address) \(.operstate)"' <<<"$link")"
        check_eq "$v: eth1 has the address" "$ip/16" \
                "$(ns_ip "v$i" -j addr show dev eth1 | jq -r '.[0].addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)"')"
        body=$(fabric_nsexec "v$i" curl -sS --max-time 5 "$FABRIC_HTTP_URL" 2>&1 || true)
        check_match "$v: the task reaches the VPC service" "you are $ip" "$body"

        cni_call CHECK "ctr-$v" "$ns" eth1 "$(with_prev "$conf" "$res")"
        check_cni_ok "$v: CHECK right after ADD passes (MUST 7, 9)"

        cni_call DEL "ctr-$v" "$ns" eth1 "$(with_prev "$conf" "$res")"
        check_cni_ok "$v: DEL with prevResult exits 0 and prints nothing"
        check "$v: the ENI is back on the host" fabric_nsexec host ip link show "$(fabric_eni_name "$i")"
        cni_call DEL "ctr-$v" "$ns" eth1 "$conf"
        check_cni_ok "$v: DEL again succeeds (MUST 6)"
done
unset CNI_VERSION

# --- DEL in the other cases the spec lists (MUST 6) -------------------------------------------

ns=$(fabric_task_ns gone)
conf=$(cni_conf 4)
cni_call ADD c-gone "$ns" eth1 "$conf"
check_cni_ok "ADD for the namespace-gone case"
ip netns del "$FABRIC_PREFIX-gone"
cni_call DEL c-gone "$ns" eth1 "$(with_prev "$conf" "$CNI_OUT")"
check_cni_ok "DEL with the namespace gone succeeds"
cni_call DEL c-gone "" eth1 "$conf"
check_cni_ok "DEL with CNI_NETNS empty and no prevResult succeeds"
cni_call DEL c-gone - eth1 "$conf"
check_cni_ok "DEL with CNI_NETNS unset succeeds"
check_eq "netd has no task left for it" 0 "$(netdctl -j task list | jq length)"
# The veth standing in for the ENI went with the namespace; a new one takes its MAC.
fabric_eni_add 4

ns=$(fabric_task_ns d2)
cni_call ADD c-d2 "$ns" eth1 "$(cni_conf 5)"
cni_call DEL c-d2 "" eth1 "$(cni_conf 5 '.mtu = "big" | del(.mac)')"
check_cni_ok "DEL with CNI_NETNS empty and a config that would break ADD succeeds"
check "the ENI of that DEL is back on the host" fabric_nsexec host ip link show "$(fabric_eni_name 5)"
cni_call DEL never-added "$ns" eth1 "$(cni_conf 5)"
check_cni_ok "DEL of an attachment that never existed succeeds"

# --- the interface name (MUSTs 2 and 5) --------------------------------------------------------

ns=$(fabric_task_ns taken)
# (no dummy driver on every kernel: a veth pair inside the namespace)
ns_ip taken link add eth1 type veth peer name eth1p
cni_call ADD c-taken "$ns" eth1 "$(cni_conf 6)"
check_cni_error "ADD when CNI_IFNAME exists in the namespace is an error (MUST 2, 5)" 101 "eth1.*exists"
check "nothing changed: the ENI is still on the host" fabric_nsexec host ip link show "$(fabric_eni_name 6)"
ns_ip taken link del eth1
cni_call ADD c-taken "$ns" eth1 "$(cni_conf 6)"
check_cni_ok "ADD once the name is free"
cni_call ADD c-taken "$ns" eth1 "$(cni_conf 6 '.mtu = 1500')"
check_cni_error "a second ADD of the same attachment asking for more is an error (t-retry.sh)" \
        101 "already, with other parameters"
cni_call DEL c-taken "$ns" eth1 "$(cni_conf 6)"

# --- CHECK against the kernel (MUSTs 7, 8) -----------------------------------------------------

ns=$(fabric_task_ns chk)
conf=$(cni_conf 7 '.routes = [{dst: "10.99.0.0/16", gw: "198.18.0.1"}]')
cni_call ADD c-chk "$ns" eth1 "$conf"
res=$CNI_OUT
cconf=$(with_prev "$conf" "$res")

# The link's MTU is a later plugin's to change (tuning's mtu, t-chain.sh): not checked (MUST 8).
ns_ip chk link set eth1 mtu 1500
cni_call CHECK c-chk "$ns" eth1 "$cconf"
check_cni_ok "CHECK allows an MTU a later plugin may have set (MUST 8)"
ns_ip chk link set eth1 mtu 9001

ns_ip chk route del 10.99.0.0/16
cni_call CHECK c-chk "$ns" eth1 "$cconf"
check_cni_error "CHECK finds a missing route" 102 "route: expected 10.99.0.0/16"
# A later plugin that took the route out and said so in the final result (MUST 8).
cni_call CHECK c-chk "$ns" eth1 "$(with_prev "$conf" "$(jq -c 'del(.routes[] | select(.dst == "10.99.0.0/16"))' <<<"$res")")"
check_cni_ok "CHECK allows a route a later plugin removed from the result (MUST 8)"
ns_ip chk route add 10.99.0.0/16 via 198.18.0.1 dev eth1 proto static

ns_ip chk addr del "$(fabric_eni_ip 7)/16" dev eth1
cni_call CHECK c-chk "$ns" eth1 "$cconf"
check_cni_error "CHECK finds a missing address" 102 "address: expected $(fabric_eni_ip 7)/16"
ns_ip chk addr add "$(fabric_eni_ip 7)/16" dev eth1
ns_ip chk route replace default via 198.18.0.1 dev eth1 proto static

ns_ip chk link set eth1 down
cni_call CHECK c-chk "$ns" eth1 "$cconf"
check_cni_error "CHECK finds the link down" 102 "link: expected up, actual down"
ns_ip chk link set eth1 up
ns_ip chk route replace default via 198.18.0.1 dev eth1 proto static
ns_ip chk route replace 10.99.0.0/16 via 198.18.0.1 dev eth1 proto static

fabric_nsexec chk nft delete table inet taskplane-eth1
cni_call CHECK c-chk "$ns" eth1 "$cconf"
check_cni_error "CHECK finds the metadata block (netd's guards) gone" 102 "guards"
cni_call DEL c-chk "$ns" eth1 "$cconf"
cni_call ADD c-chk "$ns" eth1 "$conf"
res=$CNI_OUT
cconf=$(with_prev "$conf" "$res")
cni_call CHECK c-chk "$ns" eth1 "$cconf"
check_cni_ok "CHECK passes again after DEL and ADD"

cni_call CHECK c-chk "$ns" eth1 "$(with_prev "$conf" "$(jq -c '.interfaces[0].mac = "02:00:00:00:00:09"' <<<"$res")")"
check_cni_error "CHECK compares prevResult with netd's record (MAC)" 102 "prevResult: interface 'eth1' has MAC"
cni_call CHECK c-chk "$ns" eth1 "$(with_prev "$conf" "$(jq -c 'del(.ips[0])' <<<"$res")")"
check_cni_error "CHECK compares prevResult with netd's record (address)" 102 "prevResult: address"
cni_call CHECK c-chk "$ns" eth1 "$(jq -c '.mtu = 1500' <<<"$cconf")"
check_cni_error "CHECK compares the configuration with netd's record" 102 "mtu: the configuration has 1500"
cni_call CHECK c-chk "$ns" eth1 "$conf"
check_cni_error "CHECK without prevResult is error 7" 7 "prevResult"
cni_call CHECK c-other "$ns" eth1 "$cconf"
check_cni_error "CHECK of an attachment netd does not have" 102 "no attachment"
cni_call DEL c-chk "$ns" eth1 "$cconf"

# --- prevResult from an earlier plugin (MUST 4) ------------------------------------------------

ns=$(fabric_task_ns prev)
prev='{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","mac":"0a:58:a9:fe:64:02","sandbox":"'$ns'"}],"ips":[{"address":"169.254.100.2/24","interface":0}],"routes":[{"dst":"169.254.100.0/24"}],"dns":{"nameservers":["169.254.100.1"]}}'
conf=$(with_prev "$(cni_conf 8)" "$prev")
cni_call ADD c-prev "$ns" eth1 "$conf"
check_cni_ok "ADD with a prevResult from an earlier plugin"
check_eq "prevResult is passed through, task-eni's interface added (MUST 4)" \
        "eth0 eth1|0 1|169.254.100.0/24|169.254.100.1" \
        "$(jq -r '"\([.interfaces[] | select(.sandbox != null) | .name] | join(" "))|\([.ips[].interface] | join(" "))|\(.routes[0].dst)|\(.dns.nameservers | join(","))"' <<<"$CNI_OUT")"
cni_call DEL c-prev "$ns" eth1 "$(with_prev "$(cni_conf 8)" "$CNI_OUT")"

# --- capabilities, args and CNI_ARGS -----------------------------------------------------------

ns=$(fabric_task_ns caps)
conf=$(cni_conf 1 'del(.mac, .addresses) | .runtimeConfig = {mac: "'"$(fabric_eni_mac 9)"'", ips: ["198.18.7.9/16"]}')
cni_call ADD c-caps "$ns" eth1 "$conf"
check_cni_ok "ADD with the mac and ips capabilities in runtimeConfig"
check_eq "the capabilities chose the ENI and its address" "$(fabric_eni_mac 9) 198.18.7.9/16" \
        "$(jq -r '"\(.interfaces[0].mac) \(.ips[0].address)"' <<<"$CNI_OUT")"
cni_call DEL c-caps "$ns" eth1 "$conf"
conf=$(cni_conf 1 'del(.mac, .addresses)')
cni_call ADD c-args "$ns" eth1 "$conf" "CNI_ARGS=IgnoreUnknown=1;IP=198.18.7.10/16;MAC=$(fabric_eni_mac 9);K8S_POD_NAME=x"
check_eq "CNI_ARGS IP and MAC are used" "$(fabric_eni_mac 9) 198.18.7.10/16" \
        "$(jq -r '"\(.interfaces[0].mac) \(.ips[0].address)"' <<<"$CNI_OUT" 2>/dev/null)"
cni_call DEL c-args "$ns" eth1 "$conf"

# --- error codes -------------------------------------------------------------------------------

ns=$(fabric_task_ns err)
cni_call ADD c-err "$ns" eth1 "$(cni_conf 10 '.cniVersion = "0.3.1"')"
check_cni_error "error 1: an incompatible cniVersion" 1 "'0.3.1'.*0.4.0, 1.0.0, 1.1.0"
check_eq "the error object answers in the version asked for" 0.3.1 "$(jq -r .cniVersion <<<"$CNI_OUT")"
check_match "the error is also logged on stderr, never on stdout" "task-eni.*Incompatible" "$CNI_ERR"
cni_call GC - - - "$(cni_conf 10 '.cniVersion = "1.0.0"')"
check_cni_error "error 1: GC before 1.1.0" 1 "GC needs cniVersion 1.1.0"
cni_call STATUS - - - "$(cni_conf 10 '.cniVersion = "0.4.0"')"
check_cni_error "error 1: STATUS before 1.1.0" 1 "STATUS needs cniVersion 1.1.0"

cni_call ADD c-err "$ns" eth1 "$(cni_conf 10 '.ipam = {type: "host-local"}')"
check_cni_error "error 2: an unsupported field names it (ipam)" 2 "'ipam'.*host-local"
cni_call ADD c-err "$ns" eth1 "$(cni_conf 10 '.routes = [{dst: "10.0.0.0/8", scope: 253}]')"
check_cni_error "error 2: an unsupported field names it (route scope)" 2 "'routes\[0\]\.scope' = 253"

cni_call - c-err "$ns" eth1 "$(cni_conf 10)"
check_cni_error "error 4: CNI_COMMAND missing" 4 "CNI_COMMAND"
cni_call FOO c-err "$ns" eth1 "$(cni_conf 10)"
check_cni_error "error 4: CNI_COMMAND unknown" 4 "CNI_COMMAND 'FOO'"
cni_call ADD - "$ns" - "$(cni_conf 10)"
check_cni_error "error 4: names every missing variable" 4 "CNI_CONTAINERID, CNI_IFNAME"
cni_call ADD c-err /run/netns/does-not-exist eth1 "$(cni_conf 10)"
check_cni_error "error 4: CNI_NETNS does not exist" 4 "CNI_NETNS '/run/netns/does-not-exist' does not exist"
cni_call ADD c-err "$FABRIC_RUN/netd.log" eth1 "$(cni_conf 10)"
check_cni_error "error 4: CNI_NETNS is not a network namespace" 4 "not a network namespace"
cni_call ADD c-err "$FABRIC_HOST_NS_PATH" eth1 "$(cni_conf 10)"
check_cni_error "error 4: CNI_NETNS is the plugin's own namespace" 4 "plugin's own network namespace"
cni_call ADD 'c err' "$ns" eth1 "$(cni_conf 10)"
check_cni_error "error 4: an invalid CNI_CONTAINERID" 4 "CNI_CONTAINERID 'c err'"
cni_call ADD c-err "$ns" 'eth1:0' "$(cni_conf 10)"
check_cni_error "error 4: an invalid CNI_IFNAME" 4 "CNI_IFNAME 'eth1:0'"
cni_call ADD c-err "$ns" eth1 "$(cni_conf 10)" "CNI_ARGS=IP"
check_cni_error "error 4: a malformed CNI_ARGS" 4 "CNI_ARGS"

cni_call ADD c-err "$ns" eth1 '{"cniVersion": "1.1.0", "name":'
check_cni_error "error 6: input that is not JSON" 6 "decode"
cni_call ADD c-err "$ns" eth1 ''
check_cni_error "error 6: no input" 6 "No network configuration"

CNI_RC=0
CNI_OUT=$(nsenter --net="$FABRIC_HOST_NS_PATH" -- env -i CNI_COMMAND=ADD CNI_CONTAINERID=c-err \
        CNI_NETNS="$ns" CNI_IFNAME=eth1 "$TASK_ENI" </ 2>/dev/null) || CNI_RC=$?
CNI_LAST="ADD with stdin a directory"
check_cni_error "error 5: stdin cannot be read" 5 "Failed to read"

cni_call ADD c-err "$ns" eth1 "$(cni_conf 10 '.mtu = "9001"')"
check_cni_error "error 7: a key of the wrong type names the key and value" 7 "'mtu': '9001'"
cni_call ADD c-err "$ns" eth1 "$(cni_conf 10 '.mac = "02:00:5e:ff:ff:ff"')"
check_cni_error "error 7: an ENI netd does not know" 7 "not registered"
cni_call ADD c-err "$ns" eth1 "$(cni_conf 10 '.addresses = ["10.1.2.3/24"]')"
check_cni_error "error 7: an address outside the ENI's subnet (netd's check)" 7 "outside the ENI's subnet"
cni_call ADD c-err "$ns" eth1 "$(cni_conf 10 '.gateway = "198.18.0.99"')"
check_cni_error "error 7: a gateway that is not the ENI's" 7 "'gateway': '198.18.0.99'"
cni_call ADD c-err "$ns" eth1 "$(cni_conf 10 '.gateway = "198.18.0.1"')"
check_cni_ok "a gateway that is the ENI's is accepted"
cni_call DEL c-err "$ns" eth1 "$(cni_conf 10)"

cni_call ADD c-err "$ns" eth1 "$(cni_conf 10 '.socket = "/run/netd-nowhere.sock"')"
check_cni_error "error 11: netd cannot be reached" 11 "netd cannot be reached at '/run/netd-nowhere.sock'"

netdctl eni register "$(fabric_eni_mac 13)" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
ip -n "$FABRIC_HOST_NS" link del "$(fabric_eni_name 13)"
start=$(date +%s%N)
cni_call ADD c-late "$ns" eth1 "$(cni_conf 13 '.eniTimeoutMs = 400')"
ms=$((($(date +%s%N) - start) / 1000000))
check_cni_error "error 11: the ENI did not appear by the deadline" 11 "did not appear within 400 ms"
check_match "it waited for the deadline (${ms} ms)" '^([4-9][0-9][0-9]|[1-4][0-9][0-9][0-9])$' "$ms"
check_eq "and left no task behind" 0 "$(netdctl -j task list | jq length)"
(sleep 0.5 && fabric_eni_add 13) &
adder=$!
cni_call ADD c-late "$ns" eth1 "$(cni_conf 13 '.eniTimeoutMs = 10000')"
wait $adder
check_cni_ok "ADD waits for an ENI that appears before the deadline"
cni_call DEL c-late "$ns" eth1 "$(cni_conf 13)"

# --- STATUS (MUST 10) and DEL failing in netd --------------------------------------------------

cni_call STATUS - - - "$(cni_conf 11)"
check_cni_ok "STATUS with netd ready exits 0 and prints nothing (MUST 10)"
cni_call STATUS - - - "$(cni_conf 11 '.mac = "02:00:5e:ff:ff:ff"')"
check_cni_error "error 50: STATUS when the configured ENI is not registered" 50 "not registered"

# A DEL that netd cannot finish: the namespace file is replaced under it.
ns=$(fabric_task_ns half)
bind=$FABRIC_RUN/half-ns
touch "$bind"
mount --bind "$ns" "$bind"
cni_call ADD c-half "$bind" eth1 "$(cni_conf 11)"
check_cni_ok "ADD into a bind-mounted namespace"
umount "$bind"
cni_call DEL c-half "$bind" eth1 "$(cni_conf 11)"
check_cni_error "error 100: a DEL netd could not finish" 100 "Failed to open namespace"
cni_call STATUS - - - "$(cni_conf 11)"
check_cni_error "error 51: STATUS with an attachment half torn down" 51 "c-half.*DETACHING"
mount --bind "$ns" "$bind"
cni_call DEL c-half "$bind" eth1 "$(cni_conf 11)"
check_cni_ok "DEL finishes once the namespace is back"
umount "$bind"
cni_call STATUS - - - "$(cni_conf 11)"
check_cni_ok "STATUS is ready again"

netd_stop
cni_call STATUS - - - "$(cni_conf 11)"
check_cni_error "error 50: STATUS with netd down" 50 "netd cannot be reached"
cni_call ADD c-down "$(fabric_task_ns down)" eth1 "$(cni_conf 11)"
check_cni_error "error 11: ADD with netd down" 11 "netd cannot be reached"
cni_call DEL c-down - eth1 "$(cni_conf 11)"
check_cni_error "error 11: DEL with netd down (the ENI may still be attached)" 11 "netd cannot be reached"
netd_start

# --- GC ----------------------------------------------------------------------------------------

for c in 1 2 3; do
        cni_call ADD "gc$c" "$(fabric_task_ns "gc$c")" eth1 "$(cni_conf "$c")"
done
cni_call ADD gc4 "$(fabric_task_ns gc4)" eth1 "$(cni_conf 4 '.name = "other"')"
netdctl task attach manual netns "$(fabric_task_ns gcm)" mac "$(fabric_eni_mac 5)" \
        addr "$(fabric_eni_ip 5)/16" >/dev/null
check_eq "five tasks before GC" 5 "$(netdctl -j task list | jq length)"
cni_call GC - - - "$(cni_conf 1 '. + {"cni.dev/valid-attachments": [{containerID: "gc1", ifname: "eth1"}],
        "cni.dev/attachments": [{containerID: "gc2", ifname: "eth1"}, {containerID: "gc3", ifname: "eth9"}]}')"
check_cni_ok "GC exits 0 and prints nothing"
check_eq "GC detached only the attachment of this network not listed" \
        "gc1 gc2 gc4 manual" \
        "$(netdctl -j task list | jq -r '[.[] | .attrs["cni.container_id"] // .task_id] | sort | join(" ")')"
check "its ENI is back on the host" fabric_nsexec host ip link show "$(fabric_eni_name 3)"
cni_call GC - - - "$(cni_conf 1 '. + {"cni.dev/valid-attachments": null}')"
check_cni_ok "GC with no valid attachment"
check_eq "every attachment of the network is gone; the others stay" "gc4 manual" \
        "$(netdctl -j task list | jq -r '[.[] | .attrs["cni.container_id"] // .task_id] | sort | join(" ")')"
cni_call GC - - - "$(cni_conf 1 '. + {"cni.dev/valid-attachments": [{containerID: 5}]}')"
check_cni_error "GC with a malformed list is error 7" 7 "valid-attachments\[0\]\.containerID"
cni_call DEL gc4 - eth1 "$(cni_conf 4 '.name = "other"')"
netdctl task detach manual >/dev/null

# --- concurrency (MUST 15) and logs ------------------------------------------------------------

log=$FABRIC_RUN/task-eni.log
pids=()
for c in 1 2 3 4 5 6 7 8; do
        (
                cni_call ADD "par$c" "$(fabric_task_ns "par$c")" eth1 \
                        "$(cni_conf "$c" '.logFile = "'"$log"'" | .logLevel = "info"')"
                echo "$CNI_RC $CNI_OUT" >"$FABRIC_RUN/par$c.res"
        ) &
        pids+=($!)
done
wait "${pids[@]}"
ok=0
for c in 1 2 3 4 5 6 7 8; do
        read -r rc out <"$FABRIC_RUN/par$c.res"
        [[ $rc == 0 && $(jq -r '.interfaces[0].mac' <<<"$out") == "$(fabric_eni_mac "$c")" ]] &&
                ok=$((ok + 1))
done
check_eq "8 concurrent ADDs for different containers all succeed, each with its ENI" 8 "$ok"
check_eq "netd has the 8 attachments, each with its container's attrs" \
        "par1 par2 par3 par4 par5 par6 par7 par8" \
        "$(netdctl -j task list | jq -r '[.[].attrs["cni.container_id"]] | sort | join(" ")')"
pids=()
for c in 1 2 3 4 5 6 7 8; do
        (
                cni_call DEL "par$c" "/run/netns/$FABRIC_PREFIX-par$c" eth1 \
                        "$(cni_conf "$c" '.logFile = "'"$log"'" | .logLevel = "info"')"
                echo "$CNI_RC" >"$FABRIC_RUN/par$c.res"
        ) &
        pids+=($!)
done
wait "${pids[@]}"
check_eq "8 concurrent DELs all succeed" "0 0 0 0 0 0 0 0" "$(cat "$FABRIC_RUN"/par*.res | tr '\n' ' ' | sed 's/ $//')"
check_eq "no task left" 0 "$(netdctl -j task list | jq length)"
check_eq "the shared log file has one whole line per call (16 attach/detach lines)" 16 \
        "$(grep -cE '^task-eni\[[0-9]+\] (ADD|DEL) par[1-8]: (Attached eth1 as task|Detached task) ' "$log")"
check_eq "and no other line" 0 "$(grep -cvE '^task-eni\[[0-9]+\] (ADD|DEL) par[1-8]: ' "$log")"

check "netd stops cleanly" netd_stop
tap_done
