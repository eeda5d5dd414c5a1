/*
 * sluice_json: validating single-pass JSON scanner reporting top-level
 * member spans (see sluice_json.h).
 */

#include <string.h>
#include "sluice_json.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif


typedef struct {
    const uint8_t         *p;
    size_t                 len;
    size_t                 i;
    const char            *reason;
    unsigned               esc;     /* the last string held a backslash */
} sluice_json_cur_t;


/* names longer lists than this get their lengths measured per key */
#define SLUICE_JSON_NAMES  16


/* the wanted names' lengths, measured once per scan */
typedef struct {
    size_t                 len[SLUICE_JSON_NAMES];
    uint64_t               lens;    /* bit l: a name is l bytes long */
    unsigned               any;     /* lens does not tell (long names) */
} sluice_json_names_t;


static inline void sluice_json_ws(sluice_json_cur_t *c);
static void sluice_json_ws_run(sluice_json_cur_t *c);
static int sluice_json_utf8(sluice_json_cur_t *c);
/* inlined into its two callers: most strings are short keys and values */
static inline __attribute__((always_inline)) int sluice_json_string(
    sluice_json_cur_t *c);
static int sluice_json_escape_at(sluice_json_cur_t *c);
static int sluice_json_number(sluice_json_cur_t *c);
static int sluice_json_literal(sluice_json_cur_t *c, const char *lit,
    size_t n);
static int sluice_json_value(sluice_json_cur_t *c, sluice_json_type_e *t);
static int sluice_json_key_is(const uint8_t *p, size_t len, unsigned esc,
    const char *name, size_t nlen);
static void sluice_json_names(sluice_json_member_t *m, size_t n,
    sluice_json_names_t *names);
static int sluice_json_member_done(sluice_json_cur_t *c,
    sluice_json_member_t *m, size_t n, const sluice_json_names_t *names,
    size_t key, size_t klen, unsigned esc, size_t start,
    sluice_json_type_e t);
static int sluice_json_fail(sluice_json_cur_t *c, const char *reason);

/*
 * 1 for the bytes a string may hold as they are (printable ASCII but the
 * quote and the backslash): the string loop skips runs of them cheaply.
 */
const uint8_t  sluice_json_plain[256] = {
    ['\x20'] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
};
/* 1 for the bytes that may follow a backslash as a two-byte escape */
static const uint8_t  sluice_json_escapes[256] = {
    ['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1, ['n'] = 1,
    ['r'] = 1, ['t'] = 1
};
static size_t sluice_json_skip_plain(const uint8_t *p, size_t i,
    size_t len);
#if defined(__SSE2__)
static unsigned sluice_json_special16(const uint8_t *p);
#endif
static size_t sluice_json_special(sluice_json_cur_t *c, size_t j);
static size_t sluice_json_skim_string(const uint8_t *p, size_t i,
    size_t len, unsigned *esc);
static size_t sluice_json_skim_container(const uint8_t *p, size_t i,
    size_t len);
static size_t sluice_json_skim_value(const uint8_t *p, size_t i,
    size_t len, sluice_json_type_e *t);


static int
sluice_json_fail(sluice_json_cur_t *c, const char *reason)
{
    c->reason = reason;
    return -1;
}


/* mostly compact JSON: one look, and a call only when there is space */
static inline void
sluice_json_ws(sluice_json_cur_t *c)
{
    if (c->i < c->len && c->p[c->i] > ' ') {
        return;
    }

    sluice_json_ws_run(c);
}


static void
sluice_json_ws_run(sluice_json_cur_t *c)
{
    size_t          i, len;
    const uint8_t  *p;

    p = c->p;
    len = c->len;

    for (i = c->i; i < len; i++) {
        switch (p[i]) {
        case ' ': case '\t': case '\n': case '\r':
            continue;
        }
        break;
    }

    c->i = i;
}


/* one multi-byte UTF-8 sequence at c->i (first byte >= 0x80) */
static int
sluice_json_utf8(sluice_json_cur_t *c)
{
    size_t   n, need;
    uint8_t  b;

    n = sluice_json_utf8_len(c->p + c->i, c->len - c->i);

    if (n == 0) {
        b = c->p[c->i];
        need = (b >= 0xf0) ? 4 : (b >= 0xe0) ? 3 : 2;

        return sluice_json_fail(c, (b >= 0xc2 && b <= 0xf4
                                    && c->len - c->i < need)
                                   ? "truncated UTF-8" : "invalid UTF-8");
    }

    c->i += n;
    return 0;
}


size_t
sluice_json_utf8_len(const uint8_t *p, size_t len)
{
    size_t    n, k;
    uint32_t  cp, min;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2; cp = p[0] & 0x1f; min = 0x80;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3; cp = p[0] & 0x0f; min = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4; cp = p[0] & 0x07; min = 0x10000;
    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[k] & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    return n;
}


size_t
sluice_json_utf8_put(uint8_t *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (uint8_t) cp;
        return 1;
    }

    if (cp < 0x800) {
        out[0] = (uint8_t) (0xc0 | (cp >> 6));
        out[1] = (uint8_t) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        out[0] = (uint8_t) (0xe0 | (cp >> 12));
        out[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t) (0x80 | (cp & 0x3f));
        return 3;
    }

    out[0] = (uint8_t) (0xf0 | (cp >> 18));
    out[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t) (0x80 | (cp & 0x3f));
    return 4;
}


