#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Containers created ahead of the network (issue 11, the task start). With the image in the store,
# the shim creates the containers that start first while netd attaches the ENI, with the network
# the agent gives it ahead (the registration's ids drawn before the attach, the ENI's address and
# its DNS name, the DNS servers). They start as ever, after the network, netd's READY and the
# agent's start, and what they see is the task's: their metadata URI served, the hostname,
# /etc/hosts, resolv.conf. Under the default image pull behavior the pull still asks the
# registry: the same digest keeps them, another one (the tag moved) has them made again with the
# pulled image. A container with dependsOn is created at its start. A failed attach, and the agent
# killed at each step after the shim was started, leave nothing. runc create runs beside the
# shim's loop, which takes the network meanwhile: its failure fails the task, a stop waits for it;
# its pid file, not its exit, says that the container is created.
set -euo pipefail
source "$(dirname "$0")/common.sh"
ln_setup 2

app='trap "exit 0" TERM; hostname; cat /etc/hosts /etc/resolv.conf; echo up
while :; do sleep 0.2; done'
ln_taskdef a "$(jq -n --arg img "$LN_IMAGE" --arg app "$app" '{containerDefinitions: [
    {name: "app", image: $img, stopTimeout: 2, command: ["/bin/sh", "-c", $app]}]}')"
ln_taskdef d "$(jq -n --arg img "$LN_IMAGE" --arg app "$app" '{containerDefinitions: [
    {name: "base", image: $img, stopTimeout: 2, command: ["/bin/sh", "-c", $app]},
    {name: "side", image: $img, stopTimeout: 2, command: ["/bin/sh", "-c", $app],
     essential: false, dependsOn: [{containerName: "base", condition: "START"}]}]}')"

shim_log() { cat "$FABRIC_RUN/runs/$1/shim.log" 2>/dev/null || true; }
line_of() { grep -n -m1 -F "$2" "$FABRIC_RUN/runs/$1/shim.log" | cut -d: -f1; }
said_up() { ln_logs "$1" "${2:-app}" | grep -qx up; }

id=$(ln_run a 1) || true
check_eq "default behavior, the store empty: the task runs (the image is pulled)" RUNNING \
        "$(ln_phase "$id")"
check "and nothing is created ahead" \
        test -z "$(shim_log "$id" | grep "created ahead" || true)"
check "taskvm stop" taskvm stop "$id"

id=$(ln_run a 1) || true
check_eq "default behavior, the image in the store: the task runs" RUNNING "$(ln_phase "$id")"
check_match "its container was created ahead of the network, with the store's image" \
        "Container 'app' created ahead of the network" "$(shim_log "$id")"
check_match "the pull asked the registry (one manifest request)" "Pulled .*: 0 layers downloaded" \
        "$(shim_log "$id")"
check "the same digest: the container was kept" \
        test -z "$(shim_log "$id" | grep "created again" || true)"
check_eq "its image is that digest" "$LN_DIGEST" \
        "$(ln_show "$id" | jq -r '.containers[0].image_digest')"
check "it says up" wait_until 10 said_up "$id"
check "taskvm stop" taskvm stop "$id"
check "stopped" ln_wait_phase "$id" STOPPED 20

# the tag moves: test/app:v1 again, with a layer more
mkdir -p "$FABRIC_RUN/moved/etc"
echo moved >"$FABRIC_RUN/moved/etc/marker"
moved=$(fabric_image_build test/app v1 "$FABRIC_RUN/moved") || tap_bail "image build"
ln_taskdef m "$(jq -n --arg img "$LN_IMAGE" '{containerDefinitions: [{name: "app", image: $img,
    stopTimeout: 2, command: ["/bin/sh", "-c",
        "cat /etc/marker; echo up; trap \"exit 0\" TERM; while :; do sleep 0.2; done"]}]}')"
id=$(ln_run m 1) || true
check_eq "the tag moved: the task runs" RUNNING "$(ln_phase "$id")"
check_match "its container was created ahead with the store's image, then again" \
        "its image is $moved now, not the store's $LN_DIGEST it was created with: created again" \
        "$(shim_log "$id")"
check_match "its pull's thread found a layer the store lacks: pulled again in a child" \
        "is not in the store: pulled in a child.*Pulling .* \(pid [0-9]+\)" "$(shim_log "$id" | tr '\n' ' ')"
check_eq "with the pulled image" "$moved" "$(ln_show "$id" | jq -r '.containers[0].image_digest')"
check "which it runs" wait_until 10 said_up "$id"
check_eq "(its layer is there)" moved "$(ln_logs "$id" app | head -n1)"
check_eq "one container in runc's state" app \
        "$(runc --root "$FABRIC_RUN/runs/$id/runc" list -q 2>/dev/null | xargs)"
