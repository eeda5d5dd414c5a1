/*
 * Usage records: one record per gateway request, built in the LOG phase
 * into the worker's open group (ngx_http_sluice_usage_record.c), up to
 * 64 records per XADD; the XADDs are queued per worker and pipelined to
 * Redis over a non-blocking nginx connection, none waiting more than
 * 50 ms; spooled to a file while Redis is away and replayed later.
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

/*
 * Records leave together: a group is sealed and written once it holds
 * GROUP records or its first record waited FLUSH ms.  One XADD of many
 * records instead of one per request spares the worker, Redis and the
 * ingest behind it most of their per-record work (measured: the XADD
 * alone went from about 4.7 to 0.4 us of Redis CPU per record, and
 * controld reads three fields per entry instead of forty-two).  A
 * record reaches Redis at most FLUSH ms later than it would have.
 */
#define NGX_HTTP_SLUICE_USAGE_FLUSH      50     /* ms */

/* reply bytes held until a reply is complete */
#define NGX_HTTP_SLUICE_USAGE_IN         4096


static void ngx_http_sluice_usage_shrink(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec);
static void ngx_http_sluice_usage_kick(ngx_http_sluice_usage_t *u);
static void ngx_http_sluice_usage_flush(ngx_event_t *ev);
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
    sluice_resp_reply_t *reply);


static ngx_http_sluice_usage_t  ngx_http_sluice_usage;


ngx_int_t
ngx_http_sluice_usage_log_handler(ngx_http_request_t *r)
{
    ngx_http_sluice_ctx_t        *ctx;
    ngx_http_sluice_usage_t      *u;

    ctx = ngx_http_sluice_get_ctx(r);

    if (ctx == NULL || ctx->logged) {
        return NGX_OK;
    }

    ctx->logged = 1;

    u = &ngx_http_sluice_usage;

    if (!u->on) {
        return NGX_OK;
    }

    if (ngx_http_sluice_usage_record(u, r, ctx) != NGX_OK) {
        u->stats.dropped++;
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sluice: usage record could not be formatted");
        return NGX_OK;
    }

    u->records++;
    u->stats.queued++;

    if (u->open.n >= NGX_HTTP_SLUICE_USAGE_GROUP) {
        ngx_http_sluice_usage_seal(u);
        return NGX_OK;
    }

    if (!u->flush.timer_set) {
        ngx_add_timer(&u->flush, NGX_HTTP_SLUICE_USAGE_FLUSH);
    }

    return NGX_OK;
}


/*
 * Record buffers: BLOCK bytes come from a per-worker free list, so the
 * request path does not go to malloc in the steady state; a longer one
 * (a record that big, a long command read back from the spool) is its
 * own allocation.
 */
u_char *
ngx_http_sluice_usage_rec_alloc(ngx_http_sluice_usage_t *u, size_t len,
    size_t *size)
{
    void  *b;

    if (len > NGX_HTTP_SLUICE_USAGE_BLOCK) {
        *size = len;
        return ngx_alloc(len, &u->log);
    }

    *size = NGX_HTTP_SLUICE_USAGE_BLOCK;
    b = u->blocks;

    if (b == NULL) {
        return ngx_alloc(NGX_HTTP_SLUICE_USAGE_BLOCK, &u->log);
    }

    /* a free block holds the next free block's address */
    ngx_memcpy(&u->blocks, b, sizeof(void *));
    u->nblocks--;

    return b;
}


void
ngx_http_sluice_usage_rec_free(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec)
{
    if (rec->size != NGX_HTTP_SLUICE_USAGE_BLOCK
        || u->nblocks >= NGX_HTTP_SLUICE_USAGE_BLOCKS)
    {
        ngx_free(rec->base);

    } else {
        ngx_memcpy(rec->base, &u->blocks, sizeof(void *));
        u->blocks = rec->base;
        u->nblocks++;
    }

    rec->base = NULL;
    rec->cmd = NULL;
}


/*
 * The open group becomes a command in the queue; when the queue holds
 * its share of records already, it goes to the spool (or is counted as
 * lost) instead.
 */
