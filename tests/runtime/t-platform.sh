#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# taskvm platform list/show: the versions as the manifests say (built in, or a directory), their
# revisions, errors for an unknown version or revision and for a malformed manifest, and a version
# an operator adds as data only (docs/platforms.md).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_cmd jq

TASKVM=$O/taskvm
[[ -x $TASKVM ]] || tap_bail "build first: make"
work=$(mktemp -d /tmp/tp-platform.XXXXXX)
trap 'rm -rf "$work"' EXIT
shipped=$FABRIC_ROOT/runtime/platforms
tv() { "$TASKVM" "$@"; }
rc_of() { local rc=0; "$@" >/dev/null 2>&1 || rc=$?; echo "$rc"; }

out=$(tv platform list --platforms-dir "$shipped")
check_match "list: 1.3.0 at revision 3, its platform flows on the platform ENI, no EFS" \
        '1\.3\.0 +- +3 +2019-07-09 +platform +platform +platform +platform +unsupported +10 GiB layers \+ 4 GiB volumes' "$out"
check_match "list: 1.4.0 is LATEST, every flow on the task ENI" \
        '1\.4\.0 +LATEST +5 +2022-11-18 +task +task +task +task +task +20 GiB flat \(ephemeralStorage 21-200\)' "$out"
check_match "list says where the manifests came from" "manifests: $shipped\$" "$out"
check_eq "list -j: both versions, in order, with their facts" \
        "1.3.0 3 platform unsupported 1.4.0 5 task task" \
        "$(tv -j platform list --platforms-dir "$shipped" | jq -r '.[] | .version, .revision, .flows.pull, .flows.efs' | xargs)"
check_eq "built in, the same facts" \
        "$(tv -j platform list --platforms-dir "$shipped" | jq -c 'map(del(.manifests))')" \
        "$(tv -j platform list | jq -c 'map(del(.manifests))')"
check_match "... which the output says (nothing is installed at the default directory here, or it is)" \
        'manifests: (built-in|/)' "$(tv platform list | tail -1)"

check_eq "show LATEST: 1.4.0 at its latest revision" "1.4.0 5 5 true" \
        "$(tv -j platform show LATEST | jq -r '"\(.version) \(.revision) \(.revision_list | length) \(.insights.network_metrics)"')"
check_eq "show --revision: what the version was then (no ephemeralStorage before revision 3)" \
        "2 2020-11-05 null true 6" \
        "$(tv -j platform show 1.4.0 --revision 2 | jq -r '"\(.revision) \(.date) \(.storage.ephemeral_min_gib) \(.secrets.json_key_and_version) \(.task_sizes | length)"')"
check_match "show (text) marks the revision shown" '  \* 1 2019-03-27' "$(tv platform show 1.3.0 --rev 1)"
check_match "show (text): flows" "flows: pull platform, auth platform, secrets platform, logs platform, efs unsupported" \
        "$(tv platform show 1.3.0)"

check_eq "an unknown version: an error listing the known ones" \
        '-32602 unknown platform version '"'"'1.5.0'"'"' (known: 1.3.0, 1.4.0, LATEST)' \
        "$(tv -j platform show 1.5.0 | jq -r '"\(.error.code) \(.error.message)"')"
check_eq "... exit status 1" 1 "$(rc_of tv platform show 1.5.0)"
check_eq "an unknown revision: which exist" \
        "-32001 platform version 1.3.0 has no revision 4 (it has revisions 1-3)" \
        "$(tv -j platform show 1.3.0 --revision 4 | jq -r '"\(.error.code) \(.error.message)"')"
check_eq "a revision that is not a number: usage (2)" 2 "$(rc_of tv platform show 1.4.0 --revision two)"
check_eq "show without a version: usage (2)" 2 "$(rc_of tv platform show)"
check_eq "an unknown platform command: usage (2)" 2 "$(rc_of tv platform frob)"
check_eq "a missing directory: an error" 1 "$(rc_of tv platform list --platforms-dir "$work/none")"

# A malformed manifest: the error names the file, the revision and the key.
mkdir "$work/bad"
cp "$shipped"/*.json "$work/bad/"
jq '.revisions[2].changes.storage.ephemeral_max_gib = 20' "$shipped/1.4.0.json" >"$work/bad/1.4.0.json"
check_eq "a malformed manifest is refused, with file, revision and key" \
        "$work/bad/1.4.0.json: revision 3: storage.ephemeral_max_gib: must be an integer from 21 to 16384" \
        "$(tv -j platform list --platforms-dir "$work/bad" | jq -r .error.message)"

# An operator's version, as data only: 1.5.0 keeps image pulls and registry auth on the platform
# ENI and has everything else of 1.4.0; LATEST stays 1.4.0.
mkdir "$work/ops"
cp "$shipped"/*.json "$work/ops/"
jq '.version = "1.5.0" | del(.aliases) | .description = "1.4.0 with pulls on the platform ENI" |
    .revisions = [{revision: 1, date: "2025-01-01", description: "first",
                   changes: (.revisions | map(.changes) | reduce .[] as $c ({}; . * $c) |
                             .flows.pull = "platform" | .flows.auth = "platform")}]' \
        "$shipped/1.4.0.json" >"$work/ops/1.5.0.json"
check_eq "an operator's version loads beside the shipped ones" "1.3.0 1.4.0 1.5.0" \
        "$(tv -j platform list --platforms-dir "$work/ops" | jq -r '.[].version' | xargs)"
check_eq "... with its flows" "platform platform task task task" \
        "$(tv -j platform show 1.5.0 --platforms-dir "$work/ops" | jq -r '.flows | .pull, .auth, .secrets, .logs, .efs' | xargs)"
check_eq "... and LATEST is still 1.4.0" "1.4.0" \
        "$(tv -j platform show LATEST --platforms-dir "$work/ops" | jq -r .version)"
tap_done
