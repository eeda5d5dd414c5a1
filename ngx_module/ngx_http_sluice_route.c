/*
 * PRECONTENT phase: read the body once (the mirror module's pattern),
 * find the model group, check the caller may use it, choose a target,
 * rewrite the body for it and hand the result to proxy_pass through the
 * request context (read by the balancer and the provider headers), the
 * target's path in r->unparsed_uri, and the $sluice_* variables.
 */

#include "ngx_http_sluice.h"
#include "ngx_http_sluice_pick.h"
#include "sluice_json.h"
#include "sluice_table.h"


#define NGX_HTTP_SLUICE_GROUP_MAX  256

/*
 * A rewritten body up to this size leaves as one copied buffer: cheaper
 * for nginx to chain and write than its pieces (up to five) by reference.
 */
#define NGX_HTTP_SLUICE_JOIN_MAX   4096


enum {
    NGX_HTTP_SLUICE_M_MODEL = 0,
    NGX_HTTP_SLUICE_M_STREAM,
    NGX_HTTP_SLUICE_M_STREAM_OPTIONS,
    NGX_HTTP_SLUICE_M_N
};


/* one splice of the original body: replace [start, end) with text */
typedef struct {
    size_t        start;
    size_t        end;
    ngx_str_t     text;
} ngx_http_sluice_edit_t;


typedef struct {
    ngx_http_sluice_edit_t   edit[3];
    ngx_uint_t               n;
} ngx_http_sluice_edits_t;


static void ngx_http_sluice_route_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_sluice_route_request(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx);
static ngx_int_t ngx_http_sluice_route_flat(ngx_http_request_t *r,
    u_char **body, size_t *len);
static ngx_int_t ngx_http_sluice_route_fail(ngx_http_sluice_ctx_t *ctx,
    ngx_uint_t status, const char *code, const char *message);
static ngx_int_t ngx_http_sluice_route_group(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, u_char *body,
    sluice_json_member_t *model);
static ngx_int_t ngx_http_sluice_route_pick(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, ngx_str_t *record);
static ngx_int_t ngx_http_sluice_route_target(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, sluice_table_target_t *t,
    ngx_uint_t dialect);
static void ngx_http_sluice_route_uri(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx);
static ngx_int_t ngx_http_sluice_route_usage(ngx_http_sluice_ctx_t *ctx,
    u_char *body, size_t open, sluice_json_member_t *m,
    ngx_http_sluice_edits_t *edits);
static ngx_int_t ngx_http_sluice_route_quote(ngx_http_request_t *r,
    ngx_str_t *s, ngx_str_t *quoted);
static ngx_int_t ngx_http_sluice_route_join(ngx_http_request_t *r,
    u_char *body, size_t len, ngx_http_sluice_edits_t *edits, size_t size);
static ngx_int_t ngx_http_sluice_route_rewrite(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, u_char *body, size_t len,
    ngx_http_sluice_edits_t *edits);
static ngx_uint_t ngx_http_sluice_route_empty(u_char *p, u_char *end);
static ngx_uint_t ngx_http_sluice_route_piece(ngx_buf_t *b,
    ngx_chain_t *cl, ngx_chain_t ***ll, u_char *p, size_t n);
static void ngx_http_sluice_route_span(ngx_str_t *dst, sluice_span_t *src);
static ngx_int_t ngx_http_sluice_route_invalid(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, sluice_json_error_t *err);


ngx_int_t
ngx_http_sluice_route_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_sluice_ctx_t       *ctx;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_sluice_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_sluice_module);

    if ((lcf->endpoint != NGX_HTTP_SLUICE_EP_GENERATE
         && lcf->endpoint != NGX_HTTP_SLUICE_EP_COUNT)
        || r != r->main)
    {
        return NGX_DECLINED;
    }

    ctx = ngx_http_sluice_get_ctx(r);

    if (ctx == NULL || !ctx->authenticated) {
        return NGX_DECLINED;
    }

    if (ctx->body_reading) {
        if (ctx->err_status) {
            return ngx_http_sluice_error_phase(r, ctx->err_status,
                                               ctx->err_code,
                                               ctx->err_message);
        }

        if (ctx->answer.data) {
            return ngx_http_sluice_answer_phase(r, &ctx->answer);
        }

        return ctx->body_rc;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    /* refuse what exceeds the limit instead of spilling it to a file */
    if (r->headers_in.content_length_n > 0
        && clcf->client_max_body_size
        && r->headers_in.content_length_n > clcf->client_max_body_size)
    {
        return ngx_http_sluice_error_phase(r,
                                        NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "body-too-large",
                                        "request body is too large");
    }

    ctx->body_reading = 1;
    ctx->body_rc = NGX_DONE;

    r->request_body_in_single_buf = 1;
    r->request_body_in_persistent_file = 0;
    r->request_body_in_clean_file = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_sluice_route_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}


