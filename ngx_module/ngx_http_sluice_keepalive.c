/*
 * Idle provider connections kept per worker, keyed by target: address
 * AND the TLS name.  Providers behind one CDN share addresses, so a pool
 * keyed by address alone (the stock keepalive module) could hand a
 * connection negotiated for one provider's name to another.
 */

#include "ngx_http_sluice.h"


#define NGX_HTTP_SLUICE_KA_NAME  256


typedef struct {
    ngx_queue_t                    queue;
    ngx_http_sluice_keepalive_t   *pool;
    ngx_connection_t              *connection;
    socklen_t                      socklen;
    ngx_sockaddr_t                 sockaddr;
    size_t                         name_len;
    u_char                         name[NGX_HTTP_SLUICE_KA_NAME];
} ngx_http_sluice_ka_item_t;


struct ngx_http_sluice_keepalive_s {
    ngx_queue_t                    cache;      /* most recent first */
    ngx_queue_t                    free;
    ngx_msec_t                     timeout;
    ngx_uint_t                     requests;
};


static ngx_int_t ngx_http_sluice_ka_match(ngx_http_sluice_ka_item_t *item,
    ngx_peer_connection_t *pc, ngx_str_t *name);
static void ngx_http_sluice_ka_close(ngx_connection_t *c);
static void ngx_http_sluice_ka_close_handler(ngx_event_t *ev);
static void ngx_http_sluice_ka_dummy_handler(ngx_event_t *ev);


ngx_http_sluice_keepalive_t *
ngx_http_sluice_keepalive_create(ngx_conf_t *cf, ngx_uint_t max,
    ngx_msec_t timeout, ngx_uint_t requests)
{
    ngx_uint_t                    i;
    ngx_http_sluice_ka_item_t    *items;
    ngx_http_sluice_keepalive_t  *ka;

    ka = ngx_pcalloc(cf->pool, sizeof(ngx_http_sluice_keepalive_t));
    items = ngx_pcalloc(cf->pool, max * sizeof(ngx_http_sluice_ka_item_t));

    if (ka == NULL || items == NULL) {
        return NULL;
    }

    ngx_queue_init(&ka->cache);
    ngx_queue_init(&ka->free);

    /* every worker inherits its own copy of the (empty) pool at fork */
    for (i = 0; i < max; i++) {
        items[i].pool = ka;
        ngx_queue_insert_head(&ka->free, &items[i].queue);
    }

    ka->timeout = timeout;
    ka->requests = requests;

    return ka;
}


static ngx_int_t
ngx_http_sluice_ka_match(ngx_http_sluice_ka_item_t *item,
    ngx_peer_connection_t *pc, ngx_str_t *name)
{
    return item->name_len == name->len
           && ngx_memn2cmp((u_char *) &item->sockaddr,
                           (u_char *) pc->sockaddr, item->socklen,
                           pc->socklen) == 0
           && ngx_memcmp(item->name, name->data, name->len) == 0;
}


ngx_int_t
ngx_http_sluice_keepalive_get(ngx_http_sluice_keepalive_t *ka,
    ngx_peer_connection_t *pc, ngx_str_t *name)
{
    ngx_queue_t                *q;
    ngx_connection_t           *c;
    ngx_http_sluice_ka_item_t  *item;

    for (q = ngx_queue_head(&ka->cache);
         q != ngx_queue_sentinel(&ka->cache);
         q = ngx_queue_next(q))
    {
        item = ngx_queue_data(q, ngx_http_sluice_ka_item_t, queue);

        if (ngx_http_sluice_ka_match(item, pc, name)) {
            goto found;
        }
    }

    return NGX_OK;

found:

    ngx_queue_remove(q);
    ngx_queue_insert_head(&ka->free, q);

    c = item->connection;
    item->connection = NULL;

    c->idle = 0;
    c->sent = 0;
    c->data = NULL;
    c->log = pc->log;
    c->read->log = pc->log;
    c->write->log = pc->log;
    c->pool->log = pc->log;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    pc->connection = c;
    pc->cached = 1;

    return NGX_DONE;
}


void
ngx_http_sluice_keepalive_save(ngx_http_sluice_keepalive_t *ka,
    ngx_http_upstream_t *u, ngx_peer_connection_t *pc, ngx_str_t *name,
    ngx_uint_t state)
{
    ngx_queue_t                *q;
    ngx_connection_t           *c;
    ngx_http_sluice_ka_item_t  *item;

    c = pc->connection;

    if (state & NGX_PEER_FAILED
        || c == NULL
        || name->len > NGX_HTTP_SLUICE_KA_NAME
        || c->read->eof || c->read->error || c->read->timedout
        || c->write->error || c->write->timedout
        || c->requests >= ka->requests
        || !u->keepalive || !u->request_body_sent
        || ngx_terminate || ngx_exiting
        || ngx_handle_read_event(c->read, 0) != NGX_OK)
    {
        return;
    }

    if (ngx_queue_empty(&ka->free)) {
        /* full: the least recently used connection makes room */
        q = ngx_queue_last(&ka->cache);
        ngx_queue_remove(q);
        item = ngx_queue_data(q, ngx_http_sluice_ka_item_t, queue);
        ngx_http_sluice_ka_close(item->connection);

    } else {
        q = ngx_queue_head(&ka->free);
        ngx_queue_remove(q);
        item = ngx_queue_data(q, ngx_http_sluice_ka_item_t, queue);
    }

    ngx_queue_insert_head(&ka->cache, q);

    item->connection = c;
    item->socklen = pc->socklen;
    ngx_memcpy(&item->sockaddr, pc->sockaddr, pc->socklen);
    item->name_len = name->len;
    ngx_memcpy(item->name, name->data, name->len);

    pc->connection = NULL;

    c->read->delayed = 0;
    ngx_add_timer(c->read, ka->timeout);

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    c->write->handler = ngx_http_sluice_ka_dummy_handler;
    c->read->handler = ngx_http_sluice_ka_close_handler;

    c->data = item;
    c->idle = 1;
    c->log = ngx_cycle->log;
    c->read->log = ngx_cycle->log;
    c->write->log = ngx_cycle->log;
    c->pool->log = ngx_cycle->log;

    if (c->read->ready) {
        ngx_http_sluice_ka_close_handler(c->read);
    }
}


/* an idle connection became readable: the provider closed it, or broke */
static void
ngx_http_sluice_ka_close_handler(ngx_event_t *ev)
{
    char                        buf[1];
    ssize_t                     n;
    ngx_connection_t           *c;
    ngx_http_sluice_ka_item_t  *item;

    c = ev->data;

    if (c->close || c->read->timedout) {
        goto close;
    }

    n = recv(c->fd, buf, 1, MSG_PEEK);

    if (n == -1 && ngx_socket_errno == NGX_EAGAIN) {
        ev->ready = 0;

        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            goto close;
        }

        return;
    }

close:

    item = c->data;

    ngx_http_sluice_ka_close(c);

    item->connection = NULL;
    ngx_queue_remove(&item->queue);
    ngx_queue_insert_head(&item->pool->free, &item->queue);
}


static void
ngx_http_sluice_ka_close(ngx_connection_t *c)
{
#if (NGX_HTTP_SSL)

    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;

        if (ngx_ssl_shutdown(c) == NGX_AGAIN) {
            c->ssl->handler = ngx_http_sluice_ka_close;
            return;
        }
    }

#endif

    ngx_destroy_pool(c->pool);
    ngx_close_connection(c);
}


static void
ngx_http_sluice_ka_dummy_handler(ngx_event_t *ev)
{
}
