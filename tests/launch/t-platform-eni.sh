#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Platform version 1.3.0 end to end (issue 12): one task definition (an image pulled by name from
# a registry with Bearer-token auth, a Secrets Manager secret, awslogs logging) launched on 1.3.0
# and on 1.4.0. On 1.3.0 its pull, auth, secrets and logs bytes are the task's "platform" share,
# crossing the platform ENI (the agent's --platform-eni), each equal to the byte and the packet
# to an nftables count on the VPC side of the platform ENI's link, while its own ENI carries none
# of them; the platform ENI's device counters are what it attributed plus its own. On 1.4.0 the
# same bytes are the task's own flows, equal to the count on its own link, and the platform ENI
# sees nothing of it. The metadata's /task/stats has no networks on 1.3.0 (network_stats false in
# its manifest, as on Fargate 1.3), and has them on 1.4.0. A container of either cannot connect
# to a listener in the platform namespace on the platform ENI's address, while it reaches the
# VPC. Without a platform ENI, a 1.3.0 run is refused saying what to do.
set -euo pipefail
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/../image/common.sh"
require_cmd openssl
ln_fabric 3
img_token_make "$FABRIC_RUN/token" test/app || tap_bail "token"
sm=arn:aws:secretsmanager:$MD_REGION:$MD_ACCOUNT:secret
pass="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
jq -n --arg sm "$sm" --arg pass "$pass" '{
        credentials: {AccessKeyId: "AKIDEXECROLE", SecretAccessKey: "secret-AKIDEXECROLE",
                      Token: "exec-token"},
        secrets: {($sm + ":prod/db-AbCdEf"): {AWSCURRENT: {VersionId: "v1", SecretString: $pass}}},
        parameters: {}}' >"$FABRIC_RUN/secrets.json"
md_creds exec AKIDEXECROLE exec-token
endpoint=http://$FABRIC_GATEWAY:$FABRIC_SECRETS_PORT
LN_AGENT_ARGS=(--insecure-registry "registry.vpc.test:5001" --secretsmanager-endpoint "$endpoint"
        --ssm-endpoint "$endpoint" --secrets-timeout 10 --platform-eni p1)
ln_services --token-file "$FABRIC_RUN/token" --secrets "$FABRIC_GATEWAY:$FABRIC_SECRETS_PORT" \
        --secrets-file "$FABRIC_RUN/secrets.json"
fabric_registry_start --port 5001 --token "http://$FABRIC_GATEWAY/token" tp-registry tp-issuer \
        "$FABRIC_RUN/token.crt" || tap_bail "token registry"
fabric_syslog_start || tap_bail "syslog collector"
pip=$(fabric_eni_ip 3)

# The task definition: the pull by name (DNS on the pull flow), the secret, the logs by address.
app="if nc -w 2 $pip 7777 </dev/null; then echo platform-reached; else echo platform-unreachable; fi
if nc -w 2 $FABRIC_GATEWAY 5000 </dev/null; then echo vpc-reached; else echo vpc-unreachable; fi
echo \"secret \$(printf %s \"\$DB_PASSWORD\" | sha256sum | cut -c1-16)\"
trap 'exit 0' TERM; while :; do sleep 0.2; done"
ln_taskdef pe "$(jq -n --arg img "registry.vpc.test:5001/test/app:v1" --arg app "$app" \
        --arg sm "$sm" --arg exec "arn:aws:iam::$MD_ACCOUNT:role/exec" \
        --arg ep "tcp://$FABRIC_GATEWAY:$FABRIC_SYSLOG_PORT" '{executionRoleArn: $exec,
    containerDefinitions: [{name: "app", image: $img, stopTimeout: 2,
        command: ["/bin/sh", "-c", $app],
        secrets: [{name: "DB_PASSWORD", valueFrom: ($sm + ":prod/db-AbCdEf")}],
        logConfiguration: {logDriver: "awslogs", options: {"awslogs-group": "/ecs/pe",
            "awslogs-region": "us-west-2", "awslogs-stream-prefix": "ecs",
            "awslogs-endpoint": $ep}}}]}')"

# --- without a platform ENI: refused --------------------------------------------------------
rc=0
out=$(ln_run pe 1 --platform-version 1.3.0) || rc=$?
check_eq "1.3.0 while netd has no platform ENI p1: taskvm run fails at once" 1 "$rc"
check_match "saying what is missing" "platform ENI 'p1' \(--platform-eni\): netd: " \
        "$out"
