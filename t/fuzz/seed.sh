#!/usr/bin/env bash
# Seeds the fuzz corpora: t/xlate/<kind>/<from>-<to>.<case>.in.* and the
# client fixtures' bodies and streams, each behind the two selector bytes
# fuzz_xlate.c reads (direction, then flags); as they are, the request
# bodies for fuzz_estimate.c (OUTDIR/estimate); the streams for
# fuzz_sse.c (OUTDIR/sse).  Usage: seed.sh OUTDIR
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
        opt=${f%.in.*}.opt.json
        # an answer to a responses caller's tools: "<request>\0<answer>"
        if [ -f "$opt" ] && command -v jq >/dev/null \
           && jq -e .request "$opt" >/dev/null 2>&1; then
            { jq -cj .request "$opt"; printf '\0'; cat "$f"; } \
                | seed "$kind" "${pair%-*}" "${pair#*-}" "$base"
            continue
        fi
        seed "$kind" "${pair%-*}" "${pair#*-}" "$base" < "$f"
    done
done

# the estimator's corpus: request bodies as they are
mkdir -p "$out/estimate"
for f in t/xlate/request/*.in.*; do
    cp "$f" "$out/estimate/${f##*/}"
done

# the SSE splitter's corpus (fuzz_sse.c): the streams behind its three
# option bytes (limit, cuts, stop), whole and cut
mkdir -p "$out/sse"
for f in t/xlate/stream/*.in.*; do
    { printf '\0\0\377'; cat "$f"; } > "$out/sse/${f##*/}"
    { printf '\0\7\377'; cat "$f"; } > "$out/sse/${f##*/}.cut"
done

[ -d "$fixtures" ] && command -v jq >/dev/null || exit 0

for f in "$fixtures"/*-*.json; do
    n=0
    while IFS= read -r body; do
        n=$((n + 1))
        printf '%s' "$body" > "$out/estimate/${f##*/}.$n"
    done < <(jq -c '.requests[] | select(.body | type == "object") | .body' \
                 "$f")
done

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
