/* controld/sync.c: the sync role, PostgreSQL policy compiled into LMDB. */

#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "controld.h"
#include "pg.h"
#include "table_write.h"
#include "sluice_table.h"


#define CTLD_SYNC_KEYS_FULL   0x1
#define CTLD_SYNC_KEYS_INCR   0x2
#define CTLD_SYNC_GROUPS      0x4
#define CTLD_SYNC_ALL         (CTLD_SYNC_KEYS_FULL | CTLD_SYNC_GROUPS)

#define CTLD_SYNC_DEBOUNCE_US   10000   /* coalesce a burst of NOTIFYs */
#define CTLD_SYNC_DNS_TTL       60      /* seconds a resolved name is kept */
#define CTLD_SYNC_DNS_NEG_TTL   10      /* and a failed one */
#define CTLD_SYNC_MAX_WEIGHT    1000000 /* sluice_table.c refuses more */
#define CTLD_SYNC_KEY_LEN       33      /* 'k' + sha256 */

/* columns: kind, sha256, id, status, expires, user, project, env, groups,
 * change time (unix microseconds, the incremental high-water mark) */
#define CTLD_SYNC_KEYS_SQL                                                    \
    "SELECT 'u', k.token_sha256, k.id, k.status,"                             \
    " COALESCE(floor(extract(epoch FROM k.expires_at))::bigint::text, ''),"   \
    " u.name, p.name, k.environment, array_to_string(k.groups, ','),"         \
    " floor(extract(epoch FROM k.updated_at) * 1000000)::bigint"              \
    " FROM keys k JOIN users u ON u.id = k.user_id"                           \
    " JOIN projects p ON p.id = k.project_id"

/* tombstones ('d') sort first, so a re-created key wins */
#define CTLD_SYNC_SINCE                                                       \
    " > to_timestamp($1::bigint / 1000000.0) - interval '5 seconds'"
#define CTLD_SYNC_KEYS_INCR_SQL                                               \
    "SELECT 'd', t.token_sha256, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"   \
    " floor(extract(epoch FROM t.deleted_at) * 1000000)::bigint"              \
    " FROM key_tombstones t WHERE t.deleted_at" CTLD_SYNC_SINCE               \
    " UNION ALL " CTLD_SYNC_KEYS_SQL " WHERE k.updated_at" CTLD_SYNC_SINCE    \
    " ORDER BY 1"

#define CTLD_SYNC_GROUPS_SQL                                                  \
    "SELECT g.name, g.strategy, t.id, t.weight, pr.name, pr.dialect,"         \
    " t.model, pr.base_url, pr.auth_kind, COALESCE(pr.credential, '')"        \
    " FROM model_groups g"                                                    \
    " LEFT JOIN group_targets gt ON gt.group_id = g.id"                       \
    " LEFT JOIN targets t ON t.id = gt.target_id"                             \
    " LEFT JOIN providers pr ON pr.id = t.provider_id"                        \
    " ORDER BY g.name, gt.position, t.id"


typedef struct ctld_sync_host_s  ctld_sync_host_t;

/* resolved provider host names; ip "" caches a failure */
struct ctld_sync_host_s {
    ctld_sync_host_t   *next;
    time_t              resolved;
    char                ip[INET6_ADDRSTRLEN];
    char               *name;
};

typedef struct {
    char               *data;
    size_t              len;
    size_t              size;
} ctld_sync_buf_t;

typedef struct {
    char                scheme[8];
    char                host[256];      /* IPv6 without brackets */
    int                 port;
    int                 v6;
    const char         *path;           /* without the trailing '/' */
    int                 path_len;
} ctld_sync_url_t;

typedef struct {
    long                rows;
    long                written;
    long                unchanged;
    long                deleted;
    long                skipped;
} ctld_sync_count_t;

