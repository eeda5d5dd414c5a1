/*
 * The JSON scanner as it was before the SIMD string skipping and the
 * cheaper member matching (commit 7f254ea), kept as a test oracle: the
 * scanner must still accept, refuse, report errors at the same offsets
 * with the same reasons, and report the same member spans.  Included by
 * test_json.c only.
 */

#include <string.h>
#include "sluice_json.h"

static int sluice_jref_scan(const uint8_t *p, size_t len,
    sluice_json_member_t *members, size_t n, size_t *open,
    sluice_json_error_t *err);
static ssize_t sluice_jref_string_decode(const uint8_t *p, size_t len,
    uint8_t *out, size_t cap);


typedef struct {
    const uint8_t         *p;
    size_t                 len;
    size_t                 i;
    const char            *reason;
} sluice_jref_cur_t;


static void sluice_jref_ws(sluice_jref_cur_t *c);
static int sluice_jref_utf8(sluice_jref_cur_t *c);
static int sluice_jref_string(sluice_jref_cur_t *c);
static int sluice_jref_number(sluice_jref_cur_t *c);
static int sluice_jref_literal(sluice_jref_cur_t *c, const char *lit,
    size_t n);
static int sluice_jref_value(sluice_jref_cur_t *c, sluice_json_type_e *t);
static int sluice_jref_key_is(const uint8_t *p, size_t len,
    const char *name);
static int sluice_jref_member_done(sluice_jref_cur_t *c,
    sluice_json_member_t *m, size_t n, size_t key, size_t klen,
    size_t start, sluice_json_type_e t);
static int sluice_jref_fail(sluice_jref_cur_t *c, const char *reason);

/*
 * 1 for the bytes a string may hold as they are (printable ASCII but the
 * quote and the backslash): the string loop skips runs of them cheaply.
 */
static const uint8_t  sluice_jref_plain[256] = {
    ['\x20'] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
};
static unsigned sluice_jref_hex4(const uint8_t *p);
static size_t sluice_jref_skip_plain(const uint8_t *p, size_t i,
    size_t len);


static int
sluice_jref_fail(sluice_jref_cur_t *c, const char *reason)
{
    c->reason = reason;
    return -1;
}


static void
sluice_jref_ws(sluice_jref_cur_t *c)
{
    while (c->i < c->len) {
        switch (c->p[c->i]) {
        case ' ': case '\t': case '\n': case '\r':
            c->i++;
            continue;
        }
        return;
    }
}


