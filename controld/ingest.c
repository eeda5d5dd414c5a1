/* controld/ingest.c: the ingest role, usage records from Redis to PG. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "ingest.h"


#define CTLD_INGEST_COUNT          "100"     /* entries: groups of up to 64 */
#define CTLD_INGEST_BLOCK_MS       "1000"
#define CTLD_INGEST_BACKOFF_MAX    10       /* seconds */
#define CTLD_INGEST_CONNECT_TIME   5        /* seconds to connect to Redis */
#define CTLD_INGEST_STALL          15       /* seconds without a reply */
#define CTLD_INGEST_CLAIM_EVERY    30       /* seconds */
#define CTLD_INGEST_CLAIM_IDLE     "120000" /* ms pending at a dead peer */
#define CTLD_INGEST_STATS_EVERY    60       /* seconds */

#define CTLD_INGEST_PENDING 0       /* re-reading our pending list, id 0 */
#define CTLD_INGEST_NEW     1       /* reading new entries, id > */


static void ctld_ingest_connect(ctld_ingest_t *ing);
static void ctld_ingest_retry(ctld_ingest_t *ing);
static void ctld_ingest_on_connect(const redisAsyncContext *ac, int status);
static void ctld_ingest_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ctld_ingest_retry_handler(evutil_socket_t fd, short what,
    void *arg);
static void ctld_ingest_resume_handler(evutil_socket_t fd, short what,
    void *arg);
static void ctld_ingest_tick(evutil_socket_t fd, short what, void *arg);
static void ctld_ingest_fail(ctld_ingest_t *ing);
static void ctld_ingest_next(ctld_ingest_t *ing);
static int ctld_ingest_command(ctld_ingest_t *ing, redisCallbackFn *fn,
    int argc, const char **argv);
static void ctld_ingest_group_cb(redisAsyncContext *ac, void *r,
    void *arg);
static int ctld_ingest_group_lost(ctld_ingest_t *ing, redisReply *reply,
    const char *cmd);
static void ctld_ingest_claim_cb(redisAsyncContext *ac, void *r,
    void *arg);
static void ctld_ingest_read_cb(redisAsyncContext *ac, void *r, void *arg);
static void ctld_ingest_insert(ctld_ingest_t *ing);
static void ctld_ingest_copy_in(ctld_ingest_t *ing);
static void ctld_ingest_pg_connect(ctld_pg_t *pg, void *arg);
static void ctld_ingest_prepare_cb(PGresult *res, void *arg);
static void ctld_ingest_insert_cb(PGresult *res, void *arg);
static void ctld_ingest_row_cb(PGresult *res, void *arg);
static void ctld_ingest_ack(ctld_ingest_t *ing);
static void ctld_ingest_ack_cb(redisAsyncContext *ac, void *r, void *arg);
static void ctld_ingest_done(ctld_ingest_t *ing);
static int ctld_ingest_data_error(PGresult *res);
static int ctld_ingest_sqlstate(PGresult *res, const char *state);


int
ctld_ingest_start(ctld_state_t *st)
{
    ctld_ingest_t   *ing;
    struct timeval   tv;

    ing = calloc(1, sizeof(ctld_ingest_t));
    if (ing == NULL) {
        ctld_log(CTLD_LOG_ERROR, "ingest", "out of memory");
        return CTLD_ERROR;
    }

    ing->st = st;
    st->ingest = ing;
    ing->stats_at = time(NULL);
    ing->claimed_at = ing->stats_at;
    strcpy(ing->cursor, "0-0");

    ing->retry = evtimer_new(st->base, ctld_ingest_retry_handler, ing);
    ing->resume = evtimer_new(st->base, ctld_ingest_resume_handler, ing);
    ing->tick = event_new(st->base, -1, EV_PERSIST, ctld_ingest_tick, ing);
    ing->pg = ctld_pg_create(st->base, st->conf.database_url, "ingest");

    if (ing->retry == NULL || ing->resume == NULL || ing->tick == NULL
        || ing->pg == NULL)
    {
        ctld_log(CTLD_LOG_ERROR, "ingest", "out of memory");
        ctld_ingest_stop(st);
        return CTLD_ERROR;
    }

    ctld_pg_on_connect(ing->pg, ctld_ingest_pg_connect, ing);

    tv.tv_sec = 1;
    tv.tv_usec = 0;
    event_add(ing->tick, &tv);

    ctld_log(CTLD_LOG_INFO, "ingest", "stream %s, group %s, consumer %s",
             st->conf.usage_stream, st->conf.usage_group,
             st->conf.consumer);

    ctld_ingest_connect(ing);
    return CTLD_OK;
}


