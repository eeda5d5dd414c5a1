/*
 * Unit tests (TAP) for sluice_xlate: the golden corpus under t/xlate
 * (requests, answers, streams; streams re-fed cut at every byte and at
 * random), protocol checks of every stream a caller gets, the captured
 * client fixtures through every direction, and the limits.
 *
 * SLUICE_XLATE_BLESS=1 rewrites the expected outputs (review the diff).
 */

#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "sluice_xlate.h"


#define GOLDEN_DIR  "t/xlate"
#define MODEL       "upstream-model"


typedef struct {
    sluice_buf_t     out;
    int              frames;
    int              bad;       /* an emit call that was not one frame */
    int              fail_at;   /* make the nth emit call fail (1-based) */
} sink_t;


typedef struct {
    sluice_buf_t     out;
    int              state;
    int              rc;
    sluice_usage_t   usage;
} run_t;


static void ok(int cond, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *read_file(const char *path, size_t *len);
static int dialect(const char *s, size_t n);
static int parse_case(const char *name, int *from, int *to);
static int is_generated(const char *s);
static void normalise(json_t *v);
static int match(json_t *want, json_t *got, char *path, size_t size);
static int emit(void *data, const char *p, size_t len);
static json_t *frames(const char *p, size_t len);
static void run_stream(int from, int to, unsigned flags, const char *text,
    size_t len, const size_t *cuts, size_t ncuts, run_t *r);
static json_t *usage_json(const sluice_usage_t *u);
static json_t *stream_result(run_t *r);
static const char *check_stream(int to, json_t *fr, int usage, int state);
static const char *check_messages(json_t *fr, int state);
static const char *check_chat(json_t *fr, int usage, int state);
static const char *check_chat_chunk(json_t *d, int *tools, int *finish,
    int *n);
static const char *check_responses(json_t *fr, int state);
static const char *check_responses_event(json_t *d, const char *type,
    json_t *open, int *items);
static json_t *golden_request(const char *text, size_t len, int from,
    int to, json_t *opt);
static json_t *golden_response(const char *text, size_t len, int from,
    int to, json_t *opt);
static json_t *golden_stream(const char *text, size_t len, int from,
    int to, json_t *opt, const char *name);
static char *canon_raw(run_t *r);
static int same_cut_anywhere(const char *text, size_t len, int from,
    int to, unsigned flags, int every);
static void test_golden(const char *kind);
static sluice_xlate_names_t *case_request_names(json_t *opt, int upstream,
    int caller, const char *path);
static void test_fixtures(const char *dir);
static void test_fixture(const char *path);
static void fixture_request(const char *name, int from, json_t *body);
static int tool_names_ok(json_t *o, int to);
static json_t *offered_tools(json_t *body);
static void offered_tool(json_t *list, json_t *ns, json_t *t);
static void fixture_roundtrip(const char *name, json_t *body, json_t *o,
    int to, const sluice_xlate_names_t *names);
static void fixture_stream(const char *name, int from, const char *raw);
static void fixture_answer(const char *name, int from, const char *raw);
static void test_limits(void);
static void test_abort_ping(void);
static void test_names(void);
static int names_request(int from, int to, const char *body, int *status,
    sluice_xlate_names_t **names, json_t **out);
static void test_names_stream(void);
static void test_bad_bodies(void);


static int  test_n;
static int  test_failed;
static int  bless;
static int  quick;      /* SLUICE_XLATE_QUICK: fewer cuts (for valgrind) */

/* the names of the golden case's request (opt "request"), or NULL */
static sluice_xlate_names_t  *case_names;


static void
ok(int cond, const char *fmt, ...)
{
    va_list  args;

    test_n++;

    if (!cond) {
        test_failed++;
    }

    printf("%sok %d - ", cond ? "" : "not ", test_n);
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf("\n");
}


static char *
read_file(const char *path, size_t *len)
{
    FILE    *f;
    char    *p;
    long     n;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    p = malloc(n + 1);
    if (p == NULL || fread(p, 1, n, f) != (size_t) n) {
        free(p);
        fclose(f);
        return NULL;
    }

    p[n] = '\0';
    *len = n;
    fclose(f);

    return p;
}


static int
dialect(const char *s, size_t n)
{
    if (n == 4 && strncmp(s, "chat", 4) == 0) {
        return SLUICE_XLATE_CHAT;
    }

    if (n == 9 && strncmp(s, "responses", 9) == 0) {
        return SLUICE_XLATE_RESPONSES;
    }

    if (n == 8 && strncmp(s, "messages", 8) == 0) {
        return SLUICE_XLATE_MESSAGES;
    }

    return -1;
}


/* "<from>-<to>.<case>.in.<ext>" */
static int
parse_case(const char *name, int *from, int *to)
{
    const char  *dash, *dot;

    dash = strchr(name, '-');
    dot = strchr(name, '.');

    if (dash == NULL || dot == NULL || dash > dot) {
        return -1;
    }

    *from = dialect(name, dash - name);
    *to = dialect(dash + 1, dot - dash - 1);

    return (*from < 0 || *to < 0) ? -1 : 0;
}


/* ids we made up: a known prefix and 24 hex digits */
static int
is_generated(const char *s)
{
    static const char  *prefixes[] = {
        "chatcmpl-", "resp_", "msg_", "rs_", "fc_", "ctc_", "call_",
        "toolu_", NULL
    };

    size_t        n, i;
    const char  **p;

    for (p = prefixes; *p; p++) {
        n = strlen(*p);

        if (strncmp(s, *p, n) != 0 || strlen(s) != n + 24) {
            continue;
        }

        for (i = n; s[i]; i++) {
            if (!isxdigit((unsigned char) s[i])) {
                return 0;
            }
        }

        return 1;
    }

    return 0;
}


/* generated ids and timestamps become "*" */
static void
normalise(json_t *v)
{
    size_t       i;
    json_t      *e;
    const char  *k;
    void        *tmp;

    if (json_is_object(v)) {
        json_object_foreach_safe(v, tmp, k, e) {
            if ((strcmp(k, "created") == 0 || strcmp(k, "created_at") == 0)
                && json_is_integer(e))
            {
                json_object_set_new(v, k, json_string("*"));

            } else if (json_is_string(e)
                       && is_generated(json_string_value(e)))
            {
                json_object_set_new(v, k, json_string("*"));

            } else {
                normalise(e);
            }
        }

    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            if (json_is_string(e) && is_generated(json_string_value(e))) {
                json_array_set_new(v, i, json_string("*"));

            } else {
                normalise(e);
            }
        }
    }
}


/* want may hold "*" for any non-null value; 1 when got matches */
static int
match(json_t *want, json_t *got, char *path, size_t size)
{
    size_t       i, n;
    json_t      *w;
    const char  *k;

    if (json_is_string(want) && strcmp(json_string_value(want), "*") == 0) {
        return got != NULL && !json_is_null(got);
    }

    if (json_is_number(want) && json_is_number(got)) {
        return json_number_value(want) == json_number_value(got);
    }

    if (got == NULL || json_typeof(want) != json_typeof(got)) {
        return 0;
    }

    n = strlen(path);

    if (json_is_object(want)) {
        if (json_object_size(want) != json_object_size(got)) {
            snprintf(path + n, size - n, " (keys differ)");
            return 0;
        }

        json_object_foreach(want, k, w) {
            snprintf(path + n, size - n, ".%s", k);

            if (!match(w, json_object_get(got, k), path, size)) {
                return 0;
            }
        }

        path[n] = '\0';
        return 1;
    }

    if (json_is_array(want)) {
        if (json_array_size(want) != json_array_size(got)) {
            snprintf(path + n, size - n, " (lengths differ)");
            return 0;
        }

        json_array_foreach(want, i, w) {
            snprintf(path + n, size - n, "[%zu]", i);

            if (!match(w, json_array_get(got, i), path, size)) {
                return 0;
            }
        }

        path[n] = '\0';
        return 1;
    }

    return json_equal(want, got);
}


