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
    size_t               sub_len;
} sluice_usage_field_t;

/* how a text is read: the tail first, the fast reader first */
#define SLUICE_USAGE_TAIL  1
#define SLUICE_USAGE_FAST  2


static int sluice_usage_parse_as(const uint8_t *p, size_t len,
    sluice_usage_t *u, int *usage_only, unsigned how);
static void sluice_usage_take(const uint8_t *p, sluice_json_member_t *usage,
    unsigned how, sluice_usage_t *u);
static int sluice_usage_tail(const uint8_t *p, size_t len, unsigned how,
    sluice_usage_t *u);
static int sluice_usage_rest(const uint8_t *p, size_t j, size_t end);
static size_t sluice_usage_close(const uint8_t *p, size_t i, size_t len);
static int sluice_usage_member(const uint8_t *p, size_t len,
    const char *name, sluice_json_member_t *m);
static int sluice_usage_find(const uint8_t *p, sluice_json_member_t *root,
    sluice_json_member_t *usage);
static void sluice_usage_read(const uint8_t *p, sluice_json_member_t *usage,
    sluice_usage_t *u);
static void sluice_usage_merge(const int64_t *n, sluice_usage_t *u);
static size_t sluice_usage_fast(const uint8_t *p, size_t i, size_t len,
    int64_t *n);
static size_t sluice_usage_walk(const uint8_t *p, size_t i, size_t len,
    const sluice_usage_field_t *details, int64_t *n);
static size_t sluice_usage_value(const uint8_t *p, size_t i, size_t len,
    const sluice_usage_field_t *f, int64_t *n);
static size_t sluice_usage_skip(const uint8_t *p, size_t i, size_t len);
static int sluice_usage_atom(uint8_t b);
static size_t sluice_usage_container(const uint8_t *p, size_t i, size_t len);
static size_t sluice_usage_field(const uint8_t *k, size_t klen);
static size_t sluice_usage_sub(const uint8_t *k, size_t klen,
    const sluice_usage_field_t *f);
static int sluice_usage_same(const uint8_t *k, const char *s, size_t n);
static int sluice_usage_count(const uint8_t *q, size_t len, int64_t *n);
static inline size_t sluice_usage_ws(const uint8_t *p, size_t i,
    size_t len);
static size_t sluice_usage_blanks(const uint8_t *p, size_t i, size_t len);


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

#define SLUICE_USAGE_CACHED     "cached_tokens", sizeof("cached_tokens") - 1
#define SLUICE_USAGE_REASONING  "reasoning_tokens", \
                                sizeof("reasoning_tokens") - 1

/* sluice_usage_field() knows these names by length: keep the two alike */
static const sluice_usage_field_t  sluice_usage_fields[] = {
    { "prompt_tokens", NULL, 0 },
    { "input_tokens", NULL, 0 },
    { "completion_tokens", NULL, 0 },
    { "output_tokens", NULL, 0 },
    { "prompt_tokens_details", SLUICE_USAGE_CACHED },
    { "input_tokens_details", SLUICE_USAGE_CACHED },
    { "cache_read_input_tokens", NULL, 0 },
    { "cache_creation_input_tokens", NULL, 0 },
    { "completion_tokens_details", SLUICE_USAGE_REASONING },
    { "output_tokens_details", SLUICE_USAGE_REASONING },
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
    return sluice_usage_parse_as(p, len, u, usage_only,
                                 SLUICE_USAGE_TAIL | SLUICE_USAGE_FAST);
}


int
sluice_usage_parse_skim(const uint8_t *p, size_t len, sluice_usage_t *u,
    int *usage_only)
{
    return sluice_usage_parse_as(p, len, u, usage_only, SLUICE_USAGE_FAST);
}


int
sluice_usage_parse_ref(const uint8_t *p, size_t len, sluice_usage_t *u,
    int *usage_only, int tail)
{
    return sluice_usage_parse_as(p, len, u, usage_only,
                                 tail ? SLUICE_USAGE_TAIL : 0);
}


size_t
sluice_usage_object(const uint8_t *p, size_t len, sluice_usage_t *u)
{
    size_t   end;
    int64_t  n[SLUICE_USAGE_F_N];

    if (len == 0 || p[0] != '{') {
        return 0;
    }

    end = sluice_usage_fast(p, 0, len, n);

    if (end) {
        sluice_usage_merge(n, u);
    }

    return end;
}


