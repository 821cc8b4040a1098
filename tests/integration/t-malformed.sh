#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Malformed requests each get a JSON-RPC error, the connection that sent them stays usable, and
# other clients are not disturbed.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq socat

fabric_up 1
netd_start
send() { "$O/tests/tools/ctlsend" "$NETD_SOCKET" "$@"; }
code_of() { send <<<"$1" | jq -r '.error.code'; }

check_eq "not JSON: parse error" -32700 "$(code_of 'this is not json')"
check_eq "truncated JSON: parse error" -32700 "$(code_of '{"jsonrpc":"2.0","method":')"
check_eq "an array: invalid request" -32600 "$(code_of '[1,2,3]')"
check_eq "a number: invalid request" -32600 "$(code_of '42')"
check_eq "no jsonrpc member" -32600 "$(code_of '{"method":"health","id":1}')"
check_eq "jsonrpc 1.0" -32600 "$(code_of '{"jsonrpc":"1.0","method":"health","id":1}')"
check_eq "method not a string" -32600 "$(code_of '{"jsonrpc":"2.0","method":7,"id":1}')"
check_eq "unknown member" -32600 "$(code_of '{"jsonrpc":"2.0","method":"health","id":1,"x":1}')"
check_eq "params an array" -32602 "$(code_of '{"jsonrpc":"2.0","method":"task.show","params":["t1"],"id":1}')"
check_eq "unknown method" -32601 "$(code_of '{"jsonrpc":"2.0","method":"task.explode","id":1}')"
check_eq "wrong type" -32602 "$(code_of '{"jsonrpc":"2.0","method":"task.show","params":{"task_id":5},"id":1}')"
check_eq "missing field" -32602 "$(code_of '{"jsonrpc":"2.0","method":"task.attach","params":{"task_id":"t1","mac":"02:00:00:00:00:01"},"id":1}')"
check_eq "unknown parameter" -32602 "$(code_of '{"jsonrpc":"2.0","method":"eni.list","params":{"all":true},"id":1}')"
check_eq "duplicate keys" -32700 "$(code_of '{"jsonrpc":"2.0","method":"health","method":"health","id":1}')"
deep=$(printf '[%.0s' $(seq 1000))
check_eq "nesting 1000 deep" -32700 "$(code_of "{\"jsonrpc\":\"2.0\",\"method\":\"health\",\"params\":{\"a\":$deep},\"id\":1}")"
check_match "the error message says why" "deeper than 32" \
        "$(send <<<"{\"jsonrpc\":\"2.0\",\"method\":\"health\",\"params\":{\"a\":$deep},\"id\":1}" | jq -r .error.message)"
big=$(head -c 100000 /dev/zero | tr '\0' 'a')
check_eq "a 100 KB request: invalid request, id null" "-32600 null" \
        "$(send <<<"{\"jsonrpc\":\"2.0\",\"method\":\"health\",\"params\":{\"pad\":\"$big\"},\"id\":1}" | jq -r '"\(.error.code) \(.id)"')"
check_eq "a bad attach parameter names itself" "Invalid parameters: 3 object item(s) left unpacked: bogus" \
        "$(send <<<'{"jsonrpc":"2.0","method":"task.attach","params":{"task_id":"t1","netns":"/x","mac":"02:00:00:00:00:01","bogus":1},"id":1}' | jq -r .error.message | sed 's/[0-9] object/3 object/')"
check_eq "the id is echoed" '"abc"' \
        "$(send <<<'{"jsonrpc":"2.0","method":"nope","id":"abc"}' | jq -c .id)"

# All of it on one connection, then a good request: every line answered, the last one well.
{
        echo 'garbage'
        echo '[1]'
        echo "{\"jsonrpc\":\"2.0\",\"method\":\"health\",\"params\":{\"pad\":\"$big\"},\"id\":1}"
        printf '\x00\x01\x02\xff\n'
        echo "{\"jsonrpc\":\"2.0\",\"method\":\"health\",\"params\":{\"a\":$deep},\"id\":2}"
        echo '{"jsonrpc":"2.0","method":"health","id":99}'
} | send 6 >"$FABRIC_RUN/mixed.out" || true
check_eq "six lines in, six replies out" 6 "$(wc -l <"$FABRIC_RUN/mixed.out")"
check_eq "the good request after the bad ones is answered" ok \
        "$(tail -n 1 "$FABRIC_RUN/mixed.out" | jq -r 'select(.id==99) | .result.status')"
check_eq "a notification (no id) gets no reply, the next request does" '1' \
        "$(printf '%s\n%s\n' '{"jsonrpc":"2.0","method":"health"}' '{"jsonrpc":"2.0","method":"health","id":1}' | send 1 | jq -r .id)"

# A client that sends half a line and stalls does not block anyone. It runs in its own process
# group (setsid) so that all of its pipeline goes at the end.
clients() { [[ $(netdctl -j health | jq .clients) == "$1" ]]; }
# (socat, not ctlsend: ctlsend connects only once its input has ended.)
setsid bash -c '{ printf "{\"jsonrpc\":\"2.0\",\"method\":"; sleep 30; } |
        socat -u STDIN "UNIX-CONNECT:$1"' stall "$NETD_SOCKET" >/dev/null 2>&1 &
stall=$!
check "the stalling client is connected" wait_until 5 clients 2
check "another client is served while one stalls mid-line" netdctl health
kill -- -"$stall" 2>/dev/null || true
wait "$stall" 2>/dev/null || true
check "netd is still healthy" netdctl health
check_eq "and has no client left behind" 1 "$(netdctl -j health | jq .clients)"
check "netd stops cleanly" netd_stop
tap_done
