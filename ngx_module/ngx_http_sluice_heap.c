/*
 * sluice_heap_keep: how much freed heap a worker keeps instead of giving
 * it back to the kernel at once.
 *
 * A request's pool takes its blocks from the top of the malloc heap.
 * With glibc's default (128 KB), the heap shrinks whenever a burst of
 * requests ends and grows again with the next: every page grown back is
 * a page fault, about 1.5 per request at 50 connections, a fifth of the
 * worker's CPU.  Keeping a few megabytes of freed heap makes the next
 * requests reuse warm pages.  Process-wide, so set only when the
 * module is in use (sluice_table), or when the directive says so.
 */

#include "ngx_http_sluice.h"

#if (NGX_LINUX)
#include <malloc.h>
#endif


#define NGX_HTTP_SLUICE_HEAP_KEEP  (4 * 1024 * 1024)


char *
ngx_http_sluice_heap_keep(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sluice_main_conf_t  *mcf = conf;

    ssize_t     n;
    ngx_str_t  *value;

    if (mcf->heap_keep != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        mcf->heap_keep = 0;
        return NGX_CONF_OK;
    }

    n = ngx_parse_size(&value[1]);

    if (n == NGX_ERROR || n > 1024 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "sluice_heap_keep: \"%V\" is not a size up to "
                           "1g, or off", &value[1]);
        return NGX_CONF_ERROR;
    }

    mcf->heap_keep = n;

    return NGX_CONF_OK;
}


void
ngx_http_sluice_heap_init_conf(ngx_http_sluice_main_conf_t *mcf)
{
    if (mcf->heap_keep == NGX_CONF_UNSET) {
        mcf->heap_keep = mcf->table_path.len ? NGX_HTTP_SLUICE_HEAP_KEEP : 0;
    }
}


void
ngx_http_sluice_heap_init_process(ngx_cycle_t *cycle)
{
    ngx_http_sluice_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_sluice_module);

    if (mcf == NULL || mcf->heap_keep <= 0) {
        return;
    }

#if (NGX_LINUX) && defined(M_TRIM_THRESHOLD)

    if (mallopt(M_TRIM_THRESHOLD, (int) mcf->heap_keep) != 1) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "sluice_heap_keep: mallopt(M_TRIM_THRESHOLD) failed");
    }

#endif
}
