/*
 * sluice_xlate_tape: an upstream event's JSON read without jansson, for
 * the stream translator's fast path.  One pass validates the text and
 * records its values in a flat tape (a token per value, each knowing
 * where the next sibling starts), so the decoders find members without
 * building a tree and read strings in place.
 *
 * What the tape accepts, jansson (json_loadb, flags 0) accepts too and
 * reads the same way: when in doubt the parse declines and the event
 * goes to jansson.  So it declines what jansson refuses (invalid UTF-8,
 * \u0000, lone surrogates, integers that overflow), and what it would
 * rather not judge: reals with an exponent or over 300 characters, keys
 * holding escapes, more tokens than it records, deep nesting.  Duplicate
 * keys are kept; a lookup finds the last one, as jansson does.
 *
 * A stream's tape records SLUICE_XLATE_TAPE_MAX tokens at most; a
 * request's (sluice_xlate_tape_create_n with grow) takes more memory as
 * the body needs it, and declines containers of over 65535 members.
 */

#include <stdlib.h>
#include <string.h>
#include "sluice_json.h"
#include "sluice_xlate_int.h"


#define SLUICE_XLATE_TAPE_REAL   300    /* longer reals: declined */
#define SLUICE_XLATE_TAPE_DIGITS 18     /* longer integers: declined */


static inline const uint8_t *sluice_xlate_tape_string(const uint8_t *q,
    const uint8_t *end, int key, int *esc);
static const uint8_t *sluice_xlate_tape_escape(const uint8_t *q,
    const uint8_t *end);
static const uint8_t *sluice_xlate_tape_number(const uint8_t *q,
    const uint8_t *end, int *integer);
static int sluice_xlate_tape_hex(const uint8_t *p);
static size_t sluice_xlate_tape_decode(const uint8_t *p, size_t len,
    char *out);
static int sluice_xlate_tape_more(sluice_xlate_tape_t *t);


/* blanks skipped; compact JSON has none, so one look mostly */
#define sluice_xlate_tape_ws(q, end)                                         \
    while (q < end && *q <= ' '                                              \
           && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))         \
    {                                                                        \
        q++;                                                                 \
    }


sluice_xlate_tape_t *
sluice_xlate_tape_create(void)
{
    return sluice_xlate_tape_create_n(SLUICE_XLATE_TAPE_MAX, 0);
}


/* room for max tokens; with grow, more are allocated when needed */
sluice_xlate_tape_t *
sluice_xlate_tape_create_n(unsigned max, unsigned grow)
{
    sluice_xlate_tape_t  *t;

    t = malloc(sizeof(sluice_xlate_tape_t));
    if (t == NULL) {
        return NULL;
    }

    t->tok = malloc((max ? max : 1) * sizeof(sluice_xlate_tok_t));
    if (t->tok == NULL) {
        free(t);
        return NULL;
    }

    t->max = max;
    t->grow = grow;
    t->p = NULL;
    t->len = 0;
    t->n = 0;
    t->scratch = NULL;
    t->cap = 0;
    t->used = 0;

    return t;
}


void
sluice_xlate_tape_destroy(sluice_xlate_tape_t *t)
{
    if (t) {
        free(t->scratch);
        free(t->tok);
        free(t);
    }
}


/*
 * 0 with the tape made, or -1: not an object jansson would read the
 * same way (or out of memory): the caller asks jansson.  Strings read
 * from the tape are decoded into its scratch, which holds twice the
 * event: enough when each string is read at most twice.  Values deeper
 * than keep (the top-level object is depth 0) are checked, not kept.
 *
 * One pass, a state machine over three places:
 *
 *   value:  a value starts; a container opens (-> key for an object
 *           that is not empty, -> value for an array, -> close when
 *           empty), a scalar is read (-> after)
 *   after:  a value ended: ',' (-> key or value), or the container
 *           closes (close -> after); at depth 0 only blanks may follow
 *   key:    a key and ':' (-> value)
 *
 * open[] holds the token of each open container (-1: not kept), obj[]
 * whether it is an object, kids[] the tokens kept directly inside it.
 */
