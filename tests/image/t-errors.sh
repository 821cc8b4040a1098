#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Pulls that must fail, each with a clear error and nothing left behind: an unknown tag or
# image, a blob corrupted in the registry's storage (digest mismatch), a registry that is down
# (connection refused), one that does not answer SYNs (connect timeout), one that accepts and
# never answers (stall, overall timeout), unknown names, an index without linux/amd64, a layer
# that is no tar, and layers that try to escape their directory ("..", absolute paths, a
# symlink out and a file through it, hard links out, whiteouts through a symlink): nothing is
# written outside the layer directory. Names are resolved with the nameserver given, not the
# host's resolver.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
img_require
require_cmd socat

img_up 1
img_task_up t1 1
R=registry.vpc.test:$FABRIC_REGISTRY_PORT

# fails NAME REGEX REF [ARGS...]: a pull from t1 into a fresh store fails with an error that
# matches REGEX, and the store has nothing in progress afterwards and FAILS_LAYERS (0) layers:
# those below the one that failed.
fails()
{
        local name=$1 re=$2 ref=$3 err
        shift 3

        IMG_STORE=$(mktemp -d "$FABRIC_RUN/store.XXXXXX")
        if err=$(img_pull t1 "$ref" "$@" 2>&1 >/dev/null); then
                tap_fail "$name" "the pull succeeded"
                return 0
        fi
        check_match "$name" "$re" "$err"
        check_eq "... and leaves ${FAILS_LAYERS:-0} layers and nothing in progress" "${FAILS_LAYERS:-0} 0" \
                "$(find "$IMG_STORE/layers/sha256" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) $(find "$IMG_STORE/tmp" -mindepth 1 2>/dev/null | wc -l)"
}

check "an image is pushed" fabric_image_build test/app v1

# --- the registry says no --------------------------------------------------------------------
fails "an unknown tag" \
        "^imgpull: ENOENT: manifest test/app:nosuch: not found in registry $R \(HTTP 404: MANIFEST_UNKNOWN: manifest unknown\)" \
        "$R/test/app:nosuch"
fails "an unknown image" \
        "^imgpull: ENOENT: manifest test/nosuch:v1: not found in registry $R \(HTTP 404: [A-Z]+_UNKNOWN: " \
        "$R/test/nosuch:v1"
fails "a bad reference" "^imgpull: EINVAL: invalid image reference 'registry.vpc.test:5000/Test/app': repository name must be lowercase" \
        "$R/Test/app"

# --- digest mismatch -------------------------------------------------------------------------
head -c 100000 /dev/urandom >"$FABRIC_RUN/random"
l=$(img_layer unique <<<"file random from=$FABRIC_RUN/random")
check "an image with a layer of its own is pushed" fabric_image_build test/corrupt v1 "$l"
hex=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "v1") | .digest' \
        "$FABRIC_RUN/oci/test_corrupt/index.json" | cut -d: -f2)
hex=$(jq -r '.layers[-1].digest' "$FABRIC_RUN/oci/test_corrupt/blobs/sha256/$hex" | cut -d: -f2)
data=$FABRIC_RUN/registry/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
# Same size, one byte changed in the middle: only the digest can tell.
size=$(stat -c %s "$data")
byte=$(dd if="$data" bs=1 skip=5000 count=1 status=none | od -An -tu1 | tr -d ' ')
printf "\\x$(printf %02x $(((byte + 1) % 256)))" | dd of="$data" bs=1 seek=5000 conv=notrunc status=none
check_eq "one byte of the blob in the registry's storage is changed, not its size" \
        "$size $(((byte + 1) % 256))" \
        "$(stat -c %s "$data") $(dd if="$data" bs=1 skip=5000 count=1 status=none | od -An -tu1 | tr -d ' ')"
FAILS_LAYERS=1 fails "a layer corrupted in the registry's storage" \
        "^imgpull: EBADMSG: blob sha256:$hex of test/corrupt: digest mismatch, the content hashes to sha256:[0-9a-f]{64} \(corrupt in the registry or on the way\)" \
        "$R/test/corrupt:v1"

