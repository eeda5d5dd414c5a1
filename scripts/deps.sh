#!/usr/bin/env bash
# Installs (apt) whatever the build, `make run` and `make test` need and is
# missing.  Quiet when everything is there.
set -euo pipefail

pkgs=(nginx nginx-dev postgresql redis-server liblmdb-dev lmdb-utils
      libjansson-dev libpq-dev libhiredis-dev libevent-dev libssl-dev
      libcurl4-openssl-dev pkg-config gcc make perl curl ca-certificates
      libjson-pp-perl wrk valgrind jq openssl)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
        || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)

[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