int
sluice_xlate_tape_parse(sluice_xlate_tape_t *t, const uint8_t *p,
    size_t len, unsigned keep)
{
    int                  esc, integer, open[SLUICE_XLATE_TAPE_NEST];
    char                *s;
    size_t               cap, n_lit;
    uint8_t              c, obj[SLUICE_XLATE_TAPE_NEST];
    unsigned             n, depth, kids[SLUICE_XLATE_TAPE_NEST];
    const uint8_t       *q, *end;
    sluice_xlate_tok_t  *tok;

    if (len > UINT32_MAX / 4) {
        return -1;
    }

    cap = 2 * len + 64;

    if (t->cap < cap) {
        s = realloc(t->scratch, cap);
        if (s == NULL) {
            return -1;
        }

        t->scratch = s;
        t->cap = cap;
    }

    t->p = p;
    t->len = len;
    t->n = 0;
    t->used = 0;

    q = p;
    end = p + len;
    n = 0;
    depth = 0;

    sluice_xlate_tape_ws(q, end);

    if (q == end || *q != '{') {
        return -1;
    }

value:

    sluice_xlate_tape_ws(q, end);

    if (q == end) {
        return -1;
    }

    c = *q;
    tok = NULL;

    if (depth <= keep) {
        if (n == t->max && sluice_xlate_tape_more(t) != 0) {
            return -1;
        }

        tok = &t->tok[n++];
        tok->start = (uint32_t) (q - p);
        tok->next = n;
        tok->flags = 0;
        tok->n = 0;

        if (depth > 0) {
            kids[depth - 1]++;
        }
    }

    switch (c) {

    case '{':
    case '[':
        if (depth == SLUICE_XLATE_TAPE_NEST) {
            return -1;
        }

        if (tok) {
            tok->type = (c == '{') ? SLUICE_XLATE_J_OBJECT
                                   : SLUICE_XLATE_J_ARRAY;
        }

        open[depth] = tok ? (int) (n - 1) : -1;
        obj[depth] = (c == '{');
        kids[depth] = 0;
        depth++;
        q++;

        sluice_xlate_tape_ws(q, end);

        if (q < end && *q == (c == '{' ? '}' : ']')) {
            goto close;
        }

        if (c == '{') {
            goto key;
        }

        goto value;

    case '"':
        q = sluice_xlate_tape_string(q, end, 0, &esc);

        if (q == NULL) {
            return -1;
        }

        if (tok) {
            tok->type = SLUICE_XLATE_J_STRING;
            tok->flags = esc ? SLUICE_XLATE_TOK_ESC : 0;
        }

        break;

    case 't':
    case 'f':
    case 'n':
        n_lit = (c == 'f') ? 5 : 4;

        if ((size_t) (end - q) < n_lit
            || memcmp(q, c == 't' ? "true" : c == 'f' ? "false" : "null",
                      n_lit) != 0)
        {
            return -1;
        }

        q += n_lit;

        if (tok) {
            tok->type = (c == 't') ? SLUICE_XLATE_J_TRUE
                        : (c == 'f') ? SLUICE_XLATE_J_FALSE
                        : SLUICE_XLATE_J_NULL;
        }

        break;

    default:
        q = sluice_xlate_tape_number(q, end, &integer);

        if (q == NULL) {
            return -1;
        }

        if (tok) {
            tok->type = SLUICE_XLATE_J_NUMBER;
            tok->flags = integer ? SLUICE_XLATE_TOK_INT : 0;
        }
    }

    if (tok) {
        tok->end = (uint32_t) (q - p);
    }

after:

    sluice_xlate_tape_ws(q, end);

    if (depth == 0) {
        t->n = n;
        return q == end ? 0 : -1;
    }

    if (q == end) {
        return -1;
    }

    if (*q == ',') {
        q++;

        if (obj[depth - 1]) {
            goto key;
        }

        goto value;
    }

    if (*q != (obj[depth - 1] ? '}' : ']')) {
        return -1;
    }

close:

    q++;
    depth--;

    if (kids[depth] > UINT16_MAX) {
        return -1;
    }

    if (open[depth] >= 0) {
        tok = &t->tok[open[depth]];
        tok->end = (uint32_t) (q - p);
        tok->next = n;
        tok->n = (uint16_t) kids[depth];
    }

    goto after;

key:

    sluice_xlate_tape_ws(q, end);

    if (q == end || *q != '"') {
        return -1;
    }

    tok = NULL;

    if (depth <= keep) {
        if (n == t->max && sluice_xlate_tape_more(t) != 0) {
            return -1;
        }

        tok = &t->tok[n++];
        tok->start = (uint32_t) (q - p);
        tok->next = n;
        tok->type = SLUICE_XLATE_J_KEY;
        tok->flags = 0;
        tok->n = 0;
        kids[depth - 1]++;
    }

    q = sluice_xlate_tape_string(q, end, 1, &esc);

    if (q == NULL) {
        return -1;
    }

    if (tok) {
        tok->end = (uint32_t) (q - p);
    }

    if (q == end || *q != ':') {
        sluice_xlate_tape_ws(q, end);

        if (q == end || *q != ':') {
            return -1;
        }
    }

    q++;

    goto value;
}


