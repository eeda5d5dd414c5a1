/*
 * sluice_json: validating single-pass JSON scanner reporting top-level
 * member spans (see sluice_json.h); the skimmer is sluice_json_skim.c,
 * the text utilities sluice_json_text.c.
 */

#include <string.h>
#include "sluice_json_int.h"


static size_t sluice_json_utf8(sluice_json_cur_t *c, size_t i);
static size_t sluice_json_skip_plain(const uint8_t *p, size_t i,
    size_t len);
#if defined(__SSE2__)
SLUICE_JSON_ALWAYS uint64_t sluice_json_special64(const uint8_t *p);
#endif
static size_t sluice_json_special(sluice_json_cur_t *c, size_t j);
SLUICE_JSON_ALWAYS size_t sluice_json_step(sluice_json_cur_t *c,
    const uint8_t *p, size_t j, size_t len, unsigned *esc);
SLUICE_JSON_ALWAYS size_t sluice_json_utf8_short(const uint8_t *p);
static size_t sluice_json_escape_at(sluice_json_cur_t *c, size_t i);
SLUICE_JSON_ALWAYS size_t sluice_json_digits(const uint8_t *p, size_t i,
    size_t len);
SLUICE_JSON_ALWAYS size_t sluice_json_number(sluice_json_cur_t *c,
    const uint8_t *p, size_t i, size_t len);
static size_t sluice_json_literal(sluice_json_cur_t *c, size_t i,
    uint8_t b);
static size_t sluice_json_container(sluice_json_cur_t *c, const uint8_t *p,
    size_t i, size_t len);
SLUICE_JSON_ALWAYS size_t sluice_json_value(sluice_json_cur_t *c,
    const uint8_t *p, size_t i, size_t len, sluice_json_type_e *t);
SLUICE_JSON_ALWAYS int sluice_json_name_is(const char *name,
    const uint8_t *s, size_t len);

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
/* the type of a value by its first byte */
static const uint8_t  sluice_json_types[256] = {
    ['"'] = SLUICE_JSON_STRING, ['{'] = SLUICE_JSON_OBJECT,
    ['['] = SLUICE_JSON_ARRAY, ['t'] = SLUICE_JSON_TRUE,
    ['f'] = SLUICE_JSON_FALSE, ['n'] = SLUICE_JSON_NULL,
    ['-'] = SLUICE_JSON_NUMBER,
    ['0'] = SLUICE_JSON_NUMBER, SLUICE_JSON_NUMBER, SLUICE_JSON_NUMBER,
    SLUICE_JSON_NUMBER, SLUICE_JSON_NUMBER, SLUICE_JSON_NUMBER,
    SLUICE_JSON_NUMBER, SLUICE_JSON_NUMBER, SLUICE_JSON_NUMBER,
    SLUICE_JSON_NUMBER
};


