#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Randomized malformed input on the control socket: thousands of mutated requests of every method
# (tests/tools/ctlmutate) on one connection and hundreds on short ones. netd answers every
# request with an id exactly once, every line it cannot read with an error with id null, and no
# notification; it stays healthy, keeps the tasks it had, holds no more file descriptors, and
# whatever the mutations attached detaches cleanly. FUZZ_SEED, FUZZ_LINES and FUZZ_CONNS change
# the run (default 1, 3000, 300); the same seed sends the same bytes.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq

SEED=${FUZZ_SEED:-1}
LINES=${FUZZ_LINES:-3000}
CONNS=${FUZZ_CONNS:-300}
MUTATE=$O/tests/tools/ctlmutate
[[ -x $MUTATE ]] || tap_bail "$MUTATE is not built (make tests)"

fabric_up 5
netd_start
R=$FABRIC_RUN
send() { "$O/tests/tools/ctlsend" "$NETD_SOCKET" "$@"; }
netd_fds() { find "/proc/$NETD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
netd_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$NETD_PID/status"; }
netd_alive() { _fabric_alive "$NETD_PID"; }
mac() { fabric_eni_mac "$1"; }

# ENIs 1-4 registered, 5 left for the mutations to register. orig1 and orig2 (ENIs 1, 2) are
# never named by a seed: they must come through untouched. fz0 (ENI 3) is the mutations' own,
# attached once and detached to warm netd up (counter programs, nftables), then again.
for i in 1 2 3 4; do
        netdctl eni register "$(mac "$i")" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" \
                name "eni$i" >/dev/null || tap_bail "cannot register ENI $i"
done
for i in 1 2; do
        ns=$(fabric_task_ns "orig$i")
        check "attach orig$i" netdctl task attach "orig$i" netns "$ns" mac "$(mac "$i")" \
                addr "$(fabric_eni_ip "$i")/16" route 198.19.0.0/16 via "$FABRIC_GATEWAY" \
                nameserver 198.18.0.2 search example.internal
done
ns_fz0=$(fabric_task_ns fz0)
ns_fz1=$(fabric_task_ns fz1)
ns_fz2=$(fabric_task_ns fz2)
attach_fz0() { netdctl task attach fz0 netns "$ns_fz0" mac "$(mac 3)" addr "$(fabric_eni_ip 3)/16"; }
if ! { attach_fz0 && netdctl task detach fz0; } >/dev/null; then
        tap_bail "cannot attach and detach fz0"
fi
netd_settled || tap_bail "netd does not settle"
fds_before=$(netd_fds)
rss_before=$(netd_rss_kb)
check "attach fz0" attach_fz0
origs() { netdctl -j task show orig1 && netdctl -j task show orig2; }
origs_before=$(origs)

# Seeds: a valid request of every method, on the fuzz's own tasks and ENIs.
req() { printf '{"jsonrpc":"2.0","method":"%s","params":%s,"id":0}\n' "$1" "$2"; }
reg() { printf '{"mac":"%s","subnet":"%s","gateway":"%s","name":"%s"}' "$(mac "$1")" \
        "$FABRIC_SUBNET" "$FABRIC_GATEWAY" "$2"; }
{
        echo '{"jsonrpc":"2.0","method":"health","id":0}'
        req health null
        req eni.list '{}'
        req eni.show "{\"mac\":\"$(mac 3)\"}"
        req eni.show "{\"mac\":\"$(mac 4)\"}"
        req eni.register "$(reg 5 spare5)"
        req eni.register "$(reg 4 eni4)"
        req eni.deregister "{\"mac\":\"$(mac 5)\"}"
        req eni.deregister "{\"mac\":\"$(mac 4)\"}"
        req task.attach "{\"task_id\":\"fz1\",\"netns\":\"$ns_fz1\",\"mac\":\"$(mac 4)\",\"ifname\":\"eth1\",\"addresses\":[\"$(fabric_eni_ip 4)/16\"],\"mtu\":9001,\"routes\":[{\"dst\":\"198.19.0.0/16\",\"gw\":\"$FABRIC_GATEWAY\",\"mtu\":1400,\"advmss\":1360,\"priority\":10,\"table\":100}],\"dns\":{\"nameservers\":[\"198.18.0.2\"],\"domain\":\"example.internal\",\"search\":[\"example.internal\"],\"options\":[\"ndots:2\"]},\"block_imds\":true,\"metadata_link\":true,\"phase\":\"READY\",\"timeout_ms\":500,\"attrs\":{\"fuzz\":\"1\"}}"
        req task.attach "{\"task_id\":\"fz2\",\"netns\":\"$ns_fz2\",\"mac\":\"$(mac 4)\",\"addresses\":[\"198.18.2.4/16\"],\"block_imds\":false,\"metadata_link\":false,\"phase\":\"READY_PULL\",\"timeout_ms\":0}"
        # a route via a gateway off the subnet: the kernel refuses it, the attach is undone
        req task.attach "{\"task_id\":\"fz2\",\"netns\":\"$ns_fz2\",\"mac\":\"$(mac 4)\",\"addresses\":[\"198.18.2.4/16\"],\"routes\":[{\"dst\":\"198.19.0.0/16\",\"gw\":\"198.19.0.1\"}]}"
        # netd's own namespace: refused
        req task.attach "{\"task_id\":\"fz2\",\"netns\":\"/proc/self/ns/net\",\"mac\":\"$(mac 4)\",\"addresses\":[\"198.18.2.4/16\"]}"
        req task.attach "{\"task_id\":\"fz0\",\"netns\":\"$ns_fz0\",\"mac\":\"$(mac 3)\",\"addresses\":[\"$(fabric_eni_ip 3)/16\"]}"
        req task.detach '{"task_id":"fz0"}'
        req task.detach '{"task_id":"fz1"}'
        req task.detach '{"task_id":"fz2"}'
        req task.set_phase '{"task_id":"fz0","phase":"READY_PULL"}'
        req task.set_phase '{"task_id":"fz1","phase":"READY"}'
        req task.check '{"task_id":"fz0"}'
        req task.show '{"task_id":"fz1"}'
        req task.list '{}'
        req task.list '{"attrs":{"fuzz":"1"}}'
        req task.hold '{"task_id":"fz0","holder":"fuzz"}'
        req task.hold '{"task_id":"fz1","holder":"fuzz","instance":"0123456789abcdef0123456789abcdef"}'
        req task.holds '{"holder":"fuzz"}'
        req task.holds '{}'
        req task.release '{"task_id":"fz0","holder":"fuzz"}'
        req task.release '{"task_id":"fz1","holder":"fuzz","instance":"0123456789abcdef0123456789abcdef"}'
        req events.list '{"since":1000000000}'
        req events.subscribe '{}'
        req stats.get '{"task_id":"fz0"}'
        req stats.get '{}'
        req stats.subscribe '{"task_id":"fz0"}'
        req stats.collect '{"task_id":"fz1"}'
        req stats.collect '{}'
        req platform.attach "{\"name\":\"fzp\",\"netns\":\"$ns_fz2\",\"mac\":\"$(mac 4)\",\"addresses\":[\"$(fabric_eni_ip 4)/16\"],\"ifname\":\"eth0\",\"mtu\":9001,\"routes\":[{\"dst\":\"198.19.0.0/16\",\"gw\":\"$FABRIC_GATEWAY\"}],\"dns\":{\"nameservers\":[\"198.18.0.2\"]}}"
        req platform.check '{"name":"fzp"}'
        req platform.show '{"name":"fzp"}'
        req platform.list '{}'
        req platform.detach '{"name":"fzp"}'
} >"$R/seeds.jsonl"
check_eq "every seed is a valid request" "" \
        "$(jq -c 'select(.jsonrpc != "2.0" or (.method | type) != "string" or (.params | type) != "object" and .params != null)' "$R/seeds.jsonl")"
# shellcheck disable=SC2016 # backquotes, not expansions
check_eq "the seeds cover every method of docs/PROTOCOL.md" \
        "$(grep '^### `' "$FABRIC_ROOT/docs/PROTOCOL.md" | grep -o '`[a-z._]*`' | tr -d '`' | sort -u | xargs)" \
        "$(jq -r .method "$R/seeds.jsonl" | sort -u | xargs)"

# Replies in FILE as "ID" lines (jq's JSON of the id), sorted; notifications left out.
reply_ids() { jq -r 'select(has("id")) | .id | tojson' "$1" | LC_ALL=C sort; }
# What ctlmutate --expect says is owed, in the same form.
owed_ids() {
        jq -R -r 'if . == "-" then empty elif test("^[PIQX]$") then "null" else fromjson | tojson end' \
                "$1" | LC_ALL=C sort
}
# Requests whose replies are missing (<) or extra (>), with the lines that sent them.
explain() {
        local exp=$1 in=$2 d n
        shift 2

        { diff <(owed_ids "$exp") <(reply_ids "$@") || true; } | grep '^[<>]' | head -n 8 |
                while read -r d; do
                        echo "$d"
                        [[ $d == '< null' || $d == '> '* ]] && continue
                        n=$(grep -n -x -F -m 1 -- "${d#< }" "$exp" | cut -d: -f1)
                        if [[ -n $n ]]; then
                                echo "  line $n: $(sed -n "${n}{p;q}" "$in" | cut -c1-400 | cat -v)"
                        fi
                done
}
# check_replies NAME EXPECT INPUT OUTPUT: the replies are exactly the ones owed.
check_replies() {
        local name=$1 exp=$2 in=$3 out=$4

        if [[ $(owed_ids "$exp") == "$(reply_ids "$out")" ]]; then
                tap_ok "$name"
        else
                tap_fail "$name" "$(explain "$exp" "$in" "$out")"
        fi
}
# check_well_formed NAME FILE: every line is a JSON-RPC response or one of netd's notifications.
check_well_formed() {
        local bad

        bad=$(jq -c 'select(
                if has("id") then
                        (keys - ["error", "id", "jsonrpc", "result"]) != [] or .jsonrpc != "2.0" or
                        has("result") == has("error") or
                        (has("error") and ((.error.code | type) != "number" or
                                           (.error.message | type) != "string"))
                else
                        .jsonrpc != "2.0" or ([.method] | inside(["event", "stats"]) | not) or
                        (.params | type) != "object"
                end) | tostring | .[:300]' "$2" 2>&1 | head -n 5)
        check_eq "$1" "" "$bad"
}

# --- one connection, thousands of lines --------------------------------------------------------

"$MUTATE" --seed "$SEED" --count "$LINES" --expect "$R/long.expect" "$R/seeds.jsonl" >"$R/long.in"
tap_diag "seed $SEED: $LINES lines ($(wc -c <"$R/long.in") bytes), owed: $(awk '!/^[-PIQX]$/ { $0 = "id" }
        { n[$0]++ } END { for (k in n) { printf "%s%s %d", sep, k, n[k]; sep = ", " } }' "$R/long.expect")"
start=$(_fabric_now)
# ctlsend writes every line, then reads for 5 s: late and duplicate replies are seen too.
send 100000000 <"$R/long.in" >"$R/long.out" || true
tap_diag "sent and read in $((($(_fabric_now) - start) / 1000)) ms, $(wc -l <"$R/long.out") lines back ($(wc -c <"$R/long.out") bytes)"
check "netd is alive after $LINES mutated lines on one connection" netd_alive
check "every line back is JSON" jq empty "$R/long.out"
check_well_formed "every line back is a JSON-RPC response or an event or stats notification" \
        "$R/long.out"
check_replies "each request with an id got exactly one reply with it, and notifications none" \
        "$R/long.expect" "$R/long.in" "$R/long.out"
check_eq "each line netd cannot parse got one parse error (-32700), id null" \
        "$(grep -c '^P$' "$R/long.expect" || true) null" \
        "$(jq -s '[.[] | select(.error.code == -32700)] | "\(length) \(map(.id) | unique | .[0])"' -r "$R/long.out")"
invalid=$(grep -c '^I$' "$R/long.expect" || true)
either=$(grep -c '^X$' "$R/long.expect" || true)
got=$(jq -s '[.[] | select(.error.code == -32600 and .id == null)] | length' "$R/long.out")
check_match "each invalid request got -32600, id null ($got for $invalid, +$either invalid params too)" \
        '^yes$' "$( ((got >= invalid && got <= invalid + either)) && echo yes || echo "no: $got")"
check_eq "no valid request was told it was not one (-32700, -32600 with an id)" "" \
        "$(jq -c 'select(.id != null and (.error.code == -32700 or .error.code == -32600))' "$R/long.out" | head -n 3)"

# --- hundreds of short connections ------------------------------------------------------------
# Each connection sends one line, then either a good request and reads both replies, or nothing
# more and closes at once, or the line without its newline and closes (netd drops the half line).

"$MUTATE" --seed $((SEED + 1)) --count "$CONNS" --expect "$R/short.expect" "$R/seeds.jsonl" \
        >"$R/short.in"
mapfile -t owed <"$R/short.expect"
: >"$R/short-read.expect"
: >"$R/short-read.in"
: >"$R/short.out"
start=$(_fabric_now)
lost=0
for ((i = 1; i <= CONNS && lost < 3; i++)); do
        sentinel="{\"jsonrpc\":\"2.0\",\"method\":\"health\",\"id\":\"sentinel-$i\"}"
        case $((i % 3)) in
        0)
                want=2
                [[ ${owed[i - 1]} == - ]] && want=1
                { sed -n "${i}{p;q}" "$R/short.in"; echo "$sentinel"; } |
                        send "$want" >>"$R/short.out" || lost=$((lost + 1))
                printf '%s\n%s\n' "${owed[i - 1]}" "\"sentinel-$i\"" >>"$R/short-read.expect"
                { sed -n "${i}{p;q}" "$R/short.in"; echo "$sentinel"; } >>"$R/short-read.in"
                ;;
        1)
                sed -n "${i}{p;q}" "$R/short.in" | send 0 || true
                ;;
        2)
                sed -n "${i}{p;q}" "$R/short.in" | head -c -1 | send 0 || true
                ;;
        esac
