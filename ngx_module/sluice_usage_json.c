/*
 * sluice_usage_json: token counts from provider JSON (chat completions,
 * responses and messages shapes), whole bodies or single stream events,
 * read with the allocation-free scanner (no tree is built).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* memrchr */
#endif

#include <string.h>
#include <stdlib.h>
#include "sluice_json.h"
#include "sluice_usage_json.h"


/* one count: usage.<key> or usage.<key>.<sub> */
typedef struct {
    const char          *key;
    const char          *sub;
} sluice_usage_field_t;


static int sluice_usage_member(const uint8_t *p, size_t len,
    const char *name, sluice_json_member_t *m);
static int sluice_usage_find(const uint8_t *p, sluice_json_member_t *root,
    sluice_json_member_t *usage);
static void sluice_usage_read(const uint8_t *p, sluice_json_member_t *usage,
    sluice_usage_t *u);
static void sluice_usage_merge(const int64_t *n, sluice_usage_t *u);
static int sluice_usage_count(const uint8_t *p, sluice_json_member_t *v,
    int64_t *n);
static size_t sluice_usage_ws(const uint8_t *p, size_t i, size_t len);
static int sluice_usage_tail(const uint8_t *p, size_t len,
    sluice_json_member_t *usage);
static size_t sluice_usage_close(const uint8_t *p, size_t i, size_t len);


/* the counts a usage object may hold, by where they sit */
enum {
    SLUICE_USAGE_F_PROMPT = 0,
    SLUICE_USAGE_F_INPUT,
    SLUICE_USAGE_F_COMPLETION,
    SLUICE_USAGE_F_OUTPUT,
    SLUICE_USAGE_F_PROMPT_CACHED,
    SLUICE_USAGE_F_INPUT_CACHED,
    SLUICE_USAGE_F_CACHE_READ,
    SLUICE_USAGE_F_CACHE_WRITE,
    SLUICE_USAGE_F_COMPLETION_REASONING,
    SLUICE_USAGE_F_OUTPUT_REASONING,
    SLUICE_USAGE_F_N
};

static const sluice_usage_field_t  sluice_usage_fields[] = {
    { "prompt_tokens", NULL },
    { "input_tokens", NULL },
    { "completion_tokens", NULL },
    { "output_tokens", NULL },
    { "prompt_tokens_details", "cached_tokens" },
    { "input_tokens_details", "cached_tokens" },
    { "cache_read_input_tokens", NULL },
    { "cache_creation_input_tokens", NULL },
    { "completion_tokens_details", "reasoning_tokens" },
    { "output_tokens_details", "reasoning_tokens" },
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
    return sluice_usage_hint_find(p, len) < len;
}


/*
 * Every "usage" key holds a 'g', which the keys and values of stream
 * events other than usage rarely do: memchr (vectorised in libc) finds
 * each 'g', and only those are compared.  Each "usage" in the text is
 * tried, in order.
 */
size_t
sluice_usage_hint_find(const uint8_t *p, size_t len)
{
    size_t          i;
    const uint8_t  *g, *end;

    if (len < 7) {
        return len;
    }

    /* 'g' is the fifth of the seven bytes of "usage", quotes included */
    end = p + len - 2;

    for (g = p + 4; g < end; g++) {
        g = memchr(g, 'g', end - g);
        if (g == NULL) {
            return len;
        }

        if (memcmp(g - 4, "\"usage\"", 7) != 0) {
            continue;
        }

        i = sluice_usage_ws(p, (g - p) + 3, len);

        if (i < len && p[i] == ':') {
            i = sluice_usage_ws(p, i + 1, len);

            if (i < len && p[i] == '{') {
                return (g - 4) - p;
            }
        }
    }

    return len;
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
    sluice_json_member_t  usage;

    if (usage_only == NULL && sluice_usage_tail(p, len, &usage) == 0) {
        sluice_usage_read(p, &usage, u);
        return SLUICE_USAGE_FOUND;
    }

    return sluice_usage_parse_skim(p, len, u, usage_only);
}


