/*
 * The per-request context.  It is kept in a pool cleanup as well as in
 * r->ctx: internal redirects (error_page, named locations) zero r->ctx,
 * the cleanup survives them (the realip module's pattern).
 */

#include "ngx_http_sluice.h"


static void ngx_http_sluice_ctx_cleanup(void *data);


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
 * Milliseconds since the request started, at least 1, on nginx's cached
 * clock as $request_time reads it (updated each time the event loop
 * wakes: no clock call per request).  Never less than a time to first
 * byte taken earlier.
 */
ngx_msec_t
ngx_http_sluice_elapsed(ngx_http_request_t *r)
{
    ngx_time_t      *tp;
    ngx_msec_int_t   ms;

    tp = ngx_timeofday();

    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));

    return ms <= 0 ? 1 : (ngx_msec_t) ms;
}
