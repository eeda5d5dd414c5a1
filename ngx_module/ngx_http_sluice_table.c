/*
 * The policy table reader: each worker opens the LMDB environment written
 * by controld read-only after fork, and takes one short read transaction
 * per lookup (reset and renewed, never held across events).  Records read
 * are remembered per worker with the transaction id they were read in;
 * while the table's last committed transaction is still that one, the
 * copy is used without a lookup (any write, a revocation included, makes
 * every copy stale at once).
 */

#include "ngx_http_sluice.h"
#include "sluice_table.h"


/* remembered records: direct-mapped, values up to VAL bytes */
#define NGX_HTTP_SLUICE_TABLE_CACHE  128
#define NGX_HTTP_SLUICE_TABLE_KEY    64
#define NGX_HTTP_SLUICE_TABLE_VAL    16384


typedef struct {
    size_t        txnid;        /* read in this transaction; 0: empty */
    size_t        klen;
    size_t        vlen;
    size_t        cap;
    u_char       *val;          /* ngx_alloc'd, cap bytes */
    u_char        key[NGX_HTTP_SLUICE_TABLE_KEY];
} ngx_http_sluice_table_entry_t;


typedef struct {
    MDB_env      *env;
    MDB_txn      *txn;          /* reset between lookups */
    MDB_dbi       dbi;
    time_t        next_try;     /* open retries, at most once a second */
    ngx_uint_t    open;

    ngx_http_sluice_table_entry_t  cache[NGX_HTTP_SLUICE_TABLE_CACHE];
} ngx_http_sluice_table_t;


static ngx_http_sluice_table_t  ngx_http_sluice_table;


static ngx_int_t ngx_http_sluice_table_open(ngx_log_t *log);
static void ngx_http_sluice_table_close(void);
static MDB_txn *ngx_http_sluice_table_begin(ngx_log_t *log);
static ngx_http_sluice_table_entry_t *ngx_http_sluice_table_slot(
    u_char *key, size_t len);
static void ngx_http_sluice_table_remember(ngx_http_sluice_table_entry_t *e,
    u_char *key, size_t len, MDB_val *v, size_t txnid);


static ngx_int_t
ngx_http_sluice_table_open(ngx_log_t *log)
{
    int                           rc;
    MDB_txn                      *txn;
    ngx_http_sluice_main_conf_t  *mcf;
    ngx_http_sluice_table_t      *t = &ngx_http_sluice_table;

    mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                              ngx_http_sluice_module);

    if (mcf == NULL || mcf->table_path.data == NULL) {
        return NGX_DECLINED;
    }

    if (t->open) {
        return NGX_OK;
    }

    if (ngx_time() < t->next_try) {
        return NGX_ERROR;
    }

    t->next_try = ngx_time() + 1;

    rc = mdb_env_create(&t->env);
    if (rc != 0) {
        goto failed;
    }

    rc = mdb_env_set_mapsize(t->env, mcf->table_mapsize);
    if (rc != 0) {
        goto failed;
    }

    /* the path is NUL-terminated: it comes from the configuration */
    rc = mdb_env_open(t->env, (char *) mcf->table_path.data,
                      MDB_RDONLY|MDB_NOTLS|MDB_NORDAHEAD, 0644);
    if (rc != 0) {
        goto failed;
    }

    rc = mdb_txn_begin(t->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        goto failed;
    }

    rc = mdb_dbi_open(txn, NULL, 0, &t->dbi);
    mdb_txn_abort(txn);

    if (rc != 0) {
        goto failed;
    }

    t->open = 1;
    ngx_log_error(NGX_LOG_INFO, log, 0, "sluice: table \"%V\" opened",
                  &mcf->table_path);

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "sluice: cannot open table \"%V\": %s",
                  &mcf->table_path, mdb_strerror(rc));

    if (t->env) {
        mdb_env_close(t->env);
        t->env = NULL;
    }

    return NGX_ERROR;
}


static void
ngx_http_sluice_table_close(void)
{
    ngx_uint_t                i;
    ngx_http_sluice_table_t  *t = &ngx_http_sluice_table;

    for (i = 0; i < NGX_HTTP_SLUICE_TABLE_CACHE; i++) {
        ngx_free(t->cache[i].val);
        ngx_memzero(&t->cache[i], sizeof(ngx_http_sluice_table_entry_t));
    }

    if (t->txn) {
        mdb_txn_abort(t->txn);
        t->txn = NULL;
    }

    if (t->env) {
        mdb_env_close(t->env);
        t->env = NULL;
    }

    t->open = 0;
}


ngx_int_t
ngx_http_sluice_table_init_process(ngx_cycle_t *cycle)
{
    ngx_memzero(&ngx_http_sluice_table, sizeof(ngx_http_sluice_table_t));

    /* a table that is not there yet is opened on first use */
    (void) ngx_http_sluice_table_open(cycle->log);

    return NGX_OK;
}


void
ngx_http_sluice_table_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_sluice_table_close();
}


