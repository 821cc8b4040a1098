#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What stops a task at its secrets, each with an error that names the secret and the reason: a
# secret or parameter that does not exist, a JSON key that is not there, a bad signature, a
# session token the endpoint does not know, expired credentials, the endpoint or its nameserver
# down, a name the VPC does not know, and a platform revision that refuses secrets or JSON keys.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
sec_require

sec_up 1
sec_task_up t1 1

# fetch_err NAME PATTERN [SECRETSGET ARGS...]: the fetch fails with exit status 1 and a message
# matching PATTERN.
fetch_err()
{
        local name=$1 pattern=$2 rc=0 out
        shift 2

        out=$(sec_get t1 "$@" 2>&1 >/dev/null) || rc=$?
        if ((rc == 1)) && [[ $out =~ $pattern ]]; then
                tap_ok "$name"
        else
                tap_fail "$name" "exit status $rc, stderr: $out" "wanted: $pattern"
        fi
}
# taskdef NAME VALUEFROM: a task definition with one secret, in FABRIC_RUN/NAME.json.
taskdef()
{
        jq -n --arg v "$2" '{family: "e", executionRoleArn: "arn:aws:iam::123456789012:role/exec",
                containerDefinitions: [{name: "app", image: "i",
                        secrets: [{name: "DB_PASSWORD", valueFrom: $v}]}]}' >"$FABRIC_RUN/$1.json"
        echo "$FABRIC_RUN/$1.json"
}

check "the task definition's secrets are fetched" sec_get t1
fetch_err "a missing secret: ResourceNotFoundException, named" \
        "^secretsget: ENOENT: secret 'DB_PASSWORD' \\($SEC_SM:staging/db\\): ResourceNotFoundException: Secrets Manager can't find the specified secret\\.\$" \
        --task-definition "$(taskdef missing "$SEC_SM:staging/db")"
fetch_err "a missing parameter: InvalidParameters, named" \
        "^secretsget: ENOENT: secret 'DB_PASSWORD' \\(/staging/db\\): InvalidParameters: SSM Parameter Store has no parameter '/staging/db'\$" \
        --task-definition "$(taskdef missing-ssm /staging/db)"
fetch_err "a JSON key the secret does not have" \
        "secret 'DB_PASSWORD' \\($SEC_SM:prod/db:passwd::\\): the secret has no JSON key 'passwd'\$" \
        --task-definition "$(taskdef nokey "$SEC_SM:prod/db:passwd::")"
fetch_err "a stage the secret does not have" "ResourceNotFoundException" \
        --task-definition "$(taskdef nostage "$SEC_SM:prod/db:password:AWSPENDING:")"

jq '.SecretAccessKey = "not-the-key"' "$SEC_CREDS" >"$FABRIC_RUN/bad-key.json"
fetch_err "a bad signature: InvalidSignatureException (EACCES)" \
        "^secretsget: EACCES: secret '[A-Z_]*' \\(.*\\): InvalidSignatureException: The request signature we calculated does not match" \
        --credentials "$FABRIC_RUN/bad-key.json"
jq '.Token = "some-other-session"' "$SEC_CREDS" >"$FABRIC_RUN/bad-token.json"
fetch_err "an unknown session token: UnrecognizedClientException" \
        "EACCES: .*: UnrecognizedClientException: The security token included in the request is invalid\\." \
        --credentials "$FABRIC_RUN/bad-token.json"
jq '.Expiration = "2020-01-01T00:00:00Z"' "$SEC_CREDS" >"$FABRIC_RUN/expired.json"
before=$(netdctl -j stats t1 | st_flow secrets)
fetch_err "expired credentials: refused before anything is sent" \
        "^secretsget: EACCES: secret 'DB_PASSWORD': the execution role's credentials expired at 2020-01-01T00:00:00Z\$" \
        --credentials "$FABRIC_RUN/expired.json"
check_eq "... and nothing was sent" "$before" "$(netdctl -j stats t1 | st_flow secrets)"

fetch_err "1.3.0 revision 1 has no secrets" \
        "EINVAL: container 'app': secret 'DB_PASSWORD' \\(.*\\): secrets are not supported on platform version 1\\.3\\.0 revision 1 \\(they are from 1\\.3\\.0 revision 2\\)" \
        --platform-version 1.3.0:1
fetch_err "1.3.0 has no JSON keys" \
        "JSON keys and versions in valueFrom are not supported on platform version 1\\.3\\.0 revision 3 \\(they are from 1\\.4\\.0 revision 2\\)" \
        --platform-version 1.3.0
fetch_err "an endpoint the VPC has no name for" \
        "^secretsget: ENOENT: secret 'DB_PASSWORD' \\(.*\\): cannot resolve 'nowhere\\.vpc\\.test'" \
        --secretsmanager-endpoint http://nowhere.vpc.test:8080

# The endpoint down, its nameserver up: vpcd again, without --secrets.
fabric_service_stop
fabric_service_start || tap_bail "vpcd"
fetch_err "the endpoint down: the connection refused, named" \
        "^secretsget: ECONNREFUSED: secret 'DB_PASSWORD' \\(.*\\): cannot connect to secrets\\.vpc\\.test:$FABRIC_SECRETS_PORT \\(198\\.18\\.0\\.1\\): Connection refused\$"
fabric_service_stop
fetch_err "the nameserver down too: the lookup refused, named" \
        "^secretsget: ECONNREFUSED: secret 'DB_PASSWORD' \\(.*\\): cannot resolve 'secrets\\.vpc\\.test': Connection refused from 198\\.18\\.0\\.1:53\$"

check "detach t1" netdctl task detach t1
tap_done
