/* controld/sync.c: the sync role, PostgreSQL policy compiled into LMDB. */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"


#define CTLD_SYNC_DEBOUNCE_US   10000   /* coalesce a burst of NOTIFYs */


static void ctld_sync_run(evutil_socket_t fd, short what, void *arg);
static void ctld_sync_on_connect(ctld_pg_t *pg, void *arg);
static void ctld_sync_on_notify(const char *channel, const char *payload,
    void *arg);
static void ctld_sync_on_reconcile(evutil_socket_t fd, short what,
    void *arg);


int
ctld_sync_start(ctld_state_t *st)
{
    ctld_sync_t     *s;
    struct timeval   tv;

    s = calloc(1, sizeof(ctld_sync_t));
    if (s == NULL) {
        ctld_log(CTLD_LOG_ERROR, "sync", "out of memory");
        return CTLD_ERROR;
    }

    s->st = st;
    st->sync = s;

    s->table = ctld_table_open(st->conf.table_path, st->conf.table_mapsize);
    if (s->table == NULL) {
        goto failed;
    }

    s->dns = ctld_dns_create(st->base, ctld_sync_groups_dns, s);
    if (s->dns == NULL) {
        goto failed;
    }

    s->debounce = evtimer_new(st->base, ctld_sync_run, s);
    s->reconcile = event_new(st->base, -1, EV_PERSIST,
                             ctld_sync_on_reconcile, s);
    s->pg = ctld_pg_create(st->base, st->conf.database_url, "sync");
    s->rpg = ctld_pg_create(st->base, st->conf.database_url,
                            "sync (reconcile)");

    if (s->debounce == NULL || s->reconcile == NULL || s->pg == NULL
        || s->rpg == NULL)
    {
        ctld_log(CTLD_LOG_ERROR, "sync", "out of memory");
        goto failed;
    }

    tv.tv_sec = st->conf.reconcile_interval;
    tv.tv_usec = 0;
    event_add(s->reconcile, &tv);

    /* the first full pass starts when both connections are up */
    ctld_pg_on_connect(s->pg, ctld_sync_on_connect, s);
    ctld_pg_on_connect(s->rpg, ctld_sync_keys_rpg_connected, s);

    if (ctld_pg_listen(s->pg, "sluice_policy", ctld_sync_on_notify, s)
        != CTLD_OK)
    {
        goto failed;
    }

    ctld_log(CTLD_LOG_INFO, "sync", "table %s, reconcile every %d s",
             st->conf.table_path, st->conf.reconcile_interval);
    return CTLD_OK;

failed:

    ctld_sync_stop(st);
    return CTLD_ERROR;
}


void
ctld_sync_stop(ctld_state_t *st)
{
    ctld_sync_t  *s;

    s = st->sync;
    if (s == NULL) {
        return;
    }

    /* first: their pending callbacks still see a whole ctld_sync_t */
    ctld_pg_free(s->pg);
    s->pg = NULL;
    ctld_pg_free(s->rpg);
    s->rpg = NULL;

    if (s->debounce != NULL) {
        event_free(s->debounce);
    }

    if (s->reconcile != NULL) {
        event_free(s->reconcile);
    }

    /* last user of the loop: it may run it to collect cancelled lookups */
    ctld_dns_free(s->dns);

    ctld_table_close(s->table);
    ctld_sync_keys_free(s);

    free(s->buf.data);
    free(s);
    st->sync = NULL;
}


void
ctld_sync_reconcile(ctld_state_t *st)
{
    if (st->sync != NULL) {
        ctld_log(CTLD_LOG_INFO, "sync", "reconcile requested");
        ctld_sync_schedule(st->sync, CTLD_SYNC_KEYS_FULL | CTLD_SYNC_GROUPS);
    }
}


/*
 * Full key passes go to rpg at once (ctld_sync_keys_pass() queues them);
 * the rest runs on pg at most CTLD_SYNC_DEBOUNCE_US from now, after what
 * is running there.
 */
void
ctld_sync_schedule(ctld_sync_t *s, unsigned what)
{
    struct timeval  tv;

    if (what & CTLD_SYNC_KEYS_FULL) {
        ctld_sync_keys_pass(s, CTLD_SYNC_KEYS_FULL, 0);
    }

    s->pending |= what & (CTLD_SYNC_KEYS_INCR | CTLD_SYNC_GROUPS);

    if (s->running || s->pending == 0 || evtimer_pending(s->debounce, NULL))
    {
        return;
    }

    tv.tv_sec = 0;
    tv.tv_usec = CTLD_SYNC_DEBOUNCE_US;
    evtimer_add(s->debounce, &tv);
}


void
ctld_sync_done(ctld_sync_t *s, unsigned what)
{
    s->running &= ~what;

    if (s->running == 0 && s->pending != 0) {
        ctld_sync_schedule(s, 0);
    }
}


