#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A task cannot reach the instance metadata address: an IMDS stand-in answers in the VPC, a task
# attached with imds allow reaches it, a task attached with the default block does not.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq curl

fabric_up 2
fabric_service_start
ip -n "$FABRIC_VPC_NS" addr add 169.254.169.254/32 dev br0
fabric_nsexec vpc "$O/tests/tools/vpcd" --http 169.254.169.254:80 --body "imds-secret" >/dev/null 2>&1 &
wait_until 5 bash -c "ip netns exec $FABRIC_VPC_NS ss -ltn | grep -q 169.254.169.254:80"
netd_start
for i in 1 2; do
        netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
done
netdctl task attach open netns "$(fabric_task_ns open)" mac "$(fabric_eni_mac 1)" \
        addr "$(fabric_eni_ip 1)/16" imds allow >/dev/null
netdctl task attach guarded netns "$(fabric_task_ns guarded)" mac "$(fabric_eni_mac 2)" \
        addr "$(fabric_eni_ip 2)/16" >/dev/null

check_match "the IMDS stand-in answers a task attached with imds allow" "imds-secret" \
        "$(fabric_nsexec open curl -sS --max-time 3 http://169.254.169.254/ 2>&1 || true)"
out=$(fabric_nsexec guarded curl -sS --max-time 3 http://169.254.169.254/ 2>&1 || true)
check_match "a guarded task cannot reach it" "(No route to host|Network is unreachable|Couldn't connect)" "$out"
check_fail "and gets nothing of it" grep -q imds-secret <<<"$out"
check_match "the kernel refuses at once (unreachable route)" "No route to host" \
        "$(ip -n "$FABRIC_PREFIX-guarded" route get 169.254.169.254 2>&1 || true)"
check_match "the guarded task still reaches the VPC service" "you are" \
        "$(fabric_nsexec guarded curl -sS --max-time 3 "$FABRIC_HTTP_URL" 2>&1 || true)"
check "detach open" netdctl task detach open
check "detach guarded" netdctl task detach guarded
tap_done