typedef struct {
    ctld_state_t       *st;
    ctld_pg_t          *pg;
    ctld_table_t       *table;
    struct event       *debounce;
    struct event       *reconcile;
    unsigned            pending;        /* CTLD_SYNC_* to run next */
    unsigned            running;        /* CTLD_SYNC_* in flight */
    int64_t             high_water;     /* newest key change seen, us */
    struct timespec     started;
    ctld_sync_buf_t     buf;
    ctld_sync_host_t   *hosts;
} ctld_sync_t;


static void ctld_sync_schedule(ctld_sync_t *s, unsigned what);
static void ctld_sync_run(evutil_socket_t fd, short what, void *arg);
static void ctld_sync_done(ctld_sync_t *s, unsigned what);
static void ctld_sync_on_connect(ctld_pg_t *pg, void *arg);
static void ctld_sync_on_notify(const char *channel, const char *payload,
    void *arg);
static void ctld_sync_on_reconcile(evutil_socket_t fd, short what,
    void *arg);
static void ctld_sync_keys_full_cb(PGresult *res, void *arg);
static void ctld_sync_keys_incr_cb(PGresult *res, void *arg);
static void ctld_sync_keys(ctld_sync_t *s, PGresult *res, int full);
static int ctld_sync_key_row(ctld_sync_t *s, PGresult *res, int row,
    u_char *key, ctld_sync_count_t *cnt);
static int ctld_sync_key_clean(PGresult *res, int row);
static void ctld_sync_groups_cb(PGresult *res, void *arg);
static int ctld_sync_group(ctld_sync_t *s, PGresult *res, int *row,
    ctld_sync_count_t *cnt, u_char *key);
static int ctld_sync_target(ctld_sync_t *s, PGresult *res, int row);
static int ctld_sync_url_parse(const char *url, ctld_sync_url_t *u);
static const char *ctld_sync_resolve(ctld_sync_t *s, const char *host);
static int ctld_sync_result_ok(PGresult *res, const char *what);
static void ctld_sync_log(ctld_sync_t *s, const char *what,
    ctld_sync_count_t *cnt, uint64_t gen);
static int ctld_sync_buf_add(ctld_sync_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int ctld_sync_clean(const char *v);
static int ctld_sync_hex(const char *hex, u_char *out);


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

    s->debounce = evtimer_new(st->base, ctld_sync_run, s);
    s->reconcile = event_new(st->base, -1, EV_PERSIST,
                             ctld_sync_on_reconcile, s);
    s->pg = ctld_pg_create(st->base, st->conf.database_url, "sync");

    if (s->debounce == NULL || s->reconcile == NULL || s->pg == NULL) {
        ctld_log(CTLD_LOG_ERROR, "sync", "out of memory");
        goto failed;
    }

    tv.tv_sec = st->conf.reconcile_interval;
    tv.tv_usec = 0;
    event_add(s->reconcile, &tv);

    /* the full compile starts from ctld_sync_on_connect() */
    ctld_pg_on_connect(s->pg, ctld_sync_on_connect, s);

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
    ctld_sync_t       *s;
    ctld_sync_host_t  *h;

    s = st->sync;
    if (s == NULL) {
        return;
    }

    /* first: its pending callbacks still see a whole ctld_sync_t */
    ctld_pg_free(s->pg);

    if (s->debounce != NULL) {
        event_free(s->debounce);
    }

    if (s->reconcile != NULL) {
        event_free(s->reconcile);
    }

    ctld_table_close(s->table);

    while (s->hosts != NULL) {
        h = s->hosts;
        s->hosts = h->next;
        free(h->name);
        free(h);
    }

    free(s->buf.data);
    free(s);
    st->sync = NULL;
}


void
ctld_sync_reconcile(ctld_state_t *st)
{
    if (st->sync != NULL) {
        ctld_log(CTLD_LOG_INFO, "sync", "reconcile requested");
        ctld_sync_schedule(st->sync, CTLD_SYNC_ALL);
    }
}


/* Runs what at most CTLD_SYNC_DEBOUNCE_US from now, after what is running */
static void
ctld_sync_schedule(ctld_sync_t *s, unsigned what)
{
    struct timeval  tv;

    s->pending |= what;

    if (s->running || evtimer_pending(s->debounce, NULL)) {
        return;
    }

    tv.tv_sec = 0;
    tv.tv_usec = CTLD_SYNC_DEBOUNCE_US;
    evtimer_add(s->debounce, &tv);
}


