/*
 * Client-facing errors: the one place that writes the JSON envelope of
 * the caller's dialect.  Messages never carry prompts, provider keys,
 * provider hosts or upstream bodies.
 */

#include "ngx_http_sluice.h"


/* sluice_error <code>: statuses for the codes an error_page may name */
typedef struct {
    ngx_str_t     code;
    ngx_uint_t    status;
    const char   *message;
} ngx_http_sluice_error_code_t;


static ngx_http_sluice_error_code_t  ngx_http_sluice_error_codes[] = {
    { ngx_string("body-too-large"), NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
      "request body is larger than the gateway accepts" },
    { ngx_string("not-found"), NGX_HTTP_NOT_FOUND,
      "no such endpoint" },
    { ngx_string("upstream-failed"), NGX_HTTP_BAD_GATEWAY,
      "the provider could not be reached" },
    { ngx_string("upstream-timeout"), NGX_HTTP_GATEWAY_TIME_OUT,
      "the provider did not answer in time" },
    { ngx_string("invalid-request"), NGX_HTTP_BAD_REQUEST,
      "the request could not be read" },
    { ngx_string("header-too-large"), NGX_HTTP_BAD_REQUEST,
      "a request header, or the request's header section, is too large" },
    { ngx_null_string, 0, NULL }
};


static size_t ngx_http_sluice_error_body(u_char *p, u_char *end,
    ngx_uint_t dialect, ngx_uint_t status, const char *code,
    const char *message, ngx_str_t *rid);
static ngx_int_t ngx_http_sluice_error_allow(ngx_http_request_t *r);
static ngx_uint_t ngx_http_sluice_error_dialect(ngx_http_request_t *r);
static ngx_uint_t ngx_http_sluice_error_ends(ngx_str_t *s, const char *tail);


static size_t
ngx_http_sluice_error_body(u_char *p, u_char *end, ngx_uint_t dialect,
    ngx_uint_t status, const char *code, const char *message, ngx_str_t *rid)
{
    u_char  *start;
    size_t   len;

    start = p;
    len = ngx_strlen(message);

    if (dialect == NGX_HTTP_SLUICE_MESSAGES) {
        p = ngx_slprintf(p, end,
                         "{\"type\":\"error\",\"error\":{\"type\":\"%s\","
                         "\"message\":\"",
                         ngx_http_sluice_error_anthropic_type(status));
    } else {
        p = ngx_slprintf(p, end, "{\"error\":{\"message\":\"");
    }

    /* the message is ours, but it may quote a field name: escape it */
    if (len + ngx_escape_json(NULL, (u_char *) message, len)
        < (size_t) (end - p) - 128)
    {
        p = (u_char *) ngx_escape_json(p, (u_char *) message, len);
    }

    if (dialect == NGX_HTTP_SLUICE_MESSAGES) {
        p = ngx_slprintf(p, end, "\",\"code\":\"%s\"},\"request_id\":\"%V\"}\n",
                         code, rid);
    } else {
        p = ngx_slprintf(p, end,
                         "\",\"type\":\"%s\",\"code\":\"%s\","
                         "\"param\":null,\"request_id\":\"%V\"}}\n",
                         code, code, rid);
    }

    return p - start;
}


/* Anthropic's error.type for a status; clients act on these names */
const char *
ngx_http_sluice_error_anthropic_type(ngx_uint_t status)
{
    switch (status) {
    case NGX_HTTP_BAD_REQUEST:
        return "invalid_request_error";
    case NGX_HTTP_UNAUTHORIZED:
        return "authentication_error";
    case NGX_HTTP_FORBIDDEN:
        return "permission_error";
    case NGX_HTTP_NOT_FOUND:
        return "not_found_error";
    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 529:
        return "overloaded_error";
    default:
        return status < 500 ? "invalid_request_error" : "api_error";
    }
}


