#!/usr/bin/env bash
# `make stop`: stops what scripts/run.sh started, by the pids in
# var/run/*.pid (each checked to still be the program it names), nginx
# first, PostgreSQL last.  Data under var/ (SLUICE_VAR) is kept.
set -uo pipefail
cd "$(dirname "$0")/.."
RUN=${SLUICE_VAR:-$PWD/var}/run

# stop NAME PATTERN SIGNAL
stop() {
    local name=$1 pattern=$2 sig=$3 f=$RUN/$1.pid pid i
    [ -s "$f" ] || return 0
    pid=$(head -n1 "$f")
    if ! [[ $pid =~ ^[0-9]+$ ]] || [ ! -r "/proc/$pid/cmdline" ] ||
       ! tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$pattern"; then
        echo "stop: $name not running (stale $f)"
        rm -f "$f"
        return 0
    fi
    kill "-$sig" "$pid" 2>/dev/null
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "stop: $name (pid $pid) still running after 15 s, killing"
        kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$f"
    echo "stop: $name stopped (pid $pid)"
}

stop nginx "nginx: master" QUIT
stop controld controld TERM
stop mock provider.js TERM
stop redis redis-server TERM
stop postgres postgres INT
exit 0
