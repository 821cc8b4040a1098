#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A five-layer image (built with umoci: a file of a lower layer deleted by a whiteout, a
# directory replaced by an opaque one, owners, modes, setuid, hard and symbolic links, a fifo,
# xattrs) behind an OCI index of three platforms is pulled from a task namespace: linux/amd64
# is chosen, and its layers stacked with overlayfs show exactly the tree that umoci unpack
# makes of the same image. A second pull downloads no layer; two concurrent pulls into a new
# store both succeed with one copy of each layer; digest references, IF_MISSING and load need
# no registry; a Docker manifest list works too; a cancelled pull leaves nothing behind.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
img_require

img_up 1
img_task_up t1 1
repo=test/app
layout=$FABRIC_RUN/oci/test_app

l2=$(img_layer app <<'EOF'
dir etc mode=0755
dir etc/app mode=0755
file etc/app/old.conf data=old
file etc/app/keep.conf data=keep
dir srv mode=0750 uid=1000 gid=1000
file srv/data.txt mode=0640 uid=1000 gid=1000 data=data-v1
file srv/gone.txt data=bye
dir usr mode=0755
dir usr/bin mode=0755
file usr/bin/tool mode=4755 data=#!/bin/sh%0aecho%20tool%0a
hardlink usr/bin/tool2 target=usr/bin/tool mode=4755
dir opt mode=0755
file opt/x.bin mode=0600 data=xyz xattr.user.origin=layer2
dir run mode=0755
fifo run/fifo mode=0600
EOF
)
l3=$(img_layer changes <<'EOF'
dir bin mode=0755
file bin/.wh.vi
dir srv mode=0750 uid=1000 gid=1000
file srv/.wh.gone.txt
dir etc mode=0755
dir etc/app mode=0700 uid=2 gid=3
file etc/app/.wh..wh..opq
file etc/app/new.conf data=new
file srv/data.txt mode=0640 uid=1000 gid=1000 data=data-v2
symlink srv/current target=data.txt
EOF
)
mkdir -p "$FABRIC_RUN/l4/home/user"
echo "hello from a directory layer" >"$FABRIC_RUN/l4/home/user/readme"
chown -R 1000:1000 "$FABRIC_RUN/l4/home/user"
chmod 0700 "$FABRIC_RUN/l4/home/user"
amd=$(img_layer arch-amd <<<'file arch data=amd64')
arm=$(img_layer arch-arm <<<'file arch data=arm64')

check "the amd64 image is built with umoci and pushed" \
        fabric_image_build "$repo" amd "$l2" "$l3" "$FABRIC_RUN/l4" "$amd"
check "an arm64 one" fabric_image_build --arch arm64 "$repo" arm "$l2" "$arm"
amd_digest=sha256:$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "amd") | .digest' "$layout/index.json" | cut -d: -f2)
index_digest=$(img_index_push "$repo" multi linux/arm64/v8=arm windows/amd64=amd linux/amd64=amd) ||
        tap_bail "index push"

# --- the pull --------------------------------------------------------------------------------
ref=registry.vpc.test:$FABRIC_REGISTRY_PORT/$repo:multi
gets0=$(img_registry_gets)
out=$(img_pull t1 "$ref" --progress 2>"$FABRIC_RUN/progress") || tap_bail "pull: $(cat "$FABRIC_RUN/progress")"
check_eq "the index's digest is reported" "$index_digest" "$(jq -r .index_digest <<<"$out")"
check_eq "linux/amd64 is chosen (its manifest, not the arm64 or windows one)" "$amd_digest" \
        "$(jq -r .digest <<<"$out")"
check_eq "five layers, all downloaded" "5 5 0" \
        "$(jq -r '"\(.layers | length) \(.layers_downloaded) \(.layers_cached)"' <<<"$out")"
check_eq "the config: cmd, env, platform" '["/bin/sh"] ["PATH=/bin"] linux/amd64' \
        "$(jq -rc '"\(.config.cmd) \(.config.env) \(.config.os)/\(.config.architecture)"' <<<"$out")"