done
tap_diag "$((i - 1)) connections in $((($(_fabric_now) - start) / 1000)) ms"
((lost < 3)) || tap_diag "stopped after 3 connections that did not get their replies in 5 s"
check "netd is alive after $CONNS short connections" netd_alive
check_well_formed "every line back on them is a JSON-RPC response or a notification" "$R/short.out"
check_replies "on those that read, exactly the replies owed" \
        "$R/short-read.expect" "$R/short-read.in" "$R/short.out"

# --- netd after the storm --------------------------------------------------------------------

check "netd is healthy" netdctl health
_one_client() { [[ $(netdctl -j health | jq .clients) == 1 ]]; }
check "every connection is closed on netd's side too" wait_until 5 _one_client
check_eq "no client was refused, nor dropped as slow or stalled" "0 0 0" \
        "$(netdctl -j health | jq -r '.control | "\(.refused_clients) \(.dropped_slow_clients) \(.dropped_stalled_clients)"')"
for i in 1 2; do
        check "orig$i checks ok" netdctl task check "orig$i"
done
check_eq "orig1 and orig2 are as they were, field for field" "$origs_before" "$(origs)"
tasks=$(netdctl -j task list | jq -r '.[].task_id' | sort | xargs)
tap_diag "tasks after the fuzz: $tasks"
tap_diag "ENIs after the fuzz: $(netdctl -j eni list | jq -r '.[] | "\(.mac)=\(.state)"' | xargs)"
for t in $tasks; do
        check "$t checks ok" netdctl task check "$t"