static int
emit(void *data, const char *p, size_t len)
{
    sink_t  *s = data;

    s->frames++;

    if (len < 2 || p[len - 1] != '\n' || p[len - 2] != '\n'
        || memmem(p, len - 2, "\n\n", 2) != NULL)
    {
        s->bad++;
    }

    if (s->fail_at && s->frames == s->fail_at) {
        return -1;
    }

    return sluice_buf_append(&s->out, p, len);
}


/* the caller's frames: {event?, data} or {comment} */
static json_t *
frames(const char *p, size_t len)
{
    json_t      *arr, *f, *d;
    const char  *end, *e, *line, *nl;

    arr = json_array();
    end = p + len;

    while (p && p < end) {
        e = memmem(p, end - p, "\n\n", 2);
        e = e ? e : end;
        f = json_object();

        for (line = p; line < e; line = nl + 1) {
            nl = memchr(line, '\n', e - line);
            nl = nl ? nl : e;

            if (nl - line > 7 && strncmp(line, "event: ", 7) == 0) {
                json_object_set_new(f, "event",
                                    json_stringn(line + 7, nl - line - 7));

            } else if (nl - line >= 6 && strncmp(line, "data: ", 6) == 0) {
                d = json_loadb(line + 6, nl - line - 6, 0, NULL);
                json_object_set_new(f, "data", d ? d
                                    : json_stringn(line + 6,
                                                   nl - line - 6));

            } else if (line[0] == ':') {
                json_object_set_new(f, "comment",
                                    json_stringn(line + 1, nl - line - 1));

            } else {
                json_object_set_new(f, "junk",
                                    json_stringn(line, nl - line));
            }
        }

        json_array_append_new(arr, f);
        p = e + 2;
    }

    return arr;
}


static void
run_stream(int from, int to, unsigned flags, const char *text, size_t len,
    const size_t *cuts, size_t ncuts, run_t *r)
{
    size_t                  i, a, b;
    sink_t                  s;
    sluice_xlate_stream_t  *st;

    memset(&s, 0, sizeof(sink_t));
    sluice_buf_init(&s.out);
    sluice_buf_append(&s.out, "", 0);

    st = sluice_xlate_stream_create_ex(from, to, flags, 0, case_names);
    r->rc = 0;
    a = 0;

    for (i = 0; i <= ncuts; i++) {
        b = i < ncuts ? cuts[i] : len;
        r->rc |= sluice_xlate_stream_feed(st, text + a, b - a, emit, &s);
        a = b;
    }

    r->rc |= sluice_xlate_stream_finish(st, emit, &s);
    r->rc |= s.bad;
    r->state = sluice_xlate_stream_state(st);
    r->usage = *sluice_xlate_stream_usage(st);
    r->out = s.out;

    sluice_xlate_stream_destroy(st);
}


static json_t *
usage_json(const sluice_usage_t *u)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "in", (json_int_t) u->in,
                     "out", (json_int_t) u->out, "cached",
                     (json_int_t) u->cached, "reasoning",
                     (json_int_t) u->reasoning);
}


static json_t *
stream_result(run_t *r)
{
    static const char  *states[] = { "running", "done", "failed" };

    json_t  *res;

    res = json_pack("{s:o, s:s, s:o, s:i}", "frames",
                    frames(r->out.data, r->out.len), "state",
                    states[r->state], "usage", usage_json(&r->usage),
                    "rc", r->rc);
    normalise(res);

    return res;
}


static const char *
check_stream(int to, json_t *fr, int usage, int state)
{
    if (to == SLUICE_XLATE_MESSAGES) {
        return check_messages(fr, state);
    }

    if (to == SLUICE_XLATE_CHAT) {
        return check_chat(fr, usage, state);
    }

    return check_responses(fr, state);
}


/* every frame named, blocks balanced, usage.output_tokens, the end */
static const char *
check_messages(json_t *fr, int state)
{
    static const char  *deltas[] = {
        "text:text_delta", "tool_use:input_json_delta",
        "thinking:thinking_delta", "thinking:signature_delta", NULL
    };

    int           open, next, first;
    char          pair[64];
    size_t        i;
    json_t       *f, *d;
    const char   *ev, *type, *last, *btype, **dp;

    open = -1;
    next = 0;
    first = 1;
    last = NULL;
    btype = "";

    json_array_foreach(fr, i, f) {
        if (json_object_get(f, "comment")) {
            continue;
        }

        ev = json_string_value(json_object_get(f, "event"));
        d = json_object_get(f, "data");
        type = json_string_value(json_object_get(d, "type"));

        if (ev == NULL || type == NULL || strcmp(ev, type) != 0) {
            return "a frame without a matching event line";
        }

        if (first && strcmp(type, "message_start") != 0
            && strcmp(type, "error") != 0)
        {
            return "message_start is not first";
        }

        first = 0;
        last = type;

        if (strcmp(type, "content_block_start") == 0) {
            if (open >= 0 || json_integer_value(json_object_get(d, "index"))
                             != next)
            {
                return "content_block_start out of order";
            }

            open = next++;
            btype = json_string_value(json_object_get(
                        json_object_get(d, "content_block"), "type"));

        } else if (strcmp(type, "content_block_delta") == 0) {
            if (json_integer_value(json_object_get(d, "index")) != open) {
                return "a delta for a block that is not open";
            }

            snprintf(pair, sizeof(pair), "%s:%s", btype,
                     json_string_value(json_object_get(
                         json_object_get(d, "delta"), "type")));

            for (dp = deltas; *dp && strcmp(*dp, pair) != 0; dp++) {
                /* void */
            }

            if (*dp == NULL) {
                return "a delta of the wrong type for its block";
            }

        } else if (strcmp(type, "content_block_stop") == 0) {
            if (json_integer_value(json_object_get(d, "index")) != open) {
                return "content_block_stop for a block that is not open";
            }

            open = -1;

        } else if (strcmp(type, "message_delta") == 0) {
            if (open >= 0 || !json_is_integer(json_object_get(
                    json_object_get(d, "usage"), "output_tokens")))
            {
                return "message_delta without usage.output_tokens";
            }
        }
    }

    if (last == NULL) {
        return "no frames";
    }

    if (state == SLUICE_XLATE_DONE) {
        return strcmp(last, "message_stop") == 0 ? NULL
                                                 : "no message_stop at end";
    }

    return strcmp(last, "error") == 0 ? NULL : "no error event at end";
}


