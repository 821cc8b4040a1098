#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A task's ephemeral storage per platform version: 1.4.0 one sparse 20 GiB ext4 volume on a loop
# device (or ephemeralStorage.sizeInGiB), 1.3.0 10 GiB for container layers and 4 GiB for
# volumes; what a container sees (df); a full volume gives the container ENOSPC and leaves the
# host's file system alone (and on 1.3.0 the other volume writable); the teardown, also after a
# crash, from what is on disk.
set -euo pipefail
source "$(dirname "$0")/rt.sh"
rt_setup 0
ns=$(rt_task_ns t1)

GIB=$((1024 * 1024 * 1024))

# allocated NAME FILE: bytes the host has allocated for the sparse file.
allocated()
{
        echo $(($(stat -c '%b * %B' "$FABRIC_RUN/$1/state/$2")))
}

# size NAME FILE: its apparent size.
size()
{
        stat -c %s "$FABRIC_RUN/$1/state/$2"
}

# mounted NAME VOLUME: "FSTYPE SOURCE" of the volume's mount.
mounted()
{
        findmnt -rn -o FSTYPE,SOURCE --mountpoint "$FABRIC_RUN/$1/mnt/$2" || true
}

# backing DEVICE: the loop device's backing file.
backing()
{
        cat "/sys/block/${1#/dev/}/loop/backing_file"
}

# --- 1.4.0: 20 GiB flat ---
check "1.4.0: storage is created" rt_ctrrun s14 storage-create --platform 1.4.0
rt_ctrrun s14 storage-create --platform 1.4.0 >"$FABRIC_RUN/s14.out" 2>&1 || true
check_match "1.4.0: a second create is refused" "exists: the task has storage already" \
        "$(cat "$FABRIC_RUN/s14.out")"
dev=$(findmnt -rn -o SOURCE --mountpoint "$FABRIC_RUN/s14/mnt/ephemeral" || true)
check_eq "1.4.0: one 20 GiB file" "$((20 * GIB))" "$(size s14 ephemeral.img)"
check "1.4.0: sparse (less than 64 MiB allocated)" test "$(allocated s14 ephemeral.img)" -lt \
        $((64 * 1024 * 1024))
check_match "1.4.0: ext4 on a loop device, mounted" "^ext4 /dev/loop[0-9]+$" \
        "$(mounted s14 ephemeral)"
check_eq "1.4.0: the loop device is backed by the file" "$FABRIC_RUN/s14/state/ephemeral.img" \
        "$(backing "$dev")"
check_eq "1.4.0: nothing else" "ephemeral.img" "$(ls "$FABRIC_RUN/s14/state")"
check "teardown" rt_ctrrun s14 storage-teardown
check_eq "teardown leaves nothing" "" "$(rt_leftovers s14)"
check_eq "the loop device is free" "" "$(cat "/sys/block/${dev#/dev/}/loop/backing_file" \
        2>/dev/null || true)"
check "a second teardown is fine" rt_ctrrun s14 storage-teardown

# --- 1.3.0: 10 + 4 GiB, two volumes ---
check "1.3.0: storage is created" rt_ctrrun s13 storage-create --platform 1.3.0
check_eq "1.3.0: a 10 GiB layer volume" "$((10 * GIB))" "$(size s13 layer.img)"
check_eq "1.3.0: a 4 GiB task-volume volume" "$((4 * GIB))" "$(size s13 volumes.img)"
check_match "1.3.0: both mounted, each on its loop device" \
        "^ext4 /dev/loop[0-9]+ ext4 /dev/loop[0-9]+$" \
        "$(echo $(mounted s13 layer) $(mounted s13 volumes))"
check "1.3.0: teardown" rt_ctrrun s13 storage-teardown
check_eq "1.3.0: teardown leaves nothing" "" "$(rt_leftovers s13)"

# --- ephemeralStorage ---
td='{"family": "f", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app",
     "image": "i"}], "ephemeralStorage": {"sizeInGiB": SIZE}}'
rt_taskdef e21 "${td/SIZE/21}"
check "ephemeralStorage 21 on 1.4.0" rt_ctrrun e21 storage-create --platform 1.4.0 \
        --taskdef "$FABRIC_RUN/e21.json"
check_eq "a 21 GiB volume" "$((21 * GIB))" "$(size e21 ephemeral.img)"
check "teardown" rt_ctrrun e21 storage-teardown
out=$(rt_ctrrun e13 storage-create --platform 1.3.0 --taskdef "$FABRIC_RUN/e21.json" 2>&1 || true)
check_match "ephemeralStorage is refused on 1.3.0" \
        "ephemeralStorage is not supported on platform version 1.3.0 \(it needs 1.4.0 or later\)" \
        "$out"
check "before anything is created" test ! -e "$FABRIC_RUN/e13"
for s in 20 201; do
        rt_taskdef "e$s" "${td/SIZE/$s}"
        out=$("$CTRRUN" validate --taskdef "$FABRIC_RUN/e$s.json" 2>&1 || true)
        check_match "sizeInGiB $s is refused" "ephemeralStorage.sizeInGiB must be 21-200" "$out"
done

# --- a crash right after the storage is made: teardown from what is on disk ---
rc=0
rt_ctrrun crash storage-create --platform 1.3.0 --crash-at storage >/dev/null 2>&1 || rc=$?
check_eq "ctrrun was killed after creating the storage" 137 "$rc"
check "it left volumes behind" test -n "$(rt_leftovers crash)"
check "teardown after the crash" rt_ctrrun crash storage-teardown
check_eq "the teardown leaves nothing" "" "$(rt_leftovers crash)"