int
sluice_usage_parse_skim(const uint8_t *p, size_t len, sluice_usage_t *u,
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

    /*
     * An event that may be cut from the stream is validated; a whole
     * answer is only skimmed (its usage is read, nothing depends on its
     * being well formed).  What lies inside a validated or skimmed
     * object is skimmed.
     */
    if (usage_only) {
        if (sluice_json_scan(p, len, m, SLUICE_USAGE_M_N, &open, &err) != 0) {
            return SLUICE_USAGE_INVALID;
        }

    } else if (sluice_json_skim(p, len, m, SLUICE_USAGE_M_N) != 0) {
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


/*
 * A whole answer's top-level usage, found from its end without skimming
 * what comes before: the three dialects put "usage" last or close to it
 * ({..., "usage": {...}, "service_tier": "default", ...}).  The key is
 * the last "usage" followed by an object within 2 KB of the end, its
 * quote not escaped; what follows the object must be members up to the
 * answer's last brace, so the object is a member of the outermost one.
 * Anything else: -1, and the whole answer is skimmed.
 */
static int
sluice_usage_tail(const uint8_t *p, size_t len, sluice_json_member_t *usage)
{
    size_t          end, i, j, stop;
    const uint8_t  *q;

    end = len;

    while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\n'
                       || p[end - 1] == '\r' || p[end - 1] == '\t'))
    {
        end--;
    }

    if (end < 2 || p[--end] != '}') {
        return -1;
    }

    stop = (end > 2048) ? end - 2048 : 0;

    /* the last 'u' that starts "usage" (memrchr from one 'u' to the next) */
    for (i = end; /* void */; i = q - p) {
        q = memrchr(p + stop + 1, 'u', i - (stop + 1));

        if (q == NULL) {
            i = stop;
            break;
        }

        if (q[-1] == '"' && (size_t) (q - p) + 6 <= end
            && memcmp(q, "usage\"", 6) == 0)
        {
            i = q - p;
            break;
        }
    }

    if (i == stop || (i >= 2 && p[i - 2] == '\\')) {
        return -1;
    }

    i = sluice_usage_ws(p, i + 6, end);

    if (i == end || p[i] != ':') {
        return -1;
    }

    i = sluice_usage_ws(p, i + 1, end);

    if (i == end || p[i] != '{') {
        return -1;
    }

    usage->end = sluice_usage_close(p, i, end);
    j = usage->end;

    /* , "name": value ... up to the last brace */
    for ( ;; ) {
        j = sluice_usage_ws(p, j, end);

        if (j >= end) {
            break;
        }

        if (p[j] != ',') {
            return -1;
        }

        j = sluice_usage_ws(p, j + 1, end);

        if (j == end || p[j] != '"') {
            return -1;
        }

        j = sluice_usage_ws(p, sluice_usage_close(p, j, end), end);

        if (j >= end || p[j] != ':') {
            return -1;
        }

        j = sluice_usage_close(p, sluice_usage_ws(p, j + 1, end), end);
    }

    if (j != end) {
        return -1;
    }

    usage->type = SLUICE_JSON_OBJECT;
    usage->start = i;

    return 0;
}


/*
 * The offset after the value at p[i]: an object or array to its closing
 * bracket (strings and their escapes stepped over), a string to its
 * closing quote, anything else to the next delimiter.  More than len
 * when it does not end before len.
 */
static size_t
sluice_usage_close(const uint8_t *p, size_t i, size_t len)
{
    size_t  depth;

    if (i >= len) {
        return len + 1;
    }

    if (p[i] != '{' && p[i] != '[' && p[i] != '"') {
        while (i < len && p[i] != ',' && p[i] != '}' && p[i] != ']'
               && p[i] != ' ' && p[i] != '\n' && p[i] != '\r'
               && p[i] != '\t')
        {
            i++;
        }

        return i;
    }

    for (depth = 0; i < len; i++) {
        switch (p[i]) {

        case '{':
        case '[':
            depth++;
            break;

        case '}':
        case ']':
            if (--depth == 0) {
                return i + 1;
            }
            break;

        case '"':
            for (i++; i < len && p[i] != '"'; i++) {
                i += (p[i] == '\\');
            }

            if (depth == 0) {
                return (i < len) ? i + 1 : len + 1;
            }

            break;
        }
    }

    return len + 1;
}


