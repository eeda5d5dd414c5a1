/*
 * sluice_sse: splits a Server-Sent Events byte stream into events, fed
 * in pieces cut at any byte (the WHATWG event-stream grammar: LF, CRLF
 * and CR line ends, ":" comments, multi-line data, "event:" names).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* memrchr */
#endif

#include <stdlib.h>
#include <string.h>
#include "sluice_sse.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif


#define SLUICE_SSE_DEFAULT_MAX  (1024 * 1024)
#define SLUICE_SSE_MIN_CAP      256


static int sluice_sse_append(sluice_sse_t *s, sluice_sse_str_t *str,
    const uint8_t *p, size_t n);
static int sluice_sse_fast(sluice_sse_t *s, const uint8_t **pp,
    const uint8_t *lim);
static const uint8_t *sluice_sse_value(const uint8_t *v, const uint8_t *lim,
    const uint8_t **value, size_t *len);
static const uint8_t *sluice_sse_eol(const uint8_t *p, const uint8_t *end);
static int sluice_sse_line(sluice_sse_t *s, const uint8_t *p, size_t len,
    int fed);
static int sluice_sse_data(sluice_sse_t *s, const uint8_t *v, size_t len,
    int fed);
static int sluice_sse_keep(sluice_sse_t *s);
static int sluice_sse_dispatch(sluice_sse_t *s);
static int sluice_sse_fail(sluice_sse_t *s, int rc);


void
sluice_sse_init(sluice_sse_t *s, size_t max, sluice_sse_handler_pt handler,
    void *data)
{
    memset(s, 0, sizeof(sluice_sse_t));

    s->handler = handler;
    s->data = data;
    s->max = max ? max : SLUICE_SSE_DEFAULT_MAX;
}


int
sluice_sse_feed(sluice_sse_t *s, const uint8_t *p, size_t len)
{
    int             rc, fed;
    size_t          n, eol;
    const uint8_t  *end, *q, *line, *lim;

    if (s->error) {
        return s->error;
    }

    end = p + len;
    lim = NULL;

    while (p < end) {

        /* at a line start with nothing held: whole events, no copy */
        if (s->line.len == 0 && s->name.len == 0 && s->value.len == 0
            && s->direct == NULL && !s->cr && !s->lines)
        {
            if (lim == NULL) {
                /* the fast path stops at the first CR: a line end too */
                lim = memchr(p, '\r', end - p);
                lim = lim ? lim : end;
            }

            rc = sluice_sse_fast(s, &p, lim);
            if (rc != SLUICE_SSE_OK) {
                return sluice_sse_fail(s, rc);
            }

            if (p == end) {
                break;
            }
        }

        if (s->cr) {
            s->cr = 0;

            if (*p == '\n') {
                /* the LF of a CRLF cut after its CR */
                if (s->block == s->offset) {
                    s->block++;
                }

                s->offset++;
                p++;
                continue;
            }
        }

        q = sluice_sse_eol(p, end);

        if (q == end) {
            rc = sluice_sse_append(s, &s->line, p, end - p);
            if (rc != SLUICE_SSE_OK) {
                return sluice_sse_fail(s, rc);
            }

            s->offset += end - p;
            break;
        }

        eol = 1;

        if (*q == '\r') {
            if (q + 1 == end) {
                s->cr = 1;

            } else if (q[1] == '\n') {
                eol = 2;
            }
        }

        n = q - p;
        line = p;
        fed = 1;

        if (s->line.len) {
            fed = 0;

            rc = sluice_sse_append(s, &s->line, p, n);
            if (rc != SLUICE_SSE_OK) {
                return sluice_sse_fail(s, rc);
            }

            line = s->line.p;
            n = s->line.len;
        }

        s->offset += (q - p) + eol;

        rc = sluice_sse_line(s, line, n, fed);
        s->line.len = 0;

        if (rc != SLUICE_SSE_OK) {
            return sluice_sse_fail(s, rc);
        }

        p = q + eol;
    }

    /* the caller's buffer goes away: an uncopied data line is copied */
    rc = sluice_sse_keep(s);
    if (rc != SLUICE_SSE_OK) {
        return sluice_sse_fail(s, rc);
    }

    return SLUICE_SSE_OK;
}


size_t
sluice_sse_skippable(const sluice_sse_t *s, const uint8_t *p, size_t len,
    size_t before)
{
    if (s->error || s->line.len || s->name.len || s->value.len
        || s->direct || s->cr || s->block != s->offset)
    {
        return 0;
    }

    /*
     * Two LFs in a row end an event whatever the line ends before them
     * (CRLF, CR or LF): the first ends a line, the second is a blank one.
     */
    return sluice_sse_last_blank(p, before < len ? before : len);
}


/* after the last LF that follows another LF in the n bytes at p, or 0 */
size_t
sluice_sse_last_blank(const uint8_t *p, size_t n)
{
    const uint8_t  *q;

    q = p + n;

    while (q - p >= 2) {
        q = memrchr(p + 1, '\n', q - (p + 1));

        if (q == NULL) {
            return 0;
        }

        if (q[-1] == '\n') {
            return q + 1 - p;
        }
    }

    return 0;
}


