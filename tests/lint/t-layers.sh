#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# netd's modules call down their layers only, and never in a circle (netd/LAYERS), as their
# objects' symbol tables show; the check itself is shown to catch both on objects made to.
set -uo pipefail
source "$(dirname "$0")/../lib.sh"

LAYERS_SH=$FABRIC_ROOT/tests/lint/layers.sh
command -v nm >/dev/null && command -v tsort >/dev/null || {
        echo "1..0 # SKIP nm or tsort is missing"
        exit 0
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- the check on objects made to break it ------------------------------------------------------
fixture()
{
        local name=$1 body=$2

        printf '%s\n' "$body" >"$work/$name.c"
        "${CC:-cc}" -c -o "$work/$name.o" "$work/$name.c"
}
fixture top 'int mid(void); int top(void) { return mid(); }'
fixture mid 'int low(void); int mid(void) { return low(); }'
fixture low 'int low(void) { return 0; }'
fixture peer 'int mid(void); int peer(void) { return mid(); }'
fixture back 'int top(void); int back(void) { return top(); }'
printf '%s\n' "# fixtures" "t top" "m mid peer" "l low" >"$work/LAYERS"
check "a graph that goes down is clean" "$LAYERS_SH" "$work/LAYERS" "$work"/{top,mid,low,peer}.o
out=$("$LAYERS_SH" "$work/LAYERS" "$work"/{top,mid,low,back}.o)
check_match "a module that no layer names is found" "module back has no layer" "$out"
printf '%s\n' "t top" "m mid" "l low back" >"$work/LAYERS"
out=$("$LAYERS_SH" "$work/LAYERS" "$work"/{top,mid,low,back}.o)
check_match "a call up a layer is found" "up: back \(l\) -> top \(t\) for top" "$out"
fixture low 'int back(void); int low(void) { return back(); }'
out=$("$LAYERS_SH" "$work/LAYERS" "$work"/{top,mid,low,back}.o)
check_match "a circle is found" "circle: .*back" "$out"
printf '%s\n' "t top gone" "m mid" "l low back" >"$work/LAYERS"
out=$("$LAYERS_SH" "$work/LAYERS" "$work"/{top,mid,low,back}.o)
check_match "a module named but not built is found" "layer: gone is named but has no object" \
        "$out"

# --- netd ------------------------------------------------------------------------------------------
objs=()
missing=()
for c in "$FABRIC_ROOT"/netd/*.c; do
        o=$O/obj/netd/$(basename "$c" .c).o
        [[ -f $o ]] && objs+=("$o") || missing+=("$o")
done
check_eq "every module of netd/ is built (make tests)" "" "${missing[*]}"
check "netd/: every module has a layer, no call goes up, no circle" \
        "$LAYERS_SH" "$FABRIC_ROOT/netd/LAYERS" "${objs[@]}"
edges=$("$LAYERS_SH" -e "$FABRIC_ROOT/netd/LAYERS" "${objs[@]}")
check "the graph is read (the engine calls the reaper)" grep -qx "attach reaper" <<<"$edges"
tap_done
