/*
 * POST /v1/messages/count_tokens: the module's own estimate of a
 * request's prompt tokens (sluice_estimate, the estimator admission
 * uses), answered without calling a provider.  The caller must be
 * allowed the model group, as for a real request.
 */

#include "ngx_http_sluice.h"
#include "sluice_estimate.h"


ngx_int_t
ngx_http_sluice_count(ngx_http_request_t *r, ngx_http_sluice_ctx_t *ctx,
    u_char *body, size_t len)
{
    u_char      *p;
    int64_t      n;
    const char  *why;

    n = sluice_estimate_tokens_why(ctx->dialect, (const char *) body, len,
                                   &why);

    if (n < 0) {
        p = ngx_pnalloc(r->pool, sizeof("invalid request: ") + 128);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *ngx_snprintf(p, sizeof("invalid request: ") + 127,
                      "invalid request: %s", why) = '\0';

        ctx->err_status = NGX_HTTP_BAD_REQUEST;
        ctx->err_code = "invalid-request";
        ctx->err_message = (const char *) p;
        return NGX_DONE;
    }

    p = ngx_pnalloc(r->pool, sizeof("{\"input_tokens\":}\n") + NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->answer.data = p;
    ctx->answer.len = ngx_sprintf(p, "{\"input_tokens\":%L}\n", n) - p;

    /* nothing was spent: counted in the metrics, no usage record */
    ctx->no_usage = 1;

    return NGX_DONE;
}
