/*
 * Sluice nginx module: directives, configuration, phase registration and
 * per-worker setup.
 */

#include "ngx_http_sluice.h"


static ngx_int_t ngx_http_sluice_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_sluice_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_sluice_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_sluice_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_sluice_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_sluice_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_sluice_table(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sluice_usage(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sluice_usage_param(ngx_conf_t *cf,
    ngx_http_sluice_main_conf_t *mcf, ngx_str_t *v);
static char *ngx_http_sluice_gateway(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sluice_error(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_sluice_add_handler(ngx_conf_t *cf,
    ngx_http_phases phase, ngx_http_handler_pt h);
static ngx_int_t ngx_http_sluice_log_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_sluice_init_process(ngx_cycle_t *cycle);
static void ngx_http_sluice_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_sluice_commands[] = {

    { ngx_string("sluice_table"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_sluice_table,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sluice_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_sluice_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sluice_usage"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_sluice_usage,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sluice_heap_keep"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_sluice_heap_keep,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sluice_gateway"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_sluice_gateway,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sluice_error"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_sluice_error,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sluice_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_sluice_metrics,
      0,
      0,
      NULL },

    { ngx_string("sluice_provider_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sluice_loc_conf_t, provider_headers),
      NULL },

    { ngx_string("sluice_balancer"),
      NGX_HTTP_UPS_CONF|NGX_CONF_ANY,
      ngx_http_sluice_balancer,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_sluice_module_ctx = {
    ngx_http_sluice_preconfiguration,      /* preconfiguration */
    ngx_http_sluice_postconfiguration,     /* postconfiguration */

    ngx_http_sluice_create_main_conf,      /* create main configuration */
    ngx_http_sluice_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_sluice_create_loc_conf,       /* create location configuration */
    ngx_http_sluice_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_sluice_module = {
    NGX_MODULE_V1,
    &ngx_http_sluice_module_ctx,           /* module context */
    ngx_http_sluice_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_sluice_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_sluice_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* endpoint names for sluice_gateway, with the caller's dialect */
typedef struct {
    ngx_str_t     name;
    ngx_uint_t    endpoint;
    ngx_uint_t    dialect;
} ngx_http_sluice_endpoint_t;


static ngx_http_sluice_endpoint_t  ngx_http_sluice_endpoints[] = {
    { ngx_string("chat"), NGX_HTTP_SLUICE_EP_GENERATE,
      NGX_HTTP_SLUICE_CHAT },
    { ngx_string("responses"), NGX_HTTP_SLUICE_EP_GENERATE,
      NGX_HTTP_SLUICE_RESPONSES },
    { ngx_string("messages"), NGX_HTTP_SLUICE_EP_GENERATE,
      NGX_HTTP_SLUICE_MESSAGES },
    { ngx_string("count_tokens"), NGX_HTTP_SLUICE_EP_COUNT,
      NGX_HTTP_SLUICE_MESSAGES },
    { ngx_string("models"), NGX_HTTP_SLUICE_EP_MODELS,
      NGX_HTTP_SLUICE_CHAT },
    { ngx_null_string, 0, 0 }
};


static ngx_int_t
ngx_http_sluice_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_sluice_add_variables(cf);
}


static ngx_int_t
ngx_http_sluice_add_handler(ngx_conf_t *cf, ngx_http_phases phase,
    ngx_http_handler_pt h)
{
    ngx_http_handler_pt        *hp;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    hp = ngx_array_push(&cmcf->phases[phase].handlers);
    if (hp == NULL) {
        return NGX_ERROR;
    }

    *hp = h;
    return NGX_OK;
}


static ngx_int_t
ngx_http_sluice_postconfiguration(ngx_conf_t *cf)
{
    static ngx_str_t              rid = ngx_string("request_id");
    ngx_http_sluice_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_sluice_module);

    mcf->rid_index = ngx_http_get_variable_index(cf, &rid);
    if (mcf->rid_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (ngx_http_sluice_add_handler(cf, NGX_HTTP_ACCESS_PHASE,
                                    ngx_http_sluice_access_handler)
        != NGX_OK
        || ngx_http_sluice_add_handler(cf, NGX_HTTP_PRECONTENT_PHASE,
                                       ngx_http_sluice_route_handler)
           != NGX_OK
        || ngx_http_sluice_add_handler(cf, NGX_HTTP_LOG_PHASE,
                                       ngx_http_sluice_log_handler)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* LOG phase: shared counters, then the usage record */
static ngx_int_t
ngx_http_sluice_log_handler(ngx_http_request_t *r)
{
    ngx_http_sluice_ctx_t  *ctx;

    ctx = ngx_http_sluice_get_ctx(r);

    if (ctx == NULL || ctx->logged) {
        return NGX_OK;
    }

    ngx_http_sluice_route_uri_restore(r, ctx);

    ngx_http_sluice_zone_count(r, r->headers_out.status);

    if (ctx->no_usage) {
        ctx->logged = 1;
        return NGX_OK;
    }

    return ngx_http_sluice_usage_log_handler(r);
}


static void *
ngx_http_sluice_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_sluice_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_sluice_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->table_path = { 0, NULL };
     *     mcf->zone = NULL;
     *     mcf->redis = NULL;
     *     mcf->spool = { 0, NULL };
     */

    mcf->table_mapsize = NGX_CONF_UNSET_SIZE;
    mcf->spool_max = NGX_CONF_UNSET;
    mcf->maxlen = NGX_CONF_UNSET_UINT;
    mcf->queue = NGX_CONF_UNSET_UINT;
    mcf->heap_keep = NGX_CONF_UNSET;

    return mcf;
}


static char *
ngx_http_sluice_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_sluice_main_conf_t  *mcf = conf;

    ngx_conf_init_size_value(mcf->table_mapsize, 1024 * 1024 * 1024);
    ngx_conf_init_uint_value(mcf->maxlen, 1000000);
    ngx_conf_init_uint_value(mcf->queue, 10000);

    if (mcf->spool_max == NGX_CONF_UNSET) {
        mcf->spool_max = (off_t) 1024 * 1024 * 1024;
    }

    if (mcf->stream.data == NULL) {
        ngx_str_set(&mcf->stream, "sluice:usage");
    }

    ngx_http_sluice_heap_init_conf(mcf);

    return NGX_CONF_OK;
}


static void *
ngx_http_sluice_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_sluice_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_sluice_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lcf->error_code = { 0, NULL };
     */

    lcf->endpoint = NGX_CONF_UNSET_UINT;
    lcf->dialect = NGX_CONF_UNSET_UINT;
    lcf->provider_headers = NGX_CONF_UNSET;

    return lcf;
}


static char *
ngx_http_sluice_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_sluice_loc_conf_t  *prev = parent;
    ngx_http_sluice_loc_conf_t  *conf = child;

    /* an endpoint belongs to its own location, never inherited */
    ngx_conf_init_uint_value(conf->endpoint, NGX_HTTP_SLUICE_EP_NONE);
    ngx_conf_merge_uint_value(conf->dialect, prev->dialect,
                              NGX_HTTP_SLUICE_CHAT);
    ngx_conf_merge_value(conf->provider_headers, prev->provider_headers, 0);

    return NGX_CONF_OK;
}


static char *
ngx_http_sluice_table(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sluice_main_conf_t *mcf = conf;

    ssize_t     size;
    ngx_str_t  *value, s;

    if (mcf->table_path.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    mcf->table_path = value[1];

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value[2].data, "mapsize=", 8) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    s.data = value[2].data + 8;
    s.len = value[2].len - 8;
    size = ngx_parse_size(&s);

    if (size <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid mapsize \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    mcf->table_mapsize = (size_t) size;

    return NGX_CONF_OK;
}


static char *
ngx_http_sluice_usage(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sluice_main_conf_t *mcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (mcf->redis) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_http_sluice_usage_param(cf, mcf, &value[i])
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (mcf->redis == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"sluice_usage\" needs redis=IP:port");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* one name=value parameter of sluice_usage */
static char *
ngx_http_sluice_usage_param(ngx_conf_t *cf, ngx_http_sluice_main_conf_t *mcf,
    ngx_str_t *v)
{
    ngx_int_t   n;
    ngx_str_t   s;

    if (ngx_strncmp(v->data, "redis=", 6) == 0) {
        mcf->redis = ngx_pcalloc(cf->pool, sizeof(ngx_addr_t));
        if (mcf->redis == NULL) {
            return NGX_CONF_ERROR;
        }

        /* an address, never a name: workers do not resolve */
        if (ngx_parse_addr_port(cf->pool, mcf->redis, v->data + 6,
                                v->len - 6)
            != NGX_OK)
        {
            goto invalid;
        }

        mcf->redis->name.data = v->data + 6;
        mcf->redis->name.len = v->len - 6;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(v->data, "stream=", 7) == 0 && v->len > 7) {
        mcf->stream.data = v->data + 7;
        mcf->stream.len = v->len - 7;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(v->data, "spool_max=", 10) == 0) {
        s.data = v->data + 10;
        s.len = v->len - 10;
        mcf->spool_max = ngx_parse_offset(&s);

        if (mcf->spool_max <= 0) {
            goto invalid;
        }

        return NGX_CONF_OK;
    }

    if (ngx_strncmp(v->data, "spool=", 6) == 0 && v->len > 6) {
        mcf->spool.data = v->data + 6;
        mcf->spool.len = v->len - 6;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(v->data, "maxlen=", 7) == 0
        || ngx_strncmp(v->data, "queue=", 6) == 0)
    {
        s.data = (u_char *) ngx_strchr(v->data, '=') + 1;
        s.len = v->data + v->len - s.data;
        n = ngx_atoi(s.data, s.len);

        if (n <= 0) {
            goto invalid;
        }

        if (v->data[0] == 'm') {
            mcf->maxlen = n;
        } else {
            mcf->queue = n;
        }

        return NGX_CONF_OK;
    }

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"sluice_usage\"", v);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_sluice_gateway(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sluice_loc_conf_t *lcf = conf;

    ngx_str_t                   *value;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_sluice_endpoint_t  *ep;

    if (lcf->endpoint != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (ep = ngx_http_sluice_endpoints; ep->name.len; ep++) {
        if (ep->name.len == value[1].len
            && ngx_strncmp(ep->name.data, value[1].data, value[1].len) == 0)
        {
            break;
        }
    }

    if (ep->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown sluice endpoint \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    lcf->endpoint = ep->endpoint;
    lcf->dialect = ep->dialect;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (ep->endpoint == NGX_HTTP_SLUICE_EP_MODELS) {
        clcf->handler = ngx_http_sluice_models_handler;

    } else if (ep->endpoint == NGX_HTTP_SLUICE_EP_COUNT) {
        /* answered in PRECONTENT; never reached but by a broken phase */
        clcf->handler = ngx_http_sluice_error_handler;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_sluice_error(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sluice_loc_conf_t *lcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (lcf->error_code.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    lcf->error_code = value[1];

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_sluice_error_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_sluice_init_process(ngx_cycle_t *cycle)
{
    ngx_http_sluice_heap_init_process(cycle);

    if (ngx_http_sluice_table_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_sluice_usage_init_process(cycle);
}


static void
ngx_http_sluice_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_sluice_usage_exit_process(cycle);
    ngx_http_sluice_table_exit_process(cycle);
}
