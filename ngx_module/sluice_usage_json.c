/*
 * sluice_usage_json: token counts from provider JSON (chat completions,
 * responses and messages shapes), whole bodies or single stream events,
 * read with the allocation-free scanner (no tree is built).
 */

#include <string.h>
#include <stdlib.h>
#include "sluice_json.h"
#include "sluice_usage_json.h"


/* one count: usage.<key> or usage.<key>.<sub> goes to the field */
typedef struct {
    const char          *key;
    const char          *sub;
    size_t               field;
} sluice_usage_field_t;


static int sluice_usage_member(const uint8_t *p, size_t len,
    const char *name, sluice_json_member_t *m);
static int sluice_usage_find(const uint8_t *p, sluice_json_member_t *root,
    sluice_json_member_t *usage);
static void sluice_usage_read(const uint8_t *p, sluice_json_member_t *usage,
    sluice_usage_t *u);
static int sluice_usage_count(const uint8_t *p, sluice_json_member_t *v,
    int64_t *n);
static size_t sluice_usage_ws(const uint8_t *p, size_t i, size_t len);


/* later entries win when a provider sends both spellings */
static const sluice_usage_field_t  sluice_usage_fields[] = {
    { "prompt_tokens", NULL, offsetof(sluice_usage_t, in) },
    { "input_tokens", NULL, offsetof(sluice_usage_t, in) },
    { "completion_tokens", NULL, offsetof(sluice_usage_t, out) },
    { "output_tokens", NULL, offsetof(sluice_usage_t, out) },
    { "prompt_tokens_details", "cached_tokens",
      offsetof(sluice_usage_t, cached) },
    { "input_tokens_details", "cached_tokens",
      offsetof(sluice_usage_t, cached) },
    { "cache_read_input_tokens", NULL, offsetof(sluice_usage_t, cached) },
    { "completion_tokens_details", "reasoning_tokens",
      offsetof(sluice_usage_t, reasoning) },
    { "output_tokens_details", "reasoning_tokens",
      offsetof(sluice_usage_t, reasoning) },
    { NULL, NULL, 0 }
};


/* where the usage object sits: root.<outer>.usage, outer NULL = root */
static const char  *sluice_usage_outer[] = {
    NULL,           /* chat, responses and messages bodies, chunks */
    "response",     /* responses stream: response.completed etc. */
    "message",      /* messages stream: message_start */
};


void
sluice_usage_init(sluice_usage_t *u)
{
    u->in = -1;
    u->out = -1;
    u->cached = -1;
    u->reasoning = -1;
}


int
sluice_usage_hint(const uint8_t *p, size_t len)
{
    size_t          i;
    const uint8_t  *q;

    i = 0;

    while (i < len) {
        q = memchr(p + i, '"', len - i);
        if (q == NULL) {
            return 0;
        }

        i = q - p;

        if (len - i < 7 || memcmp(q, "\"usage\"", 7) != 0) {
            i++;
            continue;
        }

        i = sluice_usage_ws(p, i + 7, len);

        if (i < len && p[i] == ':') {
            i = sluice_usage_ws(p, i + 1, len);

            if (i < len && p[i] == '{') {
                return 1;
            }
        }
    }

    return 0;
}


enum {
    SLUICE_USAGE_M_USAGE = 0,
    SLUICE_USAGE_M_RESPONSE,
    SLUICE_USAGE_M_MESSAGE,
    SLUICE_USAGE_M_CHOICES,
    SLUICE_USAGE_M_N
};


int
sluice_usage_parse(const uint8_t *p, size_t len, sluice_usage_t *u,
    int *usage_only)
{
    size_t                open, i;
    sluice_json_error_t   err;
    sluice_json_member_t  usage, m[SLUICE_USAGE_M_N];

    if (usage_only) {
        *usage_only = 0;
    }

    m[SLUICE_USAGE_M_USAGE].name = "usage";
    m[SLUICE_USAGE_M_RESPONSE].name = "response";
    m[SLUICE_USAGE_M_MESSAGE].name = "message";
    m[SLUICE_USAGE_M_CHOICES].name = "choices";

    if (sluice_json_scan(p, len, m, SLUICE_USAGE_M_N, &open, &err) != 0) {
        return SLUICE_USAGE_INVALID;
    }

    if (sluice_usage_find(p, m, &usage) != 0) {
        return SLUICE_USAGE_NONE;
    }

    sluice_usage_read(p, &usage, u);

    if (usage_only && m[SLUICE_USAGE_M_CHOICES].type == SLUICE_JSON_ARRAY) {
        i = sluice_usage_ws(p, m[SLUICE_USAGE_M_CHOICES].start + 1, len);
        *usage_only = (i < len && p[i] == ']');
    }

    return SLUICE_USAGE_FOUND;
}


