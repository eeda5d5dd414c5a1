/*
 * sluice_table: in-place parsing of policy table records.
 */

#include <string.h>
#include "sluice_table.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif


static const char *sluice_table_fields(const char *p, const char *end,
    sluice_span_t *f, size_t n);
static int sluice_table_int(sluice_span_t s, int64_t *v);


/*
 * Splits one line (up to '\n' or end) into exactly n TAB-separated
 * fields.  Returns the start of the next line, or NULL when the field
 * count is wrong.  One pass: with SSE2 the TABs and the LF of sixteen
 * bytes are found at once, each field cut from the same mask.
 */
static const char *
sluice_table_fields(const char *p, const char *end, sluice_span_t *f,
    size_t n)
{
    size_t       k;
    const char  *start;
#if defined(__SSE2__)
    unsigned     bits;
    __m128i      v;
    const char  *q;
#endif

    k = 0;
    start = p;

#if defined(__SSE2__)
    while (end - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) p);
        bits = (unsigned) _mm_movemask_epi8(
                   _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')),
                                _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))));

        while (bits) {
            q = p + __builtin_ctz(bits);

            if (k == n) {
                return NULL;        /* more fields than expected */
            }

            f[k].p = start;
            f[k].len = (size_t) (q - start);
            k++;

            if (*q == '\n') {
                return (k == n) ? q + 1 : NULL;
            }

            start = q + 1;
            bits &= bits - 1;
        }

        p += 16;
    }
#endif

    for ( /* void */ ; ; p++) {
        if (p < end && *p != '\t' && *p != '\n') {
            continue;
        }

        if (k == n) {
            return NULL;
        }

        f[k].p = start;
        f[k].len = (size_t) (p - start);
        k++;

        if (p == end || *p == '\n') {
            if (k != n) {
                return NULL;
            }

            return (p == end) ? end : p + 1;
        }

        start = p + 1;
    }
}


static int
sluice_table_int(sluice_span_t s, int64_t *v)
{
    size_t  i;

    *v = 0;

    for (i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9' || *v > INT64_MAX / 10 - 10) {
            return -1;
        }
        *v = *v * 10 + (s.p[i] - '0');
    }

    return 0;
}


int
sluice_table_key_parse(const char *v, size_t len, sluice_table_key_t *k)
{
    sluice_span_t  f[8];

    if (sluice_table_fields(v, v + len, f, 8) == NULL
        || f[0].len != 1 || f[0].p[0] != '1'
        || sluice_table_int(f[3], &k->expires_at) != 0)
    {
        return -1;
    }

    k->key_id = f[1];
    k->status = f[2];
    k->user = f[4];
    k->project = f[5];
    k->environment = f[6];
    k->groups = f[7];

    return 0;
}


int
sluice_table_group_parse(const char *v, size_t len, sluice_table_group_t *g)
{
    int64_t         ms;
    sluice_span_t   f[4];
    const char     *next;

    /* "1 name strategy [idle_timeout_ms]" */
    ms = 0;
    next = sluice_table_fields(v, v + len, f, 4);

    if (next == NULL) {
        next = sluice_table_fields(v, v + len, f, 3);

    } else if (sluice_table_int(f[3], &ms) != 0 || ms > 86400000) {
        return -1;
    }

    if (next == NULL || f[0].len != 1 || f[0].p[0] != '1') {
        return -1;
    }

    g->name = f[1];
    g->strategy = f[2];
    g->idle_timeout = (uint64_t) ms;
    g->targets = next;
    g->end = v + len;

    return 0;
}


int
sluice_table_target_next(const char **pos, const char *end,
    sluice_table_target_t *t)
{
    sluice_span_t   f[13];
    const char     *next;
    int64_t         w;

    if (*pos >= end) {
        return 0;
    }

    next = sluice_table_fields(*pos, end, f, 13);

    if (next == NULL || f[0].len != 1 || f[0].p[0] != 'T'
        || sluice_table_int(f[2], &w) != 0 || w > 1000000)
    {
        return -1;
    }

    t->target_id = f[1];
    t->weight = (unsigned) w;
    t->provider = f[3];
    t->dialect = f[4];
    t->model = f[5];
    t->scheme = f[6];
    t->addr = f[7];
    t->host = f[8];
    t->tls_name = f[9];
    t->base_path = f[10];
    t->auth_kind = f[11];
    t->credential = f[12];

    *pos = next;
    return 1;
}


int
sluice_table_group_allowed(sluice_span_t groups, const char *name,
    size_t len)
{
    const char  *p, *end, *q;

    p = groups.p;
    end = groups.p + groups.len;

    while (p < end) {
        q = memchr(p, ',', (size_t) (end - p));
        if (q == NULL) {
            q = end;
        }

        if ((size_t) (q - p) == len && memcmp(p, name, len) == 0) {
            return 1;
        }

        /* "prefix*" allows every group starting with prefix */
        if (q > p && q[-1] == '*' && (size_t) (q - p - 1) <= len
            && memcmp(p, name, (size_t) (q - p - 1)) == 0)
        {
            return 1;
        }

        p = q + 1;
    }

    return 0;
}
