/*
 * sluice_balancer: an upstream{} peer selector that hands nginx the
 * address of the target the PRECONTENT phase chose, and pools idle
 * connections per target (ngx_http_sluice_keepalive.c).  One try per
 * entry: the request bytes belong to one target; fallback re-enters
 * through error_page instead.
 *
 *     sluice_balancer [keepalive=N] [keepalive_timeout=time]
 *                     [keepalive_requests=N];
 */

#include "ngx_http_sluice.h"


typedef struct {
    ngx_http_sluice_keepalive_t  *keepalive;    /* NULL: no pooling */
} ngx_http_sluice_balancer_conf_t;


/*
 * Target addresses already parsed by this worker, direct-mapped on the
 * address text.  Text to address never changes meaning, so an entry
 * stays right until another address takes its slot; each request copies
 * what it uses into its context.
 */
#define NGX_HTTP_SLUICE_ADDR_CACHE  64
#define NGX_HTTP_SLUICE_ADDR_TEXT   64      /* "[v6 address]:port" fits */


typedef struct {
    size_t                            len;          /* 0: empty */
    socklen_t                         socklen;
    ngx_sockaddr_t                    sockaddr;
    u_char                            text[NGX_HTTP_SLUICE_ADDR_TEXT];
} ngx_http_sluice_balancer_addr_t;


typedef struct {
    ngx_http_sluice_ctx_t            *ctx;
    ngx_http_upstream_t              *upstream;
    ngx_http_sluice_balancer_conf_t  *conf;
    ngx_str_t                         pool_name;
    ngx_uint_t                        gets;         /* connections asked */
} ngx_http_sluice_balancer_peer_t;


static char *ngx_http_sluice_balancer_param(ngx_conf_t *cf, ngx_str_t *v,
    ngx_uint_t *max, ngx_msec_t *timeout, ngx_uint_t *requests);
static ngx_int_t ngx_http_sluice_balancer_init_upstream(ngx_conf_t *cf,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_sluice_balancer_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_sluice_balancer_get(ngx_peer_connection_t *pc,
    void *data);
static void ngx_http_sluice_balancer_free(ngx_peer_connection_t *pc,
    void *data, ngx_uint_t state);
static ngx_uint_t ngx_http_sluice_balancer_slot(u_char *text, size_t len);
static ngx_int_t ngx_http_sluice_balancer_scheme(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx);
#if (NGX_HTTP_SSL)
static ngx_int_t ngx_http_sluice_balancer_set_session(
    ngx_peer_connection_t *pc, void *data);
static void ngx_http_sluice_balancer_save_session(ngx_peer_connection_t *pc,
    void *data);
#endif


static ngx_http_sluice_balancer_addr_t
    ngx_http_sluice_balancer_addrs[NGX_HTTP_SLUICE_ADDR_CACHE];


char *
ngx_http_sluice_balancer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t                        *value;
    ngx_uint_t                        i, max, requests;
    ngx_msec_t                        timeout;
    ngx_http_upstream_server_t       *us;
    ngx_http_upstream_srv_conf_t     *uscf;
    ngx_http_sluice_balancer_conf_t  *bcf;

    uscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_upstream_module);

    if (uscf->peer.init_upstream) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"sluice_balancer\" must come first in the "
                           "upstream block (before \"keepalive\")");
        return NGX_CONF_ERROR;
    }

    /*
     * upstream{} insists on a server; targets come from the policy table,
     * so an empty placeholder stands in and is never used
     */
    if (uscf->servers->nelts == 0) {
        us = ngx_array_push(uscf->servers);
        if (us == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(us, sizeof(ngx_http_upstream_server_t));
    }

    max = 128;
    timeout = 60000;
    requests = 1000;
    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_http_sluice_balancer_param(cf, &value[i], &max, &timeout,
                                           &requests)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    bcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_sluice_balancer_conf_t));
    if (bcf == NULL) {
        return NGX_CONF_ERROR;
    }

    if (max) {
        bcf->keepalive = ngx_http_sluice_keepalive_create(cf, max, timeout,
                                                          requests);
        if (bcf->keepalive == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    uscf->peer.data = bcf;
    uscf->peer.init_upstream = ngx_http_sluice_balancer_init_upstream;
    uscf->flags = NGX_HTTP_UPSTREAM_CREATE;

    return NGX_CONF_OK;
}


static char *
ngx_http_sluice_balancer_param(ngx_conf_t *cf, ngx_str_t *v,
    ngx_uint_t *max, ngx_msec_t *timeout, ngx_uint_t *requests)
{
    ngx_int_t  n;
    ngx_str_t  s;

    if (ngx_strncmp(v->data, "keepalive=", 10) == 0) {
        n = ngx_atoi(v->data + 10, v->len - 10);
        if (n == NGX_ERROR) {
            goto invalid;
        }
        *max = n;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(v->data, "keepalive_timeout=", 18) == 0) {
        s.data = v->data + 18;
        s.len = v->len - 18;
        *timeout = ngx_parse_time(&s, 0);
        if (*timeout == (ngx_msec_t) NGX_ERROR) {
            goto invalid;
        }
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(v->data, "keepalive_requests=", 19) == 0) {
        n = ngx_atoi(v->data + 19, v->len - 19);
        if (n == NGX_ERROR || n == 0) {
            goto invalid;
        }
        *requests = n;
        return NGX_CONF_OK;
    }

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"sluice_balancer\"", v);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_sluice_balancer_init_upstream(ngx_conf_t *cf,
    ngx_http_upstream_srv_conf_t *us)
{
    if (us->peer.init_upstream != ngx_http_sluice_balancer_init_upstream) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"keepalive\" pools by address only; use "
                           "\"sluice_balancer keepalive=N\" instead");
        return NGX_ERROR;
    }

    us->peer.init = ngx_http_sluice_balancer_init_peer;
    return NGX_OK;
}


