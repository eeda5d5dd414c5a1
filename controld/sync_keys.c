/*
 * controld/sync_keys.c: caller keys from PostgreSQL into the policy table.
 *
 * Incremental reads (pg, on NOTIFY) fetch the changes since the previous
 * read's start less CTLD_SYNC_OVERLAP_US (a change may commit that long
 * after it was stamped): the newest CTLD_SYNC_INCR_MAX keys and as many
 * tombstones, so a revocation never waits behind a bulk import.  When a
 * read is full, a window pass on rpg reads the rest.
 *
 * Passes (rpg) read through a cursor, CTLD_SYNC_BATCH rows per FETCH and
 * per LMDB write transaction, so memory stays bounded.  A full pass reads
 * every key ordered as LMDB orders them and deletes the table entries
 * that fall between two rows (a sorted merge): no set of seen keys.
 * Incremental reads go on meanwhile; the keys they write are "touched",
 * and the pass, whose snapshot may be older, leaves those alone.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "sync.h"
#include "sluice_table.h"


#define CTLD_SYNC_INCR_MAX     1000
#define CTLD_SYNC_BATCH        10000
#define CTLD_SYNC_OVERLAP_US   5000000
#define CTLD_SYNC_TOUCHED_MAX  (1 << 20)    /* 32 MiB, then restart */

#define CTLD_SYNC_PASS_DONE     0
#define CTLD_SYNC_PASS_FAILED   1
#define CTLD_SYNC_PASS_LOST     2           /* retried on reconnect */
#define CTLD_SYNC_PASS_RESTART  3

#define CTLD_SYNC_US(t)  "floor(extract(epoch FROM " t ") * 1000000)::bigint"

/* columns: kind, sha256, id, status, expires, user, project, env, groups,
 * change time (unix us).  Kinds: 'u' a key, 'd' a tombstone, 'x' a
 * tombstone whose hash a key holds again (not applied: order-free) */
#define CTLD_SYNC_KEY_COLS                                                    \
    "'u', k.token_sha256, k.id, k.status,"                                    \
    " COALESCE(floor(extract(epoch FROM k.expires_at))::bigint::text, ''),"   \
    " u.name, p.name, k.environment, array_to_string(k.groups, ','),"         \
    " " CTLD_SYNC_US("k.updated_at")

#define CTLD_SYNC_KEY_JOIN                                                    \
    " JOIN users u ON u.id = k.user_id"                                       \
    " JOIN projects p ON p.id = k.project_id"

#define CTLD_SYNC_TOMB_COLS                                                   \
    "CASE WHEN EXISTS (SELECT 1 FROM keys o"                                  \
    " WHERE o.token_sha256 = t.token_sha256) THEN 'x' ELSE 'd' END,"          \
    " t.token_sha256, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"              \
    " " CTLD_SYNC_US("t.deleted_at")

#define CTLD_SYNC_SINCE        "to_timestamp($1::bigint / 1000000.0)"
#define CTLD_SYNC_STR(n)       #n
#define CTLD_SYNC_XSTR(n)      CTLD_SYNC_STR(n)
#define CTLD_SYNC_NEWEST(col)                                                 \
    " > " CTLD_SYNC_SINCE " ORDER BY " col " DESC"                            \
    " LIMIT " CTLD_SYNC_XSTR(CTLD_SYNC_INCR_MAX)

/*
 * The newest CTLD_SYNC_INCR_MAX tombstones and keys (chosen before the
 * joins: a bulk change costs a scan, not a join), then one row 'n' with
 * PostgreSQL's now(), the next read's window start.
 */
#define CTLD_SYNC_INCR_SQL                                                    \
    "SELECT " CTLD_SYNC_TOMB_COLS " FROM (SELECT * FROM key_tombstones"       \
    " WHERE deleted_at" CTLD_SYNC_NEWEST("deleted_at") ") t"                  \
    " UNION ALL SELECT " CTLD_SYNC_KEY_COLS " FROM (SELECT * FROM keys"       \
    " WHERE updated_at" CTLD_SYNC_NEWEST("updated_at") ") k"                  \
    CTLD_SYNC_KEY_JOIN                                                        \
    " UNION ALL SELECT 'n', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"  \
    " " CTLD_SYNC_US("now()")

