/*
 * GET /v1/models: the model groups this caller may use, as an OpenAI
 * model list.  Groups are read from the policy table, so wildcards in the
 * key's allow list expand to the groups that exist.
 */

#include "ngx_http_sluice.h"
#include "sluice_table.h"


typedef struct {
    ngx_http_request_t     *request;
    ngx_http_sluice_ctx_t  *ctx;
    ngx_chain_t            *out;
    ngx_chain_t            *tail;
    ngx_chain_t           **last;
    ngx_uint_t              n;
    off_t                   size;
} ngx_http_sluice_models_t;


static ngx_int_t ngx_http_sluice_models_add(void *data, u_char *value,
    size_t len);
static ngx_int_t ngx_http_sluice_models_text(ngx_http_sluice_models_t *m,
    const char *text, size_t len);


ngx_int_t
ngx_http_sluice_models_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_sluice_ctx_t     *ctx;
    ngx_http_sluice_models_t   m;

    ctx = ngx_http_sluice_get_ctx(r);

    if (ctx == NULL || !ctx->authenticated) {
        return NGX_HTTP_FORBIDDEN;      /* access phase did not run */
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&m, sizeof(ngx_http_sluice_models_t));
    m.request = r;
    m.ctx = ctx;
    m.last = &m.out;

    if (ngx_http_sluice_models_text(&m, "{\"object\":\"list\",\"data\":[",
                                    sizeof("{\"object\":\"list\",\"data\":[")
                                    - 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_sluice_table_each_group(r, ngx_http_sluice_models_add, &m);

    if (rc != NGX_OK
        || ngx_http_sluice_models_text(&m, "]}\n", 3) != NGX_OK)
    {
        return ngx_http_sluice_error_send(r, ctx->dialect,
                                          NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "policy-unavailable",
                                          "the gateway has no policy yet");
    }

    (*m.last) = NULL;
    m.tail->buf->last_buf = 1;      /* at least one buffer exists */
    m.tail->buf->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = m.size;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, m.out);
}


/* appends a copy of text as one more buffer of the answer */
static ngx_int_t
ngx_http_sluice_models_text(ngx_http_sluice_models_t *m, const char *text,
    size_t len)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_create_temp_buf(m->request->pool, len);
    cl = ngx_alloc_chain_link(m->request->pool);

    if (b == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->pos, text, len);
    cl->buf = b;
    cl->next = NULL;

    *m->last = cl;
    m->last = &cl->next;
    m->tail = cl;
    m->size += len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_sluice_models_add(void *data, u_char *value, size_t len)
{
    ngx_http_sluice_models_t *m = data;

    u_char                *p, *buf;
    size_t                 size;
    sluice_span_t          groups;
    sluice_table_group_t   g;

    if (sluice_table_group_parse((char *) value, len, &g) != 0) {
        return NGX_OK;              /* skip what cannot be read */
    }

    groups.p = (char *) m->ctx->groups.data;
    groups.len = m->ctx->groups.len;

    if (!sluice_table_group_allowed(groups, g.name.p, g.name.len)) {
        return NGX_OK;
    }

    /* group names are restricted to [A-Za-z0-9._:/-]: no escaping */
    size = g.name.len + 80;
    buf = ngx_pnalloc(m->request->pool, size);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    p = ngx_snprintf(buf, size,
                     "%s{\"id\":\"%*s\",\"object\":\"model\",\"created\":0,"
                     "\"owned_by\":\"sluice\"}",
                     m->n ? "," : "", g.name.len, g.name.p);
    m->n++;

    return ngx_http_sluice_models_text(m, (char *) buf, p - buf);
}
