/*
 * Response filters: X-Request-Id on every gateway response, time to first
 * byte, and token usage read from JSON bodies and SSE streams; the usage
 * chunk the gateway asked for on the caller's behalf is cut from streams.
 */

#include "ngx_http_sluice.h"
#include "ngx_http_sluice_filter.h"
#include "sluice_sse.h"
#include "sluice_usage_json.h"


#define NGX_HTTP_SLUICE_FILTER_NONE   0
#define NGX_HTTP_SLUICE_FILTER_JSON   1
#define NGX_HTTP_SLUICE_FILTER_SSE    2
#define NGX_HTTP_SLUICE_FILTER_XLATE  3

/* most bytes held for one SSE event, or copied of one JSON body */
#define NGX_HTTP_SLUICE_FILTER_MAX    (1024 * 1024)

/* held bytes leave in copies of this size, reused through free_mem */
#define NGX_HTTP_SLUICE_FILTER_CHUNK  4096

/* an event's name or data is the literal, compared length first */
#define ngx_http_sluice_filter_is(p, len, lit)                               \
    ((len) == sizeof(lit) - 1 && ngx_strncmp(p, lit, sizeof(lit) - 1) == 0)


/* malloc'd, freed by the pool cleanup of the filter context */
typedef struct {
    u_char                        *data;
    size_t                         len;
    size_t                         cap;
} ngx_http_sluice_filter_mem_t;


/*
 * SSE with the usage chunk to drop ("drop" mode) works on stream offsets
 * (bytes since the first body byte): everything before "emit" is out or
 * dropped; "mem" holds the incomplete event [held, base) copied out of
 * earlier input buffers; the buffer being fed starts at "base".  Bytes of
 * complete events leave as references into the input buffer, whose last
 * one carries it as shadow: the upstream may reuse its buffer only once
 * the client took them (sub_filter's scheme), so memory stays bounded by
 * the upstream buffer plus one held event.
 */
typedef struct {
    ngx_http_request_t            *request;
    ngx_http_sluice_ctx_t         *sctx;
    ngx_uint_t                     mode;

    sluice_sse_t                   sse;
    sluice_usage_t                 usage;
    ngx_http_sluice_filter_mem_t   mem;

    uint64_t                       held;
    uint64_t                       emit;
    uint64_t                       base;
    u_char                        *base_p;
    u_char                        *base_last; /* end of the buffer fed */
    u_char                        *hint;     /* see filter_hint */
    ngx_buf_t                     *buf;
    ngx_buf_t                     *last_b;   /* last out buf made for buf */

    ngx_chain_t                   *out;
    ngx_chain_t                  **last_out;
    ngx_chain_t                   *busy;
    ngx_chain_t                   *free;     /* bufs referring to input */
    ngx_chain_t                   *free_mem; /* chunk copies */

    ngx_http_sluice_xfilter_t     *xf;       /* mode XLATE */
    ngx_uint_t                     events;   /* SSE events seen */
    void                         (*finalize)(ngx_http_request_t *r,
                                     ngx_int_t rc);  /* the proxy's */

    unsigned                       drop:1;   /* cut the usage chunk */
    unsigned                       failing:1; /* our error frame goes */
    unsigned                       terminal:1; /* the stream's last event */
    unsigned                       ended:1;  /* the caller's answer ended */
    unsigned                       skip_lf:1; /* cut event ended in CR */
    unsigned                       raw:1;    /* gave up parsing */
    unsigned                       over:1;   /* JSON body beyond the cap */
} ngx_http_sluice_filter_ctx_t;


static ngx_int_t ngx_http_sluice_filter_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_sluice_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_sluice_filter_start(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx);
static ngx_uint_t ngx_http_sluice_filter_mode(ngx_http_request_t *r);
static void ngx_http_sluice_filter_cleanup(void *data);
static ngx_int_t ngx_http_sluice_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_sluice_filter_json(ngx_http_request_t *r,
    ngx_http_sluice_filter_ctx_t *f, ngx_chain_t *in);
