#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A container's stdout and stderr reach the VPC's syslog collector exactly (count, content,
# order) as RFC 5424 messages with the awslogs group and stream, from a socket in the task's
# namespace; long lines are split at 16 KiB; the local log file holds the same lines.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
require_root
require_cmd jq rsyslogd

N=20000
E=200
logs_up

out=$(logship_run web -- sh -c "seq -f 'line %06g' 1 $N; seq -f 'oops %03g' 1 $E >&2") ||
        tap_fail "logship exits 0" "$out"
check_eq "every message was delivered" "$((N + E)) $((N + E)) 0 0" \
        "$(jq -r '.ship | "\(.messages) \(.delivered) \(.dropped) \(.buffered)"' <<<"$out")"
check_eq "over one connection" "1 0" "$(jq -r '.ship | "\(.connects) \(.disconnects)"' <<<"$out")"
check "the collector wrote them all" wait_received $((N + E))
check_eq "exactly that many" $((N + E)) "$(received_count)"
check "stdout's lines, exactly and in order" \
        diff <(received '.msgid == "stdout"') <(seq -f 'line %06g' 1 $N)
check "stderr's lines, exactly and in order" \
        diff <(received '.msgid == "stderr"') <(seq -f 'oops %03g' 1 $E)
check_eq "stdout is user.info" "user info 14" \
        "$(jq -rs '[.[] | select(.msgid == "stdout") | "\(.facility) \(.severity) \(.pri)"] | unique | join(",")' "$FABRIC_SYSLOG_FILE")"
check_eq "stderr is user.err" "user err 11" \
        "$(jq -rs '[.[] | select(.msgid == "stderr") | "\(.facility) \(.severity) \(.pri)"] | unique | join(",")' "$FABRIC_SYSLOG_FILE")"
check_eq "APP-NAME is the container, HOSTNAME the task's address, no PROCID" "web $LOGS_IP -" \
        "$(jq -rs '[.[] | "\(.app) \(.host) \(.procid)"] | unique | join(",")' "$FABRIC_SYSLOG_FILE")"
check_eq "the structured data carries the group and the stream prefix/container/task-id" \
        "[awslogs@32473 group=\"$LOGS_GROUP\" stream=\"$LOGS_PREFIX/web/$LOGS_TASK_ID\"]" \
        "$(jq -rs '[.[].sd] | unique | join(",")' "$FABRIC_SYSLOG_FILE")"
check_match "timestamps are UTC with microseconds" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}Z$' \
        "$(jq -r .time "$FABRIC_SYSLOG_FILE" | head -1)"

# The local file: the same lines, with their newlines.
logs=$("$O/tests/tools/logship" logs --log-dir "$LOGS_DIR" --container web --json)
check_eq "the local file has every line" $((N + E)) "$(wc -l <<<"$logs")"
check "its stdout lines, in order, each with its newline" \
        diff <(jq -j 'select(.stream == "stdout") | .log' <<<"$logs") <(seq -f 'line %06g' 1 $N)
check "its stderr lines" \
        diff <(jq -j 'select(.stream == "stderr") | .log' <<<"$logs") <(seq -f 'oops %03g' 1 $E)
check_eq "entries are in time order" "true" \
        "$(jq -s '[.[].time] | . == sort' <<<"$logs")"

# Long lines: 40000 bytes are pieces of 16384, 16384 and 7232; a line of exactly 16384 bytes
# is one message; the last line has no newline and still arrives.
out=$(logship_run long -- sh -c "head -c 40000 /dev/zero | tr '\\0' a; echo; head -c 16384 /dev/zero | tr '\\0' b; echo; printf 'no newline'") ||
        tap_fail "logship exits 0 (long lines)" "$out"
check_eq "five messages: three pieces, a full line, the last line" "5 5 2" \
        "$(jq -r '"\(.ship.messages) \(.ship.delivered) \(.split)"' <<<"$out")"
check "the collector wrote them" wait_received 5 '.app == "long"'
check_eq "pieces of 16 KiB, then the rest; the 16 KiB line whole; the last line" \
        "a 16384,a 16384,a 7232,b 16384,n 10" \
        "$(jq -r 'select(.app == "long") | "\(.msg[0:1]) \(.msg | length)"' "$FABRIC_SYSLOG_FILE" | paste -sd,)"
logs=$("$O/tests/tools/logship" logs --log-dir "$LOGS_DIR" --container long --json)
check_eq "the local file: the pieces without newlines, the line ends with one" \
        "16384 false,16384 false,7233 true,16385 true,10 false" \
        "$(jq -r '"\(.log | length) \(.log | endswith("\n"))"' <<<"$logs" | paste -sd,)"

# UTF-8 beyond ASCII is marked with a BOM (RFC 5424 MSG-UTF8); ASCII is sent as it is.
out=$(logship_run utf -- printf 'h\xc3\xa9llo\nplain\n') || tap_fail "logship exits 0 (utf-8)" "$out"
check "the collector wrote them" wait_received 2 '.app == "utf"'
check_eq "a BOM before UTF-8, none before ASCII" "$(printf '"\xef\xbb\xbfh\xc3\xa9llo","plain"')" \
        "$(jq -c 'select(.app == "utf") | .msg' "$FABRIC_SYSLOG_FILE" | paste -sd,)"

check "netd detaches the task" netdctl task detach t1
tap_done