/* body read: decide, then resume the phases (mirror module's pattern) */
static void
ngx_http_sluice_route_body(ngx_http_request_t *r)
{
    ngx_http_sluice_ctx_t  *ctx;

    ctx = ngx_http_sluice_get_ctx(r);

    ctx->body_rc = ngx_http_sluice_route_request(r, ctx);
    ctx->body_done = 1;

    if (ctx->body_rc == NGX_DECLINED && ctx->routed) {
        ngx_http_sluice_route_uri(r, ctx);
    }

    r->preserve_body = 1;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/*
 * The body as one run of bytes.  It usually is one buffer; when the
 * client sent headers and body in one write, the part that came with the
 * headers is a buffer of its own, and the pieces are joined in a copy.
 */
static ngx_int_t
ngx_http_sluice_route_flat(ngx_http_request_t *r, u_char **body,
    size_t *len)
{
    u_char       *p;
    size_t        size;
    ngx_chain_t  *cl;

    *body = NULL;
    *len = 0;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL) {
        *body = cl->buf->pos;
        *len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    size = 0;
    for ( /* void */ ; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            return NGX_ERROR;       /* cannot happen: temp_file refused */
        }
        size += cl->buf->last - cl->buf->pos;
    }

    p = ngx_pnalloc(r->pool, size ? size : 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *body = p;
    *len = size;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_sluice_route_fail(ngx_http_sluice_ctx_t *ctx, ngx_uint_t status,
    const char *code, const char *message)
{
    ctx->err_status = status;
    ctx->err_code = code;
    ctx->err_message = message;

    return NGX_DONE;
}


static ngx_int_t
ngx_http_sluice_route_request(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx)
{
    u_char                   *body;
    size_t                    len, open;
    ngx_int_t                 rc;
    sluice_json_error_t       err;
    ngx_http_sluice_edits_t   edits;
    sluice_json_member_t      m[NGX_HTTP_SLUICE_M_N];

    if (r->request_body && r->request_body->temp_file) {
        return ngx_http_sluice_route_fail(ctx,
                                          NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                          "body-too-large",
                                          "request body is too large");
    }

    if (ngx_http_sluice_route_flat(r, &body, &len) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (len == 0) {
        return ngx_http_sluice_route_fail(ctx, NGX_HTTP_BAD_REQUEST,
                                          "invalid-request",
                                          "request body is empty");
    }

    m[NGX_HTTP_SLUICE_M_MODEL].name = "model";
    m[NGX_HTTP_SLUICE_M_STREAM].name = "stream";
    m[NGX_HTTP_SLUICE_M_STREAM_OPTIONS].name = "stream_options";

    if (sluice_json_scan(body, len, m,
                         ctx->dialect == NGX_HTTP_SLUICE_CHAT
                         ? NGX_HTTP_SLUICE_M_N : NGX_HTTP_SLUICE_M_STREAM + 1,
                         &open, &err)
        != 0)
    {
        return ngx_http_sluice_route_invalid(r, ctx, &err);
    }

    if (m[NGX_HTTP_SLUICE_M_MODEL].type == SLUICE_JSON_NONE) {
        return ngx_http_sluice_route_fail(ctx, NGX_HTTP_BAD_REQUEST,
                                          "missing-model",
                                          "the \"model\" field is required");
    }

    if (m[NGX_HTTP_SLUICE_M_MODEL].type != SLUICE_JSON_STRING) {
        return ngx_http_sluice_route_fail(ctx, NGX_HTTP_BAD_REQUEST,
                                          "invalid-request",
                                          "\"model\" must be a string");
    }

    switch (m[NGX_HTTP_SLUICE_M_STREAM].type) {
    case SLUICE_JSON_NONE:
    case SLUICE_JSON_FALSE:
    case SLUICE_JSON_NULL:
        break;
    case SLUICE_JSON_TRUE:
        ctx->stream = 1;
        break;
    default:
        return ngx_http_sluice_route_fail(ctx, NGX_HTTP_BAD_REQUEST,
                                          "invalid-request",
                                          "\"stream\" must be a boolean");
    }

    rc = ngx_http_sluice_route_group(r, ctx, body,
                                     &m[NGX_HTTP_SLUICE_M_MODEL]);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ctx->endpoint == NGX_HTTP_SLUICE_EP_COUNT) {
        return ngx_http_sluice_count(r, ctx, body, len);
    }

    edits.n = 0;

    if (ctx->stream && ctx->dialect == NGX_HTTP_SLUICE_CHAT
        && ngx_http_sluice_route_usage(ctx, body, open,
                                       &m[NGX_HTTP_SLUICE_M_STREAM_OPTIONS],
                                       &edits)
           != NGX_OK)
    {
        return NGX_DONE;
    }

    if (ctx->upstream_dialect != ctx->dialect) {
        return ngx_http_sluice_dialect_translate(r, ctx, body, len);
    }

    edits.edit[edits.n].start = m[NGX_HTTP_SLUICE_M_MODEL].start;
    edits.edit[edits.n].end = m[NGX_HTTP_SLUICE_M_MODEL].end;

    if (ngx_http_sluice_route_quote(r, &ctx->model,
                                    &edits.edit[edits.n].text)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    edits.n++;

    return ngx_http_sluice_route_rewrite(r, ctx, body, len, &edits);
}


static ngx_int_t
ngx_http_sluice_route_group(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, u_char *body, sluice_json_member_t *model)
{
    u_char         *key, *q;
    size_t          len;
    ssize_t         n;
    ngx_int_t       rc;
    ngx_str_t       record;
    sluice_span_t   groups;

    /* the table key ('g' + name) in the pool; the name is ctx->group */
    q = body + model->start;
    len = model->end - model->start;

    key = ngx_pnalloc(r->pool, 1 + ngx_min(len, NGX_HTTP_SLUICE_GROUP_MAX));
    if (key == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_strlchr(q + 1, q + len - 1, '\\') == NULL) {
        /* no escape: the name as it stands, which holds no NUL */
        n = (len - 2 <= NGX_HTTP_SLUICE_GROUP_MAX) ? (ssize_t) len - 2 : -1;

        if (n > 0) {
            ngx_memcpy(key + 1, q + 1, n);
        }

    } else {
        n = sluice_json_string_decode(q, len, key + 1,
                                      NGX_HTTP_SLUICE_GROUP_MAX);

        if (n > 0 && ngx_strlchr(key + 1, key + 1 + n, '\0') != NULL) {
            n = -1;
        }
    }

    if (n <= 0) {
        return ngx_http_sluice_route_fail(ctx, NGX_HTTP_BAD_REQUEST,
                                          "missing-model",
                                          "\"model\" is empty or too long");
    }

    ctx->group.data = key + 1;
    ctx->group.len = n;

    groups.p = (char *) ctx->groups.data;
    groups.len = ctx->groups.len;

    if (!sluice_table_group_allowed(groups, (char *) key + 1, n)) {
        return ngx_http_sluice_route_fail(ctx, NGX_HTTP_FORBIDDEN,
                                          "model-not-allowed",
                                          "this key may not use this model");
    }

    key[0] = SLUICE_TABLE_GROUP_PREFIX;

    rc = ngx_http_sluice_table_get(r, key, 1 + n, &record);

    if (rc == NGX_DECLINED) {
        return ngx_http_sluice_route_fail(ctx, NGX_HTTP_FORBIDDEN,
                                          "model-not-allowed",
                                          "this key may not use this model");
    }

    if (rc != NGX_OK) {
        return ngx_http_sluice_route_fail(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "policy-unavailable",
                                          "the gateway has no policy yet");
    }

    if (ctx->endpoint == NGX_HTTP_SLUICE_EP_COUNT) {
        return NGX_OK;
    }

    return ngx_http_sluice_route_pick(r, ctx, &record);
}


/*
 * Weighted choice among the group's targets, whatever dialect each
 * speaks: the weights are the operator's, translation is ours.
 */
static ngx_int_t
ngx_http_sluice_route_pick(ngx_http_request_t *r, ngx_http_sluice_ctx_t *ctx,
    ngx_str_t *record)
{
    ngx_int_t              rc;
    ngx_uint_t             dialect;
    sluice_table_target_t  t;

    rc = ngx_http_sluice_pick(ctx, record, &t, &dialect);

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sluice: malformed group record \"%V\"", &ctx->group);
        return ngx_http_sluice_route_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                          "no-eligible-target",
                                          "the model group is misconfigured");
    }

    if (rc != NGX_OK) {
        return ngx_http_sluice_route_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                          "no-eligible-target",
                                          "no target of this model group "
                                          "can serve the request");
    }

    return ngx_http_sluice_route_target(r, ctx, &t, dialect);
}