static ngx_int_t ngx_http_sluice_filter_sse_drop(ngx_http_request_t *r,
    ngx_http_sluice_filter_ctx_t *f, ngx_chain_t *in);
static void ngx_http_sluice_filter_end(ngx_http_request_t *r,
    ngx_http_sluice_filter_ctx_t *f);
static ngx_int_t ngx_http_sluice_filter_sse_buf(
    ngx_http_sluice_filter_ctx_t *f, ngx_buf_t *b);
static size_t ngx_http_sluice_filter_skip(ngx_http_sluice_filter_ctx_t *f,
    u_char *p, size_t n);
static ngx_int_t ngx_http_sluice_filter_feed(ngx_http_sluice_filter_ctx_t *f,
    u_char *p, size_t n);
static int ngx_http_sluice_filter_event(void *data,
    const sluice_sse_event_t *ev);
static void ngx_http_sluice_filter_tokens(ngx_http_sluice_filter_ctx_t *f);
static ngx_uint_t ngx_http_sluice_filter_hint(ngx_http_sluice_filter_ctx_t *f,
    const sluice_sse_event_t *ev);
static ngx_uint_t ngx_http_sluice_filter_terminal(
    ngx_http_sluice_filter_ctx_t *f, const sluice_sse_event_t *ev);
static ngx_int_t ngx_http_sluice_filter_emit(ngx_http_sluice_filter_ctx_t *f,
    uint64_t from, uint64_t to);
static ngx_int_t ngx_http_sluice_filter_hold(ngx_http_sluice_filter_ctx_t *f,
    uint64_t from, uint64_t to);
static ngx_int_t ngx_http_sluice_filter_copy(ngx_http_sluice_filter_ctx_t *f,
    u_char *p, size_t n);
static ngx_int_t ngx_http_sluice_filter_ref(ngx_http_sluice_filter_ctx_t *f,
    u_char *p, size_t n);
static ngx_int_t ngx_http_sluice_filter_mark(ngx_http_sluice_filter_ctx_t *f,
    ngx_buf_t *b);
static ngx_int_t ngx_http_sluice_filter_output(ngx_http_request_t *r,
    ngx_http_sluice_filter_ctx_t *f);
static ngx_int_t ngx_http_sluice_filter_mem_add(ngx_log_t *log,
    ngx_http_sluice_filter_mem_t *m, u_char *p, size_t n);
