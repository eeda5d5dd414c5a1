/*
 * The per-request context.  It is kept in a pool cleanup as well as in
 * r->ctx: internal redirects (error_page, named locations) zero r->ctx,
 * the cleanup survives them (the realip module's pattern).
 */

#include "ngx_http_sluice.h"

#include <openssl/rand.h>


static void ngx_http_sluice_ctx_cleanup(void *data);
static ngx_int_t ngx_http_sluice_rid_seed(void);
static uint64_t ngx_http_sluice_rid_next(void);
static void ngx_http_sluice_rid_hex(u_char *p, uint64_t *w);


/*
 * Request ids come from a per-worker xoshiro256** generator (Blackman
 * and Vigna), seeded once per process from OpenSSL's RAND_bytes: nginx's
 * own $request_id calls RAND_bytes for every request, which costs more
 * than the rest of the id work together.  128 bits per id, so ids from
 * different workers and restarts do not meet.  Ids need not be secret.
 */
static uint64_t   ngx_http_sluice_rid_s[4];
static ngx_pid_t  ngx_http_sluice_rid_pid;     /* seeded in this process */


static void
ngx_http_sluice_ctx_cleanup(void *data)
{
    /* the ctx is pool memory: nothing to free; the handler is a marker */
}


ngx_http_sluice_ctx_t *
ngx_http_sluice_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_sluice_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sluice_module);
    if (ctx) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler != ngx_http_sluice_ctx_cleanup) {
            continue;
        }

        ctx = cln->data;

        /* subrequests share the main request's pool */
        if (ctx->request == r) {
            ngx_http_set_ctx(r, ctx, ngx_http_sluice_module);
            return ctx;
        }
    }

    return NULL;
}


ngx_http_sluice_ctx_t *
ngx_http_sluice_create_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_sluice_ctx_t  *ctx;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_sluice_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_sluice_ctx_t));

    ctx->request = r;
    ctx->in_tokens = -1;
    ctx->out_tokens = -1;

    cln->handler = ngx_http_sluice_ctx_cleanup;
    ngx_http_set_ctx(r, ctx, ngx_http_sluice_module);

    return ctx;
}


/*
 * Milliseconds since the request started, rounded up and at least 1, so
 * that a time to first byte taken earlier never exceeds the latency.
 */
ngx_msec_t
ngx_http_sluice_elapsed(ngx_http_request_t *r)
{
    int64_t         us;
    struct timeval  tv;

    ngx_gettimeofday(&tv);

    us = ((int64_t) tv.tv_sec - (int64_t) r->start_sec) * 1000000
         + tv.tv_usec - (int64_t) r->start_msec * 1000;

    return us <= 0 ? 1 : (ngx_msec_t) ((us + 999) / 1000);
}


/*
 * The request's id.  The first call draws it and stores it as the value
 * of $request_id (a cacheable variable), so the header, the error body,
 * the usage record and any log_format using $request_id see one id.  If
 * something evaluated $request_id first, that value is kept.
 */
void
ngx_http_sluice_request_id(ngx_http_request_t *r, ngx_str_t *rid)
{
    u_char                       *p;
    uint64_t                      w[2];
    ngx_http_variable_value_t    *vv;
    ngx_http_sluice_main_conf_t  *mcf;

    ngx_str_null(rid);

    mcf = ngx_http_get_module_main_conf(r, ngx_http_sluice_module);
    vv = &r->variables[mcf->rid_index];

    if (!vv->valid && !vv->not_found) {
        p = ngx_pnalloc(r->pool, 32);

        if (p == NULL || ngx_http_sluice_rid_seed() != NGX_OK) {
            /* nginx's own, from RAND_bytes */
            vv = ngx_http_get_indexed_variable(r, mcf->rid_index);
            if (vv == NULL) {
                return;
            }

        } else {
            /*
             * time first: the request's start in ms (48 bits), then 80
             * random bits; ids made later sort later, so the ledger's
             * primary key grows at its right edge instead of all over
             */
            w[0] = ((uint64_t) r->start_sec * 1000 + r->start_msec) << 16
                   | (ngx_http_sluice_rid_next() & 0xffff);
            w[1] = ngx_http_sluice_rid_next();
            ngx_http_sluice_rid_hex(p, w);

            vv->len = 32;
            vv->data = p;
            vv->valid = 1;
            vv->no_cacheable = 0;
            vv->not_found = 0;
        }
    }

    if (vv->valid && !vv->not_found) {
        rid->data = vv->data;
        rid->len = vv->len;
    }
}


/* once per process: a forked worker draws its own seed */
static ngx_int_t
ngx_http_sluice_rid_seed(void)
{
    if (ngx_http_sluice_rid_pid == ngx_pid) {
        return NGX_OK;
    }

    if (RAND_bytes((u_char *) ngx_http_sluice_rid_s,
                   sizeof(ngx_http_sluice_rid_s))
        != 1)
    {
        return NGX_ERROR;
    }

    /* the one state the generator must never be in */
    ngx_http_sluice_rid_s[0] |= 1;
    ngx_http_sluice_rid_pid = ngx_pid;

    return NGX_OK;
}


static uint64_t
ngx_http_sluice_rid_next(void)
{
    uint64_t   r, t;
    uint64_t  *s = ngx_http_sluice_rid_s;

    r = s[1] * 5;
    r = ((r << 7) | (r >> 57)) * 9;
    t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);

    return r;
}


/* 32 lowercase hex digits, two at a time from a table of all 256 pairs */
static void
ngx_http_sluice_rid_hex(u_char *p, uint64_t *w)
{
    ngx_uint_t  i, k, d;

    static const u_char  pairs[] =
        "000102030405060708090a0b0c0d0e0f"
        "101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f"
        "303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f"
        "505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f"
        "707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f"
        "909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
        "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
        "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
        "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

    for (i = 0; i < 2; i++) {
        for (k = 0; k < 8; k++) {
            d = (w[i] >> (56 - 8 * k)) & 0xff;
            *p++ = pairs[2 * d];
            *p++ = pairs[2 * d + 1];
        }
    }
}