void
ctld_ingest_stop(ctld_state_t *st)
{
    ctld_ingest_t  *ing;

    ing = st->ingest;
    if (ing == NULL) {
        return;
    }

    /* callbacks run from here on see stopping and do nothing */
    ing->stopping = 1;

    if (ing->ac != NULL) {
        redisAsyncFree(ing->ac);
        ing->ac = NULL;
    }

    ctld_pg_free(ing->pg);

    if (ing->retry != NULL) {
        event_free(ing->retry);
    }

    if (ing->resume != NULL) {
        event_free(ing->resume);
    }

    if (ing->tick != NULL) {
        event_free(ing->tick);
    }

    free(ing->batch);
    free(ing);
    st->ingest = NULL;
}


/* hiredis 0.14 resolves names synchronously: redis is an IP address */
static void
ctld_ingest_connect(ctld_ingest_t *ing)
{
    redisAsyncContext  *ac;

    ac = redisAsyncConnect(ing->st->conf.redis_host,
                           ing->st->conf.redis_port);

    if (ac == NULL || ac->err) {
        ctld_log(CTLD_LOG_ERROR, "ingest", "redis connect: %s",
                 ac ? ac->errstr : "out of memory");
        if (ac != NULL) {
            redisAsyncFree(ac);
        }

        ctld_ingest_retry(ing);
        return;
    }

    ac->data = ing;

    if (redisLibeventAttach(ac, ing->st->base) != REDIS_OK) {
        redisAsyncFree(ac);
        ctld_ingest_retry(ing);
        return;
    }

    redisAsyncSetConnectCallback(ac, ctld_ingest_on_connect);
    redisAsyncSetDisconnectCallback(ac, ctld_ingest_on_disconnect);

    ing->ac = ac;
    ing->connected = 0;
    ing->sent_at = time(NULL);
}


static void
ctld_ingest_retry(ctld_ingest_t *ing)
{
    struct timeval  tv;

    ing->backoff = (ing->backoff == 0) ? 1 : ing->backoff * 2;
    if (ing->backoff > CTLD_INGEST_BACKOFF_MAX) {
        ing->backoff = CTLD_INGEST_BACKOFF_MAX;
    }

    tv.tv_sec = ing->backoff;
    tv.tv_usec = 0;
    evtimer_add(ing->retry, &tv);
}


/* on failure hiredis frees ac after this returns, without on_disconnect */
static void
ctld_ingest_on_connect(const redisAsyncContext *ac, int status)
{
    ctld_ingest_t  *ing;

    ing = ac->data;

    if (status != REDIS_OK) {
        ctld_log(CTLD_LOG_ERROR, "ingest", "redis connect to %s:%d: %s",
                 ing->st->conf.redis_host, ing->st->conf.redis_port,
                 ac->errstr);
        ing->ac = NULL;
        ctld_ingest_retry(ing);
        return;
    }

    ctld_log(CTLD_LOG_INFO, "ingest", "redis connected (%s:%d)",
             ing->st->conf.redis_host, ing->st->conf.redis_port);

    ing->connected = 1;
    ing->backoff = 0;
    ing->busy = 0;
    ing->group_ok = 0;
    ing->mode = CTLD_INGEST_PENDING;

    ctld_ingest_next(ing);
}