/* a fresh read snapshot; the caller resets it before returning */
static MDB_txn *
ngx_http_sluice_table_begin(ngx_log_t *log)
{
    int                       rc;
    ngx_http_sluice_table_t  *t = &ngx_http_sluice_table;

    if (ngx_http_sluice_table_open(log) != NGX_OK) {
        return NULL;
    }

    if (t->txn) {
        rc = mdb_txn_renew(t->txn);
    } else {
        rc = mdb_txn_begin(t->env, NULL, MDB_RDONLY, &t->txn);
    }

    if (rc == MDB_MAP_RESIZED) {
        /* controld grew the map: adopt the new size and retry once */
        if (t->txn) {
            mdb_txn_abort(t->txn);
            t->txn = NULL;
        }

        rc = mdb_env_set_mapsize(t->env, 0);
        if (rc == 0) {
            rc = mdb_txn_begin(t->env, NULL, MDB_RDONLY, &t->txn);
        }
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "sluice: table read failed: %s", mdb_strerror(rc));
        if (t->txn) {
            mdb_txn_abort(t->txn);
            t->txn = NULL;
        }
        return NULL;
    }

    return t->txn;
}


ngx_int_t
ngx_http_sluice_table_get(ngx_http_request_t *r, u_char *key, size_t len,
    ngx_str_t *value)
{
    int                             rc;
    MDB_val                         k, v;
    MDB_txn                        *txn;
    MDB_envinfo                     info;
    ngx_http_sluice_table_entry_t  *e;

    e = ngx_http_sluice_table_slot(key, len);

    /* the copy holds while no transaction was committed since */
    if (e && e->txnid && ngx_http_sluice_table.open
        && mdb_env_info(ngx_http_sluice_table.env, &info) == 0
        && info.me_last_txnid == e->txnid
        && e->klen == len && ngx_memcmp(e->key, key, len) == 0)
    {
        v.mv_data = e->val;
        v.mv_size = e->vlen;
        rc = 0;
        txn = NULL;
        goto found;
    }

    txn = ngx_http_sluice_table_begin(r->connection->log);
    if (txn == NULL) {
        return NGX_ERROR;
    }

    k.mv_data = key;
    k.mv_size = len;

    rc = mdb_get(txn, ngx_http_sluice_table.dbi, &k, &v);

    if (rc == 0 && e) {
        ngx_http_sluice_table_remember(e, key, len, &v, mdb_txn_id(txn));
    }

found:

    if (rc == 0) {
        /* copied out: the snapshot ends before this function returns */
        value->len = v.mv_size;
        value->data = ngx_pnalloc(r->pool, v.mv_size + 1);

        if (value->data != NULL) {
            ngx_memcpy(value->data, v.mv_data, v.mv_size);
            value->data[v.mv_size] = '\0';
        }
    }

    if (txn) {
        mdb_txn_reset(txn);
    }

    if (rc == MDB_NOTFOUND) {
        return NGX_DECLINED;
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sluice: table lookup failed: %s", mdb_strerror(rc));
        return NGX_ERROR;
    }

    return value->data ? NGX_OK : NGX_ERROR;
}


/* the cache entry for key (its head, tail and length), NULL: not cached */
static ngx_http_sluice_table_entry_t *
ngx_http_sluice_table_slot(u_char *key, size_t len)
{
    uint64_t  h, t;

    if (len < 9 || len > NGX_HTTP_SLUICE_TABLE_KEY) {
        return NULL;
    }

    ngx_memcpy(&h, key + 1, 8);
    ngx_memcpy(&t, key + len - 8, 8);

    h = (h ^ (t * 0x9e3779b97f4a7c15ULL) ^ len) * 0xff51afd7ed558ccdULL;

    return &ngx_http_sluice_table.cache[(h >> 32)
                                        % NGX_HTTP_SLUICE_TABLE_CACHE];
}


static void
ngx_http_sluice_table_remember(ngx_http_sluice_table_entry_t *e,
    u_char *key, size_t len, MDB_val *v, size_t txnid)
{
    size_t   cap;
    u_char  *p;

    e->txnid = 0;

    if (v->mv_size > NGX_HTTP_SLUICE_TABLE_VAL) {
        return;
    }

    if (v->mv_size > e->cap) {
        cap = ngx_max(v->mv_size, 256);

        p = ngx_alloc(cap, ngx_cycle->log);
        if (p == NULL) {
            return;
        }

        ngx_free(e->val);
        e->val = p;
        e->cap = cap;
    }

    ngx_memcpy(e->val, v->mv_data, v->mv_size);
    ngx_memcpy(e->key, key, len);

    e->vlen = v->mv_size;
    e->klen = len;
    e->txnid = txnid;
}


ngx_int_t
ngx_http_sluice_table_each_group(ngx_http_request_t *r,
    ngx_http_sluice_table_each_pt handler, void *data)
{
    int          rc;
    u_char       prefix;
    MDB_val      k, v;
    MDB_txn     *txn;
    ngx_int_t    hrc;
    MDB_cursor  *cur;

    txn = ngx_http_sluice_table_begin(r->connection->log);
    if (txn == NULL) {
        return NGX_ERROR;
    }

    rc = mdb_cursor_open(txn, ngx_http_sluice_table.dbi, &cur);
    if (rc != 0) {
        mdb_txn_reset(txn);
        return NGX_ERROR;
    }

    prefix = SLUICE_TABLE_GROUP_PREFIX;
    k.mv_data = &prefix;
    k.mv_size = 1;
    hrc = NGX_OK;

    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && k.mv_size > 0
         && ((u_char *) k.mv_data)[0] == SLUICE_TABLE_GROUP_PREFIX;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
    {
        hrc = handler(data, v.mv_data, v.mv_size);
        if (hrc != NGX_OK) {
            break;
        }
    }

    mdb_cursor_close(cur);
    mdb_txn_reset(txn);

    return hrc;
}
