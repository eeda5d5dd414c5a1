/*
 * Usage records: one XADD per gateway request, built in the LOG phase,
 * queued per worker and pipelined to Redis over a non-blocking nginx
 * connection; spooled to a file while Redis is away and replayed later.
 */

#include "ngx_http_sluice_usage.h"
#include "sluice_resp.h"


#define NGX_HTTP_SLUICE_USAGE_CONNECT    3000   /* connect timeout, ms */
#define NGX_HTTP_SLUICE_USAGE_ACK        10000  /* reply silence, ms */
#define NGX_HTTP_SLUICE_USAGE_BACKOFF    100    /* first retry, ms */
#define NGX_HTTP_SLUICE_USAGE_BACKOFF_MAX  5000
#define NGX_HTTP_SLUICE_USAGE_SCAN       30000  /* spool scan, ms */
#define NGX_HTTP_SLUICE_USAGE_QUIET      60     /* s between same errors */
#define NGX_HTTP_SLUICE_USAGE_IOV        64


/* the record's fields, in CONTRACTS.md order */
enum {
    NGX_HTTP_SLUICE_U_V = 0,
    NGX_HTTP_SLUICE_U_TS,
    NGX_HTTP_SLUICE_U_RID,
    NGX_HTTP_SLUICE_U_KEY,
    NGX_HTTP_SLUICE_U_USER,
    NGX_HTTP_SLUICE_U_PROJECT,
    NGX_HTTP_SLUICE_U_ENV,
    NGX_HTTP_SLUICE_U_IP,
    NGX_HTTP_SLUICE_U_DIALECT,
    NGX_HTTP_SLUICE_U_GROUP,
    NGX_HTTP_SLUICE_U_PROVIDER,
    NGX_HTTP_SLUICE_U_MODEL,
    NGX_HTTP_SLUICE_U_TARGET,
    NGX_HTTP_SLUICE_U_STATUS,
    NGX_HTTP_SLUICE_U_STREAM,
    NGX_HTTP_SLUICE_U_IN,
    NGX_HTTP_SLUICE_U_OUT,
    NGX_HTTP_SLUICE_U_LATENCY,
    NGX_HTTP_SLUICE_U_TTFB,
    NGX_HTTP_SLUICE_U_ATTEMPTS,
    NGX_HTTP_SLUICE_U_ENDPOINT,
    NGX_HTTP_SLUICE_U_N
};

static ngx_int_t ngx_http_sluice_usage_format(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, ngx_http_sluice_usage_rec_t *rec);
static void ngx_http_sluice_usage_values(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, ngx_str_t *v, u_char *buf);
static u_char *ngx_http_sluice_usage_num(u_char *p, ngx_str_t *v,
    int64_t n);
static ngx_uint_t ngx_http_sluice_usage_status(ngx_http_request_t *r);
static void ngx_http_sluice_usage_push(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec);
static void ngx_http_sluice_usage_keep(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec);
static void ngx_http_sluice_usage_tick(ngx_event_t *ev);
static void ngx_http_sluice_usage_connect(ngx_http_sluice_usage_t *u);
static void ngx_http_sluice_usage_connected(ngx_http_sluice_usage_t *u);
static void ngx_http_sluice_usage_close(ngx_http_sluice_usage_t *u);
static void ngx_http_sluice_usage_write_handler(ngx_event_t *wev);
static void ngx_http_sluice_usage_read_handler(ngx_event_t *rev);
static void ngx_http_sluice_usage_send(ngx_http_sluice_usage_t *u);
static void ngx_http_sluice_usage_advance(ngx_http_sluice_usage_t *u,
    size_t n);
static ngx_int_t ngx_http_sluice_usage_replies(ngx_http_sluice_usage_t *u);
static ngx_int_t ngx_http_sluice_usage_ack(ngx_http_sluice_usage_t *u,
    redisReply *reply);


