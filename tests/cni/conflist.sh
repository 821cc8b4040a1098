#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A small network-configuration-list driver that does what libcni does with a .conflist (Debian
# ships no cnitool): ADD runs the plugins in order, each given the previous one's result as
# prevResult, and caches the final result; CHECK runs them in order and DEL in reverse, each
# given the cached final result; GC and STATUS run each plugin. Each plugin gets the list's name
# and cniVersion, and runtimeConfig with the capabilities it declares that CAP_ARGS carries.
#
#   conflist.sh add|check|del CONFLIST CONTAINERID NETNS IFNAME
#   conflist.sh gc|status CONFLIST
#
# Environment: CNI_PATH (where plugins are found, ':'-separated), CNI_CACHE_DIR (results,
# default /var/lib/cni), CAP_ARGS (a JSON object, e.g. {"mac": "02:..."}), CNI_ARGS (passed on),
# VALID_ATTACHMENTS (GC: a JSON array of {containerID, ifname}).
# Prints the final result (ADD) or the failing plugin's error object; exits non-zero on failure.
set -euo pipefail

usage()
{
        echo "usage: $0 add|check|del CONFLIST CONTAINERID NETNS IFNAME | gc|status CONFLIST" >&2
        exit 2
}

(($# >= 2)) || usage
cmd=$1 list=$2
case $cmd in
add | check | del) (($# == 5)) || usage ;;
gc | status) (($# == 2)) || usage ;;
*) usage ;;
esac
cid=${3:-} netns=${4:-} ifname=${5:-}
name=$(jq -er .name "$list")
version=$(jq -er .cniVersion "$list")
nplugins=$(jq -er '.plugins | length' "$list")
cache=${CNI_CACHE_DIR:-/var/lib/cni}/results
cached=$cache/$name-$cid-$ifname

# plugin_conf I PREV: plugin I's configuration as the plugin sees it.
plugin_conf()
{
        jq -c --argjson i "$1" --arg name "$name" --arg v "$version" \
                --argjson caps "${CAP_ARGS:-{\}}" --argjson prev "$2" \
                --argjson valid "${VALID_ATTACHMENTS:-[]}" --arg cmd "$cmd" '
                .plugins[$i] + {name: $name, cniVersion: $v}
                | (.capabilities // {}) as $want
                | ([$caps | to_entries[] | select($want[.key] == true)] | from_entries) as $rc
                | if ($rc | length) > 0 then .runtimeConfig = $rc else . end
                | if $prev != null then .prevResult = $prev else . end
                | if $cmd == "gc" then . + {"cni.dev/valid-attachments": $valid,
                                             "cni.dev/attachments": $valid} else . end
                | del(.capabilities)' "$list"
}

find_plugin()
{
        local dir

        IFS=: read -ra dirs <<<"${CNI_PATH:-/opt/cni/bin}"
        for dir in "${dirs[@]}"; do
                [[ -x $dir/$1 ]] && { echo "$dir/$1"; return 0; }
        done
        echo "{\"cniVersion\":\"$version\",\"code\":999,\"msg\":\"plugin '$1' not found in CNI_PATH\"}"
        return 1
}

# run_plugin I PREV: exec plugin I; its stdout goes to OUT.
run_plugin()
{
        local conf type bin rc=0

        conf=$(plugin_conf "$1" "$2")
        type=$(jq -r .type <<<"$conf")
        bin=$(find_plugin "$type") || { OUT=$bin; return 1; }
        OUT=$(printf '%s' "$conf" | env CNI_COMMAND="${cmd^^}" CNI_CONTAINERID="$cid" \
                CNI_NETNS="$netns" CNI_IFNAME="$ifname" CNI_PATH="${CNI_PATH:-/opt/cni/bin}" \
                "$bin") || rc=$?
        return $rc
}

prev=null
case $cmd in
add)
        for ((i = 0; i < nplugins; i++)); do
                run_plugin "$i" "$prev" || { echo "$OUT"; exit 1; }
                prev=$OUT
        done
        mkdir -p "$cache"
        printf '%s\n' "$prev" >"$cached.tmp" && mv "$cached.tmp" "$cached"
        echo "$prev"
        ;;
check)
        [[ -s $cached ]] || { echo "no cached result for $name-$cid-$ifname" >&2; exit 1; }
        prev=$(cat "$cached")
        for ((i = 0; i < nplugins; i++)); do
                run_plugin "$i" "$prev" || { echo "$OUT"; exit 1; }
        done
        ;;
del)
        [[ -s $cached ]] && prev=$(cat "$cached")
        for ((i = nplugins - 1; i >= 0; i--)); do
                run_plugin "$i" "$prev" || { echo "$OUT"; exit 1; }
        done
        rm -f "$cached"
        ;;
gc | status)
        for ((i = 0; i < nplugins; i++)); do
                run_plugin "$i" null || { echo "$OUT"; exit 1; }
        done
        ;;
esac
