#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A launched task's ephemeral storage (issue 11, part 3): 1.4.0 one 20 GiB volume (21-200 with
# ephemeralStorage.sizeInGiB), 1.3.0 10 GiB for the container layer and 4 GiB for volumes, as the
# containers see them (df); a task volume shared by two containers; sizes refused before
# anything is made; a full volume gives the container ENOSPC, not the host, and shows in
# EphemeralStorageMetrics; the volumes are gone after the task.
set -euo pipefail
source "$(dirname "$0")/common.sh"
LN_AGENT_ARGS=(--platform-eni p1)
ln_setup 2
ln_platform_eni 2 || tap_bail "platform ENI"

df_cmd='df -k / /data | tail -n 2 | awk "{ print \$6, \$2 }"; cat /data/shared'
ln_taskdef df "$(jq -n --arg img "$LN_IMAGE" --arg df "$df_cmd" '{
  volumes: [{name: "data"}],
  containerDefinitions: [
    {name: "writer", image: $img, essential: false,
     command: ["/bin/sh", "-c", "echo written-by-writer > /data/shared"],
     mountPoints: [{sourceVolume: "data", containerPath: "/data"}]},
    {name: "app", image: $img, command: ["/bin/sh", "-c", $df],
     dependsOn: [{containerName: "writer", condition: "SUCCESS"}],
     mountPoints: [{sourceVolume: "data", containerPath: "/data", readOnly: true}]}]}')"

run_df()
{
        local id

        id=$(ln_run df 1 "$@") || true
        ln_wait_phase "$id" STOPPED || true
        echo "$id"
}

id=$(run_df)
# ext4 keeps about 2% for itself: 19.5-20 GiB of 1 KiB blocks
check_match "1.4.0: / and the volume are one 20 GiB volume" \
        "^/ 20[34][0-9]{5} /data 20[34][0-9]{5} written-by-writer$" "$(echo $(ln_logs "$id" app))"
check_eq "Reserved: 20 GiB in MiB" 20480 "$(ln_show "$id" | jq .storage.reserved_mib)"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

jq '. + {ephemeralStorage: {sizeInGiB: 21}}' "$FABRIC_RUN/df.json" >"$FABRIC_RUN/df21.json"
mv "$FABRIC_RUN/df21.json" "$FABRIC_RUN/df.json"
id=$(run_df)
check_match "ephemeralStorage 21: a 21 GiB volume" "^/ 21[45][0-9]{5} /data 21[45][0-9]{5} " \
        "$(echo $(ln_logs "$id" app))"
check_eq "Reserved: 21 GiB in MiB" 21504 "$(ln_show "$id" | jq .storage.reserved_mib)"

before=$(ls "$FABRIC_RUN/taskns" 2>/dev/null | wc -l)
rc=0
out=$(ln_run df 1 --platform-version 1.3.0) || rc=$?
check_match "1.3.0 refuses ephemeralStorage, at once" \
        "ephemeralStorage is not supported on platform version 1.3.0" "$rc $out"
jq '. + {ephemeralStorage: {sizeInGiB: 201}}' "$FABRIC_RUN/df.json" >"$FABRIC_RUN/df201.json"
out=$(taskvm run --task-definition "$FABRIC_RUN/df201.json" --cluster "$MD_CLUSTER" \
        --eni "$(fabric_eni_mac 1)" --address "$(fabric_eni_ip 1)/16" 2>&1 || true)
check_match "sizeInGiB 201 is refused" "ephemeralStorage.sizeInGiB must be 21-200" "$out"
check_eq "and nothing was made" "$before 0" \
        "$(ls "$FABRIC_RUN/taskns" 2>/dev/null | wc -l) $(netdctl -j task list | jq length)"

jq 'del(.ephemeralStorage)' "$FABRIC_RUN/df.json" >"$FABRIC_RUN/df13.json"
mv "$FABRIC_RUN/df13.json" "$FABRIC_RUN/df.json"
id=$(run_df --platform-version 1.3.0)
check_match "1.3.0: 10 GiB for / and 4 GiB for the volume" \
        "^/ 10[12][0-9]{5} /data 4[01][0-9]{5} written-by-writer$" "$(echo $(ln_logs "$id" app))"
check_eq "Reserved: 14 GiB in MiB" 14336 "$(ln_show "$id" | jq .storage.reserved_mib)"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

# --- a full volume: ENOSPC for the container, not for the host ------------------------------
# fallocate most of the free space (no data is written), write until it fails, write again.
fill='avail=$(df -k / | awk "NR == 2 { print \$4 }");
      fallocate -l $(( (avail - 16384) * 1024 )) /big || exit 10;
      n=0; for bs in 64k 4k 4k 4k; do
              n=$((n + 1)); dd if=/dev/zero of=/fill$n bs=$bs 2>/dev/null; sync;
      done;
      dd if=/dev/zero of=/last bs=4k count=1 conv=fsync 2>&1 | grep -o "No space left on device";
      sh -c "echo more > /new" 2>&1 | grep -o "No space left on device";
      echo filled; trap "exit 0" TERM; while :; do sleep 0.2; done'
ln_taskdef fill "$(jq -n --arg img "$LN_IMAGE" --arg cmd "$fill" '{containerDefinitions: [
    {name: "app", image: $img, stopTimeout: 2, command: ["/bin/sh", "-c", $cmd]}]}')"
host_before=$(df -k --output=avail "$FABRIC_RUN" | tail -n 1)
id=$(ln_run fill 1) || true
if wait_until 90 grep -q filled "$FABRIC_RUN/runs/$id/logs/app.log"; then
        log=$(ln_logs "$id" app)
        check_match "the container writing to its full root gets ENOSPC" \
                "^No space left on device" "$log"
        check_match "so does a new file" "No space left on device.*No space left on device" \
                "$(echo $log)"
        host_after=$(df -k --output=avail "$FABRIC_RUN" | tail -n 1)
        check "the host's free space hardly moved ($(((host_before - host_after) >> 10)) MiB)" \
                test $((host_before - host_after)) -lt $((256 * 1024))
        used() { [[ $(ln_show "$id" | jq .storage.utilized_mib) -gt 19000 ]]; }
        check "EphemeralStorageMetrics: Utilized is nearly all of the 20 GiB" wait_until 10 used
        md=$(ln_show "$id" | jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4')
        check_match "and the task's metadata says so" '^[0-9]{5} 20480$' \
                "$(fabric_nsexec host curl -s --max-time 5 \
                        "http://127.0.0.1:51679/v4/${md##*/}/task" |
                        jq -r '"\(.EphemeralStorageMetrics.Utilized) \(.EphemeralStorageMetrics.Reserved)"')"
else
        tap_fail "the container fills its volume" "$(ln_logs "$id" app)" "$(ln_show "$id")"
fi
check "taskvm stop" taskvm stop "$id"
check_eq "the full volume is gone with the task" "" "$(ln_leftovers "$id")"
check_eq "no volume image is left (but the spare shim's, for the next task)" "" \
        "$(ln_volume_files)"
ln_done
