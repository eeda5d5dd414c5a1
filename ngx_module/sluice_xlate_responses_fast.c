/*
 * sluice_xlate_responses_fast: OpenAI Responses events decoded from the
 * tape (sluice_xlate_tape.c) instead of a jansson tree.  The same
 * reading as sluice_xlate_responses_sse_decode, step for step; failures
 * and items sent whole in their done event are left to jansson.
 */

#include <string.h>
#include "sluice_xlate_int.h"


typedef int (*sluice_xlate_rf_pt)(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);

typedef struct {
    sluice_xlate_key_t    type;
    sluice_xlate_rf_pt    handler;
    int                   kind;     /* delta kind, when one is sent */
    sluice_xlate_key_t    key;      /* where the delta's text is */
    int                   done;     /* a ".done": sent if no delta was */
} sluice_xlate_rf_event_t;


static int sluice_xlate_responses_fast_created(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);
static int sluice_xlate_responses_fast_added(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);
static int sluice_xlate_responses_fast_part(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);
static int sluice_xlate_responses_fast_summary(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);
static int sluice_xlate_responses_fast_stop(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);
static int sluice_xlate_responses_fast_item_done(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);
static int sluice_xlate_responses_fast_completed(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);
static int sluice_xlate_responses_fast_declined(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);
static void sluice_xlate_responses_fast_usage(sluice_xlate_tape_t *t,
    int k, sluice_usage_t *u);
static int sluice_xlate_responses_fast_block(sluice_xlate_stream_t *st,
    int kind, const char *id, const char *name);
static int sluice_xlate_responses_fast_text(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, int kind, int k, int done);


#define sluice_xlate_rf_handler(type, h)                                     \
    { sluice_xlate_key(type), h, 0, { NULL, 0 }, 0 }
#define sluice_xlate_rf_text(type, kind, key, done)                          \
    { sluice_xlate_key(type), NULL, kind, sluice_xlate_key(key), done }

/* sluice_xlate_resp_events, the deltas first */
static const sluice_xlate_rf_event_t  sluice_xlate_rf_events[] = {
    sluice_xlate_rf_text("response.output_text.delta", SLUICE_XLATE_TEXT,
                         "delta", 0),
    sluice_xlate_rf_text("response.function_call_arguments.delta",
                         SLUICE_XLATE_TOOL, "delta", 0),
    sluice_xlate_rf_text("response.reasoning_summary_text.delta",
                         SLUICE_XLATE_THINKING, "delta", 0),
    sluice_xlate_rf_text("response.reasoning_text.delta",
                         SLUICE_XLATE_THINKING, "delta", 0),
    sluice_xlate_rf_text("response.refusal.delta", SLUICE_XLATE_TEXT,
                         "delta", 0),
    sluice_xlate_rf_handler("response.created",
                            sluice_xlate_responses_fast_created),
    sluice_xlate_rf_handler("response.in_progress",
                            sluice_xlate_responses_fast_created),
    sluice_xlate_rf_handler("response.output_item.added",
                            sluice_xlate_responses_fast_added),
    sluice_xlate_rf_handler("response.content_part.added",
                            sluice_xlate_responses_fast_part),
    sluice_xlate_rf_handler("response.reasoning_summary_part.added",
                            sluice_xlate_responses_fast_summary),
    sluice_xlate_rf_text("response.output_text.done", SLUICE_XLATE_TEXT,
                         "text", 1),
    sluice_xlate_rf_text("response.refusal.done", SLUICE_XLATE_TEXT,
                         "refusal", 1),
    sluice_xlate_rf_text("response.reasoning_summary_text.done",
                         SLUICE_XLATE_THINKING, "text", 1),
    sluice_xlate_rf_text("response.reasoning_text.done",
                         SLUICE_XLATE_THINKING, "text", 1),
    sluice_xlate_rf_text("response.function_call_arguments.done",
                         SLUICE_XLATE_TOOL, "arguments", 1),
    sluice_xlate_rf_handler("response.content_part.done",
                            sluice_xlate_responses_fast_stop),
    sluice_xlate_rf_handler("response.reasoning_summary_part.done",
                            sluice_xlate_responses_fast_stop),
    sluice_xlate_rf_handler("response.output_item.done",
                            sluice_xlate_responses_fast_item_done),
    sluice_xlate_rf_handler("response.completed",
                            sluice_xlate_responses_fast_completed),
    sluice_xlate_rf_handler("response.incomplete",
                            sluice_xlate_responses_fast_completed),
    sluice_xlate_rf_handler("response.failed",
                            sluice_xlate_responses_fast_declined),
    sluice_xlate_rf_handler("error", sluice_xlate_responses_fast_declined),
    { { NULL, 0 }, NULL, 0, { NULL, 0 }, 0 }
};


