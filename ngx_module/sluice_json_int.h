/*
 * sluice_json internals: what the validating scanner (sluice_json.c) and
 * the skimmer (sluice_json_skim.c) share.  Not for anything else.
 *
 * The hot helpers are static inline here, always_inline where the
 * scanner wants them inlined, so each file gets its own inlined copy
 * (nothing is inlined across files without LTO).  What is shared but not
 * hot (the slow path of a string, member matching) is defined once, in
 * sluice_json.c, with hidden visibility: under -fPIC a default-visibility
 * function may be interposed, so gcc would give the scanner's calls to
 * sluice_json_string_run the full ABI cost (about 0.8% more instructions
 * on a large body); hidden, it binds locally and keeps the
 * interprocedural register allocation it had as a static function, and
 * the module exports none of it.
 */

#ifndef SLUICE_JSON_INT_H
#define SLUICE_JSON_INT_H

#include "sluice_json.h"     /* and emmintrin.h with SSE2 */


/*
 * The text and where an error was found; the scanning functions keep
 * their offset in a local and return the next one, 0 for an error (no
 * token ends at offset 0), so the hot state stays in registers.
 */
typedef struct {
    const uint8_t         *p;
    size_t                 len;
    size_t                 i;       /* where the error was found */
    const char            *reason;
} sluice_json_cur_t;


/* a top-level key: offset of its opening quote, length with the quotes */
typedef struct {
    size_t                 start;
    size_t                 len;
    unsigned               esc;     /* it holds a backslash */
} sluice_json_key_t;


/* the wanted members, and which bytes their names start with */
typedef struct {
    sluice_json_member_t  *m;
    size_t                 n;
    uint64_t               first;   /* see sluice_json_names */
    uint64_t               second;
} sluice_json_names_t;


#define SLUICE_JSON_ALWAYS    static inline __attribute__((always_inline))
#define SLUICE_JSON_INTERNAL  __attribute__((visibility("hidden")))


/* defined in sluice_json.c */
SLUICE_JSON_INTERNAL size_t sluice_json_string_run(sluice_json_cur_t *c,
    const uint8_t *p, size_t i, size_t len, unsigned *esc);
SLUICE_JSON_INTERNAL void sluice_json_names(sluice_json_names_t *names,
    sluice_json_member_t *m, size_t n);
SLUICE_JSON_INTERNAL sluice_json_member_t *sluice_json_find(
    const sluice_json_names_t *names, const uint8_t *s, size_t len);
/* out of line: its buffer would cost every scan a stack guard */
SLUICE_JSON_INTERNAL __attribute__((noinline)) sluice_json_member_t *
    sluice_json_find_escaped(const sluice_json_names_t *names,
    const uint8_t *key, size_t klen);

static inline size_t sluice_json_fail(sluice_json_cur_t *c, size_t i,
    const char *reason);
SLUICE_JSON_ALWAYS size_t sluice_json_ws(const uint8_t *p, size_t i,
    size_t len);
static inline size_t sluice_json_ws_run(const uint8_t *p, size_t i,
    size_t len);
#if defined(__SSE2__)
SLUICE_JSON_ALWAYS __m128i sluice_json_plain_v(const uint8_t *p);
SLUICE_JSON_ALWAYS uint64_t sluice_json_special16(const uint8_t *p);
#endif
/* inlined into its callers: most strings are short keys and values */
SLUICE_JSON_ALWAYS size_t sluice_json_string(sluice_json_cur_t *c,
    const uint8_t *p, size_t i, size_t len, unsigned *esc);
SLUICE_JSON_ALWAYS int sluice_json_member(sluice_json_cur_t *c,
    const sluice_json_names_t *names, const sluice_json_key_t *key,
    size_t start, size_t end, sluice_json_type_e t);


/* c->i and the reason; returns 0, the failed scanners' result */
static inline size_t
sluice_json_fail(sluice_json_cur_t *c, size_t i, const char *reason)
{
    c->i = i;
    c->reason = reason;
    return 0;
}


/* mostly compact JSON: one look, and a call only when there is space */
SLUICE_JSON_ALWAYS size_t
sluice_json_ws(const uint8_t *p, size_t i, size_t len)
{
    if (i < len && p[i] <= ' ') {
        return sluice_json_ws_run(p, i, len);
    }

    return i;
}


static inline size_t
sluice_json_ws_run(const uint8_t *p, size_t i, size_t len)
{
    for ( /* void */ ; i < len; i++) {
        switch (p[i]) {
        case ' ': case '\t': case '\n': case '\r':
            continue;
        }
        break;
    }

    return i;
}


#if defined(__SSE2__)

/*
 * 0xff for each byte of p[0..15] a string may hold as it is: above 0x1f
 * as a signed byte (no control character, nothing >= 0x80), neither
 * '"' nor '\\'.  Plain rather than special: the and-not takes one
 * instruction where or-ing the special ones takes two and a negation.
 */
SLUICE_JSON_ALWAYS __m128i
sluice_json_plain_v(const uint8_t *p)
{
    __m128i  v, q, b;

    v = _mm_loadu_si128((const __m128i *) p);

    q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    b = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    v = _mm_cmpgt_epi8(v, _mm_set1_epi8(0x1f));

    return _mm_andnot_si128(q, _mm_andnot_si128(b, v));
}


/* one bit per special byte of p[0..15] */
SLUICE_JSON_ALWAYS uint64_t
sluice_json_special16(const uint8_t *p)
{
    return (unsigned) _mm_movemask_epi8(sluice_json_plain_v(p)) ^ 0xffff;
}

#endif


/*
 * i at the opening quote; returns the offset after the closing quote
 * (*esc set when the string held a backslash), or 0 with the error in c.
 * The common case inline: with SSE2, a short string whose first special
 * byte is its closing quote.
 */
SLUICE_JSON_ALWAYS size_t
sluice_json_string(sluice_json_cur_t *c, const uint8_t *p, size_t i,
    size_t len, unsigned *esc)
{
#if defined(__SSE2__)
    size_t    j;
    uint64_t  bits;

    if (i + 17 <= len) {
        bits = sluice_json_special16(p + i + 1);

        if (bits) {
            j = i + 1 + (unsigned) __builtin_ctzll(bits);

            if (p[j] == '"') {
                *esc = 0;
                return j + 1;
            }
        }
    }
#endif

    return sluice_json_string_run(c, p, i, len, esc);
}


/*
 * A top-level member ending at end: reported when wanted, once.  Most
 * keys are plain and start with two bytes no wanted name starts with.
 */
SLUICE_JSON_ALWAYS int
sluice_json_member(sluice_json_cur_t *c, const sluice_json_names_t *names,
    const sluice_json_key_t *key, size_t start, size_t end,
    sluice_json_type_e t)
{
    const uint8_t         *k;
    sluice_json_member_t  *m;

    k = c->p + key->start + 1;

    if (key->esc) {
        m = sluice_json_find_escaped(names, k - 1, key->len);

    } else if ((names->first >> (k[0] & 63)) & (names->second >> (k[1] & 63))
               & 1)
    {
        m = sluice_json_find(names, k, key->len - 2);

    } else {
        return 0;
    }

    if (m == NULL) {
        return 0;
    }

    if (m->type != SLUICE_JSON_NONE) {
        sluice_json_fail(c, end, "duplicate member");
        return -1;
    }

    m->type = t;
    m->key_start = key->start;
    m->start = start;
    m->end = end;

    return 0;
}

#endif