/* pending replies were called back with NULL before this; ac is freed after */
static void
ctld_ingest_on_disconnect(const redisAsyncContext *ac, int status)
{
    ctld_ingest_t  *ing;

    ing = ac->data;

    if (ing->stopping) {
        return;
    }

    if (status != REDIS_OK) {
        ctld_log(CTLD_LOG_ERROR, "ingest", "redis connection lost: %s",
                 ac->errstr);
    }

    ing->ac = NULL;
    ing->connected = 0;
    ing->busy = 0;
    ctld_ingest_retry(ing);
}


static void
ctld_ingest_retry_handler(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;

    ctld_ingest_connect(arg);
}


static void
ctld_ingest_resume_handler(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;

    ctld_ingest_next(arg);
}


/* hiredis 0.14 has no timeouts: connect and replies are watched here */
static void
ctld_ingest_tick(evutil_socket_t fd, short what, void *arg)
{
    ctld_ingest_t        *ing;
    ctld_ingest_stats_t  *s;
    time_t                now;

    (void) fd;
    (void) what;
    ing = arg;
    now = time(NULL);
    s = &ing->stats;

    if (ing->ac != NULL
        && ((!ing->connected && now - ing->sent_at > CTLD_INGEST_CONNECT_TIME)
            || (ing->busy && now - ing->sent_at > CTLD_INGEST_STALL)))
    {
        ctld_log(CTLD_LOG_ERROR, "ingest", "redis %s timed out",
                 ing->connected ? "command" : "connect");

        if (!ing->connected) {
            ctld_ingest_retry(ing);     /* no on_disconnect: not connected */
        }

        redisAsyncFree(ing->ac);
        ing->ac = NULL;
    }

    if (now - ing->claimed_at >= CTLD_INGEST_CLAIM_EVERY) {
        ing->claimed_at = now;
        ing->claim_due = 1;
    }

    if (now - ing->stats_at >= CTLD_INGEST_STATS_EVERY) {
        if (s->rows || s->malformed || s->failures) {
            ctld_log(CTLD_LOG_INFO, "ingest", "last %ld s: %ld records, %ld "
                     "rows inserted, %ld malformed, %ld rejected, %ld failed "
                     "inserts", (long) (now - ing->stats_at), s->rows,
                     s->inserted, s->malformed, s->rejected, s->failures);
        }

        memset(s, 0, sizeof(*s));
        ing->stats_at = now;
    }
}


/* An insert or a command failed: pause, then re-read the pending list. */
static void
ctld_ingest_fail(ctld_ingest_t *ing)
{
    struct timeval  tv;

    ing->fail_backoff = (ing->fail_backoff == 0) ? 1 : ing->fail_backoff * 2;
    if (ing->fail_backoff > CTLD_INGEST_BACKOFF_MAX) {
        ing->fail_backoff = CTLD_INGEST_BACKOFF_MAX;
    }

    ing->mode = CTLD_INGEST_PENDING;
    ing->group_ok = 0;

    tv.tv_sec = ing->fail_backoff;
    tv.tv_usec = 0;
    evtimer_add(ing->resume, &tv);
}


