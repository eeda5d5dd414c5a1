/*
 * sluice_usage_json: token counts from provider JSON (chat completions,
 * responses and messages shapes), whole bodies or single stream events.
 */

#include <string.h>
#include <jansson.h>
#include "sluice_usage_json.h"


/* one count: usage.<key> or usage.<key>.<sub> goes to the field */
typedef struct {
    const char          *key;
    const char          *sub;
    size_t               field;
} sluice_usage_field_t;


static json_t *sluice_usage_find(json_t *root);
static void sluice_usage_read(json_t *usage, sluice_usage_t *u);
static int sluice_usage_count(json_t *v, int64_t *n);
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


int
sluice_usage_parse(const uint8_t *p, size_t len, sluice_usage_t *u,
    int *usage_only)
{
    json_t        *root, *usage, *choices;
    json_error_t   err;

    if (usage_only) {
        *usage_only = 0;
    }

    root = json_loadb((const char *) p, len, 0, &err);
    if (root == NULL) {
        return SLUICE_USAGE_INVALID;
    }

    usage = sluice_usage_find(root);

    if (usage == NULL) {
        json_decref(root);
        return SLUICE_USAGE_NONE;
    }

    sluice_usage_read(usage, u);

    if (usage_only) {
        choices = json_object_get(root, "choices");
        *usage_only = json_is_array(choices) && json_array_size(choices) == 0;
    }

    json_decref(root);

    return SLUICE_USAGE_FOUND;
}


/* the usage object (borrowed from root), or NULL */
static json_t *
sluice_usage_find(json_t *root)
{
    size_t   i;
    json_t  *outer, *usage;

    if (!json_is_object(root)) {
        return NULL;
    }

    for (i = 0; i < sizeof(sluice_usage_outer) / sizeof(char *); i++) {
        outer = root;

        if (sluice_usage_outer[i]) {
            outer = json_object_get(root, sluice_usage_outer[i]);
            if (!json_is_object(outer)) {
                continue;
            }
        }

        usage = json_object_get(outer, "usage");

        if (json_is_object(usage)) {
            return usage;
        }
    }

    return NULL;
}


static void
sluice_usage_read(json_t *usage, sluice_usage_t *u)
{
    int64_t                      n;
    json_t                      *v;
    const sluice_usage_field_t  *f;

    for (f = sluice_usage_fields; f->key; f++) {
        v = json_object_get(usage, f->key);

        if (f->sub && json_is_object(v)) {
            v = json_object_get(v, f->sub);

        } else if (f->sub) {
            continue;
        }

        if (sluice_usage_count(v, &n) == 0) {
            *(int64_t *) ((char *) u + f->field) = n;
        }
    }
}


/* a non-negative whole number; 0 on success */
static int
sluice_usage_count(json_t *v, int64_t *n)
{
    double  d;

    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *n = json_integer_value(v);
        return 0;
    }

    if (json_is_real(v)) {
        d = json_real_value(v);

        if (d >= 0 && d < 9e15 && d == (double) (int64_t) d) {
            *n = (int64_t) d;
            return 0;
        }
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