check_eq "and nothing was made" "0" "$(netdctl -j task list | jq length)"

check "netd attaches ENI 3 as the platform ENI p1" ln_platform_eni 3
# A service in the platform namespace, on the platform ENI's address.
nsenter --net="$LN_PLATFORM_NS" busybox nc -ll -p 7777 -e /bin/true </dev/null >/dev/null 2>&1 &
listener=$!
_listening() { [[ -n $(nsenter --net="$LN_PLATFORM_NS" ss -Hltn "sport = :7777") ]]; }
check "a listener on port 7777 in the platform namespace" wait_until 5 _listening
check "which the platform namespace itself reaches" \
        nsenter --net="$LN_PLATFORM_NS" busybox nc -w 2 "$pip" 7777 </dev/null

# The independent count: netdev hooks on the VPC side of each ENI's link, by flow.
{
        echo "table netdev tpplat {"
        for i in 1 2 3; do
                ip=$(fabric_eni_ip "$i")
                for f in pull auth secrets logs; do
                        echo "counter ${f}_tx$i {}"
                        echo "counter ${f}_rx$i {}"
                done
                for d in tx rx; do
                        if [[ $d == tx ]]; then
                                echo "chain $d$i { type filter hook ingress device \"vp$i\" priority 0;"
                                a="ip saddr $ip" p=dport
                        else
                                echo "chain $d$i { type filter hook egress device \"vp$i\" priority 0;"
                                a="ip daddr $ip" p=sport
                        fi
                        echo "$a tcp $p 5001 counter name \"pull_$d$i\" accept"
                        echo "$a udp $p 53 counter name \"pull_$d$i\" accept"
                        echo "$a tcp $p 80 counter name \"auth_$d$i\" accept"
                        echo "$a tcp $p $FABRIC_SECRETS_PORT counter name \"secrets_$d$i\" accept"
                        echo "$a tcp $p $FABRIC_SYSLOG_PORT counter name \"logs_$d$i\" accept"
                        echo "}"
                done
        done
        echo "}"
} | fabric_nsexec vpc nft -f - || tap_bail "nft"
# expect_flow N FLOW: FLOW as counted on ENI N's link, as netd counts it.
expect_flow() { ln_vpc_flow tpplat "${2}_tx$1" "${2}_rx$1"; }
task_stats()
{
        local md

        md=$(ln_show "$1" | jq -r '.containers[0].env.ECS_CONTAINER_METADATA_URI_V4 // empty')
        fabric_nsexec host curl -s --max-time 5 "http://127.0.0.1:51679/v4/${md##*/}/task/stats"
}
_probed() { [[ $(ln_logs "$1" app | grep -c 'reached\|unreachable') == 2 ]]; }
digest=$(printf %s "$pass" | sha256sum | cut -c1-16)

# --- 1.3.0 ------------------------------------------------------------------------------------
id=$(ln_run pe 1 --platform-version 1.3.0) || true
check_eq "the 1.3.0 task runs" RUNNING "$(ln_phase "$id")"
check "its container probed" wait_until 10 _probed "$id"
check_eq "it reached the VPC, not the platform namespace on the platform ENI's address" \
        "platform-unreachable vpc-reached secret $digest" \
        "$(ln_logs "$id" app | grep 'reach\|^secret' | xargs)"
check_match "the platform ENI dropped the attempt (its policy drops)" '^[1-9]' \
        "$(netdctl -j platform show p1 | jq -r .stats.drops.policy.rx.packets)"
ts=$(task_stats "$id")
check_eq "/task/stats: the container's stats, no networks and no rates (network_stats false)" \
        "1 false false" \
        "$(jq -r '[length, any(.[]; has("networks")), any(.[]; has("network_rate_stats"))] | join(" ")' <<<"$ts")"
_logged() { grep -q "secret $digest" "$FABRIC_SYSLOG_FILE" 2>/dev/null; }
check "its log lines are at the collector" wait_until 10 _logged
check "taskvm stop" taskvm stop "$id"
st=$(netdctl -j stats "$id")
for f in pull auth secrets logs; do
        check_match "1.3.0 $f: a real exchange on the platform ENI's link" '^[1-9][0-9]* [1-9]' \
                "$(expect_flow 3 "$f")"
        check_eq "1.3.0 $f: the task's platform share equals it" "$(expect_flow 3 "$f")" \
                "$(st_at ".platform.flows.$f" <<<"$st")"
        check_eq "1.3.0 $f: nothing on its own ENI, in netd" "0 0 0 0" "$(st_at ".flows.$f" <<<"$st")"
        check_eq "1.3.0 $f: nor on its link" "0 0 0 0" "$(expect_flow 1 "$f")"