done

# Everything the mutations attached detaches; netd then holds as many fds as before them.
for t in $tasks; do
        [[ $t == orig[12] ]] && continue
        check "detach $t" netdctl task detach "$t"
done
# and the platform ENIs they attached
platforms=$(netdctl -j platform list | jq -r '.[].name' | sort | xargs)
tap_diag "platform ENIs after the fuzz: $platforms"
for p in $platforms; do
        check "platform ENI $p checks ok" netdctl platform check "$p"
        check "detach platform ENI $p" netdctl platform detach "$p"
done
# and the holds they made are released (the slots of detached tasks with them)
while read -r t h; do
        [[ -n $t ]] && netdctl task release "$t" holder "$h" >/dev/null
done < <(netdctl -j task holds | jq -r '.[] | .task_id as $t | .holders[] | "\($t) \(.)"')
check_eq "no hold is left" 0 "$(netdctl -j task holds | jq length)"
check "netd settles" netd_settled
_fds_back() { (($(netd_fds) == fds_before)); }
check "netd's file descriptors are back to $fds_before" wait_until 5 _fds_back
# (a record's sibling NAME.json.next holds its contents before the last write: docs/PROTOCOL.md)
check_eq "the journal holds orig1 and orig2 only" "orig1.json orig2.json" \
        "$(find "$NETD_RUN_DIR/state/tasks" -mindepth 1 -printf '%f\n' | sed 's/\.next$//' |
                sort -u | xargs)"
