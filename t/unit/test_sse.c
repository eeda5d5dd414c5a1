/*
 * Unit tests (TAP) for sluice_sse: golden event lists, the same lists
 * whatever the stream is cut into, raw block spans, limits, the fast
 * path against the line parser, and the captured provider streams.
 */

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <jansson.h>
#include "sluice_sse.h"
#include "tap.h"


typedef struct {
    char        *p;
    size_t       len;
    size_t       cap;
} str_t;


typedef struct {
    const char  *name;
    const char  *text;
    const char  *want;     /* events as [name|data|start] */
} golden_t;


static void str_add(str_t *s, const void *p, size_t n);
static int collect(void *data, const sluice_sse_event_t *ev);
static int stop(void *data, const sluice_sse_event_t *ev);
static int feed_cuts(const char *text, size_t len, const size_t *cuts,
    size_t n, str_t *out);
static int same_cut_anywhere(const char *text, size_t len,
    const char *want, int every);
static void test_golden(void);
static void test_spans(void);
static void test_limits(void);
static void test_fixtures(const char *dir);
static int test_fixture_stream(const char *text, size_t len);
static int record(void *data, const sluice_sse_event_t *ev);
static void feed_record(const char *text, size_t len, const size_t *cuts,
    size_t n, size_t max, int lines, long stop_at, str_t *out);
static int same_both_ways(const char *text, size_t len, size_t max,
    long stop_at, size_t step);
static void test_fast(void);
static void test_fast_limits(void);
static int skip_run(const char *text, size_t len, size_t k, size_t before,
    int skipping, uint64_t *from, str_t *out);
static int same_skipped(const char *text, size_t len);
static void test_skip(void);


static const golden_t  golden[] = {
    { "one event", "data: hello\n\n", "[|hello|0]" },
    { "named events", "event: a\ndata: x\n\nevent: b\ndata: y\n\n",
      "[a|x|0][b|y|18]" },
    { "CRLF lines", "event: a\r\ndata: x\r\n\r\ndata: y\r\n\r\n",
      "[a|x|0][|y|21]" },
    { "CR lines", "data: x\r\rdata: y\r\r", "[|x|0][|y|9]" },
    { "comments", ": ping\n\n: ping\ndata: x\n\n", "[|x|8]" },
    { "multi-line data", "data: a\ndata: b\ndata:\n\n", "[|a\nb\n|0]" },
    { "one space stripped", "data:x\n\ndata:  y\n\n", "[|x|0][| y|8]" },
    { "field without colon", "data\n\nevent\ndata: z\n\n", "[||0][|z|6]" },
    { "event without data", "event: a\n\ndata: x\n\n", "[|x|10]" },
    { "unterminated event", "data: x\n", "" },
    { "unterminated line", "data: x", "" },
    { "other fields", "id: 1\nretry: 5\nfoo: bar\ndata: x\n\n", "[|x|0]" },
    { "mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n",
      "[|a\nb\nc|0]" },
    { "colons in value", "data: {\"a\":\"b:c\"}\n\n", "[|{\"a\":\"b:c\"}|0]" },
    { "blank lines first", "\n\n\r\n\rdata: x\n\n", "[|x|5]" },
    { "last event name wins", "event: a\nevent: b\ndata: x\n\n", "[b|x|0]" },
    { "utf-8", "data: h\xc3\xa9llo\n\n", "[|h\xc3\xa9llo|0]" },
    { "done marker", "data: {\"x\":1}\n\ndata: [DONE]\n\n",
      "[|{\"x\":1}|0][|[DONE]|15]" },
};



static void
str_add(str_t *s, const void *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->p = realloc(s->p, s->cap);
        if (s->p == NULL) {
            abort();
        }
    }

    memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = '\0';
}


static int
collect(void *data, const sluice_sse_event_t *ev)
{
    char    num[32];
    str_t  *out = data;

    str_add(out, "[", 1);
    str_add(out, ev->name, ev->name_len);
    str_add(out, "|", 1);
    str_add(out, ev->data, ev->data_len);
    snprintf(num, sizeof(num), "|%llu]", (unsigned long long) ev->start);
    str_add(out, num, strlen(num));

    return 0;
}


static int
stop(void *data, const sluice_sse_event_t *ev)
{
    (void) data;
    (void) ev;

    return 1;
}


