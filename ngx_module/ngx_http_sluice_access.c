/*
 * ACCESS phase: who is calling.  The token comes from
 * "Authorization: Bearer" or "x-api-key", is hashed with SHA-256 and looked
 * up in the policy table.  No body is read for an unauthenticated caller.
 */

#include "ngx_http_sluice.h"
#include "sluice_table.h"

#include <openssl/evp.h>


#define NGX_HTTP_SLUICE_TOKEN_MAX  512

/* per-worker memo of token -> SHA-256, for tokens up to this long */
#define NGX_HTTP_SLUICE_MEMO_SIZE  256
#define NGX_HTTP_SLUICE_MEMO_TOKEN 128


/*
 * Key records this worker parsed last, with where their fields sit (as
 * offsets, so they hold for any copy of the record): a record equal byte
 * for byte to a remembered one is not parsed again.  A table write that
 * changes a key (a revocation) changes its record, which then differs.
 */
#define NGX_HTTP_SLUICE_KEY_MEMO    64
#define NGX_HTTP_SLUICE_KEY_RECORD  256
#define NGX_HTTP_SLUICE_KEY_SPANS   6


typedef struct {
    size_t        len;          /* 0: empty */
    int64_t       expires_at;
    uint16_t      off[NGX_HTTP_SLUICE_KEY_SPANS];
    uint16_t      n[NGX_HTTP_SLUICE_KEY_SPANS];
    u_char        record[NGX_HTTP_SLUICE_KEY_RECORD];
} ngx_http_sluice_key_memo_t;


/*
 * A token's hash never changes, so each worker remembers the last ones it
 * computed (direct-mapped on the token's random tail).  Only the digest is
 * kept: status, expiry and allow list are read from the table every time,
 * so a revocation is never hidden by it.
 */
typedef struct {
    size_t        len;
    u_char        token[NGX_HTTP_SLUICE_MEMO_TOKEN];
    u_char        digest[32];
} ngx_http_sluice_memo_t;


static ngx_int_t ngx_http_sluice_access_method(ngx_http_request_t *r,
    ngx_http_sluice_loc_conf_t *lcf);
