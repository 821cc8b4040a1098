#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Stopping a launched task (issue 11, part 6): taskvm stop sends each container its stop signal
# (the image's StopSignal, else SIGTERM) and SIGKILL after its stopTimeout; a container that
# ignores SIGTERM (a pid 1 without a handler) is killed at its timeout, not before; a task is
# stopped while it pulls (the pull is cancelled); stopping a stopped task is no error, an unknown
# one is; the phases on the way; nothing is left.
set -euo pipefail
source "$(dirname "$0")/common.sh"
ln_setup 2

# An image whose StopSignal is SIGUSR1.
fabric_image_build test/app v2 >/dev/null || tap_bail "image v2"
umoci config --image "$FABRIC_RUN/oci/test_app:v2" --config.stopsignal SIGUSR1 ||
        tap_bail "stop signal"
fabric_image_push "$FABRIC_RUN/oci/test_app" v2 test/app >/dev/null || tap_bail "push v2"

ln_taskdef stop "$(jq -n --arg img "$LN_IMAGE" --arg img2 "${LN_IMAGE%:v1}:v2" '{
  containerDefinitions: [
    {name: "stubborn", image: $img, stopTimeout: 3,
     command: ["/bin/sh", "-c", "echo up; while :; do sleep 0.2; done"]},
    {name: "polite", image: $img, essential: false, stopTimeout: 30,
     command: ["/bin/sh", "-c", "trap \"echo got-term; exit 3\" TERM; echo up; while :; do sleep 0.2; done"]},
    {name: "usr1", image: $img2, essential: false, stopTimeout: 30,
     command: ["/bin/sh", "-c", "trap \"echo got-usr1; exit 4\" USR1; echo up; while :; do sleep 0.2; done"]}]}')"
id=$(ln_run stop 1) || true
check_eq "the task runs" RUNNING "$(ln_phase "$id")"
# A signal sent before a container's shell has set its trap would find no handler.
all_up() { [[ $(cat "$FABRIC_RUN/runs/$id/logs/"*.log 2>/dev/null | grep -c '"up\\n"') == 3 ]]; }
check "every container is up, its handler set" wait_until 10 all_up
check "taskvm stop waits until the task is stopped" taskvm stop "$id" --reason "maintenance"
show=$(ln_show "$id")
check_eq "STOPPED, UserInitiated, with the reason given" "STOPPED UserInitiated maintenance" \
        "$(jq -r '"\(.phase) \(.stop_code) \(.stopped_reason)"' <<<"$show")"
check_eq "SIGTERM ignored: SIGKILL (137); SIGTERM handled (3); the image's StopSignal (4)" \
        "stubborn 137|polite 3|usr1 4" \
        "$(jq -r '[.containers[] | "\(.name) \(.exit_code)"] | join("|")' <<<"$show")"
check_eq "each saw its signal" "up got-term up got-usr1" \
        "$(echo $(ln_logs "$id" polite) $(ln_logs "$id" usr1))"
# The kill comes at the stopTimeout (3 s after the stop was asked), not before.
check "the stubborn one was killed after its stopTimeout, not before" jq -e \
        '(.stopping | sub("\\.[0-9]+Z$"; "Z") | fromdate) + 3 <=
         (.containers[] | select(.name == "stubborn") | .finished | sub("\\.[0-9]+Z$"; "Z") | fromdate) + 1' \
        <<<"$show"
check "the polite ones stopped before it" jq -e \
        '(.containers | map({(.name): .finished}) | add) as $f | $f.polite <= $f.stubborn and $f.usr1 <= $f.stubborn' \
        <<<"$show"
check_eq "nothing of the task is left" "" "$(ln_leftovers "$id")"

rc=0
out=$(taskvm stop "$id" 2>&1) || rc=$?
check_eq "stopping a stopped task: no error, it says so" "0 task $id STOPPED: maintenance" \
        "$rc $out"
rc=0
out=$(taskvm -j stop 0123456789abcdef0123456789abcdef) || rc=$?
check_eq "an unknown task: not found" "1 -32001" "$rc $(jq -r .error.code <<<"$out")"

# --- a stop while the task pulls --------------------------------------------------------------
# 198.18.0.99 has no host: the connect waits (10 s) while the task is PENDING.
ln_taskdef slow "$(jq -n '{containerDefinitions: [{name: "app", image: "198.18.0.99:5000/test/app:v1"}]}')"
rc=0
out=$(ln_run slow 2 --detach) || rc=$?
id2=$(jq -r .task_id "$FABRIC_RUN/slow.run")
check_eq "taskvm run --detach answers at once" "0 PROVISIONING" \
        "$rc $(jq -r .phase "$FABRIC_RUN/slow.run")"
check "the task pulls (PENDING)" ln_wait_phase "$id2" PENDING 10
check "taskvm stop" taskvm stop "$id2"
show=$(ln_show "$id2")
check_eq "it stopped, by the user, its container never created" \
        "STOPPED UserInitiated STOPPED null" \
        "$(jq -r '"\(.phase) \(.stop_code) \(.containers[0].status) \(.containers[0].started)"' <<<"$show")"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id2")"
check "no process of its shim is left" test -z "$(pgrep -f "runs/$id2" || true)"

# --- a stop while the pull thread waits -----------------------------------------------------
# The image in the store: its pull is a thread of the shim; the registry drops the connection's
# SYN, so that the connect waits (10 s) while the task is PENDING. The stop cancels the thread.
fabric_nsexec vpc nft -f - <<EOT || tap_bail "nft"
table inet tpsilent {
        chain input {
                type filter hook input priority 0;
                tcp dport $FABRIC_REGISTRY_PORT drop
        }
}
EOT
ln_taskdef cached "$(jq -n --arg img "$LN_IMAGE" '{containerDefinitions: [{name: "app",
    image: $img, command: ["/bin/sh", "-c", "sleep 30"]}]}')"
rc=0
ln_run cached 2 --detach >/dev/null || rc=$?
id3=$(jq -r .task_id "$FABRIC_RUN/cached.run")
check_eq "a task of the image in the store, the registry silent: taskvm run --detach" \
        "0 PROVISIONING" "$rc $(jq -r .phase "$FABRIC_RUN/cached.run")"
_threaded() { grep -q "Pulling .* (in a thread: the store has it)" "$FABRIC_RUN/runs/$id3/shim.log"; }
check "its shim's pull thread waits for the registry" wait_until 10 _threaded
check "taskvm stop" taskvm stop "$id3"
check_match "the thread was cancelled" "Pull of .* ended, the task stopping: .*cancelled" \
        "$(cat "$FABRIC_RUN/runs/$id3/shim.log")"
check_eq "the task stopped, by the user" "STOPPED UserInitiated" \
        "$(ln_show "$id3" | jq -r '"\(.phase) \(.stop_code)"')"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id3")"
fabric_nsexec vpc nft delete table inet tpsilent || true
ln_done