/* one member of the object spanning [p, p + len); offsets made absolute */
static int
sluice_usage_member(const uint8_t *p, size_t len, const char *name,
    sluice_json_member_t *m)
{
    size_t               open;
    sluice_json_error_t  err;

    m->name = name;

    if (sluice_json_scan(p, len, m, 1, &open, &err) != 0
        || m->type == SLUICE_JSON_NONE)
    {
        return -1;
    }

    return 0;
}


/* usage, response.usage or message.usage: the first that is an object */
static int
sluice_usage_find(const uint8_t *p, sluice_json_member_t *root,
    sluice_json_member_t *usage)
{
    size_t                 i, base;
    sluice_json_member_t  *outer;

    for (i = 0; i < sizeof(sluice_usage_outer) / sizeof(char *); i++) {
        outer = &root[i];

        if (outer->type != SLUICE_JSON_OBJECT) {
            continue;
        }

        if (i == 0) {
            *usage = *outer;
            return 0;
        }

        base = outer->start;

        if (sluice_usage_member(p + base, outer->end - base, "usage", usage)
            == 0 && usage->type == SLUICE_JSON_OBJECT)
        {
            usage->start += base;
            usage->end += base;
            return 0;
        }
    }

    return -1;
}


#define SLUICE_USAGE_FIELDS  (sizeof(sluice_usage_fields)                 \
                              / sizeof(sluice_usage_field_t) - 1)


/* every field in one pass over the usage object; details in their own */
static void
sluice_usage_read(const uint8_t *p, sluice_json_member_t *usage,
    sluice_usage_t *u)
{
    size_t                       k, open, base;
    int64_t                      n;
    sluice_json_error_t          err;
    sluice_json_member_t         v[SLUICE_USAGE_FIELDS], sub;
    const sluice_usage_field_t  *f;

    base = usage->start;

    for (k = 0; k < SLUICE_USAGE_FIELDS; k++) {
        v[k].name = sluice_usage_fields[k].key;
    }

    if (sluice_json_scan(p + base, usage->end - base, v, SLUICE_USAGE_FIELDS,
                         &open, &err)
        != 0)
    {
        return;
    }

    for (k = 0; k < SLUICE_USAGE_FIELDS; k++) {
        f = &sluice_usage_fields[k];

        if (v[k].type == SLUICE_JSON_NONE) {
            continue;
        }

        v[k].start += base;
        v[k].end += base;

        if (f->sub) {
            if (v[k].type != SLUICE_JSON_OBJECT
                || sluice_usage_member(p + v[k].start, v[k].end - v[k].start,
                                       f->sub, &sub)
                   != 0)
            {
                continue;
            }

            sub.start += v[k].start;
            sub.end += v[k].start;
            v[k] = sub;
        }

        if (sluice_usage_count(p, &v[k], &n) == 0) {
            *(int64_t *) ((char *) u + f->field) = n;
        }
    }
}


/* a count: a non-negative integer, or a number with an integral value */
static int
sluice_usage_count(const uint8_t *p, sluice_json_member_t *v, int64_t *n)
{
    char    buf[32];
    size_t  len, i;
    double  d;

    if (v->type != SLUICE_JSON_NUMBER) {
        return -1;
    }

    len = v->end - v->start;

    if (len == 0 || len >= sizeof(buf) || p[v->start] == '-') {
        return -1;
    }

    for (i = 0; i < len && p[v->start + i] >= '0' && p[v->start + i] <= '9';
         i++)
    {
        /* void */
    }

    memcpy(buf, p + v->start, len);
    buf[len] = '\0';

    if (i == len) {
        if (len > 15) {
            return -1;
        }
        *n = strtoll(buf, NULL, 10);
        return 0;
    }

    d = strtod(buf, NULL);

    if (d >= 0 && d < 9e15 && d == (double) (int64_t) d) {
        *n = (int64_t) d;
        return 0;
    }

    return -1;
}


static size_t
sluice_usage_ws(const uint8_t *p, size_t i, size_t len)
{
    while (i < len
           && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
    {
        i++;
    }

    return i;
}