int
sluice_xlate_responses_sse_fast(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t)
{
    int                             type;
    const sluice_xlate_rf_event_t  *e;

    type = sluice_xlate_tape_get(t, 0, "type", 4);

    if (sluice_xlate_tape_type(t, type) != SLUICE_XLATE_J_STRING) {
        return 0;
    }

    for (e = sluice_xlate_rf_events; e->type.name; e++) {
        if (!sluice_xlate_tape_eq(t, type, e->type.name, e->type.len)) {
            continue;
        }

        if (e->handler) {
            return e->handler(st, t);
        }

        return sluice_xlate_responses_fast_text(st, t, e->kind,
                   sluice_xlate_tape_get(t, 0, e->key.name, e->key.len),
                   e->done);
    }

    return 0;
}


static int
sluice_xlate_responses_fast_created(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t)
{
    int          r;
    size_t       n;
    int64_t      created;
    const char  *model;

    if (st->started) {
        return 0;
    }

    r = sluice_xlate_tape_get(t, 0, "response", 8);
    model = sluice_xlate_tape_text(t, sluice_xlate_tape_get(t, r, "model", 5),
                                   &n);

    if (model) {
        n = n < sizeof(st->model) ? n : sizeof(st->model) - 1;
        memcpy(st->model, model, n);
        st->model[n] = '\0';
    }

    if (sluice_xlate_tape_int(t, sluice_xlate_tape_get(t, r, "created_at",
                                                       10), &created))
    {
        st->created = created;
    }

    return sluice_xlate_stream_event(st, &(sluice_xlate_ev_t) {
        .type = SLUICE_XLATE_EV_START });
}


/* sluice_xlate_responses_sse_added */
static int
sluice_xlate_responses_fast_added(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t)
{
    int          item, type;
    size_t       n;
    const char  *id, *name;

    item = sluice_xlate_tape_get(t, 0, "item", 4);
    type = sluice_xlate_tape_get(t, item, "type", 4);

    st->up_sub = -1;
    st->up_delta = 0;
    st->up_skip = 1;

    if (sluice_xlate_tape_eq(t, type, "message", 7)
        || sluice_xlate_tape_eq(t, type, "reasoning", 9))
    {
        st->up_skip = 0;
        return 0;
    }

    if (!sluice_xlate_tape_eq(t, type, "function_call", 13)) {
        return 0;
    }

    st->up_skip = 0;
    st->up_sub = 0;

    id = sluice_xlate_tape_cstr(t, sluice_xlate_tape_get(t, item, "call_id",
                                                         7), &n);
    name = sluice_xlate_tape_cstr(t, sluice_xlate_tape_get(t, item, "name",
                                                           4), &n);

    if (sluice_xlate_responses_fast_block(st, SLUICE_XLATE_TOOL, id, name)
        != 0)
    {
        return -1;
    }

    return sluice_xlate_responses_fast_text(st, t, SLUICE_XLATE_TOOL,
               sluice_xlate_tape_get(t, item, "arguments", 9), 0);
}


static int
sluice_xlate_responses_fast_part(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t)
{
    int  type;

    type = sluice_xlate_tape_get(t, sluice_xlate_tape_get(t, 0, "part", 4),
                                 "type", 4);

    if (sluice_xlate_tape_type(t, type) != SLUICE_XLATE_J_STRING
        || st->up_skip)
    {
        return 0;
    }

    st->up_sub = 0;

    return sluice_xlate_responses_fast_block(st,
               sluice_xlate_tape_eq(t, type, "reasoning_text", 14)
               ? SLUICE_XLATE_THINKING : SLUICE_XLATE_TEXT, NULL, NULL);
}


static int
sluice_xlate_responses_fast_summary(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t)
{
    (void) t;

    if (st->up_skip) {
        return 0;
    }

    st->up_sub = 0;

    return sluice_xlate_responses_fast_block(st, SLUICE_XLATE_THINKING, NULL,
                                             NULL);
}


static int
sluice_xlate_responses_fast_stop(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t)
{
    (void) t;

    return sluice_xlate_stream_event(st, &(sluice_xlate_ev_t) {
        .type = SLUICE_XLATE_EV_BLOCK_STOP });
}


