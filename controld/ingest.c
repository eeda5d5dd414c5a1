/* controld/ingest.c: the ingest role, usage records from Redis to PG. */

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "controld.h"
#include "pg.h"


#define CTLD_INGEST_COUNT          "500"
#define CTLD_INGEST_BLOCK_MS       "1000"
#define CTLD_INGEST_NCOLS          20
#define CTLD_INGEST_BACKOFF_MAX    10       /* seconds */
#define CTLD_INGEST_CONNECT_TIME   5        /* seconds to connect to Redis */
#define CTLD_INGEST_STALL          15       /* seconds without a reply */
#define CTLD_INGEST_CLAIM_EVERY    30       /* seconds */
#define CTLD_INGEST_CLAIM_IDLE     "120000" /* ms pending at a dead peer */
#define CTLD_INGEST_STATS_EVERY    60       /* seconds */
#define CTLD_INGEST_TS_MAX         253402300799999.0  /* 9999-12-31, ms */
#define CTLD_INGEST_STMT           "ctld_ingest"      /* prepared INSERT */

#define CTLD_INGEST_TEXT    0       /* "" or invalid UTF-8: NULL */
#define CTLD_INGEST_RID     1       /* required: malformed without */
#define CTLD_INGEST_TS      2       /* unix ms; else the stream id's time */
#define CTLD_INGEST_INET    3
#define CTLD_INGEST_INT     4
#define CTLD_INGEST_BIGINT  5
#define CTLD_INGEST_FLOAT   6
#define CTLD_INGEST_BOOL    7       /* never NULL: "1" true, else false */

#define CTLD_INGEST_PENDING 0       /* re-reading our pending list, id 0 */
#define CTLD_INGEST_NEW     1       /* reading new entries, id > */


typedef struct {
    const char         *field;      /* in the stream record */
    const char         *column;     /* in usage_events, and the PREPARE */
    int                 type;       /* CTLD_INGEST_* */
} ctld_ingest_col_t;

/*
 * One batch of stream entries.  Everything lives in one allocation: ids,
 * then vals (nrows * CTLD_INGEST_NCOLS, NULL = SQL NULL), then strings.
 */
typedef struct {
    int                 nids;
    int                 nrows;
    int                 single;     /* inserting row by row */
    int                 next;       /* row by row: the row to insert */
    const char        **ids;
    const char        **vals;
    char               *arena;
} ctld_ingest_batch_t;

typedef struct {
    long                rows;
    long                inserted;
    long                malformed;
    long                rejected;
    long                failures;
} ctld_ingest_stats_t;

typedef struct {
    ctld_state_t         *st;
    ctld_pg_t            *pg;
    redisAsyncContext    *ac;
    int                   connected;
    int                   group_ok;     /* XGROUP CREATE done */
    int                   stopping;
    int                   mode;         /* CTLD_INGEST_PENDING / _NEW */
    int                   busy;         /* a Redis command in flight */
    int                   claim_due;
    int                   backoff;      /* Redis reconnects, seconds */
    int                   fail_backoff; /* failed inserts, seconds */
    time_t                sent_at;      /* command sent, or connect begun */
    time_t                claimed_at;
    time_t                regrouped_at; /* group found gone, recreated */
    time_t                stats_at;
    char                  cursor[64];   /* XAUTOCLAIM */
    ctld_ingest_batch_t  *batch;        /* being inserted and acked */
    int                   prepared;     /* on this PostgreSQL connection */
    struct event         *retry;        /* Redis reconnect */
    struct event         *resume;       /* after a failure's backoff */
    struct event         *tick;         /* every second: timeouts, claims */
    ctld_ingest_stats_t   stats;
} ctld_ingest_t;