static void ngx_http_sluice_filter_finalize(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_sluice_filter_fail(ngx_http_request_t *r,
    ngx_http_sluice_filter_ctx_t *f, ngx_uint_t status);


static ngx_http_module_t  ngx_http_sluice_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_sluice_filter_init,           /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_sluice_filter_module = {
    NGX_MODULE_V1,
    &ngx_http_sluice_filter_module_ctx,    /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;



ngx_int_t
ngx_http_sluice_filter_next_header(ngx_http_request_t *r)
{
    return ngx_http_next_header_filter(r);
}


ngx_int_t
ngx_http_sluice_filter_next_body(ngx_http_request_t *r, ngx_chain_t *in)
{
    return ngx_http_next_body_filter(r, in);
}


static ngx_int_t
ngx_http_sluice_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_sluice_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_sluice_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_sluice_header_filter(ngx_http_request_t *r)
{
    ngx_http_sluice_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_sluice_get_ctx(r);
    if (ctx == NULL) {
        return ngx_http_next_header_filter(r);
    }

    if (ngx_http_sluice_rid_headers(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->filter = NULL;

    /* only answers that come from a provider are read */
    if (ctx->routed && r->upstream && r->upstream->peer.connection) {
        switch (ngx_http_sluice_filter_start(r, ctx)) {
        case NGX_OK:
            break;
        case NGX_DONE:
            return NGX_OK;      /* held until translated */
        default:
            return NGX_ERROR;
        }
    }

    return ngx_http_next_header_filter(r);
}


/* a provider's header arrived: note it and pick how to read the body */
static ngx_int_t
ngx_http_sluice_filter_start(ngx_http_request_t *r, ngx_http_sluice_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_uint_t                     mode;
    ngx_pool_cleanup_t            *cln;
    ngx_http_sluice_filter_ctx_t  *f;

    ctx->upstream_status = r->upstream->headers_in.status_n;
    ctx->ttfb = ngx_http_sluice_elapsed(r);

    mode = ngx_http_sluice_filter_mode(r);
    if (mode == NGX_HTTP_SLUICE_FILTER_NONE) {
        return NGX_OK;
    }

    f = ngx_pcalloc(r->pool, sizeof(ngx_http_sluice_filter_ctx_t));
    if (f == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_sluice_filter_cleanup;
    cln->data = f;

    f->request = r;
    f->sctx = ctx;
    f->mode = mode;
    f->last_out = &f->out;
    sluice_usage_init(&f->usage);
    sluice_sse_init(&f->sse, NGX_HTTP_SLUICE_FILTER_MAX,
                    ngx_http_sluice_filter_event, f);

    rc = NGX_OK;

    if (ctx->xlate) {
        f->mode = NGX_HTTP_SLUICE_FILTER_XLATE;
        rc = ngx_http_sluice_xfilter_start(r, ctx,
                                    mode == NGX_HTTP_SLUICE_FILTER_SSE,
                                    &f->xf);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }
    }

    if (mode == NGX_HTTP_SLUICE_FILTER_SSE) {
        f->drop = ctx->inject_usage && !ctx->xlate;

        /* a stream must flow event by event, whatever the location says */
        r->upstream->buffering = 0;
        ngx_http_clear_content_length(r);
        ngx_http_clear_accept_ranges(r);
    }

    /* a provider failing after its header: told in the caller's dialect */
    if (mode == NGX_HTTP_SLUICE_FILTER_SSE || rc == NGX_DONE) {
        f->finalize = r->upstream->finalize_request;
        r->upstream->finalize_request = ngx_http_sluice_filter_finalize;
    }

    r->filter_need_in_memory = 1;

    ctx->filter = f;
    ngx_http_set_ctx(r, f, ngx_http_sluice_filter_module);

    return rc;
}


static ngx_uint_t
ngx_http_sluice_filter_mode(ngx_http_request_t *r)
{
    ngx_str_t  *type;

    if (r->header_only) {
        return NGX_HTTP_SLUICE_FILTER_NONE;
    }

    /* compressed bodies cannot be read (the gateway asks for identity) */
    if (r->headers_out.content_encoding
        && r->headers_out.content_encoding->value.len)
    {
        return NGX_HTTP_SLUICE_FILTER_NONE;
    }

    type = &r->headers_out.content_type;

    /* the usual spelling compared at once, any other case byte by byte */
    if (type->len >= sizeof("text/event-stream") - 1
        && (ngx_memcmp(type->data, "text/event-stream",
                       sizeof("text/event-stream") - 1)
            == 0
            || ngx_strncasecmp(type->data, (u_char *) "text/event-stream",
                               sizeof("text/event-stream") - 1)
               == 0))
    {
        return NGX_HTTP_SLUICE_FILTER_SSE;
    }

    return NGX_HTTP_SLUICE_FILTER_JSON;
}


static void
ngx_http_sluice_filter_cleanup(void *data)
{
    ngx_http_sluice_filter_ctx_t  *f = data;

    sluice_sse_free(&f->sse);
    ngx_free(f->mem.data);
    f->mem.data = NULL;
}


static ngx_int_t
ngx_http_sluice_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_http_sluice_filter_ctx_t  *f;

    f = ngx_http_get_module_ctx(r, ngx_http_sluice_filter_module);

    if (f == NULL || f->failing) {
        return ngx_http_next_body_filter(r, in);
    }

    if (f->mode == NGX_HTTP_SLUICE_FILTER_XLATE) {
        return ngx_http_sluice_xfilter_body(r, f->xf, in);
    }

    if (f->mode == NGX_HTTP_SLUICE_FILTER_JSON) {
        return ngx_http_sluice_filter_json(r, f, in);
    }

    return ngx_http_sluice_filter_sse_drop(r, f, in);
}


/*
 * Passes the body on untouched.  An answer that arrives whole in one
 * buffer is read in place; otherwise a capped copy is read at the end.
 */
static ngx_int_t
ngx_http_sluice_filter_json(ngx_http_request_t *r,
    ngx_http_sluice_filter_ctx_t *f, ngx_chain_t *in)
{
    int           rc;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        /* the whole answer in one buffer (the usual case): read in place */
        if (!f->over && f->mem.len == 0 && ngx_buf_in_memory(b)
            && r->headers_out.content_length_n > 0
            && b->last - b->pos == r->headers_out.content_length_n)
        {
            if (sluice_usage_parse(b->pos, b->last - b->pos, &f->usage, NULL)
                == SLUICE_USAGE_FOUND)
            {
                ngx_http_sluice_filter_tokens(f);
            }

            f->over = 1;
            continue;
        }

        if (!f->over && ngx_buf_in_memory(b) && b->last > b->pos) {
            rc = ngx_http_sluice_filter_mem_add(r->connection->log, &f->mem,
                                                b->pos, b->last - b->pos);
            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (rc == NGX_DECLINED) {
                f->over = 1;
            }
        }

        if (b->last_buf && !f->over && f->mem.len) {
            rc = sluice_usage_parse(f->mem.data, f->mem.len, &f->usage, NULL);

            if (rc == SLUICE_USAGE_FOUND) {
                ngx_http_sluice_filter_tokens(f);
            }

            f->over = 1;
        }
    }

    return ngx_http_next_body_filter(r, in);
}


static ngx_int_t
ngx_http_sluice_filter_sse_drop(ngx_http_request_t *r,
    ngx_http_sluice_filter_ctx_t *f, ngx_chain_t *in)
{
    ngx_chain_t  *cl;

    for (cl = in; cl; cl = cl->next) {
        if (f->ended) {
            cl->buf->pos = cl->buf->last;
            continue;
        }

        if (ngx_http_sluice_filter_sse_buf(f, cl->buf) != NGX_OK) {
            return NGX_ERROR;
        }

        if (f->terminal && !f->raw) {
            ngx_http_sluice_filter_end(r, f);
        }
    }

    return ngx_http_sluice_filter_output(r, f);
}


/*
 * The stream's terminal event went out: the caller's answer ends with it
 * (a chunked answer's last chunk leaves in the same write, not when the
 * provider's answer ends after it), and whatever the provider sends
 * after it is read and dropped.
 */
static void
ngx_http_sluice_filter_end(ngx_http_request_t *r,
    ngx_http_sluice_filter_ctx_t *f)
{
    ngx_chain_t  *cl;

    for (cl = f->out; cl && cl->next; cl = cl->next) { /* void */ }

    /* nothing left to carry the end: the provider's end will */
    if (cl == NULL) {
        return;
    }

    f->ended = 1;
    f->sctx->answered = 1;
    f->mem.len = 0;

    if (r == r->main) {
        cl->buf->last_buf = 1;

    } else {
        cl->buf->last_in_chain = 1;
    }

    cl->buf->flush = 1;
}


/*
 * One input buffer: complete events out, the rest held, so the caller
 * never holds half an event (an error event we add after a provider
 * failure starts on a line of its own).
 */
static ngx_int_t
ngx_http_sluice_filter_sse_buf(ngx_http_sluice_filter_ctx_t *f,
    ngx_buf_t *b)
{
    size_t    n, skip;
    uint64_t  end, block;

    n = (ngx_buf_in_memory(b) && b->last > b->pos) ? b->last - b->pos : 0;

    f->buf = b;
    f->base_p = b->pos;
    f->base_last = b->pos + n;
    f->hint = NULL;
    f->last_b = NULL;
    end = f->base + n;

    /* the LF of a cut event's CRLF, cut off into this buffer, goes too */
    if (f->skip_lf && n) {
        if (b->pos[0] == LF && f->emit == f->base) {
            f->emit++;
        }

        f->skip_lf = 0;
    }

    if (n && !f->raw) {
        skip = (f->mem.len == 0) ? ngx_http_sluice_filter_skip(f, b->pos, n)
                                 : 0;

        if (ngx_http_sluice_filter_feed(f, b->pos + skip, n - skip)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* at the end of the body, or once parsing stopped, nothing is held */
    block = (f->raw || b->last_buf) ? end : f->sse.block;

    if (ngx_http_sluice_filter_emit(f, f->emit, block) != NGX_OK
        || ngx_http_sluice_filter_hold(f, block, end) != NGX_OK)
    {
        return NGX_ERROR;
    }

    f->base = end;

    return ngx_http_sluice_filter_mark(f, b);
}


/*
 * Whole events at the start of the buffer the splitter need not see,
 * passed on untouched: those before the first that may carry usage and
 * before the last whole one (the terminal event is a stream's last).
 * Not for a Responses caller: its events are counted, for the sequence
 * number of an error event we may add.
 */
static size_t
ngx_http_sluice_filter_skip(ngx_http_sluice_filter_ctx_t *f, u_char *p,
    size_t n)
{
    size_t  last, skip;

    if (f->sctx->dialect == NGX_HTTP_SLUICE_RESPONSES) {
        return 0;
    }

    last = sluice_sse_skippable(&f->sse, p, n, n);

    if (last < 2) {
        return 0;
    }

    /* the usage hint's first place in the buffer: f->hint's contract */
    f->hint = p + sluice_usage_hint_find(p, n);

    /* within the whole events skippable found */
    skip = sluice_sse_last_blank(p, ngx_min((size_t) (f->hint - p),
                                            last - 1));
    sluice_sse_skip(&f->sse, skip);

    return skip;
}


static ngx_int_t
ngx_http_sluice_filter_feed(ngx_http_sluice_filter_ctx_t *f, u_char *p,
    size_t n)
{
    int  rc;

    rc = sluice_sse_feed(&f->sse, p, n);

    if (rc == SLUICE_SSE_OK) {
        return NGX_OK;
    }

    if (rc == SLUICE_SSE_TOO_BIG) {
        ngx_log_error(NGX_LOG_WARN, f->request->connection->log, 0,
                      "sluice: SSE event over %uz bytes, stream passed "
                      "through unread", (size_t) NGX_HTTP_SLUICE_FILTER_MAX);
        f->raw = 1;
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_ERR, f->request->connection->log, 0,
                  "sluice: SSE splitter failed");

    return NGX_ERROR;
}


/* splitter handler: usage from the event; cut it if it is ours */
static int
ngx_http_sluice_filter_event(void *data, const sluice_sse_event_t *ev)
{
    int                            rc, usage_only;
    ngx_http_sluice_filter_ctx_t  *f = data;

    f->events++;

    if (ngx_http_sluice_filter_terminal(f, ev)) {
        f->terminal = 1;
    }

    if (!ngx_http_sluice_filter_hint(f, ev)) {
        return 0;
    }

    rc = sluice_usage_parse(ev->data, ev->data_len, &f->usage, &usage_only);
    if (rc != SLUICE_USAGE_FOUND) {
        return 0;
    }

    ngx_http_sluice_filter_tokens(f);

    if (!f->drop || !usage_only) {
        return 0;
    }

    if (ngx_http_sluice_filter_emit(f, f->emit, ev->start) != NGX_OK) {
        return -1;
    }

    f->emit = ev->end;
    f->skip_lf = f->sse.cr;

    return 0;
}


/*
 * sluice_usage_hint for the event, searching the buffer being fed once:
 * f->hint is where the pattern next begins in it (base_last: nowhere)
 * at or after the data of an earlier event, so an event whose data lies
 * in the buffer and ends by there has none.  Data copied out of the
 * buffer (several lines, or a line cut between buffers) is checked alone.
 */
static ngx_uint_t
ngx_http_sluice_filter_hint(ngx_http_sluice_filter_ctx_t *f,
    const sluice_sse_event_t *ev)
{
    u_char  *d, *last;

    d = (u_char *) ev->data;
    last = d + ev->data_len;

    if ((uintptr_t) d < (uintptr_t) f->base_p
        || (uintptr_t) last > (uintptr_t) f->base_last)
    {
        return sluice_usage_hint(ev->data, ev->data_len);
    }

    if (f->hint == NULL || f->hint < d) {
        f->hint = d + sluice_usage_hint_find(d, f->base_last - d);
    }

    if (f->hint >= last) {
        return 0;
    }

    return sluice_usage_hint(ev->data, ev->data_len);
}


/* the event that ends a stream of the caller's dialect */
static ngx_uint_t
ngx_http_sluice_filter_terminal(ngx_http_sluice_filter_ctx_t *f,
    const sluice_sse_event_t *ev)
{
    switch (f->sctx->dialect) {

    case NGX_HTTP_SLUICE_MESSAGES:
        return ngx_http_sluice_filter_is(ev->name, ev->name_len,
                                         "message_stop");

    case NGX_HTTP_SLUICE_RESPONSES:
        return ngx_http_sluice_filter_is(ev->name, ev->name_len,
                                         "response.completed")
               || ngx_http_sluice_filter_is(ev->name, ev->name_len,
                                            "response.failed")
               || ngx_http_sluice_filter_is(ev->name, ev->name_len,
                                            "response.incomplete");

    default:
        return ngx_http_sluice_filter_is(ev->data, ev->data_len, "[DONE]");
    }
}


static void
ngx_http_sluice_filter_tokens(ngx_http_sluice_filter_ctx_t *f)
{
    ngx_http_sluice_filter_usage(f->sctx, &f->usage);
}


/* the counts the provider reported go to the request's usage record */
void
ngx_http_sluice_filter_usage(ngx_http_sluice_ctx_t *ctx,
    const sluice_usage_t *u)
{
    if (u == NULL) {
        return;
    }

    if (u->in >= 0) {
        ctx->in_tokens = (ngx_int_t) u->in;
    }

    if (u->out >= 0) {
        ctx->out_tokens = (ngx_int_t) u->out;
    }
}


/* sends stream bytes [from, to): held ones as copies, new ones by ref */
static ngx_int_t
ngx_http_sluice_filter_emit(ngx_http_sluice_filter_ctx_t *f, uint64_t from,
    uint64_t to)
{
    size_t  n;

    if (from >= to) {
        return NGX_OK;
    }

    if (from < f->base) {
        n = (size_t) (ngx_min(to, f->base) - from);

        if (ngx_http_sluice_filter_copy(f, f->mem.data + (from - f->held), n)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        from += n;
    }

    if (from < to) {
        return ngx_http_sluice_filter_ref(f, f->base_p + (from - f->base),
                                          (size_t) (to - from));
    }

    return NGX_OK;
}


/*
 * Keeps [from, to) for later; from is either where mem already starts
 * (the event goes on) or inside the current buffer (a new event began).
 * An event over the cap is sent as it is and parsing stops.
 */
static ngx_int_t
ngx_http_sluice_filter_hold(ngx_http_sluice_filter_ctx_t *f, uint64_t from,
    uint64_t to)
{
    ngx_int_t  rc;

    if (from >= f->base) {
        f->mem.len = 0;
        f->held = from;
    }

    f->emit = f->held;

    if (from >= to) {
        return NGX_OK;
    }

    from = ngx_max(from, f->base);

    rc = ngx_http_sluice_filter_mem_add(f->request->connection->log, &f->mem,
                                        f->base_p + (from - f->base),
                                        (size_t) (to - from));
    if (rc != NGX_DECLINED) {
        return rc;
    }

    ngx_log_error(NGX_LOG_WARN, f->request->connection->log, 0,
                  "sluice: SSE event over %uz bytes, stream passed "
                  "through unread", (size_t) NGX_HTTP_SLUICE_FILTER_MAX);

    f->raw = 1;

    if (ngx_http_sluice_filter_emit(f, f->held, to) != NGX_OK) {
        return NGX_ERROR;
    }

    f->mem.len = 0;
    f->held = to;
    f->emit = to;

    return NGX_OK;
}


static ngx_int_t
ngx_http_sluice_filter_copy(ngx_http_sluice_filter_ctx_t *f, u_char *p,
    size_t n)
{
    size_t        size;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    while (n) {
        cl = f->free_mem;

        if (cl) {
            f->free_mem = cl->next;
            b = cl->buf;

        } else {
            cl = ngx_alloc_chain_link(f->request->pool);
            if (cl == NULL) {
                return NGX_ERROR;
            }

            b = ngx_create_temp_buf(f->request->pool,
                                    NGX_HTTP_SLUICE_FILTER_CHUNK);
            if (b == NULL) {
                return NGX_ERROR;
            }

            b->tag = (ngx_buf_tag_t) &ngx_http_sluice_filter_module;
            cl->buf = b;
        }

        size = ngx_min(n, (size_t) (b->end - b->start));

        b->pos = b->start;
        b->last = ngx_cpymem(b->start, p, size);
        b->flush = 0;
        b->last_buf = 0;
        b->last_in_chain = 0;
        b->recycled = 0;
        b->shadow = NULL;

        cl->next = NULL;
        *f->last_out = cl;
        f->last_out = &cl->next;
        f->last_b = b;

        p += size;
        n -= size;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_sluice_filter_ref(ngx_http_sluice_filter_ctx_t *f, u_char *p,
    size_t n)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    cl = ngx_chain_get_free_buf(f->request->pool, &f->free);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b = cl->buf;
    ngx_memzero(b, sizeof(ngx_buf_t));

    b->tag = (ngx_buf_tag_t) &ngx_http_sluice_filter_module;
    b->memory = 1;
    b->pos = p;
    b->last = p + n;

    *f->last_out = cl;
    f->last_out = &cl->next;
    f->last_b = b;

    return NGX_OK;
}


/*
 * The last buffer made for input b carries b's flags and b itself as
 * shadow: b counts as consumed when the client took everything before.
 */
static ngx_int_t
ngx_http_sluice_filter_mark(ngx_http_sluice_filter_ctx_t *f, ngx_buf_t *b)
{
    ngx_buf_t  *last;

    if (f->last_b == NULL) {
        if (ngx_http_sluice_filter_ref(f, NULL, 0) != NGX_OK) {
            return NGX_ERROR;
        }

        f->last_b->memory = 0;
        f->last_b->sync = 1;
    }

    last = f->last_b;

    last->flush = b->flush;
    last->last_buf = b->last_buf;
    last->last_in_chain = b->last_in_chain;
    last->recycled = b->recycled;
    last->shadow = b;

    f->last_b = NULL;

    return NGX_OK;
}


static ngx_int_t
ngx_http_sluice_filter_output(ngx_http_request_t *r,
    ngx_http_sluice_filter_ctx_t *f)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t  *cl, **ll;

    rc = ngx_http_next_body_filter(r, f->out);

    for (ll = &f->busy; *ll; ll = &(*ll)->next) { /* void */ }

    *ll = f->out;
    f->out = NULL;
    f->last_out = &f->out;

    while (f->busy) {
        cl = f->busy;
        b = cl->buf;

        if (ngx_buf_size(b) != 0) {
            break;
        }

        if (b->shadow) {
            b->shadow->pos = b->shadow->last;
            b->shadow = NULL;
        }

        f->busy = cl->next;

        if (b->start) {
            cl->next = f->free_mem;
            f->free_mem = cl;

        } else {
            cl->next = f->free;
            f->free = cl;
        }
    }

    return rc;
}


/* NGX_DECLINED when the copy would pass the cap */
static ngx_int_t
ngx_http_sluice_filter_mem_add(ngx_log_t *log, ngx_http_sluice_filter_mem_t *m,
    u_char *p, size_t n)
{
    size_t   cap;
    u_char  *np;

    if (n > NGX_HTTP_SLUICE_FILTER_MAX - m->len) {
        return NGX_DECLINED;
    }

    if (m->len + n > m->cap) {
        cap = m->cap ? m->cap : 1024;

        while (cap < m->len + n) {
            cap *= 2;
        }

        np = realloc(m->data, cap);
        if (np == NULL) {
            ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                          "sluice: realloc(%uz) failed", cap);
            return NGX_ERROR;
        }

        m->data = np;
        m->cap = cap;
    }

    ngx_memcpy(m->data + m->len, p, n);
    m->len += n;

    return NGX_OK;
}


/*
 * Wraps the proxy's finalize_request for streams and held answers: when
 * the provider fails after its header (the idle timeout, a cut
 * connection), the caller gets an error in its own dialect before nginx
 * closes the connection, and the usage record says the request failed.
 */
static void
ngx_http_sluice_filter_finalize(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_uint_t                     status;
    ngx_http_sluice_filter_ctx_t  *f;

    f = ngx_http_get_module_ctx(r, ngx_http_sluice_filter_module);

    if (f == NULL) {
        return;                 /* cannot be: no redirect after a header */
    }

    f->finalize(r, rc);

    /* a client gone is not the provider's failure; 0 is a normal end */
    if ((rc < NGX_HTTP_SPECIAL_RESPONSE && rc != NGX_ERROR)
        || rc == NGX_HTTP_CLIENT_CLOSED_REQUEST
        || r->connection->error)
    {
        return;
    }

    /* a stream whose last event went out ended well, whatever follows */
    if (f->mode == NGX_HTTP_SLUICE_FILTER_XLATE
        ? ngx_http_sluice_xfilter_done(f->xf) : f->terminal)
    {
        return;
    }

    status = (rc == NGX_HTTP_GATEWAY_TIME_OUT) ? NGX_HTTP_GATEWAY_TIME_OUT
                                               : NGX_HTTP_BAD_GATEWAY;

    if (f->sctx->failed_status == 0) {
        f->sctx->failed_status = status;
    }

    if (f->mode == NGX_HTTP_SLUICE_FILTER_XLATE) {
        (void) ngx_http_sluice_xfilter_fail(r, f->xf, status);
        return;
    }

    (void) ngx_http_sluice_filter_fail(r, f, status);
}


/* a passed-through stream broke: an error event of its own dialect */
static ngx_int_t
ngx_http_sluice_filter_fail(ngx_http_request_t *r,
    ngx_http_sluice_filter_ctx_t *f, ngx_uint_t status)
{
    u_char       *p;
    size_t        len;
    ngx_buf_t    *b;
    ngx_str_t     rid;
    ngx_chain_t   out;
    const char   *code, *msg;

    code = (status == NGX_HTTP_GATEWAY_TIME_OUT) ? "upstream-timeout"
                                                 : "upstream-failed";
    msg = (status == NGX_HTTP_GATEWAY_TIME_OUT)
          ? "the provider stopped sending (idle timeout)"
          : "the provider's answer broke off";

    ngx_http_sluice_request_id(r, &rid);

    len = 256 + rid.len;
    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    p = b->pos;

    switch (f->sctx->dialect) {

    case NGX_HTTP_SLUICE_MESSAGES:
        p = ngx_slprintf(p, b->end, "event: error\ndata: {\"type\":\"error\","
                         "\"error\":{\"type\":\"%s\",\"message\":\"%s\"},"
                         "\"request_id\":\"%V\"}\n\n",
                         ngx_http_sluice_error_anthropic_type(status), msg,
                         &rid);
        break;

    case NGX_HTTP_SLUICE_RESPONSES:
        p = ngx_slprintf(p, b->end, "event: error\ndata: {\"type\":\"error\","
                         "\"code\":\"%s\",\"message\":\"%s\",\"param\":null,"
                         "\"sequence_number\":%ui}\n\n", code, msg, f->events);
        break;

    default:
        p = ngx_slprintf(p, b->end, "data: {\"error\":{\"message\":\"%s\","
                         "\"type\":\"%s\",\"code\":\"%s\",\"param\":null}}"
                         "\n\n", msg, code, code);
    }

    b->last = p;
    b->flush = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    /* a held partial event is dropped: the frame starts a line */
    f->failing = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