check_match "progress is reported per layer" "unpack layer 5/5" "$(cat "$FABRIC_RUN/progress")"
check_eq "the registry served 6 blobs (config and 5 layers)" 6 $(($(img_registry_gets) - gets0))
check_eq "the store has the 5 layers, nothing in progress" "5 0" \
        "$(ls "$IMG_STORE/layers/sha256" | wc -l) $(ls -A "$IMG_STORE/tmp" | wc -l)"
lower=$(jq -r .lowerdir <<<"$out")
check_eq "lowerdir is the layers, top first" \
        "$(jq -r '.layers | reverse | join(":")' <<<"$out")" "$lower"

# --- the tree --------------------------------------------------------------------------------
tree=$(img_overlay_tree "$lower") || tap_bail "overlay mount"
line()
{
        grep "^$1|" <<<"$tree" || true
}
check_eq "the whiteout deleted srv/gone.txt of layer 2" "" "$(line srv/gone.txt)"
check_eq "... and bin/vi of layer 1" "" "$(line bin/vi)"
check_match "bin/sh of layer 1 is still there" '^bin/sh\|symbolic link\|777\|0:0\|\|busybox\|' \
        "$(line bin/sh)"
check_eq "the opaque etc/app holds only layer 3's file" "etc/app/new.conf" \
        "$(grep '^etc/app/' <<<"$tree" | cut -d'|' -f1)"
check_match "... with layer 3's mode and owner" '^etc/app\|directory\|700\|2:3\|' "$(line etc/app)"
check_match "srv/data.txt is layer 3's" '^srv/data.txt\|regular file\|640\|1000:1000\|7\|' \
        "$(line srv/data.txt)"
check_match "srv keeps its mode and owner" '^srv\|directory\|750\|1000:1000\|' "$(line srv)"
check_match "srv/current is a symlink to data.txt" '^srv/current\|symbolic link\|.*\|data.txt\|' \
        "$(line srv/current)"
check_match "usr/bin/tool is setuid" '^usr/bin/tool\|regular file\|4755\|0:0\|' "$(line usr/bin/tool)"
check_match "opt/x.bin has its xattr" 'user.origin="layer2"' "$(line opt/x.bin)"
check_match "run/fifo is a fifo" '^run/fifo\|fifo\|600\|' "$(line run/fifo)"
check_match "home/user of the directory layer is 1000's, 0700" '^home/user\|directory\|700\|1000:1000\|' \
        "$(line home/user)"