static void
ctld_sync_run(evutil_socket_t fd, short what, void *arg)
{
    ctld_sync_t  *s;
    unsigned      run;
    char          hw[24];
    const char   *params[1];

    (void) fd;
    (void) what;
    s = arg;

    if (s->running || !ctld_pg_connected(s->pg)) {
        return;                     /* done or on_connect runs it again */
    }

    run = s->pending;
    s->pending = 0;

    if (run & CTLD_SYNC_KEYS_FULL) {
        run &= ~CTLD_SYNC_KEYS_INCR;
    }

    clock_gettime(CLOCK_MONOTONIC, &s->started);
    snprintf(hw, sizeof(hw), "%" PRId64, s->high_water);
    params[0] = hw;

    /* one connection: results come back, and are applied, in this order */
    if ((run & CTLD_SYNC_KEYS_FULL)
        && ctld_pg_query(s->pg, CTLD_SYNC_KEYS_SQL, 0, NULL,
                         ctld_sync_keys_full_cb, s) == CTLD_OK)
    {
        s->running |= CTLD_SYNC_KEYS_FULL;
    }

    if ((run & CTLD_SYNC_KEYS_INCR)
        && ctld_pg_query(s->pg, CTLD_SYNC_KEYS_INCR_SQL, 1, params,
                         ctld_sync_keys_incr_cb, s) == CTLD_OK)
    {
        s->running |= CTLD_SYNC_KEYS_INCR;
    }

    if ((run & CTLD_SYNC_GROUPS)
        && ctld_pg_query(s->pg, CTLD_SYNC_GROUPS_SQL, 0, NULL,
                         ctld_sync_groups_cb, s) == CTLD_OK)
    {
        s->running |= CTLD_SYNC_GROUPS;
    }
}