static const char *
check_chat(json_t *fr, int usage, int state)
{
    int           tools, finish, n, usage_chunks, done;
    size_t        i;
    json_t       *f, *d, *choices;
    const char   *why;

    tools = 0;
    finish = 0;
    n = 0;
    usage_chunks = 0;
    done = 0;

    json_array_foreach(fr, i, f) {
        if (json_object_get(f, "comment")) {
            continue;
        }

        d = json_object_get(f, "data");

        if (json_object_get(f, "event") || done) {
            return "an event line, or a frame after [DONE]";
        }

        if (json_is_string(d)) {
            if (strcmp(json_string_value(d), "[DONE]") != 0) {
                return "data that is not JSON";
            }

            done = 1;
            continue;
        }

        if (json_is_object(json_object_get(d, "error"))) {
            return i + 1 == json_array_size(fr) ? NULL
                                                : "frames after an error";
        }

        choices = json_object_get(d, "choices");

        if (json_array_size(choices) == 0 && json_is_array(choices)) {
            if (!usage || !finish || !json_object_get(d, "usage")) {
                return "a usage chunk nobody asked for, or too early";
            }

            usage_chunks++;
            continue;
        }

        why = check_chat_chunk(d, &tools, &finish, &n);
        if (why) {
            return why;
        }
    }

    if (state != SLUICE_XLATE_DONE) {
        return "a failed stream without an error object";
    }

    if (!done || finish != 1 || usage_chunks != (usage ? 1 : 0)) {
        return "no [DONE], not one finish_reason, or usage chunk count";
    }

    return NULL;
}


static const char *
check_chat_chunk(json_t *d, int *tools, int *finish, int *n)
{
    size_t        i;
    json_t       *c, *delta, *call, *fn;
    const char   *obj;

    obj = json_string_value(json_object_get(d, "object"));
    c = json_array_get(json_object_get(d, "choices"), 0);
    delta = json_object_get(c, "delta");

    if (obj == NULL || strcmp(obj, "chat.completion.chunk") != 0
        || !json_is_object(delta) || *finish)
    {
        return "not a chunk with a delta, or a chunk after finish_reason";
    }

    if ((*n)++ == 0 && !json_is_string(json_object_get(delta, "role"))) {
        return "the first delta has no role";
    }

    if (json_is_string(json_object_get(c, "finish_reason"))) {
        (*finish)++;
    }

    json_array_foreach(json_object_get(delta, "tool_calls"), i, call) {
        fn = json_object_get(call, "function");

        if (json_integer_value(json_object_get(call, "index")) == *tools) {
            if (!json_is_string(json_object_get(call, "id"))
                || !json_is_string(json_object_get(call, "type"))
                || !json_is_string(json_object_get(fn, "name")))
            {
                return "a first tool-call delta without id, type, name";
            }

            (*tools)++;

        } else if (json_integer_value(json_object_get(call, "index"))
                       != *tools - 1
                   || json_object_get(call, "id")
                   || json_object_get(fn, "name")
                   || !json_is_string(json_object_get(fn, "arguments")))
        {
            return "a later tool-call delta that is not arguments only";
        }
    }

    return NULL;
}


/* created first, items announced and done, sequence, the end */
static const char *
check_responses(json_t *fr, int state)
{
    int           items;
    size_t        i;
    json_t       *f, *d, *open, *r;
    json_int_t    seq;
    const char   *ev, *type, *why, *id, *last;

    seq = -1;
    items = 0;
    id = NULL;
    last = NULL;
    open = json_object();
    why = NULL;

    json_array_foreach(fr, i, f) {
        if (json_object_get(f, "comment")) {
            continue;
        }

        ev = json_string_value(json_object_get(f, "event"));
        d = json_object_get(f, "data");
        type = json_string_value(json_object_get(d, "type"));

        if (ev == NULL || type == NULL || strcmp(ev, type) != 0
            || json_integer_value(json_object_get(d, "sequence_number"))
               != seq + 1)
        {
            why = "an unnamed frame or a sequence_number out of order";
            break;
        }

        seq++;
        last = type;

        if (seq == 0) {
            r = json_object_get(d, "response");
            id = json_string_value(json_object_get(r, "id"));

            if (strcmp(type, "response.created") != 0 || id == NULL) {
                why = "response.created is not first";
                break;
            }

            continue;
        }

        why = check_responses_event(d, type, open, &items);
        if (why) {
            break;
        }

        r = json_object_get(d, "response");

        if (r && (json_string_value(json_object_get(r, "id")) == NULL
                  || strcmp(json_string_value(json_object_get(r, "id")), id)
                     != 0))
        {
            why = "a response object with another id";
            break;
        }
    }

    /* a failed stream leaves a cut tool call open, and only that */
    json_object_foreach(open, type, f) {
        if (why == NULL && (state == SLUICE_XLATE_DONE
                            || (strcmp(json_string_value(f), "function_call")
                                != 0
                                && strcmp(json_string_value(f),
                                          "custom_tool_call") != 0)))
        {
            why = "an item without response.output_item.done";
        }
    }

    if (why == NULL && (last == NULL
        || (state == SLUICE_XLATE_DONE
            && strcmp(last, "response.completed") != 0
            && strcmp(last, "response.incomplete") != 0)
        || (state != SLUICE_XLATE_DONE
            && strcmp(last, "response.failed") != 0)))
    {
        why = "the stream does not end as it should";
    }

    json_decref(open);

    return why;
}


static const char *
check_responses_event(json_t *d, const char *type, json_t *open,
    int *items)
{
    static const char  *known[] = {
        "response.in_progress", "response.content_part.added",
        "response.reasoning_summary_part.added",
        "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done", "error",
        NULL
    };

    json_t       *item, *r;
    const char   *id, **k;

    item = json_object_get(d, "item");
    id = json_string_value(json_object_get(item, "id"));

    if (strcmp(type, "response.output_item.added") == 0) {
        if (id == NULL || json_integer_value(json_object_get(d,
                              "output_index")) != (*items)++)
        {
            return "output_item.added out of order";
        }

        json_object_set(open, id, json_object_get(item, "type"));
        return NULL;
    }

    if (strcmp(type, "response.output_item.done") == 0) {
        if (id == NULL || json_object_get(open, id) == NULL) {
            return "output_item.done for an item never added";
        }

        json_object_del(open, id);
        return NULL;
    }

    if (strcmp(type, "response.completed") == 0
        || strcmp(type, "response.incomplete") == 0
        || strcmp(type, "response.failed") == 0)
    {
        r = json_object_get(d, "response");

        if ((int) json_array_size(json_object_get(r, "output"))
               != *items - (int) json_object_size(open)
            || !json_is_object(json_object_get(r, "usage")))
        {
            return "the final response lacks its items or usage";
        }

        return NULL;
    }

    for (k = known; *k && strcmp(*k, type) != 0; k++) {
        /* void */
    }

    if (*k == NULL) {
        return "an event type the spec does not have";
    }

    id = json_string_value(json_object_get(d, "item_id"));

    if (strcmp(type, "error") != 0 && strcmp(type, "response.in_progress") != 0
        && (id == NULL || json_object_get(open, id) == NULL))
    {
        return "an item event before output_item.added or after done";
    }

    return NULL;
}


static json_t *
golden_request(const char *text, size_t len, int from, int to, json_t *opt)
{
    int                  rc;
    size_t               i;
    json_t              *res, *f;
    unsigned             flags;
    sluice_buf_t         out;
    sluice_xlate_err_t   err;

    flags = 0;

    json_array_foreach(json_object_get(opt, "flags"), i, f) {
        if (strcmp(json_string_value(f), "no_reasoning") == 0) {
            flags |= SLUICE_XLATE_NO_REASONING;
        }
    }

    sluice_buf_init(&out);
    rc = sluice_xlate_request_flags(from, to, flags, text, len, MODEL, &out,
                                    &err);

    if (rc == SLUICE_XLATE_OK) {
        res = json_loadb(out.data, out.len, 0, NULL);

    } else {
        res = json_pack("{s:{s:i, s:s, s:s}}", "error", "status", err.status,
                        "code", err.code, "message", err.message);
    }

    sluice_buf_free(&out);

    return res ? res : json_string("invalid JSON out");
}


