#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the CNI tests (tests/cni/t-*.sh): run build/task-eni exactly as a runtime does
# (a clean environment with the CNI_* variables, the configuration on stdin, in the fabric's
# "host" namespace where netd and the ENIs are), and check its exit status, stdout and stderr.
#
#       cni_call ADD c1 "$ns" eth1 "$conf"      # sets CNI_RC, CNI_OUT, CNI_ERR
#       check_cni_ok "ADD succeeds"
#       check_cni_error "bad mtu" 7 "'mtu'"      # error object on stdout, code 7, msg matches
#
# An argument "-" leaves that variable unset; "" sets it empty. Extra NAME=VALUE arguments after
# the configuration are added to the environment (CNI_ARGS=..., CNI_COMMAND=... to override).

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

TASK_ENI=$O/task-eni

# cni_call COMMAND CONTAINERID NETNS IFNAME CONFIG [NAME=VALUE...]
cni_call()
{
        local cmd=$1 cid=$2 netns=$3 ifname=$4 conf=$5 out err
        local -a env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin "CNI_PATH=$O:/usr/lib/cni")
        shift 5

        [[ $cmd != - ]] && env+=("CNI_COMMAND=$cmd")
        [[ $cid != - ]] && env+=("CNI_CONTAINERID=$cid")
        [[ $netns != - ]] && env+=("CNI_NETNS=$netns")
        [[ $ifname != - ]] && env+=("CNI_IFNAME=$ifname")
        env+=("$@")
        out=$(mktemp "$FABRIC_RUN/cni-out.XXXXXX")
        err=$(mktemp "$FABRIC_RUN/cni-err.XXXXXX")
        CNI_RC=0
        printf '%s' "$conf" | nsenter --net="$FABRIC_HOST_NS_PATH" -- env -i "${env[@]}" \
                "$TASK_ENI" >"$out" 2>"$err" || CNI_RC=$?
        CNI_OUT=$(cat "$out")
        CNI_ERR=$(cat "$err")
        rm -f "$out" "$err"
        CNI_LAST="$cmd $cid $netns $ifname"
}

_cni_diag()
{
        printf '%s\n' "call: $CNI_LAST" "exit status: $CNI_RC" "stdout: $CNI_OUT" \
                "stderr: $CNI_ERR"
}

# check_cni_ok NAME: exit 0. ADD must print exactly one JSON object; others nothing at all.
check_cni_ok()
{
        local name=$1

        if ((CNI_RC != 0)); then
                tap_fail "$name" "$(_cni_diag)"
        elif [[ $CNI_LAST == ADD* || $CNI_LAST == VERSION* ]]; then
                if [[ $(jq -s 'length' <<<"$CNI_OUT" 2>/dev/null) == 1 ]] &&
                        jq -e 'type == "object"' <<<"$CNI_OUT" >/dev/null 2>&1; then
                        tap_ok "$name"
                else
                        tap_fail "$name" "stdout is not one JSON object" "$(_cni_diag)"
                fi
        elif [[ -n $CNI_OUT ]]; then
                tap_fail "$name" "stdout should be empty" "$(_cni_diag)"
        else
                tap_ok "$name"
        fi
}

# check_cni_error NAME CODE [MSG_REGEX]: non-zero exit; stdout is exactly the spec's error
# object {cniVersion, code, msg[, details]} with that code and a msg matching the regex.
check_cni_error()
{
        local name=$1 code=$2 re=${3:-} got msg

        if ((CNI_RC == 0)); then
                tap_fail "$name" "expected error $code, got exit status 0" "$(_cni_diag)"
                return 0
        fi
        if ! got=$(jq -er 'select(type == "object" and (.cniVersion | type) == "string"
                        and (.msg | type) == "string") | .code' <<<"$CNI_OUT" 2>/dev/null) ||
                [[ $(jq -s length <<<"$CNI_OUT") != 1 ]]; then
                tap_fail "$name" "stdout is not one error object" "$(_cni_diag)"
                return 0
        fi
        msg=$(jq -r .msg <<<"$CNI_OUT")
        if [[ $got != "$code" ]]; then
                tap_fail "$name" "expected code $code, got $got" "$(_cni_diag)"
        elif [[ -n $re && ! $msg =~ $re ]]; then
                tap_fail "$name" "msg does not match: $re" "$(_cni_diag)"
        else
                tap_ok "$name"
        fi
}

# cni_conf I [JQ_EXPR]: the configuration for ENI I (its MAC and address) on network "tasks",
# version ${CNI_VERSION:-1.1.0}, netd's test socket; JQ_EXPR edits it (e.g. '.mtu = 1500').
cni_conf()
{
        local i=$1 expr=${2:-.}

        jq -nc --arg v "${CNI_VERSION:-1.1.0}" --arg mac "$(fabric_eni_mac "$i")" \
                --arg addr "$(fabric_eni_ip "$i")/$FABRIC_PREFIXLEN" --arg sock "$NETD_SOCKET" \
                '{cniVersion: $v, name: "tasks", type: "task-eni", mac: $mac,
                  addresses: [$addr], socket: $sock} | '"$expr"
}

# with_prev CONF RESULT: CONF with prevResult set (as a runtime does for CHECK and DEL).
with_prev()
{
        jq -c --argjson p "$2" '. + {prevResult: $p}' <<<"$1"
}

# register_enis FIRST LAST: register ENIs with netd (subnet and gateway of the fabric).
register_enis()
{
        local i

        for ((i = $1; i <= $2; i++)); do
                netdctl eni register "$(fabric_eni_mac "$i")" subnet "$FABRIC_SUBNET" \
                        gateway "$FABRIC_GATEWAY" >/dev/null || return 1
        done
}

# ns_link_json NS IFNAME: ip -j link of IFNAME in netns NS (a fabric name suffix or a path).
ns_ip()
{
        local ns=$1
        shift

        [[ $ns == /* ]] || ns=/run/netns/$FABRIC_PREFIX-$ns
        nsenter --net="$ns" -- ip "$@"
}