/* feeds text cut at the offsets cuts[0..n) (ascending); 0 on success */
static int
feed_cuts(const char *text, size_t len, const size_t *cuts, size_t n,
    str_t *out)
{
    int           rc;
    size_t        i, from, to;
    sluice_sse_t  s;

    sluice_sse_init(&s, 0, collect, out);
    str_add(out, "", 0);

    rc = 0;
    from = 0;

    for (i = 0; i <= n && rc == 0; i++) {
        to = (i < n) ? cuts[i] : len;
        rc = sluice_sse_feed(&s, (const uint8_t *) text + from, to - from);
        from = to;
    }

    sluice_sse_free(&s);

    return rc;
}


/*
 * 1 when every 2-way cut (or every 7th for long texts when !every),
 * byte-at-a-time feeding and random cuts all give want.
 */
static int
same_cut_anywhere(const char *text, size_t len, const char *want, int every)
{
    int      good, r;
    size_t   k, i, n, step, *cuts;
    str_t    out;

    good = 1;
    cuts = malloc((len + 1) * sizeof(size_t));
    step = (every || len < 4096) ? 1 : 7;

    for (k = 0; k <= len && good; k += step) {
        memset(&out, 0, sizeof(out));
        cuts[0] = k;
        good = feed_cuts(text, len, cuts, 1, &out) == 0
               && strcmp(out.p, want) == 0;
        free(out.p);
    }

    for (k = 0; k < len; k++) {
        cuts[k] = k + 1;
    }

    memset(&out, 0, sizeof(out));
    good = good && feed_cuts(text, len, cuts, len ? len - 1 : 0, &out) == 0
           && strcmp(out.p, want) == 0;
    free(out.p);

    for (r = 0; r < 100 && good; r++) {
        n = 0;
        for (i = 1; i < len; i++) {
            if (rand() % 5 == 0) {
                cuts[n++] = i;
            }
        }

        memset(&out, 0, sizeof(out));
        good = feed_cuts(text, len, cuts, n, &out) == 0
               && strcmp(out.p, want) == 0;
        free(out.p);
    }

    free(cuts);

    return good;
}


static void
test_golden(void)
{
    char          name[128];
    size_t        i, len;
    str_t         out;
    const char   *text;

    for (i = 0; i < sizeof(golden) / sizeof(golden_t); i++) {
        text = golden[i].text;
        len = strlen(text);

        memset(&out, 0, sizeof(out));
        feed_cuts(text, len, NULL, 0, &out);
        ok(strcmp(out.p, golden[i].want) == 0, golden[i].name);
        if (strcmp(out.p, golden[i].want) != 0) {
            printf("# got  %s\n# want %s\n", out.p, golden[i].want);
        }
        free(out.p);

        snprintf(name, sizeof(name), "%s: same events cut anywhere",
                 golden[i].name);
        ok(same_cut_anywhere(text, len, golden[i].want, 1), name);
    }
}


/* the state a span check needs: the text and what is kept of it */
typedef struct {
    const char  *text;
    str_t        kept;
    uint64_t     from;
    int          bad;
} spans_t;


static int
drop_marked(void *data, const sluice_sse_event_t *ev)
{
    spans_t  *sp = data;

    if (ev->end <= ev->start || ev->start < sp->from) {
        sp->bad = 1;
    }

    if (memmem(ev->data, ev->data_len, "DROP", 4) != NULL) {
        str_add(&sp->kept, sp->text + sp->from, ev->start - sp->from);
        sp->from = ev->end;
    }

    return 0;
}


/* cutting an event's [start, end) leaves a stream without that event */
static void
test_spans(void)
{
    int            good;
    size_t         k, len;
    spans_t        sp;
    const char    *text, *want;
    sluice_sse_t   s;

    text = ": hi\n\ndata: a\n\ndata: DROP\ndata: x\n\n\n"
           "event: e\ndata: b\n\ndata: DROP\n\ndata: [DONE]\n\n";
    want = ": hi\n\ndata: a\n\n\nevent: e\ndata: b\n\ndata: [DONE]\n\n";
    len = strlen(text);
    good = 1;

    for (k = 0; k <= len; k++) {
        memset(&sp, 0, sizeof(sp));
        sp.text = text;
        str_add(&sp.kept, "", 0);

        sluice_sse_init(&s, 0, drop_marked, &sp);
        sluice_sse_feed(&s, (const uint8_t *) text, k);
        sluice_sse_feed(&s, (const uint8_t *) text + k, len - k);
        str_add(&sp.kept, text + sp.from, len - sp.from);

        good = good && !sp.bad && strcmp(sp.kept.p, want) == 0
               && s.block == len;

        sluice_sse_free(&s);
        free(sp.kept.p);
    }

    ok(good, "spans: dropping [start, end) removes exactly the event");

    memset(&sp, 0, sizeof(sp));
    sp.text = text;
    sluice_sse_init(&s, 0, drop_marked, &sp);
    sluice_sse_feed(&s, (const uint8_t *) "data: a\n\ndata: b", 16);
    ok(s.block == 9 && s.offset == 16,
       "spans: block marks where the incomplete event begins");
    sluice_sse_free(&s);
    free(sp.kept.p);
}


