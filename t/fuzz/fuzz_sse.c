/*
 * libFuzzer target for sluice_sse, differential: the fast path and the
 * line parser (s->lines) must hand over the same events (name, data,
 * start, end, cr), return the same codes and end in the same state,
 * whatever the stream and however it is cut; sluice_usage_hint and
 * sluice_usage_hint_find must agree with their plain definition on every
 * event's data, and the filter's one search per buffer
 * (ngx_http_sluice_filter_hint, repeated here) with the hint.
 *
 * Then skipping: with the same cuts, each piece's skippable bytes (by a
 * pseudo-random limit) passed by with sluice_sse_skip; every event not
 * wholly inside skipped bytes, and the end state, must be those of a run
 * that fed everything.
 *
 * Input: byte 0 picks the limit (0: the default, else 1..255 bytes),
 * byte 1 seeds the cut points, byte 2 makes the handler stop after that
 * many events (255: never); the rest is the stream.
 */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "sluice_sse.h"
#include "sluice_usage_json.h"


typedef struct {
    uint8_t        *p;
    size_t          len;
    size_t          cap;
    sluice_sse_t   *s;
    long            left;
    const uint8_t  *base;      /* the bytes being fed */
    const uint8_t  *last;
    const uint8_t  *hint;
} fuzz_out_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void fuzz_add(fuzz_out_t *o, const void *p, size_t n);
static int fuzz_event(void *data, const sluice_sse_event_t *ev);
static size_t fuzz_hint_ref(const uint8_t *p, size_t len);
static int fuzz_hint_buffer(fuzz_out_t *o, const sluice_sse_event_t *ev);
static void fuzz_run(const uint8_t *p, size_t len, size_t max,
    unsigned seed, long stop_at, int lines, fuzz_out_t *o);
static size_t fuzz_cut(unsigned *seed, size_t from, size_t len);
static int fuzz_plain(void *data, const sluice_sse_event_t *ev);
static void fuzz_skip_run(const uint8_t *p, size_t len, unsigned seed,
    int skipping, fuzz_out_t *o);


/* skipped bytes: [from, to) pairs, kept by the skipping run */
static uint64_t  fuzz_skipped[2 * 4096];
static size_t    fuzz_nskipped;


static void
fuzz_add(fuzz_out_t *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2 + 64;
        o->p = realloc(o->p, o->cap);
        if (o->p == NULL) {
            abort();
        }
    }

    memcpy(o->p + o->len, p, n);
    o->len += n;
}


static int
fuzz_event(void *data, const sluice_sse_event_t *ev)
{
    size_t       at;
    uint64_t     n[4];
    fuzz_out_t  *o = data;

    at = fuzz_hint_ref(ev->data, ev->data_len);

    if (sluice_usage_hint_find(ev->data, ev->data_len) != at
        || sluice_usage_hint(ev->data, ev->data_len) != (at < ev->data_len)
        || fuzz_hint_buffer(o, ev) != (at < ev->data_len))
    {
        __builtin_trap();
    }

    n[0] = ev->name_len;
    n[1] = ev->data_len;
    n[2] = ev->start;
    n[3] = (ev->end << 1) | o->s->cr;

    fuzz_add(o, n, sizeof(n));
    fuzz_add(o, ev->name, ev->name_len);
    fuzz_add(o, ev->data, ev->data_len);

    return o->left >= 0 && o->left-- == 0;
}


/* as ngx_http_sluice_filter_hint: one search over the bytes fed */
static int
fuzz_hint_buffer(fuzz_out_t *o, const sluice_sse_event_t *ev)
{
    const uint8_t  *d, *last;

    d = ev->data;
    last = d + ev->data_len;

    if ((uintptr_t) d < (uintptr_t) o->base
        || (uintptr_t) last > (uintptr_t) o->last)
    {
        return sluice_usage_hint(ev->data, ev->data_len);
    }

    if (o->hint == NULL || o->hint < d) {
        o->hint = d + sluice_usage_hint_find(d, o->last - d);
    }

    if (o->hint >= last) {
        return 0;
    }

    return sluice_usage_hint(ev->data, ev->data_len);
}


/* where "usage", blanks, ':', blanks, '{' first begins, or len */
static size_t
fuzz_hint_ref(const uint8_t *p, size_t len)
{
    size_t  i, j;

    for (i = 0; i + 7 <= len; i++) {
        if (memcmp(p + i, "\"usage\"", 7) != 0) {
            continue;
        }

        for (j = i + 7;
             j < len && (p[j] == ' ' || p[j] == '\t' || p[j] == '\n'
                         || p[j] == '\r');
             j++)
        {
            /* void */
        }

        if (j >= len || p[j] != ':') {
            continue;
        }

        for (j++;
             j < len && (p[j] == ' ' || p[j] == '\t' || p[j] == '\n'
                         || p[j] == '\r');
             j++)
        {
            /* void */
        }

        if (j < len && p[j] == '{') {
            return i;
        }
    }

    return len;
}