static ngx_http_sluice_usage_t  ngx_http_sluice_usage;


static ngx_str_t  ngx_http_sluice_usage_names[] = {
    ngx_string("v"),
    ngx_string("ts"),
    ngx_string("rid"),
    ngx_string("key"),
    ngx_string("user"),
    ngx_string("project"),
    ngx_string("env"),
    ngx_string("ip"),
    ngx_string("dialect"),
    ngx_string("group"),
    ngx_string("provider"),
    ngx_string("model"),
    ngx_string("target"),
    ngx_string("status"),
    ngx_string("stream"),
    ngx_string("in"),
    ngx_string("out"),
    ngx_string("latency_ms"),
    ngx_string("ttfb_ms"),
    ngx_string("attempts"),
    ngx_string("endpoint"),
};


/* indexed by NGX_HTTP_SLUICE_CHAT / _RESPONSES / _MESSAGES */
static ngx_str_t  ngx_http_sluice_usage_dialects[] = {
    ngx_string("chat"),
    ngx_string("responses"),
    ngx_string("messages"),
};


ngx_int_t
ngx_http_sluice_usage_log_handler(ngx_http_request_t *r)
{
    ngx_http_sluice_ctx_t        *ctx;
    ngx_http_sluice_usage_t      *u;
    ngx_http_sluice_usage_rec_t   rec;

    ctx = ngx_http_sluice_get_ctx(r);

    if (ctx == NULL || ctx->logged) {
        return NGX_OK;
    }

    ctx->logged = 1;

    u = &ngx_http_sluice_usage;

    if (!u->on) {
        return NGX_OK;
    }

    if (ngx_http_sluice_usage_format(r, ctx, &rec) != NGX_OK) {
        u->stats.dropped++;
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sluice: usage record could not be formatted");
        return NGX_OK;
    }

    ngx_http_sluice_usage_push(u, &rec);

    return NGX_OK;
}


/* XADD <stream> [MAXLEN ~ <n>] * <field> <value> ... */
static ngx_int_t
ngx_http_sluice_usage_format(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, ngx_http_sluice_usage_rec_t *rec)
{
    int                           argc;
    size_t                        len;
    u_char                        buf[NGX_HTTP_SLUICE_U_N * NGX_INT64_LEN];
    u_char                        maxlen[NGX_INT_T_LEN];
    size_t                        argvlen[8 + 2 * NGX_HTTP_SLUICE_U_N];
    ngx_str_t                     v[NGX_HTTP_SLUICE_U_N];
    ngx_uint_t                    i;
    const char                   *argv[8 + 2 * NGX_HTTP_SLUICE_U_N];
    ngx_http_sluice_main_conf_t  *mcf;

    mcf = ngx_http_sluice_usage.mcf;

    argc = 0;
    argv[argc] = "XADD";
    argvlen[argc++] = 4;
    argv[argc] = (const char *) mcf->stream.data;
    argvlen[argc++] = mcf->stream.len;

    if (mcf->maxlen) {
        argv[argc] = "MAXLEN";
        argvlen[argc++] = 6;
        argv[argc] = "~";
        argvlen[argc++] = 1;
        argv[argc] = (const char *) maxlen;
        argvlen[argc++] = ngx_sprintf(maxlen, "%ui", mcf->maxlen) - maxlen;
    }

    argv[argc] = "*";
    argvlen[argc++] = 1;

    ngx_http_sluice_usage_values(r, ctx, v, buf);

    for (i = 0; i < NGX_HTTP_SLUICE_U_N; i++) {
        argv[argc] = (const char *) ngx_http_sluice_usage_names[i].data;
        argvlen[argc++] = ngx_http_sluice_usage_names[i].len;
        argv[argc] = v[i].len ? (const char *) v[i].data : "";
        argvlen[argc++] = v[i].len;
    }

    /* formatted by hand: hiredis's formatter spends most in printf */
    len = sluice_resp_len(argc, argvlen);

    rec->cmd = ngx_alloc(len, r->connection->log);
    if (rec->cmd == NULL) {
        return NGX_ERROR;
    }

    (void) sluice_resp_write(rec->cmd, argc, argv, argvlen);
    rec->len = len;

    return NGX_OK;
}


