/*
 * The weighted choice of a model group's target.  Each worker remembers
 * the group records it parsed last, with where their targets' fields
 * sit: a record equal byte for byte to a remembered one is not parsed
 * again.  Positions are offsets into the record, so they hold for any
 * copy of it, and a record that changed (a table write) simply differs.
 */

#include "ngx_http_sluice_pick.h"


/* targets of a group kept with their positions */
#define NGX_HTTP_SLUICE_PICK_MAX     8
#define NGX_HTTP_SLUICE_PICK_FIELDS  11

/* remembered group records: direct-mapped, records up to RECORD bytes */
#define NGX_HTTP_SLUICE_PICK_MEMO    16
#define NGX_HTTP_SLUICE_PICK_RECORD  1536


typedef struct {
    uint32_t                        off[NGX_HTTP_SLUICE_PICK_FIELDS];
    uint32_t                        len[NGX_HTTP_SLUICE_PICK_FIELDS];
    unsigned                        weight;
    ngx_uint_t                      dialect;
} ngx_http_sluice_pick_target_t;


typedef struct {
    ngx_uint_t                      total;      /* eligible targets' weight */
    ngx_uint_t                      n;          /* eligible targets kept */
    ngx_msec_t                      idle_timeout;
    ngx_http_sluice_pick_target_t   t[NGX_HTTP_SLUICE_PICK_MAX];
} ngx_http_sluice_pick_group_t;


typedef struct {
    size_t                          len;        /* 0: empty */
    ngx_http_sluice_pick_group_t    group;
    u_char                          record[NGX_HTTP_SLUICE_PICK_RECORD];
} ngx_http_sluice_pick_memo_t;


static ngx_http_sluice_pick_memo_t *ngx_http_sluice_pick_slot(
    ngx_str_t *record);
static ngx_int_t ngx_http_sluice_pick_parse(ngx_str_t *record,
    ngx_http_sluice_pick_group_t *g);
static void ngx_http_sluice_pick_keep(ngx_http_sluice_pick_target_t *k,
    sluice_table_target_t *t, u_char *base, ngx_uint_t dialect);
static void ngx_http_sluice_pick_spans(sluice_table_target_t *t,
    ngx_http_sluice_pick_target_t *k, u_char *base);
static ngx_int_t ngx_http_sluice_pick_walk(ngx_str_t *record,
    ngx_uint_t skip, ngx_uint_t pick, sluice_table_target_t *t,
    ngx_uint_t *dialect);


/* the span fields of sluice_table_target_t, in the order kept */
static const size_t  ngx_http_sluice_pick_fields[] = {
    offsetof(sluice_table_target_t, target_id),
    offsetof(sluice_table_target_t, provider),
    offsetof(sluice_table_target_t, dialect),
    offsetof(sluice_table_target_t, model),
    offsetof(sluice_table_target_t, scheme),
    offsetof(sluice_table_target_t, addr),
    offsetof(sluice_table_target_t, host),
    offsetof(sluice_table_target_t, tls_name),
    offsetof(sluice_table_target_t, base_path),
    offsetof(sluice_table_target_t, auth_kind),
    offsetof(sluice_table_target_t, credential)
};


static ngx_http_sluice_pick_memo_t
    ngx_http_sluice_pick_memo[NGX_HTTP_SLUICE_PICK_MEMO];


ngx_int_t
ngx_http_sluice_pick(ngx_http_sluice_ctx_t *ctx, ngx_str_t *record,
    sluice_table_target_t *t, ngx_uint_t *dialect)
{
    ngx_int_t                      rc;
    ngx_uint_t                     i, pick;
    ngx_http_sluice_pick_memo_t   *m;
    ngx_http_sluice_pick_group_t   parsed, *g;

    m = ngx_http_sluice_pick_slot(record);

    if (m && m->len == record->len
        && ngx_memcmp(m->record, record->data, record->len) == 0)
    {
        g = &m->group;

    } else {
        rc = ngx_http_sluice_pick_parse(record, &parsed);
        if (rc != NGX_OK) {
            return rc;
        }

        g = &parsed;

        if (m) {
            ngx_memcpy(m->record, record->data, record->len);
            m->len = record->len;
            m->group = parsed;
        }
    }

    ctx->idle_timeout = g->idle_timeout;

    pick = ngx_random() % g->total;

    for (i = 0; i < g->n; i++) {
        if (pick < g->t[i].weight) {
            ngx_http_sluice_pick_spans(t, &g->t[i], record->data);
            *dialect = g->t[i].dialect;
            return NGX_OK;
        }

        pick -= g->t[i].weight;
    }

    return ngx_http_sluice_pick_walk(record, g->n, pick, t, dialect);
}