static void
ctld_sync_done(ctld_sync_t *s, unsigned what)
{
    s->running &= ~what;

    if (s->running == 0 && s->pending != 0) {
        ctld_sync_schedule(s, 0);
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
    ctld_sync_schedule(s, CTLD_SYNC_ALL);
}


static void
ctld_sync_keys_full_cb(PGresult *res, void *arg)
{
    if (ctld_sync_result_ok(res, "keys")) {
        ctld_sync_keys(arg, res, 1);
    }

    ctld_sync_done(arg, CTLD_SYNC_KEYS_FULL);
}


static void
ctld_sync_keys_incr_cb(PGresult *res, void *arg)
{
    if (ctld_sync_result_ok(res, "keys")) {
        ctld_sync_keys(arg, res, 0);
    }

    ctld_sync_done(arg, CTLD_SYNC_KEYS_INCR);
}


/*
 * One write transaction for the whole result.  A full compile keeps the
 * keys it wrote and sweeps every other 'k' entry (deleted in PostgreSQL,
 * or a row that can't be encoded: such a key fails closed).
 */
static void
ctld_sync_keys(ctld_sync_t *s, PGresult *res, int full)
{
    ctld_sync_count_t   cnt;
    ctld_table_key_t   *keep;
    u_char             *keys;
    uint64_t            gen;
    size_t              nkeep;
    long                deleted;
    int                 i, n, rc;

    memset(&cnt, 0, sizeof(cnt));
    n = PQntuples(res);
    nkeep = 0;
    keep = NULL;

    keys = malloc((size_t) (n + 1) * (sizeof(ctld_table_key_t)
                                      + CTLD_SYNC_KEY_LEN));
    if (keys == NULL) {
        ctld_log(CTLD_LOG_ERROR, "sync", "out of memory");
        return;
    }

    keep = (ctld_table_key_t *) keys;
    keys += (size_t) (n + 1) * sizeof(ctld_table_key_t);

    if (ctld_table_begin(s->table) != CTLD_OK) {
        goto failed;
    }

    for (i = 0; i < n; i++) {
        rc = ctld_sync_key_row(s, res, i, keys, &cnt);

        if (rc == CTLD_ERROR) {
            goto failed;
        }

        if (full && rc == CTLD_OK) {
            keep[nkeep].data = keys;
            keep[nkeep++].len = CTLD_SYNC_KEY_LEN;
            keys += CTLD_SYNC_KEY_LEN;
        }
    }

    if (full) {
        deleted = ctld_table_sweep(s->table, SLUICE_TABLE_KEY_PREFIX, keep,
                                   nkeep);
        if (deleted < 0) {
            goto failed;
        }

        cnt.deleted += deleted;
    }

    if (ctld_table_commit(s->table, &gen) == CTLD_OK) {
        ctld_sync_log(s, full ? "keys (full)" : "keys", &cnt, gen);
    }

    free(keep);
    return;

failed:

    ctld_table_abort(s->table);
    free(keep);
}


/*
 * Applies one row; key receives the LMDB key.  CTLD_OK: the record is in
 * the table, CTLD_AGAIN: it is not (a tombstone, a row left out).
 */
static int
ctld_sync_key_row(ctld_sync_t *s, PGresult *res, int row, u_char *key,
    ctld_sync_count_t *cnt)
{
    int64_t  changed;
    int      rc, gone;

    cnt->rows++;

    changed = strtoll(PQgetvalue(res, row, 9), NULL, 10);
    if (changed > s->high_water) {
        s->high_water = changed;
    }

    key[0] = SLUICE_TABLE_KEY_PREFIX;

    if (ctld_sync_hex(PQgetvalue(res, row, 1), key + 1) != CTLD_OK) {
        ctld_log(CTLD_LOG_WARN, "sync", "key %s: bad token_sha256",
                 PQgetvalue(res, row, 2));
        cnt->skipped++;
        return CTLD_AGAIN;
    }

    gone = (PQgetvalue(res, row, 0)[0] == 'd');

    if (!gone && !ctld_sync_key_clean(res, row)) {
        cnt->skipped++;
        gone = 1;
    }

    if (gone) {
        rc = ctld_table_del(s->table, key, CTLD_SYNC_KEY_LEN);
        cnt->deleted += (rc == CTLD_OK);
        return (rc == CTLD_ERROR) ? CTLD_ERROR : CTLD_AGAIN;
    }

    s->buf.len = 0;

    /* 1 key_id status expires_at user project environment groups */
    if (ctld_sync_buf_add(&s->buf, "1\t%s\t%s\t%s\t%s\t%s\t%s\t%s",
                          PQgetvalue(res, row, 2), PQgetvalue(res, row, 3),
                          PQgetvalue(res, row, 4), PQgetvalue(res, row, 5),
                          PQgetvalue(res, row, 6), PQgetvalue(res, row, 7),
                          PQgetvalue(res, row, 8)) != CTLD_OK)
    {
        return CTLD_ERROR;
    }

    rc = ctld_table_put(s->table, key, CTLD_SYNC_KEY_LEN, s->buf.data,
                        s->buf.len);
    if (rc == CTLD_ERROR) {
        return CTLD_ERROR;
    }

    cnt->written += (rc == CTLD_OK);
    cnt->unchanged += (rc == CTLD_AGAIN);

    return CTLD_OK;
}


/* A key whose fields can't be encoded is left out: it fails closed. */
static int
ctld_sync_key_clean(PGresult *res, int row)
{
    int  i;

    for (i = 2; i <= 8; i++) {
        if (!ctld_sync_clean(PQgetvalue(res, row, i))) {
            ctld_log(CTLD_LOG_WARN, "sync", "key %s: TAB or LF in column %d,"
                     " key left out", PQgetvalue(res, row, 2), i);
            return 0;
        }
    }

    return 1;
}


/* Groups are few: every compile is full, and sweeps the rest. */
static void
ctld_sync_groups_cb(PGresult *res, void *arg)
{
    ctld_sync_t        *s;
    ctld_sync_count_t   cnt;
    ctld_table_key_t   *keep;
    u_char             *key;
    uint64_t            gen;
    size_t              size, nkeep;
    long                deleted;
    int                 row, n;

    s = arg;
    keep = NULL;

    if (!ctld_sync_result_ok(res, "groups")) {
        goto done;
    }

    memset(&cnt, 0, sizeof(cnt));
    n = PQntuples(res);
    nkeep = 0;

    /* keep[] then the keys ('g' + name) it points to */
    size = (size_t) (n + 1) * sizeof(ctld_table_key_t);
    for (row = 0; row < n; row++) {
        size += (size_t) PQgetlength(res, row, 0) + 1;
    }

    keep = malloc(size);
    if (keep == NULL) {
        ctld_log(CTLD_LOG_ERROR, "sync", "out of memory");
        goto done;
    }

    key = (u_char *) (keep + n + 1);

    if (ctld_table_begin(s->table) != CTLD_OK) {
        goto done;
    }

    for (row = 0; row < n; nkeep++) {
        keep[nkeep].data = key;
        keep[nkeep].len = (size_t) PQgetlength(res, row, 0) + 1;

        if (ctld_sync_group(s, res, &row, &cnt, key) != CTLD_OK) {
            goto failed;
        }

        key += keep[nkeep].len;
    }

    deleted = ctld_table_sweep(s->table, SLUICE_TABLE_GROUP_PREFIX, keep,
                               nkeep);
    if (deleted < 0) {
        goto failed;
    }

    cnt.deleted += deleted;

    if (ctld_table_commit(s->table, &gen) == CTLD_OK) {
        ctld_sync_log(s, "groups", &cnt, gen);
    }

    goto done;

failed:

    ctld_table_abort(s->table);

done:

    free(keep);
    ctld_sync_done(s, CTLD_SYNC_GROUPS);
}


/*
 * Writes the group starting at *row (its rows are consecutive: ORDER BY
 * name) and advances *row past it.  key receives 'g' + name.
 */
static int
ctld_sync_group(ctld_sync_t *s, PGresult *res, int *row,
    ctld_sync_count_t *cnt, u_char *key)
{
    const char  *name;
    size_t       len;
    int          r, n, rc;

    n = PQntuples(res);
    r = *row;
    name = PQgetvalue(res, r, 0);
    len = (size_t) PQgetlength(res, r, 0);

    key[0] = SLUICE_TABLE_GROUP_PREFIX;
    memcpy(key + 1, name, len);

    s->buf.len = 0;
    cnt->rows++;

    if (ctld_sync_buf_add(&s->buf, "1\t%s\t%s", name, PQgetvalue(res, r, 1))
        != CTLD_OK)
    {
        return CTLD_ERROR;
    }

    for ( /* void */ ; r < n && strcmp(PQgetvalue(res, r, 0), name) == 0;
         r++)
    {
        if (PQgetisnull(res, r, 2)) {
            continue;               /* a group without targets */
        }

        rc = ctld_sync_target(s, res, r);
        if (rc == CTLD_ERROR) {
            return CTLD_ERROR;
        }

        cnt->skipped += (rc == CTLD_AGAIN);
    }

    *row = r;

    rc = ctld_table_put(s->table, key, len + 1, s->buf.data, s->buf.len);
    if (rc == CTLD_ERROR) {
        return CTLD_ERROR;
    }

    cnt->written += (rc == CTLD_OK);
    cnt->unchanged += (rc == CTLD_AGAIN);

    return CTLD_OK;
}


/* CTLD_OK appended, CTLD_AGAIN target left out (logged), CTLD_ERROR */
static int
ctld_sync_target(ctld_sync_t *s, PGresult *res, int row)
{
    ctld_sync_url_t   u;
    const char       *ip, *auth, *cred, *tid;
    char              hosthdr[300], portbuf[8];
    long              weight;
    int               i, defport;

    tid = PQgetvalue(res, row, 2);

    for (i = 2; i <= 9; i++) {
        if (!ctld_sync_clean(PQgetvalue(res, row, i))) {
            ctld_log(CTLD_LOG_WARN, "sync", "target %s: TAB or LF in "
                     "column %d, target left out", tid, i);
            return CTLD_AGAIN;
        }
    }

    if (ctld_sync_url_parse(PQgetvalue(res, row, 7), &u) != CTLD_OK) {
        ctld_log(CTLD_LOG_WARN, "sync", "target %s: bad base_url \"%s\", "
                 "target left out", tid, PQgetvalue(res, row, 7));
        return CTLD_AGAIN;
    }

    ip = ctld_sync_resolve(s, u.host);
    if (ip == NULL) {
        return CTLD_AGAIN;
    }

    defport = (strcmp(u.scheme, "https") == 0) ? 443 : 80;
    portbuf[0] = '\0';

    if (u.port != defport) {
        snprintf(portbuf, sizeof(portbuf), ":%d", u.port);
    }

    snprintf(hosthdr, sizeof(hosthdr), "%s%s%s%s", u.v6 ? "[" : "", u.host,
             u.v6 ? "]" : "", portbuf);

    weight = strtol(PQgetvalue(res, row, 3), NULL, 10);
    if (weight > CTLD_SYNC_MAX_WEIGHT) {
        weight = CTLD_SYNC_MAX_WEIGHT;
    }

    auth = PQgetvalue(res, row, 8);
    cred = (strcmp(auth, "none") == 0) ? "" : PQgetvalue(res, row, 9);

    /* T id weight provider dialect model scheme addr host tls_name
     * base_path auth_kind credential */
    return ctld_sync_buf_add(&s->buf,
               "\nT\t%s\t%ld\t%s\t%s\t%s\t%s\t%s%s%s:%d\t%s\t%s\t%.*s\t%s\t%s",
               tid, weight, PQgetvalue(res, row, 4), PQgetvalue(res, row, 5),
               PQgetvalue(res, row, 6), u.scheme, strchr(ip, ':') ? "[" : "",
               ip, strchr(ip, ':') ? "]" : "", u.port, hosthdr, u.host,
               u.path_len, u.path, auth, cred);
}


/*
 * scheme://host[:port][/base/path] (host may be [IPv6]); no user info,
 * query or fragment.  u->path points into url.
 */
static int
ctld_sync_url_parse(const char *url, ctld_sync_url_t *u)
{
    const char  *p, *host, *end;
    char        *q;
    size_t       len;
    long         port;

    memset(u, 0, sizeof(*u));

    if (strncasecmp(url, "https://", 8) == 0) {
        strcpy(u->scheme, "https");
        u->port = 443;
        p = url + 8;

    } else if (strncasecmp(url, "http://", 7) == 0) {
        strcpy(u->scheme, "http");
        u->port = 80;
        p = url + 7;

    } else {
        return CTLD_ERROR;
    }

    end = p + strcspn(p, "/?#");
    if (*end == '?' || *end == '#' || memchr(p, '@', end - p) != NULL) {
        return CTLD_ERROR;
    }

    u->v6 = (*p == '[');
    host = p + u->v6;
    p = u->v6 ? memchr(host, ']', end - host) : memchr(host, ':', end - host);
    if (p == NULL) {
        p = u->v6 ? NULL : end;
    }

    if (p == NULL || p == host || (size_t) (p - host) >= sizeof(u->host)) {
        return CTLD_ERROR;
    }

    memcpy(u->host, host, p - host);
    p += u->v6;

    if (p < end) {
        if (*p != ':') {
            return CTLD_ERROR;
        }

        port = strtol(p + 1, &q, 10);
        if (q != end || q == p + 1 || port < 1 || port > 65535) {
            return CTLD_ERROR;
        }

        u->port = (int) port;
    }

    u->path = end;
    len = strcspn(end, "?#");
    if (end[len] != '\0') {
        return CTLD_ERROR;
    }

    while (len > 0 && end[len - 1] == '/') {
        len--;
    }

    u->path_len = (int) len;
    return CTLD_OK;
}


/*
 * Blocks in getaddrinfo(): v1 resolves while compiling, on the loop, and
 * caches answers (CTLD_SYNC_DNS_TTL) and failures (CTLD_SYNC_DNS_NEG_TTL).
 * A stale answer is kept when a refresh fails.  IPv4 is preferred.
 */
static const char *
ctld_sync_resolve(ctld_sync_t *s, const char *name)
{
    ctld_sync_host_t  *h;
    struct addrinfo    hints, *ai, *a, *pick;
    time_t             now;
    int                rc;

    now = time(NULL);

    for (h = s->hosts; h != NULL; h = h->next) {
        if (strcmp(h->name, name) == 0) {
            break;
        }
    }

    if (h != NULL && now - h->resolved < (h->ip[0] ? CTLD_SYNC_DNS_TTL
                                                   : CTLD_SYNC_DNS_NEG_TTL))
    {
        return h->ip[0] ? h->ip : NULL;
    }

    if (h == NULL) {
        h = calloc(1, sizeof(ctld_sync_host_t));
        if (h == NULL || (h->name = strdup(name)) == NULL) {
            free(h);
            ctld_log(CTLD_LOG_ERROR, "sync", "out of memory");
            return NULL;
        }

        h->next = s->hosts;
        s->hosts = h;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    h->resolved = now;
    rc = getaddrinfo(name, NULL, &hints, &ai);

    if (rc != 0) {
        ctld_log(CTLD_LOG_ERROR, "sync", "resolving \"%s\": %s%s", name,
                 gai_strerror(rc), h->ip[0] ? ", keeping the last answer"
                                            : ", its targets left out");
        return h->ip[0] ? h->ip : NULL;
    }

    pick = ai;
    for (a = ai; a != NULL; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    }

    if (pick->ai_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *) pick->ai_addr)->sin_addr,
                  h->ip, sizeof(h->ip));

    } else {
        inet_ntop(AF_INET6,
                  &((struct sockaddr_in6 *) pick->ai_addr)->sin6_addr,
                  h->ip, sizeof(h->ip));
    }

    freeaddrinfo(ai);
    return h->ip;
}


