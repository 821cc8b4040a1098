#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Platform versions in the launch (issue 12, part 1): the agent loads its --platforms-dir at start
# (a bad one stops the start, with the manifest's error); a launched task is pinned to the
# revision current at its launch, in the journal: after a revision is added to the manifest and
# the agent restarted, the running task keeps its revision (inspect, and the metadata's shape,
# which comes from the revision's facts) and a new task gets the new one; an unknown version is
# refused by run and register with the known ones listed.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ln_fabric 2
pdir=$FABRIC_RUN/platforms
mkdir -p "$pdir"
cp "$FABRIC_ROOT"/runtime/platforms/*.json "$pdir/"

# --- a bad directory stops the start ---------------------------------------------------------
mkdir -p "$FABRIC_RUN/bad-platforms"
jq '.revisions[0].changes.flows.pull = "sideways"' "$pdir/1.4.0.json" \
        >"$FABRIC_RUN/bad-platforms/1.4.0.json"
cp "$pdir/1.3.0.json" "$FABRIC_RUN/bad-platforms/"
for d in "$FABRIC_RUN/bad-platforms" "$FABRIC_RUN/no-such-dir"; do
        rc=0
        out=$("$O/taskvm" agent --socket "$FABRIC_RUN/bad.sock" --state-dir "$FABRIC_RUN/bad-state" \
                --credentials-dir "$FABRIC_RUN/bad-creds" --listen none --local-listen none \
                --platforms-dir "$d" 2>&1 </dev/null) || rc=$?
        check_eq "agent --platforms-dir ${d##*/}: the start fails" 1 "$rc"
        case $d in
        *bad-platforms)
                check_match "and says which file, revision and key" \
                        "1\.4\.0\.json: revision 1: flows\.pull: must be one of" "$out" ;;
        *)
                check_match "and says why" "no-such-dir.*No such file or directory" "$out" ;;
        esac
done
check "nothing was served" test ! -e "$FABRIC_RUN/bad.sock"

LN_AGENT_ARGS=(--platforms-dir "$pdir")
ln_services
check_match "the agent says where its manifests come from" "Platform manifests: $pdir" \
        "$(cat "$AGENT_LOG")"

app='trap "exit 0" TERM; echo up; while :; do sleep 0.2; done'
ln_taskdef p "$(jq -n --arg img "$LN_IMAGE" --arg app "$app" '{containerDefinitions: [
    {name: "app", image: $img, stopTimeout: 2, command: ["/bin/sh", "-c", $app]}]}')"

# task_md ID PATH: the task's metadata (the local listener), PATH after its endpoint.
task_md()
{
        local md

        md=$(ln_show "$1" | jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4 // empty')
        fabric_nsexec host curl -s --max-time 5 "http://127.0.0.1:51679/v4/${md##*/}$2"
}

# --- a task pinned at launch -----------------------------------------------------------------
old=$(ln_run p 1) || true
check_eq "the task runs" RUNNING "$(ln_phase "$old")"
check_eq "inspect -j: version and revision (1.4.0's latest: 5)" "1.4.0 5" \
        "$(ln_show "$old" | jq -r '"\(.platform_version) \(.platform_revision)"')"
check_match "inspect says it" "platform version 1\.4\.0 revision 5" "$(taskvm inspect "$old")"
check_eq "the launch journal records both" "1.4.0 5" \
        "$(jq -r '.params | "\(.platform_version) \(.platform_revision)"' \
                "$AGENT_STATE_DIR/launch/$old.json")"
check_eq "revision 5's metadata: AvailabilityZone, Snapshotter" "$MD_AZ overlayfs" \
        "$(task_md "$old" /task | jq -r '"\(.AvailabilityZone) \(.Containers[0].Snapshotter)"')"
check_eq "and network_rate_stats in stats (from revision 2)" true \
        "$(task_md "$old" /stats | jq 'has("network_rate_stats") and has("networks")')"

# --- a revision added meanwhile, the agent restarted -----------------------------------------
jq '.revisions += [{revision: 6, date: "2030-01-01", description: "A test revision.",
    changes: {metadata: {availability_zone: false, network_rate_stats: false}}}]' \
        "$pdir/1.4.0.json" >"$pdir/1.4.0.json.new"
