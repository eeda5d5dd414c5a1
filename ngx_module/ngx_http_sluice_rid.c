/*
 * The request's id: drawn once per request, kept as $request_id, and
 * sent to the caller in the answer's headers.
 */

#include "ngx_http_sluice.h"

#include <openssl/rand.h>


static ngx_int_t ngx_http_sluice_rid_seed(void);
static uint64_t ngx_http_sluice_rid_next(void);
static void ngx_http_sluice_rid_hex(u_char *p, uint64_t *w);
static ngx_int_t ngx_http_sluice_rid_header(ngx_http_request_t *r,
    char *name, size_t len, ngx_str_t *value);


/*
 * Request ids come from a per-worker xoshiro256** generator (Blackman
 * and Vigna), seeded once per process from OpenSSL's RAND_bytes: nginx's
 * own $request_id calls RAND_bytes for every request, which costs more
 * than the rest of the id work together.  128 bits per id, so ids from
 * different workers and restarts do not meet.  Ids need not be secret.
 */
static uint64_t   ngx_http_sluice_rid_s[4];
static ngx_pid_t  ngx_http_sluice_rid_pid;     /* seeded in this process */



/*
 * The request's id.  The first call draws it and stores it as the value
 * of $request_id (a cacheable variable), so the header, the error body,
 * the usage record and any log_format using $request_id see one id.  If
 * something evaluated $request_id first, that value is kept.
 */
void
ngx_http_sluice_request_id(ngx_http_request_t *r, ngx_str_t *rid)
{
    u_char                       *p;
    uint64_t                      w[2];
    ngx_http_variable_value_t    *vv;
    ngx_http_sluice_main_conf_t  *mcf;

    ngx_str_null(rid);

    mcf = ngx_http_get_module_main_conf(r, ngx_http_sluice_module);
    vv = &r->variables[mcf->rid_index];

    if (!vv->valid && !vv->not_found) {
        p = ngx_pnalloc(r->pool, 32);

        if (p == NULL || ngx_http_sluice_rid_seed() != NGX_OK) {
            /* nginx's own, from RAND_bytes */
            vv = ngx_http_get_indexed_variable(r, mcf->rid_index);
            if (vv == NULL) {
                return;
            }

        } else {
            /*
             * time first: the request's start in ms (48 bits), then 80
             * random bits; ids made later sort later, so the ledger's
             * primary key grows at its right edge instead of all over
             */
            w[0] = ((uint64_t) r->start_sec * 1000 + r->start_msec) << 16
                   | (ngx_http_sluice_rid_next() & 0xffff);
            w[1] = ngx_http_sluice_rid_next();
            ngx_http_sluice_rid_hex(p, w);

            vv->len = 32;
            vv->data = p;
            vv->valid = 1;
            vv->no_cacheable = 0;
            vv->not_found = 0;
        }
    }

    if (vv->valid && !vv->not_found) {
        rid->data = vv->data;
        rid->len = vv->len;
    }
}


/* once per process: a forked worker draws its own seed */
static ngx_int_t
ngx_http_sluice_rid_seed(void)
{
    if (ngx_http_sluice_rid_pid == ngx_pid) {
        return NGX_OK;
    }

    if (RAND_bytes((u_char *) ngx_http_sluice_rid_s,
                   sizeof(ngx_http_sluice_rid_s))
        != 1)
    {
        return NGX_ERROR;
    }

    /* the one state the generator must never be in */
    ngx_http_sluice_rid_s[0] |= 1;
    ngx_http_sluice_rid_pid = ngx_pid;

    return NGX_OK;
}


static uint64_t
ngx_http_sluice_rid_next(void)
{
    uint64_t   r, t;
    uint64_t  *s = ngx_http_sluice_rid_s;

    r = s[1] * 5;
    r = ((r << 7) | (r >> 57)) * 9;
    t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);

    return r;
}


/* 32 lowercase hex digits, two at a time from a table of all 256 pairs */
static void
ngx_http_sluice_rid_hex(u_char *p, uint64_t *w)
{
    ngx_uint_t  i, k, d;

    static const u_char  pairs[] =
        "000102030405060708090a0b0c0d0e0f"
        "101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f"
        "303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f"
        "505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f"
        "707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f"
        "909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
        "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
        "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
        "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

    for (i = 0; i < 2; i++) {
        for (k = 0; k < 8; k++) {
            d = (w[i] >> (56 - 8 * k)) & 0xff;
            *p++ = pairs[2 * d];
            *p++ = pairs[2 * d + 1];
        }
    }
}


/*
 * X-Request-Id: $request_id, and request-id too for Anthropic callers
 * (their SDK reads that one); a provider's own ids are kept under
 * new names.
 */
ngx_int_t
ngx_http_sluice_rid_headers(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx)
{
    ngx_str_t         rid;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_http_sluice_request_id(r, &rid);
    if (rid.len == 0) {
        return NGX_OK;
    }

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        /* neither name can match a key not starting with x or r */
        if (h[i].hash == 0 || h[i].key.len == 0
            || ((h[i].key.data[0] | 0x20) != 'x'
                && (h[i].key.data[0] | 0x20) != 'r'))
        {
            continue;
        }

        if (h[i].key.len == sizeof("X-Request-Id") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "X-Request-Id",
                               sizeof("X-Request-Id") - 1)
               == 0)
        {
            ngx_str_set(&h[i].key, "X-Upstream-Request-Id");

        } else if (h[i].key.len == sizeof("request-id") - 1
                   && ngx_strncasecmp(h[i].key.data, (u_char *) "request-id",
                                      sizeof("request-id") - 1)
                      == 0)
        {
            ngx_str_set(&h[i].key, "Upstream-Request-Id");
        }
    }

    if (ngx_http_sluice_rid_header(r, "X-Request-Id",
                                      sizeof("X-Request-Id") - 1, &rid)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->dialect == NGX_HTTP_SLUICE_MESSAGES) {
        return ngx_http_sluice_rid_header(r, "request-id",
                                             sizeof("request-id") - 1, &rid);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_sluice_rid_header(ngx_http_request_t *r, char *name,
    size_t len, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = len;
    h->value = *value;
    h->lowcase_key = NULL;

    return NGX_OK;
}