/* res NULL: the connection dropped, and on_connect will compile again */
int
ctld_sync_result_ok(PGresult *res, ExecStatusType want, const char *what)
{
    if (res == NULL) {
        return 0;
    }

    if (PQresultStatus(res) != want) {
        ctld_log(CTLD_LOG_ERROR, "sync", "reading %s: %s", what,
                 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
        return 0;
    }

    return 1;
}


/* gen 0: nothing was committed */
void
ctld_sync_log(const char *what, const struct timespec *started,
    ctld_sync_count_t *cnt, uint64_t gen)
{
    struct timespec  now;
    char             g[40];
    long             ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (now.tv_sec - started->tv_sec) * 1000
         + (now.tv_nsec - started->tv_nsec) / 1000000;

    if (gen != 0) {
        snprintf(g, sizeof(g), "generation %" PRIu64, gen);

    } else {
        strcpy(g, "table unchanged");
    }

    ctld_log(CTLD_LOG_INFO, "sync", "%s: %ld rows, %ld written, %ld "
             "unchanged, %ld deleted, %ld left out; %s, %ld ms", what,
             cnt->rows, cnt->written, cnt->unchanged, cnt->deleted,
             cnt->skipped, g, ms);
}


int
ctld_sync_buf_add(ctld_sync_buf_t *b, const char *fmt, ...)
{
    va_list   ap;
    size_t    size;
    char     *p;
    int       n;

    for ( ;; ) {
        va_start(ap, fmt);
        n = vsnprintf(b->data + b->len, b->size - b->len, fmt, ap);
        va_end(ap);

        if (n < 0) {
            return CTLD_ERROR;
        }

        if (b->len + (size_t) n < b->size) {
            b->len += (size_t) n;
            return CTLD_OK;
        }

        size = (b->size == 0) ? 1024 : b->size;
        while (size <= b->len + (size_t) n) {
            size *= 2;
        }

        p = realloc(b->data, size);
        if (p == NULL) {
            ctld_log(CTLD_LOG_ERROR, "sync", "out of memory");
            return CTLD_ERROR;
        }

        b->data = p;
        b->size = size;
    }
}


/* fields can hold neither TAB nor LF (docs/CONTRACTS.md) */
int
ctld_sync_clean(const char *v)
{
    return strpbrk(v, "\t\n") == NULL;
}


static void
ctld_sync_run(evutil_socket_t fd, short what, void *arg)
{
    ctld_sync_t  *s;
    unsigned      run;

    (void) fd;
    (void) what;
    s = arg;

    if (s->running || !ctld_pg_connected(s->pg)) {
        return;                     /* done or on_connect runs it again */
    }

    /* the incremental window starts from the first full pass's snapshot */
    run = s->pending;
    if (s->since == 0) {
        run &= ~CTLD_SYNC_KEYS_INCR;
    }

    s->pending &= ~run;
    clock_gettime(CLOCK_MONOTONIC, &s->started);

    /* one connection: results come back, and are applied, in this order */
    if ((run & CTLD_SYNC_KEYS_INCR) && ctld_sync_keys_incr(s) == CTLD_OK) {
        s->running |= CTLD_SYNC_KEYS_INCR;
    }

    if ((run & CTLD_SYNC_GROUPS) && ctld_sync_groups(s) == CTLD_OK) {
        s->running |= CTLD_SYNC_GROUPS;
    }
}


/* After every (re)connect: notifications may have been missed. */
static void
ctld_sync_on_connect(ctld_pg_t *pg, void *arg)
{
    (void) pg;

    ctld_sync_schedule(arg, CTLD_SYNC_ALL);
}


static void
ctld_sync_on_notify(const char *channel, const char *payload, void *arg)
{
    unsigned  what;

    (void) channel;

    if (strcmp(payload, "keys") == 0) {
        what = CTLD_SYNC_KEYS_INCR;

    } else if (strcmp(payload, "users") == 0
               || strcmp(payload, "projects") == 0)
    {
        /* key records carry user and project names */
        what = CTLD_SYNC_KEYS_FULL | CTLD_SYNC_GROUPS;

    } else {
        what = CTLD_SYNC_GROUPS;
    }

    ctld_log(CTLD_LOG_DEBUG, "sync", "notify \"%s\"", payload);
    ctld_sync_schedule(arg, what);
}


static void
ctld_sync_on_reconcile(evutil_socket_t fd, short what, void *arg)
{
    ctld_sync_t  *s;

    (void) fd;
    (void) what;
    s = arg;

    ctld_table_reader_check(s->table);
    ctld_sync_schedule(s, CTLD_SYNC_KEYS_FULL | CTLD_SYNC_GROUPS);
}
