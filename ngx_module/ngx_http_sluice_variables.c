/*
 * $sluice_* variables: what log_format can record, and the chosen
 * target for a configuration that builds its own proxy_pass and headers
 * (gateway.conf leaves that to the balancer and sluice_provider_headers).
 */

#include "ngx_http_sluice.h"


static ngx_int_t ngx_http_sluice_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_sluice_vars[] = {

    { ngx_string("sluice_upstream_scheme"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, scheme), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sluice_upstream_host"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, host), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sluice_upstream_uri"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, uri), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sluice_tls_name"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, tls_name), NGX_HTTP_VAR_NOCACHEABLE,
      0 },

    { ngx_string("sluice_auth_bearer"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, auth_bearer),
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_NOHASH, 0 },

    { ngx_string("sluice_auth_xapikey"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, auth_xapikey),
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_NOHASH, 0 },

    { ngx_string("sluice_anthropic_version"), NULL,
      ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, anthropic_version),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sluice_anthropic_beta"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, anthropic_beta),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sluice_key_id"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, key_id), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sluice_user"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, user), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sluice_project"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, project), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sluice_group"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, group), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sluice_provider"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, provider), NGX_HTTP_VAR_NOCACHEABLE,
      0 },

    { ngx_string("sluice_model"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, model), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sluice_target"), NULL, ngx_http_sluice_variable,
      offsetof(ngx_http_sluice_ctx_t, target_id), NGX_HTTP_VAR_NOCACHEABLE,
      0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_sluice_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_sluice_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* data is the offset of an ngx_str_t in the request context */
static ngx_int_t
ngx_http_sluice_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t              *s;
    ngx_http_sluice_ctx_t  *ctx;

    ctx = ngx_http_sluice_get_ctx(r);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) ctx + data);

    v->len = s->len;
    v->data = s->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