static const ctld_ingest_col_t  ctld_ingest_cols[CTLD_INGEST_NCOLS] = {
    { "rid", "request_id", CTLD_INGEST_RID },
    { "ts", "ts", CTLD_INGEST_TS },
    { "key", "key_id", CTLD_INGEST_TEXT },
    { "user", "user_name", CTLD_INGEST_TEXT },
    { "project", "project_name", CTLD_INGEST_TEXT },
    { "env", "environment", CTLD_INGEST_TEXT },
    { "ip", "client_ip", CTLD_INGEST_INET },
    { "dialect", "dialect", CTLD_INGEST_TEXT },
    { "endpoint", "endpoint", CTLD_INGEST_TEXT },
    { "group", "model_group", CTLD_INGEST_TEXT },
    { "provider", "provider", CTLD_INGEST_TEXT },
    { "model", "model", CTLD_INGEST_TEXT },
    { "target", "target", CTLD_INGEST_TEXT },
    { "status", "status", CTLD_INGEST_INT },
    { "stream", "stream", CTLD_INGEST_BOOL },
    { "in", "input_tokens", CTLD_INGEST_BIGINT },
    { "out", "output_tokens", CTLD_INGEST_BIGINT },
    { "latency_ms", "latency_ms", CTLD_INGEST_FLOAT },
    { "ttfb_ms", "ttfb_ms", CTLD_INGEST_FLOAT },
    { "attempts", "attempts", CTLD_INGEST_INT },
};

/*
 * The columns in the order above, from twenty arrays whatever the batch
 * size, parsed and planned once per connection (a multi-row VALUES list
 * of twenty casts a row cost PostgreSQL two to three times the CPU per
 * row).  Each element goes through its column type's input function, ts
 * is unix ms, a NULL element is NULL.
 */
static const char  ctld_ingest_prepare[] =
    "PREPARE " CTLD_INGEST_STMT " AS "
    "INSERT INTO usage_events (request_id, ts, key_id, user_name, "
    "project_name, environment, client_ip, dialect, endpoint, model_group, "
    "provider, model, target, status, stream, input_tokens, output_tokens, "
    "latency_ms, ttfb_ms, attempts) "
    "SELECT request_id, to_timestamp(ts / 1000), key_id, user_name, "
    "project_name, environment, client_ip, dialect, endpoint, model_group, "
    "provider, model, target, status, stream, input_tokens, output_tokens, "
    "latency_ms, ttfb_ms, attempts "
    "FROM unnest($1::text[], $2::float8[], $3::text[], $4::text[], "
    "$5::text[], $6::text[], $7::inet[], $8::text[], $9::text[], "
    "$10::text[], $11::text[], $12::text[], $13::text[], $14::integer[], "
    "$15::boolean[], $16::bigint[], $17::bigint[], $18::float8[], "
    "$19::float8[], $20::integer[]) "
    "AS u (request_id, ts, key_id, user_name, project_name, environment, "
    "client_ip, dialect, endpoint, model_group, provider, model, target, "
    "status, stream, input_tokens, output_tokens, latency_ms, ttfb_ms, "
    "attempts) "
    "ON CONFLICT (request_id) DO NOTHING";


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
static ctld_ingest_batch_t *ctld_ingest_batch(ctld_ingest_t *ing,
    redisReply *entries);
static void ctld_ingest_row(ctld_ingest_batch_t *b, const char *id,
    redisReply *fields, char **arena);
static const char *ctld_ingest_value(int type, const char *v);
static void ctld_ingest_insert(ctld_ingest_t *ing);
static void ctld_ingest_pg_connect(ctld_pg_t *pg, void *arg);
static void ctld_ingest_prepare_cb(PGresult *res, void *arg);
static void ctld_ingest_insert_cb(PGresult *res, void *arg);
static void ctld_ingest_row_cb(PGresult *res, void *arg);
static void ctld_ingest_ack(ctld_ingest_t *ing);
static void ctld_ingest_ack_cb(redisAsyncContext *ac, void *r, void *arg);
static void ctld_ingest_done(ctld_ingest_t *ing);
static char *ctld_ingest_execute(ctld_ingest_batch_t *b, int first, int n);
static char *ctld_ingest_quote(char *p, const char *v);
static int ctld_ingest_data_error(PGresult *res);
static int ctld_ingest_sqlstate(PGresult *res, const char *state);
static int ctld_ingest_utf8(const char *s);


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


