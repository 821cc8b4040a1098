#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build programs of another commit of this repository, for comparing with it (bench/cni-latency)
# or handing over to it (tests/integration/t-upgrade.sh):
#       scripts/build-rev.sh REV DIR [TARGET...]       (TARGET: netd, netdctl, task-eni; netd)
# The commit's tree is exported with git archive into DIR/src (no worktree of the repository is
# made) and built there with its own Makefile into DIR/src/build; DIR/REV names the commit
# built. A DIR that has REV's targets built already is used as it is. Prints DIR/src/build.
set -euo pipefail

if (($# < 2)); then
        echo "usage: $0 REV DIR [TARGET...]" >&2
        exit 2
fi
rev=$1 dir=$2
shift 2
targets=("${@:-netd}")
root=$(cd "$(dirname "$0")/.." && pwd)

commit=$(git -C "$root" rev-parse --verify --quiet "$rev^{commit}") || {
        echo "build-rev: no commit '$rev' in $root" >&2
        exit 1
}
out=$dir/src/build
built=1
for t in "${targets[@]}"; do
        [[ -x $out/$t ]] || built=0
done
if ((built)) && [[ $(cat "$dir/REV" 2>/dev/null) == "$commit" ]]; then
        echo "$out"
        exit 0
fi
rm -rf "$dir/src"
mkdir -p "$dir/src"
git -C "$root" archive "$commit" | tar -x -C "$dir/src"
echo "$commit" >"$dir/REV"
make -C "$dir/src" -j"$(nproc)" O=build "${targets[@]/#/build/}" >"$dir/build.log" 2>&1 || {
        echo "build-rev: building $rev failed; the end of $dir/build.log:" >&2
        tail -20 "$dir/build.log" >&2
        exit 1
}
echo "$out"