/* The one place that decides what to send next. */
static void
ctld_ingest_next(ctld_ingest_t *ing)
{
    const ctld_config_t  *c;
    const char           *argv[12];

    c = &ing->st->conf;

    if (ing->stopping || !ing->connected || ing->busy || ing->batch != NULL
        || evtimer_pending(ing->resume, NULL))
    {
        return;
    }

    /*
     * At 0, not $: when the group is missing (first start, or Redis came
     * back empty) the stream holds only entries no consumer of the group
     * has read, and the module may have added some already.  Reading one
     * twice is harmless (ON CONFLICT), skipping one loses a row.  An
     * existing group is left as it is (BUSYGROUP).
     */
    if (!ing->group_ok) {
        argv[0] = "XGROUP";
        argv[1] = "CREATE";
        argv[2] = c->usage_stream;
        argv[3] = c->usage_group;
        argv[4] = "0";
        argv[5] = "MKSTREAM";
        (void) ctld_ingest_command(ing, ctld_ingest_group_cb, 6, argv);
        return;
    }

    if (ing->claim_due) {
        argv[0] = "XAUTOCLAIM";
        argv[1] = c->usage_stream;
        argv[2] = c->usage_group;
        argv[3] = c->consumer;
        argv[4] = CTLD_INGEST_CLAIM_IDLE;
        argv[5] = ing->cursor;
        argv[6] = "COUNT";
        argv[7] = CTLD_INGEST_COUNT;
        argv[8] = "JUSTID";
        (void) ctld_ingest_command(ing, ctld_ingest_claim_cb, 9, argv);
        return;
    }

    argv[0] = "XREADGROUP";
    argv[1] = "GROUP";
    argv[2] = c->usage_group;
    argv[3] = c->consumer;
    argv[4] = "COUNT";
    argv[5] = CTLD_INGEST_COUNT;

    if (ing->mode == CTLD_INGEST_PENDING) {
        argv[6] = "STREAMS";
        argv[7] = c->usage_stream;
        argv[8] = "0";
        (void) ctld_ingest_command(ing, ctld_ingest_read_cb, 9, argv);
        return;
    }

    argv[6] = "BLOCK";
    argv[7] = CTLD_INGEST_BLOCK_MS;
    argv[8] = "STREAMS";
    argv[9] = c->usage_stream;
    argv[10] = ">";
    (void) ctld_ingest_command(ing, ctld_ingest_read_cb, 11, argv);
}


static int
ctld_ingest_command(ctld_ingest_t *ing, redisCallbackFn *fn, int argc,
    const char **argv)
{
    if (redisAsyncCommandArgv(ing->ac, fn, ing, argc, argv, NULL)
        != REDIS_OK)
    {
        ctld_log(CTLD_LOG_ERROR, "ingest", "redis %s: cannot send", argv[0]);
        return CTLD_ERROR;
    }

    ing->busy = 1;
    ing->sent_at = time(NULL);
    return CTLD_OK;
}


static void
ctld_ingest_group_cb(redisAsyncContext *ac, void *r, void *arg)
{
    ctld_ingest_t  *ing;
    redisReply     *reply;

    (void) ac;
    ing = arg;
    reply = r;

    if (reply == NULL || ing->stopping) {
        return;                     /* on_disconnect follows */
    }

    ing->busy = 0;

    if (reply->type == REDIS_REPLY_ERROR
        && strncmp(reply->str, "BUSYGROUP", 9) != 0)
    {
        ctld_log(CTLD_LOG_ERROR, "ingest", "XGROUP CREATE %s %s: %s",
                 ing->st->conf.usage_stream, ing->st->conf.usage_group,
                 reply->str);
        ctld_ingest_fail(ing);
        return;
    }

    ing->group_ok = 1;
    ctld_ingest_next(ing);
}


/*
 * The stream or the group vanished under a live connection (a FLUSHALL,
 * a failover to an empty replica): NOGROUP, or UNBLOCKED for a blocked
 * XREADGROUP (Redis 7).  Returns 1 when so: the group is created again
 * from the start of what the stream holds now, at once unless it was
 * already lost this second (then after the usual backoff: no busy loop).
 */
static int
ctld_ingest_group_lost(ctld_ingest_t *ing, redisReply *reply,
    const char *cmd)
{
    if (reply->type != REDIS_REPLY_ERROR
        || (strncmp(reply->str, "NOGROUP", 7) != 0
            && strncmp(reply->str, "UNBLOCKED", 9) != 0))
    {
        return 0;
    }

    ctld_log(CTLD_LOG_WARN, "ingest", "%s: %s; creating group %s on %s "
             "again", cmd, reply->str, ing->st->conf.usage_group,
             ing->st->conf.usage_stream);

    strcpy(ing->cursor, "0-0");

    if (ing->regrouped_at == time(NULL)) {
        ctld_ingest_fail(ing);
        return 1;
    }

    ing->regrouped_at = time(NULL);
    ing->group_ok = 0;
    ing->mode = CTLD_INGEST_PENDING;

    ctld_ingest_next(ing);
    return 1;
}