void
ngx_http_sluice_usage_seal(ngx_http_sluice_usage_t *u)
{
    ngx_http_sluice_usage_rec_t  rec;

    if (u->flush.timer_set) {
        ngx_del_timer(&u->flush);
    }

    if (u->open.base == NULL) {
        return;
    }

    if (u->open.n == 0) {
        ngx_http_sluice_usage_rec_free(u, &u->open);
        return;
    }

    ngx_http_sluice_usage_record_close(u, &rec);
    ngx_http_sluice_usage_shrink(u, &rec);

    if (u->count == u->size || u->records > u->mcf->queue) {
        u->records -= rec.n;
        ngx_http_sluice_usage_keep(u, &rec);
        ngx_http_sluice_usage_rec_free(u, &rec);
        return;
    }

    ngx_http_sluice_usage_enqueue(u, &rec);
}


/*
 * A group sealed by the timer may hold a record or two in a whole block:
 * it moves to a buffer of its size, so that queued records take memory
 * by their bytes while Redis is away (the queue holds up to "queue"
 * groups).  If that allocation fails, the block stays.
 */
static void
ngx_http_sluice_usage_shrink(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec)
{
    u_char                       *p;
    ngx_http_sluice_usage_rec_t   block;

    if (rec->size != NGX_HTTP_SLUICE_USAGE_BLOCK
        || rec->len >= NGX_HTTP_SLUICE_USAGE_BLOCK / 4)
    {
        return;
    }

    p = ngx_alloc(rec->len, &u->log);
    if (p == NULL) {
        return;
    }

    ngx_memcpy(p, rec->cmd, rec->len);

    block = *rec;
    ngx_http_sluice_usage_rec_free(u, &block);

    rec->base = p;
    rec->cmd = (char *) p;
    rec->size = rec->len;
}


/* the queue has room; records were counted when they were made */
void
ngx_http_sluice_usage_enqueue(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec)
{
    u->ring[(u->head + u->count) % u->size] = *rec;
    u->count++;

    ngx_http_sluice_usage_kick(u);
}