/*
 * The offset of the first byte at or after i that a string cannot hold
 * as it is (a control character, a quote, a backslash or non-ASCII), or
 * len: eight bytes a step with the classic "has a zero byte" word
 * tricks, the first such byte found exactly (the lowest flagged byte has
 * no borrow from below: the bytes under it flagged nothing), then byte
 * by byte for the tail.
 */
static size_t
sluice_json_skip_plain(const uint8_t *p, size_t i, size_t len)
{
    uint64_t  w, t;

    static const uint64_t  ones = 0x0101010101010101ULL;
    static const uint64_t  high = 0x8080808080808080ULL;

    while (i + 8 <= len) {
        memcpy(&w, p + i, 8);

        t = ((w - ones * 0x20) | ((w ^ (ones * '"')) - ones)
             | ((w ^ (ones * '\\')) - ones) | w) & high;

        if (t) {
#if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
            return i + (size_t) (__builtin_ctzll(t) >> 3);
#else
            break;
#endif
        }

        i += 8;
    }

    while (i < len && sluice_json_plain[p[i]]) {
        i++;
    }

    return i;
}


#if defined(__SSE2__)

/*
 * One bit per byte of p[0..15] that a string cannot hold as it is:
 * '"', '\\', or below 0x20 as a signed byte (control characters, and
 * every byte >= 0x80).
 */
static unsigned
sluice_json_special16(const uint8_t *p)
{
    __m128i  v, m;

    v = _mm_loadu_si128((const __m128i *) p);

    m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    m = _mm_or_si128(m, _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));

    return (unsigned) _mm_movemask_epi8(m);
}

#endif


/*
 * A byte at j that is not a quote and not plain: an escape, a control
 * character or the start of a UTF-8 sequence.  Returns the offset after
 * it, or 0 with the error in c (c->i where it was found).
 */
static size_t
sluice_json_special(sluice_json_cur_t *c, size_t j)
{
    uint8_t  b;

    b = c->p[j];
    c->i = j;

    if (b == '\\') {
        c->esc = 1;

        if (j + 1 >= c->len) {
            sluice_json_fail(c, "unterminated string");
            return 0;
        }

        return sluice_json_escape_at(c) == 0 ? c->i : 0;
    }

    if (b < 0x20) {
        sluice_json_fail(c, "control character in string");
        return 0;
    }

    return sluice_json_utf8(c) == 0 ? c->i : 0;
}


/*
 * c->i at the opening quote; leaves c->i after the closing quote and
 * c->esc set when the string held an escape.  With SSE2, sixteen bytes
 * are classified at once and every special byte among them is handled
 * from the same mask; the tail goes eight bytes a step.
 */
