#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every benchmark (bench/*/run), each side by side with its reference, and print its table.
# Benchmarks are measurements, not tests: nothing here passes or fails on timing.
#   BENCH=pattern bench/run.sh      only the benchmarks whose name matches
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export O=${O:-build}
[[ $O == /* ]] || O=$root/$O
status=0
found=0
for b in "$root"/bench/*/run; do
        [[ -x $b ]] || continue
        name=$(basename "$(dirname "$b")")
        [[ -n ${BENCH:-} && ! $name =~ $BENCH ]] && continue
        found=1
        echo "=== bench/$name"
        "$b" || { echo "bench/$name failed (exit $?)"; status=1; }
        echo
done
((found)) || echo "no benchmark matched"
exit $status