static void
test_limits(void)
{
    int           rc;
    str_t         out;
    sluice_sse_t  s;

    memset(&out, 0, sizeof(out));
    sluice_sse_init(&s, 16, collect, &out);

    rc = sluice_sse_feed(&s, (const uint8_t *) "data: 0123456789abcdef\n\n",
                         24);
    ok(rc == SLUICE_SSE_TOO_BIG, "an event over max is refused");
    rc = sluice_sse_feed(&s, (const uint8_t *) "data: x\n\n", 9);
    ok(rc == SLUICE_SSE_TOO_BIG, "and the splitter stays stopped");

    sluice_sse_reset(&s);
    rc = sluice_sse_feed(&s, (const uint8_t *) "data: x\n\n", 9);
    ok(rc == SLUICE_SSE_OK && out.p && strcmp(out.p, "[|x|0]") == 0,
       "reset makes it usable again");

    rc = sluice_sse_feed(&s, (const uint8_t *) "data: 0123", 10);
    rc = rc == 0 ? sluice_sse_feed(&s, (const uint8_t *) "456789abcdef", 12)
                 : rc;
    ok(rc == SLUICE_SSE_TOO_BIG, "a partial line counts against max");
    sluice_sse_free(&s);
    free(out.p);

    sluice_sse_init(&s, 0, stop, NULL);
    rc = sluice_sse_feed(&s, (const uint8_t *) "data: x\n\n", 9);
    ok(rc == SLUICE_SSE_ERROR, "a handler can stop the splitter");
    sluice_sse_free(&s);
}


/* whole stream vs cut streams; 1 when all agree and events were found */
static int
test_fixture_stream(const char *text, size_t len)
{
    int    good;
    str_t  out;

    memset(&out, 0, sizeof(out));
    feed_cuts(text, len, NULL, 0, &out);
    good = out.len > 0 && same_cut_anywhere(text, len, out.p, 0);
    free(out.p);

    return good;
}


static void
test_fixtures(const char *dir)
{
    int             streams, bad;
    char            path[1024];
    size_t          k, reqs;
    DIR            *d;
    json_t         *fx, *req, *mock;
    const char     *raw;
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        ok(1, "# SKIP no fixtures directory");
        return;
    }

    streams = bad = 0;

    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".json") == NULL) {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        fx = json_load_file(path, 0, NULL);
        if (fx == NULL) {
            continue;
        }

        reqs = json_array_size(json_object_get(fx, "requests"));
        for (k = 0; k < reqs; k++) {
            req = json_array_get(json_object_get(fx, "requests"), k);
            mock = json_object_get(req, "mock_response");
            raw = json_string_value(json_object_get(mock, "raw"));

            if (raw == NULL || strcmp(json_string_value(
                    json_object_get(mock, "kind")) ?: "", "sse") != 0)
            {
                continue;
            }

            streams++;
            bad += !test_fixture_stream(raw, strlen(raw));
        }

        json_decref(fx);
    }

    closedir(d);

    printf("# %d captured streams\n", streams);
    ok(streams > 0 && bad == 0,
       "captured streams: same events however they are cut");
}


/* what a differential run sees: every event in full, and each rc */
typedef struct {
    str_t          *out;
    sluice_sse_t   *s;
    long            left;      /* events before the handler says stop */
} recorder_t;


static int
record(void *data, const sluice_sse_event_t *ev)
{
    char         num[80];
    recorder_t  *rec = data;

