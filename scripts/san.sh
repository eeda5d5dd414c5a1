#!/usr/bin/env bash
# Builds the module with ASan/UBSan into build/san and runs the integration
# tests against it (stock nginx, libasan preloaded through a wrapper).
# Fails when a sanitizer reported anything.  Usage: scripts/san.sh [t/x.t..]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
san=$top/build/san
flags="-fsanitize=address,undefined -fno-omit-frame-pointer"

mkdir -p "$san/logs"
if [ ! -f "$san/Makefile" ] || [ config -nt "$san/Makefile" ]; then
    (cd /usr/share/nginx/src && . ./conf_flags && ./configure \
        --with-cc-opt="$(dpkg-buildflags --get CFLAGS) -fPIC $flags" \
        --with-ld-opt="$(dpkg-buildflags --get LDFLAGS) -fPIC $flags" \
        "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$top" \
        --builddir="$san" > "$san/configure.log" 2>&1)
fi
make -s -f "$san/Makefile" -C /usr/share/nginx/src modules

asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
rm -f "$san"/logs/*
cat > "$san/nginx" <<WRAP
#!/bin/sh
# nginx pools are freed wholesale at exit: leak reports would be noise
export LD_PRELOAD="$asan $ubsan"
export ASAN_OPTIONS="detect_leaks=0:log_path=$san/logs/asan:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$san/logs/ubsan"
exec /usr/sbin/nginx "\$@"
WRAP
chmod 755 "$san/nginx" "$san"
chmod 777 "$san/logs"

[ $# -gt 0 ] || set -- t/*.t
rc=0
SLUICE_NGINX=$san/nginx SLUICE_MODULE=$san/ngx_http_sluice_module.so \
    prove -I t/lib "$@" || rc=1

if ls "$san"/logs/* >/dev/null 2>&1; then
    echo "sanitizer reports:"
    cat "$san"/logs/*
    rc=1
fi
exit $rc
