/*
 * make bench: instructions per call of the pure cores on the bench's own
 * bodies, counted by callgrind (t/bench/bench.pl builds and runs this
 * under valgrind --tool=callgrind --toggle-collect='cores_*'):
 *
 *   cores N request FILE    sluice_json_scan as the route handler calls it
 *   cores N response FILE   sluice_usage_parse of a JSON answer
 *   cores N sse FILE        sluice_sse_feed with the filter's event handler
 *                           (usage hint, then usage parse)
 *   cores N sse-lines FILE  the same, the fast path off (line by line)
 *   cores N xlate FILE      sluice_xlate_request_ex, chat -> messages, as
 *                           the dialect handler calls it (xlate-slow: the
 *                           same without the fast path; m2c and m2c-slow:
 *                           messages -> chat; r2c and r2c-slow:
 *                           responses -> chat, which has no fast path
 *                           yet: both run jansson)
 *   cores N stream FILE     an Anthropic Messages SSE answer translated
 *                           for a chat caller, as the translating filter
 *                           feeds it (stream-slow: the fast path off)
 *
 * Each kind runs N times; the report divides by N.  Prints one line per
 * kind so a run outside callgrind still checks the cores agree.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sluice_json.h"
#include "sluice_sse.h"
#include "sluice_usage_json.h"
#include "sluice_xlate_int.h"


typedef struct {
    sluice_usage_t   usage;
    unsigned         events;
    unsigned         usage_only;
    const uint8_t   *base;       /* the bytes fed */
    const uint8_t   *last;
    const uint8_t   *hint;
} cores_sse_t;


/* not inlined: callgrind counts from the entry of each of these */
#define CORES_ENTRY  __attribute__((noinline)) static

static char *cores_read(const char *path, size_t *len);
CORES_ENTRY int cores_request(const uint8_t *p, size_t len);
CORES_ENTRY int cores_response(const uint8_t *p, size_t len,
    sluice_usage_t *u);
CORES_ENTRY int cores_sse(const uint8_t *p, size_t len, cores_sse_t *s,
    int lines);
static int sse_event(void *data, const sluice_sse_event_t *ev);
CORES_ENTRY int cores_xlate(const char *kind, const char *p, size_t len,
    size_t *out_len);
CORES_ENTRY int cores_stream(const char *p, size_t len, int slow,
    size_t *out_len);
static int cores_emit(void *data, const char *p, size_t len);


/* the request translations: kind, from, to, flags */
typedef struct {
    const char          *kind;
    int                  from;
    int                  to;
    unsigned             flags;
} cores_xlate_t;

static const cores_xlate_t  cores_xlates[] = {
    { "xlate", SLUICE_XLATE_CHAT, SLUICE_XLATE_MESSAGES, 0 },
    { "xlate-slow", SLUICE_XLATE_CHAT, SLUICE_XLATE_MESSAGES,
      SLUICE_XLATE_NO_FAST },
    { "m2c", SLUICE_XLATE_MESSAGES, SLUICE_XLATE_CHAT, 0 },
    { "m2c-slow", SLUICE_XLATE_MESSAGES, SLUICE_XLATE_CHAT,
      SLUICE_XLATE_NO_FAST },
    { "r2c", SLUICE_XLATE_RESPONSES, SLUICE_XLATE_CHAT, 0 },
    { "r2c-slow", SLUICE_XLATE_RESPONSES, SLUICE_XLATE_CHAT,
      SLUICE_XLATE_NO_FAST },
    { NULL, 0, 0, 0 }
};


static char *
cores_read(const char *path, size_t *len)
{
    FILE  *f;
    char  *p;
    long   n;

    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
        perror(path);
        exit(2);
    }

    rewind(f);
    p = malloc(n + 1);

    if (p == NULL || fread(p, 1, n, f) != (size_t) n) {
        perror(path);
        exit(2);
    }

    fclose(f);
    *len = n;

    return p;
}


/* the route handler's scan: model, stream, stream_options */
CORES_ENTRY int
cores_request(const uint8_t *p, size_t len)
{
    size_t                open;
    sluice_json_error_t   err;
    sluice_json_member_t  m[3];

    m[0].name = "model";
    m[1].name = "stream";
    m[2].name = "stream_options";

    return sluice_json_scan(p, len, m, 3, &open, &err);
}


CORES_ENTRY int
cores_response(const uint8_t *p, size_t len, sluice_usage_t *u)
{
    sluice_usage_init(u);

    return sluice_usage_parse(p, len, u, NULL);
}


/*
 * As ngx_http_sluice_filter_event: the hint (searched once over the
 * bytes fed, as ngx_http_sluice_filter_hint does), then the parse when
 * it says so.  Not named cores_*: --toggle-collect='cores_*' would
 * toggle counting off on entry, and the hint and parse go uncounted.
 */
static int
sse_event(void *data, const sluice_sse_event_t *ev)
{
    int             usage_only;
    cores_sse_t    *s = data;
    const uint8_t  *d, *last;

    s->events++;

    d = ev->data;
    last = d + ev->data_len;

    if (d >= s->base && last <= s->last) {
        if (s->hint == NULL || s->hint < d) {
            s->hint = d + sluice_usage_hint_find(d, s->last - d);
        }

        if (s->hint >= last) {
            return 0;
        }
    }

    if (!sluice_usage_hint(ev->data, ev->data_len)) {
        return 0;
    }

    if (sluice_usage_parse(ev->data, ev->data_len, &s->usage, &usage_only)
        == SLUICE_USAGE_FOUND)
    {
        s->usage_only += usage_only;
    }

    return 0;
}


