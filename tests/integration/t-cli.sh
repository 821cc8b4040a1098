#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The command lines as people and scripts meet them: one error shape under -j for netdctl and
# taskvm (the control protocol's error object), a detach or deregister of what does not exist
# failing unless --if-exists, task-eni's --help and --version, and the bash completions.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq

fabric_up 1
netd_start
mac=$(fabric_eni_mac 1)
ns1=$(fabric_task_ns t1)
netdctl eni register "$mac" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
netdctl task attach t1 netns "$ns1" mac "$mac" addr "$(fabric_eni_ip 1)/16" >/dev/null
AGENT_SOCKET=$FABRIC_RUN/agent.sock
nsenter --net="$FABRIC_HOST_NS_PATH" -- "$O/taskvm" agent --socket "$AGENT_SOCKET" \
        --netd-socket "$NETD_SOCKET" --credentials-dir "$FABRIC_RUN/credentials" \
        --listen none --local-listen none </dev/null >"$FABRIC_RUN/agent.log" 2>&1 &
AGENT_PID=$!
taskvm() { "$O/taskvm" --socket "$AGENT_SOCKET" "$@"; }
wait_until 5 taskvm health || tap_bail "the agent did not start"

# --- one error shape under -j --------------------------------------------------------------

# shape CODE: stdin is exactly one line, {"error": {"code": CODE, "message": "...", "data"?: {}}}.
shape()
{
        jq -se --argjson code "$1" 'length == 1 and (.[0] | keys == ["error"] and
                (.error | (keys - ["data"]) == ["code", "message"] and .code == $code and
                 (.message | type == "string" and length > 0) and
                 ((.data // {}) | type == "object")))' >/dev/null
}

# json_err CODE NAME CMD...: CMD exits 1 (2 for a usage error) and prints the shape on stdout.
json_err()
{
        local code=$1 name=$2 out rc=0
        shift 2

        out=$("$@" 2>/dev/null) || rc=$?
        if ((rc == 0)); then
                tap_fail "$name" "exit status 0" "$out"
        elif ! shape "$code" <<<"$out"; then
                tap_fail "$name" "not the error shape with code $code" "$out"
        else
                tap_ok "$name"
        fi
}

json_err -32001 "netdctl: an error answer" netdctl -j task show nope
never=02:00:5e:00:00:aa
netdctl eni register "$never" subnet "$FABRIC_SUBNET" gateway "$FABRIC_GATEWAY" >/dev/null
ns2=$(fabric_task_ns t2)
json_err -32004 "netdctl: an error answer with data" netdctl -j task attach t2 netns "$ns2" \
        mac "$never" addr 198.18.9.9/16 wait 1
out=$(netdctl -j task attach t2 netns "$ns2" mac "$never" addr 198.18.9.9/16 wait 1 || true)
check_eq "... the data is netd's" "ETIMEDOUT" "$(jq -r .error.data.errno <<<"$out")"
json_err -32602 "netdctl: a usage error" netdctl -j task frobnicate
json_err -32602 "netdctl: a usage error of an option" netdctl -j --timeout x health
json_err -32009 "netdctl: netd unreachable" "$O/netdctl" -j --socket "$FABRIC_RUN/nowhere.sock" health
check_eq "... saying which socket and why" "$FABRIC_RUN/nowhere.sock ENOENT" \
        "$("$O/netdctl" -j --socket "$FABRIC_RUN/nowhere.sock" health | jq -r '.error.data | "\(.socket) \(.errno)"' || true)"
json_err -32001 "netdctl: a detach of an unknown task" netdctl -j task detach nope
json_err -32001 "taskvm: an error answer" taskvm -j inspect nope
json_err -32602 "taskvm: a usage error" taskvm -j deregister
json_err -32009 "taskvm: the agent unreachable" "$O/taskvm" -j --socket "$FABRIC_RUN/nowhere.sock" ps
echo '{"family":' >"$FABRIC_RUN/broken.json"
json_err -32602 "taskvm: a task definition that is not JSON" taskvm -j register \
        --task-definition "$FABRIC_RUN/broken.json" --cluster c --region us-west-2 \
        --availability-zone us-west-2a --netd-task t1
check_eq "-p is the same shape, indented" -32001 "$(netdctl -p task show nope | jq .error.code || true)"
out=$(netdctl task show nope 2>"$FABRIC_RUN/err") || true
check_eq "without -j: nothing on stdout" "" "$out"
check_eq "... and 'prog: message' on stderr" "netdctl: No such task 'nope'" "$(cat "$FABRIC_RUN/err")"

# --- --if-exists -------------------------------------------------------------------------------

check_fail "netdctl task detach of an unknown task fails" netdctl task detach nope
check_eq "... exit status 1" 1 "$(netdctl task detach nope >/dev/null 2>&1; echo $?)"
check_match "... saying so" "No such task 'nope': nothing to detach" "$(netdctl task detach nope 2>&1 || true)"
check "with --if-exists it succeeds" netdctl task detach nope --if-exists
check_eq "... and says there was nothing to detach" "nope false" \
        "$(netdctl -j task detach --if-exists nope | jq -r '"\(.task_id) \(.detached)"')"
check "a task that exists is detached with --if-exists too" netdctl task detach --if-exists t1
json_err -32602 "two task ids are a usage error" netdctl -j task detach a b
check_fail "taskvm deregister of an unknown task fails" taskvm deregister nope
check "with --if-exists it succeeds" taskvm deregister nope --if-exists
check_eq "... and says so" "nope false" \
        "$(taskvm -j deregister --if-exists nope | jq -r '"\(.task_id) \(.deregistered)"')"
check_match "... in text too" "task nope is not registered: nothing to do" \
        "$(taskvm deregister --if-exists nope)"
check_fail "--if-exists does not hide other errors" taskvm --socket "$FABRIC_RUN/nowhere.sock" \
        deregister nope --if-exists

# --- task-eni by hand ----------------------------------------------------------------------------

te() { env -i PATH=/usr/bin:/bin "$@"; }
out=$(te "$O/task-eni" --help </dev/null) && rc=0 || rc=$?
check_eq "task-eni --help exits 0" 0 "$rc"
check_match "... with its usage" "^Usage: task-eni \\[ --help \\| --version \\]" "$out"
check_match "... naming the variables" "CNI_COMMAND +ADD, DEL, CHECK, STATUS, GC or VERSION" "$out"
check_eq "-h is --help" "$out" "$(te "$O/task-eni" -h </dev/null)"
check_match "--version" "^task-eni $(cat "$FABRIC_ROOT/VERSION") \\(CNI 0.4.0, 1.0.0, 1.1.0\\)$" \
        "$(te "$O/task-eni" --version </dev/null)"
check_eq "an unknown option is a usage error (2)" 2 \
        "$(te "$O/task-eni" --frob </dev/null >/dev/null 2>&1; echo $?)"
check_eq "with CNI_COMMAND set it is a plugin call (VERSION)" "1.1.0" \
        "$(te CNI_COMMAND=VERSION "$O/task-eni" --help </dev/null | jq -r .cniVersion)"
check_eq "without CNI_COMMAND nor arguments it is the CNI error, as before (4)" 4 \
        "$(te "$O/task-eni" </dev/null | jq -r .code || true)"

# --- bash completion ---------------------------------------------------------------------------

# comp FUNC WORD...: the completions of the last WORD (the cursor) after the others.
comp()
{
        local fn=$1
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        "$fn"
        printf '%s\n' "${COMPREPLY[@]}" | sort | xargs
}

check "completions/netdctl is bash" bash -n completions/netdctl
check "completions/taskvm is bash" bash -n completions/taskvm
# shellcheck source=completions/netdctl
source "$FABRIC_ROOT/completions/netdctl"
# shellcheck source=completions/taskvm
source "$FABRIC_ROOT/completions/taskvm"
check_eq "they register for their commands" "complete -F _netdctl netdctl|complete -F _taskvm taskvm" \
        "$(complete -p netdctl)|$(complete -p taskvm)"
netdctl task attach t1 netns "$ns1" mac "$mac" addr "$(fabric_eni_ip 1)/16" >/dev/null
nd=$O/netdctl
check_eq "netdctl: the objects" "eni events flows health help platform stats task" "$(comp _netdctl "$nd" "")"
check_eq "netdctl: the platform commands" "attach check detach help list show" \
        "$(comp _netdctl "$nd" platform "")"
check_eq "netdctl: platform attach keywords" "nameserver netns" "$(comp _netdctl "$nd" platform attach p1 n)"
check_eq "netdctl: an object by its prefix" "task" "$(comp _netdctl "$nd" ta)"
check_eq "netdctl: options" "--socket" "$(comp _netdctl "$nd" --so)"
check_eq "netdctl: the task commands, after an option" "attach check detach help list phase show" \
        "$(comp _netdctl "$nd" -j task "")"
check_eq "netdctl: task ids from netd (its socket from -s), after prefixes" "t1" \
        "$(comp _netdctl "$nd" -s "$NETD_SOCKET" ta sh "")"
check_eq "netdctl: MACs from netd" "$(printf "%s\n" "$never" "$mac" | sort | xargs)" "$(comp _netdctl "$nd" --socket "$NETD_SOCKET" eni show "")"
check_eq "netdctl: detach offers --if-exists" "--if-exists t1" \
        "$(comp _netdctl "$nd" -s "$NETD_SOCKET" task detach "")"
check_eq "netdctl: attach keywords" "imds" "$(comp _netdctl "$nd" task attach x im)"
check_eq "netdctl: their values" "allow block" "$(comp _netdctl "$nd" task attach x imds "")"
check_eq "netdctl: phases" "READY READY_PULL" "$(comp _netdctl "$nd" -s "$NETD_SOCKET" task phase t1 "")"
check_eq "netdctl: events" "follow" "$(comp _netdctl "$nd" events "")"
check_eq "netdctl: register keywords" "gateway gateway6" "$(comp _netdctl "$nd" eni register "$mac" subnet 198.18.0.0/16 ga)"
check_eq "taskvm: the commands" "agent deregister health help inspect logs platform ps register run stop" \
        "$(comp _taskvm "$O/taskvm" "")"
check_eq "taskvm: run options" "--platform-version" "$(comp _taskvm "$O/taskvm" run --plat)"
check_eq "taskvm: run's platform versions" "1.3.0 1.4.0 LATEST" \
        "$(comp _taskvm "$O/taskvm" run --platform-version "")"
check_eq "taskvm: stop options" "--detach" "$(comp _taskvm "$O/taskvm" stop --det)"
check_eq "taskvm: logs options" "--follow" "$(comp _taskvm "$O/taskvm" logs --fo)"
check_eq "taskvm: deregister offers --if-exists" "--if-exists" \
        "$(comp _taskvm "$O/taskvm" --socket "$AGENT_SOCKET" dereg "")"
check_eq "taskvm: register options" "--platform-version" "$(comp _taskvm "$O/taskvm" register --plat)"
check_eq "taskvm: platform versions" "1.3.0 1.4.0 LATEST" \
        "$(comp _taskvm "$O/taskvm" register --platform-version "")"
check_eq "taskvm: the platform commands" "list show" "$(comp _taskvm "$O/taskvm" platform "")"
check_eq "taskvm: platform show offers the versions the manifests name" "1.3.0 1.4.0 LATEST" \
        "$(comp _taskvm "$O/taskvm" -j platform show "")"
check_eq "taskvm: the agent's log levels" "debug err info notice warning" \
        "$(comp _taskvm "$O/taskvm" agent -l "")"

kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || true
check "netd stops cleanly" netd_stop
tap_done
