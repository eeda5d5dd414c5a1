/* controld/table_write.c: writes the LMDB policy table nginx workers read. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <lmdb.h>

#include "controld.h"
#include "table_write.h"
#include "sluice_table.h"


#define CTLD_TABLE_MAXREADERS  1024     /* nginx workers, fixed at creation */


struct ctld_table_s {
    MDB_env            *env;
    MDB_dbi             dbi;
    MDB_txn            *txn;            /* the open write txn, or NULL */
    char               *path;
};


static int ctld_table_mkdir(const char *path);
static int ctld_table_modes(ctld_table_t *t);
static int ctld_table_key_cmp(const void *a, const void *b);
static int ctld_table_val_cmp(const MDB_val *k, const void *key,
    size_t len);
static int ctld_table_fail(ctld_table_t *t, const char *what, int rc);


ctld_table_t *
ctld_table_open(const char *path, size_t mapsize)
{
    ctld_table_t  *t;
    MDB_txn       *txn;
    int            rc;
    const char    *what;

    t = calloc(1, sizeof(ctld_table_t));
    if (t == NULL || (t->path = strdup(path)) == NULL) {
        ctld_log(CTLD_LOG_ERROR, "sync", "out of memory");
        goto failed;
    }

    if (ctld_table_mkdir(path) != CTLD_OK) {
        goto failed;
    }

    what = "mdb_env_create";
    rc = mdb_env_create(&t->env);

    if (rc == 0) {
        what = "mdb_env_set_mapsize";
        rc = mdb_env_set_mapsize(t->env, mapsize);
    }

    if (rc == 0) {
        what = "mdb_env_set_maxreaders";
        rc = mdb_env_set_maxreaders(t->env, CTLD_TABLE_MAXREADERS);
    }

    if (rc == 0) {
        what = "mdb_env_open";
        rc = mdb_env_open(t->env, path, 0, 0644);
    }

    if (rc == 0) {
        what = "mdb_dbi_open";
        rc = mdb_txn_begin(t->env, NULL, 0, &txn);
    }

    if (rc == 0) {
        rc = mdb_dbi_open(txn, NULL, 0, &t->dbi);

        if (rc == 0) {
            rc = mdb_txn_commit(txn);

        } else {
            mdb_txn_abort(txn);
        }
    }

    if (rc != 0) {
        ctld_log(CTLD_LOG_ERROR, "sync", "table %s: %s: %s", path, what,
                 mdb_strerror(rc));
        goto failed;
    }

    if (ctld_table_modes(t) != CTLD_OK) {
        goto failed;
    }

    ctld_table_reader_check(t);

    return t;

failed:

    ctld_table_close(t);
    return NULL;
}


void
ctld_table_close(ctld_table_t *t)
{
    if (t == NULL) {
        return;
    }

    if (t->txn != NULL) {
        mdb_txn_abort(t->txn);
    }

    if (t->env != NULL) {
        mdb_env_close(t->env);
    }

    free(t->path);
    free(t);
}


int
ctld_table_begin(ctld_table_t *t)
{
    int  rc;

    rc = mdb_txn_begin(t->env, NULL, 0, &t->txn);

    /* another process grew the map: adopt its size and retry */
    if (rc == MDB_MAP_RESIZED) {
        rc = mdb_env_set_mapsize(t->env, 0);
        if (rc == 0) {
            rc = mdb_txn_begin(t->env, NULL, 0, &t->txn);
        }
    }

    if (rc != 0) {
        t->txn = NULL;
        return ctld_table_fail(t, "mdb_txn_begin", rc);
    }

    return CTLD_OK;
}


int
ctld_table_put(ctld_table_t *t, const void *key, size_t klen,
    const void *val, size_t vlen)
{
    MDB_val  k, v;
    int      rc;

    k.mv_data = (void *) key;
    k.mv_size = klen;

    /* an unchanged record costs a lookup, not a dirty page */
    rc = mdb_get(t->txn, t->dbi, &k, &v);
    if (rc == 0 && v.mv_size == vlen && memcmp(v.mv_data, val, vlen) == 0) {
        return CTLD_AGAIN;
    }

    v.mv_data = (void *) val;
    v.mv_size = vlen;

    rc = mdb_put(t->txn, t->dbi, &k, &v, 0);
    if (rc != 0) {
        return ctld_table_fail(t, "mdb_put", rc);
    }

    return CTLD_OK;
}


