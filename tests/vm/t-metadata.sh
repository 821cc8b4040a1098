#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A container in a task VM reads its own task metadata: the VM's second NIC is wired by netd
# ("wiring": "vm") to the task's metadata link (tapmd beside md0) as its first is to the ENI
# (tap0 beside eth1), with the link's MAC and address,
# so that the agent ties its requests to the task exactly as it does for a runc task. One boot.
# (busybox-static's wget crashes with -T: no timeout option here; vmrun's --timeout bounds it.)
set -euo pipefail
source "$(dirname "$0")/../metadata/md.sh"
source "$(dirname "$0")/common.sh"
require_root
require_vm
require_cmd curl

fabric_up 1
netd_start
md_netd_up
md_agent_start
md_task_up t1 1 wiring vm
ns=$FABRIC_PREFIX-t1
check "netd built the task's metadata link" md_netd_link t1
reg=$(md_register t1)
uri=$(jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4' <<<"$reg")
arn=$(jq -r .task_arn <<<"$reg")
check_match "a metadata URI for the task's first container" '^http://169\.254\.170\.2/v4/' "$uri"

md=${MD_ADDR[t1]}
mdmac=$(ip -n "$ns" -j link show md0 | jq -r '.[0].address')
check_eq "netd made a tap beside eth1 and one beside md0" "tap0 tapmd" \
        "$(ip -n "$ns" -j link show type tun | jq -r '[.[].ifname] | sort | join(" ")')"
img=$FABRIC_RUN/root.img
check "a root file system image" vm_image "$img"

rc=0
vmrun_in t1 --timeout 60 --console "$FABRIC_RUN/console.log" --events "$FABRIC_RUN/events" \
        --nic "tap0,eth1,$(fabric_eni_mac 1),$(fabric_eni_ip 1)/16,$FABRIC_MTU" \
        --nic "tapmd,md0,$mdmac,$md/32" --route "0.0.0.0/0,eth1,$FABRIC_GATEWAY" \
        --route "169.254.170.2/32,md0" --drive "$img,root" --root root --env PATH=/bin \
        --env "ECS_CONTAINER_METADATA_URI_V4=$uri" -- /bin/sh -c \
        'wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4/task" && echo &&
         wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4"' \
        >"$FABRIC_RUN/out" 2>"$FABRIC_RUN/err" || rc=$?
check_eq "the container's requests succeeded" 0 "$rc"
((rc == 0)) || tap_diag "$(cat "$FABRIC_RUN/events" "$FABRIC_RUN/err" "$FABRIC_RUN/console.log")"
task=$(sed -n 1p "$FABRIC_RUN/out")
container=$(sed -n 2p "$FABRIC_RUN/out")
check_eq "/task from inside the VM is the task's own" "$arn" "$(jq -r .TaskARN <<<"$task" 2>&1)"
check_eq "and the container's own metadata names it" app "$(jq -r .Name <<<"$container" 2>&1)"
check_match "its network is the ENI's" "$(fabric_eni_ip 1)" \
        "$(jq -c '.Networks' <<<"$container" 2>&1)"
check_eq "the VM powered off" poweroff "$(event_field "$FABRIC_RUN/events" exit 3)"

check "task check: the wiring is intact" netdctl task check t1
check "detach" netdctl task detach t1
check_eq "no tap is left" "" "$(ip -n "$ns" -j link show type tun | jq -r '.[].ifname')"
tap_done
