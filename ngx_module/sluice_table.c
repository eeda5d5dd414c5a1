/*
 * sluice_table: in-place parsing of policy table records.
 */

#include <string.h>
#include "sluice_table.h"


static const char *sluice_table_fields(const char *p, const char *end,
    sluice_span_t *f, size_t n);
static int sluice_table_int(sluice_span_t s, int64_t *v);


/*
 * Splits one line (up to '\n' or end) into exactly n TAB-separated
 * fields.  Returns the start of the next line, or NULL when the field
 * count is wrong.
 */
static const char *
sluice_table_fields(const char *p, const char *end, sluice_span_t *f,
    size_t n)
{
    const char  *eol, *q;
    size_t       k;

    eol = memchr(p, '\n', (size_t) (end - p));
    if (eol == NULL) {
        eol = end;
    }

    for (k = 0; k < n; k++) {
        q = memchr(p, '\t', (size_t) (eol - p));
        if (q == NULL) {
            q = eol;
        }

        if (q == eol && k != n - 1) {
            return NULL;
        }

        f[k].p = p;
        f[k].len = (size_t) (q - p);
        p = q + 1;
    }

    if (p <= eol) {
        return NULL;                /* more fields than expected */
    }

    return (eol == end) ? end : eol + 1;
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