int
ctld_table_del(ctld_table_t *t, const void *key, size_t klen)
{
    MDB_val  k;
    int      rc;

    k.mv_data = (void *) key;
    k.mv_size = klen;

    rc = mdb_del(t->txn, t->dbi, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        return CTLD_AGAIN;
    }

    if (rc != 0) {
        return ctld_table_fail(t, "mdb_del", rc);
    }

    return CTLD_OK;
}


long
ctld_table_sweep(ctld_table_t *t, char prefix, ctld_table_key_t *keep,
    size_t n)
{
    MDB_cursor        *c;
    MDB_val            k, v;
    ctld_table_key_t   probe;
    long               deleted;
    int                rc;

    qsort(keep, n, sizeof(ctld_table_key_t), ctld_table_key_cmp);

    rc = mdb_cursor_open(t->txn, t->dbi, &c);
    if (rc != 0) {
        return ctld_table_fail(t, "mdb_cursor_open", rc);
    }

    deleted = 0;
    k.mv_data = &prefix;
    k.mv_size = 1;

    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
         rc == 0 && ((char *) k.mv_data)[0] == prefix;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    {
        probe.data = k.mv_data;
        probe.len = k.mv_size;

        if (bsearch(&probe, keep, n, sizeof(ctld_table_key_t),
                    ctld_table_key_cmp) != NULL)
        {
            continue;
        }

        /* after a delete the cursor sits on the next entry already;
         * LMDB's MDB_NEXT knows this and does not skip it */
        rc = mdb_cursor_del(c, 0);
        if (rc != 0) {
            break;
        }

        deleted++;
    }

    mdb_cursor_close(c);

    /* the loop also ends with rc == 0 at the first key of another prefix */
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return ctld_table_fail(t, "sweep", rc);
    }

    return deleted;
}


long
ctld_table_del_range(ctld_table_t *t, char prefix, const void *lo,
    size_t lolen, const void *hi, size_t hilen, ctld_table_keep_pt keep,
    void *arg)
{
    MDB_cursor  *c;
    MDB_val      k, v;
    long         deleted;
    int          rc;

    rc = mdb_cursor_open(t->txn, t->dbi, &c);
    if (rc != 0) {
        return ctld_table_fail(t, "mdb_cursor_open", rc);
    }

    deleted = 0;
    k.mv_data = (lo != NULL) ? (void *) lo : &prefix;
    k.mv_size = (lo != NULL) ? lolen : 1;

    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);

    /* lo itself stays */
    if (rc == 0 && lo != NULL && ctld_table_val_cmp(&k, lo, lolen) == 0) {
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }

    for ( /* void */ ; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size == 0 || ((char *) k.mv_data)[0] != prefix
            || (hi != NULL && ctld_table_val_cmp(&k, hi, hilen) >= 0))
        {
            break;
        }

        if (keep != NULL && keep(k.mv_data, k.mv_size, arg)) {
            continue;
        }

        /* the cursor moves to the next entry; MDB_NEXT does not skip it */
        rc = mdb_cursor_del(c, 0);
        if (rc != 0) {
            break;
        }

        deleted++;
    }

    mdb_cursor_close(c);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return ctld_table_fail(t, "delete range", rc);
    }

    return deleted;
}


