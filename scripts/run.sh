#!/usr/bin/env bash
# `make run`: a private Sluice stack under var/ (PostgreSQL, Redis, the
# mock provider, controld, nginx with the module), seeded with a demo
# through the admin API.  Safe to re-run: running parts are detected by
# their pid files and reused, the admin and demo tokens are kept in
# var/demo.env.  Returns once a first chat request through the gateway
# works.  `make stop` (scripts/stop.sh) stops everything by pid.
#
# The demo: groups demo-chat, demo-responses and demo-messages, each
# served by the mock provider speaking that dialect (providers mock,
# mock-responses, mock-messages), and a key allowed demo-*.
#
# Ports (override by environment): SLUICE_GATEWAY_PORT (8080),
# SLUICE_ADMIN_PORT (8081), SLUICE_PG_PORT (54329), SLUICE_REDIS_PORT
# (63799), SLUICE_MOCK_PORT (18080); SLUICE_VAR (var/) holds the state,
# give `make stop` the same.  With OPENAI_API_KEY set, provider
# `openai`, target `openai-gpt-4o-mini` and group `openai` are added;
# with ANTHROPIC_API_KEY set, provider `anthropic` (messages, x-api-key),
# target `anthropic-claude-sonnet-4-5` and group `anthropic`.  The demo
# key may use those groups too; a changed API key replaces the stored
# credential.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
VAR=${SLUICE_VAR:-$TOP/var}

GW_PORT=${SLUICE_GATEWAY_PORT:-8080}
ADMIN_PORT=${SLUICE_ADMIN_PORT:-8081}
PG_PORT=${SLUICE_PG_PORT:-54329}
REDIS_PORT=${SLUICE_REDIS_PORT:-63799}
MOCK_PORT=${SLUICE_MOCK_PORT:-18080}
PG_BIN=${SLUICE_PG_BIN:-/usr/lib/postgresql/15/bin}
NGINX=${SLUICE_NGINX:-/usr/sbin/nginx}
MODULE=$TOP/build/nginx/ngx_http_sluice_module.so
CONTROLD=$TOP/build/controld

die() { echo "run: $*" >&2; exit 1; }
say() { echo "run: $*"; }

for f in "$MODULE" "$CONTROLD" "$TOP/conf/gateway.conf"; do
    [ -e "$f" ] || die "$f is missing (run make)"
done

AS_PG=()
if [ "$(id -u)" -eq 0 ]; then
    AS_PG=(runuser -u postgres --)
fi

mkdir -p "$VAR"/{redis,table,nginx/tmp,spool,log,run,cache}
chmod 0755 "$VAR" "$VAR/table" "$VAR/nginx" "$VAR/nginx/tmp"
if [ "$(id -u)" -eq 0 ]; then
    chown nobody:nogroup "$VAR/spool"
fi

# ---- helpers ---------------------------------------------------------------

# pid_of NAME PATTERN: the pid in var/run/NAME.pid if that process runs
# and its command line matches PATTERN
pid_of() {
    local f=$VAR/run/$1.pid pid
    [ -s "$f" ] || return 1
    pid=$(head -n1 "$f")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$2" || return 1
    echo "$pid"
}

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# fails clearly when a port we are about to use belongs to someone else
need_port() {
    local port=$1 what=$2
    if port_busy "$port"; then
        local who
        who=$(ss -ltnpH "sport = :$port" 2>/dev/null | sed -n \
              's/.*users:((\("[^"]*",pid=[0-9]*\).*/\1/p' | head -n1)
        die "port $port (for $what) is taken by another process" \
            "${who:+($who)}; set the matching SLUICE_*_PORT"
    fi
}