void
sluice_sse_skip(sluice_sse_t *s, size_t n)
{
    if (n) {
        s->offset += n;
        s->block = s->offset;
    }
}


void
sluice_sse_reset(sluice_sse_t *s)
{
    s->line.len = 0;
    s->name.len = 0;
    s->value.len = 0;
    s->direct = NULL;
    s->direct_len = 0;
    s->offset = 0;
    s->block = 0;
    s->error = 0;
    s->cr = 0;
}


void
sluice_sse_free(sluice_sse_t *s)
{
    free(s->line.p);
    free(s->name.p);
    free(s->value.p);

    s->line.p = NULL;
    s->name.p = NULL;
    s->value.p = NULL;
    s->line.cap = 0;
    s->name.cap = 0;
    s->value.cap = 0;

    sluice_sse_reset(s);
}


/* appends n bytes to str, keeping everything held within s->max */
static int
sluice_sse_append(sluice_sse_t *s, sluice_sse_str_t *str, const uint8_t *p,
    size_t n)
{
    size_t    held, cap;
    uint8_t  *np;

    held = s->line.len + s->name.len + s->value.len;

    if (n > s->max - held) {
        return SLUICE_SSE_TOO_BIG;
    }

    if (str->len + n > str->cap) {
        cap = str->cap ? str->cap : SLUICE_SSE_MIN_CAP;

        while (cap < str->len + n) {
            cap *= 2;
        }

        np = realloc(str->p, cap);
        if (np == NULL) {
            return SLUICE_SSE_ERROR;
        }

        str->p = np;
        str->cap = cap;
    }

    if (n) {
        memcpy(str->p + str->len, p, n);
        str->len += n;
    }

    return SLUICE_SSE_OK;
}


/*
 * The fast path: complete events shaped "data: V\n\n" or "event: N\n
 * data: V\n\n" lying wholly in [*pp, lim), where lim is at the first
 * CR (or the end), so memchr for LF finds every line end.  Each is
 * handed over pointing into the buffer fed.  It stops, *pp at the start
 * of the event, at any other shape (comments, other fields, more data
 * lines, an event cut by lim, one over the limit), which the line
 * parser then reads as before: the two give the same events, offsets
 * and errors.
 */
static int
sluice_sse_fast(sluice_sse_t *s, const uint8_t **pp, const uint8_t *lim)
{
    int                  check;
    const uint8_t       *p, *q;
    sluice_sse_event_t   ev;

    p = *pp;

    /* an event's name and data never outgrow the bytes that carry it */
    check = (size_t) (lim - p) > s->max;

    /* "data:\n\n", the shortest event, is 7 bytes */
    while (lim - p >= 7) {
        ev.name = (const uint8_t *) "";
        ev.name_len = 0;
        q = p;

        if (p[0] == 'e') {
            if (memcmp(p, "event:", 6) != 0) {
                break;
            }

            q = sluice_sse_value(p + 6, lim, &ev.name, &ev.name_len);
            if (q == NULL) {
                break;
            }

            /* an empty name is "", as the line parser gives it */
            if (ev.name_len == 0) {
                ev.name = (const uint8_t *) "";
            }

            q++;
        }

        if (lim - q < 7 || memcmp(q, "data:", 5) != 0) {
            break;
        }

        q = sluice_sse_value(q + 5, lim, &ev.data, &ev.data_len);

        /* one data line, then the blank line: both LF seen before lim */
        if (q == NULL || lim - q < 2 || q[1] != '\n') {
            break;
        }

        /* over the limit: the line parser says so where it would */
        if (check
            && (ev.data_len + 1 > s->max
                || ev.name_len > s->max - 1 - ev.data_len))
        {
            break;
        }

        q += 2;
        s->offset += q - p;

        ev.start = s->block;
        ev.end = s->offset;
        s->block = s->offset;

        p = q;

        if (s->handler(s->data, &ev) != 0) {
            *pp = p;
            return SLUICE_SSE_ERROR;
        }
    }

    *pp = p;

    return SLUICE_SSE_OK;
}


/*
 * A field's value: v is just after the colon; one leading space is not
 * part of it.  Returns the LF that ends it, or NULL when none is before
 * lim.
 */
static const uint8_t *
sluice_sse_value(const uint8_t *v, const uint8_t *lim,
    const uint8_t **value, size_t *len)
{
    const uint8_t  *q;

    if (v < lim && *v == ' ') {
        v++;
    }

    q = memchr(v, '\n', lim - v);
    if (q == NULL) {
        return NULL;
    }

    *value = v;
    *len = q - v;

    return q;
}


/*
 * The first CR or LF in [p, end), or end: sixteen bytes a step with
 * SSE2, eight with word tricks otherwise, then byte by byte.
 */
