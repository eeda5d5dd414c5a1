/*
 * sluice_zone: the shared-memory zone for per-edge mutable state.  For
 * now it holds request counters by status class; limits, reservations
 * and target health will live here too.  Survives reloads like limit_req.
 */

#include "ngx_http_sluice.h"


static ngx_int_t ngx_http_sluice_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);


char *
ngx_http_sluice_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sluice_main_conf_t *mcf = conf;

    u_char     *p;
    ssize_t     size;
    ngx_str_t  *value, name, s;

    if (mcf->zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');
    if (p == NULL) {
        return "needs name:size";
    }

    name.data = value[1].data;
    name.len = p - value[1].data;
    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (name.len == 0 || size == NGX_ERROR
        || size < (ssize_t) (8 * ngx_pagesize))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\" (at least %uz bytes)",
                           &value[1], 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    mcf->zone = ngx_shared_memory_add(cf, &name, size,
                                      &ngx_http_sluice_module);
    if (mcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->zone->init = ngx_http_sluice_zone_init;
    mcf->zone->data = mcf;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_sluice_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t             *shpool;
    ngx_http_sluice_counters_t  *counters;

    if (data) {
        /* reload: keep the counters of the previous cycle */
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    counters = ngx_slab_calloc(shpool, sizeof(ngx_http_sluice_counters_t));
    if (counters == NULL) {
        return NGX_ERROR;
    }

    shpool->data = counters;
    shm_zone->data = counters;

    return NGX_OK;
}


/* lock-free: atomic adds only */
void
ngx_http_sluice_zone_count(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_http_sluice_counters_t   *counters;
    ngx_http_sluice_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_sluice_module);

    if (mcf->zone == NULL || mcf->zone->data == NULL) {
        return;
    }

    counters = mcf->zone->data;

    (void) ngx_atomic_fetch_add(&counters->requests, 1);
    (void) ngx_atomic_fetch_add(&counters->status[status < 600
                                                  ? status / 100 : 0], 1);
}
