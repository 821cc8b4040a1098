#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The local log files: bounded (the file rotates at its size, one rotated file is kept), read
# back in order (what is kept: the newest lines), merged across containers in time order, and
# followed while they grow and rotate. No network: the containers have no awslogs options.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_cmd jq

dir=$(mktemp -d /tmp/tp-logfile.XXXXXX)
trap 'kill -KILL "${follower:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT
logship()
{
        "$O/tests/tools/logship" "$@"
}
MAX=131072

# 20000 lines of about 100 bytes: about 2.5 MB of entries, 20 times the bound.
out=$(logship run --container web --task-id t1 --log-dir "$dir" --log-max-size $MAX -- \
        seq -f 'line %06g ..........................................................................................' 1 20000)
check_eq "every line read" 20000 "$(jq .lines <<<"$out")"
check "it rotated many times" test "$(jq .file.rotations <<<"$out")" -ge 15
check "the current file is within the bound" test "$(stat -c %s "$dir/web.log")" -le $MAX
check "so is the rotated one" test "$(stat -c %s "$dir/web.log.1")" -le $MAX
check_eq "no third file" "web.log web.log.1" "$(cd "$dir" && echo web.log*)"
kept=$(cat "$dir/web.log.1" "$dir/web.log" | wc -l)
logs=$(logship logs --log-dir "$dir" --container web --json)
check_eq "the reader returns every entry the two files keep" "$kept" "$(wc -l <<<"$logs")"
check "the newest lines, in order, up to the last one" diff <(jq -j .log <<<"$logs") \
        <(seq -f 'line %06g ..........................................................................................' 1 20000 | tail -n "$kept")
check "without --json: the lines themselves" diff <(logship logs --log-dir "$dir" --container web) \
        <(jq -j .log <<<"$logs")

# Two containers, merged in time order: stderr goes to stderr.
logship run --container api --task-id t1 --log-dir "$dir" -- sh -c 'echo one; echo two >&2' \
        >/dev/null
all=$(logship logs --log-dir "$dir" --json)
check_eq "all containers: both files" "$((kept + 2))" "$(wc -l <<<"$all")"
check_eq "in time order" true "$(jq -s '[.[].time] | . == sort' <<<"$all")"
check_eq "each entry names its container and stream" "api stdout one|api stderr two" \
        "$(jq -r 'select(.container == "api") | "\(.container) \(.stream) \(.log | rtrimstr("\n"))"' <<<"$all" | paste -sd'|')"
check_eq "stderr's entries on stderr" "two" \
        "$(logship logs --log-dir "$dir" --container api 2>&1 >/dev/null)"
check_fail "an unknown container is an error" logship logs --log-dir "$dir" --container nosuch

# Following: a reader started first sees every line of a writer that rotates the file every
# other burst (500 lines of about 140 bytes, 0.2 s apart), across the rotations, in order.
touch "$dir/slow.log" # the reader starts on an empty file
logship logs --log-dir "$dir" --container slow --follow --count 8000 --timeout 60 --json \
        >"$dir/follow.out" 2>"$dir/follow.err" &
follower=$!
writer="for i in \$(seq 0 15); do seq -f 'slow %06g ..........................................................................................' \$((i * 500 + 1)) \$((i * 500 + 500)); sleep 0.2; done"
out=$(logship run --container slow --task-id t1 --log-dir "$dir" --log-max-size $MAX -- sh -c "$writer")
check "the writer rotated the file" test "$(jq .file.rotations <<<"$out")" -ge 6
rc=0
wait "$follower" || rc=$?
got="$rc $(wc -l <"$dir/follow.out")"
check_eq "the follower saw all 8000 lines" "0 8000" "$got"
[[ $got == "0 8000" ]] || tap_diag "$(cat "$dir/follow.err")"
check "in order, each once" diff <(jq -j .log "$dir/follow.out") \
        <(seq -f 'slow %06g ..........................................................................................' 1 8000)
tap_done
