#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The libFuzzer harnesses ($O/fuzz/fuzz-*, from tests/fuzz/fuzz-*.c): each replays its seed corpus
# (tests/fuzz/corpus/NAME/, which keeps every input that once found a bug), then fuzzes for
# FUZZ_SECONDS (15) under ASan+UBSan with leak checks. Neither may crash, abort on a property,
# leak or trip a sanitizer. A failure prints the input in base64 and the seed that found it:
#       build/fuzz/fuzz-NAME CRASH_FILE                 # replay
#       build/fuzz/fuzz-NAME -seed=S -max_len=4096 DIR  # the same run again
# Longer runs: FUZZ_SECONDS=600 tests/fuzz/t-fuzz.sh; new finds go to tests/fuzz/corpus/NAME/.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

FUZZ_SECONDS=${FUZZ_SECONDS:-15}
CORPUS=$FABRIC_ROOT/tests/fuzz/corpus
work=$(mktemp -d /tmp/tp-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

shopt -s nullglob
fuzzers=("$O"/fuzz/fuzz-*)
((${#fuzzers[@]})) || tap_bail "no fuzzers in $O/fuzz (make tests builds them)"

# report NAME LOG: the failure's diagnostics (sanitizer summary, input, seed).
report()
{
        local log=$2 crash

        grep -E '^(SUMMARY|==[0-9]+==ERROR)|runtime error|INFO: Seed' "$log" | head -8
        grep '^Running: ' "$log" | tail -1
        for crash in "$work/$1"-*; do
                echo "input (base64): $(base64 -w0 "$crash")"
        done
}

for bin in "${fuzzers[@]}"; do
        [[ -x $bin && ! -d $bin ]] || continue
        name=${bin##*/}
        name=${name#fuzz-}
        seeds=("$CORPUS/$name"/*)
        log=$work/$name.log

        if ((${#seeds[@]} == 0)); then
                tap_fail "fuzz-$name has a seed corpus" "no inputs in $CORPUS/$name"
                continue
        fi
        if "$bin" -artifact_prefix="$work/$name-" "${seeds[@]}" >"$log" 2>&1; then
                tap_ok "fuzz-$name replays its ${#seeds[@]} seed inputs"
        else
                tap_fail "fuzz-$name replays its ${#seeds[@]} seed inputs" "$(report "$name" "$log")"
                continue
        fi

        mkdir "$work/$name.corpus"
        if "$bin" -max_total_time="$FUZZ_SECONDS" -max_len=4096 -timeout=10 \
                -artifact_prefix="$work/$name-" -print_final_stats=1 \
                "$work/$name.corpus" "$CORPUS/$name" >"$log" 2>&1; then
                runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
                tap_ok "fuzz-$name: ${runs:-?} inputs in $FUZZ_SECONDS s, no crash, leak or sanitizer report"
        else
                tap_fail "fuzz-$name: no crash, leak or sanitizer report in $FUZZ_SECONDS s" \
                        "$(report "$name" "$log")"
        fi
done
tap_done