/* the field values; numbers are printed into buf; unknown stays empty */
static void
ngx_http_sluice_usage_values(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, ngx_str_t *v, u_char *buf)
{
    u_char  *p;

    ngx_memzero(v, NGX_HTTP_SLUICE_U_N * sizeof(ngx_str_t));

    ngx_str_set(&v[NGX_HTTP_SLUICE_U_V], "1");
    ngx_http_sluice_request_id(r, &v[NGX_HTTP_SLUICE_U_RID]);
    v[NGX_HTTP_SLUICE_U_KEY] = ctx->key_id;
    v[NGX_HTTP_SLUICE_U_USER] = ctx->user;
    v[NGX_HTTP_SLUICE_U_PROJECT] = ctx->project;
    v[NGX_HTTP_SLUICE_U_ENV] = ctx->environment;
    v[NGX_HTTP_SLUICE_U_IP] = r->connection->addr_text;
    v[NGX_HTTP_SLUICE_U_GROUP] = ctx->group;
    v[NGX_HTTP_SLUICE_U_PROVIDER] = ctx->provider;
    v[NGX_HTTP_SLUICE_U_MODEL] = ctx->model;
    v[NGX_HTTP_SLUICE_U_TARGET] = ctx->target_id;

    if (ctx->dialect < sizeof(ngx_http_sluice_usage_dialects)
                       / sizeof(ngx_str_t))
    {
        v[NGX_HTTP_SLUICE_U_DIALECT] =
                                   ngx_http_sluice_usage_dialects[ctx->dialect];
    }

    /* the path the caller asked for, without arguments */
    v[NGX_HTTP_SLUICE_U_ENDPOINT] = r->unparsed_uri;
    p = ngx_strlchr(r->unparsed_uri.data,
                    r->unparsed_uri.data + r->unparsed_uri.len, '?');
    if (p) {
        v[NGX_HTTP_SLUICE_U_ENDPOINT].len = p - r->unparsed_uri.data;
    }

    p = buf;
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_TS],
                                  (int64_t) r->start_sec * 1000
                                  + r->start_msec);
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_STATUS],
                                  ngx_http_sluice_usage_status(r));
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_STREAM],
                                  ctx->stream);
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_IN],
                                  ctx->in_tokens);
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_OUT],
                                  ctx->out_tokens);
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_LATENCY],
                                  (int64_t) ngx_http_sluice_elapsed(r));
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_TTFB],
                                  ctx->ttfb ? (int64_t) ctx->ttfb : -1);
    (void) ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_ATTEMPTS],
                                     ctx->attempts);
}


/*
 * The status the caller got; 499 when the caller went away before the
 * answer was complete (nginx leaves a stream's 200 in place, or says 400
 * for a body cut short): the row must not look like a full answer.
 */
static ngx_uint_t
ngx_http_sluice_usage_status(ngx_http_request_t *r)
{
    ngx_http_sluice_ctx_t  *ctx;

    if (r->connection->error) {
        return NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }

    /* a stream whose provider failed after the 200 went out */
    ctx = ngx_http_sluice_get_ctx(r);
    if (ctx && ctx->failed_status) {
        return ctx->failed_status;
    }

    return r->err_status ? r->err_status : r->headers_out.status;
}


/* prints n (>= 0) at p into v; a negative n leaves v empty */
static u_char *
ngx_http_sluice_usage_num(u_char *p, ngx_str_t *v, int64_t n)
{
    if (n < 0) {
        return p;
    }

    v->data = p;
    p = ngx_sprintf(p, "%L", n);
    v->len = p - v->data;

    return p;
}


