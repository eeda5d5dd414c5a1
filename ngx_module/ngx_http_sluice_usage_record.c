/*
 * Usage records, the format: each request's record is written, in the
 * LOG phase, straight after the previous one into the worker's open
 * group; up to GROUP records (BLOCK bytes) become one stream entry
 *
 *   XADD <stream> [MAXLEN ~ <n>] * v 2 n <records> r <records' bytes>
 *
 * where a record is its twenty values in a fixed order, each as
 * "<length>:<bytes>" (docs/CONTRACTS.md).  One entry per group instead
 * of one per request, with three fields instead of twenty-one, spares
 * Redis and the ingest behind it most of their work per request.
 */

#include "ngx_http_sluice_usage.h"
#include "sluice_resp.h"


/* the record's values, in CONTRACTS.md order */
enum {
    NGX_HTTP_SLUICE_U_TS = 0,
    NGX_HTTP_SLUICE_U_RID,
    NGX_HTTP_SLUICE_U_KEY,
    NGX_HTTP_SLUICE_U_USER,
    NGX_HTTP_SLUICE_U_PROJECT,
    NGX_HTTP_SLUICE_U_ENV,
    NGX_HTTP_SLUICE_U_IP,
    NGX_HTTP_SLUICE_U_DIALECT,
    NGX_HTTP_SLUICE_U_GROUP,
    NGX_HTTP_SLUICE_U_PROVIDER,
    NGX_HTTP_SLUICE_U_MODEL,
    NGX_HTTP_SLUICE_U_TARGET,
    NGX_HTTP_SLUICE_U_STATUS,
    NGX_HTTP_SLUICE_U_STREAM,
    NGX_HTTP_SLUICE_U_IN,
    NGX_HTTP_SLUICE_U_OUT,
    NGX_HTTP_SLUICE_U_LATENCY,
    NGX_HTTP_SLUICE_U_TTFB,
    NGX_HTTP_SLUICE_U_ATTEMPTS,
    NGX_HTTP_SLUICE_U_ENDPOINT,
    NGX_HTTP_SLUICE_U_N
};

/* "$<count>\r\n<count>\r\n$1\r\nr\r\n$<bytes>\r\n" fits */
#define NGX_HTTP_SLUICE_USAGE_TAIL   64


static void ngx_http_sluice_usage_values(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, ngx_str_t *v, u_char *buf);
static ngx_uint_t ngx_http_sluice_usage_status(ngx_http_request_t *r);
static u_char *ngx_http_sluice_usage_num(u_char *p, ngx_str_t *v,
    int64_t n);
static ngx_inline size_t ngx_http_sluice_usage_digits(size_t n);
static ngx_inline u_char *ngx_http_sluice_usage_len(u_char *p, size_t n);
static ngx_int_t ngx_http_sluice_usage_open(ngx_http_sluice_usage_t *u,
    size_t len);


/*
 * The bytes every entry of this worker starts with, built in
 * init_process: the array header, XADD, the stream, MAXLEN ~ <n>, "*",
 * "v" "2" and the name "n".  The array always has the same length.
 */
static ngx_str_t  ngx_http_sluice_usage_head;


/* indexed by NGX_HTTP_SLUICE_CHAT / _RESPONSES / _MESSAGES */
static ngx_str_t  ngx_http_sluice_usage_dialects[] = {
    ngx_string("chat"),
    ngx_string("responses"),
    ngx_string("messages"),
};


ngx_int_t
ngx_http_sluice_usage_record_init(ngx_http_sluice_usage_t *u, ngx_log_t *log)
{
    char                         *p;
    u_char                       *buf;
    size_t                        len;
    u_char                        maxlen[NGX_INT_T_LEN];
    ngx_str_t                     ml;
    ngx_http_sluice_main_conf_t  *mcf;

    mcf = u->mcf;

    ml.data = maxlen;
    ml.len = ngx_sprintf(maxlen, "%ui", mcf->maxlen) - maxlen;

    len = 1 + NGX_INT_T_LEN + 2 + sluice_resp_bulk_len(4)
          + sluice_resp_bulk_len(mcf->stream.len) + sluice_resp_bulk_len(6)
          + sluice_resp_bulk_len(1) + sluice_resp_bulk_len(ml.len)
          + 4 * sluice_resp_bulk_len(1);

    buf = ngx_alloc(len, log);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    /* XADD stream [MAXLEN ~ n] * v 2 n <records> r <bytes> */
    p = sluice_resp_array((char *) buf, 9 + (mcf->maxlen ? 3 : 0));
    p = sluice_resp_bulk(p, "XADD", 4);
    p = sluice_resp_bulk(p, (char *) mcf->stream.data, mcf->stream.len);

    if (mcf->maxlen) {
        p = sluice_resp_bulk(p, "MAXLEN", 6);
        p = sluice_resp_bulk(p, "~", 1);
        p = sluice_resp_bulk(p, (char *) ml.data, ml.len);
    }

    p = sluice_resp_bulk(p, "*", 1);
    p = sluice_resp_bulk(p, "v", 1);
    p = sluice_resp_bulk(p, "2", 1);
    p = sluice_resp_bulk(p, "n", 1);

    ngx_http_sluice_usage_head.data = buf;
    ngx_http_sluice_usage_head.len = (u_char *) p - buf;

    return NGX_OK;
}