static ctld_ingest_batch_t *
ctld_ingest_batch(ctld_ingest_t *ing, redisReply *entries)
{
    ctld_ingest_batch_t  *b;
    redisReply           *e, *f;
    size_t                i, j, n, size;
    char                 *arena;

    n = entries->elements;

    /* a row's strings are never longer than the entry's, plus a ts */
    size = sizeof(ctld_ingest_batch_t)
           + n * (CTLD_INGEST_NCOLS + 1) * sizeof(char *);

    for (i = 0; i < n; i++) {
        e = entries->element[i];
        size += 32;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) {
            continue;
        }

        /* len is 0 for a reply that is not a string */
        size += e->element[0]->len + 1;
        f = e->element[1];

        for (j = 0; f->type == REDIS_REPLY_ARRAY && j < f->elements; j++) {
            size += f->element[j]->len + 1;
        }
    }

    b = calloc(1, size);
    if (b == NULL) {
        ctld_log(CTLD_LOG_ERROR, "ingest", "out of memory");
        return NULL;
    }

    b->ids = (const char **) (b + 1);
    b->vals = b->ids + n;
    arena = (char *) (b->vals + n * CTLD_INGEST_NCOLS);

    for (i = 0; i < n; i++) {
        e = entries->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2
            || e->element[0]->type != REDIS_REPLY_STRING)
        {
            continue;               /* no id: nothing to ack either */
        }

        b->ids[b->nids] = strcpy(arena, e->element[0]->str);
        arena += e->element[0]->len + 1;
        b->nids++;

        ctld_ingest_row(b, b->ids[b->nids - 1], e->element[1], &arena);
    }

    ing->stats.rows += b->nids;
    ing->stats.malformed += b->nids - b->nrows;

    return b;
}


/*
 * Maps one entry's fields to the columns (unknown fields are ignored, so
 * a newer module can add some).  Without a rid the entry is malformed:
 * logged, counted and acked, but not a row.
 */
