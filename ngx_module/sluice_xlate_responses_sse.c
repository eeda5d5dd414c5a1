/*
 * sluice_xlate_responses_sse: OpenAI Responses streams decoded into
 * canonical stream events.  Items map to blocks: each content part of a
 * message, each reasoning summary part or text, each function call.
 * Text sent only in a ".done" event (no deltas) is still passed on.
 */

#include <string.h>
#include "sluice_xlate_int.h"


typedef int (*sluice_xlate_resp_ev_pt)(sluice_xlate_stream_t *st,
    json_t *data);

typedef struct {
    const char               *type;
    sluice_xlate_resp_ev_pt   handler;
    int                       kind;     /* delta kind, when one is sent */
    const char               *key;      /* where the delta's text is */
} sluice_xlate_resp_event_t;


static int sluice_xlate_responses_sse_created(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_responses_sse_added(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_responses_sse_part(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_responses_sse_summary(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_responses_sse_stop(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_responses_sse_item_done(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_responses_sse_whole(sluice_xlate_stream_t *st,
    json_t *item, const char *type);
static int sluice_xlate_responses_sse_completed(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_responses_sse_failed(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_responses_sse_block(sluice_xlate_stream_t *st,
    int kind, const char *id, const char *name);
static int sluice_xlate_responses_sse_text(sluice_xlate_stream_t *st,
    int kind, json_t *text, int done);


/*
 * Events with a handler are dispatched to it; the others carry a delta
 * (or, for ".done", the whole text) of the given kind under key.
 */
static const sluice_xlate_resp_event_t  sluice_xlate_resp_events[] = {
    { "response.created", sluice_xlate_responses_sse_created, 0, NULL },
    { "response.in_progress", sluice_xlate_responses_sse_created, 0, NULL },
    { "response.output_item.added", sluice_xlate_responses_sse_added, 0,
      NULL },
    { "response.content_part.added", sluice_xlate_responses_sse_part, 0,
      NULL },
    { "response.reasoning_summary_part.added",
      sluice_xlate_responses_sse_summary, 0, NULL },
    { "response.output_text.delta", NULL, SLUICE_XLATE_TEXT, "delta" },
    { "response.refusal.delta", NULL, SLUICE_XLATE_TEXT, "delta" },
    { "response.reasoning_summary_text.delta", NULL, SLUICE_XLATE_THINKING,
      "delta" },
    { "response.reasoning_text.delta", NULL, SLUICE_XLATE_THINKING,
      "delta" },
    { "response.function_call_arguments.delta", NULL, SLUICE_XLATE_TOOL,
      "delta" },
    { "response.output_text.done", NULL, SLUICE_XLATE_TEXT, "text" },
    { "response.refusal.done", NULL, SLUICE_XLATE_TEXT, "refusal" },
    { "response.reasoning_summary_text.done", NULL, SLUICE_XLATE_THINKING,
      "text" },
    { "response.reasoning_text.done", NULL, SLUICE_XLATE_THINKING, "text" },
    { "response.function_call_arguments.done", NULL, SLUICE_XLATE_TOOL,
      "arguments" },
    { "response.content_part.done", sluice_xlate_responses_sse_stop, 0,
      NULL },
    { "response.reasoning_summary_part.done",
      sluice_xlate_responses_sse_stop, 0, NULL },
    { "response.output_item.done", sluice_xlate_responses_sse_item_done, 0,
      NULL },
    { "response.completed", sluice_xlate_responses_sse_completed, 0, NULL },
    { "response.incomplete", sluice_xlate_responses_sse_completed, 0,
      NULL },
    { "response.failed", sluice_xlate_responses_sse_failed, 0, NULL },
    { "error", sluice_xlate_responses_sse_failed, 0, NULL },
    { NULL, NULL, 0, NULL }
};


int
sluice_xlate_responses_sse_decode(sluice_xlate_stream_t *st,
    const sluice_sse_event_t *ev, json_t *data)
{
    size_t                            n;
    const char                       *type;
    const sluice_xlate_resp_event_t  *e;

    (void) ev;

    type = json_string_value(json_object_get(data, "type"));

    for (e = sluice_xlate_resp_events; type && e->type; e++) {
        if (strcmp(e->type, type) != 0) {
            continue;
        }

        if (e->handler) {
            return e->handler(st, data);
        }

        n = strlen(type);

        return sluice_xlate_responses_sse_text(st, e->kind,
                   json_object_get(data, e->key),
                   n > 5 && strcmp(type + n - 5, ".done") == 0);
    }

    return 0;
}


static int
sluice_xlate_responses_sse_created(sluice_xlate_stream_t *st, json_t *data)
{
    size_t       n;
    json_t      *r;
    const char  *model;

    if (st->started) {
        return 0;
    }

    r = json_object_get(data, "response");
    model = json_string_value(json_object_get(r, "model"));

    if (model) {
        n = strlen(model);
        n = n < sizeof(st->model) ? n : sizeof(st->model) - 1;
        memcpy(st->model, model, n);
        st->model[n] = '\0';
    }

    if (json_is_integer(json_object_get(r, "created_at"))) {
        st->created = json_integer_value(json_object_get(r, "created_at"));
    }

    return sluice_xlate_stream_event(st, &(sluice_xlate_ev_t) {
        .type = SLUICE_XLATE_EV_START });
}


/* a function call opens its block now; messages wait for their parts */
static int
sluice_xlate_responses_sse_added(sluice_xlate_stream_t *st, json_t *data)
{
    json_t      *item;
    const char  *type;

    item = json_object_get(data, "item");
    type = json_string_value(json_object_get(item, "type"));

    st->up_sub = -1;
    st->up_delta = 0;
    st->up_skip = 1;

    if (type == NULL) {
        return 0;
    }

    if (strcmp(type, "message") == 0 || strcmp(type, "reasoning") == 0) {
        st->up_skip = 0;
        return 0;
    }

    if (strcmp(type, "function_call") != 0) {
        return 0;
    }

    st->up_skip = 0;
    st->up_sub = 0;

    if (sluice_xlate_responses_sse_block(st, SLUICE_XLATE_TOOL,
            json_string_value(json_object_get(item, "call_id")),
            json_string_value(json_object_get(item, "name"))) != 0)
    {
        return -1;
    }

    return sluice_xlate_responses_sse_text(st, SLUICE_XLATE_TOOL,
               json_object_get(item, "arguments"), 0);
}


static int
sluice_xlate_responses_sse_part(sluice_xlate_stream_t *st, json_t *data)
{
    const char  *type;

    type = json_string_value(json_object_get(json_object_get(data, "part"),
                                             "type"));
    if (type == NULL || st->up_skip) {
        return 0;
    }

    st->up_sub = 0;

    if (strcmp(type, "reasoning_text") == 0) {
        return sluice_xlate_responses_sse_block(st, SLUICE_XLATE_THINKING,
                                                NULL, NULL);
    }

    return sluice_xlate_responses_sse_block(st, SLUICE_XLATE_TEXT, NULL,
                                            NULL);
}


static int
sluice_xlate_responses_sse_summary(sluice_xlate_stream_t *st, json_t *data)
{
    (void) data;

    if (st->up_skip) {
        return 0;
    }

    st->up_sub = 0;

    return sluice_xlate_responses_sse_block(st, SLUICE_XLATE_THINKING, NULL,
                                            NULL);
}


static int
sluice_xlate_responses_sse_stop(sluice_xlate_stream_t *st, json_t *data)
{
    (void) data;

    return sluice_xlate_stream_event(st, &(sluice_xlate_ev_t) {
        .type = SLUICE_XLATE_EV_BLOCK_STOP });
}


/*
 * The item is complete.  An item whose parts never showed up (some
 * servers send only the done events) is passed on whole.
 */
static int
sluice_xlate_responses_sse_item_done(sluice_xlate_stream_t *st,
    json_t *data)
{
    json_t      *item;
    const char  *type;

    item = json_object_get(data, "item");
    type = json_string_value(json_object_get(item, "type"));

    if (type == NULL) {
        return 0;
    }

    if (strcmp(type, "function_call") == 0) {
        st->up_tool = 1;

        if (st->up_sub < 0
            && sluice_xlate_responses_sse_block(st, SLUICE_XLATE_TOOL,
                   json_string_value(json_object_get(item, "call_id")),
                   json_string_value(json_object_get(item, "name"))) != 0)
        {
            return -1;
        }

        if (sluice_xlate_responses_sse_text(st, SLUICE_XLATE_TOOL,
                json_object_get(item, "arguments"), 1) != 0)
        {
            return -1;
        }

    } else if (st->up_sub < 0
               && (strcmp(type, "message") == 0
                   || strcmp(type, "reasoning") == 0))
    {
        if (sluice_xlate_responses_sse_whole(st, item, type) != 0) {
            return -1;
        }
    }

    st->up_skip = 1;

    return sluice_xlate_responses_sse_stop(st, data);
}


static int
sluice_xlate_responses_sse_whole(sluice_xlate_stream_t *st, json_t *item,
    const char *type)
{
    int          kind;
    size_t       i;
    json_t      *parts, *p;
    const char  *key;

    kind = strcmp(type, "message") == 0 ? SLUICE_XLATE_TEXT
                                         : SLUICE_XLATE_THINKING;
    parts = json_object_get(item, kind == SLUICE_XLATE_TEXT ? "content"
                                                             : "summary");

    json_array_foreach(parts, i, p) {
        key = json_is_string(json_object_get(p, "refusal")) ? "refusal"
                                                            : "text";

        if (sluice_xlate_responses_sse_block(st, kind, NULL, NULL) != 0
            || sluice_xlate_responses_sse_text(st, kind,
                   json_object_get(p, key), 1) != 0
            || sluice_xlate_responses_sse_stop(st, NULL) != 0)
        {
            return -1;
        }
    }

    return 0;
}


static int
sluice_xlate_responses_sse_completed(sluice_xlate_stream_t *st,
    json_t *data)
{
    json_t             *r;
    sluice_xlate_ev_t   ev;

    r = json_object_get(data, "response");

    sluice_xlate_usage_responses(json_object_get(r, "usage"), &st->usage);

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = SLUICE_XLATE_EV_MESSAGE_DELTA;
    ev.stop = sluice_xlate_responses_stop_decode(r, st->up_tool);

    if (sluice_xlate_stream_event(st, &ev) != 0) {
        return -1;
    }

    ev.type = SLUICE_XLATE_EV_STOP;

    return sluice_xlate_stream_event(st, &ev);
}


/* response.failed carries response.error; "error" is the error itself */
static int
sluice_xlate_responses_sse_failed(sluice_xlate_stream_t *st, json_t *data)
{
    json_t      *e;
    const char  *msg, *code;

    e = json_object_get(json_object_get(data, "response"), "error");

    if (!json_is_object(e)) {
        e = json_object_get(data, "error");
    }

    if (!json_is_object(e)) {
        e = data;
    }

    msg = json_string_value(json_object_get(e, "message"));
    code = json_string_value(json_object_get(e, "code"));

    sluice_xlate_usage_responses(json_object_get(json_object_get(data,
                                     "response"), "usage"), &st->usage);

    return sluice_xlate_stream_error(st, sluice_xlate_error_kind(500, code),
                                     msg ? msg : "the upstream failed");
}


static int
sluice_xlate_responses_sse_block(sluice_xlate_stream_t *st, int kind,
    const char *id, const char *name)
{
    sluice_xlate_ev_t  ev;

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = SLUICE_XLATE_EV_BLOCK_START;
    ev.kind = kind;
    ev.id = id;
    ev.name = name;

    st->up_delta = 0;

    return sluice_xlate_stream_event(st, &ev);
}


/* a delta; the text of a ".done" only when no delta went out before */
static int
sluice_xlate_responses_sse_text(sluice_xlate_stream_t *st, int kind,
    json_t *text, int done)
{
    if (!json_is_string(text) || st->up_skip || (done && st->up_delta)) {
        return 0;
    }

    if (json_string_length(text)) {
        st->up_delta = 1;
    }

    return sluice_xlate_stream_text(st, kind, json_string_value(text),
                                    json_string_length(text));
}