# --- what a container sees ---
rt_taskdef df '{"family": "f", "cpu": "256", "memory": "512",
  "volumes": [{"name": "data"}],
  "containerDefinitions": [{"name": "app", "image": "i",
    "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}],
    "command": ["df -k / /data | tail -n 2 | awk \"{ print \\$6, \\$2 }\""]}]}'
check "1.4.0: a container runs on the volume" rt_run df --platform 1.4.0 --netns "$ns"
# ext4 keeps about 2% for itself: 19.5-20 GiB of 1 KiB blocks
check_match "1.4.0: df inside shows ~20 GiB for / and /data (one volume)" \
        "^/ 20[34][0-9]{5} /data 20[34][0-9]{5}$" "$(echo $(rt_log df app))"
check_eq "and the teardown leaves nothing" "" "$(rt_leftovers df t1)"
: >"$FABRIC_RUN/df/logs/app.log"
check "1.3.0: a container runs on the volumes" rt_run df --platform 1.3.0 --netns "$ns"
check_match "1.3.0: df inside shows ~10 GiB for / and ~4 GiB for /data" \
        "^/ 10[12][0-9]{5} /data 4[01][0-9]{5}$" "$(echo $(rt_log df app))"
check_eq "and the teardown leaves nothing" "" "$(rt_leftovers df t1)"

# --- a full volume: ENOSPC for the container, not for the host ---
# fallocate most of the free space (fast: no data is written), write until it fails (a few
# rounds: ext4 gives back the space it set aside for delayed allocation once data is on disk),
# then write once more.
fill='avail=$(df -k /data | awk "NR == 2 { print \$4 }");
      fallocate -l $(( (avail - 16384) * 1024 )) /data/big || exit 10;
      n=0; for bs in 64k 4k 4k 4k; do
              n=$((n + 1)); dd if=/dev/zero of=/data/fill$n bs=$bs 2>/dev/null; sync;
      done;
      dd if=/dev/zero of=/data/last bs=4k count=1 conv=fsync 2>&1 | grep -o "No space left on device";
      sh -c "echo more > /data/new" 2>&1 | grep -o "No space left on device";
      echo written-to-root > /root-file && echo root-ok;
      echo filled; trap "exit 0" TERM; while :; do sleep 1; done'
rt_taskdef fill "$(jq -n --arg cmd "$fill" '{family: "f", cpu: "256", memory: "512",
  volumes: [{name: "data"}],
  containerDefinitions: [{name: "app", image: "i", stopTimeout: 2, command: [$cmd],
    mountPoints: [{sourceVolume: "data", containerPath: "/data"}]}]}')"
for v in 1.4.0 1.3.0; do
        host_before=$(df -k --output=avail "$FABRIC_RUN" | tail -n 1)
        rt_run_bg fill --platform "$v" --netns "$ns"
        if rt_wait_event fill '^started app' && wait_until 60 grep -q filled \
                "$FABRIC_RUN/fill/logs/app.log"; then
                log=$(rt_log fill app)
                check_match "$v: writing to a full volume gives the container ENOSPC" \
                        "^No space left on device" "$log"
                check_match "$v: so does a new file" \
                        "No space left on device.*No space left on device" "$(echo $log)"
                if [[ $v == 1.3.0 ]]; then
                        check_match "1.3.0: the container layer is another volume: / is writable" \
                                "root-ok" "$log"
                else
                        check_eq "1.4.0: one volume: / is full too" "" \
                                "$(grep root-ok <<<"$log" || true)"
                fi
                images=$(ls "$FABRIC_RUN/fill/state")
                alloc=0
                for f in $images; do
                        alloc=$((alloc + $(allocated fill "$f")))
                done
                check "$v: the host allocated less than 256 MiB for the volumes ($((alloc >> 20)) MiB)" \
                        test "$alloc" -lt $((256 * 1024 * 1024))
                host_after=$(df -k --output=avail "$FABRIC_RUN" | tail -n 1)
                check "$v: the host's free space hardly moved ($(((host_before - host_after) >> 10)) MiB)" \
                        test $((host_before - host_after)) -lt $((256 * 1024))
                kill -USR1 "$RT_PID"
                if rt_wait_event fill '^usage .* .*' && wait_until 5 test "$(grep -c '^usage' \
                        "$FABRIC_RUN/fill.out")" -ge 2; then
                        read -r _ used reserved < <(grep '^usage' "$FABRIC_RUN/fill.out" | tail -1)
                        if [[ $v == 1.4.0 ]]; then
                                check_eq "$v: EphemeralStorageMetrics Reserved (MiB)" 20480 \
                                        "$reserved"
                                check "$v: Utilized is nearly all of it ($used MiB)" \
                                        test "$used" -gt 19000
                        else
                                check_eq "$v: EphemeralStorageMetrics Reserved (MiB)" 14336 \
                                        "$reserved"
                                check "$v: Utilized is the full volumes volume ($used MiB)" \
                                        test "$used" -gt 3800 -a "$used" -lt 5000
                        fi
                else
                        tap_fail "$v: usage is reported on SIGUSR1" "$(rt_events fill)"
                fi
        else
                tap_fail "$v: the container fills its volume" "$(rt_events fill)" \
                        "$(cat "$FABRIC_RUN/fill.err")" "$(rt_log fill app)"
        fi
        kill -TERM "$RT_PID" 2>/dev/null || true
        rc=0
        wait "$RT_PID" || rc=$?
        check_eq "$v: the task stops when asked" 0 "$rc"
        check_eq "$v: and the teardown leaves nothing" "" "$(rt_leftovers fill t1)"
        rm -f "$FABRIC_RUN/fill/logs/app.log"
done
tap_done