/* takes the record into the queue, or else the spool; frees what it drops */
static void
ngx_http_sluice_usage_push(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec)
{
    if (u->count == u->size) {
        ngx_http_sluice_usage_keep(u, rec);
        ngx_free(rec->cmd);
        return;
    }

    ngx_http_sluice_usage_enqueue(u, rec);
    u->stats.queued++;
}


/* the queue has room */
void
ngx_http_sluice_usage_enqueue(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec)
{
    ngx_connection_t  *c;

    u->ring[(u->head + u->count) % u->size] = *rec;
    u->count++;

    /* one write per event loop turn for all the records logged in it */
    c = u->peer.connection;

    if (u->connected && !c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


/* a record the queue cannot hold: spool it, or count it as lost */
static void
ngx_http_sluice_usage_keep(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec)
{
    if (ngx_http_sluice_usage_spool(u, rec) == NGX_OK) {

        if (ngx_http_sluice_usage_loud(u, NGX_HTTP_SLUICE_Q_FULL)) {
            ngx_log_error(NGX_LOG_ERR, &u->log, 0,
                          "sluice: usage queue full (%ui records), "
                          "spooling to \"%s\"", u->size, u->spool_path);
        }

        return;
    }

    u->stats.dropped++;

    /* the cycle's log: u->log is quietened while Redis is away */
    if (ngx_http_sluice_usage_loud(u, NGX_HTTP_SLUICE_Q_FULL)) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "sluice: usage queue full (%ui records) and the "
                      "spool cannot take more: %ui usage records dropped "
                      "so far", u->size, u->stats.dropped);
    }
}


/* 1 when an error of this kind has not been logged for QUIET seconds */
ngx_int_t
ngx_http_sluice_usage_loud(ngx_http_sluice_usage_t *u, ngx_uint_t kind)
{
    if (ngx_time() - u->quiet[kind] < NGX_HTTP_SLUICE_USAGE_QUIET) {
        return 0;
    }

    u->quiet[kind] = ngx_time();

    return 1;
}


ngx_int_t
ngx_http_sluice_usage_init_process(ngx_cycle_t *cycle)
{
    ngx_http_sluice_usage_t      *u;
    ngx_http_sluice_main_conf_t  *mcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_sluice_module);

    if (mcf == NULL || mcf->redis == NULL) {
        return NGX_OK;
    }

    u = &ngx_http_sluice_usage;
    ngx_memzero(u, sizeof(ngx_http_sluice_usage_t));

    u->mcf = mcf;
    u->log = *cycle->log;
    u->log_level = cycle->log->log_level;
    u->size = mcf->queue ? mcf->queue : 1;
    u->backoff = NGX_HTTP_SLUICE_USAGE_BACKOFF;
    u->spool_fd = NGX_INVALID_FILE;
    u->replay_fd = NGX_INVALID_FILE;

    u->ring = ngx_alloc(u->size * sizeof(ngx_http_sluice_usage_rec_t),
                        cycle->log);
    if (u->ring == NULL) {
        return NGX_ERROR;
    }

    u->reader = redisReaderCreate();
    if (u->reader == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "sluice: redisReaderCreate() failed");
        return NGX_ERROR;
    }

    if (mcf->spool.len
        && ngx_http_sluice_usage_spool_init(u, cycle->log) != NGX_OK)
    {
        return NGX_ERROR;
    }

    u->tick.handler = ngx_http_sluice_usage_tick;
    u->tick.data = u;
    u->tick.log = &u->log;
    u->tick.cancelable = 1;

    u->on = 1;

    ngx_add_timer(&u->tick, 1);

    return NGX_OK;
}


