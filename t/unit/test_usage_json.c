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
static int fast_check(const char *obj, int fast, const sluice_usage_t *want);
static int same_usage(const sluice_usage_t *a, const sluice_usage_t *b);
static void test_fast(void);
static void test_cuts(void);



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

/*
 * The fast reader against the generic one: the usage object OBJ read as
 * a whole answer's (from the tail and skimmed) and as a stream event's
 * must give what the generic reader gives, and that must be want.  The
 * fast reader alone must accept OBJ (to its end) when fast is 1 and
 * decline it when 0, so the shapes that matter stay on the fast path.
 */
static int
fast_check(const char *obj, int fast, const sluice_usage_t *want)
{
    int             good, rc, ref, only, only_ref;
    char           *body;
    size_t          k, n, end;
    sluice_usage_t  u, r;

    static const char  *wraps[] = {
        "{\"id\":\"x\",\"usage\":%s}",
        "{\"usage\":%s,\"service_tier\":\"default\",\"k\":[1,{}]}",
        "{\"type\":\"message_start\",\"message\":{\"usage\":%s}}",
        "{\"choices\":[],\"usage\":%s}",
    };

    good = 1;
    n = strlen(obj) + 128;
    body = malloc(n);

    if (body == NULL) {
        return 0;
    }

    for (k = 0; k < sizeof(wraps) / sizeof(wraps[0]); k++) {
        snprintf(body, n, wraps[k], obj);

        /* the whole answer: from the tail, then skimmed */
        sluice_usage_init(&u);
        sluice_usage_init(&r);
        rc = parse(body, &u, NULL);
        ref = sluice_usage_parse_ref((const uint8_t *) body, strlen(body),
                                     &r, NULL, 1);
        good &= (rc == ref && same_usage(&u, &r) && same_usage(&u, want));

        sluice_usage_init(&u);
        sluice_usage_init(&r);
        rc = sluice_usage_parse_skim((const uint8_t *) body, strlen(body),
                                     &u, NULL);
        ref = sluice_usage_parse_ref((const uint8_t *) body, strlen(body),
                                     &r, NULL, 0);
        good &= (rc == ref && same_usage(&u, &r) && same_usage(&u, want));

        /* a stream event: validated, then read */
        sluice_usage_init(&u);
        sluice_usage_init(&r);
        rc = parse(body, &u, &only);
        ref = sluice_usage_parse_ref((const uint8_t *) body, strlen(body),
                                     &r, &only_ref, 0);
        good &= (rc == ref && only == only_ref && same_usage(&u, &r));
    }

    free(body);

    sluice_usage_init(&u);
    end = sluice_usage_object((const uint8_t *) obj, strlen(obj), &u);

    if (fast) {
        good &= (end == strlen(obj) && same_usage(&u, want));

    } else {
        sluice_usage_init(&r);
        good &= (end == 0 && same_usage(&u, &r));
    }

    if (!good) {
        printf("# fast reader: %s\n", obj);
    }

    return good;
}


static int
same_usage(const sluice_usage_t *a, const sluice_usage_t *b)
{
    return a->in == b->in && a->out == b->out && a->cached == b->cached
           && a->reasoning == b->reasoning;
}


/*
 * Every usage field by name, details objects, values of every kind
 * among them, blanks, numbers in every spelling, repeated keys and keys
 * with escapes (the fast reader declines, the generic one decides), and
 * the three dialects' real usage objects.
 */
