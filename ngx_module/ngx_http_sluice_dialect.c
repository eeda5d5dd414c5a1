/*
 * The request side of dialects: which dialect a target speaks, the path
 * and headers each dialect's provider expects, and the translated body
 * when the caller's dialect is not the target's.
 */

#include "ngx_http_sluice.h"
#include "sluice_xlate.h"


typedef struct {
    ngx_str_t     name;
    ngx_str_t     path;         /* after the provider's base path */
} ngx_http_sluice_dialect_t;


/*
 * A translation builds a tree of the body: bound the values in it (each
 * costs an allocation), so a hostile body of tiny values cannot stall
 * the worker or take hundreds of megabytes.  Real bodies (a long coding
 * session, images) stay far below.
 */
#define NGX_HTTP_SLUICE_XLATE_VALUES_MAX  200000


/* what a translated request leaves behind, freed with the request */
typedef struct {
    sluice_buf_t            body;
    sluice_xlate_names_t   *names;  /* the caller's tool names, or NULL */
} ngx_http_sluice_dialect_mem_t;


/* indexed by NGX_HTTP_SLUICE_CHAT / _RESPONSES / _MESSAGES */
static ngx_http_sluice_dialect_t  ngx_http_sluice_dialects[] = {
    { ngx_string("chat"), ngx_string("/chat/completions") },
    { ngx_string("responses"), ngx_string("/responses") },
    { ngx_string("messages"), ngx_string("/messages") },
};


static ngx_int_t ngx_http_sluice_dialect_anthropic(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx);
static void ngx_http_sluice_dialect_header(ngx_http_request_t *r,
    const char *name, size_t len, ngx_str_t *value);
static size_t ngx_http_sluice_dialect_values(u_char *p, size_t len);
static void ngx_http_sluice_dialect_free(void *data);


ngx_int_t
ngx_http_sluice_dialect_of(const char *p, size_t len)
{
    ngx_uint_t  i;

    for (i = 0; i < sizeof(ngx_http_sluice_dialects)
                    / sizeof(ngx_http_sluice_dialect_t); i++)
    {
        if (ngx_http_sluice_dialects[i].name.len == len
            && ngx_strncmp(ngx_http_sluice_dialects[i].name.data, p, len)
               == 0)
        {
            return i;
        }
    }

    return NGX_ERROR;
}


/* the upstream URI and the headers of the target's dialect */
ngx_int_t
ngx_http_sluice_dialect_target(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, const char *base, size_t len)
{
    u_char     *p;
    ngx_str_t  *path;

    path = &ngx_http_sluice_dialects[ctx->upstream_dialect].path;

    ctx->uri.len = len + path->len;
    ctx->uri.data = ngx_pnalloc(r->pool, ctx->uri.len);
    if (ctx->uri.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(ctx->uri.data, base, len);
    ngx_memcpy(p, path->data, path->len);

    if (ctx->upstream_dialect == NGX_HTTP_SLUICE_MESSAGES) {
        return ngx_http_sluice_dialect_anthropic(r, ctx);
    }

    return NGX_OK;
}


/*
 * anthropic-version is required by Anthropic: a messages caller's own
 * passes through (any value), others get the stable one; anthropic-beta
 * only makes sense when the caller speaks messages itself.
 */
static ngx_int_t
ngx_http_sluice_dialect_anthropic(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx)
{
    if (ctx->dialect == NGX_HTTP_SLUICE_MESSAGES) {
        ngx_http_sluice_dialect_header(r, "anthropic-version",
                                       sizeof("anthropic-version") - 1,
                                       &ctx->anthropic_version);
        ngx_http_sluice_dialect_header(r, "anthropic-beta",
                                       sizeof("anthropic-beta") - 1,
                                       &ctx->anthropic_beta);
    }

    if (ctx->anthropic_version.len == 0) {
        ngx_str_set(&ctx->anthropic_version, "2023-06-01");
    }

    return NGX_OK;
}


/* the first request header of that name, or an empty value */
static void
ngx_http_sluice_dialect_header(ngx_http_request_t *r, const char *name,
    size_t len, ngx_str_t *value)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_str_null(value);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            *value = h[i].value;
            return;
        }
    }
}


/*
 * The caller's body in the target's dialect, with the target's model.
 * The translation is malloc'd; a pool cleanup frees it with the request.
 */
ngx_int_t
ngx_http_sluice_dialect_translate(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, u_char *body, size_t len)
{
    int                  rc;
    u_char                         *model, *msg;
    ngx_buf_t                      *b;
    sluice_buf_t                   *out;
    ngx_pool_cleanup_t             *cln;
    sluice_xlate_err_t              err;
    ngx_http_sluice_dialect_mem_t  *mem;

    if (ngx_http_sluice_dialect_values(body, len)
        > NGX_HTTP_SLUICE_XLATE_VALUES_MAX)
    {
        ctx->err_status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        ctx->err_code = "body-too-large";
        ctx->err_message = "the request has too many JSON values to be "
                           "translated for this model group's target";
        return NGX_DONE;
    }

    model = ngx_pnalloc(r->pool, ctx->model.len + 1);
    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_sluice_dialect_mem_t));
    b = ngx_calloc_buf(r->pool);

    if (model == NULL || cln == NULL || b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(model, ctx->model.data, ctx->model.len);
    model[ctx->model.len] = '\0';

    mem = cln->data;
    mem->names = NULL;
    out = &mem->body;
    sluice_buf_init(out);
    cln->handler = ngx_http_sluice_dialect_free;

    rc = sluice_xlate_request_ex(ctx->dialect, ctx->upstream_dialect, 0,
                                 (const char *) body, len,
                                 (const char *) model, out, &mem->names,
                                 &err);

    if (rc != SLUICE_XLATE_OK) {
        msg = ngx_pnalloc(r->pool, sizeof(err.message));
        if (msg == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_cpystrn(msg, (u_char *) err.message, sizeof(err.message));

        ctx->err_status = err.status ? err.status : NGX_HTTP_BAD_REQUEST;
        ctx->err_code = err.code ? err.code : "invalid-request";
        ctx->err_message = (const char *) msg;

        return NGX_DONE;
    }

    /* start and end too: a retry rewinds pos to start */
    b->start = (u_char *) out->data;
    b->end = b->start + out->len;
    b->pos = b->start;
    b->last = b->end;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    r->request_body->bufs->buf = b;
    r->request_body->bufs->next = NULL;
    r->headers_in.content_length_n = out->len;

    ctx->names = mem->names;
    ctx->xlate = 1;
    ctx->routed = 1;
    ctx->attempts = 1;

    return NGX_DECLINED;
}


/* an upper bound of the values in a JSON text: its commas, plus one */
static size_t
ngx_http_sluice_dialect_values(u_char *p, size_t len)
{
    size_t   n;
    u_char  *end;

    n = 1;
    end = p + len;

    while ((p = memchr(p, ',', end - p)) != NULL) {
        n++;
        p++;
    }

    return n;
}


static void
ngx_http_sluice_dialect_free(void *data)
{
    ngx_http_sluice_dialect_mem_t  *mem = data;

    sluice_buf_free(&mem->body);
    sluice_xlate_names_free(mem->names);
    mem->names = NULL;
}