void
ngx_http_sluice_usage_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                    lost;
    ngx_http_sluice_usage_t      *u;
    ngx_http_sluice_usage_rec_t  *rec;

    u = &ngx_http_sluice_usage;

    if (!u->on) {
        return;
    }

    u->on = 0;

    if (u->tick.timer_set) {
        ngx_del_timer(&u->tick);
    }

    ngx_http_sluice_usage_close(u);

    /* what Redis did not acknowledge goes to the spool: at least once */
    lost = 0;

    while (u->count) {
        rec = &u->ring[u->head];

        if (ngx_http_sluice_usage_spool(u, rec) != NGX_OK) {
            u->stats.dropped++;
            lost++;
        }

        ngx_free(rec->cmd);
        u->head = (u->head + 1) % u->size;
        u->count--;
    }

    if (lost) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "sluice: %ui usage records lost at exit "
                      "(Redis away, no spool)", lost);
    }

    ngx_http_sluice_usage_spool_done(u);

    ngx_log_error(NGX_LOG_INFO, cycle->log, 0,
                  "sluice: usage records: queued %ui, sent %ui, acked %ui, "
                  "spooled %ui, replayed %ui, rejected %ui, dropped %ui",
                  u->stats.queued, u->stats.sent, u->stats.acked,
                  u->stats.spooled, u->stats.replayed, u->stats.rejected,
                  u->stats.dropped);

    if (u->reader) {
        redisReaderFree(u->reader);
    }

    ngx_free(u->ring);

    ngx_memzero(u, sizeof(ngx_http_sluice_usage_t));
}


/* timer: (re)connect after a backoff, or look for spool files */
static void
ngx_http_sluice_usage_tick(ngx_event_t *ev)
{
    ngx_http_sluice_usage_t  *u = ev->data;

    if (ngx_exiting || ngx_terminate || !u->on) {
        return;
    }

    if (u->peer.connection == NULL) {
        ngx_http_sluice_usage_connect(u);
        return;
    }

    if (u->connected) {
        /* other processes may have left files since the last look */
        u->spool_seen = 1;
        ngx_http_sluice_usage_replay(u);
        ngx_http_sluice_usage_send(u);
        ngx_add_timer(&u->tick, NGX_HTTP_SLUICE_USAGE_SCAN);
    }
}


static void
ngx_http_sluice_usage_connect(ngx_http_sluice_usage_t *u)
{
    ngx_int_t           rc;
    ngx_connection_t   *c;

    /* connect() failures log at error inside nginx: keep them rare */
    u->log.log_level = ngx_http_sluice_usage_loud(u, NGX_HTTP_SLUICE_Q_CONNECT)
                       ? u->log_level : NGX_LOG_CRIT;

    ngx_memzero(&u->peer, sizeof(ngx_peer_connection_t));

    u->peer.sockaddr = u->mcf->redis->sockaddr;
    u->peer.socklen = u->mcf->redis->socklen;
    u->peer.name = &u->mcf->redis->name;
    u->peer.get = ngx_event_get_peer;
    u->peer.log = &u->log;
    u->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&u->peer);

    if (rc != NGX_OK && rc != NGX_AGAIN) {
        u->peer.connection = NULL;
        ngx_http_sluice_usage_close(u);
        return;
    }

    c = u->peer.connection;
    c->data = u;
    c->read->handler = ngx_http_sluice_usage_read_handler;
    c->write->handler = ngx_http_sluice_usage_write_handler;

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, NGX_HTTP_SLUICE_USAGE_CONNECT);
        return;
    }

    ngx_http_sluice_usage_connected(u);
}


static void
ngx_http_sluice_usage_connected(ngx_http_sluice_usage_t *u)
{
    ngx_connection_t  *c;

    c = u->peer.connection;

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    u->connected = 1;
    u->inflight = 0;
    u->woff = 0;
    u->log.log_level = u->log_level;
    u->quiet[NGX_HTTP_SLUICE_Q_CONNECT] = 0;

    ngx_log_error(NGX_LOG_INFO, &u->log, 0,
                  "sluice: usage connected to redis %V, %ui records queued",
                  u->peer.name, u->count);

    /* the scan also replays what earlier outages left in the spool */
    if (u->tick.timer_set) {
        ngx_del_timer(&u->tick);
    }

    ngx_http_sluice_usage_tick(&u->tick);
}