check "taskvm stop" taskvm stop "$id"
check "stopped" ln_wait_phase "$id" STOPPED 20
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

md_agent_stop || true
ln_agent_start --image-pull-behavior prefer-cached || tap_bail "agent"

# --- prefer-cached, the image in the store: created while netd attaches the ENI ------------------
id=$(ln_run a 1) || true
check_eq "prefer-cached: the task runs" RUNNING "$(ln_phase "$id")"
check_match "its container was created ahead of the network" \
        "Container 'app' created ahead of the network" "$(shim_log "$id")"
ahead=$(line_of "$id" "to create ahead") network=$(line_of "$id" "The task's network")
check "its runc create began before the shim had the network" \
        test "${ahead:-999}" -lt "${network:-0}"
check "it says up" wait_until 10 said_up "$id"
md=$(ln_show "$id" | jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4 // empty')
meta=$(fabric_nsexec host curl -s --max-time 5 "http://127.0.0.1:51679/v4/${md##*/}/task" || true)
check_eq "the metadata URI in its environment is served: its task" "$id" \
        "$(jq -r '.TaskARN // empty' <<<"$meta" | sed 's|.*/||')"
dns=$(jq -r '.Containers[0].Networks[0].PrivateDNSName // empty' <<<"$meta")
check_match "with the task's DNS name" '^ip-198-18-' "$dns"
out=$(ln_logs "$id" app)
check_eq "its hostname is that name" "$dns" "$(head -n1 <<<"$out")"
check_match "its /etc/hosts names the task's address" \
        "^$(fabric_eni_ip 1)[[:space:]]+$dns\$" "$(grep -F "$dns" <<<"$out" | tail -n1)"
check_eq "its resolv.conf has the VPC's DNS server" "nameserver $FABRIC_DNS" \
        "$(grep '^nameserver' <<<"$out")"
check_eq "created, then started" true \
        "$(ln_show "$id" | jq '.containers[0] | .created != null and .started != null and
                .created < .started')"
check "taskvm stop" taskvm stop "$id"
check "stopped" ln_wait_phase "$id" STOPPED 20
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

# --- dependsOn: only the containers that start first are created ahead --------------------------
id=$(ln_run d 1) || true
check_eq "two containers, one depending on the other: the task runs" RUNNING "$(ln_phase "$id")"
check_match "one container was created ahead" "1 container to create ahead of the network" \
        "$(shim_log "$id")"
check "the one that depends on it runs too" wait_until 10 said_up "$id" side
check "taskvm stop" taskvm stop "$id"
check "stopped" ln_wait_phase "$id" STOPPED 20
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

# --- a failed attach (an ENI netd does not know): the containers created ahead go ---------------
out=$(taskvm -j run --task-definition "$FABRIC_RUN/a.json" --cluster "$MD_CLUSTER" \
        --region "$MD_REGION" --availability-zone "$MD_AZ" --eni 02:00:5e:00:00:99 \
        --address 198.18.9.9/16 --nameserver "$FABRIC_DNS" 2>/dev/null || true)
id=$(jq -r '.task_id // .error.data.task_id // empty' <<<"$out")
[[ -n $id ]] || id=$(taskvm -j ps -a | jq -r '[.[] | select(.phase == "STOPPED")] | last | .task_id')
check "an unknown ENI: the task is STOPPED" ln_wait_phase "$id" STOPPED 20
check_match "netd's attach failed" "netd cannot attach the task ENI" \
        "$(ln_show "$id" | jq -r .stopped_reason)"
check_match "while its container was created ahead" "1 container to create ahead" \
        "$(shim_log "$id")"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

# --- the agent killed at each step after the shim was started -----------------------------------
agent_gone() { ! _fabric_alive "$AGENT_PID"; }
for step in spawn attach register; do
        ln_run a 1 --fault "crash:$step" >/dev/null || true
        check "$step: the agent died there" wait_until 5 agent_gone
        id=$(ln_journal_task)
        [[ -n $id ]] || { tap_fail "$step: the journal has the task"; continue; }
        wait "$AGENT_PID" 2>/dev/null || true
        unset AGENT_PID
        ln_agent_start --image-pull-behavior prefer-cached || tap_bail "agent restart"
        check "$step: after the restart the task is STOPPED" ln_wait_phase "$id" STOPPED 20
        check_eq "$step: nothing of it is left" "" "$(ln_leftovers "$id")"
done

# --- runc create ahead runs beside the shim's loop: its failure, a stop while it runs -----------
# (a runc in the agent's PATH that fails or delays `create`, and is runc for all else)
md_agent_stop || true
wrap=$FABRIC_RUN/wrap
mkdir -p "$wrap"
cat >"$wrap/runc" <<EOF
#!/bin/sh
case " \$* " in
*" create "*)
        [ -e "$wrap/fail" ] && exit 3
        [ -e "$wrap/slow" ] && sleep 3
        if [ -e "$wrap/linger" ]; then
                $(command -v runc) "\$@"
                rc=\$?
                sleep 6
                touch "$wrap/ended"
                [ -e "$wrap/late-fail" ] && exit 4
                exit \$rc
        fi ;;