CORES_ENTRY int
cores_sse(const uint8_t *p, size_t len, cores_sse_t *s, int lines)
{
    int           rc;
    sluice_sse_t  sse;

    sluice_usage_init(&s->usage);
    s->events = 0;
    s->usage_only = 0;
    s->base = p;
    s->last = p + len;
    s->hint = NULL;

    sluice_sse_init(&sse, 0, sse_event, s);
    sse.lines = lines;
    rc = sluice_sse_feed(&sse, p, len);
    sluice_sse_free(&sse);

    return rc;
}


/* a request body translated; -100 for an unknown kind */
CORES_ENTRY int
cores_xlate(const char *kind, const char *p, size_t len, size_t *out_len)
{
    int                    rc;
    sluice_buf_t           out;
    sluice_xlate_err_t     err;
    sluice_xlate_names_t  *names;
    const cores_xlate_t   *x;

    for (x = cores_xlates; x->kind && strcmp(x->kind, kind) != 0; x++) {
        /* void */
    }

    if (x->kind == NULL) {
        return -100;
    }

    sluice_buf_init(&out);
    rc = sluice_xlate_request_ex(x->from, x->to, x->flags, p, len,
                                 "upstream-model", &out, &names, &err);
    *out_len = out.len;
    sluice_xlate_names_free(names);
    sluice_buf_free(&out);

    return rc;
}


/* a messages stream to a chat caller; the bytes it gave in out_len */
CORES_ENTRY int
cores_stream(const char *p, size_t len, int slow, size_t *out_len)
{
    int                     rc;
    sluice_xlate_stream_t  *st;

    *out_len = 0;
    st = sluice_xlate_stream_create_ex(SLUICE_XLATE_MESSAGES,
                                       SLUICE_XLATE_CHAT,
                                       slow ? SLUICE_XLATE_NO_FAST : 0,
                                       1024 * 1024, NULL);
    if (st == NULL) {
        return -1;
    }

    rc = sluice_xlate_stream_feed(st, p, len, cores_emit, out_len);

    if (rc == SLUICE_XLATE_OK) {
        rc = sluice_xlate_stream_finish(st, cores_emit, out_len);
    }

    if (rc == SLUICE_XLATE_OK
        && sluice_xlate_stream_state(st) != SLUICE_XLATE_DONE)
    {
        rc = -2;
    }

    sluice_xlate_stream_destroy(st);

    return rc;
}


static int
cores_emit(void *data, const char *p, size_t len)
{
    size_t  *n = data;

    (void) p;
    *n += len;

    return 0;
}


int
main(int argc, char **argv)
{
    int             rc, i, n, k;
    char           *p;
    size_t          len, out_len;
    cores_sse_t     s;
    sluice_usage_t  u;

    if (argc < 4 || (argc - 2) % 2 != 0) {
        fprintf(stderr, "usage: %s N request|response|sse|sse-lines|xlate|"
                "xlate-slow|m2c|m2c-slow|r2c|r2c-slow|stream|stream-slow "
                "FILE ...\n", argv[0]);
        return 2;
    }

    n = atoi(argv[1]);

    for (k = 2; k + 1 < argc; k += 2) {
        p = cores_read(argv[k + 1], &len);
        rc = 0;

        for (i = 0; i < n; i++) {
            if (strcmp(argv[k], "request") == 0) {
                rc = cores_request((uint8_t *) p, len);

            } else if (strcmp(argv[k], "response") == 0) {
                rc = cores_response((uint8_t *) p, len, &u);

            } else if (strcmp(argv[k], "sse") == 0
                       || strcmp(argv[k], "sse-lines") == 0)
            {
                rc = cores_sse((uint8_t *) p, len, &s,
                               strcmp(argv[k], "sse-lines") == 0);

            } else if (strcmp(argv[k], "stream") == 0
                       || strcmp(argv[k], "stream-slow") == 0)
            {
                rc = cores_stream(p, len, argv[k][6] != '\0', &out_len);
                rc = rc ? rc : (int) out_len;

            } else if (cores_xlate(argv[k], p, len, &out_len) != -100) {
                rc = (int) out_len;

            } else {
                fprintf(stderr, "unknown kind %s\n", argv[k]);
                return 2;
            }
        }

        if (strcmp(argv[k], "response") == 0) {
            printf("%s %s: %d in %lld out %lld\n", argv[k], argv[k + 1], rc,
                   (long long) u.in, (long long) u.out);

        } else if (strncmp(argv[k], "sse", 3) == 0) {
            printf("%s %s: %d, %u events, in %lld out %lld, usage only "
                   "%u\n", argv[k], argv[k + 1], rc, s.events,
                   (long long) s.usage.in, (long long) s.usage.out,
                   s.usage_only);

        } else {
            printf("%s %s: %d\n", argv[k], argv[k + 1], rc);
        }

        free(p);
    }

    return 0;
}
