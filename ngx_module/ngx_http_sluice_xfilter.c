/*
 * The answer side of translation, when the caller's dialect is not the
 * target's.  A stream is translated event by event as it arrives
 * (sluice_xlate_stream): each upstream buffer is consumed as it comes
 * (unless the caller stopped reading) and the caller's frames leave in
 * copies, flushed.  Anything else (a JSON answer
 * or an error of any status) is held whole, with its header, translated
 * once complete and sent with the status and length of the translation.
 */

#include "ngx_http_sluice.h"
#include "ngx_http_sluice_filter.h"
#include "sluice_xlate.h"


/* most bytes of one upstream event, and of a whole JSON answer */
#define NGX_HTTP_SLUICE_XF_EVENT_MAX  (1024 * 1024)
#define NGX_HTTP_SLUICE_XF_JSON_MAX   (8 * 1024 * 1024)

/* frames leave in copies of this size, reused once sent */
#define NGX_HTTP_SLUICE_XF_CHUNK      4096

/* upstream input waits while this much of ours is unsent (backpressure) */
#define NGX_HTTP_SLUICE_XF_BUSY_MAX   (64 * 1024)

/* r->buffered bit while input waits: nginx must come back to us */
#define NGX_HTTP_SLUICE_XF_BUFFERED   0x08


struct ngx_http_sluice_xfilter_s {
    ngx_http_request_t            *request;
    ngx_http_sluice_ctx_t         *sctx;

    sluice_xlate_stream_t         *stream;     /* NULL: a whole answer */
    sluice_buf_t                   body;       /* the whole answer */
    sluice_buf_t                   answer;     /* its translation */

    ngx_chain_t                   *in;         /* upstream, not yet fed */
    ngx_chain_t                   *out;
    ngx_chain_t                  **last_out;
    ngx_chain_t                   *busy;
    ngx_chain_t                   *free;
    ngx_buf_t                     *cur;        /* copy buffer with room */

    unsigned                       over:1;     /* answer beyond the cap */
    unsigned                       sent:1;     /* our header went out */
    unsigned                       ended:1;    /* our stream's end went */
};


static void ngx_http_sluice_xfilter_cleanup(void *data);
static ngx_int_t ngx_http_sluice_xfilter_stream(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_chain_t *in);
static ngx_uint_t ngx_http_sluice_xfilter_feed(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf);
static ngx_int_t ngx_http_sluice_xfilter_drop(ngx_http_request_t *r,
    ngx_chain_t *in);
static size_t ngx_http_sluice_xfilter_busy(ngx_http_sluice_xfilter_t *xf);
static ngx_int_t ngx_http_sluice_xfilter_whole(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_chain_t *in);
static ngx_int_t ngx_http_sluice_xfilter_answer(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf);
static ngx_int_t ngx_http_sluice_xfilter_error(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_uint_t status, const char *msg);
static ngx_int_t ngx_http_sluice_xfilter_send(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_uint_t status, u_char *p,
    size_t len);
static int ngx_http_sluice_xfilter_emit(void *data, const char *p,
    size_t len);
static ngx_int_t ngx_http_sluice_xfilter_output(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_uint_t last);


/*
 * The provider's header arrived.  NGX_OK: pass it on (a stream);
 * NGX_DONE: hold it until the whole answer is translated.
 */