static inline __attribute__((always_inline)) int
sluice_json_string(sluice_json_cur_t *c)
{
    size_t          i, len;
    const uint8_t  *p;
#if defined(__SSE2__)
    size_t          j, base;
    unsigned        bits;
#endif

    p = c->p;
    len = c->len;
    i = c->i + 1;
    c->esc = 0;

#if defined(__SSE2__)
    while (i + 16 <= len) {
        bits = sluice_json_special16(p + i);
        base = i;
        i += 16;

        while (bits) {
            j = base + (size_t) __builtin_ctz(bits);

            if (p[j] == '"') {
                c->i = j + 1;
                return 0;
            }

            if (p[j] == '\\' && j + 1 < len
                && sluice_json_escapes[p[j + 1]])
            {
                c->esc = 1;
                j += 2;

            } else {
                j = sluice_json_special(c, j);
                if (j == 0) {
                    return -1;
                }
            }

            if (j >= base + 16) {
                /* an escape or a sequence ran into the next block */
                i = j;
                break;
            }

            bits &= ~0u << (j - base);
        }
    }
#endif

    for ( ;; ) {
        i = sluice_json_skip_plain(p, i, len);

        if (i == len) {
            break;
        }

        if (p[i] == '"') {
            c->i = i + 1;
            return 0;
        }

        if (p[i] == '\\' && i + 1 < len && sluice_json_escapes[p[i + 1]]) {
            c->esc = 1;
            i += 2;
            continue;
        }

        i = sluice_json_special(c, i);
        if (i == 0) {
            return -1;
        }
    }

    c->i = len;
    return sluice_json_fail(c, "unterminated string");
}


/* one escape at c->i (a backslash followed by at least one byte) */
static int
sluice_json_escape_at(sluice_json_cur_t *c)
{
    size_t   k;
    uint8_t  b;

    switch (c->p[c->i + 1]) {

    case '"': case '\\': case '/': case 'b': case 'f': case 'n':
    case 'r': case 't':
        c->i += 2;
        return 0;

    case 'u':
        if (c->i + 6 > c->len) {
            return sluice_json_fail(c, "truncated escape");
        }

        for (k = 2; k < 6; k++) {
            b = c->p[c->i + k];
            if (!((b >= '0' && b <= '9') || ((b | 0x20) >= 'a'
                  && (b | 0x20) <= 'f')))
            {
                return sluice_json_fail(c, "invalid \\u escape");
            }
        }

        c->i += 6;
        return 0;

    default:
        return sluice_json_fail(c, "invalid escape");
    }
}


static int
sluice_json_number(sluice_json_cur_t *c)
{
    size_t          i, len, digits;
    const uint8_t  *p;

    p = c->p;
    len = c->len;
    i = c->i;

    if (i < len && p[i] == '-') {
        i++;
    }

    if (i < len && p[i] == '0') {
        i++;

    } else {
        for (digits = 0; i < len && p[i] >= '0' && p[i] <= '9'; digits++) {
            i++;
        }
        if (digits == 0) {
            goto invalid;
        }
    }

    if (i < len && p[i] == '.') {
        i++;
        for (digits = 0; i < len && p[i] >= '0' && p[i] <= '9'; digits++) {
            i++;
        }
        if (digits == 0) {
            goto invalid;
        }
    }

    if (i < len && (p[i] | 0x20) == 'e') {
        i++;
        if (i < len && (p[i] == '+' || p[i] == '-')) {
            i++;
        }
        for (digits = 0; i < len && p[i] >= '0' && p[i] <= '9'; digits++) {
            i++;
        }
        if (digits == 0) {
            goto invalid;
        }
    }

    c->i = i;
    return 0;

invalid:

    c->i = i;
    return sluice_json_fail(c, "invalid number");
}


