#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the image tests (tests/image/t-*.sh), sourced after tests/lib.sh. Pulls run with
# tests/tools/imgpull from a task namespace that netd attached (or from the fabric's host
# namespace into one, with --netns), against docker-registry in the VPC.
#
#       img_require                     # skip without root or the tools
#       img_up 1                        # fabric, vpcd (DNS, token server args), registry, netd
#       img_task_up t1 1                # ENI 1 attached as task t1, no ARP on the wire
#       img_pull t1 REF [ARGS...]       # imgpull in t1 with the VPC's nameserver, JSON on stdout
#       img_layer NAME <<<"SPEC"        # tests/tools/mktar: $FABRIC_RUN/layers/NAME.tar
#       img_index_push REPO TAG os/arch[/variant]=SRC_TAG...  # an OCI index of layout REPO
#       img_tree DIR                    # a listing of a tree: path, type, mode, owner, size...
#
# IMG_STORE is the store of the pulls ($FABRIC_RUN/store unless a test says otherwise).

# shellcheck source=tests/counters/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../counters/common.sh"

IMGPULL=$O/tests/tools/imgpull
MKTAR=$O/tests/tools/mktar

img_require()
{
        require_root
        require_cmd jq umoci skopeo docker-registry nft getfattr htpasswd openssl busybox \
                curl basenc
        [[ -x $IMGPULL && -x $MKTAR ]] || tap_bail "build first: make tests"
}

# img_up N [VPCD ARGS...]: the fabric with N ENIs, vpcd, the registry on port 5000, netd.
img_up()
{
        local n=$1
        shift

        fabric_up "$n" || tap_bail "fabric_up"
        fabric_service_start "$@" || tap_bail "vpcd"
        fabric_registry_start || tap_bail "docker-registry"
        netd_start || tap_bail "netd"
        IMG_STORE=$FABRIC_RUN/store
        mkdir -p "$FABRIC_RUN/layers"
}

# img_task_up NAME I: register ENI I and attach it as task NAME; permanent neighbours so that
# the wire carries only what the test sends.
img_task_up()
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

# img_pull TASK REF [IMGPULL ARGS...]: pull REF from inside TASK's namespace into IMG_STORE,
# resolving with the VPC's nameserver, the fabric's registry names being insecure (HTTP).
img_pull()
{
        local task=$1 ref=$2
        shift 2

        fabric_nsexec "$task" "$IMGPULL" --store "$IMG_STORE" --nameserver "$FABRIC_DNS" \
                --insecure "registry.vpc.test:$FABRIC_REGISTRY_PORT" \
                --insecure "$FABRIC_REGISTRY" --connect-timeout 3000 --timeout 60000 "$@" \
                "$ref"
}

# img_layer NAME: a tar from the mktar SPEC on stdin; prints its path.
img_layer()
{
        local out=$FABRIC_RUN/layers/$1.tar

        "$MKTAR" "$out" || return 1
        echo "$out"
}