/* res NULL: the connection dropped, and on_connect will compile again */
static int
ctld_sync_result_ok(PGresult *res, const char *what)
{
    if (res == NULL) {
        return 0;
    }

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctld_log(CTLD_LOG_ERROR, "sync", "reading %s: %s", what,
                 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
        return 0;
    }

    return 1;
}


static void
ctld_sync_log(ctld_sync_t *s, const char *what, ctld_sync_count_t *cnt,
    uint64_t gen)
{
    struct timespec  now;
    long             ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (now.tv_sec - s->started.tv_sec) * 1000
         + (now.tv_nsec - s->started.tv_nsec) / 1000000;

    ctld_log(CTLD_LOG_INFO, "sync", "%s: %ld rows, %ld written, %ld "
             "unchanged, %ld deleted, %ld left out; generation %" PRIu64
             ", %ld ms", what, cnt->rows, cnt->written, cnt->unchanged,
             cnt->deleted, cnt->skipped, gen, ms);
}


static int
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
static int
ctld_sync_clean(const char *v)
{
    return strpbrk(v, "\t\n") == NULL;
}


static int
ctld_sync_hex(const char *hex, u_char *out)
{
    int   i, hi, lo;

    if (strlen(hex) != 64) {
        return CTLD_ERROR;
    }

    for (i = 0; i < 32; i++) {
        hi = (hex[2 * i] <= '9') ? hex[2 * i] - '0'
                                 : (hex[2 * i] | 0x20) - 'a' + 10;
        lo = (hex[2 * i + 1] <= '9') ? hex[2 * i + 1] - '0'
                                     : (hex[2 * i + 1] | 0x20) - 'a' + 10;

        if (hi < 0 || hi > 15 || lo < 0 || lo > 15) {
            return CTLD_ERROR;
        }

        out[i] = (u_char) (hi << 4 | lo);
    }

    return CTLD_OK;
}
