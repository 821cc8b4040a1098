#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the integration tests (tests/*/t-*.sh). Each test is a TAP producer:
#
#       #!/bin/bash
#       # SPDX-License-Identifier: GPL-2.0-only
#       # What this test shows, in one line.
#       set -euo pipefail
#       source "$(dirname "$0")/../lib.sh"
#       require_root
#       require_cmd curl
#       fabric_up 2                             # torn down by an EXIT trap
#       netd_start
#       check "netd answers" netdctl health
#       check_eq "two ENIs" 2 "$(netdctl -j eni show | jq length)"
#       tap_done                                # prints 1..N; exit 0 iff nothing failed
#
# check runs its command in the current shell (so netd_start & co. keep their variables), with
# stdout and stderr captured; on failure the output is printed as "# " diagnostics. Exit 77 means
# the whole script is skipped. Sourcing this file also sources tests/fabric.sh.

# shellcheck source=tests/fabric.sh
source "$(dirname "${BASH_SOURCE[0]}")/fabric.sh"

TAP_COUNT=0
TAP_FAILED=0

# Print each line of "$@" (or of stdin with no arguments) as a TAP diagnostic.
tap_diag()
{
        if (($#)); then
                printf '%s\n' "$@" | sed 's/^/# /'
        else
                sed 's/^/# /'
        fi
}

tap_ok()
{
        TAP_COUNT=$((TAP_COUNT + 1))
        echo "ok $TAP_COUNT - $1"
}

# tap_fail NAME [DETAIL...]: a failed test; each DETAIL (may span lines) becomes diagnostics.
tap_fail()
{
        local name=$1
        shift

        TAP_COUNT=$((TAP_COUNT + 1))
        TAP_FAILED=$((TAP_FAILED + 1))
        echo "not ok $TAP_COUNT - $name"
        if (($#)); then
                tap_diag "$@"
        fi
        return 0
}

tap_skip()
{
        TAP_COUNT=$((TAP_COUNT + 1))
        echo "ok $TAP_COUNT - $1 # SKIP ${2:-}"
}

# tap_bail REASON: stop here (setup failed); the runner counts it as a failure.
tap_bail()
{
        echo "Bail out! $*"
        _tap_netd_log
        exit 1
}

# check NAME COMMAND...: ok if COMMAND exits 0.
check()
{
        local name=$1 out rc=0
        shift

        out=$(mktemp "${FABRIC_RUN:-${TMPDIR:-/tmp}}/check.XXXXXX")
        "$@" >"$out" 2>&1 || rc=$?
        if ((rc == 0)); then
                tap_ok "$name"
        else
                tap_fail "$name" "command: $*" "exit status: $rc" "$(cat "$out")"
        fi
        rm -f "$out"
        return 0
}

# check_fail NAME COMMAND...: ok if COMMAND exits non-zero.
check_fail()
{
        local name=$1 out rc=0
        shift

        out=$(mktemp "${FABRIC_RUN:-${TMPDIR:-/tmp}}/check.XXXXXX")
        "$@" >"$out" 2>&1 || rc=$?
        if ((rc != 0)); then
                tap_ok "$name"
        else
                tap_fail "$name" "command: $*" "expected a failure, got exit status 0" \
                        "$(cat "$out")"
        fi
        rm -f "$out"
        return 0
}

check_eq()
{
        if [[ $2 == "$3" ]]; then
                tap_ok "$1"
        else
                tap_fail "$1" "expected: $2" "actual:   $3"
        fi
}

# check_match NAME REGEX TEXT: ok if TEXT matches the extended regular expression REGEX.
check_match()
{
        if [[ $3 =~ $2 ]]; then
                tap_ok "$1"
        else
                tap_fail "$1" "expected to match: $2" "actual: $3"
        fi
}

# check_no_leftovers NAME PREFIX: ok if nothing of fabric PREFIX is left (after fabric_down).
check_no_leftovers()
{
        check_eq "$1" "" "$(fabric_leftovers "$2")"
}

# wait_until SECONDS COMMAND...: run COMMAND until it succeeds (exit 0) or SECONDS pass (exit 1).
wait_until()
{
        local rc=0

        _fabric_wait "$@" >/dev/null 2>&1 || rc=$?
        return $rc
}

# netd_settled: wait (up to 10 s) until netd's reaper has finished the teardown of detached
# tasks (metadata links and guards go after the detach has answered, while netd is idle).
_netd_reaped()
{
        [[ $("$O/netdctl" -s "$NETD_SOCKET" -j health 2>/dev/null | jq -r .reaping) == 0 ]]
}

netd_settled()
{
        local rc=0

        sleep 0.3
        _fabric_wait 10 _netd_reaped >/dev/null 2>&1 || rc=$?
        return $rc
}

_tap_netd_log()
{
        if [[ -n ${NETD_LOG:-} && -s $NETD_LOG ]]; then
                tap_diag "the end of $NETD_LOG:"
                tail -n 60 "$NETD_LOG" | tap_diag
        fi
}

# tap_done: print the plan and exit 0 if no test failed, 1 otherwise (the EXIT trap of
# fabric_up then tears the fabric down). On failure, the end of netd's log is shown.
tap_done()
{
        echo "1..$TAP_COUNT"
        if ((TAP_FAILED)); then
                _tap_netd_log
                exit 1
        fi
        exit 0
}

_tap_skip_all()
{
        echo "1..0 # SKIP $*"
        exit 77
}

require_root()
{
        ((EUID == 0)) || _tap_skip_all "needs root"
}

# require_cmd CMD...: skip the script when a command is missing (scripts/deps.sh installs them).
require_cmd()
{
        local c miss=()

        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 || miss+=("$c")
        done
        ((${#miss[@]} == 0)) || _tap_skip_all "missing ${miss[*]}"
}
