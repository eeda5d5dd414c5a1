#!/usr/bin/env bash
# Runs the C unit tests (TAP executables given as arguments) and the
# integration tests in t/*.t under prove.
set -uo pipefail
cd "$(dirname "$0")/.."

rc=0
if [ $# -gt 0 ]; then
    prove --exec '' "$@" || rc=1
fi
prove -I t/lib ${PROVE_ARGS:-} t/*.t || rc=1
exit $rc
