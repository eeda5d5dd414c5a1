/*
 * sluice_json_skim: the skimmer, offsets only, no validation (see
 * sluice_json.h); it shares the scanner's whitespace, key and member
 * matching through sluice_json_int.h.
 */

#include "sluice_json_int.h"


static size_t sluice_json_skim_container(const uint8_t *p, size_t i,
    size_t len);
static size_t sluice_json_skim_value(const uint8_t *p, size_t i,
    size_t len, sluice_json_type_e *t);


/*
 * The skimmer: offsets only, no validation.  Each returns the offset
 * after what it skipped, or 0 when the text ends first.
 */

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
            i = sluice_json_skip_string(p, i, len, &esc);
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
        return sluice_json_skip_string(p, i, len, &esc);

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
        return -1;
    }

    i++;

    for ( ;; ) {
        i = sluice_json_ws(p, i, len);

        if (i >= len) {
            return -1;
        }

        if (p[i] == '}') {
            return 0;
        }

        if (p[i] != '"') {
            return -1;
        }

        key.start = i;
        i = sluice_json_skip_string(p, i, len, &key.esc);

        if (i == 0) {
            return -1;
        }

        /* an escaped key is decoded to be compared: it must be valid */
        if (key.esc) {
            i = sluice_json_string(&c, p, key.start, len, &key.esc);

            if (i == 0) {
                return -1;
            }
        }

        key.len = i - key.start;
        i = sluice_json_ws(p, i, len);

        if (i >= len || p[i] != ':') {
            return -1;
        }

        i = sluice_json_ws(p, i + 1, len);

        if (i >= len) {
            return -1;
        }

        start = i;
        i = sluice_json_skim_value(p, i, len, &t);

        if (i == 0
            || sluice_json_member(&c, &names, &key, start, i, t) != 0)
        {
            return -1;
        }

        i = sluice_json_ws(p, i, len);

        if (i < len && p[i] == ',') {
            i++;
        }
    }
}