mv "$pdir/1.4.0.json.new" "$pdir/1.4.0.json"
check "the agent stops (SIGTERM), its task's shim lives on" md_agent_stop
check "taskvm platform show: 1.4.0 is at revision 6 now" test \
        "$("$O/taskvm" -j platform show 1.4.0 --platforms-dir "$pdir" | jq -r .revision)" = 6
ln_agent_start "${LN_AGENT_ARGS[@]}" || tap_bail "agent restart"
check "the running task is adopted, RUNNING" ln_wait_phase "$old" RUNNING 20
check_eq "it keeps revision 5" "1.4.0 5" \
        "$(ln_show "$old" | jq -r '"\(.platform_version) \(.platform_revision)"')"
check_eq "and revision 5's metadata: AvailabilityZone" "$MD_AZ" \
        "$(task_md "$old" /task | jq -r .AvailabilityZone)"
check_eq "and its network_rate_stats" true \
        "$(task_md "$old" /stats | jq 'has("network_rate_stats")')"

new=$(ln_run p 2) || true
check_eq "a new task runs" RUNNING "$(ln_phase "$new")"
check_eq "on revision 6" "1.4.0 6" \
        "$(ln_show "$new" | jq -r '"\(.platform_version) \(.platform_revision)"')"
check_eq "revision 6's metadata: no AvailabilityZone" null \
        "$(task_md "$new" /task | jq -r .AvailabilityZone)"
check_eq "no network_rate_stats, the networks still" "false true" \
        "$(task_md "$new" /stats | jq -r '"\(has("network_rate_stats")) \(has("networks"))"')"
check_eq "its shim got the same revision" "1.4.0 6" \
        "$(jq -r '"\(.platform_version) \(.platform_revision)"' "$FABRIC_RUN/runs/$new/shim.json")"

# --- a revision gone from the manifests: the task that had it stops, nothing is moved ----------
jq 'del(.revisions[5])' "$pdir/1.4.0.json" >"$pdir/1.4.0.json.new"
mv "$pdir/1.4.0.json.new" "$pdir/1.4.0.json"
md_agent_kill9
ln_agent_start "${LN_AGENT_ARGS[@]}" || tap_bail "agent restart"
check "the task of the missing revision is STOPPED" ln_wait_phase "$new" STOPPED 30
check_match "with the reason" \
        "^TaskRuntimeError: cannot restore the task's registration: platform version 1\.4\.0 has no revision 6 \(it has revisions 1-5\)$" \
        "$(ln_show "$new" | jq -r .stopped_reason)"
check_eq "nothing of it is left" "" "$(ln_leftovers "$new")"
check_eq "the other one still runs on revision 5" "RUNNING 5" \
        "$(ln_show "$old" | jq -r '"\(.phase) \(.platform_revision)"')"

# --- unknown versions ------------------------------------------------------------------------
rc=0
out=$(ln_run p 2 --platform-version 1.2.0) || rc=$?
check_eq "run --platform-version 1.2.0 fails" 1 "$rc"
check_eq "with the known ones listed" \
        "unknown platform version '1.2.0' (known: 1.3.0, 1.4.0, LATEST)" "$out"
md_taskdef "$FABRIC_RUN/reg.json" reg ""
rc=0
out=$(taskvm -j register --task-definition "$FABRIC_RUN/reg.json" --cluster "$MD_CLUSTER" \
        --region "$MD_REGION" --availability-zone "$MD_AZ" --netd-task reg \
        --platform-version 9.9.9) || rc=$?
check_eq "register --platform-version 9.9.9 fails" 1 "$rc"
check_eq "with the known ones listed" \
        "unknown platform version '9.9.9' (known: 1.3.0, 1.4.0, LATEST)" \
        "$(jq -r .error.message <<<"$out")"

check "taskvm stop" taskvm stop "$old"
check_eq "nothing of it is left" "" "$(ln_leftovers "$old")"
ln_done