/* XAUTOCLAIM moves entries a dead consumer left into our pending list */
static void
ctld_ingest_claim_cb(redisAsyncContext *ac, void *r, void *arg)
{
    ctld_ingest_t  *ing;
    redisReply     *reply;

    (void) ac;
    ing = arg;
    reply = r;

    if (reply == NULL || ing->stopping) {
        return;
    }

    ing->busy = 0;
    ing->claim_due = 0;

    if (ctld_ingest_group_lost(ing, reply, "XAUTOCLAIM")) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_ARRAY)
    {
        ctld_log(CTLD_LOG_ERROR, "ingest", "XAUTOCLAIM: %s",
                 reply->type == REDIS_REPLY_ERROR ? reply->str
                                                  : "unexpected reply");
        ctld_ingest_next(ing);
        return;
    }

    snprintf(ing->cursor, sizeof(ing->cursor), "%s", reply->element[0]->str);

    if (reply->element[1]->elements > 0) {
        ctld_log(CTLD_LOG_INFO, "ingest", "claimed %zu entries idle at "
                 "other consumers", reply->element[1]->elements);
        ing->mode = CTLD_INGEST_PENDING;
    }

    ctld_ingest_next(ing);
}


/* reply: nil (BLOCK timed out) or [[stream, [[id, [f, v, ...]], ...]]] */
static void
ctld_ingest_read_cb(redisAsyncContext *ac, void *r, void *arg)
{
    ctld_ingest_t  *ing;
    redisReply     *reply, *entries;

    (void) ac;
    ing = arg;
    reply = r;

    if (reply == NULL || ing->stopping) {
        return;
    }

    ing->busy = 0;

    if (reply->type == REDIS_REPLY_NIL) {
        ctld_ingest_next(ing);
        return;
    }

    if (ctld_ingest_group_lost(ing, reply, "XREADGROUP")) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1
        || reply->element[0]->type != REDIS_REPLY_ARRAY
        || reply->element[0]->elements < 2
        || reply->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
    {
        ctld_log(CTLD_LOG_ERROR, "ingest", "XREADGROUP: %s",
                 reply->type == REDIS_REPLY_ERROR ? reply->str
                                                  : "unexpected reply");
        ctld_ingest_fail(ing);
        return;
    }

    entries = reply->element[0]->element[1];

    if (entries->elements == 0) {
        /* the pending list is drained: go on with new entries */
        ing->mode = CTLD_INGEST_NEW;
        ctld_ingest_next(ing);
        return;
    }

    /* the reply is freed when we return: the batch copies what it needs */
    ing->batch = ctld_ingest_batch(ing, entries);
    if (ing->batch == NULL) {
        ctld_ingest_fail(ing);
        return;
    }

    ctld_ingest_insert(ing);
}


/*
 * One EXECUTE for the batch, row by row after a data error (b->single).
 * The statement is prepared ahead of it on the same connection when that
 * connection may not have it yet: every new connection starts without,
 * and a query made while connecting runs on the new one.
 */
static void
ctld_ingest_insert(ctld_ingest_t *ing)
{
    ctld_ingest_batch_t  *b;
    ctld_pg_cb            cb;
    char                 *sql;
    int                   first, n, rc;

    b = ing->batch;

    if (b->single && b->next < b->nrows) {
        first = b->next;
        n = 1;
        cb = ctld_ingest_row_cb;

    } else if (!b->single && !b->dedup && b->nrows > 0) {
        ctld_ingest_copy_in(ing);
        return;

    } else if (!b->single && b->nrows > 0) {
        first = 0;
        n = b->nrows;
        cb = ctld_ingest_insert_cb;

    } else {
        ctld_ingest_ack(ing);       /* all inserted, or all malformed */
        return;
    }

    rc = CTLD_OK;

    if (!ing->prepared || !ctld_pg_connected(ing->pg)) {
        rc = ctld_pg_query(ing->pg, ctld_ingest_prepare, 0, NULL,
                           ctld_ingest_prepare_cb, ing);
    }

    sql = (rc == CTLD_OK) ? ctld_ingest_execute(b, first, n) : NULL;

    /* pg.c keeps its own copy */
    rc = (sql == NULL) ? CTLD_ERROR
                       : ctld_pg_query(ing->pg, sql, 0, NULL, cb, ing);
    free(sql);

    if (rc != CTLD_OK) {
        ctld_ingest_done(ing);
        ctld_ingest_fail(ing);
    }
}


