/*
 * Unit tests (TAP) for sluice_usage_json: the chat, responses and
 * messages usage shapes, merging stream events, the cheap pre-check, and
 * the captured provider answers.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <jansson.h>
#include "sluice_sse.h"
#include "sluice_usage_json.h"
#include "tap.h"


typedef struct {
    sluice_usage_t   usage;
    int              found;
    int              missed;     /* hint said no, parse found usage */
} merge_t;


static int parse(const char *s, sluice_usage_t *u, int *only);
static int merge_event(void *data, const sluice_sse_event_t *ev);
static int merge_stream(const char *text, merge_t *m);
static void test_shapes(void);
static void test_streams(void);
static void test_hint(void);
static void test_tail(void);
static int hint_offsets(void);
static size_t hint_ref(const uint8_t *p, size_t len);
static int hint_same(const char *text);
static void test_fixtures(const char *dir);
static int check_fixture(json_t *mock, int *checked);



/*
 * A whole answer's usage is looked for from its end first; every shape
 * the tail does not settle must read as the full skim reads it.
 */
static void
test_tail(void)
{
    int             rc;
    sluice_usage_t  u;

    static const struct {
        const char  *body;
        int          rc;
        int64_t      in;
        const char  *name;
    } cases[] = {
        { "{\"choices\":[],\"usage\":{\"prompt_tokens\":4,"
          "\"completion_tokens\":1},\"service_tier\":\"default\","
          "\"system_fingerprint\":\"fp_x\",\"n\":null,\"k\":[1,{\"a\":\"}\"}]}",
          SLUICE_USAGE_FOUND, 4, "usage then members of every kind" },
        { "{\n  \"usage\" : {\n    \"input_tokens\" : 6 } ,\n"
          "  \"x\" : \"}\\\"]\"\n}\n",
          SLUICE_USAGE_FOUND, 6, "pretty, a string of brackets after" },
        { "{\"usage\":{\"prompt_tokens\":1},\"x\":{\"usage\":"
          "{\"prompt_tokens\":99}}}",
          SLUICE_USAGE_FOUND, 1, "a nested usage after: the outer one" },
        { "{\"x\":{\"usage\":{\"prompt_tokens\":99}},\"usage\":"
          "{\"prompt_tokens\":2}}",
          SLUICE_USAGE_FOUND, 2, "a nested usage before" },
        { "{\"choices\":[{\"usage\":{\"prompt_tokens\":5}}]}",
          SLUICE_USAGE_NONE, -1, "inside choices: not counted" },
        { "{\"a\":{\"b\":1,\"usage\":{\"prompt_tokens\":9}}}",
          SLUICE_USAGE_NONE, -1, "last in a nested object: not counted" },
        { "{\"a\":\"\\\"usage\\\":{\\\"prompt_tokens\\\":9}\"}",
          SLUICE_USAGE_NONE, -1, "in a string: not counted" },
        { "{\"a\":\"x\\\\\",\"usage\":{\"prompt_tokens\":3}}",
          SLUICE_USAGE_FOUND, 3, "after a string ending in a backslash" },
        { "{\"message\":{\"usage\":{\"input_tokens\":3}}}",
          SLUICE_USAGE_FOUND, 3, "message.usage (the skim's)" },
        { "{\"usage\":{\"prompt_tokens\":7},\"k\":\"usage\"}",
          SLUICE_USAGE_FOUND, 7, "the word as a value after" },
        { "{\"usage\":{\"prompt_tokens\":8,\"d\":{\"e\":[1,2]}}}",
          SLUICE_USAGE_FOUND, 8, "nested objects inside usage" },
        { "{\"usage\":{\"prompt_tokens\":8}", SLUICE_USAGE_INVALID, -1,
          "the outer brace missing" },
    };

    size_t  i;
    char    name[128];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sluice_usage_init(&u);
        rc = parse(cases[i].body, &u, NULL);
        snprintf(name, sizeof(name), "tail: %s", cases[i].name);
        ok(rc == cases[i].rc && u.in == cases[i].in, name);
    }
}


static int
parse(const char *s, sluice_usage_t *u, int *only)
{
    return sluice_usage_parse((const uint8_t *) s, strlen(s), u, only);
}