/* one multi-byte UTF-8 sequence at c->i (first byte >= 0x80) */
static int
sluice_jref_utf8(sluice_jref_cur_t *c)
{
    uint8_t   b;
    uint32_t  cp, min;
    size_t    n, k;

    b = c->p[c->i];

    if (b >= 0xc2 && b <= 0xdf) {
        n = 1; cp = b & 0x1f; min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 2; cp = b & 0x0f; min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 3; cp = b & 0x07; min = 0x10000;
    } else {
        return sluice_jref_fail(c, "invalid UTF-8");
    }

    if (c->i + n >= c->len) {
        return sluice_jref_fail(c, "truncated UTF-8");
    }

    for (k = 1; k <= n; k++) {
        b = c->p[c->i + k];
        if ((b & 0xc0) != 0x80) {
            return sluice_jref_fail(c, "invalid UTF-8");
        }
        cp = (cp << 6) | (b & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return sluice_jref_fail(c, "invalid UTF-8");
    }

    c->i += n + 1;
    return 0;
}


/*
 * Skips bytes a string holds as they are.  Eight at a time while none of
 * them is a control character, a quote, a backslash or non-ASCII (the
 * classic "has a zero byte" word tricks), then byte by byte.
 */
static size_t
sluice_jref_skip_plain(const uint8_t *p, size_t i, size_t len)
{
    uint64_t  w, q, b;

    static const uint64_t  ones = 0x0101010101010101ULL;
    static const uint64_t  high = 0x8080808080808080ULL;

    while (i + 8 <= len) {
        memcpy(&w, p + i, 8);

        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');

        if (((w - ones * 0x20) | (q - ones) | (b - ones) | w) & high) {
            break;
        }

        i += 8;
    }

    while (i < len && sluice_jref_plain[p[i]]) {
        i++;
    }

    return i;
}


/* c->i at the opening quote; leaves c->i after the closing quote */
static int
sluice_jref_string(sluice_jref_cur_t *c)
{
    uint8_t  b;
    size_t   k;

    c->i++;

    while (c->i < c->len) {
        c->i = sluice_jref_skip_plain(c->p, c->i, c->len);

        if (c->i == c->len) {
            break;
        }

        b = c->p[c->i];

        if (b == '"') {
            c->i++;
            return 0;
        }

        if (b < 0x20) {
            return sluice_jref_fail(c, "control character in string");
        }

        if (b >= 0x80) {
            if (sluice_jref_utf8(c) != 0) {
                return -1;
            }
            continue;
        }

        if (b != '\\') {
            c->i++;
            continue;
        }

        if (c->i + 1 >= c->len) {
            break;
        }

        switch (c->p[c->i + 1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            c->i += 2;
            continue;
        case 'u':
            if (c->i + 6 > c->len) {
                return sluice_jref_fail(c, "truncated escape");
            }
            for (k = 2; k < 6; k++) {
                b = c->p[c->i + k];
                if (!((b >= '0' && b <= '9') || ((b | 0x20) >= 'a'
                      && (b | 0x20) <= 'f')))
                {
                    return sluice_jref_fail(c, "invalid \\u escape");
                }
            }
            c->i += 6;
            continue;
        default:
            return sluice_jref_fail(c, "invalid escape");
        }
    }

    return sluice_jref_fail(c, "unterminated string");
}


static int
sluice_jref_number(sluice_jref_cur_t *c)
{
    size_t  digits;

    if (c->i < c->len && c->p[c->i] == '-') {
        c->i++;
    }

    if (c->i < c->len && c->p[c->i] == '0') {
        c->i++;

    } else {
        for (digits = 0; c->i < c->len
             && c->p[c->i] >= '0' && c->p[c->i] <= '9'; digits++)
        {
            c->i++;
        }
        if (digits == 0) {
            return sluice_jref_fail(c, "invalid number");
        }
    }

    if (c->i < c->len && c->p[c->i] == '.') {
        c->i++;
        for (digits = 0; c->i < c->len
             && c->p[c->i] >= '0' && c->p[c->i] <= '9'; digits++)
        {
            c->i++;
        }
        if (digits == 0) {
            return sluice_jref_fail(c, "invalid number");
        }
    }

    if (c->i < c->len && (c->p[c->i] | 0x20) == 'e') {
        c->i++;
        if (c->i < c->len && (c->p[c->i] == '+' || c->p[c->i] == '-')) {
            c->i++;
        }
        for (digits = 0; c->i < c->len
             && c->p[c->i] >= '0' && c->p[c->i] <= '9'; digits++)
        {
            c->i++;
        }
        if (digits == 0) {
            return sluice_jref_fail(c, "invalid number");
        }
    }

    return 0;
}


static int
sluice_jref_literal(sluice_jref_cur_t *c, const char *lit, size_t n)
{
    if (c->len - c->i < n || memcmp(c->p + c->i, lit, n) != 0) {
        return sluice_jref_fail(c, "invalid literal");
    }

    c->i += n;
    return 0;
}


/*
 * Scans one value of any type, iteratively: stack holds one bit per open
 * container (1 object, 0 array).
 */
static int
sluice_jref_value(sluice_jref_cur_t *c, sluice_json_type_e *t)
{
    uint8_t   stack[SLUICE_JSON_MAX_DEPTH / 8];
    size_t    depth;
    int       obj, need_value;
    uint8_t   b;

    depth = 0;
    need_value = 1;
    *t = SLUICE_JSON_NONE;

    for ( ;; ) {
        sluice_jref_ws(c);

        if (c->i >= c->len) {
            return sluice_jref_fail(c, "unexpected end of input");
        }

        b = c->p[c->i];

        if (need_value) {
            if (b == '{' || b == '[') {
                if (depth == SLUICE_JSON_MAX_DEPTH) {
                    return sluice_jref_fail(c, "nesting too deep");
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
                sluice_jref_ws(c);
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
                *t = (b == '"') ? SLUICE_JSON_STRING
                     : (b == 't') ? SLUICE_JSON_TRUE
                     : (b == 'f') ? SLUICE_JSON_FALSE
                     : (b == 'n') ? SLUICE_JSON_NULL
                     : SLUICE_JSON_NUMBER;
            }

            if (b == '"') {
                if (sluice_jref_string(c) != 0) {
                    return -1;
                }
            } else if (b == 't') {
                if (sluice_jref_literal(c, "true", 4) != 0) {
                    return -1;
                }
            } else if (b == 'f') {
                if (sluice_jref_literal(c, "false", 5) != 0) {
                    return -1;
                }
            } else if (b == 'n') {
                if (sluice_jref_literal(c, "null", 4) != 0) {
                    return -1;
                }
            } else if (b == '-' || (b >= '0' && b <= '9')) {
                if (sluice_jref_number(c) != 0) {
                    return -1;
                }
            } else {
                return sluice_jref_fail(c, "unexpected character");
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
            return sluice_jref_fail(c, "expected ',' or end of container");
        }

        c->i++;

        if (!obj) {
            need_value = 1;
            continue;
        }

    object_key:

        sluice_jref_ws(c);

        if (c->i >= c->len || c->p[c->i] != '"') {
            return sluice_jref_fail(c, "expected object key");
        }

        if (sluice_jref_string(c) != 0) {
            return -1;
        }

        sluice_jref_ws(c);

        if (c->i >= c->len || c->p[c->i] != ':') {
            return sluice_jref_fail(c, "expected ':'");
        }

        c->i++;
        need_value = 1;
    }
}


/* key span includes the quotes; escaped keys are decoded to compare */
static int
sluice_jref_key_is(const uint8_t *p, size_t len, const char *name)
{
    uint8_t  buf[64];
    ssize_t  n;
    size_t   nlen;

    nlen = strlen(name);

    if (memchr(p, '\\', len) == NULL) {
        return len - 2 == nlen && memcmp(p + 1, name, nlen) == 0;
    }

    n = sluice_jref_string_decode(p, len, buf, sizeof(buf));

    return n >= 0 && (size_t) n == nlen && memcmp(buf, name, nlen) == 0;
}


static int
sluice_jref_member_done(sluice_jref_cur_t *c, sluice_json_member_t *m,
    size_t n, size_t key, size_t klen, size_t start, sluice_json_type_e t)
{
    size_t  k;

    for (k = 0; k < n; k++) {
        if (!sluice_jref_key_is(c->p + key, klen, m[k].name)) {
            continue;
        }

        if (m[k].type != SLUICE_JSON_NONE) {
            return sluice_jref_fail(c, "duplicate member");
        }

        m[k].type = t;
        m[k].key_start = key;
        m[k].start = start;
        m[k].end = c->i;
        return 0;
    }

    return 0;
}


static int
sluice_jref_scan(const uint8_t *p, size_t len, sluice_json_member_t *members,
    size_t n, size_t *open, sluice_json_error_t *err)
{
    sluice_jref_cur_t   c;
    sluice_json_type_e  t;
    size_t              k, key, start;

    c.p = p;
    c.len = len;
    c.i = 0;
    c.reason = NULL;

    for (k = 0; k < n; k++) {
        members[k].type = SLUICE_JSON_NONE;
    }

    sluice_jref_ws(&c);

    if (c.i >= len || p[c.i] != '{') {
        sluice_jref_fail(&c, "top level is not an object");
        goto failed;
    }

    c.i++;
    *open = c.i;
    sluice_jref_ws(&c);

    if (c.i < len && p[c.i] == '}') {
        c.i++;
        goto done;
    }

    for ( ;; ) {
        sluice_jref_ws(&c);

        if (c.i >= len || p[c.i] != '"') {
            sluice_jref_fail(&c, "expected object key");
            goto failed;
        }

        key = c.i;

        if (sluice_jref_string(&c) != 0) {
            goto failed;
        }

        k = c.i - key;
        sluice_jref_ws(&c);

        if (c.i >= len || p[c.i] != ':') {
            sluice_jref_fail(&c, "expected ':'");
            goto failed;
        }

        c.i++;
        sluice_jref_ws(&c);
        start = c.i;

        if (sluice_jref_value(&c, &t) != 0
            || sluice_jref_member_done(&c, members, n, key, k, start, t)
               != 0)
        {
            goto failed;
        }

        sluice_jref_ws(&c);

        if (c.i < len && p[c.i] == ',') {
            c.i++;
            continue;
        }

        if (c.i < len && p[c.i] == '}') {
            c.i++;
            break;
        }

        sluice_jref_fail(&c, "expected ',' or '}'");
        goto failed;
    }

done:

    sluice_jref_ws(&c);

    if (c.i != len) {
        sluice_jref_fail(&c, "trailing data after the object");
        goto failed;
    }

    return 0;

failed:

    err->offset = c.i;
    err->reason = c.reason;
    return -1;
}


static unsigned
sluice_jref_hex4(const uint8_t *p)
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


static ssize_t
sluice_jref_string_decode(const uint8_t *p, size_t len, uint8_t *out,
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

        cp = sluice_jref_hex4(p + i);
        i += 4;

        if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < len && p[i] == '\\'
            && p[i + 1] == 'u')
        {
            lo = sluice_jref_hex4(p + i + 2);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
        }

        if (cp < 0x80) {
            out[o++] = (uint8_t) cp;
        } else if (cp < 0x800) {
            out[o++] = (uint8_t) (0xc0 | (cp >> 6));
            out[o++] = (uint8_t) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[o++] = (uint8_t) (0xe0 | (cp >> 12));
            out[o++] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
            out[o++] = (uint8_t) (0x80 | (cp & 0x3f));
        } else {
            out[o++] = (uint8_t) (0xf0 | (cp >> 18));
            out[o++] = (uint8_t) (0x80 | ((cp >> 12) & 0x3f));
            out[o++] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
            out[o++] = (uint8_t) (0x80 | (cp & 0x3f));
        }
    }

    return (ssize_t) o;
}