/*
 * A window pass: every change since a time (%s, twice), in the table's
 * order so that a batch dirties few LMDB pages.
 */
#define CTLD_SYNC_WINDOW_SQL                                                  \
    "SELECT * FROM (SELECT " CTLD_SYNC_TOMB_COLS " FROM key_tombstones t"     \
    " WHERE t.deleted_at > %s"                                                \
    " UNION ALL SELECT " CTLD_SYNC_KEY_COLS " FROM keys k"                    \
    CTLD_SYNC_KEY_JOIN " WHERE k.updated_at > %s) w"                          \
    " ORDER BY w.token_sha256 COLLATE \"C\""

/* hex sha256 in "C" order is the raw hashes' order, LMDB's */
#define CTLD_SYNC_FULL_SQL                                                    \
    "SELECT " CTLD_SYNC_KEY_COLS " FROM keys k" CTLD_SYNC_KEY_JOIN            \
    " ORDER BY k.token_sha256 COLLATE \"C\""

#define CTLD_SYNC_BEGIN_SQL                                                   \
    "BEGIN READ ONLY; DECLARE ctld_keys NO SCROLL CURSOR FOR %s;"             \
    " SELECT " CTLD_SYNC_US("now()")

#define CTLD_SYNC_FETCH_SQL                                                   \
    "FETCH " CTLD_SYNC_XSTR(CTLD_SYNC_BATCH) " FROM ctld_keys"


static void ctld_sync_keys_incr_cb(PGresult *res, void *arg);
static int ctld_sync_keys_incr_apply(ctld_sync_t *s, PGresult *res,
    int64_t *now);
static void ctld_sync_pass_start(ctld_sync_t *s);
static void ctld_sync_pass_begin_cb(PGresult *res, void *arg);
static void ctld_sync_pass_fetch(ctld_sync_t *s);
static void ctld_sync_pass_batch_cb(PGresult *res, void *arg);
static int ctld_sync_pass_full(ctld_sync_t *s, PGresult *res, int last);
static int ctld_sync_pass_merge(ctld_sync_t *s, PGresult *res, int row,
    u_char *key);
static int ctld_sync_pass_window(ctld_sync_t *s, PGresult *res);
static int ctld_sync_pass_commit(ctld_sync_t *s, long changed);
static void ctld_sync_pass_end(ctld_sync_t *s, int how);
static int ctld_sync_key_of(PGresult *res, int row, u_char *key);
static int ctld_sync_key_apply(ctld_sync_t *s, PGresult *res, int row,
    const u_char *key, ctld_sync_count_t *cnt);
static int ctld_sync_key_clean(PGresult *res, int row);
static int ctld_sync_touch(ctld_sync_t *s, const u_char *key);
static void ctld_sync_touched_sort(ctld_sync_t *s);
static int ctld_sync_touched(const void *key, size_t len, void *arg);
static int ctld_sync_hash_cmp(const void *a, const void *b);
static int ctld_sync_hex(const char *hex, u_char *out);


int
ctld_sync_keys_incr(ctld_sync_t *s)
{
    char         since[24];
    const char  *params[1];

    snprintf(since, sizeof(since), "%" PRId64, s->since);
    params[0] = since;

    return ctld_pg_query(s->pg, CTLD_SYNC_INCR_SQL, 1, params,
                         ctld_sync_keys_incr_cb, s);
}


/*
 * A pass covers the changes committed before its snapshot: one asked for
 * now starts after the one running.  A full pass does a window's work.
 */
void
ctld_sync_keys_pass(ctld_sync_t *s, unsigned kind, int64_t since)
{
    ctld_sync_pass_t  *p;

    p = &s->pass;

    if (kind == CTLD_SYNC_KEYS_WINDOW
        && (!(p->wanted & CTLD_SYNC_KEYS_WINDOW) || since < p->want_since))
    {
        p->want_since = since;
    }

    p->wanted |= kind;

    ctld_sync_pass_start(s);
}


void
ctld_sync_keys_rpg_connected(ctld_pg_t *pg, void *arg)
{
    (void) pg;

    ctld_sync_pass_start(arg);
}


void
ctld_sync_keys_free(ctld_sync_t *s)
{
    free(s->touched.keys);
    s->touched.keys = NULL;
}