/* The batch with COPY; its result goes to ctld_ingest_insert_cb(). */
static void
ctld_ingest_copy_in(ctld_ingest_t *ing)
{
    char    *data;
    size_t   len;
    int      rc;

    data = ctld_ingest_copy(ing->batch, &len);

    rc = (data == NULL) ? CTLD_ERROR
                        : ctld_pg_copy(ing->pg, ctld_ingest_copy_sql, data,
                                       len, ctld_ingest_insert_cb, ing);
    free(data);

    if (rc != CTLD_OK) {
        ctld_ingest_done(ing);
        ctld_ingest_fail(ing);
    }
}


/* Called before anything queued runs on a new connection. */
static void
ctld_ingest_pg_connect(ctld_pg_t *pg, void *arg)
{
    ctld_ingest_t  *ing;

    (void) pg;
    ing = arg;

    ing->prepared = 0;
}


static void
ctld_ingest_prepare_cb(PGresult *res, void *arg)
{
    ctld_ingest_t  *ing;

    ing = arg;

    if (ing->stopping || res == NULL) {
        return;                     /* the EXECUTE queued behind fails too */
    }

    /* 42P05: a pooler's server connection kept it from an earlier client */
    if (PQresultStatus(res) == PGRES_COMMAND_OK
        || ctld_ingest_sqlstate(res, "42P05"))
    {
        ing->prepared = 1;
        return;
    }

    /* the EXECUTE behind it fails too, and the batch is tried again */
    ctld_log(CTLD_LOG_ERROR, "ingest", "PREPARE " CTLD_INGEST_STMT ": %s",
             PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
}


static void
ctld_ingest_insert_cb(PGresult *res, void *arg)
{
    ctld_ingest_t  *ing;

    ing = arg;

    if (ing->stopping) {
        return;
    }

    if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK) {
        ing->stats.inserted += atol(PQcmdTuples(res));
        ing->fail_backoff = 0;
        ctld_log(CTLD_LOG_DEBUG, "ingest", "inserted %s of %d rows",
                 PQcmdTuples(res), ing->batch->nrows);
        ctld_ingest_ack(ing);
        return;
    }

    /* a request id the ledger has: again, skipping the ones it has */
    if (res != NULL && ctld_ingest_sqlstate(res, "23505")
        && !ing->batch->dedup)
    {
        ctld_log(CTLD_LOG_DEBUG, "ingest", "%d rows: a request id seen "
                 "before, inserting the new ones", ing->batch->nrows);
        ing->batch->dedup = 1;
        ctld_ingest_insert(ing);
        return;
    }

    ing->stats.failures++;

    if (res != NULL && ctld_ingest_sqlstate(res, "26000")) {
        ing->prepared = 0;          /* deallocated under us: prepare again */
    }

    if (res != NULL && ctld_ingest_data_error(res)) {
        ctld_log(CTLD_LOG_ERROR, "ingest", "insert of %d rows: %s; "
                 "inserting them one by one", ing->batch->nrows,
                 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
        ing->batch->single = 1;
        ctld_ingest_insert(ing);
        return;
    }

    /* not acked: the entries come back from the pending list */
    ctld_log(CTLD_LOG_ERROR, "ingest", "insert of %d rows failed: %s",
             ing->batch->nrows, res ? PQresultErrorField(res,
                                          PG_DIAG_MESSAGE_PRIMARY)
                                    : "no connection");
    ctld_ingest_done(ing);
    ctld_ingest_fail(ing);
}


/* A row PostgreSQL refuses for its data is logged, counted and acked. */
static void
ctld_ingest_row_cb(PGresult *res, void *arg)
{
    ctld_ingest_t        *ing;
    ctld_ingest_batch_t  *b;

    ing = arg;
    b = ing->batch;

    if (ing->stopping) {
        return;
    }

    if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK) {
        ing->stats.inserted += atol(PQcmdTuples(res));

    } else if (res != NULL && ctld_ingest_data_error(res)) {
        ing->stats.rejected++;
        /* the rid may be what is too long */
        ctld_log(CTLD_LOG_ERROR, "ingest", "usage record %.64s rejected: %s",
                 b->vals[(size_t) b->next * CTLD_INGEST_NCOLS],
                 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));

    } else {
        if (res != NULL && ctld_ingest_sqlstate(res, "26000")) {
            ing->prepared = 0;
        }

        ctld_log(CTLD_LOG_ERROR, "ingest", "insert failed: %s",
                 res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                     : "no connection");
        ctld_ingest_done(ing);
        ctld_ingest_fail(ing);
        return;
    }

    b->next++;
    ctld_ingest_insert(ing);
}