ngx_int_t
ngx_http_sluice_error_send(ngx_http_request_t *r, ngx_uint_t dialect,
    ngx_uint_t status, const char *code, const char *message)
{
    ngx_buf_t  *b;

    if (r->header_sent) {
        return NGX_ERROR;
    }

    b = ngx_http_sluice_error_json(r, dialect, status, code, message);
    if (b == NULL) {
        return NGX_ERROR;
    }

    if (status == NGX_HTTP_NOT_ALLOWED
        && ngx_http_sluice_error_allow(r) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_sluice_send_json(r, status, b);
}


/* the envelope of the dialect in a buffer of r->pool */
ngx_buf_t *
ngx_http_sluice_error_json(ngx_http_request_t *r, ngx_uint_t dialect,
    ngx_uint_t status, const char *code, const char *message)
{
    size_t      len;
    ngx_buf_t  *b;
    ngx_str_t   rid;

    /* 32 hex digits: safe to place in JSON as they are */
    ngx_http_sluice_request_id(r, &rid);
    len = 256 + 2 * ngx_strlen(code) + 6 * ngx_strlen(message) + rid.len;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    b->last += ngx_http_sluice_error_body(b->pos, b->end, dialect, status,
                                          code, message, &rid);
    return b;
}


/* a whole JSON answer of ours: status, headers, body */
ngx_int_t
ngx_http_sluice_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b)
{
    ngx_int_t     rc;
    ngx_chain_t   out;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* a 200 answer made while the body was read, sent from the phase */
ngx_int_t
ngx_http_sluice_answer_phase(ngx_http_request_t *r, ngx_str_t *json)
{
    ngx_int_t   rc;
    ngx_buf_t  *b;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = json->data;
    b->last = json->data + json->len;
    b->memory = 1;

    rc = ngx_http_sluice_send_json(r, NGX_HTTP_OK, b);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    ngx_http_finalize_request(r, rc);
    return NGX_DONE;
}


ngx_int_t
ngx_http_sluice_error_phase(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    ngx_int_t               rc;
    ngx_uint_t              dialect;
    ngx_http_sluice_ctx_t  *ctx;

    ctx = ngx_http_sluice_get_ctx(r);
    dialect = ctx ? ctx->dialect : NGX_HTTP_SLUICE_CHAT;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "sluice: %ui %s: %s", status, code, message);

    rc = ngx_http_sluice_error_send(r, dialect, status, code, message);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    ngx_http_finalize_request(r, rc);
    return NGX_DONE;
}


/* 405 names the method the endpoint takes */
static ngx_int_t
ngx_http_sluice_error_allow(ngx_http_request_t *r)
{
    ngx_table_elt_t             *h;
    ngx_http_sluice_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_sluice_module);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");

    if (lcf->endpoint == NGX_HTTP_SLUICE_EP_MODELS) {
        ngx_str_set(&h->value, "GET, HEAD");
    } else {
        ngx_str_set(&h->value, "POST");
    }

    return NGX_OK;
}


/* the caller's dialect by the path it asked for */
static ngx_uint_t
ngx_http_sluice_error_dialect(ngx_http_request_t *r)
{
    if (ngx_http_sluice_error_ends(&r->uri, "/messages")
        || ngx_http_sluice_error_ends(&r->uri, "/messages/count_tokens"))
    {
        return NGX_HTTP_SLUICE_MESSAGES;
    }

    if (ngx_http_sluice_error_ends(&r->uri, "/responses")) {
        return NGX_HTTP_SLUICE_RESPONSES;
    }

    return NGX_HTTP_SLUICE_CHAT;
}


static ngx_uint_t
ngx_http_sluice_error_ends(ngx_str_t *s, const char *tail)
{
    size_t  len;

    len = ngx_strlen(tail);

    return s->len >= len
           && ngx_strncmp(s->data + s->len - len, tail, len) == 0;
}


/* content handler of "sluice_error <code>" locations (error_page targets) */
ngx_int_t
ngx_http_sluice_error_handler(ngx_http_request_t *r)
{
    ngx_uint_t                     dialect;
    ngx_http_sluice_ctx_t         *ctx;
    ngx_http_sluice_loc_conf_t    *lcf;
    ngx_http_sluice_error_code_t  *e;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_sluice_module);

    for (e = ngx_http_sluice_error_codes; e->code.len; e++) {
        if (e->code.len == lcf->error_code.len
            && ngx_strncmp(e->code.data, lcf->error_code.data,
                           e->code.len) == 0)
        {
            break;
        }
    }

    if (e->code.len == 0) {
        e = &ngx_http_sluice_error_codes[1];
    }

    ctx = ngx_http_sluice_get_ctx(r);
    if (ctx == NULL) {
        /* nginx refused the request before any gateway phase ran */
        ctx = ngx_http_sluice_create_ctx(r);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        ctx->dialect = ngx_http_sluice_error_dialect(r);
    }

    dialect = ctx->dialect;

    return ngx_http_sluice_error_send(r, dialect, e->status,
                                      (const char *) e->code.data,
                                      e->message);
}