void
ngx_http_sluice_usage_record_done(void)
{
    ngx_free(ngx_http_sluice_usage_head.data);
    ngx_str_null(&ngx_http_sluice_usage_head);
}


/*
 * Writes the request's record into the open group, opening one first
 * (and sealing the one that has no room left).  NGX_ERROR: no memory.
 */
ngx_int_t
ngx_http_sluice_usage_record(ngx_http_sluice_usage_t *u,
    ngx_http_request_t *r, ngx_http_sluice_ctx_t *ctx)
{
    u_char      *p;
    size_t       len;
    u_char       buf[NGX_HTTP_SLUICE_U_N * NGX_INT64_LEN];
    ngx_str_t    v[NGX_HTTP_SLUICE_U_N];
    ngx_uint_t   i;

    ngx_http_sluice_usage_values(r, ctx, v, buf);

    len = 0;

    for (i = 0; i < NGX_HTTP_SLUICE_U_N; i++) {
        len += ngx_http_sluice_usage_digits(v[i].len) + 1 + v[i].len;
    }

    /* the payload ends in CRLF */
    if (u->open.base
        && (size_t) (u->open.base + u->open.size - u->open_pos) < len + 2)
    {
        ngx_http_sluice_usage_seal(u);
    }

    if (u->open.base == NULL
        && ngx_http_sluice_usage_open(u, len + 2) != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = u->open_pos;

    for (i = 0; i < NGX_HTTP_SLUICE_U_N; i++) {
        p = ngx_http_sluice_usage_len(p, v[i].len);
        p = ngx_cpymem(p, v[i].data, v[i].len);
    }

    u->open_pos = p;
    u->open.n++;

    return NGX_OK;
}


/* a group with room for len bytes after the head's */
static ngx_int_t
ngx_http_sluice_usage_open(ngx_http_sluice_usage_t *u, size_t len)
{
    size_t  reserve;

    reserve = ngx_http_sluice_usage_head.len + NGX_HTTP_SLUICE_USAGE_TAIL;

    u->open.base = ngx_http_sluice_usage_rec_alloc(u, reserve + len,
                                                   &u->open.size);
    if (u->open.base == NULL) {
        return NGX_ERROR;
    }

    u->open_pos = u->open.base + reserve;
    u->open.n = 0;

    return NGX_OK;
}


/*
 * Turns the open group into its XADD: the head goes right before the
 * records, so nothing is copied.  The group must hold a record.
 */
void
ngx_http_sluice_usage_record_close(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec)
{
    char    *p;
    u_char  *start, *last;
    size_t   payload, tail;
    u_char   buf[NGX_HTTP_SLUICE_USAGE_TAIL];
    u_char   count[NGX_INT_T_LEN];

    start = u->open.base + ngx_http_sluice_usage_head.len
            + NGX_HTTP_SLUICE_USAGE_TAIL;
    payload = u->open_pos - start;

    last = ngx_sprintf(count, "%ui", u->open.n);
    p = sluice_resp_bulk((char *) buf, (char *) count, last - count);
    p = sluice_resp_bulk(p, "r", 1);
    *p++ = '$';
    p = sluice_resp_u64(p, payload);
    *p++ = CR;
    *p++ = LF;
    tail = (u_char *) p - buf;

    *u->open_pos++ = CR;
    *u->open_pos++ = LF;

    *rec = u->open;
    rec->cmd = (char *) start - tail - ngx_http_sluice_usage_head.len;
    ngx_memcpy(rec->cmd, ngx_http_sluice_usage_head.data,
               ngx_http_sluice_usage_head.len);
    ngx_memcpy(start - tail, buf, tail);
    rec->len = (char *) u->open_pos - rec->cmd;

    u->open.base = NULL;
    u->open.n = 0;
    u->open_pos = NULL;
}


/*
 * The records an XADD read back from the spool holds: its "n" value, or
 * 1 for a command of the first format (one request per entry).
 */
ngx_uint_t
ngx_http_sluice_usage_record_count(u_char *cmd, size_t len)
{
    u_char     *p, *last;
    ngx_int_t   n;

    last = cmd + ngx_min(len, 512);
    p = ngx_strlcasestrn(cmd, last, (u_char *) "\r\n$1\r\nn\r\n$", 10 - 1);

    if (p == NULL) {
        return 1;
    }

    /* "$<len>\r\n<count>\r\n" */
    p = ngx_strlchr(p + 10, last, LF);
    if (p == NULL) {
        return 1;
    }

    last = ngx_strlchr(++p, last, CR);
    if (last == NULL) {
        return 1;
    }

    n = ngx_atoi(p, last - p);

    return (n > 0) ? (ngx_uint_t) n : 1;
}


/* the values; numbers are printed into buf; unknown ones stay empty */
static void
ngx_http_sluice_usage_values(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, ngx_str_t *v, u_char *buf)
{
    u_char  *p;

    ngx_memzero(v, NGX_HTTP_SLUICE_U_N * sizeof(ngx_str_t));

    ngx_http_sluice_request_id(r, &v[NGX_HTTP_SLUICE_U_RID]);
    v[NGX_HTTP_SLUICE_U_KEY] = ctx->key_id;
    v[NGX_HTTP_SLUICE_U_USER] = ctx->user;
    v[NGX_HTTP_SLUICE_U_PROJECT] = ctx->project;
    v[NGX_HTTP_SLUICE_U_ENV] = ctx->environment;
    v[NGX_HTTP_SLUICE_U_IP] = r->connection->addr_text;
    v[NGX_HTTP_SLUICE_U_GROUP] = ctx->group;
    v[NGX_HTTP_SLUICE_U_PROVIDER] = ctx->provider;
    v[NGX_HTTP_SLUICE_U_MODEL] = ctx->model;
    v[NGX_HTTP_SLUICE_U_TARGET] = ctx->target_id;

    if (ctx->dialect < sizeof(ngx_http_sluice_usage_dialects)
                       / sizeof(ngx_str_t))
    {
        v[NGX_HTTP_SLUICE_U_DIALECT] =
                                   ngx_http_sluice_usage_dialects[ctx->dialect];
    }

    /* the path the caller asked for, without arguments */
    v[NGX_HTTP_SLUICE_U_ENDPOINT] = r->unparsed_uri;
    p = ngx_strlchr(r->unparsed_uri.data,
                    r->unparsed_uri.data + r->unparsed_uri.len, '?');
    if (p) {
        v[NGX_HTTP_SLUICE_U_ENDPOINT].len = p - r->unparsed_uri.data;
    }

    p = buf;
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_TS],
                                  (int64_t) r->start_sec * 1000
                                  + r->start_msec);
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_STATUS],
                                  ngx_http_sluice_usage_status(r));
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_STREAM],
                                  ctx->stream);
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_IN],
                                  ctx->in_tokens);
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_OUT],
                                  ctx->out_tokens);
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_LATENCY],
                                  (int64_t) ngx_http_sluice_elapsed(r));
    p = ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_TTFB],
                                  ctx->ttfb ? (int64_t) ctx->ttfb : -1);
    (void) ngx_http_sluice_usage_num(p, &v[NGX_HTTP_SLUICE_U_ATTEMPTS],
                                     ctx->attempts);
}