# wait_for SECONDS WHAT LOG CMD...: polls CMD until it succeeds
wait_for() {
    local secs=$1 what=$2 log=$3
    shift 3
    local i
    for ((i = 0; i < secs * 10; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "run: $what did not come up in ${secs}s; last lines of $log:" >&2
    tail -n 20 "$log" >&2 || true
    exit 1
}

start_bg() {
    local name=$1 log=$2
    shift 2
    setsid nohup "$@" >>"$log" 2>&1 < /dev/null &
    echo $! > "$VAR/run/$name.pid"
}

# every port a part that is not running yet will need, before starting any
pid_of postgres postgres > /dev/null || need_port "$PG_PORT" postgres
pid_of redis redis-server > /dev/null || need_port "$REDIS_PORT" redis
pid_of mock provider.js > /dev/null || need_port "$MOCK_PORT" "mock provider"
pid_of controld controld > /dev/null ||
    need_port "$ADMIN_PORT" "controld admin API"
pid_of nginx "nginx: master" > /dev/null ||
    need_port "$GW_PORT" "the gateway (nginx)"

# ---- tokens kept across runs ----------------------------------------------

SLUICE_ADMIN_TOKEN=
SLUICE_DEMO_TOKEN=
SLUICE_DEMO_KEY_ID=
if [ -f "$VAR/demo.env" ]; then
    # shellcheck disable=SC1091
    . "$VAR/demo.env"
fi
# the admin token is kept on its own as soon as it exists: a running
# controld knows only that one
if [ -s "$VAR/admin.token" ]; then
    SLUICE_ADMIN_TOKEN=$(cat "$VAR/admin.token")
elif [ -z "$SLUICE_ADMIN_TOKEN" ]; then
    SLUICE_ADMIN_TOKEN=adm-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
fi
(umask 077; echo "$SLUICE_ADMIN_TOKEN" > "$VAR/admin.token")

# ---- PostgreSQL --------------------------------------------------------------

PG_URL=postgresql://postgres@127.0.0.1:$PG_PORT/sluice
if pid=$(pid_of postgres "postgres"); then
    say "postgres running (pid $pid)"
else
    need_port "$PG_PORT" postgres
    if [ ! -f "$VAR/pg/PG_VERSION" ]; then
        rm -rf "$VAR/pg"
        mkdir -p "$VAR/pg"
        [ ${#AS_PG[@]} -eq 0 ] || chown postgres:postgres "$VAR/pg"
        chmod 0700 "$VAR/pg"
        "${AS_PG[@]}" "$PG_BIN/initdb" -D "$VAR/pg" -A trust -U postgres \
            -E UTF8 --locale=C --no-sync > "$VAR/log/initdb.log" 2>&1 \
            || { cat "$VAR/log/initdb.log" >&2; die "initdb failed"; }
    fi
    touch "$VAR/log/postgres.log"
    [ ${#AS_PG[@]} -eq 0 ] || chown postgres:postgres "$VAR/log/postgres.log"
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$VAR/pg" -l "$VAR/log/postgres.log" \
        -w -t 30 -o "-c listen_addresses=127.0.0.1 -p $PG_PORT \
        -c unix_socket_directories=$VAR/pg" start > /dev/null \
        || { tail -n 20 "$VAR/log/postgres.log" >&2; die "postgres failed"; }
    head -n1 "$VAR/pg/postmaster.pid" > "$VAR/run/postgres.pid"
    say "postgres started (pid $(cat "$VAR/run/postgres.pid"), port $PG_PORT)"
fi
psql_q() {
    psql -X -q -At -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"
}
if [ "$(psql_q -d postgres -c \
        "SELECT 1 FROM pg_database WHERE datname = 'sluice'")" != 1 ]; then
    psql_q -d postgres -c 'CREATE DATABASE sluice'
fi

# ---- Redis -------------------------------------------------------------------

if pid=$(pid_of redis "redis-server"); then
    say "redis running (pid $pid)"
else
    need_port "$REDIS_PORT" redis
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$VAR/redis" \
        --appendonly yes --daemonize yes --pidfile "$VAR/run/redis.pid" \
        --logfile "$VAR/log/redis.log"
    wait_for 10 redis "$VAR/log/redis.log" \
        bash -c "[ -s '$VAR/run/redis.pid' ] && \
                 exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT"
    say "redis started (pid $(cat "$VAR/run/redis.pid"), port $REDIS_PORT)"
fi

# ---- mock provider -----------------------------------------------------------

if pid=$(pid_of mock "provider.js"); then
    say "mock provider running (pid $pid)"
else
    need_port "$MOCK_PORT" "mock provider"
    : > "$VAR/log/mock.log"
    start_bg mock "$VAR/log/mock.log" node "$TOP/t/mock/provider.js" \
        --port "$MOCK_PORT"
    wait_for 10 "mock provider" "$VAR/log/mock.log" \
        grep -q "^ready $MOCK_PORT" "$VAR/log/mock.log"
    say "mock provider started (pid $(cat "$VAR/run/mock.pid"), port $MOCK_PORT)"
fi

# ---- controld ----------------------------------------------------------------

umask 077
cat > "$VAR/controld.conf.new" <<EOF
# written by scripts/run.sh
roles = sync,ingest,admin
database_url = $PG_URL
redis = 127.0.0.1:$REDIS_PORT
table_path = $VAR/table
admin_listen = 127.0.0.1:$ADMIN_PORT
admin_token = $SLUICE_ADMIN_TOKEN
sql_dir = $TOP/sql
pidfile = $VAR/run/controld.pid
log_level = info
EOF
umask 022
mv "$VAR/controld.conf.new" "$VAR/controld.conf"

admin_ok() {
    curl -fsS -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz"
}
if pid=$(pid_of controld "controld"); then
    say "controld running (pid $pid)"
else
    need_port "$ADMIN_PORT" "controld admin API"
    # controld writes var/run/controld.pid itself (pidfile)
    rm -f "$VAR/run/controld.pid"
    setsid nohup "$CONTROLD" -c "$VAR/controld.conf" \
        >>"$VAR/log/controld.log" 2>&1 < /dev/null &
    wait_for 30 controld "$VAR/log/controld.log" \
        bash -c "curl -fsS -m 2 http://127.0.0.1:$ADMIN_PORT/healthz && \
                 [ -f '$VAR/table/data.mdb' ] && [ -s '$VAR/run/controld.pid' ]"
    say "controld started (pid $(cat "$VAR/run/controld.pid"), admin port $ADMIN_PORT)"
fi

# ---- nginx -------------------------------------------------------------------

user_line=
[ "$(id -u)" -ne 0 ] || user_line="user nobody nogroup;"
cat > "$VAR/nginx/nginx.conf" <<EOF
# written by scripts/run.sh
$user_line
worker_processes 2;
pid $VAR/run/nginx.pid;
error_log $VAR/log/nginx-error.log info;
load_module $MODULE;

events { worker_connections 1024; }

http {
    default_type application/octet-stream;
    log_format sluice '\$remote_addr [\$time_local] "\$request" \$status '
                      '\$body_bytes_sent rid=\$request_id rt=\$request_time';
    access_log $VAR/log/nginx-access.log sluice;
    client_body_temp_path $VAR/nginx/tmp/client_body;
    proxy_temp_path $VAR/nginx/tmp/proxy;
    fastcgi_temp_path $VAR/nginx/tmp/fastcgi;
    uwsgi_temp_path $VAR/nginx/tmp/uwsgi;
    scgi_temp_path $VAR/nginx/tmp/scgi;

    sluice_table $VAR/table;
    sluice_zone sluice:16m;
    sluice_usage redis=127.0.0.1:$REDIS_PORT stream=sluice:usage spool=$VAR/spool;
    proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;

    upstream sluice_providers { sluice_balancer keepalive=32; }

    server {
        listen 127.0.0.1:$GW_PORT;
        include $TOP/conf/gateway.conf;
    }
}
EOF
NGX=("$NGINX" -p "$VAR/nginx/" -c "$VAR/nginx/nginx.conf"
     -e "$VAR/log/nginx-error.log")
if pid=$(pid_of nginx "nginx: master"); then
    "${NGX[@]}" -t -q || die "nginx config test failed"
    "${NGX[@]}" -s reload
    say "nginx running (pid $pid), reloaded"
else
    need_port "$GW_PORT" "the gateway (nginx)"
    seen=$(stat -c %s "$VAR/log/nginx-error.log" 2>/dev/null || echo 0)
    "${NGX[@]}" 2>/dev/null \
        || { tail -c "+$((seen + 1))" "$VAR/log/nginx-error.log" >&2;
             die "nginx failed to start"; }
    wait_for 10 nginx "$VAR/log/nginx-error.log" \
        bash -c "exec 3<>/dev/tcp/127.0.0.1/$GW_PORT"
    say "nginx started (pid $(cat "$VAR/run/nginx.pid"), port $GW_PORT)"
fi

# ---- demo seed (admin API) ---------------------------------------------------

ADMIN=http://127.0.0.1:$ADMIN_PORT
GW=http://127.0.0.1:$GW_PORT

# admin METHOD PATH JSON: prints the body; sets STATUS
admin() {
    local out data=()
    [ $# -lt 3 ] || data=(--data "$3")
    out=$(curl -sS -m 10 -X "$1" -H "Authorization: Bearer $SLUICE_ADMIN_TOKEN" \
          -H 'Content-Type: application/json' -w '\n%{http_code}' \
          "${data[@]}" "$ADMIN$2") || die "admin API unreachable"
    STATUS=${out##*$'\n'}
    BODY=${out%$'\n'*}
}

# ensure PATH JSON WHAT: create unless it already exists (409)
ensure() {
    admin POST "$1" "$2"
    case $STATUS in
    201) say "created $3" ;;
    409) ;;
    *) die "creating $3: HTTP $STATUS $BODY" ;;
    esac
}

# ensure_cloud NAME BASE_URL DIALECT AUTH_KIND SECRET TARGET MODEL: a
# provider with its credential from the environment (updated when the
# provider exists already), one target and a group named after the
# provider
ensure_cloud() {
    local name=$1 base=$2 dialect=$3 auth=$4 secret=$5 target=$6 model=$7
    local cred
    cred=$(jq -Rn --arg k "$secret" '$k')
    admin POST /admin/v1/providers "{\"name\":\"$name\",\"base_url\":\"$base\",\"dialect\":\"$dialect\",\"auth_kind\":\"$auth\",\"credential\":$cred}"
    case $STATUS in
    201) say "created provider $name" ;;
    409) admin PATCH "/admin/v1/providers/$name" "{\"credential\":$cred}"
         [ "$STATUS" = 200 ] ||
             die "updating the credential of $name: HTTP $STATUS $BODY" ;;
    *) die "creating provider $name: HTTP $STATUS $BODY" ;;
    esac
    ensure /admin/v1/targets "{\"name\":\"$target\",\"provider\":\"$name\",\"model\":\"$model\",\"weight\":1}" \
        "target $target"
    ensure /admin/v1/groups "{\"name\":\"$name\",\"strategy\":\"weighted\",\"targets\":[\"$target\"]}" \
        "group $name"
}

ensure /admin/v1/users '{"name":"demo","email":"demo@example.com"}' "user demo"
ensure /admin/v1/projects '{"name":"demo"}' "project demo"
# one provider on the mock per dialect: PROVIDER DIALECT AUTH_KIND TARGET
# MODEL GROUP
while read -r prov dialect auth target model group; do
    ensure /admin/v1/providers "{\"name\":\"$prov\",\"base_url\":\"http://127.0.0.1:$MOCK_PORT/v1\",\"dialect\":\"$dialect\",\"auth_kind\":\"$auth\",\"credential\":\"sk-mock-upstream\"}" \
        "provider $prov"
    ensure /admin/v1/targets "{\"name\":\"$target\",\"provider\":\"$prov\",\"model\":\"$model\",\"weight\":1}" \
        "target $target"
    ensure /admin/v1/groups "{\"name\":\"$group\",\"strategy\":\"weighted\",\"targets\":[\"$target\"]}" \
        "group $group"
done <<'MOCKS'
mock chat bearer mock-chat mock-model-1 demo-chat
mock-responses responses bearer mock-responses mock-responses-1 demo-responses
mock-messages messages x-api-key mock-messages mock-messages-1 demo-messages
MOCKS

# the groups beyond demo-* that the demo key may use
CLOUD_GROUPS=()
if [ -n "${OPENAI_API_KEY:-}" ]; then
    ensure_cloud openai https://api.openai.com/v1 chat bearer \
        "$OPENAI_API_KEY" openai-gpt-4o-mini gpt-4o-mini
    CLOUD_GROUPS+=(openai)
fi
if [ -n "${ANTHROPIC_API_KEY:-}" ]; then
    ensure_cloud anthropic https://api.anthropic.com/v1 messages x-api-key \
        "$ANTHROPIC_API_KEY" anthropic-claude-sonnet-4-5 claude-sonnet-4-5
    CLOUD_GROUPS+=(anthropic)
fi

models_status() {
    curl -s -o "$VAR/log/models.json" -m 5 -w '%{http_code}' \
        -H "Authorization: Bearer $1" "$GW/v1/models"
}

# the demo key: allowed demo-* (and openai, anthropic when those groups
# exist); kept across runs unless it stopped working or lacks a group it
# should have
key_usable() {
    local g
    [ -n "$SLUICE_DEMO_TOKEN" ] || return 1
    [ "$(models_status "$SLUICE_DEMO_TOKEN")" = 200 ] || return 1
    for g in "${CLOUD_GROUPS[@]}"; do
        jq -e --arg g "$g" '.data | map(.id) | index($g)' \
            "$VAR/log/models.json" > /dev/null || return 1
    done
}

create_demo_key() {
    local groups=$1
    admin POST /admin/v1/keys "{\"user\":\"demo\",\"project\":\"demo\",\"environment\":\"dev\",\"groups\":$groups,\"name\":\"demo\"}"
}

if key_usable; then
    say "reusing the demo key $SLUICE_DEMO_KEY_ID"
else
    extra=
    for g in "${CLOUD_GROUPS[@]}"; do
        extra="$extra,\"$g\""
    done
    create_demo_key "[\"demo-*\"$extra]"
    [ "$STATUS" = 201 ] || die "creating the demo key: HTTP $STATUS $BODY"
    SLUICE_DEMO_TOKEN=$(jq -r .token <<< "$BODY")
    SLUICE_DEMO_KEY_ID=$(jq -r .id <<< "$BODY")
    say "created the demo key $SLUICE_DEMO_KEY_ID"
fi

umask 077
cat > "$VAR/demo.env" <<EOF
# written by make run; ". var/demo.env" exports these to the shell
export SLUICE_URL=$GW
export SLUICE_ADMIN_URL=$ADMIN
export SLUICE_ADMIN_TOKEN=$SLUICE_ADMIN_TOKEN
export SLUICE_DEMO_TOKEN=$SLUICE_DEMO_TOKEN
export SLUICE_DEMO_KEY_ID=$SLUICE_DEMO_KEY_ID
export SLUICE_DATABASE_URL=$PG_URL
export SLUICE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export SLUICE_MOCK_URL=http://127.0.0.1:$MOCK_PORT
EOF
umask 022

# ---- first request -------------------------------------------------------------

chat_ok() {
    [ "$(curl -s -o "$VAR/log/first-chat.json" -m 10 -w '%{http_code}' \
         -H "Authorization: Bearer $SLUICE_DEMO_TOKEN" \
         -H 'Content-Type: application/json' \
         --data '{"model":"demo-chat","messages":[{"role":"user","content":"hello"}]}' \
         "$GW/v1/chat/completions")" = 200 ]
}
if ! wait_for 15 "a first chat request" "$VAR/log/nginx-error.log" chat_ok; then
    exit 1
fi

# the other two dialects, each against its own demo group (a warning
# only: the chat request above proved the stack runs)
dialect_ok() {
    local path=$1 data=$2 code
    code=$(curl -s -o "$VAR/log/first-${path##*/}.json" -m 10 \
           -w '%{http_code}' -H "x-api-key: $SLUICE_DEMO_TOKEN" \
           -H 'anthropic-version: 2023-06-01' \
           -H 'Content-Type: application/json' --data "$data" "$GW$path") ||
        code=000
    [ "$code" = 200 ] ||
        echo "run: warning: POST $path answered HTTP $code" \
             "(var/log/first-${path##*/}.json)" >&2
}
dialect_ok /v1/responses '{"model":"demo-responses","input":"hello"}'
dialect_ok /v1/messages \
    '{"model":"demo-messages","max_tokens":256,"messages":[{"role":"user","content":"hello"}]}'

groups="demo-chat, demo-responses, demo-messages (the mock provider)"
for g in "${CLOUD_GROUPS[@]}"; do
    groups="$groups, $g"
done

cat <<EOF

Sluice is running (stop with: make stop)
  gateway      $GW
  admin API    $ADMIN
  admin token  $SLUICE_ADMIN_TOKEN
  demo token   $SLUICE_DEMO_TOKEN
  settings     $VAR/demo.env  (. var/demo.env)

  groups       $groups

  curl $GW/v1/chat/completions -H "Authorization: Bearer \$SLUICE_DEMO_TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{"model":"demo-chat","messages":[{"role":"user","content":"hi"}]}'
  curl $GW/v1/responses -H "Authorization: Bearer \$SLUICE_DEMO_TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{"model":"demo-responses","input":"hi"}'
  curl $GW/v1/messages -H "x-api-key: \$SLUICE_DEMO_TOKEN" \\
       -H 'anthropic-version: 2023-06-01' -H 'Content-Type: application/json' \\
       -d '{"model":"demo-messages","max_tokens":256,"messages":[{"role":"user","content":"hi"}]}'
EOF
