#!/usr/bin/env bash
# Seeds the fuzz corpora: t/xlate/<kind>/<from>-<to>.<case>.in.* and the
# client fixtures' bodies and streams, each behind the two selector bytes
# fuzz_xlate.c reads (direction, then flags).  Usage: seed.sh OUTDIR
set -euo pipefail
cd "$(dirname "$0")/../.."

out=$1
fixtures=${SLUICE_FIXTURES:-../shared/clients/fixtures}
declare -A num=([chat]=0 [responses]=1 [messages]=2)

seed() {    # seed KIND FROM TO NAME < body
    local sel
    sel=$(( num[$2] + 3 * num[$3] ))
    mkdir -p "$out/$1"
    { printf "\\x$(printf %02x "$sel")\\x01"; cat; } > "$out/$1/$4"
}

for kind in request response stream; do
    for f in t/xlate/$kind/*.in.*; do
        base=${f##*/}
        pair=${base%%.*}
        seed "$kind" "${pair%-*}" "${pair#*-}" "$base" < "$f"
    done
done

[ -d "$fixtures" ] && command -v jq >/dev/null || exit 0

for f in "$fixtures"/*-*.json; do
    n=0
    while IFS=$'\t' read -r path kind; do
        n=$((n + 1))
        case $path in
            /v1/chat/completions) from=chat ;;
            /v1/responses) from=responses ;;
            /v1/messages) from=messages ;;
            *) continue ;;
        esac
        for to in chat responses messages; do
            [ "$to" = "$from" ] && continue
            jq -c ".requests[$((n - 1))].body" "$f" \
                | seed request "$from" "$to" "${f##*/}.$n.$to"
            jq -j ".requests[$((n - 1))].mock_response.raw" "$f" \
                | seed "$([ "$kind" = sse ] && echo stream || echo response)" \
                       "$from" "$to" "${f##*/}.$n.$to"
        done
    done < <(jq -r '.requests[] | [.path, .mock_response.kind // ""] | @tsv' "$f")
done
