#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Registry auth: docker-registry with "auth: token" (a realm served in the VPC by vpcd, the
# token a JWT signed with a key made here) and with "auth: htpasswd" (bcrypt). Pulls with the
# right credentials work; wrong or missing ones, and a token without the repository's scope,
# fail with a clear error; a registry not configured insecure is not spoken to in plain HTTP.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
img_require

fabric_up 1 || tap_bail "fabric_up"
IMG_STORE=$FABRIC_RUN/store
mkdir -p "$FABRIC_RUN/layers"
img_token_make "$FABRIC_RUN/token" test/app || tap_bail "token"
fabric_service_start --token-file "$FABRIC_RUN/token" --token-user alice:s3cret ||
        tap_bail "vpcd"
fabric_registry_start || tap_bail "registry"
fabric_registry_start --port 5001 --token "http://$FABRIC_GATEWAY/token" tp-registry tp-issuer \
        "$FABRIC_RUN/token.crt" || tap_bail "token registry"
htpasswd -Bbc "$FABRIC_RUN/htpasswd" bob hunter2 2>/dev/null || tap_bail "htpasswd"
fabric_registry_start --port 5002 --htpasswd "$FABRIC_RUN/htpasswd" || tap_bail "basic registry"
netd_start || tap_bail "netd"
img_task_up t1 1

l=$(img_layer small <<<'file hello data=auth')
check "an image is pushed (to the open registry; the three share their storage)" \
        fabric_image_build test/app v1 "$l"
check "another one" fabric_image_build test/other v1 "$l"

tok=registry.vpc.test:5001
basic=registry.vpc.test:5002
pull()
{
        img_pull t1 "$@" --insecure "$tok" --insecure "$basic"
}
# fails NAME REGEX ARGS...: the pull fails and its error matches REGEX.
fails()
{
        local name=$1 re=$2 err
        shift 2

        if err=$(pull "$@" 2>&1 >/dev/null); then
                tap_fail "$name" "the pull succeeded"
        else
                check_match "$name" "$re" "$err"
        fi
}

# --- Bearer ----------------------------------------------------------------------------------
check "bearer: the right credentials" pull "$tok/test/app:v1" --user alice:s3cret
check_match "... the token was asked for the repository's pull scope, with them" \
        "vpcd: token /token\?scope=repository%3Atest%2Fapp%3Apull&service=tp-registry from $(fabric_eni_ip 1) \(user alice\): 200" \
        "$(grep 'vpcd: token' "$FABRIC_RUN/vpcd.log")"
fails "bearer: a wrong password" \
        "^imgpull: EACCES: registry registry.vpc.test:5001: the token server 198.18.0.1 refused the credentials of user 'alice' \(HTTP 401\)" \
        "$tok/test/app:v1" --user alice:wrong
fails "bearer: no credentials" \
        "^imgpull: EACCES: registry registry.vpc.test:5001: the token server 198.18.0.1 refused anonymous access \(HTTP 401\)" \
        "$tok/test/app:v1"
fails "bearer: a token without the repository in its scope is refused by the registry" \
        "^imgpull: EACCES: manifest test/other:v1: registry registry.vpc.test:5001 refused the credentials of user 'alice' \(HTTP 401: UNAUTHORIZED" \
        "$tok/test/other:v1" --user alice:s3cret
err=$(img_pull t1 "$tok/test/app:v1" --user alice:s3cret 2>&1 >/dev/null || true)
check_match "bearer: no plain HTTP to a registry not configured insecure" \
        "^imgpull: EPROTO: manifest test/app:v1 from registry.vpc.test:5001 \(198.18.0.1\): .*(SSL|TLS)" \
        "$err"

# --- Basic -----------------------------------------------------------------------------------
rm -rf "$IMG_STORE"
check "basic: the right credentials" pull "$basic/test/app:v1" --user bob:hunter2
rm -rf "$IMG_STORE"
fails "basic: a wrong password" \
        "^imgpull: EACCES: manifest test/app:v1: registry registry.vpc.test:5002 refused the credentials of user 'bob' \(HTTP 401: UNAUTHORIZED: authentication required\)" \
        "$basic/test/app:v1" --user bob:nope
fails "basic: no credentials" \
        "^imgpull: EACCES: registry registry.vpc.test:5002: authentication required \(Basic\), and no credentials were given" \
        "$basic/test/app:v1"
check_eq "the failed pulls left nothing in the store" "0 0" \
        "$(ls "$IMG_STORE/layers/sha256" | wc -l) $(ls -A "$IMG_STORE/tmp" | wc -l)"

# --- none ------------------------------------------------------------------------------------
check "credentials are not needed by a registry without auth" \
        pull "$FABRIC_REGISTRY_NAME/test/app:v1" --user bob:hunter2

check "detach" netdctl task detach t1
tap_done