tap_diag "netd: $(netd_fds) fds (before the fuzz $fds_before), RSS $(netd_rss_kb) kB (before $rss_before kB)"

# A restart reads what the mutations left in the journal (ENIs, final counters).
check "netd stops cleanly" netd_stop
check "netd starts again on the same run directory" netd_start
check_eq "it has orig1 and orig2 back, field for field" "$origs_before" "$(origs)"
for i in 1 2; do
        check "orig$i checks ok after the restart" netdctl task check "orig$i"
        check "detach orig$i" netdctl task detach "orig$i"
done
check "netd settles" netd_settled

# Nothing attached is left anywhere.
check_eq "no task left" 0 "$(netdctl -j task list | jq length)"
check_eq "no ENI attached" "" "$(netdctl -j eni list | jq -r '.[] | select(.state == "attached") | .mac')"
for i in 1 2 3 4 5; do
        check_eq "ENI $i is on the host" 1 \
                "$(ip -n "$FABRIC_HOST_NS" -j link | jq --arg m "$(mac "$i")" '[.[] | select(.address == $m)] | length')"
done
for t in orig1 orig2 fz0 fz1 fz2; do
        check_eq "$t's namespace is empty but lo" lo \
                "$(ip -n "$FABRIC_PREFIX-$t" -j link | jq -r '[.[].ifname] | join(" ")')"
        check_eq "$t's namespace has no guards" "" "$(ip netns exec "$FABRIC_PREFIX-$t" nft list ruleset)"
done
check_eq "no metadata link left on the host" "" \
        "$(ip -n "$FABRIC_HOST_NS" -j link | jq -r '.[] | select(.ifname | startswith("tpmd")) | .ifname')"
check_eq "no task journal left" "" "$(ls -A "$NETD_RUN_DIR/state/tasks")"
check "netd stops cleanly" netd_stop
tap_done