static void
test_fast(void)
{
    size_t          i;
    char            name[160];
    sluice_usage_t  want;

    static const struct {
        const char  *obj;
        int          fast;
        int64_t      in, out, cached, reasoning;
        const char  *name;
    } cases[] = {
        { "{\"prompt_tokens\":5}", 1, 5, -1, -1, -1, "prompt_tokens" },
        { "{\"input_tokens\":6}", 1, 6, -1, -1, -1, "input_tokens" },
        { "{\"completion_tokens\":7}", 1, -1, 7, -1, -1,
          "completion_tokens" },
        { "{\"output_tokens\":8}", 1, -1, 8, -1, -1, "output_tokens" },
        { "{\"prompt_tokens_details\":{\"cached_tokens\":3}}", 1,
          -1, -1, 3, -1, "prompt_tokens_details.cached_tokens" },
        { "{\"input_tokens_details\":{\"cached_tokens\":4}}", 1,
          -1, -1, 4, -1, "input_tokens_details.cached_tokens" },
        { "{\"cache_read_input_tokens\":9}", 1, -1, -1, 9, -1,
          "cache_read_input_tokens" },
        { "{\"cache_creation_input_tokens\":9}", 1, -1, -1, -1, -1,
          "cache_creation_input_tokens alone counts nothing" },
        { "{\"input_tokens\":1,\"cache_creation_input_tokens\":9}", 1,
          10, -1, -1, -1, "cache_creation_input_tokens added to input" },
        { "{\"completion_tokens_details\":{\"reasoning_tokens\":2}}", 1,
          -1, -1, -1, 2, "completion_tokens_details.reasoning_tokens" },
        { "{\"output_tokens_details\":{\"reasoning_tokens\":5}}", 1,
          -1, -1, -1, 5, "output_tokens_details.reasoning_tokens" },
        { "{}", 1, -1, -1, -1, -1, "empty" },
        { " { } ", 0, -1, -1, -1, -1, "blanks around (the object's own)" },

        /* names that are not the fields */
        { "{\"prompt_tokenz\":1,\"Prompt_tokens\":2,\"total_tokens\":3,"
          "\"output_tokenx\":4,\"cached_tokens\":5,\"reasoning_tokens\":6,"
          "\"input_tokens_detailz\":{\"cached_tokens\":7},\"\":8,"
          "\"prompt_tokens_details_\":{\"cached_tokens\":9},"
          "\"cache_read_input_tokenss\":10,\"inputtokens\":11}", 1,
          -1, -1, -1, -1, "near misses of every length" },
        { "{\"output_tokens_details\":{\"cached_tokens\":1},"
          "\"prompt_tokens_details\":{\"reasoning_tokens\":2,"
          "\"cached_tokenz\":3}}", 1, -1, -1, -1, -1,
          "the other details' sub key" },

        /* details objects */
        { "{\"prompt_tokens_details\":{\"audio_tokens\":1,\"x\":{"
          "\"cached_tokens\":8},\"cached_tokens\":2,\"y\":[\"}\"]}}", 1,
          -1, -1, 2, -1, "details: the sub key among others, nested" },
        { "{\"input_tokens_details\":null,\"output_tokens_details\":7,"
          "\"prompt_tokens_details\":[{\"cached_tokens\":1}]}", 1,
          -1, -1, -1, -1, "details that are not objects" },
        { "{\"input_tokens_details\":{},\"output_tokens_details\":{"
          "\"reasoning_tokens\":\"2\"}}", 1, -1, -1, -1, -1,
          "details empty, sub key a string" },
        { "{\"prompt_tokens\":{\"cached_tokens\":1},\"input_tokens\":[2]}",
          1, -1, -1, -1, -1, "counts that are containers" },

        /* values of every kind skipped */
        { "{\"x\":{\"a\":[1,{\"b\":\"}\"}],\"c\":\"\\\"{[\"},\"s\":"
          "\"a\\\\\\\"}b\",\"t\":\"x\\\\\",\"u\":\"\\u0022\",\"v\":[[],[{}]],"
          "\"w\":true,\"y\":false,\"z\":null,\"e\":-1.5e-3,"
          "\"prompt_tokens\":7}", 1, 7, -1, -1, -1,
          "escaped quotes, braces in strings, nesting, literals" },
        { "{\"service_tier\":\"standard\",\"server_tool_use\":"
          "{\"web_search_requests\":0},\"output_tokens\":3}", 1,
          -1, 3, -1, -1, "an unknown object before a count" },

        /* blanks */
        { "{ \n\t\"prompt_tokens\" \r: 12 ,\n \"prompt_tokens_details\" : "
          "{ \"cached_tokens\" :\t3 \n} ,\"completion_tokens\"\n:\n4\n}", 1,
          12, 4, 3, -1, "blanks everywhere" },

        /* numbers */
        { "{\"prompt_tokens\":12.0,\"completion_tokens\":1e2}", 1,
          12, 100, -1, -1, "12.0 and 1e2" },
        { "{\"prompt_tokens\":1E2,\"completion_tokens\":2.5}", 1,
          100, -1, -1, -1, "1E2, 2.5" },
        { "{\"prompt_tokens\":-1,\"completion_tokens\":-0}", 1,
          -1, -1, -1, -1, "-1, -0" },
        { "{\"prompt_tokens\":0,\"completion_tokens\":007}", 1,
          0, 7, -1, -1, "0, leading zeros" },
        { "{\"prompt_tokens\":123456789012345,"
          "\"completion_tokens\":1234567890123456}", 1,
          123456789012345LL, -1, -1, -1, "15 digits, 16 digits" },
        { "{\"prompt_tokens\":00000000000000012,"
          "\"completion_tokens\":99999999999999999999999}", 1,
          12, -1, -1, -1, "17 digits with leading zeros, huge" },
        { "{\"prompt_tokens\":1e400,\"completion_tokens\":9e15}", 1,
          -1, -1, -1, -1, "overflowing reals" },
        { "{\"prompt_tokens\":8.99e15,\"completion_tokens\":"
          "1.000000000000000000000000000000,\"cache_read_input_tokens\":"
          "2.00000000000000000000000000000}", 1,
          8990000000000000LL, -1, 2, -1,
          "near the bound; 32 and 31 bytes long" },
        { "{\"prompt_tokens\":true,\"completion_tokens\":null,"
          "\"input_tokens\":\"7\",\"output_tokens\":false}", 1,
          -1, -1, -1, -1, "literals and strings" },
        { "{\"prompt_tokens\":12 ,\"completion_tokens\":3\n}", 1,
          12, 3, -1, -1, "numbers before blanks" },

        /* keys repeated: the generic reader takes no count */
        { "{\"prompt_tokens\":1,\"prompt_tokens\":2}", 0,
          -1, -1, -1, -1, "a count's key twice" },
        { "{\"output_tokens\":1,\"input_tokens\":4,\"output_tokens\":2}",
          0, -1, -1, -1, -1, "a count's key twice, apart" },
        { "{\"x\":1,\"x\":2,\"prompt_tokens\":3}", 1, 3, -1, -1, -1,
          "another key twice" },
        { "{\"prompt_tokens_details\":{\"cached_tokens\":1,"
          "\"cached_tokens\":2},\"prompt_tokens\":3}", 0, 3, -1, -1, -1,
          "a details' sub key twice" },
        { "{\"input_tokens_details\":{\"cached_tokens\":1},"
          "\"input_tokens_details\":null}", 0, -1, -1, -1, -1,
          "a details key twice" },

        /* keys with escapes: the generic reader decodes them */
        { "{\"prompt\\u005ftokens\":5}", 0, 5, -1, -1, -1,
          "an escaped count's key" },
        { "{\"a\\\"b\":1,\"prompt_tokens\":2}", 0, 2, -1, -1, -1,
          "an escaped other key" },
        { "{\"prompt_tokens_details\":{\"cached\\u005Ftokens\":6}}", 0,
          -1, -1, 6, -1, "an escaped sub key" },

        /* the three dialects */
        { "{\"prompt_tokens\":19,\"completion_tokens\":10,"
          "\"total_tokens\":29,\"prompt_tokens_details\":"
          "{\"cached_tokens\":4,\"audio_tokens\":0},"
          "\"completion_tokens_details\":{\"reasoning_tokens\":3,"
          "\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
          "\"rejected_prediction_tokens\":0}}", 1, 19, 10, 4, 3,
          "chat completions" },
        { "{\"input_tokens\":159,\"input_tokens_details\":"
          "{\"cached_tokens\":128},\"output_tokens\":10,"
          "\"output_tokens_details\":{\"reasoning_tokens\":6},"
          "\"total_tokens\":169}", 1, 159, 10, 128, 6, "responses" },
        { "{\"input_tokens\":11,\"cache_creation_input_tokens\":20,"
          "\"cache_read_input_tokens\":30,\"cache_creation\":"
          "{\"ephemeral_5m_input_tokens\":20,"
          "\"ephemeral_1h_input_tokens\":0},\"output_tokens\":1,"
          "\"service_tier\":\"standard\"}", 1, 61, 1, 30, -1,
          "messages" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        want.in = cases[i].in;
        want.out = cases[i].out;
        want.cached = cases[i].cached;
        want.reasoning = cases[i].reasoning;

        snprintf(name, sizeof(name), "fast reader: %s", cases[i].name);
        ok(fast_check(cases[i].obj, cases[i].fast, &want), name);
    }
}


/*
 * Answers and events cut at every length, each in a buffer of exactly
 * that size (so a sanitizer sees a read past it): the fast reader and
 * the generic one agree on every cut; the object reader declines or
 * stays inside.
 */
static void
test_cuts(void)
{
    int             good, rc, ref, only, only_ref;
    size_t          i, k, n, end;
    uint8_t        *p;
    sluice_usage_t  u, r;

    static const char  *texts[] = {
        "{\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\""
        ":19,\"completion_tokens\":10,\"total_tokens\":29,"
        "\"prompt_tokens_details\":{\"cached_tokens\":4,\"audio_tokens\":0}"
        ",\"completion_tokens_details\":{\"reasoning_tokens\":3}},"
        "\"service_tier\":\"default\"}",
        "{\"object\":\"response\",\"usage\":{\"input_tokens\":159,"
        "\"input_tokens_details\":{\"cached_tokens\":128},"
        "\"output_tokens\":1e1,\"output_tokens_details\":"
        "{\"reasoning_tokens\":6},\"total_tokens\":169},\"user\":null}",
        "{\"type\":\"message\",\"usage\":{ \"input_tokens\" : 11 ,"
        "\"cache_read_input_tokens\":30,\"cache_creation\":{\"a\":[\"}\\\"\""
        ",{}]},\"s\":\"x\\\\\",\"output_tokens\":1}}\n",
    };

    good = 1;

    for (k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
        for (n = 0; n <= strlen(texts[k]); n++) {
            p = malloc(n ? n : 1);
            if (p == NULL) {
                good = 0;
                break;
            }

            memcpy(p, texts[k], n);

            sluice_usage_init(&u);
            sluice_usage_init(&r);
            rc = sluice_usage_parse(p, n, &u, NULL);
            ref = sluice_usage_parse_ref(p, n, &r, NULL, 1);
            good &= (rc == ref && same_usage(&u, &r));

            sluice_usage_init(&u);
            sluice_usage_init(&r);
            rc = sluice_usage_parse(p, n, &u, &only);
            ref = sluice_usage_parse_ref(p, n, &r, &only_ref, 0);
            good &= (rc == ref && only == only_ref && same_usage(&u, &r));

            /* the usage object alone, cut */
            for (i = 0; i < n && p[i] != '{'; i++) {
                /* void */
            }

            i = (i < n) ? i + 1 : n;
            while (i < n && memcmp(texts[k] + i, "{\"", 2) != 0) {
                i++;
            }

            sluice_usage_init(&u);
            end = sluice_usage_object(p + i, n - i, &u);
            good &= (end <= n - i);

            if (!good) {
                printf("# cut %zu of text %zu\n", n, k);
                free(p);
                break;
            }

            free(p);
        }
    }

    ok(good, "fast reader: every cut of three answers");
}


int
main(int argc, char **argv)
{
    test_shapes();
    test_streams();
    test_hint();
    test_tail();
    test_fast();
    test_cuts();
    test_fixtures(argc > 1 ? argv[1] : "../shared/clients/fixtures");

    return tap_done();
}