static const uint8_t *
sluice_sse_eol(const uint8_t *p, const uint8_t *end)
{
#if defined(__SSE2__)
    unsigned  bits;
    __m128i   v;

    while (end - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) p);
        bits = (unsigned) _mm_movemask_epi8(
                   _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                                _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))));

        if (bits) {
            return p + __builtin_ctz(bits);
        }

        p += 16;
    }
#else
    uint64_t  w, t;

    static const uint64_t  ones = 0x0101010101010101ULL;
    static const uint64_t  high = 0x8080808080808080ULL;

    while (end - p >= 8) {
        memcpy(&w, p, 8);

        t = (((w ^ (ones * '\n')) - ones) | ((w ^ (ones * '\r')) - ones))
            & ~w & high;

        if (t) {
            break;
        }

        p += 8;
    }
#endif

    while (p < end && *p != '\n' && *p != '\r') {
        p++;
    }

    return p;
}


/*
 * One complete line, without its line end; fed: it lies in the buffer
 * being fed (not in s->line), so it may be used without a copy.
 */
static int
sluice_sse_line(sluice_sse_t *s, const uint8_t *p, size_t len, int fed)
{
    size_t          flen, vlen;
    const uint8_t  *colon, *v;

    if (len == 0) {
        return sluice_sse_dispatch(s);
    }

    if (p[0] == ':') {
        return SLUICE_SSE_OK;
    }

    /* "data:" first: nearly every line is one */
    if (len >= 5 && memcmp(p, "data:", 5) == 0) {
        colon = p + 4;

    } else {
        colon = memchr(p, ':', len);
    }

    if (colon) {
        flen = colon - p;
        v = colon + 1;
        vlen = len - flen - 1;

        if (vlen && *v == ' ') {
            v++;
            vlen--;
        }

    } else {
        flen = len;
        v = p + len;
        vlen = 0;
    }

    if (flen == 4 && memcmp(p, "data", 4) == 0) {
        return sluice_sse_data(s, v, vlen, fed);
    }

    if (flen == 5 && memcmp(p, "event", 5) == 0) {
        s->name.len = 0;
        return sluice_sse_append(s, &s->name, v, vlen);
    }

    /* "id", "retry" and unknown fields are not needed by the gateway */

    return SLUICE_SSE_OK;
}


/*
 * One data line.  The first of an event, when it lies in the buffer
 * being fed, is only pointed at: most events have one data line and
 * are dispatched before the feed returns, so they are never copied.
 */
static int
sluice_sse_data(sluice_sse_t *s, const uint8_t *v, size_t len, int fed)
{
    int  rc;

    if (fed && s->value.len == 0 && s->direct == NULL) {
        /* held as if copied: the same limit */
        if (len + 1 > s->max - (s->line.len + s->name.len)) {
            return SLUICE_SSE_TOO_BIG;
        }

        s->direct = v;
        s->direct_len = len;

        return SLUICE_SSE_OK;
    }

    rc = sluice_sse_keep(s);
    if (rc != SLUICE_SSE_OK) {
        return rc;
    }

    rc = sluice_sse_append(s, &s->value, v, len);
    if (rc != SLUICE_SSE_OK) {
        return rc;
    }

    return sluice_sse_append(s, &s->value, (const uint8_t *) "\n", 1);
}


/* copies the uncopied data line, if any, into value */
static int
sluice_sse_keep(sluice_sse_t *s)
{
    int             rc;
    size_t          len;
    const uint8_t  *v;

    if (s->direct == NULL) {
        return SLUICE_SSE_OK;
    }

    v = s->direct;
    len = s->direct_len;
    s->direct = NULL;

    rc = sluice_sse_append(s, &s->value, v, len);
    if (rc != SLUICE_SSE_OK) {
        return rc;
    }

    return sluice_sse_append(s, &s->value, (const uint8_t *) "\n", 1);
}


/* a blank line: hand over the event if it has data, start a new block */
static int
sluice_sse_dispatch(sluice_sse_t *s)
{
    int                 rc;
    sluice_sse_event_t  ev;

    if (s->value.len == 0 && s->direct == NULL) {
        s->name.len = 0;
        s->block = s->offset;
        return SLUICE_SSE_OK;
    }

    ev.name = s->name.len ? s->name.p : (const uint8_t *) "";
    ev.name_len = s->name.len;

    if (s->direct) {
        ev.data = s->direct;
        ev.data_len = s->direct_len;

    } else {
        ev.data = s->value.p;
        ev.data_len = s->value.len - 1;
    }

    ev.start = s->block;
    ev.end = s->offset;

    s->block = s->offset;

    rc = s->handler(s->data, &ev);

    s->name.len = 0;
    s->value.len = 0;
    s->direct = NULL;

    return rc ? SLUICE_SSE_ERROR : SLUICE_SSE_OK;
}


static int
sluice_sse_fail(sluice_sse_t *s, int rc)
{
    s->error = rc;
    return rc;
}