static int
sluice_json_literal(sluice_json_cur_t *c, const char *lit, size_t n)
{
    if (c->len - c->i < n || memcmp(c->p + c->i, lit, n) != 0) {
        return sluice_json_fail(c, "invalid literal");
    }

    c->i += n;
    return 0;
}


/*
 * Scans one value of any type, iteratively: stack holds one bit per open
 * container (1 object, 0 array).
 */
static int
sluice_json_value(sluice_json_cur_t *c, sluice_json_type_e *t)
{
    uint8_t   stack[SLUICE_JSON_MAX_DEPTH / 8];
    size_t    depth;
    int       obj, need_value;
    uint8_t   b;

    b = (c->i < c->len) ? c->p[c->i] : 0;

    /* the common scalars at the top, without the container machinery */
    if (b == '"') {
        *t = SLUICE_JSON_STRING;
        return sluice_json_string(c);
    }

    if (b == '-' || (b >= '0' && b <= '9')) {
        *t = SLUICE_JSON_NUMBER;
        return sluice_json_number(c);
    }

    depth = 0;
    need_value = 1;
    *t = SLUICE_JSON_NONE;

    for ( ;; ) {
        sluice_json_ws(c);

        if (c->i >= c->len) {
            return sluice_json_fail(c, "unexpected end of input");
        }

        b = c->p[c->i];

        if (need_value) {
            if (b == '{' || b == '[') {
                if (depth == SLUICE_JSON_MAX_DEPTH) {
                    return sluice_json_fail(c, "nesting too deep");
                }
                if (depth == 0) {
                    *t = (b == '{') ? SLUICE_JSON_OBJECT : SLUICE_JSON_ARRAY;
                }
                obj = (b == '{');
                stack[depth / 8] = (uint8_t) ((stack[depth / 8]
                                   & ~(1u << (depth % 8)))
                                   | ((unsigned) obj << (depth % 8)));
                depth++;
                c->i++;
                sluice_json_ws(c);
                if (c->i < c->len && c->p[c->i] == (obj ? '}' : ']')) {
                    c->i++;
                    depth--;
                    need_value = 0;
                    goto after_value;
                }
                if (obj) {
                    goto object_key;
                }
                continue;
            }

            if (depth == 0) {
                *t = (b == 't') ? SLUICE_JSON_TRUE
                     : (b == 'f') ? SLUICE_JSON_FALSE
                     : (b == 'n') ? SLUICE_JSON_NULL
                     : SLUICE_JSON_NUMBER;
            }

            if (b == '"') {
                if (sluice_json_string(c) != 0) {
                    return -1;
                }
            } else if (b == 't') {
                if (sluice_json_literal(c, "true", 4) != 0) {
                    return -1;
                }
            } else if (b == 'f') {
                if (sluice_json_literal(c, "false", 5) != 0) {
                    return -1;
                }
            } else if (b == 'n') {
                if (sluice_json_literal(c, "null", 4) != 0) {
                    return -1;
                }
            } else if (b == '-' || (b >= '0' && b <= '9')) {
                if (sluice_json_number(c) != 0) {
                    return -1;
                }
            } else {
                return sluice_json_fail(c, "unexpected character");
            }

            need_value = 0;

        after_value:

            if (depth == 0) {
                return 0;
            }
            continue;
        }

        obj = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;

        if (b == (obj ? '}' : ']')) {
            c->i++;
            depth--;
            goto after_value;
        }

        if (b != ',') {
            return sluice_json_fail(c, "expected ',' or end of container");
        }

        c->i++;

        if (!obj) {
            need_value = 1;
            continue;
        }

    object_key:

        sluice_json_ws(c);

        if (c->i >= c->len || c->p[c->i] != '"') {
            return sluice_json_fail(c, "expected object key");
        }

        if (sluice_json_string(c) != 0) {
            return -1;
        }

        sluice_json_ws(c);

        if (c->i >= c->len || c->p[c->i] != ':') {
            return sluice_json_fail(c, "expected ':'");
        }

        c->i++;
        need_value = 1;
    }
}