static json_t *
golden_response(const char *text, size_t len, int from, int to, json_t *opt)
{
    int                  rc, status;
    json_t              *res, *body;
    sluice_buf_t         out;
    sluice_usage_t       u;
    sluice_xlate_err_t   err;

    status = json_is_integer(json_object_get(opt, "status"))
             ? (int) json_integer_value(json_object_get(opt, "status"))
             : 200;

    sluice_buf_init(&out);
    rc = sluice_xlate_response_ex(from, to, status, text, len, case_names,
                                  &out, &u, &err);

    if (rc != SLUICE_XLATE_ERROR) {
        body = json_loadb(out.data, out.len, 0, NULL);
        res = json_pack("{s:o, s:o}", "body",
                        body ? body : json_string("invalid JSON out"),
                        "usage", usage_json(&u));

        if (rc == SLUICE_XLATE_ENVELOPE) {
            json_object_set_new(res, "status", json_integer(err.status));
        }

    } else {
        res = json_pack("{s:{s:i, s:s, s:s}}", "error", "status", err.status,
                        "code", err.code, "message", err.message);
    }

    sluice_buf_free(&out);
    normalise(res);

    return res;
}


static json_t *
golden_stream(const char *text, size_t len, int from, int to, json_t *opt,
    const char *name)
{
    int           usage;
    run_t         r;
    json_t       *res, *fr;
    const char   *why;

    usage = json_is_true(json_object_get(opt, "include_usage"));

    run_stream(from, to, usage ? SLUICE_XLATE_INCLUDE_USAGE : 0, text, len,
               NULL, 0, &r);

    fr = frames(r.out.data, r.out.len);
    why = check_stream(to, fr, usage, r.state);
    ok(why == NULL, "%s: the caller's stream keeps the protocol%s%s", name,
       why ? ": " : "", why ? why : "");
    json_decref(fr);

    res = stream_result(&r);

    sluice_buf_free(&r.out);

    return res;
}


/*
 * The caller's bytes with our generated ids and timestamps blanked, and
 * the end state and usage appended: what must not depend on the cuts.
 */
static char *
canon_raw(run_t *r)
{
    static const char  *prefixes[] = {
        "chatcmpl-", "resp_", "msg_", "rs_", "fc_", "ctc_", "call_",
        "toolu_", "\"created\":", "\"created_at\":", NULL
    };

    char          *out, *q;
    size_t         i, n, k;
    const char    *p, **pre;

    p = r->out.data ? r->out.data : "";
    n = r->out.len;
    out = malloc(n + 128);
    q = out;
    k = 0;

    for (i = 0; i < n; ) {
        for (pre = prefixes; *pre; pre++) {
            k = strlen(*pre);

            if (n - i >= k && memcmp(p + i, *pre, k) == 0) {
                break;
            }
        }

        if (*pre == NULL) {
            *q++ = p[i++];
            continue;
        }

        memcpy(q, p + i, k);
        q += k;
        i += k;
        *q++ = '*';

        while (i < n && (isxdigit((unsigned char) p[i]))) {
            i++;
        }
    }

    sprintf(q, "|%d|%d|%lld|%lld|%lld|%lld", r->state, r->rc,
            (long long) r->usage.in, (long long) r->usage.out,
            (long long) r->usage.cached, (long long) r->usage.reasoning);

    return out;
}


/*
 * The caller gets the same bytes (ids and times aside), the same end
 * state and usage for every 2-way cut (every 13th when !every),
 * byte-at-a-time feeding and random cuts, as when fed whole.
 */
static int
same_cut_anywhere(const char *text, size_t len, int from, int to,
    unsigned flags, int every)
{
    int       good, k;
    char     *want, *got;
    size_t    i, n, step, *cuts;
    run_t     r;

    run_stream(from, to, flags, text, len, NULL, 0, &r);
    want = canon_raw(&r);
    sluice_buf_free(&r.out);

    good = 1;
    cuts = malloc((len + 1) * sizeof(size_t));
    step = (every && !quick) ? 1 : quick ? 97 : 13;

    for (i = 0; i <= len && good; i += step) {
        cuts[0] = i;
        run_stream(from, to, flags, text, len, cuts, 1, &r);
        got = canon_raw(&r);
        good = strcmp(want, got) == 0;
        free(got);
        sluice_buf_free(&r.out);
    }

    for (i = 0; i < len; i++) {
        cuts[i] = i + 1;
    }

    for (k = -1; k < (quick ? 3 : 40) && good; k++) {
        n = len ? len - 1 : 0;

        if (k >= 0) {
            for (i = 1, n = 0; i < len; i++) {
                if (rand() % (k % 7 + 2) == 0) {
                    cuts[n++] = i;
                }
            }
        }

        run_stream(from, to, flags, text, len, cuts, n, &r);
        got = canon_raw(&r);
        good = strcmp(want, got) == 0;
        free(got);
        sluice_buf_free(&r.out);
    }

    free(cuts);
    free(want);

    return good;
}


