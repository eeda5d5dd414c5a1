/*
 * Between the response filter (ngx_http_sluice_filter.c) and the
 * translating part of it (ngx_http_sluice_xfilter.c).
 */

#ifndef _NGX_HTTP_SLUICE_FILTER_H_INCLUDED_
#define _NGX_HTTP_SLUICE_FILTER_H_INCLUDED_


#include "ngx_http_sluice.h"
#include "sluice_usage_json.h"


typedef struct ngx_http_sluice_xfilter_s  ngx_http_sluice_xfilter_t;


/* token counts found (NULL: none) into the usage record's fields */
void ngx_http_sluice_filter_usage(ngx_http_sluice_ctx_t *ctx,
    const sluice_usage_t *u);

/* the filters after ours */
ngx_int_t ngx_http_sluice_filter_next_header(ngx_http_request_t *r);
ngx_int_t ngx_http_sluice_filter_next_body(ngx_http_request_t *r,
    ngx_chain_t *in);

/*
 * A translated answer begins: NGX_OK passes the header on (a stream),
 * NGX_DONE holds it until the whole answer is translated.
 */
ngx_int_t ngx_http_sluice_xfilter_start(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, ngx_uint_t sse,
    ngx_http_sluice_xfilter_t **xfp);
ngx_int_t ngx_http_sluice_xfilter_body(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_chain_t *in);
/* the translated stream sent its terminal event */
ngx_uint_t ngx_http_sluice_xfilter_done(ngx_http_sluice_xfilter_t *xf);
/* the provider failed after its header arrived */
ngx_int_t ngx_http_sluice_xfilter_fail(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_uint_t status);


#endif /* _NGX_HTTP_SLUICE_FILTER_H_INCLUDED_ */