static void
ngx_http_sluice_route_span(ngx_str_t *dst, sluice_span_t *src)
{
    /* the record lives in r->pool: spans stay valid for the request */
    dst->data = (u_char *) src->p;
    dst->len = src->len;
}


static ngx_int_t
ngx_http_sluice_route_target(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, sluice_table_target_t *t, ngx_uint_t dialect)
{
    u_char  *p;

    if (ngx_http_sluice_balancer_addr(r, ctx, (u_char *) t->addr.p,
                                      t->addr.len)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sluice: target has a bad address");
        return ngx_http_sluice_route_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                          "no-eligible-target",
                                          "the target is misconfigured");
    }

    ngx_http_sluice_route_span(&ctx->addr_text, &t->addr);
    ngx_http_sluice_route_span(&ctx->target_id, &t->target_id);
    ngx_http_sluice_route_span(&ctx->provider, &t->provider);
    ngx_http_sluice_route_span(&ctx->model, &t->model);
    ngx_http_sluice_route_span(&ctx->scheme, &t->scheme);
    ngx_http_sluice_route_span(&ctx->host, &t->host);
    ngx_http_sluice_route_span(&ctx->tls_name, &t->tls_name);

    ctx->upstream_dialect = dialect;

    if (ngx_http_sluice_dialect_target(r, ctx, t->base_path.p,
                                       t->base_path.len)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (t->auth_kind.len == 6 && ngx_strncmp(t->auth_kind.p, "bearer", 6) == 0
        && t->credential.len)
    {
        ctx->auth_bearer.len = sizeof("Bearer ") - 1 + t->credential.len;
        ctx->auth_bearer.data = ngx_pnalloc(r->pool, ctx->auth_bearer.len);
        if (ctx->auth_bearer.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(ctx->auth_bearer.data, "Bearer ", 7);
        ngx_memcpy(p, t->credential.p, t->credential.len);

    } else if (t->auth_kind.len == 9
               && ngx_strncmp(t->auth_kind.p, "x-api-key", 9) == 0)
    {
        ngx_http_sluice_route_span(&ctx->auth_xapikey, &t->credential);
    }

    return NGX_OK;
}


/*
 * proxy_pass names no URI, so ngx_http_proxy_create_request() writes the
 * upstream request line from r->unparsed_uri.  From here it holds the
 * target's path (base path and endpoint; the caller's query string is
 * not forwarded); the balancer's peer init, which nginx calls right after
 * create_request, puts the caller's back, and so does the LOG phase if
 * the request never got that far: $request_uri and the usage record see
 * what the caller sent.
 */
static void
ngx_http_sluice_route_uri(ngx_http_request_t *r, ngx_http_sluice_ctx_t *ctx)
{
    if (ctx->uri_swapped) {
        return;
    }

    ctx->client_uri = r->unparsed_uri;
    ctx->client_uri_valid = r->valid_unparsed_uri;
    ctx->uri_swapped = 1;

    r->unparsed_uri = ctx->uri;
    r->valid_unparsed_uri = 1;
}


void
ngx_http_sluice_route_uri_restore(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx)
{
    if (!ctx->uri_swapped) {
        return;
    }

    r->unparsed_uri = ctx->client_uri;
    r->valid_unparsed_uri = ctx->client_uri_valid;
    ctx->uri_swapped = 0;
}


/*
 * Streams must report usage: ask for the final usage chunk unless the
 * caller did; when we asked, the filter drops that chunk again.
 */
static ngx_int_t
ngx_http_sluice_route_usage(ngx_http_sluice_ctx_t *ctx, u_char *body,
    size_t open, sluice_json_member_t *m, ngx_http_sluice_edits_t *edits)
{
    sluice_json_error_t      err;
    sluice_json_member_t     iu;
    ngx_http_sluice_edit_t  *e;

    e = &edits->edit[edits->n];

    switch (m->type) {

    case SLUICE_JSON_NONE:
        e->start = open;
        e->end = open;
        ngx_str_set(&e->text, "\"stream_options\":{\"include_usage\":true},");
        break;

    case SLUICE_JSON_NULL:
        e->start = m->start;
        e->end = m->end;
        ngx_str_set(&e->text, "{\"include_usage\":true}");
        break;

    case SLUICE_JSON_OBJECT:
        iu.name = "include_usage";
        if (sluice_json_scan(body + m->start, m->end - m->start, &iu, 1,
                             &open, &err)
            != 0)
        {
            ngx_http_sluice_route_fail(ctx, NGX_HTTP_BAD_REQUEST,
                                       "invalid-request",
                                       "\"stream_options\" is invalid");
            return NGX_ERROR;
        }

        if (iu.type == SLUICE_JSON_TRUE) {
            return NGX_OK;              /* the caller asked for usage */
        }

        if (iu.type == SLUICE_JSON_NONE) {
            e->start = m->start + open;
            e->end = e->start;
            if (ngx_http_sluice_route_empty(body + e->start,
                                            body + m->end))
            {
                ngx_str_set(&e->text, "\"include_usage\":true");
            } else {
                ngx_str_set(&e->text, "\"include_usage\":true,");
            }

        } else {
            e->start = m->start + iu.start;
            e->end = m->start + iu.end;
            ngx_str_set(&e->text, "true");
        }

        break;

    default:
        ngx_http_sluice_route_fail(ctx, NGX_HTTP_BAD_REQUEST,
                                   "invalid-request",
                                   "\"stream_options\" must be an object");
        return NGX_ERROR;
    }

    edits->n++;
    ctx->inject_usage = 1;

    return NGX_OK;
}


/*
 * The body with the edits applied, as a chain of buffers referring to
 * the body read and to the edits' texts: nothing is copied.
 */
static ngx_int_t
ngx_http_sluice_route_rewrite(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, u_char *body, size_t len,
    ngx_http_sluice_edits_t *edits)
{
    size_t                   at;
    off_t                    size;
    ngx_buf_t               *b;
    ngx_uint_t               i, j, k, n;
    ngx_chain_t             *out, **ll, *cl;
    ngx_http_sluice_edit_t   e;

    /* at most three edits: insertion sort by position */
    for (i = 1; i < edits->n; i++) {
        e = edits->edit[i];
        for (j = i; j > 0 && edits->edit[j - 1].start > e.start; j--) {
            edits->edit[j] = edits->edit[j - 1];
        }
        edits->edit[j] = e;
    }

    size = len;
    for (i = 0; i < edits->n; i++) {
        size += (off_t) edits->edit[i].text.len
                - (off_t) (edits->edit[i].end - edits->edit[i].start);
    }

    if (size <= NGX_HTTP_SLUICE_JOIN_MAX) {
        if (ngx_http_sluice_route_join(r, body, len, edits, size) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        goto done;
    }

    /* the pieces' buffers and links at once: at most 2 n + 1 pieces */
    n = 2 * edits->n + 1;

    b = ngx_pcalloc(r->pool, n * sizeof(ngx_buf_t));
    cl = ngx_palloc(r->pool, n * sizeof(ngx_chain_t));
    if (b == NULL || cl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = NULL;
    ll = &out;
    at = 0;
    size = 0;
    k = 0;

    for (i = 0; i <= edits->n; i++) {
        e.start = (i < edits->n) ? edits->edit[i].start : len;

        k += ngx_http_sluice_route_piece(&b[k], &cl[k], &ll, body + at,
                                         e.start - at);
        size += e.start - at;

        if (i == edits->n) {
            break;
        }

        k += ngx_http_sluice_route_piece(&b[k], &cl[k], &ll,
                                         edits->edit[i].text.data,
                                         edits->edit[i].text.len);
        size += edits->edit[i].text.len;
        at = edits->edit[i].end;
    }

    if (k == 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;     /* cannot be: len > 0 */
    }

    b[k - 1].last_buf = 1;
    b[k - 1].last_in_chain = 1;

    r->request_body->bufs = out;

done:

    r->headers_in.content_length_n = size;

    ctx->routed = 1;
    ctx->attempts = 1;

    return NGX_DECLINED;
}


/*
 * Appends b (zeroed) referring to [p, p + n), linked by cl; returns the
 * pieces used: 1, or 0 for n == 0.
 */
static ngx_uint_t
ngx_http_sluice_route_piece(ngx_buf_t *b, ngx_chain_t *cl, ngx_chain_t ***ll,
    u_char *p, size_t n)
{
    if (n == 0) {
        return 0;
    }

    /* start and end too: a retry rewinds pos to start */
    b->start = p;
    b->end = p + n;
    b->pos = p;
    b->last = p + n;
    b->memory = 1;

    cl->buf = b;
    cl->next = NULL;
    **ll = cl;
    *ll = &cl->next;

    return 1;
}


/* the body with the edits applied, copied into one buffer of size bytes */
static ngx_int_t
ngx_http_sluice_route_join(ngx_http_request_t *r, u_char *body, size_t len,
    ngx_http_sluice_edits_t *edits, size_t size)
{
    u_char       *p;
    size_t        at;
    ngx_buf_t    *b;
    ngx_uint_t    i;
    ngx_chain_t  *cl;

    p = ngx_pnalloc(r->pool, size ? size : 1);
    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);
    if (p == NULL || b == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    /* start and end too: a retry rewinds pos to start */
    b->start = p;
    b->pos = p;
    b->end = p + size;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    for (at = 0, i = 0; i < edits->n; i++) {
        p = ngx_cpymem(p, body + at, edits->edit[i].start - at);
        p = ngx_cpymem(p, edits->edit[i].text.data, edits->edit[i].text.len);
        at = edits->edit[i].end;
    }

    b->last = ngx_cpymem(p, body + at, len - at);

    cl->buf = b;
    cl->next = NULL;
    r->request_body->bufs = cl;

    return NGX_OK;
}


/* only whitespace before the closing brace: an object with no members */
static ngx_uint_t
ngx_http_sluice_route_empty(u_char *p, u_char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == CR || *p == LF)) {
        p++;
    }

    return p < end && *p == '}';
}


/* s as a JSON string literal, quotes included */
static ngx_int_t
ngx_http_sluice_route_quote(ngx_http_request_t *r, ngx_str_t *s,
    ngx_str_t *quoted)
{
    u_char  *p;
    size_t   i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < 0x20 || s->data[i] == '"' || s->data[i] == '\\') {
            break;
        }
    }

    /* room for the worst case from the first byte to escape on */
    quoted->data = ngx_pnalloc(r->pool, i + 6 * (s->len - i) + 2);
    if (quoted->data == NULL) {
        return NGX_ERROR;
    }

    p = quoted->data;
    *p++ = '"';
    p = ngx_cpymem(p, s->data, i);
    p = sluice_json_escape(p, s->data + i, s->len - i);
    *p++ = '"';

    quoted->len = p - quoted->data;

    return NGX_OK;
}


/* says what is wrong and where, never echoing the body */
static ngx_int_t
ngx_http_sluice_route_invalid(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, sluice_json_error_t *err)
{
    u_char  *msg, *p;
    size_t   len;

    len = sizeof("request body is not a valid JSON object: ") + 64
          + NGX_SIZE_T_LEN;

    msg = ngx_pnalloc(r->pool, len);
    if (msg == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_snprintf(msg, len - 1,
                     "request body is not a valid JSON object: %s "
                     "at byte %uz", err->reason, err->offset);
    *p = '\0';

    return ngx_http_sluice_route_fail(ctx, NGX_HTTP_BAD_REQUEST,
                                      "invalid-request", (char *) msg);
}