/* how: SLUICE_USAGE_TAIL and SLUICE_USAGE_FAST, each allowed or not */
static int
sluice_usage_parse_as(const uint8_t *p, size_t len, sluice_usage_t *u,
    int *usage_only, unsigned how)
{
    size_t                open, i;
    sluice_json_error_t   err;
    sluice_json_member_t  usage, m[SLUICE_USAGE_M_N];

    if (usage_only) {
        *usage_only = 0;

    } else if ((how & SLUICE_USAGE_TAIL)
               && sluice_usage_tail(p, len, how, u) == 0)
    {
        return SLUICE_USAGE_FOUND;
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

    sluice_usage_take(p, &usage, how, u);

    if (usage_only && m[SLUICE_USAGE_M_CHOICES].type == SLUICE_JSON_ARRAY) {
        i = sluice_usage_ws(p, m[SLUICE_USAGE_M_CHOICES].start + 1, len);
        *usage_only = (i < len && p[i] == ']');
    }

    return SLUICE_USAGE_FOUND;
}


/*
 * The usage object spanning [usage->start, usage->end): read by the fast
 * reader when it reads the whole span, else by the generic one.
 */
static void
sluice_usage_take(const uint8_t *p, sluice_json_member_t *usage,
    unsigned how, sluice_usage_t *u)
{
    int64_t  n[SLUICE_USAGE_F_N];

    if ((how & SLUICE_USAGE_FAST)
        && sluice_usage_fast(p, usage->start, usage->end, n) == usage->end)
    {
        sluice_usage_merge(n, u);
        return;
    }

    sluice_usage_read(p, usage, u);
}


/*
 * A whole answer's top-level usage, found from its end without skimming
 * what comes before: the three dialects put "usage" last or close to it
 * ({..., "usage": {...}, "service_tier": "default", ...}).  The key is
 * the last "usage" followed by an object within 2 KB of the end, its
 * quote not escaped; what follows the object must be members up to the
 * answer's last brace, so the object is a member of the outermost one.
 * Then its counts go into u and 0 is returned.  Anything else: -1, u
 * untouched, and the whole answer is skimmed.
 */
static int
sluice_usage_tail(const uint8_t *p, size_t len, unsigned how,
    sluice_usage_t *u)
{
    size_t                end, i, stop, after;
    int64_t               n[SLUICE_USAGE_F_N];
    const uint8_t        *q;
    sluice_json_member_t  usage;

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

    /*
     * The fast reader finds the object's end as it reads it; when it
     * declines, the object is walked to its end, and read by the
     * generic reader once what follows it is known to be members.
     */
    after = (how & SLUICE_USAGE_FAST) ? sluice_usage_fast(p, i, end, n) : 0;

    usage.type = SLUICE_JSON_OBJECT;
    usage.start = i;
    usage.end = after ? after : sluice_usage_close(p, i, end);

    if (sluice_usage_rest(p, usage.end, end) != 0) {
        return -1;
    }

    if (after) {
        sluice_usage_merge(n, u);

    } else {
        sluice_usage_read(p, &usage, u);
    }

    return 0;
}


/* from j (after the usage object): , "name": value ... up to end */
static int
sluice_usage_rest(const uint8_t *p, size_t j, size_t end)
{
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

    return (j == end) ? 0 : -1;
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
    size_t    end;
    unsigned  esc;

    if (i >= len) {
        return len + 1;
    }

    switch (p[i]) {

    case '"':
        end = sluice_json_skip_string(p, i, len, &esc);
        break;

    case '{':
    case '[':
        end = sluice_usage_container(p, i, len);
        break;

    default:
        while (i < len && p[i] != ',' && p[i] != '}' && p[i] != ']'
               && p[i] != ' ' && p[i] != '\n' && p[i] != '\r'
               && p[i] != '\t')
        {
            i++;
        }

        return i;
    }

    return end ? end : len + 1;
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

        if (v[k].type != SLUICE_JSON_NUMBER
            || sluice_usage_count(p + v[k].start, v[k].end - v[k].start,
                                  &n[k])
               != 0)
        {
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


/*
 * The fast reader: one pass over the usage object at p[i] ('{') that
 * fills n[] as sluice_usage_read would.  It returns the offset after the
 * closing brace, or 0 when it declines and leaves the object to the
 * generic reader: a key holding a backslash (the generic reader decodes
 * it), a count's key or a details object's key given twice (the generic
 * reader then takes no count), or anything but the plain shape: '{',
 * members ("key": value) between commas, '}', blanks between.  Values
 * are skipped as the skim and sluice_usage_close skip them (strings to
 * their closing quote, containers by counting brackets, numbers and
 * literals to what ends them), so where it does not decline the object
 * ends where they find it ending and every count is the generic one.
 * Never reads at or past len.
 */
static size_t
sluice_usage_fast(const uint8_t *p, size_t i, size_t len, int64_t *n)
{
    size_t  k;

    for (k = 0; k < SLUICE_USAGE_F_N; k++) {
        n[k] = -1;
    }

    return sluice_usage_walk(p, i, len, NULL, n);
}


/*
 * The members of the object at p[i]: the usage object itself (details
 * NULL, n[] the counts by field) or a *_details object (n its count).
 */
static size_t
sluice_usage_walk(const uint8_t *p, size_t i, size_t len,
    const sluice_usage_field_t *details, int64_t *n)
{
    size_t                       k, key;
    uint32_t                     seen;
    unsigned                     esc;
    const sluice_usage_field_t  *f;

    seen = 0;
    i = sluice_usage_ws(p, i + 1, len);

    if (i < len && p[i] == '}') {
        return i + 1;
    }

    for ( ;; ) {
        if (i >= len || p[i] != '"') {
            return 0;
        }

        key = i + 1;
        i = sluice_json_skip_string(p, i, len, &esc);

        if (i == 0 || esc) {
            return 0;
        }

        k = (details == NULL) ? sluice_usage_field(p + key, i - 1 - key)
                              : sluice_usage_sub(p + key, i - 1 - key,
                                                 details);

        i = sluice_usage_ws(p, i, len);

        if (i >= len || p[i] != ':') {
            return 0;
        }

        i = sluice_usage_ws(p, i + 1, len);

        if (i >= len || (k < SLUICE_USAGE_F_N && ((seen >> k) & 1))) {
            return 0;
        }

        if (k == SLUICE_USAGE_F_N) {
            i = sluice_usage_skip(p, i, len);

        } else {
            seen |= (uint32_t) 1 << k;
            f = (details == NULL && sluice_usage_fields[k].sub)
                ? &sluice_usage_fields[k] : NULL;
            i = sluice_usage_value(p, i, len, f, &n[k]);
        }

        i = (i == 0) ? len : sluice_usage_ws(p, i, len);

        if (i >= len || (p[i] != ',' && p[i] != '}')) {
            return 0;
        }

        if (p[i] == '}') {
            return i + 1;
        }

        i = sluice_usage_ws(p, i + 1, len);
    }
}


/*
 * The value of a wanted member at p[i]: a details object's (f) walked
 * for its count, any other a count.  What is not one is skipped, *n left
 * alone.
 */
static size_t
sluice_usage_value(const uint8_t *p, size_t i, size_t len,
    const sluice_usage_field_t *f, int64_t *n)
{
    size_t   s, end;
    int64_t  v;

    if (f) {
        return (p[i] == '{') ? sluice_usage_walk(p, i, len, f, n)
                             : sluice_usage_skip(p, i, len);
    }

    /* up to 15 digits, the usual case, read as they come */
    s = i;
    end = (len - i > 15) ? i + 15 : len;

    for (v = 0; i < end && (unsigned) (p[i] - '0') < 10; i++) {
        v = v * 10 + (p[i] - '0');
    }

    if (i > s && i < len && !sluice_usage_atom(p[i])) {
        *n = v;
        return i;
    }

    /*
     * Anything else as the skim sees it: a number (what does not start
     * a string, container or literal) spans up to what ends it
     */
    i = sluice_usage_skip(p, s, len);

    if (i > s && sluice_usage_atom(p[s])
        && p[s] != 't' && p[s] != 'f' && p[s] != 'n')
    {
        (void) sluice_usage_count(p + s, i - s, n);
    }

    return i;
}


/* the offset after the value at p[i], 0 when it is cut short or odd */
static size_t
sluice_usage_skip(const uint8_t *p, size_t i, size_t len)
{
    size_t    s;
    unsigned  esc;

    switch (p[i]) {

    case '"':
        return sluice_json_skip_string(p, i, len, &esc);

    case '{':
    case '[':
        return sluice_usage_container(p, i, len);
    }

    for (s = i; i < len && sluice_usage_atom(p[i]); i++) {
        /* void */
    }

    return (i > s) ? i : 0;
}


/*
 * A byte of a number or a literal.  The skim spans those up to a comma,
 * bracket or blank; the fast reader declines when another byte ends
 * them, so both see the same span.
 */
static int
sluice_usage_atom(uint8_t b)
{
    static const uint32_t  atom[] = {
        0x00000000,  /* 0x00-0x1f */

                     /* ?>=< ;:98 7654 3210  /.-, +*)( '&%$ #"!  */
        0x03ff6800,  /* 0000 0011 1111 1111  0110 1000 0000 0000 */

                     /* _^]\ [ZYX WVUT SRQP  ONML KJIH GFED CBA@ */
        0x07fffffe,  /* 0000 0111 1111 1111  1111 1111 1111 1110 */

                     /*  ~}| {zyx wvut srqp  onml kjih gfed cba` */
        0x07fffffe,  /* 0000 0111 1111 1111  1111 1111 1111 1110 */

        0, 0, 0, 0   /* 0x80-0xff */
    };

    return (atom[b >> 5] >> (b & 0x1f)) & 1;
}


/*
 * The offset after the object or array at p[i], 0 when it does not end
 * before len: brackets counted, their kinds not matched, strings stepped
 * over, as the skim and sluice_usage_close do.  Byte by byte: the objects
 * met here are small and mostly short strings, where looking sixteen
 * bytes ahead costs more than it saves.
 */
static size_t
sluice_usage_container(const uint8_t *p, size_t i, size_t len)
{
    size_t    depth;
    unsigned  esc;

    for (depth = 0; i < len; i++) {
        switch (p[i]) {

        case '"':
            i = sluice_json_skip_string(p, i, len, &esc);

            if (i == 0) {
                return 0;
            }

            i--;
            break;

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
        }
    }

    return 0;
}


/*
 * The field a plain key of klen bytes at k names, or SLUICE_USAGE_F_N.
 * By length first, as nginx tells request methods apart; two names that
 * share a length differ in their first byte.
 */
static size_t
sluice_usage_field(const uint8_t *k, size_t klen)
{
    size_t  f;

    switch (klen) {

    case 12:
        f = SLUICE_USAGE_F_INPUT;
        break;

    case 13:
        f = (k[0] == 'p') ? SLUICE_USAGE_F_PROMPT : SLUICE_USAGE_F_OUTPUT;
        break;

    case 17:
        f = SLUICE_USAGE_F_COMPLETION;
        break;

    case 20:
        f = SLUICE_USAGE_F_INPUT_CACHED;
        break;

    case 21:
        f = (k[0] == 'p') ? SLUICE_USAGE_F_PROMPT_CACHED
                          : SLUICE_USAGE_F_OUTPUT_REASONING;
        break;

    case 23:
        f = SLUICE_USAGE_F_CACHE_READ;
        break;

    case 25:
        f = SLUICE_USAGE_F_COMPLETION_REASONING;
        break;

    case 27:
        f = SLUICE_USAGE_F_CACHE_WRITE;
        break;

    default:
        return SLUICE_USAGE_F_N;
    }

    return sluice_usage_same(k, sluice_usage_fields[f].key, klen)
           ? f : SLUICE_USAGE_F_N;
}


/* 0 when the plain key of klen bytes at k is f's details sub key */
static size_t
sluice_usage_sub(const uint8_t *k, size_t klen,
    const sluice_usage_field_t *f)
{
    return (klen == f->sub_len && sluice_usage_same(k, f->sub, klen))
           ? 0 : SLUICE_USAGE_F_N;
}


/*
 * 1 when the n bytes at k are those of the name s, 8 bytes at a time
 * (the last 8 may overlap the ones before); every name has at least 8.
 */
static int
sluice_usage_same(const uint8_t *k, const char *s, size_t n)
{
    size_t    i;
    uint64_t  x, y;

    for (i = 0; i + 8 < n; i += 8) {
        memcpy(&x, k + i, 8);
        memcpy(&y, s + i, 8);

        if (x != y) {
            return 0;
        }
    }

    memcpy(&x, k + n - 8, 8);
    memcpy(&y, s + n - 8, 8);

    return x == y;
}


/*
 * A count from the len bytes of a number at q: a non-negative integer,
 * or a number with an integral value.  *n is set only when it returns 0.
 */
static int
sluice_usage_count(const uint8_t *q, size_t len, int64_t *n)
{
    char    buf[32];
    size_t  i;
    double  d;

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


/* mostly compact JSON: one look, and a call only when a blank follows */
static inline size_t
sluice_usage_ws(const uint8_t *p, size_t i, size_t len)
{
    if (i < len && p[i] > ' ') {
        return i;
    }

    return sluice_usage_blanks(p, i, len);
}


static size_t
sluice_usage_blanks(const uint8_t *p, size_t i, size_t len)
{
    while (i < len
           && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
    {
        i++;
    }

    return i;
}
