/*
 * The provider's headers in the upstream request.  With
 * "sluice_provider_headers on" (gateway.conf), proxy_set_header only
 * blanks the caller's Host, Authorization, x-api-key and anthropic-*
 * headers, and the balancer's peer init, which nginx calls right after
 * ngx_http_proxy_create_request(), adds the target's: one copy of the
 * header block instead of five variables through nginx's script engine.
 */

#include "ngx_http_sluice.h"


typedef struct {
    ngx_str_t     name;         /* "Name: " */
    size_t        value;        /* offset of an ngx_str_t in the context */
} ngx_http_sluice_header_t;


/* each written when its value is not empty */
static ngx_http_sluice_header_t  ngx_http_sluice_headers_out[] = {
    { ngx_string("Host: "), offsetof(ngx_http_sluice_ctx_t, host) },
    { ngx_string("Authorization: "),
      offsetof(ngx_http_sluice_ctx_t, auth_bearer) },
    { ngx_string("x-api-key: "),
      offsetof(ngx_http_sluice_ctx_t, auth_xapikey) },
    { ngx_string("anthropic-version: "),
      offsetof(ngx_http_sluice_ctx_t, anthropic_version) },
    { ngx_string("anthropic-beta: "),
      offsetof(ngx_http_sluice_ctx_t, anthropic_beta) }
};

#define NGX_HTTP_SLUICE_HEADERS_OUT                                          \
    (sizeof(ngx_http_sluice_headers_out) / sizeof(ngx_http_sluice_header_t))


ngx_int_t
ngx_http_sluice_headers(ngx_http_request_t *r, ngx_http_sluice_ctx_t *ctx)
{
    u_char                      *p;
    size_t                       len, head;
    ngx_buf_t                   *b, *hb;
    ngx_str_t                   *v;
    ngx_uint_t                   i;
    ngx_chain_t                 *cl;
    ngx_http_sluice_header_t    *h;
    ngx_http_sluice_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_sluice_module);

    if (!lcf->provider_headers) {
        return NGX_OK;
    }

    /* proxy_pass's header block, ending in an empty line, comes first */
    cl = r->upstream->request_bufs;
    hb = (cl != NULL) ? cl->buf : NULL;

    if (hb == NULL || !ngx_buf_in_memory(hb) || hb->last - hb->pos < 4
        || ngx_memcmp(hb->last - 4, CRLF CRLF, 4) != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sluice: no upstream header block to add the "
                      "provider's headers to (sluice_provider_headers "
                      "needs proxy_pass without proxy_set_body)");
        return NGX_ERROR;
    }

    head = hb->last - hb->pos - 2;
    len = head + 2;

    for (i = 0; i < NGX_HTTP_SLUICE_HEADERS_OUT; i++) {
        h = &ngx_http_sluice_headers_out[i];
        v = (ngx_str_t *) ((char *) ctx + h->value);

        if (v->len) {
            len += h->name.len + v->len + 2;
        }
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(b->pos, hb->pos, head);

    for (i = 0; i < NGX_HTTP_SLUICE_HEADERS_OUT; i++) {
        h = &ngx_http_sluice_headers_out[i];
        v = (ngx_str_t *) ((char *) ctx + h->value);

        if (v->len) {
            p = ngx_cpymem(p, h->name.data, h->name.len);
            p = ngx_cpymem(p, v->data, v->len);
            *p++ = CR; *p++ = LF;
        }
    }

    *p++ = CR; *p++ = LF;

    b->last = p;
    b->flush = hb->flush;
    cl->buf = b;

    return NGX_OK;
}