int
ctld_table_commit(ctld_table_t *t, uint64_t *generation)
{
    MDB_val   k, v;
    char      buf[24];
    uint64_t  gen;
    int       rc, n;

    k.mv_data = SLUICE_TABLE_GENERATION;
    k.mv_size = sizeof(SLUICE_TABLE_GENERATION) - 1;

    gen = 0;
    rc = mdb_get(t->txn, t->dbi, &k, &v);

    if (rc == 0 && v.mv_size < sizeof(buf)) {
        memcpy(buf, v.mv_data, v.mv_size);
        buf[v.mv_size] = '\0';
        gen = strtoull(buf, NULL, 10);
    }

    gen++;
    n = snprintf(buf, sizeof(buf), "%" PRIu64, gen);

    v.mv_data = buf;
    v.mv_size = (size_t) n;

    rc = mdb_put(t->txn, t->dbi, &k, &v, 0);
    if (rc != 0) {
        return ctld_table_fail(t, "mdb_put generation", rc);
    }

    rc = mdb_txn_commit(t->txn);
    t->txn = NULL;

    if (rc != 0) {
        return ctld_table_fail(t, "mdb_txn_commit", rc);
    }

    *generation = gen;
    return CTLD_OK;
}


void
ctld_table_abort(ctld_table_t *t)
{
    if (t->txn != NULL) {
        mdb_txn_abort(t->txn);
        t->txn = NULL;
    }
}


void
ctld_table_reader_check(ctld_table_t *t)
{
    int  dead;

    dead = 0;

    if (mdb_reader_check(t->env, &dead) == 0 && dead > 0) {
        ctld_log(CTLD_LOG_WARN, "sync", "table: cleared %d stale readers",
                 dead);
    }
}


/* mkdir -p; only a directory this creates gets 0755 (umask aside) */
static int
ctld_table_mkdir(const char *path)
{
    char  *p, *dir, c;
    int    rc;

    dir = strdup(path);
    if (dir == NULL) {
        ctld_log(CTLD_LOG_ERROR, "sync", "out of memory");
        return CTLD_ERROR;
    }

    rc = CTLD_OK;

    for (p = dir + 1; /* void */ ; p++) {
        if (*p != '/' && *p != '\0') {
            continue;
        }

        c = *p;
        *p = '\0';

        if (mkdir(dir, 0755) == 0) {
            (void) chmod(dir, 0755);

        } else if (errno != EEXIST) {
            ctld_log(CTLD_LOG_ERROR, "sync", "mkdir %s: %s", dir,
                     strerror(errno));
            rc = CTLD_ERROR;
            break;
        }

        if (c == '\0') {
            break;
        }

        *p = c;
    }

    free(dir);
    return rc;
}


/* nginx workers run as another user and must register as readers */
static int
ctld_table_modes(ctld_table_t *t)
{
    char    file[4096];
    size_t  i;

    static const struct {
        const char  *name;
        mode_t       mode;
    } files[] = {
        { "data.mdb", 0644 },
        { "lock.mdb", 0666 },
    };

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(file, sizeof(file), "%s/%s", t->path, files[i].name);

        if (chmod(file, files[i].mode) != 0) {
            ctld_log(CTLD_LOG_ERROR, "sync", "chmod %s: %s", file,
                     strerror(errno));
            return CTLD_ERROR;
        }
    }

    return CTLD_OK;
}


/* the order LMDB keeps keys in: bytes, then the shorter first */
static int
ctld_table_key_cmp(const void *a, const void *b)
{
    const ctld_table_key_t  *ka, *kb;
    int                      rc;

    ka = a;
    kb = b;

    rc = memcmp(ka->data, kb->data, (ka->len < kb->len) ? ka->len : kb->len);
    if (rc != 0) {
        return rc;
    }

    return (ka->len > kb->len) - (ka->len < kb->len);
}


/* LMDB's order again, for an MDB_val against plain bytes */
static int
ctld_table_val_cmp(const MDB_val *k, const void *key, size_t len)
{
    ctld_table_key_t  a, b;

    a.data = k->mv_data;
    a.len = k->mv_size;
    b.data = key;
    b.len = len;

    return ctld_table_key_cmp(&a, &b);
}


static int
ctld_table_fail(ctld_table_t *t, const char *what, int rc)
{
    if (rc == MDB_MAP_FULL) {
        ctld_log(CTLD_LOG_ERROR, "sync", "table %s is full: raise "
                 "table_mapsize", t->path);

    } else {
        ctld_log(CTLD_LOG_ERROR, "sync", "table %s: %s: %s", t->path, what,
                 mdb_strerror(rc));
    }

    return CTLD_ERROR;
}