/* key span includes the quotes; escaped keys are decoded to compare */
static int
sluice_json_key_is(const uint8_t *p, size_t len, unsigned esc,
    const char *name, size_t nlen)
{
    uint8_t  buf[64];
    ssize_t  n;

    if (!esc) {
        return len - 2 == nlen && (nlen == 0 || p[1] == (uint8_t) name[0])
               && memcmp(p + 1, name, nlen) == 0;
    }

    n = sluice_json_string_decode(p, len, buf, sizeof(buf));

    return n >= 0 && (size_t) n == nlen && memcmp(buf, name, nlen) == 0;
}


/* every member NONE; the names' lengths */
static void
sluice_json_names(sluice_json_member_t *m, size_t n,
    sluice_json_names_t *names)
{
    size_t  k, l;

    names->lens = 0;
    names->any = (n > SLUICE_JSON_NAMES);

    for (k = 0; k < n; k++) {
        m[k].type = SLUICE_JSON_NONE;

        if (k < SLUICE_JSON_NAMES) {
            l = strlen(m[k].name);
            names->len[k] = l;

            if (l < 64) {
                names->lens |= (uint64_t) 1 << l;

            } else {
                names->any = 1;
            }
        }
    }
}


static int
sluice_json_member_done(sluice_json_cur_t *c, sluice_json_member_t *m,
    size_t n, const sluice_json_names_t *names, size_t key, size_t klen,
    unsigned esc, size_t start, sluice_json_type_e t)
{
    size_t  k, l;

    /* a plain key whose length no name has: not wanted */
    l = klen - 2;

    if (!esc && !names->any
        && (l >= 64 || ((names->lens >> l) & 1) == 0))
    {
        return 0;
    }

    for (k = 0; k < n; k++) {
        l = (k < SLUICE_JSON_NAMES) ? names->len[k] : strlen(m[k].name);

        /* a plain key: the length and the first byte first */
        if (!esc && (l != klen - 2 || (l && c->p[key + 1] != m[k].name[0])))
        {
            continue;
        }

        if (!sluice_json_key_is(c->p + key, klen, esc, m[k].name, l)) {
            continue;
        }

        if (m[k].type != SLUICE_JSON_NONE) {
            return sluice_json_fail(c, "duplicate member");
        }

        m[k].type = t;
        m[k].key_start = key;
        m[k].start = start;
        m[k].end = c->i;
        return 0;
    }

    return 0;
}


int
sluice_json_scan(const uint8_t *p, size_t len, sluice_json_member_t *members,
    size_t n, size_t *open, sluice_json_error_t *err)
{
    size_t               k, key, start;
    unsigned             esc;
    sluice_json_cur_t    c;
    sluice_json_type_e   t;
    sluice_json_names_t  names;

    c.p = p;
    c.len = len;
    c.i = 0;
    c.reason = NULL;
    c.esc = 0;

    sluice_json_names(members, n, &names);

    sluice_json_ws(&c);

    if (c.i >= len || p[c.i] != '{') {
        sluice_json_fail(&c, "top level is not an object");
        goto failed;
    }

    c.i++;
    *open = c.i;
    sluice_json_ws(&c);

    if (c.i < len && p[c.i] == '}') {
        c.i++;
        goto done;
    }

    for ( ;; ) {
        sluice_json_ws(&c);

        if (c.i >= len || p[c.i] != '"') {
            sluice_json_fail(&c, "expected object key");
            goto failed;
        }

        key = c.i;

        if (sluice_json_string(&c) != 0) {
            goto failed;
        }

        k = c.i - key;
        esc = c.esc;
        sluice_json_ws(&c);

        if (c.i >= len || p[c.i] != ':') {
            sluice_json_fail(&c, "expected ':'");
            goto failed;
        }

        c.i++;
        sluice_json_ws(&c);
        start = c.i;

        if (sluice_json_value(&c, &t) != 0
            || sluice_json_member_done(&c, members, n, &names, key, k, esc,
                                       start, t)
               != 0)
        {
            goto failed;
        }

        sluice_json_ws(&c);

        if (c.i < len && p[c.i] == ',') {
            c.i++;
            continue;
        }

        if (c.i < len && p[c.i] == '}') {
            c.i++;
            break;
        }

        sluice_json_fail(&c, "expected ',' or '}'");
        goto failed;
    }

done:

    sluice_json_ws(&c);

    if (c.i != len) {
        sluice_json_fail(&c, "trailing data after the object");
        goto failed;
    }

    return 0;

failed:

    err->offset = c.i;
    err->reason = c.reason;
    return -1;
}