ngx_int_t
ngx_http_sluice_xfilter_start(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, ngx_uint_t sse,
    ngx_http_sluice_xfilter_t **xfp)
{
    unsigned                    flags;
    ngx_pool_cleanup_t         *cln;
    ngx_http_sluice_xfilter_t  *xf;

    xf = ngx_pcalloc(r->pool, sizeof(ngx_http_sluice_xfilter_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (xf == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    xf->request = r;
    xf->sctx = ctx;
    xf->last_out = &xf->out;
    sluice_buf_init(&xf->body);
    sluice_buf_init(&xf->answer);

    cln->handler = ngx_http_sluice_xfilter_cleanup;
    cln->data = xf;

    *xfp = xf;

    if (!sse || r->upstream->headers_in.status_n >= NGX_HTTP_SPECIAL_RESPONSE)
    {
        return NGX_DONE;
    }

    flags = (ctx->dialect == NGX_HTTP_SLUICE_CHAT && !ctx->inject_usage)
            ? SLUICE_XLATE_INCLUDE_USAGE : 0;

    xf->stream = sluice_xlate_stream_create_ex(ctx->upstream_dialect,
                                               ctx->dialect, flags,
                                               NGX_HTTP_SLUICE_XF_EVENT_MAX,
                                               ctx->names);
    if (xf->stream == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_sluice_xfilter_cleanup(void *data)
{
    ngx_http_sluice_xfilter_t  *xf = data;

    sluice_xlate_stream_destroy(xf->stream);
    xf->stream = NULL;
    sluice_buf_free(&xf->body);
    sluice_buf_free(&xf->answer);
}


ngx_int_t
ngx_http_sluice_xfilter_body(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_chain_t *in)
{
    if (xf->ended) {
        return ngx_http_sluice_xfilter_drop(r, in);
    }

    if (xf->sent) {
        /* our own answer is out: what follows is nginx's flush */
        return ngx_http_sluice_filter_next_body(r, in);
    }

    if (xf->stream) {
        return ngx_http_sluice_xfilter_stream(r, xf, in);
    }

    return ngx_http_sluice_xfilter_whole(r, xf, in);
}


/*
 * Each upstream buffer is translated and consumed as it comes, unless the
 * caller is not reading: then it waits, so the provider's connection is
 * not read either (the upstream buffer stays busy).  Once the caller's
 * stream has its last event (the provider's end translated, or an error
 * event), the caller's answer ends in the same write, not when the
 * provider's answer ends after it.
 */
static ngx_int_t
ngx_http_sluice_xfilter_stream(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_chain_t *in)
{
    ngx_uint_t  last;

    if (in && ngx_chain_add_copy(r->pool, &xf->in, in) != NGX_OK) {
        return NGX_ERROR;
    }

    last = ngx_http_sluice_xfilter_feed(r, xf);

    if (last == (ngx_uint_t) NGX_ERROR) {
        return NGX_ERROR;
    }

    if (xf->in) {
        r->buffered |= NGX_HTTP_SLUICE_XF_BUFFERED;

    } else {
        r->buffered &= ~NGX_HTTP_SLUICE_XF_BUFFERED;
    }

    ngx_http_sluice_filter_usage(xf->sctx,
                                   sluice_xlate_stream_usage(xf->stream));

    if (last && sluice_xlate_stream_state(xf->stream) == SLUICE_XLATE_FAILED
        && xf->sctx->failed_status == 0)
    {
        xf->sctx->failed_status = NGX_HTTP_BAD_GATEWAY;
    }

    return ngx_http_sluice_xfilter_output(r, xf, last);
}


/* input fed while the caller keeps up; 1 once our stream has ended */
static ngx_uint_t
ngx_http_sluice_xfilter_feed(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf)
{
    int           rc;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    while (xf->in && ngx_http_sluice_xfilter_busy(xf)
                     < NGX_HTTP_SLUICE_XF_BUSY_MAX)
    {
        cl = xf->in;
        b = cl->buf;

        if (ngx_buf_in_memory(b) && b->last > b->pos) {
            rc = sluice_xlate_stream_feed(xf->stream, (char *) b->pos,
                                          b->last - b->pos,
                                          ngx_http_sluice_xfilter_emit, xf);
            if (rc != SLUICE_XLATE_OK) {
                return (ngx_uint_t) NGX_ERROR;
            }

            b->pos = b->last;
        }

        if (b->last_buf
            && sluice_xlate_stream_state(xf->stream) == SLUICE_XLATE_RUNNING
            && sluice_xlate_stream_finish(xf->stream,
                                          ngx_http_sluice_xfilter_emit, xf)
               != SLUICE_XLATE_OK)
        {
            return (ngx_uint_t) NGX_ERROR;
        }

        xf->in = cl->next;
        ngx_free_chain(r->pool, cl);

        if (b->last_buf
            || sluice_xlate_stream_state(xf->stream) != SLUICE_XLATE_RUNNING)
        {
            /* what the provider sends after our end is read and dropped */
            for (cl = xf->in; cl; cl = cl->next) {
                cl->buf->pos = cl->buf->last;
            }

            xf->in = NULL;
            xf->ended = 1;
            xf->sctx->answered = 1;

            return 1;
        }
    }

    return 0;
}


/* after our end: the provider's bytes are consumed, ours still flushed */
static ngx_int_t
ngx_http_sluice_xfilter_drop(ngx_http_request_t *r, ngx_chain_t *in)
{
    for ( /* void */ ; in; in = in->next) {
        in->buf->pos = in->buf->last;
    }

    return ngx_http_sluice_filter_next_body(r, NULL);
}


/* bytes of ours handed on but not yet sent */
static size_t
ngx_http_sluice_xfilter_busy(ngx_http_sluice_xfilter_t *xf)
{
    size_t        n;
    ngx_chain_t  *cl;

    n = 0;

    for (cl = xf->busy; cl; cl = cl->next) {
        n += ngx_buf_size(cl->buf);
    }

    return n;
}


/* the whole answer is held (capped), then translated and sent */
static ngx_int_t
ngx_http_sluice_xfilter_whole(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_chain_t *in)
{
    size_t        n;
    ngx_buf_t    *b;
    ngx_uint_t    last;

    last = 0;

    for ( /* void */ ; in; in = in->next) {
        b = in->buf;
        n = ngx_buf_in_memory(b) ? (size_t) (b->last - b->pos) : 0;

        if (n && !xf->over) {
            if (xf->body.len + n > NGX_HTTP_SLUICE_XF_JSON_MAX) {
                xf->over = 1;

            } else if (sluice_buf_append(&xf->body, b->pos, n) != 0) {
                return NGX_ERROR;
            }
        }

        b->pos = b->last;
        last |= b->last_buf;
    }

    if (!last) {
        return NGX_OK;
    }

    return ngx_http_sluice_xfilter_answer(r, xf);
}


static ngx_int_t
ngx_http_sluice_xfilter_answer(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf)
{
    int                    rc;
    ngx_uint_t             status;
    sluice_usage_t         usage;
    sluice_xlate_err_t     err;
    ngx_http_sluice_ctx_t  *ctx;

    ctx = xf->sctx;
    status = r->upstream ? r->upstream->headers_in.status_n
                         : ctx->upstream_status;

    if (xf->over) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sluice: provider answer over %uz bytes, refused",
                      (size_t) NGX_HTTP_SLUICE_XF_JSON_MAX);
        return ngx_http_sluice_xfilter_error(r, xf, NGX_HTTP_BAD_GATEWAY,
                                             "the provider's answer is "
                                             "too large to translate");
    }

    sluice_usage_init(&usage);

    rc = sluice_xlate_response_ex(ctx->upstream_dialect, ctx->dialect,
                                  (int) status,
                                  xf->body.data ? xf->body.data : "",
                                  xf->body.len, ctx->names, &xf->answer,
                                  &usage, &err);

    ngx_http_sluice_filter_usage(ctx, &usage);

    if (rc == SLUICE_XLATE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sluice: provider answer not translated: %s",
                      err.message);
        return ngx_http_sluice_xfilter_error(r, xf, NGX_HTTP_BAD_GATEWAY,
                                             "the provider's answer could "
                                             "not be read");
    }

    if (rc == SLUICE_XLATE_ENVELOPE) {
        status = err.status;
    }

    return ngx_http_sluice_xfilter_send(r, xf, status,
                                        (u_char *) xf->answer.data,
                                        xf->answer.len);
}


ngx_uint_t
ngx_http_sluice_xfilter_done(ngx_http_sluice_xfilter_t *xf)
{
    return xf->stream
           && sluice_xlate_stream_state(xf->stream) == SLUICE_XLATE_DONE;
}


/*
 * The provider failed after its header: a held answer becomes our error,
 * a running stream ends with an in-band error event of the caller's.
 */
ngx_int_t
ngx_http_sluice_xfilter_fail(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_uint_t status)
{
    const char  *msg;

    if (xf->sent || xf->ended) {
        return NGX_OK;
    }

    msg = (status == NGX_HTTP_GATEWAY_TIME_OUT)
          ? "the provider stopped sending (idle timeout)"
          : "the provider's answer broke off";

    if (xf->stream) {
        /* input still waiting is of no use now */
        xf->in = NULL;
        r->buffered &= ~NGX_HTTP_SLUICE_XF_BUFFERED;

        if (sluice_xlate_stream_abort(xf->stream, msg,
                                      ngx_http_sluice_xfilter_emit, xf)
            != SLUICE_XLATE_OK)
        {
            return NGX_ERROR;
        }

        xf->sent = 1;
        return ngx_http_sluice_xfilter_output(r, xf, 1);
    }

    return ngx_http_sluice_xfilter_error(r, xf, status, msg);
}


/* our own error instead of the held answer */
static ngx_int_t
ngx_http_sluice_xfilter_error(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_uint_t status, const char *msg)
{
    ngx_buf_t  *b;

    b = ngx_http_sluice_error_json(r, xf->sctx->dialect, status,
                                   status == NGX_HTTP_GATEWAY_TIME_OUT
                                   ? "upstream-timeout" : "upstream-failed",
                                   msg);
    if (b == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_sluice_xfilter_send(r, xf, status, b->pos,
                                        b->last - b->pos);
}


/* the held header, now with the translation's status and length */
static ngx_int_t
ngx_http_sluice_xfilter_send(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_uint_t status, u_char *p, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = p;
    b->last = p + len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    xf->sent = 1;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);

    r->headers_out.status = status;
    r->headers_out.status_line.len = 0;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    ngx_str_null(&r->headers_out.charset);

    rc = ngx_http_sluice_filter_next_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_sluice_filter_next_body(r, &out);
}


/* a frame for the caller: appended to the copy buffers */
static int
ngx_http_sluice_xfilter_emit(void *data, const char *p, size_t len)
{
    size_t                      n;
    ngx_buf_t                  *b;
    ngx_chain_t                *cl;
    ngx_http_sluice_xfilter_t  *xf = data;

    while (len) {
        b = xf->cur;

        if (b == NULL || b->last == b->end) {
            cl = xf->free;

            if (cl) {
                xf->free = cl->next;
                b = cl->buf;
                b->pos = b->start;
                b->last = b->start;

            } else {
                cl = ngx_alloc_chain_link(xf->request->pool);
                b = ngx_create_temp_buf(xf->request->pool,
                                        NGX_HTTP_SLUICE_XF_CHUNK);
                if (cl == NULL || b == NULL) {
                    return -1;
                }

                b->tag = (ngx_buf_tag_t) &ngx_http_sluice_filter_module;
                cl->buf = b;
            }

            b->flush = 0;
            b->last_buf = 0;
            cl->next = NULL;
            *xf->last_out = cl;
            xf->last_out = &cl->next;
            xf->cur = b;
        }

        n = ngx_min(len, (size_t) (b->end - b->last));
        b->last = ngx_cpymem(b->last, p, n);
        p += n;
        len -= n;
    }

    return 0;
}


/* frames so far go out flushed; the copies come back once sent */
static ngx_int_t
ngx_http_sluice_xfilter_output(ngx_http_request_t *r,
    ngx_http_sluice_xfilter_t *xf, ngx_uint_t last)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (xf->cur) {
        xf->cur->flush = 1;
    }

    if (last) {
        cl = ngx_alloc_chain_link(r->pool);
        b = ngx_calloc_buf(r->pool);
        if (cl == NULL || b == NULL) {
            return NGX_ERROR;
        }

        b->flush = 1;
        b->last_buf = 1;
        b->last_in_chain = 1;
        cl->buf = b;
        cl->next = NULL;
        *xf->last_out = cl;
    }

    rc = ngx_http_sluice_filter_next_body(r, xf->out);

    ngx_chain_update_chains(r->pool, &xf->free, &xf->busy, &xf->out,
                            (ngx_buf_tag_t) &ngx_http_sluice_filter_module);

    xf->out = NULL;
    xf->last_out = &xf->out;
    xf->cur = NULL;

    return rc;
}
