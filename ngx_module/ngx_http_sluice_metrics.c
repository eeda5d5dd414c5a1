/*
 * sluice_metrics: the shared counters of sluice_zone in the Prometheus
 * text format, for a location the operator exposes (and protects).
 */

#include "ngx_http_sluice.h"


static ngx_int_t ngx_http_sluice_metrics_handler(ngx_http_request_t *r);


char *
ngx_http_sluice_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_sluice_metrics_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_sluice_metrics_handler(ngx_http_request_t *r)
{
    u_char                       *p;
    ngx_int_t                     rc;
    ngx_buf_t                    *b;
    ngx_uint_t                    i;
    ngx_chain_t                   out;
    ngx_http_sluice_counters_t   *c;
    ngx_http_sluice_main_conf_t  *mcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_sluice_module);

    if (mcf->zone == NULL || mcf->zone->data == NULL) {
        return NGX_HTTP_NOT_FOUND;      /* no sluice_zone configured */
    }

    c = mcf->zone->data;

    b = ngx_create_temp_buf(r->pool, 1024);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* atomic reads, no lock: the numbers are counters */
    p = ngx_sprintf(b->last,
                    "# HELP sluice_requests_total Gateway requests.\n"
                    "# TYPE sluice_requests_total counter\n"
                    "sluice_requests_total %uA\n"
                    "# HELP sluice_responses_total Gateway responses by "
                    "status class.\n"
                    "# TYPE sluice_responses_total counter\n",
                    c->requests);

    for (i = 1; i < 6; i++) {
        p = ngx_sprintf(p, "sluice_responses_total{class=\"%uixx\"} %uA\n",
                        i, c->status[i]);
    }

    b->last = p;
    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