/* one multi-byte UTF-8 sequence at i (first byte >= 0x80) */
static size_t
sluice_json_utf8(sluice_json_cur_t *c, size_t i)
{
    size_t   n, need;
    uint8_t  b;

    n = sluice_json_utf8_len(c->p + i, c->len - i);

    if (n == 0) {
        b = c->p[i];
        need = (b >= 0xf0) ? 4 : (b >= 0xe0) ? 3 : 2;

        return sluice_json_fail(c, i, (b >= 0xc2 && b <= 0xf4
                                       && c->len - i < need)
                                      ? "truncated UTF-8" : "invalid UTF-8");
    }

    return i + n;
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
 * One bit per special byte of p[0..63]: one test while all four blocks
 * are plain (long text), the mask built only when one is not.
 */
SLUICE_JSON_ALWAYS uint64_t
sluice_json_special64(const uint8_t *p)
{
    __m128i  a, b, c, d;

    a = sluice_json_plain_v(p);
    b = sluice_json_plain_v(p + 16);
    c = sluice_json_plain_v(p + 32);
    d = sluice_json_plain_v(p + 48);

    if (_mm_movemask_epi8(_mm_and_si128(_mm_and_si128(a, b),
                                        _mm_and_si128(c, d)))
        == 0xffff)
    {
        return 0;
    }

    return ~((uint64_t) (unsigned) _mm_movemask_epi8(a)
             | (uint64_t) (unsigned) _mm_movemask_epi8(b) << 16
             | (uint64_t) (unsigned) _mm_movemask_epi8(c) << 32
             | (uint64_t) (unsigned) _mm_movemask_epi8(d) << 48);
}

#endif


/*
 * A byte at j that is neither a quote nor plain, past what the string
 * loop handles itself: a \u or bad escape, a control character or the
 * start of a UTF-8 sequence.  Returns the offset after it, or 0 with the
 * error in c (at j).
 */
static size_t
sluice_json_special(sluice_json_cur_t *c, size_t j)
{
    uint8_t  b;

    b = c->p[j];

    if (b == '\\') {
        if (j + 1 >= c->len) {
            return sluice_json_fail(c, j, "unterminated string");
        }

        return sluice_json_escape_at(c, j);
    }

    if (b < 0x20) {
        return sluice_json_fail(c, j, "control character in string");
    }

    return sluice_json_utf8(c, j);
}

/*
 * The rest of sluice_json_string.  With SSE2 the first sixteen bytes are
 * looked at alone, then 64 bytes a step, sixteen near the end of the
 * text; every special byte of a block is taken from one mask, in order:
 * an escape or a UTF-8 sequence may run past the block, and the next
 * block starts after it.  The last bytes go eight a step.
 */
size_t
sluice_json_string_run(sluice_json_cur_t *c, const uint8_t *p, size_t i,
    size_t len, unsigned *esc)
{
    unsigned  e;
#if defined(__SSE2__)
    size_t    j, base, width;
    uint64_t  bits;
#endif

    i++;
    e = 0;

#if defined(__SSE2__)
    if (i + 16 > len) {
        goto tail;
    }

    base = i;
    width = 16;
    bits = sluice_json_special16(p + i);

    for ( ;; ) {
        i = base + width;

        while (bits) {
            j = base + (unsigned) __builtin_ctzll(bits);

            if (p[j] == '"') {
                *esc = e;
                return j + 1;
            }

            j = sluice_json_step(c, p, j, len, &e);
            if (j == 0) {
                return 0;
            }

            if (j - base >= width) {
                i = j;
                break;
            }

            bits &= ~0ULL << (j - base);
        }

        while (i + 64 <= len) {
            bits = sluice_json_special64(p + i);
            if (bits) {
                break;
            }
            i += 64;
        }

        base = i;
        width = 64;

        if (i + 64 > len) {
            if (i + 16 > len) {
                break;
            }

            width = 16;
            bits = sluice_json_special16(p + i);
        }
    }

tail:
#endif

    for ( ;; ) {
        i = sluice_json_skip_plain(p, i, len);

        if (i == len) {
            break;
        }

        if (p[i] == '"') {
            *esc = e;
            return i + 1;
        }

        i = sluice_json_step(c, p, i, len, &e);
        if (i == 0) {
            return 0;
        }
    }

    return sluice_json_fail(c, len, "unterminated string");
}


/*
 * The special byte at j, not a quote: returns the offset after it, or 0
 * with the error in c.  Two-byte escapes (*esc set) and two- or
 * three-byte UTF-8 sequences are taken here, the rest by
 * sluice_json_special.
 */
SLUICE_JSON_ALWAYS size_t
sluice_json_step(sluice_json_cur_t *c, const uint8_t *p, size_t j,
    size_t len, unsigned *esc)
{
    size_t  n;

    if (p[j] == '\\') {
        *esc = 1;

        if (j + 1 < len && sluice_json_escapes[p[j + 1]]) {
            return j + 2;
        }

    } else if (p[j] >= 0xc2 && j + 2 < len) {
        n = sluice_json_utf8_short(p + j);

        if (n) {
            return j + n;
        }
    }

    return sluice_json_special(c, j);
}


/*
 * 2 or 3 for a valid two- or three-byte UTF-8 sequence at p (p[0] >=
 * 0xc2, three bytes readable), else 0: sluice_json_utf8_len decides.
 * A three-byte one is at least U+0800 and no surrogate; the last byte's
 * low bits change neither.
 */
SLUICE_JSON_ALWAYS size_t
sluice_json_utf8_short(const uint8_t *p)
{
    unsigned  cp;

    if ((p[1] & 0xc0) != 0x80) {
        return 0;
    }

    if (p[0] < 0xe0) {
        return 2;
    }

    if (p[0] >= 0xf0 || (p[2] & 0xc0) != 0x80) {
        return 0;
    }

    cp = (unsigned) (p[0] & 0x0f) << 12 | (unsigned) (p[1] & 0x3f) << 6;

    return (cp >= 0x800 && (cp & 0xf800) != 0xd800) ? 3 : 0;
}


/* one escape at i (a backslash followed by at least one byte) */
static size_t
sluice_json_escape_at(sluice_json_cur_t *c, size_t i)
{
    size_t   k;
    uint8_t  b;

    switch (c->p[i + 1]) {

    case '"': case '\\': case '/': case 'b': case 'f': case 'n':
    case 'r': case 't':
        return i + 2;

    case 'u':
        if (i + 6 > c->len) {
            return sluice_json_fail(c, i, "truncated escape");
        }

        for (k = 2; k < 6; k++) {
            b = c->p[i + k];
            if (!((b >= '0' && b <= '9') || ((b | 0x20) >= 'a'
                  && (b | 0x20) <= 'f')))
            {
                return sluice_json_fail(c, i, "invalid \\u escape");
            }
        }

        return i + 6;

    default:
        return sluice_json_fail(c, i, "invalid escape");
    }
}


/* the offset after the run of digits at i */
SLUICE_JSON_ALWAYS size_t
sluice_json_digits(const uint8_t *p, size_t i, size_t len)
{
    while (i < len && (unsigned) (p[i] - '0') < 10) {
        i++;
    }

    return i;
}


/* i at '-' or a digit */
SLUICE_JSON_ALWAYS size_t
sluice_json_number(sluice_json_cur_t *c, const uint8_t *p, size_t i,
    size_t len)
{
    size_t  d;

    if (p[i] == '-') {
        i++;
    }

    if (i < len && p[i] == '0') {
        i++;

    } else {
        d = i;
        i = sluice_json_digits(p, i, len);
        if (i == d) {
            goto invalid;
        }
    }

    if (i < len && p[i] == '.') {
        d = ++i;
        i = sluice_json_digits(p, i, len);
        if (i == d) {
            goto invalid;
        }
    }

    if (i < len && (p[i] | 0x20) == 'e') {
        i++;
        if (i < len && (p[i] == '+' || p[i] == '-')) {
            i++;
        }

        d = i;
        i = sluice_json_digits(p, i, len);
        if (i == d) {
            goto invalid;
        }
    }

    return i;

invalid:

    return sluice_json_fail(c, i, "invalid number");
}


/* i at 't', 'f' or 'n' (b) */
static size_t
sluice_json_literal(sluice_json_cur_t *c, size_t i, uint8_t b)
{
    size_t       n;
    const char  *lit;

    lit = (b == 't') ? "true" : (b == 'f') ? "false" : "null";
    n = (b == 'f') ? 5 : 4;

    if (c->len - i < n || memcmp(c->p + i, lit, n) != 0) {
        return sluice_json_fail(c, i, "invalid literal");
    }

    return i + n;
}


/*
 * A container value at i ('{' or '['), iteratively: close[] holds the
 * closing bracket of each open container.  Returns the offset after its
 * end, or 0 with the error in c.  The states:
 *
 *   open   p[i] opens a container (depth limited)
 *   key    an object key expected (after '{' or an object's ',')
 *   value  a value expected (after ':', '[' or an array's ',')
 *   after  a value complete: ',' or the container's end, or the end of
 *          the outermost one
 */
static size_t
sluice_json_container(sluice_json_cur_t *c, const uint8_t *p, size_t i,
    size_t len)
{
    size_t    depth;
    uint8_t   b, close[SLUICE_JSON_MAX_DEPTH];
    unsigned  esc;

    depth = 0;
    b = p[i];

open:

    if (depth == SLUICE_JSON_MAX_DEPTH) {
        return sluice_json_fail(c, i, "nesting too deep");
    }

    /* '{' + 2 is '}', '[' + 2 is ']' */
    close[depth++] = (uint8_t) (b + 2);
    i = sluice_json_ws(p, i + 1, len);

    if (i < len && p[i] == b + 2) {
        i++;
        depth--;
        goto after;
    }

    if (b == '[') {
        goto value;
    }

key:

    i = sluice_json_ws(p, i, len);

    if (i >= len || p[i] != '"') {
        return sluice_json_fail(c, i, "expected object key");
    }

    i = sluice_json_string(c, p, i, len, &esc);

    if (i == 0) {
        return 0;
    }

    i = sluice_json_ws(p, i, len);

    if (i >= len || p[i] != ':') {
        return sluice_json_fail(c, i, "expected ':'");
    }

    i++;

value:

    i = sluice_json_ws(p, i, len);

    if (i >= len) {
        return sluice_json_fail(c, i, "unexpected end of input");
    }

    b = p[i];

    /* by frequency; a switch compiles to a tree of compares here */
    if (b == '"') {
        i = sluice_json_string(c, p, i, len, &esc);

    } else if (b == '{' || b == '[') {
        goto open;

    } else if (b == '-' || (unsigned) (b - '0') < 10) {
        i = sluice_json_number(c, p, i, len);

    } else if (b == 't' || b == 'f' || b == 'n') {
        i = sluice_json_literal(c, i, b);

    } else {
        return sluice_json_fail(c, i, "unexpected character");
    }

    if (i == 0) {
        return 0;
    }

after:

    if (depth == 0) {
        return i;
    }

    i = sluice_json_ws(p, i, len);

    if (i < len && p[i] == close[depth - 1]) {
        i++;
        depth--;
        goto after;
    }

    if (i < len && p[i] == ',') {
        i++;

        if (close[depth - 1] == '}') {
            goto key;
        }

        goto value;
    }

    return sluice_json_fail(c, i, (i >= len) ? "unexpected end of input"
                                  : "expected ',' or end of container");
}


/* one member's value at i: its type, the offset after it or 0 */
SLUICE_JSON_ALWAYS size_t
sluice_json_value(sluice_json_cur_t *c, const uint8_t *p, size_t i,
    size_t len, sluice_json_type_e *t)
{
    uint8_t   b;
    unsigned  esc;

    if (i >= len) {
        return sluice_json_fail(c, i, "unexpected end of input");
    }

    b = p[i];
    *t = sluice_json_types[b];

    switch (b) {

    case '"':
        return sluice_json_string(c, p, i, len, &esc);

    case '{':
    case '[':
        return sluice_json_container(c, p, i, len);

    case 't':
    case 'f':
    case 'n':
        return sluice_json_literal(c, i, b);

    case '-': case '0': case '1': case '2': case '3': case '4': case '5':
    case '6': case '7': case '8': case '9':
        return sluice_json_number(c, p, i, len);

    default:
        return sluice_json_fail(c, i, "unexpected character");
    }
}


int
sluice_json_scan(const uint8_t *p, size_t len, sluice_json_member_t *members,
    size_t n, size_t *open, sluice_json_error_t *err)
{
    size_t               i, start;
    sluice_json_cur_t    c;
    sluice_json_key_t    key;
    sluice_json_type_e   t;
    sluice_json_names_t  names;

    c.p = p;
    c.len = len;
    c.i = 0;
    c.reason = NULL;

    sluice_json_names(&names, members, n);

    i = sluice_json_ws(p, 0, len);

    if (i >= len || p[i] != '{') {
        sluice_json_fail(&c, i, "top level is not an object");
        goto failed;
    }

    *open = ++i;
    i = sluice_json_ws(p, i, len);

    if (i < len && p[i] == '}') {
        i++;
        goto done;
    }

    for ( ;; ) {
        i = sluice_json_ws(p, i, len);

        if (i >= len || p[i] != '"') {
            sluice_json_fail(&c, i, "expected object key");
            goto failed;
        }

        key.start = i;
        i = sluice_json_string(&c, p, i, len, &key.esc);

        if (i == 0) {
            goto failed;
        }

        key.len = i - key.start;
        i = sluice_json_ws(p, i, len);

        if (i >= len || p[i] != ':') {
            sluice_json_fail(&c, i, "expected ':'");
            goto failed;
        }

        start = sluice_json_ws(p, i + 1, len);
        i = sluice_json_value(&c, p, start, len, &t);

        if (i == 0
            || sluice_json_member(&c, &names, &key, start, i, t) != 0)
        {
            goto failed;
        }

        i = sluice_json_ws(p, i, len);

        if (i < len && p[i] == ',') {
            i++;
            continue;
        }

        if (i < len && p[i] == '}') {
            i++;
            break;
        }

        sluice_json_fail(&c, i, "expected ',' or '}'");
        goto failed;
    }

done:

    i = sluice_json_ws(p, i, len);

    if (i != len) {
        sluice_json_fail(&c, i, "trailing data after the object");
        goto failed;
    }

    return 0;

failed:

    err->offset = c.i;
    err->reason = c.reason;
    return -1;
}


/*
 * Every member NONE; the names' first two bytes: bit (b & 63) for each
 * byte b, the quote's for a name's end (what follows the last byte of a
 * plain key).  A key is always followed by ':', so its first two bytes
 * and the one after them can be read.
 */
void
sluice_json_names(sluice_json_names_t *names, sluice_json_member_t *m,
    size_t n)
{
    size_t       k;
    const char  *name;

    names->m = m;
    names->n = n;
    names->first = 0;
    names->second = 0;

    for (k = 0; k < n; k++) {
        m[k].type = SLUICE_JSON_NONE;
        name = m[k].name;

        if (name[0] == '\0') {
            names->first |= (uint64_t) 1 << ('"' & 63);
            names->second = ~(uint64_t) 0;
            continue;
        }

        names->first |= (uint64_t) 1 << (name[0] & 63);
        names->second |= (uint64_t) 1 << ((name[1] ? name[1] : '"') & 63);
    }
}


/* the first wanted member named s[0..len) */
sluice_json_member_t *
sluice_json_find(const sluice_json_names_t *names, const uint8_t *s,
    size_t len)
{
    size_t                 k;
    uint8_t                b;
    const char            *name;

    b = len ? s[0] : 0;

    for (k = 0; k < names->n; k++) {
        name = names->m[k].name;

        if ((uint8_t) name[0] == b && sluice_json_name_is(name, s, len)) {
            return &names->m[k];
        }
    }

    return NULL;
}


/* an escaped key (its span with the quotes) is decoded to be compared */
__attribute__((noinline)) sluice_json_member_t *
sluice_json_find_escaped(const sluice_json_names_t *names,
    const uint8_t *key, size_t klen)
{
    ssize_t  len;
    uint8_t  buf[64];

    len = sluice_json_string_decode(key, klen, buf, sizeof(buf));

    if (len < 0) {
        return NULL;
    }

    return sluice_json_find(names, buf, (size_t) len);
}


/* name (NUL-terminated) is exactly s[0..len) */
SLUICE_JSON_ALWAYS int
sluice_json_name_is(const char *name, const uint8_t *s, size_t len)
{
    size_t  k;

    for (k = 0; k < len; k++) {
        if (name[k] == '\0' || (uint8_t) name[k] != s[k]) {
            return 0;
        }
    }

    return name[len] == '\0';
}