/*
 * The group's idle timeout is the provider's read timeout: a copy of the
 * location's upstream settings for this request only (the conf itself is
 * shared by every request of the location).
 */
static ngx_int_t
ngx_http_sluice_balancer_timeout(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx)
{
    ngx_http_upstream_t       *u;
    ngx_http_upstream_conf_t  *conf;

    u = r->upstream;

    if (ctx->idle_timeout == 0 || u->conf->read_timeout == ctx->idle_timeout)
    {
        return NGX_OK;
    }

    conf = ngx_palloc(r->pool, sizeof(ngx_http_upstream_conf_t));
    if (conf == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(conf, u->conf, sizeof(ngx_http_upstream_conf_t));
    conf->read_timeout = ctx->idle_timeout;
    u->conf = conf;

    return NGX_OK;
}


ngx_int_t
ngx_http_sluice_balancer_addr(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, u_char *text, size_t len)
{
    ngx_addr_t                        addr;
    ngx_http_sluice_balancer_addr_t  *e;

    if (len == 0) {
        return NGX_ERROR;
    }

    e = &ngx_http_sluice_balancer_addrs[ngx_http_sluice_balancer_slot(text,
                                                                     len)];

    if (e->len == len && ngx_memcmp(e->text, text, len) == 0) {
        ngx_memcpy(&ctx->target_addr, &e->sockaddr, e->socklen);
        ctx->sockaddr = &ctx->target_addr.sockaddr;
        ctx->socklen = e->socklen;
        return NGX_OK;
    }

    if (ngx_parse_addr_port(r->pool, &addr, text, len) != NGX_OK
        || addr.socklen > (socklen_t) sizeof(ngx_sockaddr_t))
    {
        return NGX_ERROR;
    }

    ngx_memcpy(&ctx->target_addr, addr.sockaddr, addr.socklen);
    ctx->sockaddr = &ctx->target_addr.sockaddr;
    ctx->socklen = addr.socklen;

    if (len <= NGX_HTTP_SLUICE_ADDR_TEXT) {
        ngx_memcpy(&e->sockaddr, addr.sockaddr, addr.socklen);
        ngx_memcpy(e->text, text, len);
        e->socklen = addr.socklen;
        e->len = len;
    }

    return NGX_OK;
}


/* the cache slot of an address text: its head, tail and length */
static ngx_uint_t
ngx_http_sluice_balancer_slot(u_char *text, size_t len)
{
    uint64_t  h, t;

    if (len < 8) {
        return ngx_hash_key(text, len) % NGX_HTTP_SLUICE_ADDR_CACHE;
    }

    ngx_memcpy(&h, text, 8);
    ngx_memcpy(&t, text + len - 8, 8);

    h = (h ^ (t * 0x9e3779b97f4a7c15ULL) ^ len) * 0xff51afd7ed558ccdULL;

    return (h >> 32) % NGX_HTTP_SLUICE_ADDR_CACHE;
}


/*
 * gateway.conf's proxy_pass is a static "https://sluice_providers": the
 * location has TLS set up, and each request's target decides whether its
 * connection uses it.  (A proxy_pass with variables set these already;
 * they are set again to the same values.)
 */
static ngx_int_t
ngx_http_sluice_balancer_scheme(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx)
{
    ngx_http_upstream_t  *u;

    u = r->upstream;

    if (ctx->scheme.len != 5) {
#if (NGX_HTTP_SSL)
        u->ssl = 0;
#endif
        ngx_str_set(&u->schema, "http://");
        return NGX_OK;
    }

#if (NGX_HTTP_SSL)
    if (u->conf->ssl) {
        u->ssl = 1;
        ngx_str_set(&u->schema, "https://");
        return NGX_OK;
    }
#endif

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "sluice: target \"%V\" needs TLS, which this location's "
                  "proxy_pass does not set up (use https://)",
                  &ctx->target_id);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_sluice_balancer_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us)
{
    ngx_http_sluice_ctx_t            *ctx;
    ngx_http_sluice_balancer_peer_t  *bp;

    ctx = ngx_http_sluice_get_ctx(r);

    if (ctx == NULL || !ctx->routed || ctx->sockaddr == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sluice: upstream used without a routed request");
        return NGX_ERROR;
    }

    /* the upstream request line is built: the caller's URI again */
    ngx_http_sluice_route_uri_restore(r, ctx);

    if (ngx_http_sluice_balancer_scheme(r, ctx) != NGX_OK
        || ngx_http_sluice_headers(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    bp = ngx_palloc(r->pool, sizeof(ngx_http_sluice_balancer_peer_t));
    if (bp == NULL) {
        return NGX_ERROR;
    }

    bp->ctx = ctx;
    bp->upstream = r->upstream;
    bp->conf = us->peer.data;
    bp->gets = 0;

    if (ngx_http_sluice_balancer_timeout(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    /* plain HTTP pools by address; TLS by address and name */
    if (ctx->scheme.len == 5) {
        bp->pool_name = ctx->tls_name;
    } else {
        ngx_str_null(&bp->pool_name);
    }

    r->upstream->peer.data = bp;
    r->upstream->peer.get = ngx_http_sluice_balancer_get;
    r->upstream->peer.free = ngx_http_sluice_balancer_free;
    r->upstream->peer.tries = 1;

#if (NGX_HTTP_SSL)
    r->upstream->peer.set_session = ngx_http_sluice_balancer_set_session;
    r->upstream->peer.save_session = ngx_http_sluice_balancer_save_session;
#endif

    return NGX_OK;
}


static ngx_int_t
ngx_http_sluice_balancer_get(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_sluice_balancer_peer_t *bp = data;

    /* a second get: nginx redials after a pooled connection failed */
    if (bp->gets++) {
        bp->ctx->attempts++;
    }

    pc->sockaddr = bp->ctx->sockaddr;
    pc->socklen = bp->ctx->socklen;
    pc->name = &bp->ctx->addr_text;
    pc->cached = 0;
    pc->connection = NULL;

    if (bp->conf->keepalive == NULL) {
        return NGX_OK;
    }

    return ngx_http_sluice_keepalive_get(bp->conf->keepalive, pc,
                                         &bp->pool_name);
}


static void
ngx_http_sluice_balancer_free(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
    ngx_http_sluice_balancer_peer_t *bp = data;

    if (bp->conf->keepalive) {
        ngx_http_sluice_keepalive_save(bp->conf->keepalive, bp->upstream,
                                       pc, &bp->pool_name, state);
    }

    pc->tries = 0;
}


#if (NGX_HTTP_SSL)

/* TLS sessions are not kept per target yet: full handshakes, still pooled */
static ngx_int_t
ngx_http_sluice_balancer_set_session(ngx_peer_connection_t *pc, void *data)
{
    return NGX_OK;
}


static void
ngx_http_sluice_balancer_save_session(ngx_peer_connection_t *pc, void *data)
{
}

#endif
