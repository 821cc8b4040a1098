#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Limits of the metadata endpoint: 40 requests/s per task with a burst of 60, then 429 (JSON)
# for that task only; idle and stalled connections closed after 5 s, and so are those whose
# request head trickles in, however steadily; oversized and malformed requests refused without
# harm; keep-alive served.
set -euo pipefail
source "$(dirname "$0")/md.sh"
require_root
require_cmd jq curl socat

fabric_up 2
netd_start
md_netd_up
md_agent_start
md_task_up a 1
md_task_up b 2
md_stats_feed a b
uri_a=$(md_register a | jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4')
uri_b=$(md_register b | jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4')

# 100 requests as fast as one keep-alive connection goes (curl reuses it for every URL).
urls=()
for _ in $(seq 100); do
        urls+=(-o /dev/null "$uri_a/task")
done
codes=$(md_curl a --max-time 20 -w '%{http_code} %{num_connects} %{time_total}\n' "${urls[@]}")
ok=$(grep -c '^200 ' <<<"$codes" || true)
limited=$(grep -c '^429 ' <<<"$codes" || true)
# 60 at once, plus the 40/s that refill while the burst lasts (its transfers' total time)
most=$(awk '{ t += $3 } END { printf "%d", 60 + 40 * t + 1 }' <<<"$codes")
check "a burst of 100: 60 pass, and what refilled meanwhile ($ok of at most $most)" \
        test "$ok" -ge 60 -a "$ok" -le "$most" -a "$ok" -lt 100
check_eq "the rest are 429" 100 "$((ok + limited))"
check_eq "they went over one kept-alive connection" 1 \
        "$(awk '{ s += $2 } END { print s }' <<<"$codes")"
check_eq "the first 60 are the ones that passed" "$(printf '200\n%.0s' $(seq 60))" \
        "$(head -n 60 <<<"$codes" | cut -d' ' -f1)"
check_eq "the agent counted a's 429s" "$limited" "$(taskvm -j inspect a | jq .requests.throttled)"
# Again, 100 at once over 20 connections, keeping the answers: what a 429 looks like.
mkdir "$FABRIC_RUN/burst"
md_curl a --max-time 20 --no-progress-meter --parallel --parallel-max 20 -D "$FABRIC_RUN/heads" \
        -o "$FABRIC_RUN/burst/#1" -w '%{http_code} %{url}\n' "$uri_a/task?n=[1-100]" \
        >"$FABRIC_RUN/codes" 2>/dev/null || true
n429=$(awk '$1 == 429 { sub(/.*n=/, "", $2); print $2; exit }' "$FABRIC_RUN/codes")
# (awk reads to the end: an early exit would kill tr with SIGPIPE, and pipefail the script)
h=$(tr -d '\r' <"$FABRIC_RUN/heads" | awk '/^HTTP\/1.1 429/ && !done { p = 1 } p && /^$/ { p = 0; done = 1 } p')
check_match "429 is JSON" 'Content-Type: application/json' "$h"
check_match "with Retry-After" 'Retry-After: 1' "$h"
check "and a JSON body" jq -e 'type == "string"' "$FABRIC_RUN/burst/${n429:-none}"
check_eq "task b is not limited by a's burst" 200 "$(md_status b "$uri_b/task")"
sleep 1.2
check_eq "a second later a is served again" 200 "$(md_status a "$uri_a/task")"
sleep 1.6

# 30 requests/s for 3 s stay under the limit: none refused.
steady=$(fabric_nsexec a bash -c "for i in \$(seq 90); do curl -s -o /dev/null --max-time 2 -w '%{http_code}\n' '$uri_a'; sleep 0.033; done" | sort | uniq -c | tr -s ' ')
check_eq "30 requests/s for 3 s: all served" " 90 200" "$steady"

# --- timeouts ------------------------------------------------------------------------------------
t=$(fabric_nsexec a bash -c 'start=${EPOCHREALTIME/./}; exec 3<>/dev/tcp/169.254.170.2/80;
        timeout 12 cat <&3 >/dev/null; echo $(( (${EPOCHREALTIME/./} - start) / 100000 ))')
check_match "an idle connection is closed after 5 s (took $t tenths)" '^(4[5-9]|5[0-9]|6[0-9])$' "$t"
t=$(fabric_nsexec a bash -c 'start=${EPOCHREALTIME/./}; exec 3<>/dev/tcp/169.254.170.2/80;
        printf "GET /v4/x HTTP/1.1\r\nHost: 169.254.170.2\r\n" >&3;
        timeout 12 cat <&3 >/dev/null; echo $(( (${EPOCHREALTIME/./} - start) / 100000 ))')
check_match "a request head that stalls is dropped after 5 s (took $t tenths)" \
        '^(4[5-9]|5[0-9]|6[0-9])$' "$t"
check_eq "meanwhile others are served" 200 "$(md_status b "$uri_b")"
# A head sent a byte every 0.5 s never idles: it is cut at its deadline, 5 s after the connect.
t=$(fabric_nsexec a bash -c 'start=${EPOCHREALTIME/./}; exec 3<>/dev/tcp/169.254.170.2/80;
        (printf "GET /v4/x HTTP/1.1\r\nHost: 169.254.170.2\r\n" >&3;
         for i in $(seq 40); do printf "X" >&3 2>/dev/null || exit 0; sleep 0.5; done) &
        timeout 25 cat <&3 >/dev/null; kill $! 2>/dev/null; wait 2>/dev/null
        echo $(( (${EPOCHREALTIME/./} - start) / 100000 ))')
check_match "a head that trickles in a byte every 0.5 s is cut after 5 s (took $t tenths)" \
        '^(4[5-9]|5[0-9]|6[0-9])$' "$t"
check "the agent counted it" wait_until 2 bash -c \
        "'$O/taskvm' --socket '$AGENT_SOCKET' -j health | jq -e '.http.header_timeout >= 1'"
check_match "against task a" '^[1-9]' "$(taskvm -j inspect a | jq .requests.header_timeouts)"
check_match "taskvm ps shows them (LATE)" "^[1-9][0-9]*\$" \
        "$(taskvm ps | awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "LATE") c = i; if (!c) exit 1 }
                $1 == "a" { print $c }')"
# A slow head that is complete within the deadline is answered, and so is the next on the
# same connection.
out=$(fabric_nsexec a bash -c "exec 3<>/dev/tcp/169.254.170.2/80;
        for part in 'GET ${uri_a#http://169.254.170.2} HTTP/1.1\r\n' 'Host: 169.254.170.2\r\n' \
                'User-Agent: slow\r\n' '\r\n'; do printf \"\$part\" >&3; sleep 0.7; done
        sleep 3
        printf 'GET ${uri_a#http://169.254.170.2}/task HTTP/1.1\r\nHost: 169.254.170.2\r\nConnection: close\r\n\r\n' >&3
        timeout 10 cat <&3 | grep -ao 'HTTP/1\.1 [0-9]*'")
check_eq "a head sent slowly (2.1 s) but whole in time is answered, and one after it" \
        "HTTP/1.1 200 HTTP/1.1 200" "$(echo $out)"

# --- sizes and malformed requests ----------------------------------------------------------------
big=$(head -c 20000 /dev/zero | tr '\0' x)
check_eq "a 20 KB request head is refused (431)" 431 \
        "$(md_curl b -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$uri_b")"
check_eq "a GET with a body is refused (413, JSON)" "413 application/json" \
        "$(md_curl b -o /dev/null -w '%{http_code} %{content_type}' -X GET --data-binary hello "$uri_b")"
check_eq "PUT is refused (405)" 405 "$(md_curl b -o /dev/null -w '%{http_code}' -X PUT "$uri_b")"
out=$(printf 'NOT HTTP AT ALL\r\n\r\n' | fabric_nsexec b timeout 5 socat -t 2 - TCP:169.254.170.2:80 || true)
check_fail "garbage gets no 200" grep -q ' 200 ' <<<"$out"
check_eq "a HEAD is answered without a body" "200 0" \
        "$(md_curl b -o /dev/null -I -w '%{http_code} %{size_download}' "$uri_b")"
check_eq "the agent is still there and serving" 200 "$(md_status b "$uri_b/task/stats")"
check "health answers" taskvm health
md_done