static void
test_shapes(void)
{
    int             rc, only;
    sluice_usage_t  u;

    sluice_usage_init(&u);
    rc = parse("{\"object\":\"chat.completion\",\"choices\":[{}],"
               "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,"
               "\"total_tokens\":17,\"prompt_tokens_details\":"
               "{\"cached_tokens\":3},\"completion_tokens_details\":"
               "{\"reasoning_tokens\":2}}}", &u, &only);
    ok(rc == SLUICE_USAGE_FOUND && u.in == 12 && u.out == 5 && u.cached == 3
       && u.reasoning == 2 && only == 0, "chat completion body");

    sluice_usage_init(&u);
    rc = parse("{\"object\":\"response\",\"usage\":{\"input_tokens\":9,"
               "\"output_tokens\":4,\"input_tokens_details\":"
               "{\"cached_tokens\":1},\"output_tokens_details\":"
               "{\"reasoning_tokens\":2}}}", &u, NULL);
    ok(rc == SLUICE_USAGE_FOUND && u.in == 9 && u.out == 4 && u.cached == 1
       && u.reasoning == 2, "responses body");

    sluice_usage_init(&u);
    rc = parse("{\"type\":\"message\",\"usage\":{\"input_tokens\":25,"
               "\"cache_read_input_tokens\":7,\"output_tokens\":15}}",
               &u, NULL);
    ok(rc == SLUICE_USAGE_FOUND && u.in == 32 && u.out == 15 && u.cached == 7
       && u.reasoning == -1, "messages body: in counts the cache reads");

    sluice_usage_init(&u);
    rc = parse("{\"type\":\"message\",\"usage\":{\"input_tokens\":10,"
               "\"cache_creation_input_tokens\":20,"
               "\"cache_read_input_tokens\":30,\"output_tokens\":4}}",
               &u, NULL);
    ok(rc == SLUICE_USAGE_FOUND && u.in == 60 && u.cached == 30 && u.out == 4,
       "messages body: in counts cache writes too, cached the reads");

    sluice_usage_init(&u);
    rc = parse("{\"usage\":{\"prompt_tokens\":5,\"input_tokens\":7,"
               "\"completion_tokens\":1,\"output_tokens\":2}}", &u, NULL);
    ok(rc == SLUICE_USAGE_FOUND && u.in == 7 && u.out == 2,
       "both spellings: input_tokens and output_tokens win");

    sluice_usage_init(&u);
    rc = parse("{\"choices\":[],\"usage\":{\"prompt_tokens\":1,"
               "\"completion_tokens\":2}}", &u, &only);
    ok(rc == SLUICE_USAGE_FOUND && only == 1, "include_usage chunk: "
       "usage only");

    rc = parse("{\"choices\":[{\"delta\":{}}],\"usage\":{\"prompt_tokens\":1,"
               "\"completion_tokens\":3}}", &u, &only);
    ok(rc == SLUICE_USAGE_FOUND && only == 0 && u.out == 3,
       "usage on a content chunk is not usage only");

    sluice_usage_init(&u);
    rc = parse("{\"choices\":[],\"usage\":null}", &u, &only);
    ok(rc == SLUICE_USAGE_NONE && u.in == -1 && only == 0, "usage null");

    rc = parse("{\"usage\":{\"prompt_tokens\":-4,\"completion_tokens\":\"7\","
               "\"input_tokens\":2.0}}", &u, NULL);
    ok(rc == SLUICE_USAGE_FOUND && u.in == 2 && u.out == -1,
       "negative and string counts ignored, whole reals taken");

    ok(parse("[DONE]", &u, NULL) == SLUICE_USAGE_INVALID, "[DONE] is no JSON");
    ok(parse("{\"usage\":{\"prompt", &u, NULL) == SLUICE_USAGE_INVALID,
       "cut JSON is invalid");
    ok(parse("[{\"usage\":{\"prompt_tokens\":1}}]", &u, NULL)
       != SLUICE_USAGE_FOUND, "usage only counts at the known places");
}


static int
merge_event(void *data, const sluice_sse_event_t *ev)
{
    int       hint;
    merge_t  *m = data;

    hint = sluice_usage_hint(ev->data, ev->data_len);

    if (sluice_usage_parse(ev->data, ev->data_len, &m->usage, NULL)
        == SLUICE_USAGE_FOUND)
    {
        m->found++;
        m->missed += !hint;
    }

    return 0;
}


static int
merge_stream(const char *text, merge_t *m)
{
    sluice_sse_t  s;
    int           rc;

    memset(m, 0, sizeof(merge_t));
    sluice_usage_init(&m->usage);

    sluice_sse_init(&s, 0, merge_event, m);
    rc = sluice_sse_feed(&s, (const uint8_t *) text, strlen(text));
    sluice_sse_free(&s);

    return rc;
}