static ngx_int_t ngx_http_sluice_access_token(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_sluice_access_hash(ngx_str_t *token, u_char *key);
static ngx_int_t ngx_http_sluice_access_check(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, ngx_str_t *record);
static void ngx_http_sluice_access_copy(ngx_str_t *dst, sluice_span_t *src);
static ngx_int_t ngx_http_sluice_access_parse(ngx_str_t *record,
    sluice_table_key_t *k);


static EVP_MD                  *ngx_http_sluice_sha256;
static EVP_MD_CTX              *ngx_http_sluice_md_ctx;
static ngx_http_sluice_memo_t  *ngx_http_sluice_memo;

static ngx_http_sluice_key_memo_t
    ngx_http_sluice_key_memo[NGX_HTTP_SLUICE_KEY_MEMO];

/* the span fields of sluice_table_key_t, in the order remembered */
static const size_t  ngx_http_sluice_key_spans[] = {
    offsetof(sluice_table_key_t, key_id),
    offsetof(sluice_table_key_t, status),
    offsetof(sluice_table_key_t, user),
    offsetof(sluice_table_key_t, project),
    offsetof(sluice_table_key_t, environment),
    offsetof(sluice_table_key_t, groups)
};


ngx_int_t
ngx_http_sluice_access_handler(ngx_http_request_t *r)
{
    u_char                       key[1 + 32];
    ngx_int_t                    rc;
    ngx_str_t                    token, record;
    ngx_http_sluice_ctx_t       *ctx;
    ngx_http_sluice_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_sluice_module);

    if (lcf->endpoint == NGX_HTTP_SLUICE_EP_NONE || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_sluice_get_ctx(r);

    if (ctx && ctx->authenticated) {
        return NGX_DECLINED;        /* again after an internal redirect */
    }

    if (ctx == NULL) {
        ctx = ngx_http_sluice_create_ctx(r);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ctx->dialect = lcf->dialect;
    ctx->endpoint = lcf->endpoint;

    if (ngx_http_sluice_access_method(r, lcf) != NGX_OK) {
        return ngx_http_sluice_error_phase(r, NGX_HTTP_NOT_ALLOWED,
                                           "method-not-allowed",
                                           "method not allowed here");
    }

    if (ngx_http_sluice_access_token(r, &token) != NGX_OK) {
        return ngx_http_sluice_error_phase(r, NGX_HTTP_UNAUTHORIZED,
                                           "unauthorized",
                                           "missing or malformed API key");
    }

    key[0] = SLUICE_TABLE_KEY_PREFIX;

    if (ngx_http_sluice_access_hash(&token, key + 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_sluice_table_get(r, key, sizeof(key), &record);

    if (rc == NGX_DECLINED) {
        return ngx_http_sluice_error_phase(r, NGX_HTTP_UNAUTHORIZED,
                                           "unauthorized",
                                           "invalid API key");
    }

    if (rc != NGX_OK) {
        return ngx_http_sluice_error_phase(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "policy-unavailable",
                                           "the gateway has no policy yet");
    }

    return ngx_http_sluice_access_check(r, ctx, &record);
}


static ngx_int_t
ngx_http_sluice_access_method(ngx_http_request_t *r,
    ngx_http_sluice_loc_conf_t *lcf)
{
    if (lcf->endpoint == NGX_HTTP_SLUICE_EP_MODELS) {
        return (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) ? NGX_OK
                                                          : NGX_DECLINED;
    }

    return (r->method == NGX_HTTP_POST) ? NGX_OK : NGX_DECLINED;
}


/* Bearer first, then x-api-key (Anthropic clients send either) */
static ngx_int_t
ngx_http_sluice_access_token(ngx_http_request_t *r, ngx_str_t *token)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    /* the usual spelling compared at once, any other case byte by byte */
    if (h && h->value.len > 7
        && (ngx_memcmp(h->value.data, "Bearer ", 7) == 0
            || ngx_strncasecmp(h->value.data, (u_char *) "Bearer ", 7) == 0))
    {
        token->data = h->value.data + 7;
        token->len = h->value.len - 7;

        while (token->len && token->data[0] == ' ') {
            token->data++;
            token->len--;
        }

        goto found;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NGX_DECLINED;
            }
            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == 9
            && ngx_strncasecmp(h[i].key.data, (u_char *) "x-api-key", 9)
               == 0)
        {
            *token = h[i].value;
            goto found;
        }
    }

found:

    if (token->len == 0 || token->len > NGX_HTTP_SLUICE_TOKEN_MAX) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_sluice_access_hash(ngx_str_t *token, u_char *key)
{
    u_char                  *t;
    unsigned int             n;
    ngx_http_sluice_memo_t  *m;

    m = NULL;

    if (ngx_http_sluice_memo && token->len >= 4
        && token->len <= NGX_HTTP_SLUICE_MEMO_TOKEN)
    {
        t = token->data + token->len - 4;
        m = &ngx_http_sluice_memo[(t[0] ^ t[1] * 31 ^ t[2] * 7 ^ t[3])
                                  % NGX_HTTP_SLUICE_MEMO_SIZE];

        if (m->len == token->len
            && ngx_memcmp(m->token, token->data, token->len) == 0)
        {
            ngx_memcpy(key, m->digest, 32);
            return NGX_OK;
        }
    }

    if (ngx_http_sluice_sha256 == NULL) {
        /* fetched once per worker: an implicit fetch per call is slow */
        ngx_http_sluice_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        ngx_http_sluice_md_ctx = EVP_MD_CTX_new();

        /* lives as long as the worker; losing it only costs hashing */
        ngx_http_sluice_memo = ngx_calloc(NGX_HTTP_SLUICE_MEMO_SIZE
                                          * sizeof(ngx_http_sluice_memo_t),
                                          ngx_cycle->log);

        if (ngx_http_sluice_sha256 == NULL
            || ngx_http_sluice_md_ctx == NULL)
        {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "sluice: SHA-256 is not available");
            return NGX_ERROR;
        }
    }

    if (EVP_DigestInit_ex2(ngx_http_sluice_md_ctx, ngx_http_sluice_sha256,
                           NULL) != 1
        || EVP_DigestUpdate(ngx_http_sluice_md_ctx, token->data, token->len)
           != 1
        || EVP_DigestFinal_ex(ngx_http_sluice_md_ctx, key, &n) != 1
        || n != 32)
    {
        return NGX_ERROR;
    }

    if (m) {
        m->len = token->len;
        ngx_memcpy(m->token, token->data, token->len);
        ngx_memcpy(m->digest, key, 32);
    }

    return NGX_OK;
}


static void
ngx_http_sluice_access_copy(ngx_str_t *dst, sluice_span_t *src)
{
    /* the record was copied into r->pool: spans stay valid */
    dst->data = (u_char *) src->p;
    dst->len = src->len;
}


static ngx_int_t
ngx_http_sluice_access_check(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, ngx_str_t *record)
{
    sluice_table_key_t  k;

    if (ngx_http_sluice_access_parse(record, &k) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sluice: malformed key record in the table");
        return ngx_http_sluice_error_phase(r, NGX_HTTP_UNAUTHORIZED,
                                           "unauthorized",
                                           "invalid API key");
    }

    ngx_http_sluice_access_copy(&ctx->key_id, &k.key_id);

    if (k.status.len == 7 && ngx_strncmp(k.status.p, "revoked", 7) == 0) {
        return ngx_http_sluice_error_phase(r, NGX_HTTP_FORBIDDEN,
                                           "key-revoked",
                                           "this API key has been revoked");
    }

    if (k.status.len != 6 || ngx_strncmp(k.status.p, "active", 6) != 0) {
        return ngx_http_sluice_error_phase(r, NGX_HTTP_FORBIDDEN,
                                           "key-disabled",
                                           "this API key is disabled");
    }

    if (k.expires_at != 0 && k.expires_at <= (int64_t) ngx_time()) {
        return ngx_http_sluice_error_phase(r, NGX_HTTP_FORBIDDEN,
                                           "key-expired",
                                           "this API key has expired");
    }

    ngx_http_sluice_access_copy(&ctx->user, &k.user);
    ngx_http_sluice_access_copy(&ctx->project, &k.project);
    ngx_http_sluice_access_copy(&ctx->environment, &k.environment);
    ngx_http_sluice_access_copy(&ctx->groups, &k.groups);

    ctx->authenticated = 1;

    return NGX_DECLINED;
}


/* sluice_table_key_parse(), through the worker's memo of key records */
static ngx_int_t
ngx_http_sluice_access_parse(ngx_str_t *record, sluice_table_key_t *k)
{
    uint64_t                     h, t;
    ngx_uint_t                   i;
    sluice_span_t               *s;
    ngx_http_sluice_key_memo_t  *m;

    m = NULL;

    if (record->len >= 8 && record->len <= NGX_HTTP_SLUICE_KEY_RECORD) {
        ngx_memcpy(&h, record->data, 8);
        ngx_memcpy(&t, record->data + record->len - 8, 8);

        h = (h ^ (t * 0x9e3779b97f4a7c15ULL) ^ record->len)
            * 0xff51afd7ed558ccdULL;

        m = &ngx_http_sluice_key_memo[(h >> 32) % NGX_HTTP_SLUICE_KEY_MEMO];

        if (m->len == record->len
            && ngx_memcmp(m->record, record->data, record->len) == 0)
        {
            for (i = 0; i < NGX_HTTP_SLUICE_KEY_SPANS; i++) {
                s = (sluice_span_t *) ((char *) k
                                       + ngx_http_sluice_key_spans[i]);
                s->p = (const char *) record->data + m->off[i];
                s->len = m->n[i];
            }

            k->expires_at = m->expires_at;
            return NGX_OK;
        }
    }

    if (sluice_table_key_parse((char *) record->data, record->len, k) != 0)
    {
        return NGX_ERROR;
    }

    if (m == NULL) {
        return NGX_OK;
    }

    for (i = 0; i < NGX_HTTP_SLUICE_KEY_SPANS; i++) {
        s = (sluice_span_t *) ((char *) k + ngx_http_sluice_key_spans[i]);
        m->off[i] = (uint16_t) ((u_char *) s->p - record->data);
        m->n[i] = (uint16_t) s->len;
    }

    ngx_memcpy(m->record, record->data, record->len);
    m->expires_at = k->expires_at;
    m->len = record->len;

    return NGX_OK;
}