/*
 * The status the caller got; 499 when the caller went away before the
 * answer was complete (nginx leaves a stream's 200 in place, or says 400
 * for a body cut short): the row must not look like a full answer.  A
 * caller that leaves after a stream's terminal event had it all.
 */
static ngx_uint_t
ngx_http_sluice_usage_status(ngx_http_request_t *r)
{
    ngx_http_sluice_ctx_t  *ctx;

    ctx = ngx_http_sluice_get_ctx(r);

    if (r->connection->error && !(ctx && ctx->answered)) {
        return NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }

    /* a stream whose provider failed after the 200 went out */
    if (ctx && ctx->failed_status) {
        return ctx->failed_status;
    }

    return r->err_status ? r->err_status : r->headers_out.status;
}


/* prints n (>= 0) at p into v; a negative n leaves v empty */
static u_char *
ngx_http_sluice_usage_num(u_char *p, ngx_str_t *v, int64_t n)
{
    if (n < 0) {
        return p;
    }

    v->data = p;
    p = (u_char *) sluice_resp_u64((char *) p, (uint64_t) n);
    v->len = p - v->data;

    return p;
}


/* values are short: lengths under 100 take no loop */
static ngx_inline size_t
ngx_http_sluice_usage_digits(size_t n)
{
    size_t  d;

    if (n < 10) {
        return 1;
    }

    for (d = 2, n /= 100; n; n /= 10) {
        d++;
    }

    return d;
}


/* a value's "<length>:" */
static ngx_inline u_char *
ngx_http_sluice_usage_len(u_char *p, size_t n)
{
    if (n < 10) {
        *p++ = (u_char) ('0' + n);

    } else if (n < 100) {
        *p++ = (u_char) ('0' + n / 10);
        *p++ = (u_char) ('0' + n % 10);

    } else {
        p = (u_char *) sluice_resp_u64((char *) p, n);
    }

    *p++ = ':';

    return p;
}