    str_add(rec->out, "[", 1);
    str_add(rec->out, ev->name, ev->name_len);
    str_add(rec->out, "|", 1);
    str_add(rec->out, ev->data, ev->data_len);
    snprintf(num, sizeof(num), "|%llu-%llu%s]",
             (unsigned long long) ev->start, (unsigned long long) ev->end,
             rec->s->cr ? " cr" : "");
    str_add(rec->out, num, strlen(num));

    return rec->left >= 0 && rec->left-- == 0;
}


/* feeds text cut at cuts[0..n), recording events, rcs and the end state */
static void
feed_record(const char *text, size_t len, const size_t *cuts, size_t n,
    size_t max, int lines, long stop_at, str_t *out)
{
    int           rc;
    char          num[80];
    size_t        i, from, to;
    recorder_t    rec;
    sluice_sse_t  s;

    rec.out = out;
    rec.s = &s;
    rec.left = stop_at;

    sluice_sse_init(&s, max, record, &rec);
    s.lines = lines;
    str_add(out, "", 0);

    from = 0;

    for (i = 0; i <= n; i++) {
        to = (i < n) ? cuts[i] : len;
        rc = sluice_sse_feed(&s, (const uint8_t *) text + from, to - from);
        snprintf(num, sizeof(num), "<%d>", rc);
        str_add(out, num, strlen(num));
        from = to;
    }

    snprintf(num, sizeof(num), "{%llu %llu %d}",
             (unsigned long long) s.offset, (unsigned long long) s.block,
             (int) s.cr);
    str_add(out, num, strlen(num));

    sluice_sse_free(&s);
}


/*
 * 1 when the fast path and the line parser see the same events (name,
 * data, start, end, cr), the same return codes and the same offsets,
 * whole, cut in two at every step-th byte, fed a byte at a time, and
 * cut at random; stop_at >= 0: the handler stops after that many events.
 */
static int
same_both_ways(const char *text, size_t len, size_t max, long stop_at,
    size_t step)
{
    int      good, r, way;
    size_t   k, i, n, *cuts;
    str_t    out[2];

    good = 1;
    cuts = malloc((len + 1) * sizeof(size_t));

    for (r = -2; r < (step > 1 ? 3 : 50) && good; r++) {
        n = 0;

        if (r == -2) {
            for (k = 1; k < len; k++) {
                cuts[n++] = k;
            }

        } else if (r >= 0) {
            for (i = 1; i < len; i++) {
                if (rand() % 7 == 0) {
                    cuts[n++] = i;
                }
            }
        }

        for (way = 0; way < 2; way++) {
            memset(&out[way], 0, sizeof(str_t));
            feed_record(text, len, cuts, n, max, way, stop_at, &out[way]);
        }

        good = strcmp(out[0].p, out[1].p) == 0;
        if (!good) {
            printf("# fast  %s\n# lines %s\n", out[0].p, out[1].p);
        }

        free(out[0].p);
        free(out[1].p);
    }

    for (k = 0; k <= len && good; k += step) {
        cuts[0] = k;

        for (way = 0; way < 2; way++) {
            memset(&out[way], 0, sizeof(str_t));
            feed_record(text, len, cuts, 1, max, way, stop_at, &out[way]);
        }

        good = strcmp(out[0].p, out[1].p) == 0;
        if (!good) {
            printf("# cut %zu\n# fast  %s\n# lines %s\n", k, out[0].p,
                   out[1].p);
        }

        free(out[0].p);
        free(out[1].p);
    }

    free(cuts);

    return good;
}


static const char  *fast_texts[][2] = {
    { "chat chunks",
      "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3}}\n\n"
      "data: [DONE]\n\n" },
    { "named events",
      "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
      "event: ping\ndata: {}\n\nevent:\ndata:\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n" },
    { "comments and other fields between fast events",
      ": keep-alive\n\ndata: a\n\nid: 7\ndata: b\n\nretry: 10\n\n"
      "data: c\n\n: x\ndata: d\n\nevent: e\nid: 1\ndata: f\n\n" },
    { "multi-line data among single lines",
      "data: a\n\ndata: b\ndata: c\n\ndata: d\n\nevent: x\ndata: e\n"
      "data: f\n\ndata: g\n\n" },
    { "a CRLF event in an LF stream",
      "data: a\n\ndata: b\r\n\r\ndata: c\n\ndata: d\n\n" },
    { "lone CRs", "data: a\n\ndata: b\r\rdata: c\n\rdata: d\n\n" },
    { "CRLF only", "event: a\r\ndata: x\r\n\r\ndata: y\r\n\r\n" },
    { "no space, two spaces, empty values",
      "data:x\n\ndata:  y\n\ndata:\n\ndata: \n\nevent: \ndata: z\n\n" },
    { "fields without colon and odd names",
      "data\n\nevent\ndata: z\n\ndatum: q\n\nevents: n\ndata: w\n\n"
      "eventx: 1\ndata: v\n\nDATA: u\n\n" },
    { "event without data, blank lines",
      "\n\n\nevent: a\n\ndata: x\n\n\n\ndata: y\n\n" },
    { "two event lines", "event: a\nevent: b\ndata: x\n\n" },
    { "event line then a blank and data",
      "event: a\n\ndata: x\n\nevent: b\ndata: y\n\n" },
    { "unterminated tail", "data: a\n\ndata: b\n\ndata: c\n" },
    { "unterminated line", "data: a\n\nevent: b\ndata: c" },
    { "colons and braces",
      "data: {\"a\":\"b:c\\n\"}\n\nevent: x:y\ndata: ::\n\n" },
};


