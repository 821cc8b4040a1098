#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The call graph of a set of objects by module, from their symbol tables, checked against a
# declared order of layers:
#       tests/lint/layers.sh LAYERS OBJ...
# An edge A -> B is A (A.o) using a global symbol that B (B.o) defines (functions and data;
# static ones are invisible, which is right: the rule is about modules). Prints one line per
# finding and exits 1 if there is any:
#       module X has no layer                   an object whose module LAYERS does not name
#       layer: Y is named but has no object     a module of LAYERS that is not among the objects
#       up: A (L1) -> B (L2) for SYMBOL         an edge into a layer above
#       circle: A -> B -> ... -> A              modules that call each other round
# With -e it prints the edges "A B" instead and exits 0.
set -uo pipefail

edges_only=0
if [[ ${1:-} == -e ]]; then
        edges_only=1
        shift
fi
if (($# < 2)); then
        echo "usage: $0 [-e] LAYERS OBJ..." >&2
        exit 2
fi
layers=$1
shift

declare -A layer_of rank_of defined_by
ranks=0
while read -r layer mods; do
        [[ -z $layer || $layer == \#* ]] && continue
        for m in $mods; do
                layer_of[$m]=$layer
                rank_of[$m]=$ranks
        done
        ranks=$((ranks + 1))
done <"$layers"

findings=0
finding()
{
        echo "$*"
        findings=$((findings + 1))
}

declare -A have
for o in "$@"; do
        m=$(basename "$o" .o)
        have[$m]=1
        [[ -n ${layer_of[$m]:-} ]] || finding "module $m has no layer"
        while read -r sym; do
                defined_by[$sym]=$m
        done < <(nm --defined-only -g "$o" | awk 'NF == 3 && $2 ~ /^[TDBRCVWGS]$/ { print $3 }')
done
for m in "${!layer_of[@]}"; do
        [[ -n ${have[$m]:-} ]] || finding "layer: $m is named but has no object"
done

edges=$(for o in "$@"; do
        a=$(basename "$o" .o)
        nm -u "$o" | awk '{ print $NF }' | while read -r sym; do
                b=${defined_by[$sym]:-}
                [[ -n $b && $b != "$a" ]] && echo "$a $b $sym"
        done
done | sort -u)

if ((edges_only)); then
        awk '{ print $1, $2 }' <<<"$edges" | sort -u
        exit 0
fi

while read -r a b sym; do
        [[ -n $a ]] || continue
        ra=${rank_of[$a]:-} rb=${rank_of[$b]:-}
        [[ -n $ra && -n $rb ]] || continue
        if ((rb < ra)); then
                finding "up: $a (${layer_of[$a]}) -> $b (${layer_of[$b]}) for $sym"
        fi
done <<<"$edges"

# Circles: tsort names the modules of each loop it finds on stderr.
loops=$(awk 'NF { print $1, $2 }' <<<"$edges" | sort -u | tsort 2>&1 >/dev/null |
        grep -v 'input contains a loop' | sed 's/^tsort: //')
if [[ -n $loops ]]; then
        finding "circle: $(tr '\n' ' ' <<<"$loops")"
fi
((findings == 0))