/*
 * The skimmer: offsets only, no validation.  Each returns the offset
 * after what it skipped, or 0 when the text ends first.
 */

/* i at an opening quote; *esc set when the string holds an escape */
static size_t
sluice_json_skim_string(const uint8_t *p, size_t i, size_t len,
    unsigned *esc)
{
#if defined(__SSE2__)
    unsigned  bits;
    __m128i   v;
#endif

    i++;
    *esc = 0;

    for ( ;; ) {
#if defined(__SSE2__)
        while (i + 16 <= len) {
            v = _mm_loadu_si128((const __m128i *) (p + i));
            bits = (unsigned) _mm_movemask_epi8(
                       _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
            if (bits) {
                i += (size_t) __builtin_ctz(bits);
                break;
            }

            i += 16;
        }
#endif

        while (i < len && p[i] != '"' && p[i] != '\\') {
            i++;
        }

        if (i >= len) {
            return 0;
        }

        if (p[i] == '"') {
            return i + 1;
        }

        *esc = 1;
        i += 2;
    }
}


/* i at '{' or '['; brackets are counted, their kinds not matched */
static size_t
sluice_json_skim_container(const uint8_t *p, size_t i, size_t len)
{
    size_t    depth;
    uint8_t   b;
    unsigned  esc;
#if defined(__SSE2__)
    unsigned  bits;
    __m128i   v, m;
#endif

    depth = 0;

    while (i < len) {
#if defined(__SSE2__)
        while (i + 16 <= len) {
            v = _mm_loadu_si128((const __m128i *) (p + i));

            m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('{')),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8('}')));
            m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('[')));
            m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(']')));
            m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
            bits = (unsigned) _mm_movemask_epi8(m);

            if (bits) {
                i += (size_t) __builtin_ctz(bits);
                break;
            }

            i += 16;
        }

        if (i >= len) {
            break;
        }
#endif

        b = p[i];

        if (b == '"') {
            i = sluice_json_skim_string(p, i, len, &esc);
            if (i == 0) {
                return 0;
            }
            continue;
        }

        if (b == '{' || b == '[') {
            depth++;

        } else if (b == '}' || b == ']') {
            if (--depth == 0) {
                return i + 1;
            }
        }

        i++;
    }

    return 0;
}


