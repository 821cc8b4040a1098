#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Prometheus text exposition on --metrics-listen: per task, flow and direction byte and packet
# counters, drops by reason, the device's counters; equal to stats.get. netd's own metrics:
# attach and detach durations (histograms), failures by reason, ENIs by state, the build.
# HTTP as it should be: GET and HEAD, 405 with Allow and a body, 404. netdctl stats --watch
# prints a sample per interval; stats.subscribe notifications carry the same shape.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq curl socat

fabric_up 2
fabric_service_start
netd_start --stats-interval 1 --metrics-listen 127.0.0.1:9464 --enable-fault-injection
for i in 1 2; do
        netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
        netdctl task attach "t$i" netns "$(fabric_task_ns "t$i")" mac "$(fabric_eni_mac "$i")" \
                addr "$(fabric_eni_ip "$i")/16" >/dev/null
        counters_no_arp "t$i" "$(fabric_eni_ip "$i")" "$(fabric_eni_mac "$i")"
done
check "t1 talks" udpsend_in t1 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --count 20 --size 100
check "t2 talks, marked pull" udpsend_in t2 --dst "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" --count 7 --size 40 \
        --mark "$(counters_mark 1 1)"

scrape()
{
        fabric_nsexec host curl -sS --max-time 5 "$@"
}
check "GET /metrics" scrape -o "$FABRIC_RUN/metrics" -D "$FABRIC_RUN/headers" http://127.0.0.1:9464/metrics
check_match "200 with the exposition format's content type" \
        "HTTP/1.1 200 OK.*Content-Type: text/plain; version=0.0.4" "$(tr -d '\r' <"$FABRIC_RUN/headers" | tr '\n' ' ')"
m=$(cat "$FABRIC_RUN/metrics")
value()
{
        awk -v k="$1" 'index($0, k) == 1 { print $2 }' <<<"$m"
}
check_eq "t1 app tx bytes" "$((20 * 142))" \
        "$(value 'taskplane_task_network_bytes_total{task_id="t1",flow="app",direction="tx"}')"
check_eq "t1 app rx packets" 20 \
        "$(value 'taskplane_task_network_packets_total{task_id="t1",flow="app",direction="rx"}')"
check_eq "t2 pull rx bytes" "$((7 * 82))" \
        "$(value 'taskplane_task_network_bytes_total{task_id="t2",flow="pull",direction="rx"}')"
check_eq "t2 app tx packets" 0 \
        "$(value 'taskplane_task_network_packets_total{task_id="t2",flow="app",direction="tx"}')"
check_eq "device bytes of t1, from its link statistics" "$(dev_stats t1 | awk '{print $3}')" \
        "$(value 'taskplane_task_device_bytes_total{task_id="t1",interface="eth1",direction="tx"}')"
check_eq "drops by reason" 0 \
        "$(value 'taskplane_task_network_dropped_packets_total{task_id="t1",reason="spoof",direction="tx"}')"
check_eq "a series per task, flow and direction" 28 "$(grep -c '^taskplane_task_network_bytes_total{' <<<"$m")"
check_eq "drop series per task, reason and direction" 16 \
        "$(grep -c '^taskplane_task_network_dropped_packets_total{' <<<"$m")"
check_eq "one TYPE line per metric family" "" "$(grep '^# TYPE' <<<"$m" | sort | uniq -d)"
# families: a histogram's samples are NAME_bucket, NAME_sum and NAME_count
families()
{
        awk '/^# TYPE .* histogram$/ { h[$3] = 1; next }
             /^#/ { next }
             { n = $0; sub(/[{ ].*/, "", n); b = n; sub(/_(bucket|sum|count)$/, "", b)
               print (b in h) ? b : n }' <<<"$1" | sort -u
}
check_eq "every sample's family has a TYPE" "" \
        "$(comm -23 <(families "$m") <(grep '^# TYPE' <<<"$m" | awk '{print $3}' | sort -u))"
check_eq "counters end in _total" "" "$(grep '^# TYPE .* counter' <<<"$m" | awk '{print $3}' | grep -v '_total$' || true)"
check_eq "build info" "taskplane_build_info{version=\"$(cat VERSION)\"} 1" "$(grep '^taskplane_build_info' <<<"$m")"
check_eq "ENIs by state" "attached 2 available 0 missing 0 lost 0" \
        "$(grep '^taskplane_enis{' <<<"$m" | sed 's/.*state="\([a-z]*\)"} \(.*\)/\1 \2/' | sort -k1,1 |
                awk '{ v[$1] = $2 } END { print "attached", v["attached"], "available", v["available"], "missing", v["missing"], "lost", v["lost"] }')"
# histogram_ok NAME COUNT: NAME's buckets are cumulative, +Inf and _count equal COUNT, a sum.
histogram_ok()
{
        local name=$1 count=$2 text=$3

        awk -v n="$name" -v c="$count" '
                index($0, n "_bucket{") == 1 { if ($2 < last) bad = 1; last = $2; inf = $2; nb++ }
                index($0, n "_count ") == 1 { cnt = $2 }
                index($0, n "_sum ") == 1 { sum = $2 }
                END { exit !(nb >= 2 && !bad && inf == c && cnt == c && (c == 0 || sum > 0)) }' <<<"$text"
}
check "the attach histogram counts the 2 attaches" histogram_ok taskplane_attach_duration_seconds 2 "$m"
check_match "its buckets are for milliseconds" 'taskplane_attach_duration_seconds_bucket\{le="0.001"\}' "$m"
check "no detach yet" histogram_ok taskplane_detach_duration_seconds 0 "$m"
check_eq "no failure yet" "" "$(grep '^taskplane_attach_failures_total{' <<<"$m" | grep -v ' 0$' || true)"
check_match "each attach step is a failure reason, from the start" \
        'taskplane_attach_failures_total\{reason="routes"\} 0' "$m"
