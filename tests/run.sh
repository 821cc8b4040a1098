#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run every test tier and print one closing line "N passed, N failed, N skipped".
#   O=build tests/run.sh                (what make check runs)
#   TESTS='t-attach test-json' tests/run.sh     only suites whose label contains a pattern
#
# In order: the unit test binaries $O/tests/unit/test-* (cmocka, as TAP), the same built with
# ASan+UBSan ($O/san/tests/unit/test-*), other test binaries $O/tests/<dir>/test-* (e.g. bpf),
# then the scripts tests/integration/t-*.sh and tests/<dir>/t-*.sh. Each suite runs under
# timeout(1) (TEST_TIMEOUT, 600 s) with the repo root as working directory and stdin from
# /dev/null. Its TAP is counted: "ok" passed, "not ok" failed, a "# SKIP" directive skipped
# ("# TODO" too). Exit 77 is one skip; a crash, a timeout, a bail-out, a plan that does not match,
# or a non-zero exit without any "not ok" line is one more failure. Scripts that use the test
# fabric are checked afterwards for anything left behind (a failure, and it is removed).
# Before the closing line come the failed tests again, each with the first lines of its
# diagnostics, so that the end of a long run's output says what failed.
# Exit status 0 iff nothing failed.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
O=${O:-build}
[[ $O == /* ]] || O=$ROOT/$O
export O
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
FAILURE_DIAG_LINES=6

# shellcheck source=tests/fabric.sh
source "$ROOT/tests/fabric.sh"

PASSED=0
FAILED=0
SKIPPED=0
FAILED_SUITES=()
RUN_TMP=$(mktemp -d /tmp/tp-run.XXXXXX)
trap 'rm -rf "$RUN_TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

selected()
{
        local pat

        [[ -z ${TESTS:-} ]] && return 0
        for pat in $TESTS; do
                [[ $1 == *"$pat"* ]] && return 0
        done
        return 1
}

# Processes, namespaces, mounts and directories left by a script's fabrics: report and remove.
check_leftovers()
{
        local label=$1 prefix left pid any=0

        [[ -s $FABRIC_PREFIX_LOG ]] || return 0
        while read -r prefix; do
                left=$(fabric_leftovers "$prefix")
                [[ -z $left ]] && continue
                any=1
                printf '[%s] # left behind: %s\n' "$label" "${left//$'\n'/$'\n'"[$label] #   "}"
                while read -r _ pid _; do
                        kill -KILL "$pid" 2>/dev/null
                done < <(grep '^process ' <<<"$left")
                _fabric_teardown "$prefix"
        done <"$FABRIC_PREFIX_LOG"
        return $any
}

# run_suite LABEL COMMAND...
run_suite()
{
        local label=$1 line lc pass=0 fail=0 skip=0 planned=0 results=0 plans=0 bail=0 rc
        local start note="" diag=0
        shift

        selected "$label" || return 0
        start=$SECONDS
        FABRIC_PREFIX_LOG=$RUN_TMP/prefixes
        : >"$FABRIC_PREFIX_LOG"
        export FABRIC_PREFIX_LOG

        while IFS= read -r line; do
                printf '[%s] %s\n' "$label" "$line"
                # a failure and the first lines of its diagnostics, again in the summary
                if [[ $line == "not ok"* ]]; then
                        diag=$FAILURE_DIAG_LINES
                        printf '[%s] %s\n' "$label" "$line" >>"$RUN_TMP/failures"
                elif ((diag > 0)) && [[ $line == "#"* ]]; then
                        diag=$((diag - 1))
                        printf '[%s] %s\n' "$label" "${line:0:300}" >>"$RUN_TMP/failures"
                else
                        diag=0
                fi
                lc=${line,,}
                if [[ $line =~ ^(not\ )?ok($|[[:space:]]) ]]; then
                        results=$((results + 1))
                        if [[ $lc =~ \#[[:space:]]*(skip|todo) ]]; then
                                skip=$((skip + 1))
                        elif [[ $line == not* ]]; then
                                fail=$((fail + 1))
                        else
                                pass=$((pass + 1))
                        fi
                elif [[ $line =~ ^1\.\.([0-9]+) ]]; then
                        planned=$((planned + BASH_REMATCH[1]))
                        plans=$((plans + 1))
                elif [[ $line == "Bail out!"* ]]; then
                        bail=1
                fi
        done < <(timeout -k 10 "$TEST_TIMEOUT" "$@" 2>&1 </dev/null)
        wait $!
        rc=$?

        if ((rc == 77)); then
                ((results == 0)) && skip=1
                note="skipped (exit 77)"
        elif ((rc == 124 || rc == 137)); then
                fail=$((fail + 1))
                note="timed out after $TEST_TIMEOUT s"
        elif ((rc > 128)); then
                fail=$((fail + 1))
                note="crashed (signal $((rc - 128)))"
        elif ((bail)); then
                fail=$((fail + 1))
                note="bailed out (exit $rc)"
        elif ((rc != 0 && fail == 0)); then
                fail=1
                note="exit status $rc without a failed test"
        elif ((rc == 0 && plans > 0 && planned != results)); then
                fail=$((fail + 1))
                note="planned $planned tests, ran $results"
        elif ((rc == 0 && plans == 0 && results == 0)); then
                fail=1
                note="no TAP output"
        elif ((rc == 0 && plans > 0 && planned == 0)); then
                skip=1
                note="skipped (1..0)"
        fi
        if ! check_leftovers "$label"; then
                fail=$((fail + 1))
                note="${note:+$note; }left things behind"
        fi

        PASSED=$((PASSED + pass))
        FAILED=$((FAILED + fail))
        SKIPPED=$((SKIPPED + skip))
        ((fail)) && FAILED_SUITES+=("$label${note:+ ($note)}")
        printf '[%s] --- pass %d, fail %d, skip %d, %d s%s\n' "$label" "$pass" "$fail" "$skip" \
                $((SECONDS - start)) "${note:+, $note}"
}

is_test_binary()
{
        [[ -f $1 && -x $1 && $1 != *.o && $1 != *.d ]]
}

run_binaries()
{
        local dir=$1 tag=$2 bin sub

        for bin in "$dir"/test-*; do
                is_test_binary "$bin" || continue
                sub=${bin%/*}
                run_suite "${sub##*/}/${bin##*/}$tag" env CMOCKA_MESSAGE_OUTPUT=TAP "$bin"
        done
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_binaries "$O/tests/unit" ""
run_binaries "$O/san/tests/unit" " [asan+ubsan]"
for d in "$O"/tests/*/; do
        d=${d%/}
        case ${d##*/} in
        unit | tools) continue ;;
        esac
        run_binaries "$d" ""
        [[ -d $O/san/tests/${d##*/} ]] && run_binaries "$O/san/tests/${d##*/}" " [asan+ubsan]"
done

for t in tests/integration/t-*.sh; do
        [[ -f $t ]] && run_suite "integration/${t##*/}" bash "$t"
done
for t in tests/*/t-*.sh; do
        case $t in
        tests/integration/* | tests/unit/*) continue ;;
        esac
        [[ -f $t ]] && run_suite "${t#tests/}" bash "$t"
done

if [[ -s $RUN_TMP/failures ]]; then
        echo "failed tests (each with the start of its diagnostics):"
        cat "$RUN_TMP/failures"
fi
if ((${#FAILED_SUITES[@]})); then
        echo "failed suites:"
        printf '  %s\n' "${FAILED_SUITES[@]}"
fi
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
((FAILED == 0))