/* twice the tokens, when the tape may grow: 0, or -1 */
static int
sluice_xlate_tape_more(sluice_xlate_tape_t *t)
{
    sluice_xlate_tok_t  *tok;

    if (!t->grow || t->max > UINT32_MAX / 4 / sizeof(sluice_xlate_tok_t)) {
        return -1;
    }

    tok = realloc(t->tok, 2 * t->max * sizeof(sluice_xlate_tok_t));
    if (tok == NULL) {
        return -1;
    }

    t->tok = tok;
    t->max *= 2;

    return 0;
}


/*
 * The end of the string whose opening quote is at q, or NULL.  Plain
 * bytes go eight a step with the "has a zero byte" word tricks (the
 * lowest flagged byte is exact: nothing borrows into it from below);
 * escapes (refused in keys) and UTF-8 sequences are checked one by one.
 */
static inline __attribute__((always_inline)) const uint8_t *
sluice_xlate_tape_string(const uint8_t *q, const uint8_t *end, int key,
    int *esc)
{
    size_t    n;
    uint8_t   c;
    uint64_t  w, x;

    static const uint64_t  ones = 0x0101010101010101ULL;
    static const uint64_t  high = 0x8080808080808080ULL;

    *esc = 0;
    q++;

    for ( ;; ) {
#if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
        while (end - q >= 8) {
            memcpy(&w, q, 8);

            x = ((w - ones * 0x20) | ((w ^ (ones * '"')) - ones)
                 | ((w ^ (ones * '\\')) - ones) | w) & high;

            if (x) {
                q += __builtin_ctzll(x) >> 3;
                break;
            }

            q += 8;
        }
#endif

        while (q < end && sluice_json_plain[*q]) {
            q++;
        }

        if (q == end) {
            return NULL;
        }

        c = *q;

        if (c == '"') {
            return q + 1;
        }

        if (c == '\\' && !key) {
            *esc = 1;
            q = sluice_xlate_tape_escape(q, end);

        } else if (c >= 0x80) {
            n = sluice_json_utf8_len(q, end - q);
            q = n ? q + n : NULL;

        } else {
            return NULL;
        }

        if (q == NULL) {
            return NULL;
        }
    }
}


/*
 * The escape at q, up to its end, or NULL: \u0000 and surrogates not in
 * a pair are refused, as jansson refuses them.
 */
static const uint8_t *
sluice_xlate_tape_escape(const uint8_t *q, const uint8_t *end)
{
    unsigned  cp, lo;

    if (end - q < 2) {
        return NULL;
    }

    switch (q[1]) {

    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
    case 't':
        return q + 2;

    case 'u':
        break;

    default:
        return NULL;
    }

    if (end - q < 6 || !sluice_xlate_tape_hex(q + 2)) {
        return NULL;
    }

    cp = sluice_json_hex4(q + 2);

    if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff)) {
        return NULL;
    }

    if (cp < 0xd800 || cp > 0xdbff) {
        return q + 6;
    }

    /* a high surrogate: its low half must follow */
    if (end - q < 12 || q[6] != '\\' || q[7] != 'u'
        || !sluice_xlate_tape_hex(q + 8))
    {
        return NULL;
    }

    lo = sluice_json_hex4(q + 8);

    return (lo >= 0xdc00 && lo <= 0xdfff) ? q + 12 : NULL;
}



/*
 * An integer of at most 18 digits, or a real without an exponent and
 * not over 300 characters: the end of it, or NULL.
 */
