/*
 * The weighted choice of a model group's target (ngx_http_sluice_pick.c).
 */

#ifndef _NGX_HTTP_SLUICE_PICK_H_INCLUDED_
#define _NGX_HTTP_SLUICE_PICK_H_INCLUDED_


#include "ngx_http_sluice.h"
#include "sluice_table.h"


/*
 * Chooses among the targets of the group record (a copy in r->pool) by
 * the operator's weights, among those whose dialect Sluice speaks.
 * NGX_OK: *t (spans into record) and *dialect are the choice and
 * ctx->idle_timeout is the group's; NGX_DECLINED: no target can serve;
 * NGX_ERROR: the group record is malformed.  Never allocates.
 */
ngx_int_t ngx_http_sluice_pick(ngx_http_sluice_ctx_t *ctx, ngx_str_t *record,
    sluice_table_target_t *t, ngx_uint_t *dialect);


#endif /* _NGX_HTTP_SLUICE_PICK_H_INCLUDED_ */