static void
test_fast(void)
{
    char     name[160], *big;
    size_t   i, k, len;

    for (i = 0; i < sizeof(golden) / sizeof(golden_t); i++) {
        snprintf(name, sizeof(name), "fast = lines: %s", golden[i].name);
        ok(same_both_ways(golden[i].text, strlen(golden[i].text), 0, -1, 1),
           name);
    }

    for (i = 0; i < sizeof(fast_texts) / sizeof(fast_texts[0]); i++) {
        snprintf(name, sizeof(name), "fast = lines: %s", fast_texts[i][0]);
        ok(same_both_ways(fast_texts[i][1], strlen(fast_texts[i][1]), 0, -1,
                          1),
           name);
    }

    for (k = 0; k < 4; k++) {
        snprintf(name, sizeof(name),
                 "fast = lines: the handler stops after %zu events", k);
        ok(same_both_ways(fast_texts[2][1], strlen(fast_texts[2][1]), 0,
                          (long) k, 1), name);
    }

    /* a huge event between small ones: 200 KB, 2 MB (over the limit) */
    for (k = 0; k < 2; k++) {
        len = k ? 2 * 1024 * 1024 : 200 * 1024;
        big = malloc(len + 64);
        if (big == NULL) {
            abort();
        }

        i = strlen("data: a\n\nevent: big\ndata: ");
        memcpy(big, "data: a\n\nevent: big\ndata: ", i);
        memset(big + i, 'x', len);
        memcpy(big + i + len, "\n\ndata: b\n\n", 11);
        len += i + 11;

        snprintf(name, sizeof(name), "fast = lines: a %s event",
                 k ? "2 MB" : "200 KB");
        ok(same_both_ways(big, len, 0, -1, 4099), name);
        free(big);
    }
}


/* every length around the limit, with and without a name */
static void
test_fast_limits(void)
{
    int      good;
    char     text[256];
    size_t   n, max, len;

    good = 1;

    for (max = 8; max <= 24 && good; max += 4) {
        for (n = 0; n <= max + 2 && good; n++) {
            len = snprintf(text, sizeof(text), "data: a\n\ndata: %.*s\n\n"
                           "event: ab\ndata: %.*s\n\ndata: z\n\n",
                           (int) n, "0123456789abcdefghijklmnopqrstuv",
                           (int) n, "0123456789abcdefghijklmnopqrstuv");
            good = same_both_ways(text, len, max, -1, 1);
        }
    }

    ok(good, "fast = lines: events around the size limit");
}


/* skipped bytes [skip_from, skip_to) of the reference run */
static uint64_t  skip_from, skip_to;


/* records the events not wholly within the skipped bytes */
static int
record_from(void *data, const sluice_sse_event_t *ev)
{
    recorder_t  *rec = data;

    if (ev->start < skip_from || ev->end > skip_to) {
        rec->left = -1;
        record(rec, ev);
    }

    return 0;
}


/*
 * text fed in two pieces cut at k; skipping: the second piece's
 * skippable bytes (by before) are skipped, *from set to where they end;
 * else only events from *from on are recorded.  -1 when the skip was
 * not whole events ending by before.
 */
