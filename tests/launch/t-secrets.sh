#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Secrets in the launch (issue 12, part 3): a task with a Secrets Manager secret (a JSON key) and
# an SSM parameter, fetched by its shim before its containers exist, with the execution role's
# credentials the agent hands over the shim's socket: the container sees the values in its
# environment; they are nowhere on disk but in the container's config.json (0600) in the task's
# run directory, and not there either once the task stopped; the exchange is the task's secrets
# flow in netd, equal to the byte to an nftables count on the VPC side, and the HTTP bytes the
# shim counted are those the endpoint read and wrote; a missing secret stops the task with ECS's
# reason, before any container was created, and leaves nothing behind.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ln_fabric 2
sm=arn:aws:secretsmanager:$MD_REGION:$MD_ACCOUNT:secret
# Values found nowhere else: the grep for them below means something.
pass="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
url="https://api-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n').example.test"
jq -n --arg sm "$sm" --arg pass "$pass" --arg url "$url" '{
        credentials: {AccessKeyId: "AKIDEXECROLE", SecretAccessKey: "secret-AKIDEXECROLE",
                      Token: "exec-token"},
        secrets: {($sm + ":prod/db-AbCdEf"): {AWSCURRENT: {VersionId: "v1",
                SecretString: ({user: "admin", password: $pass} | tojson)}}},
        parameters: {"/prod/api/url": $url}}' >"$FABRIC_RUN/secrets.json"
md_creds exec AKIDEXECROLE exec-token
# The endpoint by its address: no DNS in the flow, so that the count below is the HTTP alone.
endpoint=http://$FABRIC_GATEWAY:$FABRIC_SECRETS_PORT
LN_AGENT_ARGS=(--secretsmanager-endpoint "$endpoint" --ssm-endpoint "$endpoint"
        --secrets-timeout 10)
ln_services --secrets "$FABRIC_GATEWAY:$FABRIC_SECRETS_PORT" --secrets-file "$FABRIC_RUN/secrets.json"

# The container prints digests of what it sees, never the values.
app='echo "pass $(printf %s "$DB_PASSWORD" | sha256sum)"; echo "url $(printf %s "$API_URL" | sha256sum)";
trap "exit 0" TERM; while :; do sleep 0.2; done'
secret_def()
{
        jq -n --arg img "$LN_IMAGE" --arg app "$app" --arg sm "$sm" --arg key "$1" \
                --arg exec "arn:aws:iam::$MD_ACCOUNT:role/exec" '{executionRoleArn: $exec,
            containerDefinitions: [{name: "app", image: $img, stopTimeout: 2,
                command: ["/bin/sh", "-c", $app],
                secrets: [{name: "DB_PASSWORD", valueFrom: ($sm + ":prod/db-AbCdEf:" + $key + "::")},
                          {name: "API_URL", valueFrom: "/prod/api/url"}]}]}'
}
ln_taskdef sec "$(secret_def password)"

# The independent count: the VPC side of ENI 1's link, the task's address and the endpoint.
ip=$(fabric_eni_ip 1)
ln_vpc_port_count tpsecrets 1 "$FABRIC_SECRETS_PORT" || tap_bail "nft"

id=$(ln_run sec 1) || true
check_eq "the task with secrets runs" RUNNING "$(ln_phase "$id")"
digest() { printf %s "$1" | sha256sum; }
seen() { [[ $(ln_logs "$id" app | grep -c '^pass \|^url ') == 2 ]]; }
check "the container started" wait_until 10 seen
check_eq "it sees the Secrets Manager secret's JSON key" "pass $(digest "$pass")" \
        "$(ln_logs "$id" app | grep '^pass ')"
check_eq "and the SSM parameter" "url $(digest "$url")" "$(ln_logs "$id" app | grep '^url ')"
pid=$(cat "$FABRIC_RUN/runs/$id/runc/app/state.json" 2>/dev/null | jq -r .init_process_pid)
check_eq "its process environment has both" "DB_PASSWORD=$pass API_URL=$url" \
        "$(tr '\0' '\n' <"/proc/$pid/environ" | grep -E '^(DB_PASSWORD|API_URL)=' | xargs)"

# Where the values are on disk: the endpoint's own file, and the container's config.json.
holders()
{
        # (the volumes' images are read through their mounts, the task's and the spare
        # shim's, below runs/: 20 GiB each, mostly holes)
        grep -rlaF --exclude='*.img' --exclude='*.spare' --exclude='*.spare-new' \
                -e "$pass" -e "$url" "$FABRIC_RUN" /var/lib/netd /run/netd 2>/dev/null |
                sed "s|^$FABRIC_RUN/||" | sort | xargs
}
check_eq "on disk: only the endpoint's file and the container's config.json" \
        "runs/$id/bundles/app/config.json secrets.json" "$(holders)"