/* XACK only after the rows committed; the batch is freed here. */
static void
ctld_ingest_ack(ctld_ingest_t *ing)
{
    ctld_ingest_batch_t  *b;
    const char          **argv;
    int                   i, rc;

    b = ing->batch;
    rc = REDIS_ERR;

    argv = malloc((size_t) (b->nids + 3) * sizeof(char *));

    if (argv != NULL && ing->connected && b->nids > 0) {
        argv[0] = "XACK";
        argv[1] = ing->st->conf.usage_stream;
        argv[2] = ing->st->conf.usage_group;

        for (i = 0; i < b->nids; i++) {
            argv[i + 3] = b->ids[i];
        }

        /* hiredis formats (copies) the command before this returns */
        rc = redisAsyncCommandArgv(ing->ac, ctld_ingest_ack_cb, ing,
                                   b->nids + 3, argv, NULL);
    }

    free(argv);
    ctld_ingest_done(ing);

    if (rc == REDIS_OK) {
        ing->busy = 1;
        ing->sent_at = time(NULL);
        return;
    }

    /* left pending: re-read (and deduplicated) once Redis is back */
    ing->mode = CTLD_INGEST_PENDING;
    ctld_ingest_next(ing);
}


static void
ctld_ingest_ack_cb(redisAsyncContext *ac, void *r, void *arg)
{
    ctld_ingest_t  *ing;
    redisReply     *reply;

    (void) ac;
    ing = arg;
    reply = r;

    if (reply == NULL || ing->stopping) {
        return;
    }

    ing->busy = 0;

    /* the rows are in: their entries went with the old group */
    if (ctld_ingest_group_lost(ing, reply, "XACK")) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ctld_log(CTLD_LOG_ERROR, "ingest", "XACK: %s", reply->str);
        ing->mode = CTLD_INGEST_PENDING;
    }

    ctld_ingest_next(ing);
}


static void
ctld_ingest_done(ctld_ingest_t *ing)
{
    free(ing->batch);
    ing->batch = NULL;
}


/*
 * Retrying won't help: a data exception (22), an integrity violation
 * (23), a program limit (54: a value too long for an index entry).
 */
static int
ctld_ingest_data_error(PGresult *res)
{
    const char  *state;

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return state != NULL && (strncmp(state, "22", 2) == 0
                             || strncmp(state, "23", 2) == 0
                             || strncmp(state, "54", 2) == 0);
}


static int
ctld_ingest_sqlstate(PGresult *res, const char *state)
{
    const char  *s;

    s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return s != NULL && strcmp(s, state) == 0;
}