static const uint8_t *
sluice_xlate_tape_number(const uint8_t *q, const uint8_t *end, int *integer)
{
    const uint8_t  *from, *d;

    from = q;

    if (q < end && *q == '-') {
        q++;
    }

    for (d = q; q < end && *q >= '0' && *q <= '9'; q++) {
        /* void */
    }

    if (q == d || (q - d > 1 && *d == '0')) {
        return NULL;
    }

    *integer = 1;

    if (q < end && *q == '.') {
        *integer = 0;

        for (d = ++q; q < end && *q >= '0' && *q <= '9'; q++) {
            /* void */
        }

        if (q == d || q - from > SLUICE_XLATE_TAPE_REAL) {
            return NULL;
        }

    } else if (q - d > SLUICE_XLATE_TAPE_DIGITS) {
        return NULL;
    }

    if (q < end && (*q == 'e' || *q == 'E')) {
        return NULL;
    }

    return q;
}


/* 1 when p holds four hex digits */
static int
sluice_xlate_tape_hex(const uint8_t *p)
{
    unsigned  k;

    for (k = 0; k < 4; k++) {
        if (!((p[k] >= '0' && p[k] <= '9')
              || ((p[k] | 0x20) >= 'a' && (p[k] | 0x20) <= 'f')))
        {
            return 0;
        }
    }

    return 1;
}




/*
 * The value of the last member called name (nlen bytes) of object k, or
 * -1 when k is not an object or has no such member.
 */
int
sluice_xlate_tape_get(const sluice_xlate_tape_t *t, int k, const char *name,
    size_t nlen)
{
    int                        found;
    uint32_t                   i, end;
    const sluice_xlate_tok_t  *key;

    if (k < 0 || t->tok[k].type != SLUICE_XLATE_J_OBJECT) {
        return -1;
    }

    found = -1;
    end = t->tok[k].next;

    for (i = (uint32_t) k + 1; i < end; i = t->tok[i + 1].next) {
        key = &t->tok[i];

        if (key->end - key->start == nlen + 2
            && (nlen == 0 || t->p[key->start + 1] == (uint8_t) name[0])
            && memcmp(t->p + key->start + 1, name, nlen) == 0)
        {
            found = (int) i + 1;
        }
    }

    return found;
}


/*
 * Several members of object k in one walk: idx[i] gets the value of the
 * last member called keys[i].name, or -1.
 */
void
sluice_xlate_tape_find(const sluice_xlate_tape_t *t, int k,
    const sluice_xlate_key_t *keys, int *idx, size_t n)
{
    size_t                     j, len;
    uint32_t                   i, end;
    const sluice_xlate_tok_t  *key;

    for (j = 0; j < n; j++) {
        idx[j] = -1;
    }

    if (k < 0 || t->tok[k].type != SLUICE_XLATE_J_OBJECT) {
        return;
    }

    end = t->tok[k].next;

    for (i = (uint32_t) k + 1; i < end; i = t->tok[i + 1].next) {
        key = &t->tok[i];
        len = key->end - key->start - 2;

        for (j = 0; j < n; j++) {
            if (keys[j].len == len
                && (len == 0
                    || t->p[key->start + 1] == (uint8_t) keys[j].name[0])
                && memcmp(t->p + key->start + 1, keys[j].name, len) == 0)
            {
                idx[j] = (int) i + 1;
                break;
            }
        }
    }
}


/* element n of array k, or -1 */
int
sluice_xlate_tape_at(const sluice_xlate_tape_t *t, int k, unsigned n)
{
    uint32_t  i;

    if (k < 0 || t->tok[k].type != SLUICE_XLATE_J_ARRAY
        || n >= t->tok[k].n)
    {
        return -1;
    }

    for (i = (uint32_t) k + 1; n > 0; n--) {
        i = t->tok[i].next;
    }

    return (int) i;
}


/* the elements of an array (json_array_size: 0 for anything else) */
unsigned
sluice_xlate_tape_size(const sluice_xlate_tape_t *t, int k)
{
    return (k >= 0 && t->tok[k].type == SLUICE_XLATE_J_ARRAY)
           ? t->tok[k].n : 0;
}


int
sluice_xlate_tape_type(const sluice_xlate_tape_t *t, int k)
{
    return k >= 0 ? t->tok[k].type : SLUICE_XLATE_J_NONE;
}


/* 1 when k is a string equal to s (n bytes); as often as need be */
int
sluice_xlate_tape_eq(sluice_xlate_tape_t *t, int k, const char *s,
    size_t n)
{
    int          eq;
    size_t       len, used;
    const char  *v;

    if (k < 0 || t->tok[k].type != SLUICE_XLATE_J_STRING) {
        return 0;
    }

    if (!(t->tok[k].flags & SLUICE_XLATE_TOK_ESC)) {
        return t->tok[k].end - t->tok[k].start == n + 2
               && memcmp(t->p + t->tok[k].start + 1, s, n) == 0;
    }

    /* decoded for the comparison only: the scratch is given back */
    used = t->used;
    v = sluice_xlate_tape_cstr(t, k, &len);
    eq = v && len == n && memcmp(v, s, n) == 0;
    t->used = used;

    return eq;
}


