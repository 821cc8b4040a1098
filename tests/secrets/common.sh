#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the secrets tests (tests/secrets/t-*.sh), sourced after tests/lib.sh. Secrets are
# fetched with tests/tools/secretsget (runtime/secrets.h, as the task shim will) from the
# fabric's host namespace into a task namespace that netd attached, from the VPC's Secrets
# Manager / SSM endpoint (vpcd --secrets, http://secrets.vpc.test:8080).
#
#       sec_require                     # skip without root or the tools
#       sec_up 2                        # fabric with 2 ENIs, the files below, vpcd, netd
#       sec_task_up t1 1                # ENI 1 attached as task t1, no ARP on the wire
#       sec_get t1 [ARGS...]            # secretsget into t1 with its slot, JSON on stdout
#
# Files under FABRIC_RUN: SEC_FILE (the endpoint's secrets and credentials, tests may rewrite
# it: vpcd reads it for every request), SEC_CREDS (the execution role's credentials, a file of
# the agent's credentials directory), SEC_TASKDEF (a task definition with secrets of both
# services, JSON keys and a version stage included).

# shellcheck source=tests/counters/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../counters/common.sh"

SECRETSGET=$O/tests/tools/secretsget
SEC_SM=arn:aws:secretsmanager:us-east-1:123456789012:secret
SEC_ENDPOINT=http://secrets.vpc.test:$FABRIC_SECRETS_PORT

sec_require()
{
        require_root
        require_cmd jq nft ss
        [[ -x $SECRETSGET ]] || tap_bail "build first: make tests"
}

# sec_files: the endpoint's file, the role's credentials and the task definition.
sec_files()
{
        SEC_FILE=$FABRIC_RUN/secrets.json
        SEC_CREDS=$FABRIC_RUN/exec-role.json
        SEC_TASKDEF=$FABRIC_RUN/taskdef.json
        jq -n --arg sm "$SEC_SM" '{
                credentials: {AccessKeyId: "AKIDTASKPLANE", SecretAccessKey: "s3cr3t/Key+example",
                              Token: "FwoGZXIvYXdzEXAMPLEtoken"},
                secrets: {
                        ($sm + ":prod/db-AbCdEf"): {
                                AWSCURRENT: {VersionId: "v2", SecretString: ({user: "admin",
                                        password: "hunter2", port: 5432} | tojson)},
                                AWSPREVIOUS: {VersionId: "v1", SecretString: ({password: "swordfish"} | tojson)}},
                        ($sm + ":api-token-Q1w2E3"): {
                                AWSCURRENT: {VersionId: "t1", SecretString: "tok-\("x" * 600)"}}},
                parameters: {"/prod/api/url": "https://api.example.test/v1", "region-name": "test"}}' \
                >"$SEC_FILE" || return 1
        jq -n --arg exp "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" '{AccessKeyId: "AKIDTASKPLANE",
                SecretAccessKey: "s3cr3t/Key+example", Token: "FwoGZXIvYXdzEXAMPLEtoken",
                Expiration: $exp}' >"$SEC_CREDS" || return 1
        chmod 0600 "$SEC_CREDS"
        jq -n --arg sm "$SEC_SM" '{family: "secrets", executionRoleArn: "arn:aws:iam::123456789012:role/exec",
                containerDefinitions: [
                        {name: "app", image: "i", secrets: [
                                {name: "DB_PASSWORD", valueFrom: ($sm + ":prod/db-AbCdEf:password::")},
                                {name: "DB_USER", valueFrom: ($sm + ":prod/db:user::")},
                                {name: "DB_PORT", valueFrom: ($sm + ":prod/db-AbCdEf:port::")},
                                {name: "DB_OLD_PASSWORD", valueFrom: ($sm + ":prod/db:password:AWSPREVIOUS:")},
                                {name: "API_TOKEN", valueFrom: ($sm + ":api-token-Q1w2E3")},
                                {name: "API_URL", valueFrom: "/prod/api/url"},
                                {name: "API_URL_BY_ARN", valueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/prod/api/url"},
                                {name: "REGION_NAME", valueFrom: "region-name"}]},
                        {name: "sidecar", image: "i", secrets: [
                                {name: "DB_PASSWORD", valueFrom: ($sm + ":prod/db-AbCdEf:password::")}]}]}' \
                >"$SEC_TASKDEF"
}

# sec_up N: the fabric with N ENIs, the files, vpcd with the secrets endpoint, netd.
sec_up()
{
        fabric_up "$1" || tap_bail "fabric_up"
        sec_files || tap_bail "the secrets files"
        fabric_service_start --secrets "$FABRIC_GATEWAY:$FABRIC_SECRETS_PORT" \
                --secrets-file "$SEC_FILE" || tap_bail "vpcd"
        netd_start || tap_bail "netd"
}

# sec_task_up NAME I: register ENI I and attach it as task NAME; permanent neighbours so that
# the wire carries only what the test sends.
sec_task_up()
{
        local name=$1 i=$2 mac ip

        mac=$(fabric_eni_mac "$i")
        ip=$(fabric_eni_ip "$i")
        netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" \
                >/dev/null || tap_bail "eni register $i"
        netdctl task attach "$name" netns "$(fabric_task_ns "$name")" mac "$mac" \
                addr "$ip/$FABRIC_PREFIXLEN" >/dev/null || tap_bail "task attach $name"
        counters_no_arp "$name" "$ip" "$mac"
}

# sec_get TASK [SECRETSGET ARGS...]: the secrets of SEC_TASKDEF (or --task-definition's), from
# the host namespace into TASK's, marked with TASK's slot, resolved by the VPC's nameserver.
sec_get()
{
        local task=$1 slot
        shift

        slot=$(netdctl -j task show "$task" | jq .slot) || return 1
        nsenter --net="$FABRIC_HOST_NS_PATH" "$SECRETSGET" --netns "/run/netns/$FABRIC_PREFIX-$task" \
                --slot "$slot" --nameserver "$FABRIC_DNS" --region us-east-1 \
                --secretsmanager-endpoint "$SEC_ENDPOINT" --ssm-endpoint "$SEC_ENDPOINT" \
                --credentials "$SEC_CREDS" --connect-timeout 2000 --timeout 10000 \
                --task-definition "$SEC_TASKDEF" "$@"
}

# sec_connections IP: the sums of vpcd's per-connection counts of the secrets endpoint for
# connections from IP: "BYTES_IN BYTES_OUT REQUESTS CONNECTIONS".
sec_connections()
{
        awk -v ip="$1" '$2 == "secrets" && $3 == "connection" && $5 == ip ":" {
                i += $6; o += $9; r += $12; n++ } END { print i + 0, o + 0, r + 0, n + 0 }' \
                "$FABRIC_RUN/vpcd.log"
}