static void
ctld_sync_keys_incr_cb(PGresult *res, void *arg)
{
    ctld_sync_t  *s;
    int64_t       now;
    int           rc;

    s = arg;

    if (ctld_sync_result_ok(res, PGRES_TUPLES_OK, "keys")) {
        rc = ctld_sync_keys_incr_apply(s, res, &now);

        if (rc != CTLD_ERROR) {
            /* CTLD_AGAIN: more changes than one read takes */
            if (rc == CTLD_AGAIN) {
                ctld_sync_keys_pass(s, CTLD_SYNC_KEYS_WINDOW, s->since);
            }

            s->since = now - CTLD_SYNC_OVERLAP_US;
        }
    }

    ctld_sync_done(s, CTLD_SYNC_KEYS_INCR);
}


/*
 * One write transaction; *now gets PostgreSQL's time of the read.
 * CTLD_AGAIN: the keys or the tombstones filled their share of the read,
 * older changes may be left.
 */
static int
ctld_sync_keys_incr_apply(ctld_sync_t *s, PGresult *res, int64_t *now)
{
    ctld_sync_count_t   cnt;
    u_char              key[CTLD_SYNC_KEY_LEN];
    uint64_t            gen;
    int                 i, n, nkeys;

    memset(&cnt, 0, sizeof(cnt));
    n = PQntuples(res);
    nkeys = 0;
    *now = 0;
    gen = 0;

    if (ctld_table_begin(s->table) != CTLD_OK) {
        return CTLD_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (PQgetvalue(res, i, 0)[0] == 'n') {
            *now = strtoll(PQgetvalue(res, i, 9), NULL, 10);
            continue;
        }

        cnt.rows++;
        nkeys += (PQgetvalue(res, i, 0)[0] == 'u');

        if (ctld_sync_key_of(res, i, key) != CTLD_OK) {
            cnt.skipped++;
            continue;
        }

        if (ctld_sync_key_apply(s, res, i, key, &cnt) != CTLD_OK
            || (s->pass.kind != 0 && ctld_sync_touch(s, key) != CTLD_OK))
        {
            ctld_table_abort(s->table);
            return CTLD_ERROR;
        }
    }

    if (*now == 0) {
        ctld_log(CTLD_LOG_ERROR, "sync", "keys: no time in the answer");
        ctld_table_abort(s->table);
        return CTLD_ERROR;
    }

    if (cnt.written + cnt.deleted == 0) {
        ctld_table_abort(s->table);

    } else if (ctld_table_commit(s->table, &gen) != CTLD_OK) {
        return CTLD_ERROR;
    }

    ctld_sync_log("keys", &s->started, &cnt, gen);

    return (nkeys >= CTLD_SYNC_INCR_MAX
            || cnt.rows - nkeys >= CTLD_SYNC_INCR_MAX) ? CTLD_AGAIN : CTLD_OK;
}


static void
ctld_sync_pass_start(ctld_sync_t *s)
{
    ctld_sync_pass_t  *p;
    char               sql[4096], query[2048], since[64];
    unsigned           kind;

    p = &s->pass;

    if (p->kind != 0 || p->wanted == 0 || s->rpg == NULL
        || !ctld_pg_connected(s->rpg))
    {
        return;                     /* ctld_sync_pass_end(), on connect */
    }

    kind = (p->wanted & CTLD_SYNC_KEYS_FULL) ? CTLD_SYNC_KEYS_FULL
                                             : CTLD_SYNC_KEYS_WINDOW;

    if (kind == CTLD_SYNC_KEYS_FULL) {
        snprintf(query, sizeof(query), "%s", CTLD_SYNC_FULL_SQL);

    } else {
        snprintf(since, sizeof(since), "to_timestamp(%" PRId64
                 " / 1000000.0)", p->want_since);
        snprintf(query, sizeof(query), CTLD_SYNC_WINDOW_SQL, since, since);
    }

    snprintf(sql, sizeof(sql), CTLD_SYNC_BEGIN_SQL, query);

    if (ctld_pg_query(s->rpg, sql, 0, NULL, ctld_sync_pass_begin_cb, s)
        != CTLD_OK)
    {
        return;                     /* wanted: the next request retries */
    }

    p->since = p->want_since;
    p->wanted = 0;
    p->kind = kind;
    p->snapshot = 0;
    p->have_last = 0;
    p->gen = 0;
    p->restart = 0;
    memset(&p->cnt, 0, sizeof(p->cnt));
    clock_gettime(CLOCK_MONOTONIC, &p->started);

    s->touched.n = 0;
    s->touched.nsorted = 0;
}