# --- the registry is not there ---------------------------------------------------------------
fails "a registry that is down: connection refused" \
        "^imgpull: ECONNREFUSED: manifest test/app:v1: cannot connect to registry.vpc.test:5009 \(198.18.0.1\): Connection refused" \
        "registry.vpc.test:5009/test/app:v1" --insecure registry.vpc.test:5009
fabric_nsexec vpc nft -f - <<'EOT' || tap_bail "nft"
table inet tpdrop {
        chain input {
                type filter hook input priority 0;
                tcp dport 5010 drop
        }
}
EOT
start=$SECONDS
fails "a registry that does not answer: the connect times out" \
        "^imgpull: ETIMEDOUT: manifest test/app:v1: cannot connect to registry.vpc.test:5010 \(198.18.0.1\): timed out" \
        "registry.vpc.test:5010/test/app:v1" --insecure registry.vpc.test:5010 --connect-timeout 1000
tap_diag "(it took $((SECONDS - start)) s with --connect-timeout 1000)"
fabric_nsexec vpc socat TCP-LISTEN:5011,bind="$FABRIC_GATEWAY",reuseaddr,fork \
        SYSTEM:'sleep 30' >/dev/null 2>&1 &
wait_until 5 bash -c "nsenter --net=$FABRIC_VPC_NS_PATH ss -Hltn 'sport = :5011' | grep -q ." ||
        tap_bail "socat"
fails "a registry that accepts and says nothing: the transfer stalls" \
        "^imgpull: ETIMEDOUT: manifest test/app:v1 from registry.vpc.test:5011 \(198.18.0.1\): timed out" \
        "registry.vpc.test:5011/test/app:v1" --insecure registry.vpc.test:5011 --stall-timeout 1000
fails "... or the pull's own timeout comes first" \
        "^imgpull: ETIMEDOUT: manifest test/app:v1 from registry.vpc.test:5011 \(198.18.0.1\): out of time \(the pull's timeout\)" \
        "registry.vpc.test:5011/test/app:v1" --insecure registry.vpc.test:5011 --timeout 1500

# --- names -----------------------------------------------------------------------------------
fails "an unknown name" \
        "^imgpull: ENOENT: cannot resolve 'nosuch.vpc.test': no such name \(NXDOMAIN from 198.18.0.1:53\)" \
        "nosuch.vpc.test:5000/test/app:v1" --insecure nosuch.vpc.test:5000
# Another nameserver, which says registry.vpc.test is 198.18.0.77 (on the VPC, nothing on 5000).
ip -n "$FABRIC_VPC_NS" addr add 198.18.0.77/16 dev br0
fabric_nsexec vpc "$O/tests/tools/vpcd" --dns "$FABRIC_GATEWAY:5353" \
        --dns-name registry.vpc.test=198.18.0.77 >"$FABRIC_RUN/vpcd-5353.log" 2>&1 &
wait_until 5 bash -c "nsenter --net=$FABRIC_VPC_NS_PATH ss -Hlun 'sport = :5353' | grep -q ." ||
        tap_bail "second nameserver"
err=$(fabric_nsexec t1 "$IMGPULL" --store "$FABRIC_RUN/store-ns" --nameserver "$FABRIC_GATEWAY:5353" \
        --insecure "$R" "$R/test/app:v1" 2>&1 >/dev/null || true)
check_match "the name is resolved by the nameserver given (the other one's answer is used)" \
        "^imgpull: ECONNREFUSED: manifest test/app:v1: cannot connect to $R \(198.18.0.77\)" "$err"
check "... which was asked from the task" \
        grep -q "dns type 1 'registry.vpc.test' from $(fabric_eni_ip 1): NOERROR 198.18.0.77" \
        "$FABRIC_RUN/vpcd-5353.log"