static int
skip_run(const char *text, size_t len, size_t k, size_t before,
    int skipping, uint64_t *from, str_t *out)
{
    char          num[80];
    size_t        skip;
    recorder_t    rec;
    sluice_sse_t  s;

    rec.out = out;
    rec.s = &s;
    rec.left = -1;

    if (skipping) {
        skip_from = 0;
        skip_to = 0;

    } else {
        skip_from = k;
        skip_to = *from;
    }

    sluice_sse_init(&s, 0, record_from, &rec);
    str_add(out, "", 0);

    sluice_sse_feed(&s, (const uint8_t *) text, k);
    skip = 0;

    if (skipping) {
        skip = sluice_sse_skippable(&s, (const uint8_t *) text + k, len - k,
                                    before);

        if (skip && (skip > before || skip < 2 || text[k + skip - 1] != '\n'
                     || text[k + skip - 2] != '\n'))
        {
            sluice_sse_free(&s);
            return -1;
        }

        sluice_sse_skip(&s, skip);
        *from = k + skip;
    }

    sluice_sse_feed(&s, (const uint8_t *) text + k + skip, len - k - skip);

    snprintf(num, sizeof(num), "{%llu %llu %d}",
             (unsigned long long) s.offset, (unsigned long long) s.block,
             (int) s.cr);
    str_add(out, num, strlen(num));

    sluice_sse_free(&s);

    return (int) skip;
}


/*
 * Skipping what sluice_sse_skippable allows changes nothing else: the
 * events after the skipped bytes and the end state are those of a run
 * that fed them all, for every cut and every limit.
 */
static int
same_skipped(const char *text, size_t len)
{
    int       rc, good;
    str_t     out[2];
    size_t    k, before;
    uint64_t  from;

    good = 1;

    for (k = 0; k <= len && good; k++) {
        for (before = 0; before <= len - k + 1 && good; before++) {
            memset(out, 0, sizeof(out));

            from = 0;
            rc = skip_run(text, len, k, before, 1, &from, &out[0]);
            skip_run(text, len, k, before, 0, &from, &out[1]);

            good = rc >= 0 && strcmp(out[0].p, out[1].p) == 0;
            if (!good) {
                printf("# cut %zu before %zu skip %d\n# skip %s\n# all  %s\n",
                       k, before, rc, out[0].p, out[1].p);
            }

            free(out[0].p);
            free(out[1].p);
        }
    }

    return good;
}


static void
test_skip(void)
{
    char          name[160];
    str_t         seen;
    size_t        i;
    sluice_sse_t  s;

    static const char  chat[] = "data: a\n\ndata: b\n\ndata: [DONE]\n\n";

    for (i = 0; i < sizeof(golden) / sizeof(golden_t); i++) {
        snprintf(name, sizeof(name), "skip changes nothing: %s",
                 golden[i].name);
        ok(same_skipped(golden[i].text, strlen(golden[i].text)), name);
    }

    for (i = 0; i < sizeof(fast_texts) / sizeof(fast_texts[0]); i++) {
        snprintf(name, sizeof(name), "skip changes nothing: %s",
                 fast_texts[i][0]);
        ok(same_skipped(fast_texts[i][1], strlen(fast_texts[i][1])), name);
    }

    /* the common case does skip, up to the last blank line by the limit */
    memset(&seen, 0, sizeof(str_t));
    sluice_sse_init(&s, 0, collect, &seen);
    ok(sluice_sse_skippable(&s, (const uint8_t *) chat, sizeof(chat) - 1,
                            sizeof(chat) - 1) == sizeof(chat) - 1,
       "skippable: a whole buffer of events");
    ok(sluice_sse_skippable(&s, (const uint8_t *) chat, sizeof(chat) - 1, 17)
       == 9, "skippable: whole events by the limit only");
    ok(sluice_sse_skippable(&s, (const uint8_t *) chat, sizeof(chat) - 1, 8)
       == 0, "skippable: none before the first blank line");
    sluice_sse_feed(&s, (const uint8_t *) "data: x\n", 8);
    ok(sluice_sse_skippable(&s, (const uint8_t *) chat, sizeof(chat) - 1,
                            sizeof(chat) - 1) == 0,
       "skippable: nothing while an event is held");
    sluice_sse_free(&s);
    free(seen.p);
}


int
main(int argc, char **argv)
{
    srand(11);

    test_golden();
    test_spans();
    test_limits();
    test_fast();
    test_fast_limits();
    test_skip();
    test_fixtures(argc > 1 ? argv[1] : "../shared/clients/fixtures");

    return tap_done();
}