static void
test_golden(const char *kind)
{
    int              from, to, n, i;
    char             dir[256], path[512], outp[512], optp[512], where[512];
    char            *text, *ext;
    size_t           len;
    json_t          *opt, *got, *want;

    len = 0;
    struct dirent  **names;

    snprintf(dir, sizeof(dir), "%s/%s", GOLDEN_DIR, kind);
    n = scandir(dir, &names, NULL, alphasort);

    if (n < 0) {
        ok(0, "%s: no golden directory", dir);
        return;
    }

    for (i = 0; i < n; i++) {
        ext = strstr(names[i]->d_name, ".in.");

        if (ext == NULL || parse_case(names[i]->d_name, &from, &to) != 0) {
            free(names[i]);
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        snprintf(outp, sizeof(outp), "%s/%.*s.out.json", dir,
                 (int) (ext - names[i]->d_name), names[i]->d_name);
        snprintf(optp, sizeof(optp), "%s/%.*s.opt.json", dir,
                 (int) (ext - names[i]->d_name), names[i]->d_name);

        text = read_file(path, &len);
        opt = json_load_file(optp, 0, NULL);
        case_names = case_request_names(opt, from, to, path);

        if (strcmp(kind, "request") == 0) {
            got = golden_request(text, len, from, to, opt);

        } else if (strcmp(kind, "response") == 0) {
            got = golden_response(text, len, from, to, opt);

        } else {
            got = golden_stream(text, len, from, to, opt, path);
        }

        if (bless) {
            json_dump_file(got, outp, JSON_INDENT(1));
        }

        want = json_load_file(outp, 0, NULL);
        where[0] = '\0';

        ok(want && match(want, got, where, sizeof(where)), "%s%s%s", path,
           where[0] ? ": differs at " : "", where);

        if (want && strcmp(kind, "stream") == 0) {
            ok(same_cut_anywhere(text, len, from, to,
                   json_is_true(json_object_get(opt, "include_usage"))
                   ? SLUICE_XLATE_INCLUDE_USAGE : 0, 1),
               "%s: same output cut anywhere", path);
        }

        sluice_xlate_names_free(case_names);
        case_names = NULL;

        json_decref(want);
        json_decref(got);
        json_decref(opt);
        free(text);
        free(names[i]);
    }

    free(names);
}


/*
 * An answer or stream case whose caller offered custom or namespaced
 * tools carries that request in opt "request" (a body in the caller's
 * dialect): translated toward the upstream's, it gives the names.
 */
static sluice_xlate_names_t *
case_request_names(json_t *opt, int upstream, int caller, const char *path)
{
    int                    rc;
    char                  *body;
    sluice_buf_t           out;
    sluice_xlate_err_t     err;
    sluice_xlate_names_t  *names;

    if (!json_is_object(json_object_get(opt, "request"))) {
        return NULL;
    }

    body = json_dumps(json_object_get(opt, "request"), JSON_COMPACT);
    sluice_buf_init(&out);

    rc = sluice_xlate_request_ex(caller, upstream, 0, body, strlen(body),
                                 MODEL, &out, &names, &err);

    ok(rc == SLUICE_XLATE_OK && names != NULL,
       "%s: its request has names to map back", path);

    sluice_buf_free(&out);
    free(body);

    return names;
}


static void
test_fixtures(const char *dir)
{
    int              n, i;
    char             path[1024];
    struct dirent  **names;

    n = scandir(dir, &names, NULL, alphasort);

    if (n < 0) {
        ok(1, "# SKIP no fixtures directory %s", dir);
        return;
    }

    for (i = 0; i < n; i++) {
        if (strstr(names[i]->d_name, ".json") != NULL
            && strcmp(names[i]->d_name, "versions.json") != 0)
        {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            test_fixture(path);
        }

        free(names[i]);
    }

    free(names);
}


static void
test_fixture(const char *path)
{
    int           from;
    size_t        i;
    json_t       *fx, *req, *mock;
    const char   *p, *kind, *raw;

    fx = json_load_file(path, 0, NULL);

    json_array_foreach(json_object_get(fx, "requests"), i, req) {
        p = json_string_value(json_object_get(req, "path"));

        if (p == NULL || strcmp(p, "/v1/messages/count_tokens") == 0) {
            continue;
        }

        from = strcmp(p, "/v1/chat/completions") == 0 ? SLUICE_XLATE_CHAT
               : strcmp(p, "/v1/responses") == 0 ? SLUICE_XLATE_RESPONSES
               : strcmp(p, "/v1/messages") == 0 ? SLUICE_XLATE_MESSAGES : -1;

        if (from < 0 || !json_is_object(json_object_get(req, "body"))) {
            continue;
        }

        fixture_request(path, from, json_object_get(req, "body"));

        mock = json_object_get(req, "mock_response");
        kind = json_string_value(json_object_get(mock, "kind"));
        raw = json_string_value(json_object_get(mock, "raw"));

        if (kind && raw && strcmp(kind, "sse") == 0) {
            fixture_stream(path, from, raw);

        } else if (kind && raw && strcmp(kind, "json") == 0) {
            fixture_answer(path, from, raw);
        }
    }

    json_decref(fx);
}


/*
 * Every other dialect: valid JSON out, or a refusal that names the
 * thing.  Codex must reach chat and messages targets, Claude Code chat
 * and responses targets, without a refusal; tool names must suit every
 * target; and calls of every tool offered come back to a responses
 * caller as calls of the tools it offered.
 */
static void
fixture_request(const char *name, int from, json_t *body)
{
    int                    to, rc, good, must;
    char                  *text;
    json_t                *o;
    const char            *base;
    sluice_buf_t           out;
    sluice_xlate_err_t     err;
    sluice_xlate_names_t  *names;

    text = json_dumps(body, JSON_COMPACT);
    base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;

    for (to = 0; to <= SLUICE_XLATE_MESSAGES; to++) {
        if (to == from) {
            continue;
        }

        must = (strncmp(base, "codex-", 6) == 0
                && to != SLUICE_XLATE_RESPONSES)
               || (strncmp(base, "claude-code-", 12) == 0
                   && to != SLUICE_XLATE_MESSAGES);

        sluice_buf_init(&out);
        rc = sluice_xlate_request_ex(from, to, 0, text, strlen(text), MODEL,
                                     &out, &names, &err);

        if (rc == SLUICE_XLATE_OK) {
            o = json_loadb(out.data, out.len, 0, NULL);
            good = json_is_object(o)
                   && json_is_string(json_object_get(o, "model"))
                   && strcmp(json_string_value(json_object_get(o, "model")),
                             MODEL) == 0;
            good = good && json_is_array(json_object_get(o,
                               to == SLUICE_XLATE_RESPONSES ? "input"
                                                            : "messages"));
            good = good && (to != SLUICE_XLATE_MESSAGES
                            || json_is_integer(json_object_get(o,
                                                   "max_tokens")));
            good = good && tool_names_ok(o, to);

            ok(good, "%s: request %d -> %d gives a valid body", name, from,
               to);

            if (from == SLUICE_XLATE_RESPONSES && good
                && json_array_size(json_object_get(o, "tools")))
            {
                fixture_roundtrip(name, body, o, to, names);
            }

            json_decref(o);

        } else {
            ok(!must && err.status == 400
               && strstr(err.message, "cannot be sent to a") != NULL,
               "%s: request %d -> %d refused by name (%s)%s", name, from, to,
               err.message, must ? ": must not be refused" : "");
        }

        sluice_buf_free(&out);
        sluice_xlate_names_free(names);
    }

    free(text);
}


/* every tool a valid, distinct name for any target */
static int
tool_names_ok(json_t *o, int to)
{
    size_t       i, k, n;
    json_t      *t;
    const char  *nm, *seen[512];

    n = 0;

    json_array_foreach(json_object_get(o, "tools"), i, t) {
        nm = json_string_value(json_object_get(
                 to == SLUICE_XLATE_CHAT ? json_object_get(t, "function")
                                         : t, "name"));

        if (nm == NULL || strlen(nm) == 0 || strlen(nm) > 64
            || strspn(nm, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY"
                          "Z0123456789_-") != strlen(nm) || n == 512)
        {
            return 0;
        }

        for (k = 0; k < n; k++) {
            if (strcmp(seen[k], nm) == 0) {
                return 0;
            }
        }

        seen[n++] = nm;
    }

    return 1;
}


/* the caller's tools in the order they were offered: [[ns|null, name, type]] */
static json_t *
offered_tools(json_t *body)
{
    size_t   i, k, j;
    json_t  *list, *arr[2], *t, *in, *ns;

    list = json_array();
    arr[0] = NULL;
    arr[1] = json_object_get(body, "tools");

    json_array_foreach(json_object_get(body, "input"), i, t) {
        if (json_is_string(json_object_get(t, "type"))
            && strcmp(json_string_value(json_object_get(t, "type")),
                      "additional_tools") == 0)
        {
            arr[0] = json_object_get(t, "tools");
        }
    }

    for (k = 0; k < 2; k++) {
        json_array_foreach(arr[k], i, t) {
            if (strcmp(json_string_value(json_object_get(t, "type")),
                       "namespace") != 0)
            {
                offered_tool(list, NULL, t);
                continue;
            }

            ns = json_object_get(t, "name");

            json_array_foreach(json_object_get(t, "tools"), j, in) {
                offered_tool(list, json_string_length(ns) ? ns : NULL, in);
            }
        }
    }

    return list;
}


static void
offered_tool(json_t *list, json_t *ns, json_t *t)
{
    const char  *type;

    type = json_string_value(json_object_get(t, "type"));

    if (strcmp(type, "function") == 0 || strcmp(type, "custom") == 0) {
        json_array_append_new(list, json_pack("[O?, O, s]", ns,
                              json_object_get(t, "name"), type));
    }
}


/*
 * The target calls every tool of the translated body o (in order) with
 * {"input": "x"}; the responses caller must get calls of its own tools.
 */
static void
fixture_roundtrip(const char *name, json_t *body, json_t *o, int to,
    const sluice_xlate_names_t *names)
{
    int                  rc, good;
    char                *ans;
    size_t               i;
    json_t              *calls, *t, *r, *want, *items, *item, *w;
    const char          *nm, *type;
    sluice_buf_t         out;
    sluice_xlate_err_t   err;

    calls = json_array();

    json_array_foreach(json_object_get(o, "tools"), i, t) {
        nm = json_string_value(json_object_get(
                 to == SLUICE_XLATE_CHAT ? json_object_get(t, "function")
                                         : t, "name"));
        json_array_append_new(calls, to == SLUICE_XLATE_CHAT
            ? json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", "call_1", "type",
                        "function", "function", "name", nm, "arguments",
                        "{\"input\":\"x\"}")
            : json_pack("{s:s, s:s, s:s, s:{s:s}}", "type", "tool_use", "id",
                        "toolu_1", "name", nm, "input", "input", "x"));
    }

    r = to == SLUICE_XLATE_CHAT
        ? json_pack("{s:s, s:[{s:i, s:{s:s, s:n, s:o}, s:s}], s:{s:i, s:i}}",
                    "id", "c", "choices", "index", 0, "message", "role",
                    "assistant", "content", "tool_calls", calls,
                    "finish_reason", "tool_calls", "usage", "prompt_tokens",
                    1, "completion_tokens", 1)
        : json_pack("{s:s, s:s, s:s, s:o, s:s, s:{s:i, s:i}}", "type",
                    "message", "id", "m", "role", "assistant", "content",
                    calls, "stop_reason", "tool_use", "usage",
                    "input_tokens", 1, "output_tokens", 1);

    ans = json_dumps(r, JSON_COMPACT);
    sluice_buf_init(&out);

    rc = sluice_xlate_response_ex(to, SLUICE_XLATE_RESPONSES, 200, ans,
                                  strlen(ans), names, &out, NULL, &err);

    want = offered_tools(body);
    items = rc == SLUICE_XLATE_OK
            ? json_loadb(out.data, out.len, 0, NULL) : NULL;
    good = json_array_size(want) > 0
           && json_array_size(want)
              == json_array_size(json_object_get(items, "output"));

    json_array_foreach(json_object_get(items, "output"), i, item) {
        w = json_array_get(want, i);
        type = json_string_value(json_array_get(w, 2));

        good = good
               && json_equal(json_object_get(item, "name"),
                             json_array_get(w, 1))
               && (json_is_null(json_array_get(w, 0))
                   ? json_object_get(item, "namespace") == NULL
                   : json_equal(json_object_get(item, "namespace"),
                                json_array_get(w, 0)))
               && (strcmp(type, "custom") == 0
                   ? strcmp(json_string_value(json_object_get(item, "type")),
                            "custom_tool_call") == 0
                     && strcmp(json_string_value(json_object_get(item,
                                   "input")), "x") == 0
                   : strcmp(json_string_value(json_object_get(item, "type")),
                            "function_call") == 0);
    }

    ok(good, "%s: %zu tool calls from %d come back as the caller's tools",
       name, json_array_size(want), to);

    json_decref(items);
    json_decref(want);
    json_decref(r);
    sluice_buf_free(&out);
    free(ans);
}


