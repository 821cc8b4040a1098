#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The agent's --image-pull-behavior, as ECS_IMAGE_PULL_BEHAVIOR: with the image in the store and
# the registry unreachable, "default" falls back to the store's copy, "always" stops the task
# with CannotPullContainerError, "prefer-cached" (and "once") take the store's copy without
# asking the registry at all (the task's pull flow stays empty); an image the store lacks is
# pulled under prefer-cached too.
set -euo pipefail
source "$(dirname "$0")/common.sh"
ln_setup 2

app='trap "exit 0" TERM; echo up; while :; do sleep 0.2; done'
ln_taskdef p "$(jq -n --arg img "$LN_IMAGE" --arg app "$app" '{containerDefinitions: [
    {name: "app", image: $img, stopTimeout: 2, command: ["/bin/sh", "-c", $app]}]}')"
id=$(ln_run p 1) || true
check_eq "a first task pulls the image into the store" RUNNING "$(ln_phase "$id")"
check "taskvm stop" taskvm stop "$id"

# The registry unreachable from the tasks: connections refused in the VPC.
block()
{
        fabric_nsexec vpc nft -f - <<EOT
table inet tpblock {
        chain input {
                type filter hook input priority 0;
                tcp dport $FABRIC_REGISTRY_PORT reject with tcp reset
        }
}
EOT
}
unblock() { fabric_nsexec vpc nft delete table inet tpblock; }
check "the registry is made unreachable" block

restart_with()
{
        md_agent_stop || true
        ln_agent_start --image-pull-behavior "$1"
}
pull_bytes() { netdctl -j stats "$1" | jq -r '.flows.pull | .rx.bytes + .tx.bytes'; }

id=$(ln_run p 1) || true
check_eq "default: the pull fails, the store's copy is used, the task runs" RUNNING \
        "$(ln_phase "$id")"
check_match "the shim says so" "Pull of .* failed .*using the image in the store" \
        "$(cat "$FABRIC_RUN/runs/$id/shim.log")"
check_eq "its ImageID is the store's digest" "$LN_DIGEST" \
        "$(ln_show "$id" | jq -r '.containers[0].image_digest')"
check "taskvm stop" taskvm stop "$id"

restart_with always || tap_bail "agent"
id=$(ln_run p 1) || true
check "always: the task is STOPPED" ln_wait_phase "$id" STOPPED 20
check_match "with CannotPullContainerError" "^CannotPullContainerError: " \
        "$(ln_show "$id" | jq -r .stopped_reason)"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

for b in prefer-cached once; do
        restart_with "$b" || tap_bail "agent"
        id=$(ln_run p 1) || true
        check_eq "$b: the task runs from the store" RUNNING "$(ln_phase "$id")"
        check_match "$b: the shim took the store's image" "the image in the store .*behavior $b" \
                "$(cat "$FABRIC_RUN/runs/$id/shim.log")"
        check_eq "$b: the registry was not asked: no byte in the pull flow" 0 "$(pull_bytes "$id")"
        check "taskvm stop" taskvm stop "$id"
done

check "the registry is reachable again" unblock
fabric_image_build test/app v3 >/dev/null || tap_bail "image v3"
jq --arg img "${LN_IMAGE%:v1}:v3" '.containerDefinitions[0].image = $img' "$FABRIC_RUN/p.json" \
        >"$FABRIC_RUN/p3.json"
id=$(ln_run p3 1) || true
check_eq "prefer-cached, an image the store lacks: pulled" RUNNING "$(ln_phase "$id")"
check "over the pull flow" test "$(pull_bytes "$id")" -gt 0
check "taskvm stop" taskvm stop "$id"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"
ln_done