/* where the piece from "from" ends: seed 0, the end; else 1..64 bytes on */
static size_t
fuzz_cut(unsigned *seed, size_t from, size_t len)
{
    size_t  to;

    if (*seed == 0) {
        return len;
    }

    *seed = *seed * 1103515245 + 12345;
    to = from + 1 + (*seed >> 16) % (1 + (*seed & 0x3f));

    return to < len ? to : len;
}


static void
fuzz_run(const uint8_t *p, size_t len, size_t max, unsigned seed,
    long stop_at, int lines, fuzz_out_t *o)
{
    int           rc;
    size_t        from, to;
    uint64_t      st[3];
    sluice_sse_t  s;

    memset(o, 0, sizeof(fuzz_out_t));
    o->s = &s;
    o->left = stop_at;

    sluice_sse_init(&s, max, fuzz_event, o);
    s.lines = lines;

    for (from = 0; from < len; from = to) {
        to = fuzz_cut(&seed, from, len);

        o->base = p + from;
        o->last = p + to;
        o->hint = NULL;

        rc = sluice_sse_feed(&s, p + from, to - from);
        fuzz_add(o, &rc, sizeof(rc));
    }

    st[0] = s.offset;
    st[1] = s.block;
    st[2] = s.cr;
    fuzz_add(o, st, sizeof(st));

    sluice_sse_free(&s);
}


/* an event, unless it lies wholly in bytes the other run skipped */
static int
fuzz_plain(void *data, const sluice_sse_event_t *ev)
{
    size_t       k;
    uint64_t     n[3];
    fuzz_out_t  *o = data;

    for (k = 0; o->left && k < fuzz_nskipped; k++) {
        if (ev->start >= fuzz_skipped[2 * k]
            && ev->end <= fuzz_skipped[2 * k + 1])
        {
            return 0;
        }
    }

    n[0] = ev->start;
    n[1] = (ev->end << 1) | o->s->cr;
    n[2] = ev->data_len;

    fuzz_add(o, n, sizeof(n));
    fuzz_add(o, ev->name, ev->name_len);
    fuzz_add(o, ev->data, ev->data_len);

    return 0;
}


/* the cuts of fuzz_run; skipping: what each piece allows is skipped */
static void
fuzz_skip_run(const uint8_t *p, size_t len, unsigned seed, int skipping,
    fuzz_out_t *o)
{
    size_t        from, to, skip, before;
    uint64_t      st[3];
    unsigned      r;
    sluice_sse_t  s;

    memset(o, 0, sizeof(fuzz_out_t));
    o->s = &s;
    o->left = !skipping;        /* the reference leaves skipped events out */

    if (skipping) {
        fuzz_nskipped = 0;
    }

    sluice_sse_init(&s, 0, fuzz_plain, o);
    r = seed * 7 + 1;

    for (from = 0; from < len; from = to) {
        to = fuzz_cut(&seed, from, len);

        skip = 0;

        if (skipping) {
            r = r * 1103515245 + 12345;
            before = (r >> 16) % (to - from + 2);
            skip = sluice_sse_skippable(&s, p + from, to - from, before);

            if (skip > before || skip > to - from
                || (skip && (skip < 2 || p[from + skip - 1] != '\n'
                             || p[from + skip - 2] != '\n')))
            {
                __builtin_trap();
            }

            if (skip && fuzz_nskipped < 4096) {
                fuzz_skipped[2 * fuzz_nskipped] = s.offset;
                fuzz_skipped[2 * fuzz_nskipped + 1] = s.offset + skip;
                fuzz_nskipped++;

            } else {
                skip = 0;
            }

            sluice_sse_skip(&s, skip);
        }

        (void) sluice_sse_feed(&s, p + from + skip, to - from - skip);
    }

    st[0] = s.offset;
    st[1] = s.block;
    st[2] = s.cr;
    fuzz_add(o, st, sizeof(st));

    sluice_sse_free(&s);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long        stop_at;
    size_t      max;
    unsigned    seed;
    fuzz_out_t  fast, lines;

    if (size < 3) {
        return 0;
    }

    max = data[0];
    seed = data[1];
    stop_at = data[2] == 255 ? -1 : data[2];

    fuzz_run(data + 3, size - 3, max, seed, stop_at, 0, &fast);
    fuzz_run(data + 3, size - 3, max, seed, stop_at, 1, &lines);

    if (fast.len != lines.len
        || (fast.len && memcmp(fast.p, lines.p, fast.len) != 0))
    {
        __builtin_trap();
    }

    free(fast.p);
    free(lines.p);

    fuzz_skip_run(data + 3, size - 3, seed, 1, &fast);
    fuzz_skip_run(data + 3, size - 3, seed, 0, &lines);

    if (fast.len != lines.len
        || (fast.len && memcmp(fast.p, lines.p, fast.len) != 0))
    {
        __builtin_trap();
    }

    free(fast.p);
    free(lines.p);

    return 0;
}
