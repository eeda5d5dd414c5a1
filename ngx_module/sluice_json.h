/*
 * sluice_json: a validating, allocation-free JSON scanner that reports
 * where chosen members of the top-level object sit, so the gateway can
 * route and rewrite a request body without building a tree.  Pure C, no
 * nginx types; never allocates; never blocks.
 */

#ifndef SLUICE_JSON_H
#define SLUICE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SLUICE_JSON_MAX_DEPTH  256

typedef enum {
    SLUICE_JSON_NONE = 0,
    SLUICE_JSON_OBJECT,
    SLUICE_JSON_ARRAY,
    SLUICE_JSON_STRING,
    SLUICE_JSON_NUMBER,
    SLUICE_JSON_TRUE,
    SLUICE_JSON_FALSE,
    SLUICE_JSON_NULL
} sluice_json_type_e;

/* One wanted member; offsets are into the scanned text. */
typedef struct {
    const char          *name;       /* key to look for (plain ASCII) */
    sluice_json_type_e   type;       /* NONE: not present */
    size_t               key_start;  /* offset of the key's opening quote */
    size_t               start;      /* offset of the value's first byte */
    size_t               end;        /* offset just after the value */
} sluice_json_member_t;

typedef struct {
    size_t               offset;     /* where the scan stopped */
    const char          *reason;     /* static string */
} sluice_json_error_t;

/*
 * Validates the whole text (RFC 8259, UTF-8 checked, depth-limited) and
 * requires an object at the top.  For each entry of members[] the first
 * top-level member with that key is reported.  *open is set to the offset
 * just after the top-level '{'.  Returns 0, or -1 with err filled.
 */
int sluice_json_scan(const uint8_t *p, size_t len,
    sluice_json_member_t *members, size_t n, size_t *open,
    sluice_json_error_t *err);

/*
 * Like sluice_json_scan, without validating: for text already known to
 * be JSON (a part of a scanned text), or where an answer from malformed
 * text does no harm.  Strings are skipped to their closing quote,
 * containers to their closing bracket.  On valid JSON it reports what
 * sluice_json_scan reports (duplicate wanted members refused too); on
 * malformed text some answer or -1, never a read outside p[0..len).
 */
int sluice_json_skim(const uint8_t *p, size_t len,
    sluice_json_member_t *members, size_t n);

/*
 * Decodes a JSON string value (span including the quotes, already
 * validated) into out (capacity cap).  Returns the decoded length or -1
 * when it does not fit.
 */
ssize_t sluice_json_string_decode(const uint8_t *p, size_t len,
    uint8_t *out, size_t cap);

/*
 * Primitives shared by the other one-pass JSON readers (the estimator,
 * the translators' event parser and frame writer): 1 for the bytes a
 * string holds as they are (printable ASCII but '"' and '\\'); the value
 * of 4 hex digits (already checked); the length (2 to 4) of the UTF-8
 * sequence at p as RFC 3629 (and jansson) accept it, 0 when invalid or
 * cut short; cp written as UTF-8 at out, returning its length.
 */
extern const uint8_t  sluice_json_plain[256];
unsigned sluice_json_hex4(const uint8_t *p);
size_t sluice_json_utf8_len(const uint8_t *p, size_t len);
size_t sluice_json_utf8_put(uint8_t *out, uint32_t cp);

/* Length of s once escaped as a JSON string body (without quotes). */
size_t sluice_json_escaped_len(const uint8_t *s, size_t len);

/* Writes s escaped (no quotes) at out; returns the end pointer. */
uint8_t *sluice_json_escape(uint8_t *out, const uint8_t *s, size_t len);


/*
 * The offset after the string whose opening quote is at p[i], or 0 when
 * it does not end before len; *esc set when it holds a backslash (the
 * byte after one is stepped over, nothing is validated).  With SSE2,
 * sixteen bytes at a time while sixteen remain.  Shared by the skimmer
 * and the usage reader.
 */
static inline size_t
sluice_json_skip_string(const uint8_t *p, size_t i, size_t len,
    unsigned *esc)
{
#if defined(__SSE2__)
    unsigned  bits;
    __m128i   v;
#endif

    *esc = 0;

    for (i++; /* void */; i += 2) {
#if defined(__SSE2__)
        while (i + 16 <= len) {
            v = _mm_loadu_si128((const __m128i *) (p + i));
            bits = (unsigned) _mm_movemask_epi8(
                       _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
            if (bits) {
                i += (size_t) __builtin_ctz(bits);
                goto found;
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

#if defined(__SSE2__)
    found:
#endif

        if (p[i] == '"') {
            return i + 1;
        }

        *esc = 1;
    }
}


#endif