check_eq "config.json is root's, mode 0600" "600 root" \
        "$(stat -c '%a %U' "$FABRIC_RUN/runs/$id/bundles/app/config.json")"
check_match "not in the agent's log, nor the shim's (they say how many)" \
        "Secrets: 2 fetched in" "$(cat "$FABRIC_RUN/runs/$id/shim.log")"

# The flow: netd's secrets counters against the VPC side's, and the HTTP bytes.
check_match "the exchange crossed the link" '^[1-9][0-9]{2,} [1-9]' "$(ln_vpc_counter tpsecrets tx)"
check_eq "netd's secrets flow equals the VPC side's count" "$(ln_vpc_flow tpsecrets tx rx)" \
        "$(netdctl -j stats "$id" | st_at .flows.secrets)"
http=$(sed -n 's/.*Secrets: 2 fetched in .* (HTTP: \([0-9]*\) bytes sent, \([0-9]*\) received).*/\1 \2/p' \
        "$FABRIC_RUN/runs/$id/shim.log")
check_eq "the endpoint read and wrote what the shim sent and received: 2 requests, 1 connection" \
        "$http 2 1" \
        "$(awk -v ip="$ip" '$2 == "secrets" && $3 == "connection" && $5 == ip ":" {
                i += $6; o += $9; r += $12; n++ } END { print i + 0, o + 0, r + 0, n + 0 }' \
                "$FABRIC_RUN/vpcd.log")"

check "taskvm stop" taskvm stop "$id"
check_eq "stopped: the values are in no file but the endpoint's" "secrets.json" "$(holders)"
check_eq "nothing of the task is left" "" "$(ln_leftovers "$id")"

# --- a missing secret ------------------------------------------------------------------------
ln_taskdef missing "$(secret_def passwd)"
rc=0
id=$(ln_run missing 2) || rc=$?
check_eq "a task whose secret has no such key: taskvm run fails" 1 "$rc"
check "it is STOPPED" ln_wait_phase "$id" STOPPED 20
check_eq "with ECS's code and reason, naming the secret" \
        "TaskFailedToStart ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: secret 'DB_PASSWORD' ($sm:prod/db-AbCdEf:passwd::): the secret has no JSON key 'passwd'" \
        "$(ln_show "$id" | jq -r '"\(.stop_code) \(.stopped_reason)"')"
check_eq "no container was created" "null" "$(ln_show "$id" | jq -r '.containers[0].created')"
check_eq "the values are in no file but the endpoint's" "secrets.json" "$(holders)"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

# An SSM parameter that does not exist: the reason names SSM.
jq '.containerDefinitions[0].secrets[1].valueFrom = "/prod/nope"' "$FABRIC_RUN/sec.json" \
        >"$FABRIC_RUN/nossm.json"
id=$(ln_run nossm 2) || true
check "an unknown SSM parameter: STOPPED" ln_wait_phase "$id" STOPPED 20
check_match "with the reason for SSM" \
        "^ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: secret 'API_URL' \(/prod/nope\): " \
        "$(ln_show "$id" | jq -r .stopped_reason)"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

# No credentials for the execution role: the same reason, saying so.
rm -f "$MD_CREDS_DIR/exec.json"
id=$(ln_run sec 2) || true
check "without the execution role's credentials: STOPPED" ln_wait_phase "$id" STOPPED 20
check_match "saying so" \
        "unable to retrieve secret from asm: secret 'DB_PASSWORD': no credentials of the execution role to fetch it with$" \
        "$(ln_show "$id" | jq -r .stopped_reason)"
check_eq "nothing of it is left" "" "$(ln_leftovers "$id")"

# Refused before anything is made: a malformed valueFrom.
jq '.containerDefinitions[0].secrets[0].valueFrom = "arn:aws:secretsmanager:x"' \
        "$FABRIC_RUN/sec.json" >"$FABRIC_RUN/bad.json"
rc=0
out=$(ln_run bad 2) || rc=$?
check_eq "a malformed valueFrom: taskvm run fails at once" 1 "$rc"
check_match "naming the secret" "DB_PASSWORD" "$out"
fabric_nsexec vpc nft delete table netdev tpsecrets || true
ln_done