static void
ctld_sync_pass_begin_cb(PGresult *res, void *arg)
{
    ctld_sync_t       *s;
    ctld_sync_pass_t  *p;

    s = arg;
    p = &s->pass;

    if (!ctld_sync_result_ok(res, PGRES_TUPLES_OK, "keys")) {
        ctld_sync_pass_end(s, (res == NULL) ? CTLD_SYNC_PASS_LOST
                                            : CTLD_SYNC_PASS_FAILED);
        return;
    }

    p->snapshot = strtoll(PQgetvalue(res, 0, 0), NULL, 10);

    /* at start: incremental reads begin where this snapshot ends */
    if (s->since == 0 && p->kind == CTLD_SYNC_KEYS_FULL) {
        s->since = p->snapshot - CTLD_SYNC_OVERLAP_US;
        ctld_sync_schedule(s, 0);
    }

    ctld_sync_pass_fetch(s);
}


static void
ctld_sync_pass_fetch(ctld_sync_t *s)
{
    if (ctld_pg_query(s->rpg, CTLD_SYNC_FETCH_SQL, 0, NULL,
                      ctld_sync_pass_batch_cb, s) != CTLD_OK)
    {
        ctld_sync_pass_end(s, CTLD_SYNC_PASS_FAILED);
    }
}


/* A batch shorter than CTLD_SYNC_BATCH is the last one. */
static void
ctld_sync_pass_batch_cb(PGresult *res, void *arg)
{
    ctld_sync_t       *s;
    ctld_sync_pass_t  *p;
    int                n, rc;

    s = arg;
    p = &s->pass;

    if (!ctld_sync_result_ok(res, PGRES_TUPLES_OK, "keys")) {
        ctld_sync_pass_end(s, (res == NULL) ? CTLD_SYNC_PASS_LOST
                                            : CTLD_SYNC_PASS_FAILED);
        return;
    }

    if (p->restart) {
        ctld_sync_pass_end(s, CTLD_SYNC_PASS_RESTART);
        return;
    }

    n = PQntuples(res);

    rc = (p->kind == CTLD_SYNC_KEYS_FULL)
         ? ctld_sync_pass_full(s, res, n < CTLD_SYNC_BATCH)
         : ctld_sync_pass_window(s, res);

    if (rc != CTLD_OK) {
        ctld_sync_pass_end(s, CTLD_SYNC_PASS_FAILED);
        return;
    }

    if (n == CTLD_SYNC_BATCH) {
        ctld_sync_pass_fetch(s);
        return;
    }

    ctld_sync_pass_end(s, CTLD_SYNC_PASS_DONE);
}


/*
 * One write transaction per batch.  Rows come in LMDB's order: whatever
 * the table holds between two rows (after the last one, in the last
 * batch) is gone from PostgreSQL, unless an incremental read touched it.
 */
static int
ctld_sync_pass_full(ctld_sync_t *s, PGresult *res, int last)
{
    ctld_sync_pass_t  *p;
    u_char             key[CTLD_SYNC_KEY_LEN];
    long               changed, d;
    int                i, n;

    p = &s->pass;
    n = PQntuples(res);
    changed = p->cnt.written + p->cnt.deleted;

    ctld_sync_touched_sort(s);

    if (ctld_table_begin(s->table) != CTLD_OK) {
        return CTLD_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ctld_sync_pass_merge(s, res, i, key) != CTLD_OK) {
            goto failed;
        }
    }

    if (last) {
        d = ctld_table_del_range(s->table, SLUICE_TABLE_KEY_PREFIX,
                                 p->have_last ? p->last : NULL,
                                 CTLD_SYNC_KEY_LEN, NULL, 0,
                                 ctld_sync_touched, s);
        if (d < 0) {
            goto failed;
        }

        p->cnt.deleted += d;
    }

    return ctld_sync_pass_commit(s, p->cnt.written + p->cnt.deleted
                                    - changed);

failed:

    ctld_table_abort(s->table);
    return CTLD_ERROR;
}