static void
ctld_ingest_row(ctld_ingest_batch_t *b, const char *id, redisReply *fields,
    char **arena)
{
    const char  **vals, *v;
    redisReply   *name, *val;
    size_t        k, len;
    int           c;

    vals = b->vals + (size_t) b->nrows * CTLD_INGEST_NCOLS;

    for (c = 0; c < CTLD_INGEST_NCOLS; c++) {
        vals[c] = NULL;
    }

    /* nil fields: the entry was trimmed from the stream while pending */
    for (k = 0; fields->type == REDIS_REPLY_ARRAY && k + 1 < fields->elements;
         k += 2)
    {
        name = fields->element[k];
        val = fields->element[k + 1];

        if (name->type != REDIS_REPLY_STRING
            || val->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        for (c = 0; c < CTLD_INGEST_NCOLS; c++) {
            if (strcmp(ctld_ingest_cols[c].field, name->str) != 0) {
                continue;
            }

            v = ctld_ingest_value(ctld_ingest_cols[c].type, val->str);

            if (v == val->str) {
                vals[c] = strcpy(*arena, v);
                *arena += val->len + 1;

            } else {
                vals[c] = v;
            }
        }
    }

    for (c = 0; c < CTLD_INGEST_NCOLS; c++) {
        if (vals[c] != NULL) {
            continue;
        }

        switch (ctld_ingest_cols[c].type) {

        case CTLD_INGEST_RID:
            ctld_log(CTLD_LOG_WARN, "ingest", "entry %s has no rid: "
                     "malformed, acked without a row", id);
            return;

        case CTLD_INGEST_TS:
            /* the stream id starts with the XADD time in ms */
            len = strcspn(id, "-");
            vals[c] = memcpy(*arena, id, len);
            (*arena)[len] = '\0';
            *arena += len + 1;
            break;

        case CTLD_INGEST_BOOL:
            vals[c] = "false";
            break;

        default:
            break;
        }
    }

    b->nrows++;
}


/*
 * Returns v when PostgreSQL will take it as is, a replacement, or NULL:
 * one bad value must not make the whole batch fail again and again.
 */
static const char *
ctld_ingest_value(int type, const char *v)
{
    unsigned char   addr[sizeof(struct in6_addr)];
    char           *end;
    double          d;
    long long       n;

    errno = 0;

    switch (type) {

    case CTLD_INGEST_BOOL:
        return (strcmp(v, "1") == 0 || strcmp(v, "true") == 0) ? "true"
                                                                : "false";

    case CTLD_INGEST_INET:
        return (inet_pton(AF_INET, v, addr) == 1
                || inet_pton(AF_INET6, v, addr) == 1) ? v : NULL;

    case CTLD_INGEST_INT:
    case CTLD_INGEST_BIGINT:
        if (!(*v == '-' || (*v >= '0' && *v <= '9'))) {
            return NULL;
        }

        n = strtoll(v, &end, 10);

        if (*end != '\0' || errno != 0
            || (type == CTLD_INGEST_INT && (n < -2147483648LL
                                            || n > 2147483647LL)))
        {
            return NULL;
        }

        return v;

    case CTLD_INGEST_FLOAT:
    case CTLD_INGEST_TS:
        /* no hex, no inf or nan; strtod would take them */
        if (*v == '\0' || strspn(v, "0123456789.eE+-") != strlen(v)) {
            return NULL;
        }

        d = strtod(v, &end);

        if (*end != '\0' || errno != 0 || !isfinite(d)
            || (type == CTLD_INGEST_TS
                && (d <= 0 || d > CTLD_INGEST_TS_MAX)))
        {
            return NULL;
        }

        return v;

    default:
        return (*v != '\0' && ctld_ingest_utf8(v)) ? v : NULL;
    }
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
 * EXECUTE ctld_ingest(E'{"v",NULL,...}', ...): per column, an array of
 * rows first .. first + n - 1, as text for the string constant.  Every
 * value is quoted in the array, so commas, braces, blanks and the word
 * NULL are data; SQL NULL is the bare word.
 */
static char *
ctld_ingest_execute(ctld_ingest_batch_t *b, int first, int n)
{
    const char  **row;
    size_t        size;
    char         *sql, *p;
    int           r, c;

    size = sizeof("EXECUTE " CTLD_INGEST_STMT "()")
           + CTLD_INGEST_NCOLS * sizeof(", E'{}'");

    /* a byte takes 4 at most (a backslash), plus the quotes and a comma */
    for (r = first; r < first + n; r++) {
        row = b->vals + (size_t) r * CTLD_INGEST_NCOLS;

        for (c = 0; c < CTLD_INGEST_NCOLS; c++) {
            size += (row[c] != NULL) ? 4 * strlen(row[c]) + 3
                                     : sizeof("NULL,");
        }
    }

    sql = malloc(size);
    if (sql == NULL) {
        ctld_log(CTLD_LOG_ERROR, "ingest", "out of memory");
        return NULL;
    }

    p = sql + sprintf(sql, "EXECUTE " CTLD_INGEST_STMT "(");

    for (c = 0; c < CTLD_INGEST_NCOLS; c++) {
        p += sprintf(p, "%sE'{", c ? ", " : "");

        for (r = first; r < first + n; r++) {
            if (r > first) {
                *p++ = ',';
            }

            p = ctld_ingest_quote(p, b->vals[(size_t) r * CTLD_INGEST_NCOLS
                                             + c]);
        }

        *p++ = '}';
        *p++ = '\'';
    }

    strcpy(p, ")");

    return sql;
}


/*
 * One array element inside an E'' string constant: the array wants a
 * quote or a backslash behind a backslash, the constant wants every
 * backslash doubled and a single quote twice.  So " is \\", \ is
 * \\\\, ' is ''.  v is UTF-8 (checked): no byte of a multibyte
 * character is one of these.
 */
static char *
ctld_ingest_quote(char *p, const char *v)
{
    if (v == NULL) {
        memcpy(p, "NULL", 4);
        return p + 4;
    }

    *p++ = '"';

    for ( /* void */ ; *v != '\0'; v++) {
        switch (*v) {

        case '"':
            memcpy(p, "\\\\\"", 3);
            p += 3;
            break;

        case '\\':
            memcpy(p, "\\\\\\\\", 4);
            p += 4;
            break;

        case '\'':
            *p++ = '\'';
            *p++ = '\'';
            break;

        default:
            *p++ = *v;
        }
    }

    *p++ = '"';

    return p;
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


/* PostgreSQL refuses a text value that is not UTF-8 (and its batch) */
static int
ctld_ingest_utf8(const char *s)
{
    const unsigned char  *p;
    unsigned              cp, n, i;

    for (p = (const unsigned char *) s; *p != '\0'; p += n) {
        if (*p < 0x80) {
            n = 1;
            continue;
        }

        if ((*p & 0xe0) == 0xc0) {
            n = 2;
            cp = *p & 0x1f;

        } else if ((*p & 0xf0) == 0xe0) {
            n = 3;
            cp = *p & 0x0f;

        } else if ((*p & 0xf8) == 0xf0) {
            n = 4;
            cp = *p & 0x07;

        } else {
            return 0;
        }

        for (i = 1; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return 0;
            }

            cp = cp << 6 | (p[i] & 0x3f);
        }

        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800)
            || (n == 4 && cp < 0x10000) || cp > 0x10ffff
            || (cp >= 0xd800 && cp <= 0xdfff))
        {
            return 0;
        }
    }

    return 1;
}
