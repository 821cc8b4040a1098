#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# systemd: the units of netd and the agent, installed with a PREFIX of a temporary directory,
# pass systemd-analyze verify (their binaries and man pages are where they say); both daemons
# send READY=1 on $NOTIFY_SOCKET once they serve, STATUS= lines, and STOPPING=1 on SIGTERM; with
# stderr on the journal ($JOURNAL_STREAM names it) every log line has its priority prefix.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd systemd-analyze man

fabric_up 1

# --- the units -----------------------------------------------------------------------------

# make in the tests' own build directory, not the one of a make check around this test.
tmake()
{
        env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$FABRIC_ROOT" O="$O" "$@"
}

root=$FABRIC_RUN/prefix
check "make install with PREFIX=$root/usr" \
        tmake PREFIX="$root/usr" CNIBINDIR="$root/opt/cni/bin" install
units=$root/usr/lib/systemd/system
check_eq "the units are in PREFIX/lib/systemd/system" "netd.service taskvm-agent.service" \
        "$(cd "$units" && echo *)"
check_eq "ExecStart= names the installed binaries" \
        "$root/usr/sbin/netd $root/usr/bin/taskvm" \
        "$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$units/netd.service" "$units/taskvm-agent.service" | xargs)"
for u in netd taskvm-agent; do
        check_eq "$u: Type=notify, RuntimeDirectory=, StateDirectory=" \
                "Type=notify RuntimeDirectory=${u%-agent} StateDirectory=${u%-agent}" \
                "$(grep -E '^(Type|RuntimeDirectory|StateDirectory)=' "$units/$u.service" | xargs)"
done
# verify reports problems (an unknown key, a bad value, a missing binary or man page) on its
# output and may still exit 0: both must be clean.
out=$(MANPATH=$root/usr/share/man systemd-analyze verify "$units/netd.service" \
        "$units/taskvm-agent.service" 2>&1) && rc=0 || rc=$?
check_eq "systemd-analyze verify passes on both units, without a word" "0 ''" "$rc '$out'"
# ... and would say something about a broken unit (the check above can fail).
sed 's/^Type=notify/Type=notifyy/' "$units/netd.service" >"$FABRIC_RUN/broken.service"
check_match "verify speaks up about a bad value" "Failed to parse service type" \
        "$(MANPATH=$root/usr/share/man systemd-analyze verify "$FABRIC_RUN/broken.service" 2>&1 || true)"
check_match "and about a man page that is not installed" "man netd\\(8\\)" \
        "$(MANPATH=$FABRIC_RUN/nowhere systemd-analyze verify "$units/netd.service" 2>&1 || true)"
check "the build directory's units are written back for the default PREFIX" \
        tmake "$O/netd.service" "$O/taskvm-agent.service"

# --- sd_notify -----------------------------------------------------------------------------

# notify_start FILE: a datagram socket like systemd's (tests/tools/notify-recv); each line of
# each message arrives in FILE as "SENDER_PID LINE".
notify_start()
{
        NOTIFY_SOCK=$FABRIC_RUN/notify.sock
        rm -f "$1"
        "$O/tests/tools/notify-recv" "$NOTIFY_SOCK" >"$1" &
        NOTIFY_PID=$!
        wait_until 5 test -S "$NOTIFY_SOCK"
}

notify_stop()
{
        kill "$NOTIFY_PID" 2>/dev/null || true
        wait "$NOTIFY_PID" 2>/dev/null || true
}

got=$FABRIC_RUN/netd.notify
notify_start "$got"
# stderr is netd's log file: make it "the journal".
: >>"$FABRIC_RUN/netd.log"
journal=$(stat -c '%d:%i' "$FABRIC_RUN/netd.log")
NOTIFY_SOCKET=$NOTIFY_SOCK JOURNAL_STREAM=$journal netd_start --log-level info
pid=$NETD_PID
check "netd sends READY=1 once it serves (from its main process)" \
        wait_until 5 grep -qx "$pid READY=1" "$got"
check_match "with a STATUS= line" "$pid STATUS=Ready on $NETD_SOCKET: 0 ENIs, 0 tasks" "$(cat "$got")"
check "its socket answers by then" netdctl health
check "netd stops" netd_stop
check "netd sends STOPPING=1 on SIGTERM" wait_until 5 grep -qx "$pid STOPPING=1" "$got"
notify_stop
log=$(sed -n '/^--- netd_start/,$p' "$FABRIC_RUN/netd.log" | grep -v '^--- ')
version=$(cat "$FABRIC_ROOT/VERSION")
check_match "log lines carry the journal's priority prefix (a notice is <5>)" \
        $'(^|\n)<5>netd '"$version ready on " "$log"
check_match "an info line is <6>" $'(^|\n)<6>Received Terminated, exiting' "$log"
check_eq "every line has one, and none has the plain form" "" "$(grep -v '^<[0-7]>' <<<"$log" || true)"

# Without JOURNAL_STREAM, plain lines; without NOTIFY_SOCKET, nothing is sent.
: >"$FABRIC_RUN/netd.log"
netd_start --log-level info
check "netd starts without a notify socket" netdctl health
netd_stop
check_match "and logs in the plain form" $'(^|\n)netd: netd '"$version ready on " \
        "$(cat "$FABRIC_RUN/netd.log")"

# The agent.
got=$FABRIC_RUN/agent.notify
notify_start "$got"
agent_sock=$FABRIC_RUN/agent.sock
NOTIFY_SOCKET=$NOTIFY_SOCK nsenter --net="$FABRIC_HOST_NS_PATH" -- "$O/taskvm" agent \
        --socket "$agent_sock" --netd-socket "$FABRIC_RUN/netd.sock" \
        --credentials-dir "$FABRIC_RUN/credentials" --listen none --local-listen none \
        </dev/null >"$FABRIC_RUN/agent.log" 2>&1 &
agent=$!
check "the agent sends READY=1 once it serves (from its main process)" \
        wait_until 5 grep -qx "$agent READY=1" "$got"
check_match "with a STATUS= line" "$agent STATUS=Ready on $agent_sock" "$(cat "$got")"
check "its socket answers by then" "$O/taskvm" --socket "$agent_sock" health
kill -TERM "$agent"
rc=0
wait "$agent" || rc=$?
check_eq "the agent exits cleanly on SIGTERM" 0 "$rc"
check "and sent STOPPING=1" wait_until 5 grep -qx "$agent STOPPING=1" "$got"
notify_stop
tap_done