static void
fixture_stream(const char *name, int from, const char *raw)
{
    int           to, usage, cut;
    size_t        len;
    run_t         r;
    json_t       *want, *fr;
    const char   *why;

    len = strlen(raw);

    /* the recorder cut long answers and marked the cut with an ellipsis */
    cut = len > 3 && strcmp(raw + len - 3, "\xe2\x80\xa6") == 0;

    for (to = 0; to <= SLUICE_XLATE_MESSAGES; to++) {
        if (to == from) {
            continue;
        }

        usage = to == SLUICE_XLATE_CHAT;

        run_stream(from, to, usage ? SLUICE_XLATE_INCLUDE_USAGE : 0, raw,
                   len, NULL, 0, &r);
        fr = frames(r.out.data, r.out.len);
        why = check_stream(to, fr, usage, r.state);
        json_decref(fr);
        want = stream_result(&r);

        ok(why == NULL && r.rc == 0
           && (cut ? r.state == SLUICE_XLATE_FAILED
                   : r.state == SLUICE_XLATE_DONE && r.usage.out >= 0),
           "%s: stream %d -> %d keeps the protocol%s%s%s", name, from, to,
           why ? ": " : "", why ? why : "",
           cut ? " (a cut capture: ends with an error event)" : "");

        ok(same_cut_anywhere(raw, len, from, to,
                             usage ? SLUICE_XLATE_INCLUDE_USAGE : 0, 0),
           "%s: stream %d -> %d the same cut anywhere", name, from, to);

        json_decref(want);
        sluice_buf_free(&r.out);
    }
}


static void
fixture_answer(const char *name, int from, const char *raw)
{
    int                  to, rc;
    json_t              *o;
    sluice_buf_t         out;
    sluice_usage_t       u;
    sluice_xlate_err_t   err;

    for (to = 0; to <= SLUICE_XLATE_MESSAGES; to++) {
        if (to == from) {
            continue;
        }

        sluice_buf_init(&out);
        rc = sluice_xlate_response(from, to, 200, raw, strlen(raw), &out,
                                   &u, &err);
        o = rc == SLUICE_XLATE_OK ? json_loadb(out.data, out.len, 0, NULL)
                                  : NULL;

        ok(json_is_object(o) && u.in > 0 && u.out > 0,
           "%s: answer %d -> %d is JSON with usage", name, from, to);

        json_decref(o);
        sluice_buf_free(&out);
    }
}