check_eq "taskplane_tasks" 2 "$(value 'taskplane_tasks ')"
# Every byte counter equals stats.get.
js=$(netdctl -j stats)
want=$(jq -r '.tasks[] | .task_id as $t | .flows | to_entries[] | .key as $f | .value | to_entries[] | "taskplane_task_network_bytes_total{task_id=\"\($t)\",flow=\"\($f)\",direction=\"\(.key)\"} \(.value.bytes)"' <<<"$js" | sort)
check_eq "every flow byte counter equals stats.get" "$want" "$(grep '^taskplane_task_network_bytes_total{' <<<"$m" | sort)"

check_eq "another path is 404" 404 "$(scrape -o /dev/null -w '%{http_code}' http://127.0.0.1:9464/other)"
# raw REQUEST: send one HTTP/1.0 request as is and print the whole answer (CRs removed).
raw()
{
        printf '%b' "$1" | fabric_nsexec host socat -t 5 - TCP:127.0.0.1:9464 | tr -d '\r'
}
out=$(raw 'POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc')
check_match "POST is 405" "^HTTP/1.[01] 405 " "$out"
check_match "... saying what is allowed" $'\nAllow: GET, HEAD\n' "$out"
check_eq "... with a body" "Method Not Allowed: use GET or HEAD" "$(sed '1,/^$/d' <<<"$out")"
out=$(raw 'DELETE /metrics HTTP/1.0\r\n\r\n')
check_match "DELETE is 405 too" "^HTTP/1.[01] 405 " "$out"
check_eq "... with a body" "Method Not Allowed: use GET or HEAD" "$(sed '1,/^$/d' <<<"$out")"
out=$(raw 'GETS /metrics HTTP/1.0\r\n\r\n')
check_match "an unknown method is not taken for GET" "^HTTP/1.[01] (405|400|501) " "$out"
out=$(raw 'HEAD /metrics HTTP/1.0\r\n\r\n')
check_match "HEAD is 200 with the length of the body" $'^HTTP/1.[01] 200 .*\nContent-Length: [1-9]' "$out"
check_eq "HEAD has no body" "" "$(sed '1,/^$/d' <<<"$out")"
out=$(raw 'GET /metrics HTTP/1.0\r\n\r\n')
check_match "GET over HTTP/1.0 has the body" $'\n\n# HELP ' "$out"
out=$(raw 'GET /nothing HTTP/1.0\r\n\r\n')
check_match "404 has a body too" $'^HTTP/1.[01] 404 .*\n\nNot Found' "$out"
check "a request head over 8 KiB is refused, netd goes on" \
        bash -c "nsenter --net=$FABRIC_HOST_NS_PATH curl -s -o /dev/null -w '%{http_code}' -H 'X-Big: $(head -c 9000 /dev/zero | tr '\0' a)' http://127.0.0.1:9464/metrics | grep -q 431"
check "netd still answers" netdctl health

# The CLI.
txt=$(netdctl stats)
check_match "netdctl stats has a header" "^TASK +PHASE +RX_BYTES +RX_PACKETS +TX_BYTES +TX_PACKETS +DROPS" "$txt"
check_match "and a row for t1" "t1 +READY +$((20 * 142)) +20 +$((20 * 142)) +20 +0 " "$txt"
check_match "netdctl stats t1 shows the device" "device eth1: rx $((20 * 142)) bytes 20 packets 0 errors 0 dropped" \
        "$(netdctl stats t1)"
check_eq "netdctl -j stats t1 is stats.get's result" "$(jq -cS 'del(.time, .rates)' <<<"$(netdctl -j stats t1)")" \
        "$(jq -cS '.tasks[] | select(.task_id == "t1") | del(.time, .rates)' <<<"$js")"
check_eq "-j may also come after the task" "t1" "$(netdctl stats t1 -j | jq -r .task_id)"

timeout 2.5 "$O/netdctl" --socket "$NETD_SOCKET" -j stats t2 --watch >"$FABRIC_RUN/watch" 2>&1 || true
check_match "--watch prints a sample at once and one per interval" "^[234]$" "$(wc -l <"$FABRIC_RUN/watch")"
check_eq "each one t2's stats" "t2" "$(jq -r .task_id "$FABRIC_RUN/watch" | sort -u)"
timeout 1.5 "$O/netdctl" --socket "$NETD_SOCKET" -j stats --watch >"$FABRIC_RUN/watch-all" 2>&1 || true
check_eq "--watch without a task: every task per sample" "2" "$(head -1 "$FABRIC_RUN/watch-all" | jq '.tasks | length')"
check "detach t1" netdctl task detach t1
check "detach t2" netdctl task detach t2
m=$(scrape http://127.0.0.1:9464/metrics)
check_eq "detached tasks leave the exposition" "taskplane_tasks 0" "$(grep '^taskplane_tasks ' <<<"$m")"
check "the detach histogram counts the 2 detaches" histogram_ok taskplane_detach_duration_seconds 2 "$m"
check_match "the ENIs are available again" 'taskplane_enis\{state="available"\} 2' "$m"
check_fail "an attach that fails at its routes" netdctl task attach t3 netns "$(fabric_task_ns t3)" \
        mac "$(fabric_eni_mac 1)" addr "$(fabric_eni_ip 1)/16" fault routes
m=$(scrape http://127.0.0.1:9464/metrics)
check_eq "is counted by its step" 'taskplane_attach_failures_total{reason="routes"} 1' \
        "$(grep '^taskplane_attach_failures_total{' <<<"$m" | grep -v ' 0$')"
check "and not in the histogram" histogram_ok taskplane_attach_duration_seconds 2 "$m"
tap_done
