/*
 * sluice_sse: splits a Server-Sent Events byte stream into events, fed
 * in pieces cut at any byte (the WHATWG event-stream grammar: LF, CRLF
 * and CR line ends, ":" comments, multi-line data, "event:" names).
 */

#include <stdlib.h>
#include <string.h>
#include "sluice_sse.h"


#define SLUICE_SSE_DEFAULT_MAX  (1024 * 1024)
#define SLUICE_SSE_MIN_CAP      256


static int sluice_sse_append(sluice_sse_t *s, sluice_sse_str_t *str,
    const uint8_t *p, size_t n);
static const uint8_t *sluice_sse_eol(const uint8_t *p, const uint8_t *end);
static int sluice_sse_line(sluice_sse_t *s, const uint8_t *p, size_t len);
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
    int             rc;
    size_t          n, eol;
    const uint8_t  *end, *q, *line;

    if (s->error) {
        return s->error;
    }

    end = p + len;

    while (p < end) {

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

        if (s->line.len) {
            rc = sluice_sse_append(s, &s->line, p, n);
            if (rc != SLUICE_SSE_OK) {
                return sluice_sse_fail(s, rc);
            }

            line = s->line.p;
            n = s->line.len;
        }

        s->offset += (q - p) + eol;

        rc = sluice_sse_line(s, line, n);
        s->line.len = 0;

        if (rc != SLUICE_SSE_OK) {
            return sluice_sse_fail(s, rc);
        }

        p = q + eol;
    }

    return SLUICE_SSE_OK;
}


void
sluice_sse_reset(sluice_sse_t *s)
{
    s->line.len = 0;
    s->name.len = 0;
    s->value.len = 0;
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


/* the first CR or LF in [p, end), or end */
static const uint8_t *
sluice_sse_eol(const uint8_t *p, const uint8_t *end)
{
    while (p < end && *p != '\n' && *p != '\r') {
        p++;
    }

    return p;
}


/* one complete line, without its line end */
static int
sluice_sse_line(sluice_sse_t *s, const uint8_t *p, size_t len)
{
    int             rc;
    size_t          flen, vlen;
    const uint8_t  *colon, *v;

    if (len == 0) {
        return sluice_sse_dispatch(s);
    }

    if (p[0] == ':') {
        return SLUICE_SSE_OK;
    }

    colon = memchr(p, ':', len);

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
        rc = sluice_sse_append(s, &s->value, v, vlen);
        if (rc != SLUICE_SSE_OK) {
            return rc;
        }

        return sluice_sse_append(s, &s->value, (const uint8_t *) "\n", 1);
    }

    if (flen == 5 && memcmp(p, "event", 5) == 0) {
        s->name.len = 0;
        return sluice_sse_append(s, &s->name, v, vlen);
    }

    /* "id", "retry" and unknown fields are not needed by the gateway */

    return SLUICE_SSE_OK;
}


/* a blank line: hand over the event if it has data, start a new block */
static int
sluice_sse_dispatch(sluice_sse_t *s)
{
    int                 rc;
    sluice_sse_event_t  ev;

    if (s->value.len == 0) {
        s->name.len = 0;
        s->block = s->offset;
        return SLUICE_SSE_OK;
    }

    ev.name = s->name.len ? s->name.p : (const uint8_t *) "";
    ev.name_len = s->name.len;
    ev.data = s->value.p;
    ev.data_len = s->value.len - 1;
    ev.start = s->block;
    ev.end = s->offset;

    s->block = s->offset;

    rc = s->handler(s->data, &ev);

    s->name.len = 0;
    s->value.len = 0;

    return rc ? SLUICE_SSE_ERROR : SLUICE_SSE_OK;
}


static int
sluice_sse_fail(sluice_sse_t *s, int rc)
{
    s->error = rc;
    return rc;
}