/* the memo slot of a record (its head, tail and length), or NULL */
static ngx_http_sluice_pick_memo_t *
ngx_http_sluice_pick_slot(ngx_str_t *record)
{
    uint64_t  h, t;

    if (record->len < 8 || record->len > NGX_HTTP_SLUICE_PICK_RECORD) {
        return NULL;
    }

    ngx_memcpy(&h, record->data, 8);
    ngx_memcpy(&t, record->data + record->len - 8, 8);

    h = (h ^ (t * 0x9e3779b97f4a7c15ULL) ^ record->len)
        * 0xff51afd7ed558ccdULL;

    return &ngx_http_sluice_pick_memo[(h >> 32) % NGX_HTTP_SLUICE_PICK_MEMO];
}


/*
 * The group's eligible targets (a dialect Sluice speaks), the first
 * PICK_MAX of them kept.  NGX_DECLINED when none can serve or a target
 * line is malformed, NGX_ERROR when the group line is.
 */
static ngx_int_t
ngx_http_sluice_pick_parse(ngx_str_t *record, ngx_http_sluice_pick_group_t *g)
{
    int                     rc;
    ngx_int_t               d;
    const char             *pos;
    sluice_table_group_t    gr;
    sluice_table_target_t   t;

    if (sluice_table_group_parse((char *) record->data, record->len, &gr)
        != 0)
    {
        return NGX_ERROR;
    }

    g->total = 0;
    g->n = 0;
    g->idle_timeout = gr.idle_timeout ? (ngx_msec_t) gr.idle_timeout
                                      : NGX_HTTP_SLUICE_IDLE_TIMEOUT;
    pos = gr.targets;

    while ((rc = sluice_table_target_next(&pos, gr.end, &t)) == 1) {
        d = ngx_http_sluice_dialect_of(t.dialect.p, t.dialect.len);

        if (d == NGX_ERROR) {
            continue;
        }

        g->total += t.weight;

        if (g->n < NGX_HTTP_SLUICE_PICK_MAX) {
            ngx_http_sluice_pick_keep(&g->t[g->n++], &t, record->data, d);
        }
    }

    return (rc != 0 || g->total == 0) ? NGX_DECLINED : NGX_OK;
}


static void
ngx_http_sluice_pick_keep(ngx_http_sluice_pick_target_t *k,
    sluice_table_target_t *t, u_char *base, ngx_uint_t dialect)
{
    ngx_uint_t      i;
    sluice_span_t  *s;

    for (i = 0; i < NGX_HTTP_SLUICE_PICK_FIELDS; i++) {
        s = (sluice_span_t *) ((char *) t + ngx_http_sluice_pick_fields[i]);
        k->off[i] = (uint32_t) ((u_char *) s->p - base);
        k->len[i] = (uint32_t) s->len;
    }

    k->weight = t->weight;
    k->dialect = dialect;
}


static void
ngx_http_sluice_pick_spans(sluice_table_target_t *t,
    ngx_http_sluice_pick_target_t *k, u_char *base)
{
    ngx_uint_t      i;
    sluice_span_t  *s;

    for (i = 0; i < NGX_HTTP_SLUICE_PICK_FIELDS; i++) {
        s = (sluice_span_t *) ((char *) t + ngx_http_sluice_pick_fields[i]);
        s->p = (const char *) base + k->off[i];
        s->len = k->len[i];
    }

    t->weight = k->weight;
}


/* a large group: the chosen target is beyond the kept ones */
static ngx_int_t
ngx_http_sluice_pick_walk(ngx_str_t *record, ngx_uint_t skip,
    ngx_uint_t pick, sluice_table_target_t *t, ngx_uint_t *dialect)
{
    ngx_int_t              d;
    ngx_uint_t             i;
    const char            *pos;
    sluice_table_group_t   gr;

    if (sluice_table_group_parse((char *) record->data, record->len, &gr)
        != 0)
    {
        return NGX_ERROR;
    }

    pos = gr.targets;
    i = 0;

    while (sluice_table_target_next(&pos, gr.end, t) == 1) {
        d = ngx_http_sluice_dialect_of(t->dialect.p, t->dialect.len);

        if (d == NGX_ERROR || i++ < skip) {
            continue;
        }

        if (pick < t->weight) {
            *dialect = d;
            return NGX_OK;
        }

        pick -= t->weight;
    }

    return NGX_DECLINED;        /* cannot be: pick is below the total */
}