/*
 * Drops the connection; written records not yet acknowledged stay queued
 * and are written again on the next connection, which is tried after a
 * backoff unless the worker is going away.
 */
static void
ngx_http_sluice_usage_close(ngx_http_sluice_usage_t *u)
{
    if (u->peer.connection) {
        ngx_close_connection(u->peer.connection);
        u->peer.connection = NULL;
    }

    u->connected = 0;
    u->inflight = 0;
    u->woff = 0;

    if (u->reader) {
        redisReaderFree(u->reader);
    }

    /* NULL is retried on the next connect */
    u->reader = redisReaderCreate();

    if (!u->on || ngx_exiting || ngx_terminate) {
        return;
    }

    if (u->tick.timer_set) {
        ngx_del_timer(&u->tick);
    }

    ngx_add_timer(&u->tick, u->backoff);

    u->backoff = ngx_min(u->backoff * 2, NGX_HTTP_SLUICE_USAGE_BACKOFF_MAX);
}


static void
ngx_http_sluice_usage_write_handler(ngx_event_t *wev)
{
    int                       err;
    socklen_t                 len;
    ngx_connection_t         *c;
    ngx_http_sluice_usage_t  *u;

    c = wev->data;
    u = c->data;

    if (u->connected) {
        ngx_http_sluice_usage_send(u);
        return;
    }

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_ERR, &u->log, NGX_ETIMEDOUT,
                      "sluice: connect to redis %V timed out", u->peer.name);
        ngx_http_sluice_usage_close(u);
        return;
    }

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_log_error(NGX_LOG_ERR, &u->log, err,
                      "sluice: connect to redis %V failed", u->peer.name);
        ngx_http_sluice_usage_close(u);
        return;
    }

    ngx_http_sluice_usage_connected(u);
}


/* pipelines every queued record not yet written */
static void
ngx_http_sluice_usage_send(ngx_http_sluice_usage_t *u)
{
    ssize_t                       n;
    ngx_uint_t                    i;
    ngx_iovec_t                   vec;
    struct iovec                  iovs[NGX_HTTP_SLUICE_USAGE_IOV];
    ngx_connection_t             *c;
    ngx_http_sluice_usage_rec_t  *rec;

    c = u->peer.connection;

    while (u->connected && c->write->ready && u->inflight < u->count) {

        vec.iovs = iovs;
        vec.count = 0;
        vec.size = 0;
        vec.nalloc = NGX_HTTP_SLUICE_USAGE_IOV;

        for (i = u->inflight;
             i < u->count && vec.count < NGX_HTTP_SLUICE_USAGE_IOV;
             i++)
        {
            rec = &u->ring[(u->head + i) % u->size];
            iovs[vec.count].iov_base = rec->cmd;
            iovs[vec.count].iov_len = rec->len;

            if (i == u->inflight) {
                iovs[vec.count].iov_base = rec->cmd + u->woff;
                iovs[vec.count].iov_len = rec->len - u->woff;
            }

            vec.size += iovs[vec.count].iov_len;
            vec.count++;
        }

        n = ngx_writev(c, &vec);

        if (n == NGX_ERROR) {
            ngx_http_sluice_usage_close(u);
            return;
        }

        if (n == NGX_AGAIN || (size_t) n < vec.size) {
            c->write->ready = 0;
        }

        if (n > 0) {
            ngx_http_sluice_usage_advance(u, n);
        }
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_sluice_usage_close(u);
        return;
    }

    if (u->inflight && !c->read->timer_set) {
        ngx_add_timer(c->read, NGX_HTTP_SLUICE_USAGE_ACK);
    }
}


