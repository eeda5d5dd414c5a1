/*
 * sluice_balancer: an upstream{} peer selector that hands nginx the
 * address of the target the PRECONTENT phase chose.  One try per entry:
 * the request bytes belong to one target, fallback re-enters through
 * error_page instead.  Put it before "keepalive" so connections are pooled.
 */

#include "ngx_http_sluice.h"


static ngx_int_t ngx_http_sluice_balancer_init_upstream(ngx_conf_t *cf,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_sluice_balancer_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_sluice_balancer_get(ngx_peer_connection_t *pc,
    void *data);
static void ngx_http_sluice_balancer_free(ngx_peer_connection_t *pc,
    void *data, ngx_uint_t state);
#if (NGX_HTTP_SSL)
static ngx_int_t ngx_http_sluice_balancer_set_session(
    ngx_peer_connection_t *pc, void *data);
static void ngx_http_sluice_balancer_save_session(ngx_peer_connection_t *pc,
    void *data);
#endif


char *
ngx_http_sluice_balancer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_upstream_server_t    *us;
    ngx_http_upstream_srv_conf_t  *uscf;

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

    uscf->peer.init_upstream = ngx_http_sluice_balancer_init_upstream;
    uscf->flags = NGX_HTTP_UPSTREAM_CREATE;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_sluice_balancer_init_upstream(ngx_conf_t *cf,
    ngx_http_upstream_srv_conf_t *us)
{
    us->peer.init = ngx_http_sluice_balancer_init_peer;
    return NGX_OK;
}


static ngx_int_t
ngx_http_sluice_balancer_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us)
{
    ngx_http_sluice_ctx_t  *ctx;

    ctx = ngx_http_sluice_get_ctx(r);

    if (ctx == NULL || !ctx->routed || ctx->sockaddr == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sluice: upstream used without a routed request");
        return NGX_ERROR;
    }

    r->upstream->peer.data = ctx;
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
    ngx_http_sluice_ctx_t *ctx = data;

    pc->sockaddr = ctx->sockaddr;
    pc->socklen = ctx->socklen;
    pc->name = &ctx->addr_text;
    pc->cached = 0;
    pc->connection = NULL;

    return NGX_OK;
}


static void
ngx_http_sluice_balancer_free(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
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