err=$(fabric_nsexec t1 "$IMGPULL" --store "$FABRIC_RUN/store-ns" --nameserver 198.18.0.99 \
        --insecure "$R" "$R/test/app:v1" 2>&1 >/dev/null || true)
check_match "a nameserver that does not answer" \
        "^imgpull: ETIMEDOUT: cannot resolve 'registry.vpc.test': no answer in time from 198.18.0.99:53" "$err"

# --- not a linux/amd64 image, not a tar -------------------------------------------------------
l=$(img_layer arm <<<'file arch data=arm64')
check "an arm64-only image is pushed" fabric_image_build --arch arm64 test/arm v1 "$l"
check "... behind an index" img_index_push test/arm multi linux/arm64/v8=v1
fails "an index without linux/amd64" \
        "^imgpull: EPROTONOSUPPORT: the image index has no linux/amd64 image \(it has: linux/arm64/v8\)" \
        "$R/test/arm:multi"
fails "an image whose config says arm64" \
        "^imgpull: EPROTONOSUPPORT: the image is for linux/arm64, not linux/amd64" "$R/test/arm:v1"
head -c 3000 /dev/urandom >"$FABRIC_RUN/notar"
check "an image with a layer that is no tar is pushed" \
        fabric_image_build test/notar v1 "$FABRIC_RUN/notar"
FAILS_LAYERS=1 fails "a layer that is no tar" \
        "^imgpull: EINVAL: layer 2 of 2 \(sha256:[0-9a-f]{64}\): not a tar archive: Unrecognized archive format" \
        "$R/test/notar:v1"

# --- layers that try to get out --------------------------------------------------------------
mkdir "$FABRIC_RUN/outside"
sum_before=$(sha256sum /etc/hostname /etc/passwd)
# escape NAME REGEX SPEC: an image whose second layer is SPEC must fail with REGEX.
escape()
{
        local name=$1 re=$2 spec=$3 l

        l=$(img_layer "$name" <<<"$spec")
        if ! fabric_image_build "test/$name" v1 "$l" >/dev/null; then
                tap_fail "$name: the image is pushed"
                return 0
        fi
        FAILS_LAYERS=1 fails "$name" "^imgpull: EINVAL: layer 2 of 2 \(sha256:[0-9a-f]{64}\): $re" "$R/test/$name:v1"
}
escape dotdot "refused entry '../../../escaped-dotdot': Path contains '..'" \
        "file ok data=1
file ../../../escaped-dotdot data=x"
escape absolute "refused entry '$FABRIC_RUN/escaped-abs': Path is absolute" \
        "file $FABRIC_RUN/escaped-abs data=x"
escape symlink-out "refused entry 'evil/pwned': Cannot extract through symlink evil" \
        "symlink evil target=$FABRIC_RUN/outside
file evil/pwned data=x"
escape symlink-up "refused entry 'up/escaped-rel': Cannot extract through symlink up" \
        "symlink up target=../../../../../../../..$FABRIC_RUN/outside
file up/escaped-rel data=x"
escape hardlink-abs "refused entry 'h': .*" \
        "hardlink h target=/etc/passwd"
escape hardlink-up "refused entry 'h': .*'\.\.'" \
        "hardlink h target=../../../../../../../../etc/hostname"
escape whiteout-up "refused entry '../.wh.x': bad path" \
        "file ../.wh.x"
escape whiteout-link "refused entry 'evil/.wh.passwd': through a symlink" \
        "symlink evil target=/etc
file evil/.wh.passwd"
check_eq "nothing was written outside: no escaped-* files" "" \
        "$(find "$FABRIC_RUN" /tmp -maxdepth 1 -name 'escaped-*')"
check_eq "... nothing in the directory a symlink pointed to" "" "$(ls -A "$FABRIC_RUN/outside")"
check_eq "... /etc/passwd and /etc/hostname unchanged" "$sum_before" \
        "$(sha256sum /etc/hostname /etc/passwd)"

check "detach" netdctl task detach t1
tap_done