done
check_match "the pull moved megabytes" '^[0-9]{7,} ' "$(expect_flow 3 pull)"
ps=$(netdctl -j platform show p1 | jq .stats)
check_eq "the platform ENI's flows add up to its device" "$(st_device <<<"$ps")" \
        "$(st_flows_sum <<<"$ps")"
check_eq "what it attributed is the task's platform share" "$(st_at .platform.totals <<<"$st")" \
        "$(st_at .attributed.totals <<<"$ps")"
check_eq "device = attributed + the platform's own" "$(st_device <<<"$ps")" \
        "$(echo "$(st_at .attributed.totals <<<"$ps") $(st_at .unattributed.totals <<<"$ps")" |
                awk '{ print $1 + $5, $2 + $6, $3 + $7, $4 + $8 }')"
check_eq "nothing of the 1.3.0 task is left" "" "$(ln_leftovers "$id")"
before=$(for f in pull auth secrets logs; do expect_flow 3 "$f"; done | xargs)

# --- 1.4.0: the same task definition --------------------------------------------------------
id=$(ln_run pe 2 --platform-version 1.4.0) || true
check_eq "the 1.4.0 task runs" RUNNING "$(ln_phase "$id")"
check "its container probed" wait_until 10 _probed "$id"
check_eq "it reached the VPC, not the platform namespace either" \
        "platform-unreachable vpc-reached secret $digest" \
        "$(ln_logs "$id" app | grep 'reach\|^secret' | xargs)"
ts=$(task_stats "$id")
check_eq "/task/stats: networks (eth1) on 1.4.0" "true" \
        "$(jq -r 'any(.[]; .networks.eth1.rx_bytes > 0)' <<<"$ts")"
check "taskvm stop" taskvm stop "$id"
st=$(netdctl -j stats "$id")
for f in pull auth secrets logs; do
        check_match "1.4.0 $f: a real exchange on its own link" '^[1-9][0-9]* [1-9]' \
                "$(expect_flow 2 "$f")"
        check_eq "1.4.0 $f: the task's own flow equals it" "$(expect_flow 2 "$f")" \
                "$(st_at ".flows.$f" <<<"$st")"
done
check_eq "1.4.0: no platform share" "0 0 0 0" "$(st_at .platform.totals <<<"$st")"
check_eq "the platform ENI's link carried nothing of it" "$before" \
        "$(for f in pull auth secrets logs; do expect_flow 3 "$f"; done | xargs)"
check_eq "nothing of the 1.4.0 task is left" "" "$(ln_leftovers "$id")"

# --- 1.3.0 again, the image in the store ----------------------------------------------------
# Its pull is the shim's thread's manifest request (no child of the shim): on the platform ENI too.
before=$(expect_flow 3 pull)
id=$(ln_run pe 1 --platform-version 1.3.0) || true
check_eq "a second 1.3.0 task runs" RUNNING "$(ln_phase "$id")"
check_match "its pull ran in a thread of its shim, the store having the image" \
        "Pulling .* \(in a thread: the store has it\)" "$(cat "$FABRIC_RUN/runs/$id/shim.log")"
check "taskvm stop" taskvm stop "$id"
st=$(netdctl -j stats "$id")
now=$(expect_flow 3 pull)
check_eq "its pull crossed the platform ENI's link, as its platform share" \
        "$(st_at .platform.flows.pull <<<"$st")" \
        "$(paste -d' ' <(echo "$before") <(echo "$now") |
                awk '{ print $5 - $1, $6 - $2, $7 - $3, $8 - $4 }')"
check_match "... which is a real exchange" '^[1-9][0-9]* [1-9]' "$(st_at .platform.flows.pull <<<"$st")"
check_eq "its own ENI carried none of it" "0 0 0 0" "$(st_at .flows.pull <<<"$st")"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

kill "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
fabric_nsexec vpc nft delete table netdev tpplat || true
check "the platform ENI detaches" netdctl platform detach p1
LN_PLATFORM_NS=
ln_done