/* one member of the object spanning [p, p + len); offsets made absolute */
static int
sluice_usage_member(const uint8_t *p, size_t len, const char *name,
    sluice_json_member_t *m)
{
    m->name = name;

    if (sluice_json_skim(p, len, m, 1) != 0 || m->type == SLUICE_JSON_NONE) {
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

    /* root.usage (bodies, chunks), then response.usage, message.usage */
    for (i = SLUICE_USAGE_M_USAGE; i <= SLUICE_USAGE_M_MESSAGE; i++) {
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


/* every field in one pass over the usage object; details in their own */
static void
sluice_usage_read(const uint8_t *p, sluice_json_member_t *usage,
    sluice_usage_t *u)
{
    size_t                       k, base;
    int64_t                      n[SLUICE_USAGE_F_N];
    sluice_json_member_t         v[SLUICE_USAGE_F_N], sub;
    const sluice_usage_field_t  *f;

    base = usage->start;

    for (k = 0; k < SLUICE_USAGE_F_N; k++) {
        v[k].name = sluice_usage_fields[k].key;
        n[k] = -1;
    }

    if (sluice_json_skim(p + base, usage->end - base, v, SLUICE_USAGE_F_N)
        != 0)
    {
        return;
    }

    for (k = 0; k < SLUICE_USAGE_F_N; k++) {
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

        if (sluice_usage_count(p, &v[k], &n[k]) != 0) {
            n[k] = -1;
        }
    }

    sluice_usage_merge(n, u);
}


/*
 * One usage object's counts into u, whatever the dialect: in counts
 * every prompt token, cached ones included (Anthropic's input_tokens
 * leaves out cache reads and writes, OpenAI's prompt_tokens and
 * input_tokens hold them), cached the ones read from a cache.  The
 * input_tokens spelling wins over prompt_tokens, output_tokens over
 * completion_tokens.  Each object gives the totals it knows, so a
 * stream's later object replaces the counts it repeats (an Anthropic
 * message_delta repeating message_start's input is not added twice)
 * and leaves the others alone.
 */
static void
sluice_usage_merge(const int64_t *n, sluice_usage_t *u)
{
    int64_t  read, write;

    read = n[SLUICE_USAGE_F_CACHE_READ];
    write = n[SLUICE_USAGE_F_CACHE_WRITE];

    if (n[SLUICE_USAGE_F_INPUT] >= 0) {
        u->in = n[SLUICE_USAGE_F_INPUT] + (read > 0 ? read : 0)
                + (write > 0 ? write : 0);

    } else if (n[SLUICE_USAGE_F_PROMPT] >= 0) {
        u->in = n[SLUICE_USAGE_F_PROMPT];
    }

    if (n[SLUICE_USAGE_F_OUTPUT] >= 0) {
        u->out = n[SLUICE_USAGE_F_OUTPUT];

    } else if (n[SLUICE_USAGE_F_COMPLETION] >= 0) {
        u->out = n[SLUICE_USAGE_F_COMPLETION];
    }

    if (read >= 0) {
        u->cached = read;

    } else if (n[SLUICE_USAGE_F_INPUT_CACHED] >= 0) {
        u->cached = n[SLUICE_USAGE_F_INPUT_CACHED];

    } else if (n[SLUICE_USAGE_F_PROMPT_CACHED] >= 0) {
        u->cached = n[SLUICE_USAGE_F_PROMPT_CACHED];
    }

    if (n[SLUICE_USAGE_F_OUTPUT_REASONING] >= 0) {
        u->reasoning = n[SLUICE_USAGE_F_OUTPUT_REASONING];

    } else if (n[SLUICE_USAGE_F_COMPLETION_REASONING] >= 0) {
        u->reasoning = n[SLUICE_USAGE_F_COMPLETION_REASONING];
    }
}


/* a count: a non-negative integer, or a number with an integral value */
static int
sluice_usage_count(const uint8_t *p, sluice_json_member_t *v, int64_t *n)
{
    char            buf[32];
    size_t          len, i;
    double          d;
    const uint8_t  *q;

    if (v->type != SLUICE_JSON_NUMBER) {
        return -1;
    }

    q = p + v->start;
    len = v->end - v->start;

    if (len == 0 || len >= sizeof(buf) || q[0] == '-') {
        return -1;
    }

    /* plain digits, the usual case: at most 15, well inside int64 */
    for (i = 0; i < len && i <= 15 && q[i] >= '0' && q[i] <= '9'; i++) {
        /* void */
    }

    if (i == len) {
        if (len > 15) {
            return -1;
        }

        for (i = 0, *n = 0; i < len; i++) {
            *n = *n * 10 + (q[i] - '0');
        }

        return 0;
    }

    memcpy(buf, q, len);
    buf[len] = '\0';

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