static void
test_streams(void)
{
    merge_t  m;

    merge_stream("event: message_start\ndata: {\"type\":\"message_start\","
                 "\"message\":{\"usage\":{\"input_tokens\":25,"
                 "\"output_tokens\":1}}}\n\n"
                 "event: message_delta\ndata: {\"type\":\"message_delta\","
                 "\"usage\":{\"output_tokens\":15}}\n\n", &m);
    ok(m.found == 2 && m.usage.in == 25 && m.usage.out == 15,
       "messages stream: message_start and message_delta merge");

    merge_stream("event: message_start\ndata: {\"type\":\"message_start\","
                 "\"message\":{\"usage\":{\"input_tokens\":25,"
                 "\"cache_creation_input_tokens\":5,"
                 "\"cache_read_input_tokens\":100,\"output_tokens\":1}}}\n\n"
                 "event: message_delta\ndata: {\"type\":\"message_delta\","
                 "\"usage\":{\"output_tokens\":15}}\n\n", &m);
    ok(m.found == 2 && m.usage.in == 130 && m.usage.cached == 100
       && m.usage.out == 15,
       "messages stream: cache reads and writes counted in, once");

    merge_stream("event: message_start\ndata: {\"type\":\"message_start\","
                 "\"message\":{\"usage\":{\"input_tokens\":25,"
                 "\"cache_creation_input_tokens\":5,"
                 "\"cache_read_input_tokens\":100,\"output_tokens\":1}}}\n\n"
                 "event: message_delta\ndata: {\"type\":\"message_delta\","
                 "\"usage\":{\"input_tokens\":25,"
                 "\"cache_creation_input_tokens\":5,"
                 "\"cache_read_input_tokens\":100,"
                 "\"output_tokens\":15}}\n\n", &m);
    ok(m.found == 2 && m.usage.in == 130 && m.usage.cached == 100
       && m.usage.out == 15,
       "messages stream: input repeated in message_delta not added twice");

    merge_stream("event: response.created\ndata: {\"type\":"
                 "\"response.created\",\"response\":{\"usage\":null}}\n\n"
                 "event: response.completed\ndata: {\"type\":"
                 "\"response.completed\",\"response\":{\"usage\":"
                 "{\"input_tokens\":8,\"output_tokens\":3}}}\n\n", &m);
    ok(m.found == 1 && m.usage.in == 8 && m.usage.out == 3,
       "responses stream: response.completed");

    merge_stream("data: {\"choices\":[{\"delta\":{}}],\"usage\":null}\n\n"
                 "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,"
                 "\"completion_tokens\":6}}\n\ndata: [DONE]\n\n", &m);
    ok(m.found == 1 && m.usage.in == 4 && m.usage.out == 6,
       "chat stream: the include_usage chunk");
}


static void
test_hint(void)
{
    const char  *s;

    s = "{\"usage\" :\n {\"prompt_tokens\":1}}";
    ok(sluice_usage_hint((const uint8_t *) s, strlen(s)) == 1,
       "hint: whitespace around the colon");

    s = "{\"usage\":null,\"x\":{}}";
    ok(sluice_usage_hint((const uint8_t *) s, strlen(s)) == 0,
       "hint: usage null");

    s = "{\"name\":\"usage\",\"x\":{}}";
    ok(sluice_usage_hint((const uint8_t *) s, strlen(s)) == 0,
       "hint: \"usage\" as a value");

    s = "{\"usage\"";
    ok(sluice_usage_hint((const uint8_t *) s, strlen(s)) == 0,
       "hint: cut short");

    ok(hint_offsets(), "hint: the key found at every offset, and only "
       "the key");

    ok(hint_same("{\"usage\"usage\":{}}"), "hint: overlapping keys");
    ok(hint_same("gggg\"usage\"\t\r\n:\t\r\n{"), "hint: every space");
    ok(hint_same("\"usage\"{\"usage\":[]\"usage\":\"usage\":{"),
       "hint: near misses, then the key");
    ok(hint_same("{\"msg\":\"going \\\"usage\\\":{ gig\",\"usage\":1}"),
       "hint: an escaped key in a string");
    ok(hint_same("{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                 "\"end_turn\"},\"usage\":{\"output_tokens\":15}}"),
       "hint: message_delta");
    ok(hint_same("{\"type\":\"response.completed\",\"response\":{\"id\":"
                 "\"resp_1\",\"usage\":{\"input_tokens\":5}}}"),
       "hint: response.completed");
    ok(hint_same("\"usage\"ggg\"usage\" :  {"), "hint: g runs");
    ok(hint_same("data: {\"a\":1}\n\ndata: {\"usage\":null}\n\ndata: "
                 "{\"usage\":{\"x\":1}}\n\ndata: {\"usage\"\n\n: {\n\n"),
       "hint: a stream buffer, the key first in the third event");
}


/*
 * The plain definition: where "usage", blanks, ':', blanks, '{' first
 * begins, or len.
 */