/*
 * The bytes of string k: in place when it holds no escape (then not
 * NUL-terminated), else decoded into the scratch.  NULL when k is not
 * a string.
 */
const char *
sluice_xlate_tape_text(sluice_xlate_tape_t *t, int k, size_t *len)
{
    const sluice_xlate_tok_t  *tok;

    if (k < 0 || t->tok[k].type != SLUICE_XLATE_J_STRING) {
        *len = 0;
        return NULL;
    }

    tok = &t->tok[k];

    if (!(tok->flags & SLUICE_XLATE_TOK_ESC)) {
        *len = tok->end - tok->start - 2;
        return (const char *) t->p + tok->start + 1;
    }

    return sluice_xlate_tape_cstr(t, k, len);
}


/* string k NUL-terminated in the scratch (NULL: not a string) */
const char *
sluice_xlate_tape_cstr(sluice_xlate_tape_t *t, int k, size_t *len)
{
    char                      *out;
    size_t                     n;
    const sluice_xlate_tok_t  *tok;

    *len = 0;

    if (k < 0 || t->tok[k].type != SLUICE_XLATE_J_STRING) {
        return NULL;
    }

    tok = &t->tok[k];
    n = tok->end - tok->start;

    /* the decoded bytes never outnumber the quoted ones */
    if (t->used + n > t->cap) {
        return NULL;
    }

    out = t->scratch + t->used;

    if (tok->flags & SLUICE_XLATE_TOK_ESC) {
        n = sluice_xlate_tape_decode(t->p + tok->start + 1, n - 2, out);

    } else {
        n -= 2;
        memcpy(out, t->p + tok->start + 1, n);
    }

    out[n] = '\0';
    t->used += n + 1;
    *len = n;

    return out;
}


/* the integer k holds (1), or 0 when it holds none (json_is_integer) */
int
sluice_xlate_tape_int(const sluice_xlate_tape_t *t, int k, int64_t *v)
{
    int64_t         n;
    uint32_t        i;
    const uint8_t  *p;

    if (k < 0 || !(t->tok[k].flags & SLUICE_XLATE_TOK_INT)
        || t->tok[k].type != SLUICE_XLATE_J_NUMBER)
    {
        return 0;
    }

    p = t->p;
    i = t->tok[k].start + (p[t->tok[k].start] == '-');

    for (n = 0; i < t->tok[k].end; i++) {
        n = n * 10 + (p[i] - '0');
    }

    *v = p[t->tok[k].start] == '-' ? -n : n;

    return 1;
}


/* a token count, or -1 (sluice_xlate_count) */
int64_t
sluice_xlate_tape_count(const sluice_xlate_tape_t *t, int k)
{
    int64_t  n;

    return (sluice_xlate_tape_int(t, k, &n) && n >= 0) ? n : -1;
}


/* a validated string body decoded as jansson decodes it; its length */
static size_t
sluice_xlate_tape_decode(const uint8_t *p, size_t len, char *out)
{
    size_t    i, o;
    unsigned  cp;

    for (i = 0, o = 0; i < len; /* void */) {
        if (p[i] != '\\') {
            out[o++] = (char) p[i++];
            continue;
        }

        i += 2;

        switch (p[i - 1]) {
        case 'b': out[o++] = '\b'; continue;
        case 'f': out[o++] = '\f'; continue;
        case 'n': out[o++] = '\n'; continue;
        case 'r': out[o++] = '\r'; continue;
        case 't': out[o++] = '\t'; continue;
        case 'u': break;
        default: out[o++] = (char) p[i - 1]; continue;
        }

        cp = sluice_json_hex4(p + i);
        i += 4;

        /* the parse saw the low half of a pair follow */
        if (cp >= 0xd800 && cp <= 0xdbff) {
            cp = 0x10000 + ((cp - 0xd800) << 10)
                 + (sluice_json_hex4(p + i + 2) - 0xdc00);
            i += 6;
        }

        o += sluice_json_utf8_put((uint8_t *) out + o, cp);
    }

    return o;
}