static int
ctld_sync_pass_merge(ctld_sync_t *s, PGresult *res, int row, u_char *key)
{
    ctld_sync_pass_t  *p;
    long               d;

    p = &s->pass;
    p->cnt.rows++;

    if (ctld_sync_key_of(res, row, key) != CTLD_OK) {
        p->cnt.skipped++;
        return CTLD_OK;
    }

    if (p->have_last && memcmp(key, p->last, CTLD_SYNC_KEY_LEN) <= 0) {
        ctld_log(CTLD_LOG_ERROR, "sync", "keys: key %s out of order, "
                 "full pass abandoned", PQgetvalue(res, row, 2));
        return CTLD_ERROR;
    }

    d = ctld_table_del_range(s->table, SLUICE_TABLE_KEY_PREFIX,
                             p->have_last ? p->last : NULL,
                             CTLD_SYNC_KEY_LEN, key, CTLD_SYNC_KEY_LEN,
                             ctld_sync_touched, s);
    if (d < 0) {
        return CTLD_ERROR;
    }

    p->cnt.deleted += d;
    memcpy(p->last, key, CTLD_SYNC_KEY_LEN);
    p->have_last = 1;

    if (ctld_sync_touched(key, CTLD_SYNC_KEY_LEN, s)) {
        p->cnt.newer++;
        return CTLD_OK;
    }

    return ctld_sync_key_apply(s, res, row, key, &p->cnt);
}


/* the changes since a time: tombstones and keys, in no order */
static int
ctld_sync_pass_window(ctld_sync_t *s, PGresult *res)
{
    ctld_sync_pass_t  *p;
    u_char             key[CTLD_SYNC_KEY_LEN];
    long               changed;
    int                i, n;

    p = &s->pass;
    n = PQntuples(res);
    changed = p->cnt.written + p->cnt.deleted;

    ctld_sync_touched_sort(s);

    if (ctld_table_begin(s->table) != CTLD_OK) {
        return CTLD_ERROR;
    }

    for (i = 0; i < n; i++) {
        p->cnt.rows++;

        if (ctld_sync_key_of(res, i, key) != CTLD_OK) {
            p->cnt.skipped++;
            continue;
        }

        if (ctld_sync_touched(key, CTLD_SYNC_KEY_LEN, s)) {
            p->cnt.newer++;
            continue;
        }

        if (ctld_sync_key_apply(s, res, i, key, &p->cnt) != CTLD_OK) {
            ctld_table_abort(s->table);
            return CTLD_ERROR;
        }
    }

    return ctld_sync_pass_commit(s, p->cnt.written + p->cnt.deleted
                                    - changed);
}


/* a batch that changed nothing is not committed: no generation bump */
static int
ctld_sync_pass_commit(ctld_sync_t *s, long changed)
{
    if (changed == 0) {
        ctld_table_abort(s->table);
        return CTLD_OK;
    }

    return ctld_table_commit(s->table, &s->pass.gen);
}


/*
 * Ends the transaction (unless the connection is gone with it), logs,
 * and starts what was asked for meanwhile.  A lost or restarted pass is
 * asked for again; a failed one waits for the next reconcile.
 */
static void
ctld_sync_pass_end(ctld_sync_t *s, int how)
{
    ctld_sync_pass_t  *p;
    unsigned           kind;

    p = &s->pass;
    kind = p->kind;
    p->kind = 0;

    /* the touched set only protects a running pass */
    free(s->touched.keys);
    memset(&s->touched, 0, sizeof(s->touched));

    if (how != CTLD_SYNC_PASS_LOST) {
        (void) ctld_pg_query(s->rpg, (how == CTLD_SYNC_PASS_DONE)
                                     ? "COMMIT" : "ROLLBACK",
                             0, NULL, NULL, NULL);
    }

    switch (how) {

    case CTLD_SYNC_PASS_DONE:
        ctld_sync_log((kind == CTLD_SYNC_KEYS_FULL) ? "keys (full)"
                                                    : "keys (catch-up)",
                      &p->started, &p->cnt, p->gen);

        if (p->cnt.newer > 0) {
            ctld_log(CTLD_LOG_INFO, "sync", "keys: %ld changed meanwhile,"
                     " left as the incremental reads wrote them",
                     p->cnt.newer);
        }

        break;

    case CTLD_SYNC_PASS_FAILED:
        ctld_log(CTLD_LOG_ERROR, "sync", "keys: %s pass failed, next one "
                 "at the reconcile",
                 (kind == CTLD_SYNC_KEYS_FULL) ? "full" : "catch-up");
        break;

    default:
        ctld_sync_keys_pass(s, kind, p->since);
        return;
    }

    ctld_sync_pass_start(s);
}