# img_index_push REPO TAG PLATFORM=SRC_TAG...: an OCI image index of the given platforms
# (os/architecture[/variant]), each the manifest of SRC_TAG in REPO's layout, pushed as
# REPO:TAG (skopeo copy --all). Prints the index's digest.
img_index_push()
{
        local repo=$1 tag=$2 dir entries="[]" spec plat src e os arch variant idx d
        shift 2

        dir=$FABRIC_RUN/oci/${repo//\//_}
        for spec in "$@"; do
                plat=${spec%%=*}
                src=${spec#*=}
                IFS=/ read -r os arch variant <<<"$plat"
                e=$(jq -c --arg t "$src" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | del(.annotations)' \
                        "$dir/index.json")
                [[ -n $e ]] || return 1
                e=$(jq -c --arg os "$os" --arg arch "$arch" --arg v "${variant:-}" \
                        '. + {platform: ({os: $os, architecture: $arch} + (if $v == "" then {} else {variant: $v} end))}' <<<"$e")
                entries=$(jq -c --argjson e "$e" '. + [$e]' <<<"$entries")
        done
        idx=$FABRIC_RUN/oci/index-$tag.json
        jq -cj --argjson m "$entries" \
                '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: $m}' \
                -n >"$idx" || return 1
        d=$(sha256sum "$idx" | cut -d' ' -f1)
        cp "$idx" "$dir/blobs/sha256/$d" || return 1
        jq --arg d "sha256:$d" --argjson s "$(stat -c %s "$idx")" --arg t "$tag" \
                '.manifests = [.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] != $t)] + [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": $t}}]' \
                "$dir/index.json" >"$dir/index.json.new" && mv "$dir/index.json.new" "$dir/index.json" ||
                return 1
        fabric_image_push "$dir" "$tag" "$repo"
}

# img_tree DIR: one line per entry below DIR, sorted: path|type|mode|uid:gid|size (files)|
# link target|user.* xattrs|sha256 (files). Independent of how the tree was made.
img_tree()
{
        local dir=$1

        (
                cd "$dir" || exit 1
                find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort | while IFS= read -r p; do
                        local t s="" x h=""

                        t=$(stat -c '%F' "$p")
                        [[ $t == "regular file" || $t == "regular empty file" ]] &&
                                s=$(stat -c %s "$p") h=$(sha256sum <"$p" | cut -c1-16)
                        x=$(getfattr -h --absolute-names -d -m '^user\.' "$p" 2>/dev/null |
                                grep -v '^#' | grep . | tr '\n' ' ')
                        printf '%s|%s|%s|%s|%s|%s|%s|%s\n' "$p" "$t" "$(stat -c %a "$p")" \
                                "$(stat -c %u:%g "$p")" "$s" "$(readlink "$p")" "$x" "$h"
                done
        )
}

# img_overlay_tree LOWERDIR: img_tree of an overlay of the given lower directories, mounted
# read-only on a temporary directory in a private mount namespace and unmounted after.
img_overlay_tree()
{
        local lower=$1 mnt

        mnt=$(mktemp -d "$FABRIC_RUN/mnt.XXXXXX") || return 1
        # shellcheck disable=SC2016 # expanded by the inner bash
        unshare -m --propagation private bash -c '
                set -e
                source "$1"
                mount -t overlay -o "ro,lowerdir=$2" overlay "$3"
                img_tree "$3"
                umount "$3"' _ "${BASH_SOURCE[0]}" "$lower" "$mnt"
        local rc=$?
        rmdir "$mnt"
        return $rc
}

# img_registry_gets [HEX...]: how many blob GETs the registry of port 5000 has served (its
# access log), of the blobs with these sha256 digests (hex) if any are given.
img_registry_gets()
{
        local log=$FABRIC_RUN/registry-$FABRIC_REGISTRY_PORT.log pat='[0-9a-f]*' h

        if (($#)); then
                pat="\\($1"
                shift
                for h in "$@"; do
                        pat+="\\|$h"
                done
                pat+="\\)"
        fi
        grep -c "\"GET /v2/[^ ]*/blobs/sha256:$pat HTTP/1.1\" 200" "$log" || true
}

# img_layer_hexes JSON: the sha256 digests (hex) of an imgpull result's layers.
img_layer_hexes()
{
        jq -r '.layers[] | split("/") | last' <<<"$1"
}

_img_b64url()
{
        basenc --base64url -w0 | tr -d '='
}

# img_token_make FILE REPO...: a registry token (a JWT signed RS256 by a key made here, its
# self-signed certificate in the x5c header) for issuer "tp-issuer", service "tp-registry",
# subject "alice", valid for an hour, granting pull on each REPO; written to FILE. The
# certificate, which the registry trusts, is $FABRIC_RUN/token.crt.
img_token_make()
{
        local file=$1 key=$FABRIC_RUN/token.key crt=$FABRIC_RUN/token.crt now hdr claims sig
        shift

        if [[ ! -s $crt ]]; then
                openssl req -x509 -newkey rsa:2048 -nodes -keyout "$key" -out "$crt" -days 1 \
                        -subj /CN=tp-token-issuer >/dev/null 2>&1 || return 1
        fi
        now=$(date +%s)
        hdr=$(jq -cn --arg c "$(openssl x509 -in "$crt" -outform DER | base64 -w0)" \
                '{alg: "RS256", typ: "JWT", x5c: [$c]}' | _img_b64url)
        claims=$(jq -cn --argjson n "$now" '$ARGS.positional as $r |
                {iss: "tp-issuer", sub: "alice", aud: "tp-registry", exp: ($n + 3600),
                 nbf: ($n - 60), iat: $n, jti: "tp-\($n)",
                 access: [$r[] | {type: "repository", name: ., actions: ["pull"]}]}' \
                --args "$@" | _img_b64url)
        sig=$(printf '%s.%s' "$hdr" "$claims" | openssl dgst -sha256 -sign "$key" | _img_b64url)
        echo "$hdr.$claims.$sig" >"$file"
}