check_match "arch says amd64" '^arch\|regular file\|644\|0:0\|5\|' "$(line arch)"
check_match "tmp is 1777" '^tmp\|directory\|1777\|' "$(line tmp)"
# Hard links: one inode in the overlay, as in the layer.
links=$(unshare -m --propagation private bash -c '
        m=$(mktemp -d "$2/mnt.XXXXXX")
        mount -t overlay -o "ro,lowerdir=$1" overlay "$m"
        stat -c "%i %h" "$m/usr/bin/tool" "$m/usr/bin/tool2" | sort -u | tr "\n" " "
        head -c 5 "$m/arch"; echo
        umount "$m"; rmdir "$m"' _ "$lower" "$FABRIC_RUN")
check_match "usr/bin/tool2 is a hard link of usr/bin/tool (one inode, 2 links)" '^[0-9]+ 2 amd64$' \
        "$links"

# The same image unpacked by umoci (an independent implementation of the layer rules).
umoci unpack --image "$layout:amd" "$FABRIC_RUN/umoci-amd" >/dev/null || tap_bail "umoci unpack"
want=$(img_tree "$FABRIC_RUN/umoci-amd/rootfs")
check_eq "the overlay is exactly what umoci unpack makes ($(wc -l <<<"$want") entries)" "$want" "$tree"
rm -rf "$FABRIC_RUN/umoci-amd"

# --- the cache -------------------------------------------------------------------------------
gets0=$(img_registry_gets)
refs0=$(stat -c '%n %i %Y' "$IMG_STORE"/refs/*)
out2=$(img_pull t1 "$ref") || tap_bail "second pull"
check_eq "a second pull downloads no layer" "0 5 0" \
        "$(jq -r '"\(.layers_downloaded) \(.layers_cached) \(.bytes_downloaded)"' <<<"$out2")"
check_eq "... and rewrites no reference in the store (the tag has not moved)" "$refs0" \
        "$(stat -c '%n %i %Y' "$IMG_STORE"/refs/*)"
check_eq "... and the registry served it no blob" 0 $(($(img_registry_gets) - gets0))
check_eq "... with the same result" "$(jq -c '.digest, .layers' <<<"$out")" \
        "$(jq -c '.digest, .layers' <<<"$out2")"

gets0=$(img_registry_gets)
out3=$(img_pull t1 "registry.vpc.test:$FABRIC_REGISTRY_PORT/$repo@$amd_digest") || tap_bail "digest pull"
check_eq "a digest reference the store has needs no registry" "true $amd_digest" \
        "$(jq -r '"\(.from_store) \(.digest)"' <<<"$out3")"
out3=$(img_pull t1 "registry.vpc.test:$FABRIC_REGISTRY_PORT/$repo@$index_digest") ||
        tap_bail "index digest pull"
check_eq "... nor one of its index, whose linux/amd64 image is taken" \
        "true $amd_digest $index_digest" \
        "$(jq -r '"\(.from_store) \(.digest) \(.index_digest)"' <<<"$out3")"
out3=$(img_pull t1 "$ref" --if-missing) || tap_bail "if-missing pull"
check_eq "neither does IF_MISSING for a reference pulled before" "true 5" \
        "$(jq -r '"\(.from_store) \(.layers_cached)"' <<<"$out3")"
check_eq "the registry saw none of these" 0 $(($(img_registry_gets) - gets0))
check "load reads the store" bash -c "'$IMGPULL' --store '$IMG_STORE' --load '$ref' | jq -e '.from_store'"
err=$("$IMGPULL" --store "$IMG_STORE" --load "${ref%:multi}:other" 2>&1 >/dev/null || true)
check_match "load of an image not there is a clear error" \
        "^imgpull: ENOENT: 'registry.vpc.test:5000/test/app:other' is not in the store" "$err"

# --- the store's layers only (the shim's pull thread), and whether the store has a name --------
in_store() { "$IMGPULL" --store "$1" --in-store "$2"; }
check_eq "the store has a record of the name pulled before" yes "$(in_store "$IMG_STORE" "$ref")"
check_eq "... and of a digest whose manifest it has" yes \
        "$(in_store "$IMG_STORE" "registry.vpc.test:$FABRIC_REGISTRY_PORT/$repo@$amd_digest")"
check_eq "... not of another name" no "$(in_store "$IMG_STORE" "${ref%:multi}:other")"
out3=$(img_pull t1 "$ref" --store-layers-only) || tap_bail "store-layers-only pull"
check_eq "the store's layers only, and it has them: pulled" "$amd_digest 0 5" \
        "$(jq -r '"\(.digest) \(.layers_downloaded) \(.layers_cached)"' <<<"$out3")"
rc=0
err=$(IMG_STORE=$FABRIC_RUN/store-lo img_pull t1 "$ref" --store-layers-only 2>&1 >/dev/null) ||
        rc=$?
check_eq "... and a store without them: the pull fails" 1 "$rc"
check_match "... with ENOMEDIUM, naming the first layer it lacks" \
        '^imgpull: ENOMEDIUM: layer 1 of 5 \(sha256:[0-9a-f]{64}\) is not in the store$' "$err"
check_eq "... having downloaded no layer" "" "$(ls -A "$FABRIC_RUN/store-lo/layers/sha256")"
check_eq "... nor recorded the name" no "$(in_store "$FABRIC_RUN/store-lo" "$ref")"

# --- two pulls at once, one store ------------------------------------------------------------
IMG_STORE=$FABRIC_RUN/store2
gets0=$(img_registry_gets $(img_layer_hexes "$out"))
img_pull t1 "$ref" >"$FABRIC_RUN/c1.json" 2>"$FABRIC_RUN/c1.err" &
p1=$!
img_pull t1 "$ref" >"$FABRIC_RUN/c2.json" 2>"$FABRIC_RUN/c2.err" &
p2=$!
rc1=0 rc2=0
wait $p1 || rc1=$?
wait $p2 || rc2=$?
check_eq "two concurrent pulls of one image into one store both succeed" "0 0" "$rc1 $rc2"
check_eq "... and between them each layer was downloaded once" "5 5" \
        "$(jq -s -r '"\(map(.layers_downloaded) | add) \(map(.layers_cached) | add)"' "$FABRIC_RUN/c1.json" "$FABRIC_RUN/c2.json")"
check_eq "... one GET of each layer at the registry" 5 \
        $(($(img_registry_gets $(img_layer_hexes "$out")) - gets0))
check_eq "... one copy of each layer in the store, nothing left in tmp" "5 0" \
        "$(ls "$IMG_STORE/layers/sha256" | wc -l) $(ls -A "$IMG_STORE/tmp" | wc -l)"
check_eq "... the same layers as the first store's" \
        "$(ls "$FABRIC_RUN/store/layers/sha256")" "$(ls "$IMG_STORE/layers/sha256")"

# --- a caller that reaps every child ---------------------------------------------------------
IMG_STORE=$FABRIC_RUN/store-reap
out5=$(img_pull t1 "$ref" --reap-all) || tap_bail "pull with SIGCHLD ignored"
check_eq "a pull whose unpackers the kernel reaps before it can still tells complete layers" \
        "5 $(jq -c .layers <<<"$out" | sed "s|$FABRIC_RUN/store/|$IMG_STORE/|g")" \
        "$(jq -c '.layers_downloaded, .layers' <<<"$out5" | paste -sd' ')"
check_eq "... and its tree is the same" "$tree" "$(img_overlay_tree "$(jq -r .lowerdir <<<"$out5")")"

# --- a Docker manifest list of Docker schema 2 manifests --------------------------------------
dlist()
{
        local d1 d2 list

        for t in amd arm; do
                TMPDIR=$FABRIC_RUN/tmp fabric_nsexec vpc skopeo --insecure-policy copy --quiet \
                        --format v2s2 --dest-tls-verify=false --digestfile "$FABRIC_RUN/d-$t" \
                        "oci:$layout:$t" "docker://$FABRIC_REGISTRY/$repo:v2s2-$t" || return 1
        done
        d1=$(cat "$FABRIC_RUN/d-arm")
        d2=$(cat "$FABRIC_RUN/d-amd")
        list=$(jq -cn --arg a "$d1" --arg b "$d2" \
                --argjson sa "$(fabric_nsexec vpc curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$FABRIC_REGISTRY/v2/$repo/manifests/$d1" | wc -c)" \
                --argjson sb "$(fabric_nsexec vpc curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$FABRIC_REGISTRY/v2/$repo/manifests/$d2" | wc -c)" \
                '{schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.list.v2+json", manifests: [
                  {mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: $a, size: $sa, platform: {architecture: "arm64", os: "linux", variant: "v8"}},
                  {mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: $b, size: $sb, platform: {architecture: "amd64", os: "linux"}}]}')
        fabric_nsexec vpc curl -sf -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.list.v2+json' \
                --data-binary "$list" "http://$FABRIC_REGISTRY/v2/$repo/manifests/dlist" >/dev/null
}
check "a Docker manifest list is pushed (skopeo --format v2s2, curl)" dlist
out4=$(img_pull t1 "registry.vpc.test:$FABRIC_REGISTRY_PORT/$repo:dlist") || tap_bail "dlist pull"
check_eq "pulling it chooses the Docker amd64 manifest" "$(cat "$FABRIC_RUN/d-amd")" \
        "$(jq -r .digest <<<"$out4")"
check_eq "... whose layers are the OCI image's (same blobs, all cached)" "0 5" \
        "$(jq -r '"\(.layers_downloaded) \(.layers_cached)"' <<<"$out4")"

# --- cancelled -------------------------------------------------------------------------------
IMG_STORE=$FABRIC_RUN/store3
err=$(img_pull t1 "$ref" --cancel-after 1 2>&1 >/dev/null || true)
check_match "a pull cancelled by its progress callback says so" "^imgpull: ECANCELED: .*cancelled" "$err"
check_eq "... and leaves no layer and nothing in progress" "0 0" \
        "$(ls "$IMG_STORE/layers/sha256" | wc -l) $(ls -A "$IMG_STORE/tmp" | wc -l)"
check "... and the next pull completes" img_pull t1 "$ref"

check "detach" netdctl task detach t1
tap_done