/* sealed commands not yet written leave now */
static void
ngx_http_sluice_usage_kick(ngx_http_sluice_usage_t *u)
{
    ngx_connection_t  *c;

    if (!u->connected || u->inflight == u->count) {
        return;
    }

    c = u->peer.connection;

    if (!c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


/* the first record of the open group waited FLUSH ms */
static void
ngx_http_sluice_usage_flush(ngx_event_t *ev)
{
    ngx_http_sluice_usage_t  *u = ev->data;

    ngx_http_sluice_usage_seal(u);
}


/* records the queue cannot hold: spool them, or count them as lost */
static void
ngx_http_sluice_usage_keep(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec)
{
    if (ngx_http_sluice_usage_spool(u, rec) == NGX_OK) {

        if (ngx_http_sluice_usage_loud(u, NGX_HTTP_SLUICE_Q_FULL)) {
            ngx_log_error(NGX_LOG_ERR, &u->log, 0,
                          "sluice: usage queue full (%ui records), "
                          "spooling to \"%s\"", u->mcf->queue,
                          u->spool_path);
        }

        return;
    }

    u->stats.dropped += rec->n;

    /* the cycle's log: u->log is quietened while Redis is away */
    if (ngx_http_sluice_usage_loud(u, NGX_HTTP_SLUICE_Q_FULL)) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "sluice: usage queue full (%ui records) and the "
                      "spool cannot take more: %ui usage records dropped "
                      "so far", u->mcf->queue, u->stats.dropped);
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

    u->in = ngx_alloc(NGX_HTTP_SLUICE_USAGE_IN, cycle->log);
    if (u->in == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_sluice_usage_record_init(u, cycle->log) != NGX_OK) {
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

    /* not cancelable: a worker going away still writes its last batch */
    u->flush.handler = ngx_http_sluice_usage_flush;
    u->flush.data = u;
    u->flush.log = &u->log;

    u->on = 1;

    ngx_add_timer(&u->tick, 1);

    return NGX_OK;
}


void
ngx_http_sluice_usage_exit_process(ngx_cycle_t *cycle)
{
    void                         *b;
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

    /* the open group too; seal() stops the flush timer */
    ngx_http_sluice_usage_seal(u);
    ngx_http_sluice_usage_close(u);

    /* what Redis did not acknowledge goes to the spool: at least once */
    lost = 0;

    while (u->count) {
        rec = &u->ring[u->head];

        if (ngx_http_sluice_usage_spool(u, rec) != NGX_OK) {
            u->stats.dropped += rec->n;
            lost += rec->n;
        }

        ngx_http_sluice_usage_rec_free(u, rec);
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
                  "sluice: usage records: queued %ui, acked %ui, "
                  "spooled %ui, replayed %ui, dropped %ui; entries: "
                  "sent %ui, rejected %ui",
                  u->stats.queued, u->stats.acked, u->stats.spooled,
                  u->stats.replayed, u->stats.dropped, u->stats.sent,
                  u->stats.rejected);

    while (u->blocks) {
        b = u->blocks;
        ngx_memcpy(&u->blocks, b, sizeof(void *));
        ngx_free(b);
    }

    ngx_free(u->in);
    ngx_free(u->ring);
    ngx_http_sluice_usage_record_done();

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
    u->in_len = 0;

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
    size_t                    size;
    ssize_t                   n;
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

    while (rev->ready) {
        size = NGX_HTTP_SLUICE_USAGE_IN - u->in_len;
        n = c->recv(c, u->in + u->in_len, size);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            if (n == 0) {
                ngx_log_error(NGX_LOG_ERR, &u->log, 0,
                              "sluice: redis %V closed the connection",
                              u->peer.name);
            }

            ngx_http_sluice_usage_close(u);
            return;
        }

        u->in_len += n;

        if (ngx_http_sluice_usage_replies(u) != NGX_OK) {
            ngx_http_sluice_usage_close(u);
            return;
        }

        /* a short read drained the socket: epoll reports what comes next */
        if ((size_t) n < size) {
            rev->ready = 0;
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

    if (u->spool_seen && u->records <= u->mcf->queue / 2) {
        ngx_http_sluice_usage_replay(u);
    }

    ngx_http_sluice_usage_kick(u);
}


/* the complete replies read so far; a partial one waits for more bytes */
static ngx_int_t
ngx_http_sluice_usage_replies(ngx_http_sluice_usage_t *u)
{
    size_t               pos;
    ssize_t              n;
    sluice_resp_reply_t  reply;

    pos = 0;

    for ( ;; ) {
        n = sluice_resp_reply((char *) u->in + pos, u->in_len - pos, &reply);

        if (n == 0) {
            break;
        }

        if (n < 0) {
            ngx_log_error(NGX_LOG_ERR, &u->log, 0,
                          "sluice: bad reply from redis %V", u->peer.name);
            return NGX_ERROR;
        }

        if (ngx_http_sluice_usage_ack(u, &reply) != NGX_OK) {
            return NGX_ERROR;
        }

        pos += n;
    }

    if (pos == 0 && u->in_len == NGX_HTTP_SLUICE_USAGE_IN) {
        ngx_log_error(NGX_LOG_ERR, &u->log, 0,
                      "sluice: reply from redis %V over %uz bytes",
                      u->peer.name, (size_t) NGX_HTTP_SLUICE_USAGE_IN);
        return NGX_ERROR;
    }

    if (pos) {
        u->in_len -= pos;
        ngx_memmove(u->in, u->in + pos, u->in_len);
    }

    return NGX_OK;
}


/*
 * Redis answers in order: a reply settles the oldest written record.  An
 * error reply (LOADING, OOM, READONLY, WRONGTYPE...) keeps the record:
 * the connection is dropped and it is written again after the backoff.
 */
static ngx_int_t
ngx_http_sluice_usage_ack(ngx_http_sluice_usage_t *u,
    sluice_resp_reply_t *reply)
{
    ngx_http_sluice_usage_rec_t  *rec;

    if (u->inflight == 0) {
        ngx_log_error(NGX_LOG_ERR, &u->log, 0,
                      "sluice: unexpected reply from redis %V", u->peer.name);
        return NGX_ERROR;
    }

    if (reply->error) {
        u->stats.rejected++;

        if (ngx_http_sluice_usage_loud(u, NGX_HTTP_SLUICE_Q_REJECT)) {
            ngx_log_error(NGX_LOG_ERR, &u->log, 0,
                          "sluice: redis %V refused a usage record: %*s",
                          u->peer.name, reply->msg_len, reply->msg);
        }

        return NGX_ERROR;
    }

    rec = &u->ring[u->head];
    u->records -= rec->n;
    u->stats.acked += rec->n;
    ngx_http_sluice_usage_rec_free(u, rec);
    u->head = (u->head + 1) % u->size;
    u->count--;
    u->inflight--;
    u->backoff = NGX_HTTP_SLUICE_USAGE_BACKOFF;

    return NGX_OK;
}