static size_t
hint_ref(const uint8_t *p, size_t len)
{
    size_t  i, j;

    for (i = 0; i + 7 <= len; i++) {
        if (memcmp(p + i, "\"usage\"", 7) != 0) {
            continue;
        }

        for (j = i + 7; j < len && strchr(" \t\r\n", p[j]) && p[j]; j++) {
            /* void */
        }

        if (j >= len || p[j] != ':') {
            continue;
        }

        for (j++; j < len && strchr(" \t\r\n", p[j]) && p[j]; j++) {
            /* void */
        }

        if (j < len && p[j] == '{') {
            return i;
        }
    }

    return len;
}


/* the hint and the search agree with the definition on every slice */
static int
hint_same(const char *text)
{
    int             good;
    size_t          i, j, len;
    const uint8_t  *p;

    p = (const uint8_t *) text;
    len = strlen(text);
    good = 1;

    for (i = 0; i <= len; i++) {
        for (j = i; j <= len; j++) {
            if (sluice_usage_hint(p + i, j - i)
                != (hint_ref(p + i, j - i) < j - i)
                || sluice_usage_hint_find(p + i, j - i)
                   != hint_ref(p + i, j - i))
            {
                printf("# hint differs on [%zu, %zu) of %s\n", i, j, text);
                good = 0;
            }
        }
    }

    return good;
}


/* the key at every offset around the 16-byte blocks, near misses not */
static int
hint_offsets(void)
{
    int     good;
    char    buf[128];
    size_t  pad, n;

    good = 1;

    for (pad = 0; pad < 48; pad++) {
        n = (size_t) snprintf(buf, sizeof(buf),
                              "{\"x\":\"%.*s\",\"usage\":{\"a\":1}}",
                              (int) pad,
                              "\"u\"u\"us\"usa\"usag\"usagex\"uu\"usage"
                              "\"usa\"us\"u\"u\"us\"usa\"usag");
        good &= sluice_usage_hint((const uint8_t *) buf, n) == 1;

        n = (size_t) snprintf(buf, sizeof(buf),
                              "{\"x\":\"%.*s\",\"usagf\":{\"a\":1}}",
                              (int) pad, "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
                              "uuuuuuuuuuuuuuuuuuuuuuuuuuuuu");
        good &= sluice_usage_hint((const uint8_t *) buf, n) == 0;

        /* the key cut at every length at the very end */
        n = (size_t) snprintf(buf, sizeof(buf), "%.*s\"usage\":{",
                              (int) pad, "                                  "
                              "                                        ");
        good &= sluice_usage_hint((const uint8_t *) buf, n) == 1;
        good &= sluice_usage_hint((const uint8_t *) buf, n - 1) == 0;
        good &= sluice_usage_hint((const uint8_t *) buf, n - 3) == 0;
    }

    return good;
}


/* 1 when the answer's usage reads as expected; *checked counts usage */
static int
check_fixture(json_t *mock, int *checked)
{
    int              rc;
    merge_t          m;
    const char      *raw, *kind;
    sluice_usage_t   u;

    raw = json_string_value(json_object_get(mock, "raw"));
    kind = json_string_value(json_object_get(mock, "kind"));

    if (raw == NULL || kind == NULL || strstr(raw, "\"usage\":{") == NULL) {
        return 1;
    }

    (*checked)++;

    if (strcmp(kind, "sse") == 0) {
        rc = merge_stream(raw, &m);
        return rc == SLUICE_SSE_OK && m.found > 0 && m.missed == 0
               && m.usage.in >= 0 && m.usage.out >= 0;
    }

    sluice_usage_init(&u);
    rc = parse(raw, &u, NULL);

    return rc == SLUICE_USAGE_FOUND && u.in >= 0 && u.out >= 0;
}


static void
test_fixtures(const char *dir)
{
    int             bad, checked;
    char            path[1024];
    size_t          k, reqs;
    DIR            *d;
    json_t         *fx, *req;
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        ok(1, "# SKIP no fixtures directory");
        return;
    }

    bad = checked = 0;

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

            if (!check_fixture(json_object_get(req, "mock_response"),
                               &checked))
            {
                printf("# usage not read from %s #%zu\n", de->d_name, k);
                bad++;
            }
        }

        json_decref(fx);
    }

    closedir(d);

    printf("# %d captured answers with usage\n", checked);
    ok(checked > 0 && bad == 0, "captured answers: usage read from each");
}


int
main(int argc, char **argv)
{
    test_shapes();
    test_streams();
    test_hint();
    test_tail();
    test_fixtures(argc > 1 ? argv[1] : "../shared/clients/fixtures");

    return tap_done();
}