static void
test_limits(void)
{
    int                     i, rc;
    char                    ev[1024];
    sink_t                  s;
    json_t                 *fr;
    const char             *start;
    sluice_buf_t            text;
    sluice_xlate_stream_t  *st;

    start = "event: message_start\ndata: {\"type\":\"message_start\","
            "\"message\":{\"model\":\"m\",\"usage\":{\"input_tokens\":1}}}\n\n";

    /* an emit failure fails feed, and the stream stays failed */
    memset(&s, 0, sizeof(sink_t));
    s.fail_at = 1;
    st = sluice_xlate_stream_create(SLUICE_XLATE_MESSAGES, SLUICE_XLATE_CHAT,
                                    0, 0);
    rc = sluice_xlate_stream_feed(st, start, strlen(start), emit, &s);
    ok(rc == SLUICE_XLATE_ERROR
       && sluice_xlate_stream_feed(st, "\n", 1, emit, &s)
          == SLUICE_XLATE_ERROR, "emit failure fails feed for good");
    sluice_xlate_stream_destroy(st);
    sluice_buf_free(&s.out);

    /* one event over max: an in-band error */
    memset(&s, 0, sizeof(sink_t));
    st = sluice_xlate_stream_create(SLUICE_XLATE_MESSAGES, SLUICE_XLATE_CHAT,
                                    0, 64);
    rc = sluice_xlate_stream_feed(st, start, strlen(start), emit, &s);
    ok(rc == SLUICE_XLATE_OK
       && sluice_xlate_stream_state(st) == SLUICE_XLATE_FAILED
       && strstr(s.out.data, "too large") != NULL,
       "an upstream event over max ends the stream with an error");
    sluice_xlate_stream_destroy(st);
    sluice_buf_free(&s.out);

    /* a responses caller holds at most 16 * max bytes of items */
    memset(&s, 0, sizeof(sink_t));
    sluice_buf_init(&text);
    sluice_buf_append_str(&text, start);

    for (i = 0; i < 60; i++) {
        snprintf(ev, sizeof(ev), "event: content_block_delta\ndata: "
                 "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                 "{\"type\":\"text_delta\",\"text\":\"%0400d\"}}\n\n", i);
        sluice_buf_append_str(&text, ev);
    }

    st = sluice_xlate_stream_create(SLUICE_XLATE_MESSAGES,
                                    SLUICE_XLATE_RESPONSES, 0, 1024);
    rc = sluice_xlate_stream_feed(st, text.data, text.len, emit, &s);
    fr = frames(s.out.data, s.out.len);
    ok(rc == SLUICE_XLATE_OK
       && sluice_xlate_stream_state(st) == SLUICE_XLATE_FAILED
       && check_responses(fr, SLUICE_XLATE_FAILED) == NULL
       && strstr(s.out.data, "too large to translate") != NULL,
       "a responses caller's held items are bounded");
    json_decref(fr);
    sluice_xlate_stream_destroy(st);
    sluice_buf_free(&s.out);
    sluice_buf_free(&text);

    sluice_xlate_stream_destroy(NULL);
    ok(sluice_xlate_stream_create(5, 0, 0, 0) == NULL,
       "no stream for an unknown dialect");
}


/* abort and ping in every caller dialect, before and after the start */
static void
test_abort_ping(void)
{
    int                     to, early;
    sink_t                  s;
    json_t                 *fr;
    const char             *why, *start[] = {
        "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n",
        "data: {\"type\":\"response.created\",\"response\":{}}\n\n",
        "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
    };
    sluice_xlate_stream_t  *st;

    for (to = 0; to <= SLUICE_XLATE_MESSAGES; to++) {
        for (early = 0; early < 2; early++) {
            memset(&s, 0, sizeof(sink_t));
            st = sluice_xlate_stream_create((to + 1) % 3, to,
                                            SLUICE_XLATE_INCLUDE_USAGE, 0);

            if (!early) {
                sluice_xlate_stream_feed(st, start[(to + 1) % 3],
                                         strlen(start[(to + 1) % 3]), emit,
                                         &s);
            }

            sluice_xlate_stream_ping(st, emit, &s);
            sluice_xlate_stream_abort(st, "upstream idle timeout", emit, &s);
            sluice_xlate_stream_ping(st, emit, &s);
            sluice_xlate_stream_feed(st, "data: {}\n\n", 10, emit, &s);
            fr = frames(s.out.data, s.out.len);
            why = check_stream(to, fr, 1, sluice_xlate_stream_state(st));

            ok(why == NULL && s.bad == 0
               && sluice_xlate_stream_state(st) == SLUICE_XLATE_FAILED
               && strstr(s.out.data, ": ping\n\n") != NULL
               && strstr(s.out.data, "upstream idle timeout") != NULL,
               "abort %s the start, caller %d: ping comment, error event%s%s",
               early ? "before" : "after", to, why ? ": " : "",
               why ? why : "");

            json_decref(fr);
            sluice_xlate_stream_destroy(st);
            sluice_buf_free(&s.out);
        }
    }
}



/* a request through sluice_xlate_request_ex(): rc, status, names, body */
static int
names_request(int from, int to, const char *body, int *status,
    sluice_xlate_names_t **names, json_t **out)
{
    int                  rc;
    sluice_buf_t         b;
    sluice_xlate_err_t   err;

    sluice_buf_init(&b);
    *names = (sluice_xlate_names_t *) &b;     /* must be overwritten */

    rc = sluice_xlate_request_ex(from, to, 0, body, strlen(body), MODEL, &b,
                                 names, &err);

    *status = rc == SLUICE_XLATE_OK ? 0 : err.status;
    *out = rc == SLUICE_XLATE_OK ? json_loadb(b.data, b.len, 0, NULL) : NULL;
    sluice_buf_free(&b);

    return rc;
}


/* the names table: when there is one, what it maps, its bounds */
static void
test_names(void)
{
    int                    rc, status, i;
    char                  *body;
    json_t                *o, *tools;
    sluice_buf_t           out, big;
    sluice_xlate_err_t     err;
    sluice_xlate_names_t  *names;

    rc = names_request(SLUICE_XLATE_RESPONSES, SLUICE_XLATE_CHAT,
             "{\"input\":\"hi\",\"tools\":[{\"type\":\"function\",\"name\":"
             "\"f\"},{\"type\":\"web_search\"}]}", &status, &names, &o);
    ok(rc == SLUICE_XLATE_OK && names == NULL
       && json_array_size(json_object_get(o, "tools")) == 1,
       "names: none for plain functions; a hosted tool is left out");
    json_decref(o);

    rc = names_request(SLUICE_XLATE_CHAT, SLUICE_XLATE_MESSAGES,
             "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
             &status, &names, &o);
    ok(rc == SLUICE_XLATE_OK && names == NULL, "names: none for chat");
    json_decref(o);

    rc = names_request(SLUICE_XLATE_RESPONSES, SLUICE_XLATE_MESSAGES,
             "{\"input\":\"hi\",\"tools\":[{\"type\":\"custom\",\"name\":"
             "\"p\"}],\"tool_choice\":{\"type\":\"mcp\"}}", &status, &names,
             &o);
    ok(rc == SLUICE_XLATE_ERROR && status == 400 && names == NULL,
       "names: NULL when the request is refused");

    /* one namespace offered in tools and in additional_tools */
    rc = names_request(SLUICE_XLATE_RESPONSES, SLUICE_XLATE_CHAT,
             "{\"input\":[{\"type\":\"additional_tools\",\"tools\":[{\"type\""
             ":\"namespace\",\"name\":\"n\",\"tools\":[{\"type\":\"custom\","
             "\"name\":\"c\"}]}]},{\"role\":\"user\",\"content\":\"hi\"}],"
             "\"tools\":[{\"type\":\"namespace\",\"name\":\"n\",\"tools\":[{"
             "\"type\":\"custom\",\"name\":\"c\"}]}]}", &status, &names, &o);
    tools = json_object_get(o, "tools");
    ok(rc == SLUICE_XLATE_OK && names != NULL && json_array_size(tools) == 1
       && strcmp(json_string_value(json_object_get(json_object_get(
              json_array_get(tools, 0), "function"), "name")), "n__c") == 0,
       "names: a tool offered twice is offered once, as n__c");
    json_decref(o);

    /* without the names, the answer's call stays a function call */
    body = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"tool_calls\""
           ":[{\"id\":\"k\",\"type\":\"function\",\"function\":{\"name\":"
           "\"n__c\",\"arguments\":\"{\\\"input\\\":\\\"z\\\"}\"}}]},"
           "\"finish_reason\":\"tool_calls\"}]}";

    for (i = 0; i < 2; i++) {
        sluice_buf_init(&out);
        rc = sluice_xlate_response_ex(SLUICE_XLATE_CHAT,
                 SLUICE_XLATE_RESPONSES, 200, body, strlen(body),
                 i ? names : NULL, &out, NULL, &err);
        ok(rc == SLUICE_XLATE_OK
           && strstr(out.data, i ? "\"type\":\"custom_tool_call\""
                                 : "\"type\":\"function_call\"") != NULL
           && strstr(out.data, i ? "\"namespace\":\"n\"" : "\"n__c\"")
              != NULL,
           "names: an answer %s the names gives a %s", i ? "with" : "without",
           i ? "custom_tool_call in namespace n" : "function_call n__c");
        sluice_buf_free(&out);
    }

    sluice_xlate_names_free(names);
    sluice_xlate_names_free(NULL);

    /* the table is bounded */
    sluice_buf_init(&big);
    sluice_buf_append_str(&big, "{\"input\":\"hi\",\"tools\":[");

    for (i = 0; i <= SLUICE_XLATE_NAMES_MAX; i++) {
        char  t[64];

        snprintf(t, sizeof(t), "%s{\"type\":\"custom\",\"name\":\"t%d\"}",
                 i ? "," : "", i);
        sluice_buf_append_str(&big, t);
    }

    sluice_buf_append_str(&big, "]}");
    rc = names_request(SLUICE_XLATE_RESPONSES, SLUICE_XLATE_CHAT, big.data,
                       &status, &names, &o);
    ok(rc == SLUICE_XLATE_ERROR && status == 400 && names == NULL,
       "names: more than %d custom tools are refused",
       SLUICE_XLATE_NAMES_MAX);
    sluice_buf_free(&big);

    test_names_stream();
}


/*
 * A stream keeps its own copy of the names (they are freed at once
 * here), and a custom call's input comes out right whatever the deltas
 * its arguments arrive in: here one byte each, through escapes and a
 * surrogate pair.
 */
static void
test_names_stream(void)
{
    int                     rc, status;
    char                    ch[2], *piece;
    size_t                  i, k;
    json_t                 *o, *fr, *f, *d, *chunk;
    sink_t                  s;
    const char             *args, *type, *want;
    sluice_buf_t            sse, deltas;
    sluice_xlate_names_t   *names;
    sluice_xlate_stream_t  *st;

    rc = names_request(SLUICE_XLATE_RESPONSES, SLUICE_XLATE_CHAT,
             "{\"input\":\"hi\",\"tools\":[{\"type\":\"custom\",\"name\":"
             "\"apply_patch\"}]}", &status, &names, &o);
    json_decref(o);

    st = sluice_xlate_stream_create_ex(SLUICE_XLATE_CHAT,
                                       SLUICE_XLATE_RESPONSES, 0, 0, names);
    sluice_xlate_names_free(names);

    args = "{\"input\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\\u12\"}";
    want = "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80\\u12";

    sluice_buf_init(&sse);
    sluice_buf_append_str(&sse, "data: {\"choices\":[{\"delta\":{\"tool_calls"
                          "\":[{\"index\":0,\"id\":\"k\",\"type\":\"function\","
                          "\"function\":{\"name\":\"apply_patch\"}}]}}]}\n\n");

    for (i = 0; args[i]; i++) {
        ch[0] = args[i];
        ch[1] = '\0';
        chunk = json_pack("{s:[{s:{s:[{s:i, s:{s:s}}]}}]}", "choices",
                          "delta", "tool_calls", "index", 0, "function",
                          "arguments", ch);
        piece = json_dumps(chunk, JSON_COMPACT);
        sluice_buf_append_str(&sse, "data: ");
        sluice_buf_append_str(&sse, piece);
        sluice_buf_append_str(&sse, "\n\n");
        free(piece);
        json_decref(chunk);
    }

    sluice_buf_append_str(&sse, "data: {\"choices\":[{\"delta\":{},"
                          "\"finish_reason\":\"tool_calls\"}]}\n\n"
                          "data: [DONE]\n\n");

    memset(&s, 0, sizeof(sink_t));
    rc = sluice_xlate_stream_feed(st, sse.data, sse.len, emit, &s);
    rc |= sluice_xlate_stream_finish(st, emit, &s);
    fr = frames(s.out.data, s.out.len);
    sluice_buf_init(&deltas);
    k = 0;

    json_array_foreach(fr, i, f) {
        d = json_object_get(f, "data");
        type = json_string_value(json_object_get(d, "type"));

        if (type && strcmp(type, "response.custom_tool_call_input.delta")
                    == 0)
        {
            sluice_buf_append_str(&deltas, json_string_value(
                json_object_get(d, "delta")));

        } else if (type && strcmp(type, "response.custom_tool_call_input.done")
                           == 0
                   && strcmp(json_string_value(json_object_get(d, "input")),
                             want) == 0)
        {
            k++;

        } else if (type && strcmp(type, "response.output_item.done") == 0
                   && strcmp(json_string_value(json_object_get(
                          json_object_get(d, "item"), "input")), want) == 0)
        {
            k++;
        }
    }

    ok(rc == SLUICE_XLATE_OK && s.bad == 0
       && check_responses(fr, sluice_xlate_stream_state(st)) == NULL
       && k == 2 && deltas.data && strcmp(deltas.data, want) == 0,
       "names: a stream's own copy; input deltas add up to the input");

    json_decref(fr);
    sluice_buf_free(&deltas);
    sluice_buf_free(&sse);
    sluice_buf_free(&s.out);
    sluice_xlate_stream_destroy(st);
}

/*
 * Bodies jansson refuses, in every direction: a 400 that says what and
 * where, never quoting the body (SECRET stands for what it holds); and
 * valid JSON that is no object.
 */
static void
test_bad_bodies(void)
{
    int                  from, to, all, quiet;
    size_t               k;
    sluice_buf_t         out;
    sluice_xlate_err_t   err;

    static const struct {
        const char      *body;
        const char      *says;
    }  bad[] = {
        { "{\"messages\":[{\"role\":\"user\",\"content\":\"SECRET",
          "unexpected end" },
        { "{\"input\":SECRET}", "invalid JSON at byte" },
        { "{\"input\":\"x\"} SECRET", "trailing data" },
        { "{\"input\":\"SECRET \\udc00 SECRET\"}", "\\u escape at byte" },
        { "{\"input\":\"SECRET \\u0000\"}", "\\u0000" },
        { "{\"input\":\"\xff SECRET\"}", "UTF-8" },
        { "{\"n\":123456789012345678901234567890}", "out of range" },
        { "{\"SECRET\":1,\"SECRET\":2}", "duplicate key at byte" },
        { "{\"input\":[{\"role\":\"user\",\"content\":\"SECRET\","
          "\"role\":\"SECRET\"}]}", "duplicate key at byte" },
        { "[{\"SECRET\":1}]", "not a JSON object" },
        { "\"SECRET\"", "not a JSON object" },
        { "5", "not a JSON object" },
        { "", "unexpected end" }
    };

    all = 1;
    quiet = 1;

    for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        for (from = 0; from <= SLUICE_XLATE_MESSAGES; from++) {
            for (to = 0; to <= SLUICE_XLATE_MESSAGES; to++) {
                if (from == to) {
                    continue;
                }

                sluice_buf_init(&out);

                if (sluice_xlate_request(from, to, bad[k].body,
                                         strlen(bad[k].body), MODEL, &out,
                                         &err)
                    != SLUICE_XLATE_ERROR
                    || err.status != 400
                    || strcmp(err.code, "invalid-request") != 0
                    || strstr(err.message, bad[k].says) == NULL)
                {
                    printf("# %d -> %d: %s\n", from, to, err.message);
                    all = 0;
                }

                quiet &= strstr(err.message, "SECRET") == NULL;
                sluice_buf_free(&out);
            }
        }
    }

    ok(all, "bodies jansson refuses: 400, saying what and where");
    ok(quiet, "... and never quoting the body");
}


int
main(int argc, char **argv)
{
    srand(7);
    bless = getenv("SLUICE_XLATE_BLESS") != NULL;
    quick = getenv("SLUICE_XLATE_QUICK") != NULL;

    test_golden("request");
    test_golden("response");
    test_golden("stream");
    test_limits();
    test_abort_ping();
    test_names();
    test_bad_bodies();
    test_fixtures(argc > 1 ? argv[1] : "../shared/clients/fixtures");

    printf("1..%d\n", test_n);

    return test_failed ? 1 : 0;
}