esac
exec $(command -v runc) "\$@"
EOF
chmod +x "$wrap/runc"
PATH="$wrap:$PATH" ln_agent_start --image-pull-behavior prefer-cached || tap_bail "agent"
touch "$wrap/fail"
id=$(ln_run a 1) || true
check "runc create ahead fails: the task is STOPPED" ln_wait_phase "$id" STOPPED 20
check_match "it failed to start, with runc's failure" \
        "CannotCreateContainerError: app: runc create app failed \(exit status 3\)" \
        "$(ln_show "$id" | jq -r .stopped_reason)"
check_eq "its container is STOPPED" STOPPED "$(ln_show "$id" | jq -r '.containers[0].status')"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"
rm "$wrap/fail"
touch "$wrap/slow"
id=$(ln_run a 1 --detach) || true
check "runc create ahead takes 3 s: the shim has the network meanwhile" \
        wait_until 10 grep -q "The task's network" "$FABRIC_RUN/runs/$id/shim.log"
prepared() { shim_log "$1" | grep -q "Task prepared"; }
check "and prepares the task meanwhile (netd's READY, the agent's start follow)" \
        wait_until 10 prepared "$id"
check "its container is neither created nor started yet" \
        test -z "$(shim_log "$id" | grep -E "created ahead of the network \(|Container 'app' started" || true)"
check "taskvm stop while runc create runs" taskvm stop "$id"
check "stopped" ln_wait_phase "$id" STOPPED 20
check_match "once its runc create had ended" "Container 'app' created ahead of the network" \
        "$(shim_log "$id")"
check_eq "its container is STOPPED, never started" "STOPPED null" \
        "$(ln_show "$id" | jq -r '.containers[0] | "\(.status) \(.started)"')"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"
id=$(ln_run a 1 --detach) || true
check "again, not stopped: prepared while runc create runs" wait_until 10 prepared "$id"
started() { shim_log "$1" | grep -q "Container 'app' started"; }
check "the container starts once created" wait_until 20 started "$id"
check_eq "created, then started" "created started" \
        "$(shim_log "$id" | sed -nE "s/.*Container 'app' (created|started).*/\1/p" | xargs)"
check_eq "the task is RUNNING" RUNNING "$(ln_phase "$id")"
check_eq "its container too, started after its creation" "RUNNING true" \
        "$(ln_show "$id" | jq -r '.containers[0] | "\(.status) \(.started > .created)"')"
check "taskvm stop" taskvm stop "$id"
check "stopped" ln_wait_phase "$id" STOPPED 20
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"
rm "$wrap/slow"

# runc create's pid file says that the container is created: its start does not wait for runc's
# exit (its Go runtime's teardown, on the path of every start). A runc create that lingers 6 s
# after its pid file, then ends well, then badly.
touch "$wrap/linger"
id=$(ln_run a 1 --detach) || true
check "runc create lingers after its pid file: the container says up" \
        wait_until 10 said_up "$id"
check "before runc create ended" test ! -e "$wrap/ended"
check_match "known from the pid file" \
        "Container 'app' created ahead of the network \(runc create: [0-9.]+ ms, its pid file written, runc exiting\)" \
        "$(shim_log "$id")"
check_eq "the task is RUNNING" RUNNING "$(ln_phase "$id")"
check "runc create ended" wait_until 15 test -e "$wrap/ended"
check "taskvm stop" taskvm stop "$id"
check "stopped" ln_wait_phase "$id" STOPPED 20
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"
rm -f "$wrap/ended"
touch "$wrap/late-fail"
id=$(ln_run a 1 --detach) || true
check "runc create fails after its pid file: the container says up" wait_until 10 said_up "$id"
check "runc create ended" wait_until 15 test -e "$wrap/ended"
lingered() { shim_log "$1" | grep -q "runc create ended with exit status 4 after writing its pid file"; }
check "the shim says so" wait_until 5 lingered "$id"
check_eq "the task runs on" RUNNING "$(ln_phase "$id")"
check "taskvm stop" taskvm stop "$id"
check "stopped" ln_wait_phase "$id" STOPPED 20
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"
rm -f "$wrap/linger" "$wrap/late-fail" "$wrap/ended"

check_eq "no shim left" "" "$(pgrep -f "^taskvm shim --dir $FABRIC_RUN/runs/.* --log-level [0-9]+( --runc-fd 3)?$" || true)"
ln_done
