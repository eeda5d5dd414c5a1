/*
 * Unit tests (TAP) for sluice_sse: golden event lists, the same lists
 * whatever the stream is cut into, raw block spans, limits, and the
 * captured provider streams.
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


int
main(int argc, char **argv)
{
    srand(11);

    test_golden();
    test_spans();
    test_limits();
    test_fixtures(argc > 1 ? argv[1] : "../shared/clients/fixtures");

    return tap_done();
}