/* n more bytes were written */
static void
ngx_http_sluice_usage_advance(ngx_http_sluice_usage_t *u, size_t n)
{
    size_t                        left;
    ngx_http_sluice_usage_rec_t  *rec;

    while (n) {
        rec = &u->ring[(u->head + u->inflight) % u->size];
        left = rec->len - u->woff;

        if (n < left) {
            u->woff += n;
            return;
        }

        n -= left;
        u->woff = 0;
        u->inflight++;
        u->stats.sent++;
    }
}


static void
ngx_http_sluice_usage_read_handler(ngx_event_t *rev)
{
    ssize_t                   n;
    u_char                    buf[4096];
    ngx_connection_t         *c;
    ngx_http_sluice_usage_t  *u;

    c = rev->data;
    u = c->data;

    if (!u->connected) {
        /* connect errors are taken up by the write handler */
        return;
    }

    if (rev->timedout) {
        ngx_log_error(NGX_LOG_ERR, &u->log, NGX_ETIMEDOUT,
                      "sluice: redis %V did not answer %ui usage records",
                      u->peer.name, u->inflight);
        ngx_http_sluice_usage_close(u);
        return;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR || u->reader == NULL
            || redisReaderFeed(u->reader, (char *) buf, n) != REDIS_OK
            || ngx_http_sluice_usage_replies(u) != NGX_OK)
        {
            if (n == 0) {
                ngx_log_error(NGX_LOG_ERR, &u->log, 0,
                              "sluice: redis %V closed the connection",
                              u->peer.name);
            }

            ngx_http_sluice_usage_close(u);
            return;
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_sluice_usage_close(u);
        return;
    }

    if (u->inflight) {
        ngx_add_timer(rev, NGX_HTTP_SLUICE_USAGE_ACK);

    } else if (rev->timer_set) {
        ngx_del_timer(rev);
    }

    if (u->spool_seen && u->count <= u->size / 2) {
        ngx_http_sluice_usage_replay(u);
    }

    ngx_http_sluice_usage_send(u);
}


static ngx_int_t
ngx_http_sluice_usage_replies(ngx_http_sluice_usage_t *u)
{
    void  *reply;

    for ( ;; ) {
        reply = NULL;

        if (redisReaderGetReply(u->reader, &reply) != REDIS_OK) {
            ngx_log_error(NGX_LOG_ERR, &u->log, 0,
                          "sluice: bad reply from redis %V: %s",
                          u->peer.name, u->reader->errstr);
            return NGX_ERROR;
        }

        if (reply == NULL) {
            return NGX_OK;
        }

        if (ngx_http_sluice_usage_ack(u, reply) != NGX_OK) {
            freeReplyObject(reply);
            return NGX_ERROR;
        }

        freeReplyObject(reply);
    }
}


/*
 * Redis answers in order: a reply settles the oldest written record.  An
 * error reply (LOADING, OOM, READONLY, WRONGTYPE...) keeps the record:
 * the connection is dropped and it is written again after the backoff.
 */
static ngx_int_t
ngx_http_sluice_usage_ack(ngx_http_sluice_usage_t *u, redisReply *reply)
{
    if (u->inflight == 0) {
        ngx_log_error(NGX_LOG_ERR, &u->log, 0,
                      "sluice: unexpected reply from redis %V", u->peer.name);
        return NGX_ERROR;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        u->stats.rejected++;

        if (ngx_http_sluice_usage_loud(u, NGX_HTTP_SLUICE_Q_REJECT)) {
            ngx_log_error(NGX_LOG_ERR, &u->log, 0,
                          "sluice: redis %V refused a usage record: %*s",
                          u->peer.name, (size_t) reply->len, reply->str);
        }

        return NGX_ERROR;
    }

    ngx_free(u->ring[u->head].cmd);
    u->head = (u->head + 1) % u->size;
    u->count--;
    u->inflight--;
    u->stats.acked++;
    u->backoff = NGX_HTTP_SLUICE_USAGE_BACKOFF;

    return NGX_OK;
}