/* CTLD_OK: key is 'k' + the row's hash; CTLD_ERROR: bad hash (logged) */
static int
ctld_sync_key_of(PGresult *res, int row, u_char *key)
{
    key[0] = SLUICE_TABLE_KEY_PREFIX;

    if (ctld_sync_hex(PQgetvalue(res, row, 1), key + 1) != CTLD_OK) {
        ctld_log(CTLD_LOG_WARN, "sync", "key %s: bad token_sha256",
                 PQgetvalue(res, row, 2));
        return CTLD_ERROR;
    }

    return CTLD_OK;
}


/*
 * Writes the row's record, or deletes the key: a tombstone, or a row
 * that can't be encoded (such a key fails closed).  A tombstone of a
 * hash a key holds again ('x') is left to that key's row.
 */
static int
ctld_sync_key_apply(ctld_sync_t *s, PGresult *res, int row,
    const u_char *key, ctld_sync_count_t *cnt)
{
    int  rc, gone;

    if (PQgetvalue(res, row, 0)[0] == 'x') {
        return CTLD_OK;
    }

    gone = (PQgetvalue(res, row, 0)[0] == 'd');

    if (!gone && !ctld_sync_key_clean(res, row)) {
        cnt->skipped++;
        gone = 1;
    }

    if (gone) {
        rc = ctld_table_del(s->table, key, CTLD_SYNC_KEY_LEN);
        cnt->deleted += (rc == CTLD_OK);
        return (rc == CTLD_ERROR) ? CTLD_ERROR : CTLD_OK;
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


/*
 * Records a key an incremental read wrote while a pass runs.  Past
 * CTLD_SYNC_TOUCHED_MAX (or out of memory) the pass starts over, from a
 * snapshot that holds these changes.
 */
static int
ctld_sync_touch(ctld_sync_t *s, const u_char *key)
{
    ctld_sync_touched_t  *t;
    u_char               *p;
    size_t                size;

    t = &s->touched;

    if (t->n == t->size) {
        size = (t->size == 0) ? 1024 : t->size * 2;
        p = (size <= CTLD_SYNC_TOUCHED_MAX)
            ? realloc(t->keys, size * (CTLD_SYNC_KEY_LEN - 1)) : NULL;

        if (p == NULL) {
            if (!s->pass.restart) {
                ctld_log(CTLD_LOG_WARN, "sync", "keys: %zu changes during "
                         "the pass, starting it again", t->n);
            }

            /* the pass's next batch sees it, before writing anything */
            s->pass.restart = 1;
            return CTLD_OK;
        }

        t->keys = p;
        t->size = size;
    }

    memcpy(t->keys + t->n * (CTLD_SYNC_KEY_LEN - 1), key + 1,
           CTLD_SYNC_KEY_LEN - 1);
    t->n++;

    return CTLD_OK;
}


static void
ctld_sync_touched_sort(ctld_sync_t *s)
{
    ctld_sync_touched_t  *t;

    t = &s->touched;

    if (t->nsorted < t->n) {
        qsort(t->keys, t->n, CTLD_SYNC_KEY_LEN - 1, ctld_sync_hash_cmp);
        t->nsorted = t->n;
    }
}


/* a ctld_table_keep_pt: 1 when an incremental read wrote the key */
static int
ctld_sync_touched(const void *key, size_t len, void *arg)
{
    ctld_sync_t  *s;

    s = arg;

    if (s->touched.nsorted == 0 || len != CTLD_SYNC_KEY_LEN) {
        return 0;
    }

    return bsearch((const u_char *) key + 1, s->touched.keys,
                   s->touched.nsorted, CTLD_SYNC_KEY_LEN - 1,
                   ctld_sync_hash_cmp) != NULL;
}


static int
ctld_sync_hash_cmp(const void *a, const void *b)
{
    return memcmp(a, b, CTLD_SYNC_KEY_LEN - 1);
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