/* one value at i: its type and the offset after it */
static size_t
sluice_json_skim_value(const uint8_t *p, size_t i, size_t len,
    sluice_json_type_e *t)
{
    uint8_t   b;
    unsigned  esc;

    b = p[i];

    switch (b) {

    case '"':
        *t = SLUICE_JSON_STRING;
        return sluice_json_skim_string(p, i, len, &esc);

    case '{':
    case '[':
        *t = (b == '{') ? SLUICE_JSON_OBJECT : SLUICE_JSON_ARRAY;
        return sluice_json_skim_container(p, i, len);

    case 't':
        *t = SLUICE_JSON_TRUE;
        break;

    case 'f':
        *t = SLUICE_JSON_FALSE;
        break;

    case 'n':
        *t = SLUICE_JSON_NULL;
        break;

    default:
        *t = SLUICE_JSON_NUMBER;
    }

    /* a literal or a number: up to what may follow a value */
    while (i < len && p[i] != ',' && p[i] != '}' && p[i] != ']'
           && p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
    {
        i++;
    }

    return i;
}


int
sluice_json_skim(const uint8_t *p, size_t len, sluice_json_member_t *members,
    size_t n)
{
    size_t               k, key, start;
    unsigned             esc;
    sluice_json_cur_t    c;
    sluice_json_type_e   t;
    sluice_json_names_t  names;

    c.p = p;
    c.len = len;
    c.i = 0;
    c.reason = NULL;

    sluice_json_names(members, n, &names);

    sluice_json_ws(&c);

    if (c.i >= len || p[c.i] != '{') {
        return -1;
    }

    c.i++;

    for ( ;; ) {
        sluice_json_ws(&c);

        if (c.i >= len) {
            return -1;
        }

        if (p[c.i] == '}') {
            return 0;
        }

        if (p[c.i] != '"') {
            return -1;
        }

        key = c.i;
        c.i = sluice_json_skim_string(p, c.i, len, &esc);

        if (c.i == 0) {
            return -1;
        }

        /* an escaped key is decoded to be compared: it must be valid */
        if (esc) {
            c.i = key;

            if (sluice_json_string(&c) != 0) {
                return -1;
            }
        }

        k = c.i - key;
        sluice_json_ws(&c);

        if (c.i >= len || p[c.i] != ':') {
            return -1;
        }

        c.i++;
        sluice_json_ws(&c);

        if (c.i >= len) {
            return -1;
        }

        start = c.i;
        c.i = sluice_json_skim_value(p, c.i, len, &t);

        if (c.i == 0
            || sluice_json_member_done(&c, members, n, &names, key, k, esc,
                                       start, t)
               != 0)
        {
            return -1;
        }

        sluice_json_ws(&c);

        if (c.i < len && p[c.i] == ',') {
            c.i++;
        }
    }
}


unsigned
sluice_json_hex4(const uint8_t *p)
{
    unsigned  v, k;
    uint8_t   b;

    v = 0;
    for (k = 0; k < 4; k++) {
        b = p[k];
        v = v * 16 + ((b <= '9') ? (unsigned) (b - '0')
                                 : (unsigned) ((b | 0x20) - 'a' + 10));
    }
    return v;
}


ssize_t
sluice_json_string_decode(const uint8_t *p, size_t len, uint8_t *out,
    size_t cap)
{
    size_t    i, o;
    unsigned  cp, lo;
    uint8_t   b;

    o = 0;

    for (i = 1; i + 1 < len; /* void */) {
        if (o + 4 > cap) {
            return -1;
        }

        b = p[i];
        if (b != '\\') {
            out[o++] = b;
            i++;
            continue;
        }

        b = p[i + 1];
        i += 2;

        switch (b) {
        case 'b': out[o++] = '\b'; continue;
        case 'f': out[o++] = '\f'; continue;
        case 'n': out[o++] = '\n'; continue;
        case 'r': out[o++] = '\r'; continue;
        case 't': out[o++] = '\t'; continue;
        case 'u': break;
        default: out[o++] = b; continue;
        }

        cp = sluice_json_hex4(p + i);
        i += 4;

        if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < len && p[i] == '\\'
            && p[i + 1] == 'u')
        {
            lo = sluice_json_hex4(p + i + 2);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
        }

        o += sluice_json_utf8_put(out + o, cp);
    }

    return (ssize_t) o;
}


size_t
sluice_json_escaped_len(const uint8_t *s, size_t len)
{
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++) {
        n += (s[i] == '"' || s[i] == '\\') ? 2 : (s[i] < 0x20) ? 6 : 1;
    }
    return n;
}


uint8_t *
sluice_json_escape(uint8_t *out, const uint8_t *s, size_t len)
{
    static const char  hex[] = "0123456789abcdef";
    size_t             i;

    for (i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            *out++ = '\\';
            *out++ = s[i];
        } else if (s[i] < 0x20) {
            *out++ = '\\'; *out++ = 'u'; *out++ = '0'; *out++ = '0';
            *out++ = (uint8_t) hex[s[i] >> 4];
            *out++ = (uint8_t) hex[s[i] & 0xf];
        } else {
            *out++ = s[i];
        }
    }
    return out;
}