/* sluice_xlate_responses_sse_item_done; an item sent whole is declined */
static int
sluice_xlate_responses_fast_item_done(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t)
{
    int          item, type;
    size_t       n;
    const char  *id, *name;

    item = sluice_xlate_tape_get(t, 0, "item", 4);
    type = sluice_xlate_tape_get(t, item, "type", 4);

    if (sluice_xlate_tape_type(t, type) != SLUICE_XLATE_J_STRING) {
        return 0;
    }

    if (sluice_xlate_tape_eq(t, type, "function_call", 13)) {
        st->up_tool = 1;

        if (st->up_sub < 0) {
            id = sluice_xlate_tape_cstr(t, sluice_xlate_tape_get(t, item,
                                            "call_id", 7), &n);
            name = sluice_xlate_tape_cstr(t, sluice_xlate_tape_get(t, item,
                                              "name", 4), &n);

            if (sluice_xlate_responses_fast_block(st, SLUICE_XLATE_TOOL, id,
                                                  name) != 0)
            {
                return -1;
            }
        }

        if (sluice_xlate_responses_fast_text(st, t, SLUICE_XLATE_TOOL,
                sluice_xlate_tape_get(t, item, "arguments", 9), 1) != 0)
        {
            return -1;
        }

    } else if (st->up_sub < 0
               && (sluice_xlate_tape_eq(t, type, "message", 7)
                   || sluice_xlate_tape_eq(t, type, "reasoning", 9)))
    {
        return SLUICE_XLATE_DECLINED;
    }

    st->up_skip = 1;

    return sluice_xlate_responses_fast_stop(st, t);
}


static int
sluice_xlate_responses_fast_completed(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t)
{
    int                 r, status, reason;
    sluice_xlate_ev_t   ev;

    r = sluice_xlate_tape_get(t, 0, "response", 8);

    sluice_xlate_responses_fast_usage(t, sluice_xlate_tape_get(t, r, "usage",
                                                               5),
                                      &st->usage);

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = SLUICE_XLATE_EV_MESSAGE_DELTA;

    /* sluice_xlate_responses_stop_decode */
    status = sluice_xlate_tape_get(t, r, "status", 6);
    reason = sluice_xlate_tape_get(t, sluice_xlate_tape_get(t, r,
                                       "incomplete_details", 18),
                                   "reason", 6);

    if (sluice_xlate_tape_eq(t, status, "incomplete", 10)) {
        ev.stop = sluice_xlate_tape_eq(t, reason, "content_filter", 14)
                  ? SLUICE_XLATE_STOP_FILTER : SLUICE_XLATE_STOP_LENGTH;

    } else {
        ev.stop = st->up_tool ? SLUICE_XLATE_STOP_TOOL
                              : SLUICE_XLATE_STOP_END;
    }

    if (sluice_xlate_stream_event(st, &ev) != 0) {
        return -1;
    }

    ev.type = SLUICE_XLATE_EV_STOP;

    return sluice_xlate_stream_event(st, &ev);
}


static int
sluice_xlate_responses_fast_declined(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t)
{
    (void) st;
    (void) t;

    return SLUICE_XLATE_DECLINED;
}


/* sluice_xlate_usage_responses */
static void
sluice_xlate_responses_fast_usage(sluice_xlate_tape_t *t, int k,
    sluice_usage_t *u)
{
    int      m[4];
    int64_t  n;

    static const sluice_xlate_key_t  keys[] = {
        sluice_xlate_key("input_tokens"),
        sluice_xlate_key("output_tokens"),
        sluice_xlate_key("input_tokens_details"),
        sluice_xlate_key("output_tokens_details")
    };

    sluice_xlate_tape_find(t, k, keys, m, 4);

    if ((n = sluice_xlate_tape_count(t, m[0])) >= 0) {
        u->in = n;
    }

    if ((n = sluice_xlate_tape_count(t, m[1])) >= 0) {
        u->out = n;
    }

    n = sluice_xlate_tape_count(t, sluice_xlate_tape_get(t, m[2],
                                                         "cached_tokens", 13));
    if (n >= 0) {
        u->cached = n;
    }

    n = sluice_xlate_tape_count(t, sluice_xlate_tape_get(t, m[3],
                                    "reasoning_tokens", 16));
    if (n >= 0) {
        u->reasoning = n;
    }
}


static int
sluice_xlate_responses_fast_block(sluice_xlate_stream_t *st, int kind,
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


/* sluice_xlate_responses_sse_text */
static int
sluice_xlate_responses_fast_text(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, int kind, int k, int done)
{
    size_t       len;
    const char  *s;

    s = sluice_xlate_tape_text(t, k, &len);

    if (s == NULL || st->up_skip || (done && st->up_delta)) {
        return 0;
    }

    if (len) {
        st->up_delta = 1;
    }

    return sluice_xlate_stream_text(st, kind, s, len);
}
