/*
 * sluice_xlate_chat_sse: Chat Completions streams to and from canonical
 * stream events.  The caller gets chat.completion.chunk objects with a
 * choices array, role on the first delta, one chunk with finish_reason,
 * tool-call deltas whose first carries id, type and name, the usage
 * chunk (choices: []) only when it asked include_usage, then [DONE].
 * Chunks are packed with jansson, or on the fast path written by hand,
 * the same bytes (errors: jansson).
 */

#include <string.h>
#include "sluice_xlate_int.h"


static int sluice_xlate_chat_sse_first(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_chat_sse_delta(sluice_xlate_stream_t *st,
    json_t *delta);
static int sluice_xlate_chat_sse_tools(sluice_xlate_stream_t *st,
    json_t *calls);
static int sluice_xlate_chat_sse_call(sluice_xlate_stream_t *st,
    json_t *call);
static int sluice_xlate_chat_sse_done(sluice_xlate_stream_t *st);
static int sluice_xlate_chat_sse_call_start(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
static int sluice_xlate_chat_sse_text(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
static int sluice_xlate_chat_sse_finish(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
static int sluice_xlate_chat_sse_chunk(sluice_xlate_stream_t *st,
    json_t *delta, const char *finish);
static int sluice_xlate_chat_sse_usage(sluice_xlate_stream_t *st);
static void sluice_xlate_chat_sse_head(sluice_xlate_stream_t *st);


int
sluice_xlate_chat_sse_decode(sluice_xlate_stream_t *st,
    const sluice_sse_event_t *ev, json_t *data)
{
    json_t      *e, *choice, *fr;
    const char  *msg;

    (void) ev;

    if (data == NULL) {
        return sluice_xlate_chat_sse_done(st);
    }

    e = json_object_get(data, "error");

    if (json_is_object(e)) {
        msg = json_string_value(json_object_get(e, "message"));

        return sluice_xlate_stream_error(st,
                   sluice_xlate_error_kind(500, json_string_value(
                       json_object_get(e, "type"))),
                   msg ? msg : "the upstream failed");
    }

    if (sluice_xlate_chat_sse_first(st, data) != 0) {
        return -1;
    }

    sluice_xlate_usage_chat(json_object_get(data, "usage"), &st->usage);

    choice = json_array_get(json_object_get(data, "choices"), 0);

    if (sluice_xlate_chat_sse_delta(st, json_object_get(choice, "delta"))
        != 0)
    {
        return -1;
    }

    fr = json_object_get(choice, "finish_reason");

    /* the usage chunk may still come: the end waits for [DONE] or EOF */
    if (json_is_string(fr) && !st->up_finish) {
        st->up_finish = 1;
        st->up_stop = sluice_xlate_chat_stop_decode(json_string_value(fr));

        if (st->block_open) {
            return sluice_xlate_stream_event(st, &(sluice_xlate_ev_t) {
                .type = SLUICE_XLATE_EV_BLOCK_STOP });
        }
    }

    return 0;
}


static int
sluice_xlate_chat_sse_first(sluice_xlate_stream_t *st, json_t *data)
{
    size_t       n;
    const char  *model;

    if (st->started) {
        return 0;
    }

    model = json_string_value(json_object_get(data, "model"));

    if (model) {
        n = strlen(model);
        n = n < sizeof(st->model) ? n : sizeof(st->model) - 1;
        memcpy(st->model, model, n);
        st->model[n] = '\0';
    }

    if (json_is_integer(json_object_get(data, "created"))) {
        st->created = json_integer_value(json_object_get(data, "created"));
    }

    /* the stream starts with the first chunk that has choices */
    if (json_array_size(json_object_get(data, "choices")) == 0) {
        return 0;
    }

    return sluice_xlate_stream_event(st, &(sluice_xlate_ev_t) {
        .type = SLUICE_XLATE_EV_START });
}


static int
sluice_xlate_chat_sse_delta(sluice_xlate_stream_t *st, json_t *delta)
{
    json_t  *v;

    v = json_object_get(delta, "reasoning_content");

    if (!json_is_string(v)) {
        v = json_object_get(delta, "reasoning");
    }

    if (json_is_string(v)
        && sluice_xlate_stream_text(st, SLUICE_XLATE_THINKING,
                                    json_string_value(v),
                                    json_string_length(v)) != 0)
    {
        return -1;
    }

    v = json_object_get(delta, "content");

    if (!json_is_string(v)) {
        v = json_object_get(delta, "refusal");
    }

    if (json_is_string(v)
        && sluice_xlate_stream_text(st, SLUICE_XLATE_TEXT,
                                    json_string_value(v),
                                    json_string_length(v)) != 0)
    {
        return -1;
    }

    return sluice_xlate_chat_sse_tools(st,
                                       json_object_get(delta, "tool_calls"));
}


static int
sluice_xlate_chat_sse_tools(sluice_xlate_stream_t *st, json_t *calls)
{
    size_t   i;
    json_t  *call;

    json_array_foreach(calls, i, call) {
        if (sluice_xlate_chat_sse_call(st, call) != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * A new index, or a new id (some servers send every call complete with
 * no index), opens a call; arguments go to the open one.  Arguments for
 * a call already closed cannot be expressed to every caller: the stream
 * fails rather than corrupt a call.
 */
static int
sluice_xlate_chat_sse_call(sluice_xlate_stream_t *st, json_t *call)
{
    int                 index;
    json_t             *fn, *args, *id;
    sluice_xlate_ev_t   ev;

    index = json_is_integer(json_object_get(call, "index"))
            ? (int) json_integer_value(json_object_get(call, "index")) : 0;
    fn = json_object_get(call, "function");
    args = json_object_get(fn, "arguments");
    id = json_object_get(call, "id");

    if (index >= st->up_tools
        || (json_string_length(id)
            && (json_string_length(id) != st->up_id.len
                || memcmp(json_string_value(id), st->up_id.data,
                          st->up_id.len) != 0)))
    {
        memset(&ev, 0, sizeof(sluice_xlate_ev_t));
        ev.type = SLUICE_XLATE_EV_BLOCK_START;
        ev.kind = SLUICE_XLATE_TOOL;
        ev.id = json_string_value(id);
        ev.name = json_string_value(json_object_get(fn, "name"));

        st->up_tools = index >= st->up_tools ? index + 1 : st->up_tools;
        st->up_index = index;
        sluice_buf_reset(&st->up_id);

        if (sluice_buf_append(&st->up_id, ev.id ? ev.id : "",
                              json_string_length(id)) != 0
            || sluice_xlate_stream_event(st, &ev) != 0)
        {
            st->rc = -1;
            return -1;
        }

    } else if (index != st->up_index && json_string_length(args)) {
        return sluice_xlate_stream_error(st, SLUICE_XLATE_E_SERVER,
                   "the upstream interleaved tool call arguments");
    }

    if (!json_is_string(args)) {
        return 0;
    }

    return sluice_xlate_stream_text(st, SLUICE_XLATE_TOOL,
                                    json_string_value(args),
                                    json_string_length(args));
}


/* [DONE], or EOF after finish_reason */
static int
sluice_xlate_chat_sse_done(sluice_xlate_stream_t *st)
{
    sluice_xlate_ev_t  ev;

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = SLUICE_XLATE_EV_MESSAGE_DELTA;
    ev.stop = st->up_finish ? st->up_stop : SLUICE_XLATE_STOP_END;

    if (sluice_xlate_stream_event(st, &ev) != 0) {
        return -1;
    }

    ev.type = SLUICE_XLATE_EV_STOP;

    return sluice_xlate_stream_event(st, &ev);
}


int
sluice_xlate_chat_sse_encode(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    switch (ev->type) {

    case SLUICE_XLATE_EV_START:
        if (sluice_xlate_fast(st)) {
            sluice_xlate_chat_sse_head(st);
            return sluice_xlate_stream_end_frame(st, ",\"choices\":[{"
                       "\"index\":0,\"delta\":{\"role\":\"assistant\","
                       "\"content\":\"\"},\"logprobs\":null,"
                       "\"finish_reason\":null}]}\n\n");
        }

        return sluice_xlate_chat_sse_chunk(st, json_pack("{s:s, s:s}",
                                           "role", "assistant", "content",
                                           ""), NULL);

    case SLUICE_XLATE_EV_BLOCK_START:
        return ev->kind == SLUICE_XLATE_TOOL
               ? sluice_xlate_chat_sse_call_start(st, ev) : 0;

    case SLUICE_XLATE_EV_DELTA:
        return sluice_xlate_chat_sse_text(st, ev);

    case SLUICE_XLATE_EV_MESSAGE_DELTA:
        return sluice_xlate_chat_sse_finish(st, ev);

    case SLUICE_XLATE_EV_STOP:
        return sluice_xlate_stream_raw(st, "data: [DONE]\n\n", 14);

    case SLUICE_XLATE_EV_ERROR:
        return sluice_xlate_stream_frame(st, NULL,
            sluice_xlate_error_envelope(SLUICE_XLATE_CHAT, ev->error,
                                        ev->text, NULL));

    default:
        return 0;
    }
}


/* the first delta of a call: index, id, type and name */
static int
sluice_xlate_chat_sse_call_start(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    char         id[64];
    const char  *name;

    if (ev->id == NULL || ev->id[0] == '\0') {
        sluice_xlate_rand_id(id, sizeof(id), "call_");
    }

    if (sluice_xlate_fast(st)) {
        name = ev->name ? ev->name : "";

        sluice_xlate_chat_sse_head(st);
        sluice_xlate_stream_lit(st, ",\"choices\":[{\"index\":0,\"delta\":"
                                "{\"tool_calls\":[{\"index\":");
        sluice_xlate_stream_cat_int(st, (int) st->ntools++);
        sluice_xlate_stream_lit(st, ",\"id\":");
        sluice_xlate_stream_cat_str(st, (ev->id && ev->id[0]) ? ev->id : id,
                                    strlen((ev->id && ev->id[0]) ? ev->id
                                                                 : id));
        sluice_xlate_stream_lit(st, ",\"type\":\"function\",\"function\":"
                                "{\"name\":");
        sluice_xlate_stream_cat_str(st, name, strlen(name));

        return sluice_xlate_stream_end_frame(st, ",\"arguments\":\"\"}}]},"
                   "\"logprobs\":null,\"finish_reason\":null}]}\n\n");
    }

    return sluice_xlate_chat_sse_chunk(st, json_pack(
        "{s:[{s:i, s:s, s:s, s:{s:s, s:s}}]}", "tool_calls", "index",
        (int) st->ntools++, "id", (ev->id && ev->id[0]) ? ev->id : id,
        "type", "function", "function", "name", ev->name ? ev->name : "",
        "arguments", ""), NULL);
}


/*
 * content, reasoning_content, or a call's arguments only: the per-token
 * chunk, written by hand (the same object sluice_xlate_chat_sse_chunk
 * makes with jansson).
 */
static int
sluice_xlate_chat_sse_text(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    sluice_buf_t  *h;

    if (ev->kind == SLUICE_XLATE_SIGNATURE) {
        return 0;
    }

    /*
     * Up to the delta's members the chunk is the same all along (id,
     * created and model are fixed once the stream has started): made
     * once, then copied.
     */
    h = &st->head;

    if (h->len == 0) {
        sluice_xlate_stream_start(st, "data: {\"id\":");
        sluice_xlate_stream_cat_id(st, st->id);
        sluice_xlate_stream_lit(st, ",\"object\":\"chat.completion.chunk\","
                                    "\"created\":");
        sluice_xlate_stream_cat_int(st, st->created);
        sluice_xlate_stream_lit(st, ",\"model\":");
        sluice_xlate_stream_cat_json(st, st->model, strlen(st->model));
        sluice_xlate_stream_lit(st, ",\"choices\":[{\"index\":0,"
                                    "\"delta\":{");

        if (st->rc == 0
            && sluice_buf_append(h, st->frame.data, st->frame.len) != 0)
        {
            st->rc = -1;
        }

    } else {
        sluice_buf_reset(&st->frame);
        sluice_xlate_stream_catn(st, h->data, h->len);
    }

    if (ev->kind == SLUICE_XLATE_TOOL) {
        sluice_xlate_stream_lit(st, "\"tool_calls\":[{\"index\":");
        sluice_xlate_stream_cat_int(st, (int64_t) st->ntools - 1);
        sluice_xlate_stream_lit(st, ",\"function\":{\"arguments\":");
        sluice_xlate_stream_cat_json(st, ev->text, ev->len);
        sluice_xlate_stream_lit(st, "}}]");

    } else {
        sluice_xlate_stream_cat(st, ev->kind == SLUICE_XLATE_TEXT
                                    ? "\"content\":"
                                    : "\"reasoning_content\":");
        sluice_xlate_stream_cat_json(st, ev->text, ev->len);
    }

    return sluice_xlate_stream_end_frame(st, "},\"logprobs\":null,"
                                         "\"finish_reason\":null}]}\n\n");
}


/* the finish_reason chunk, then the usage chunk if the caller asked */
static int
sluice_xlate_chat_sse_finish(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    if (sluice_xlate_fast(st)) {
        sluice_xlate_chat_sse_head(st);
        sluice_xlate_stream_lit(st, ",\"choices\":[{\"index\":0,"
                                "\"delta\":{},\"logprobs\":null,"
                                "\"finish_reason\":\"");
        sluice_xlate_stream_cat(st, sluice_xlate_chat_stop_encode(ev->stop));

        if (sluice_xlate_stream_end_frame(st, "\"}]}\n\n") != 0) {
            return -1;
        }

    } else if (sluice_xlate_chat_sse_chunk(st, json_object(),
                   sluice_xlate_chat_stop_encode(ev->stop)) != 0)
    {
        return -1;
    }

    if (!(st->flags & SLUICE_XLATE_INCLUDE_USAGE)) {
        return 0;
    }

    return sluice_xlate_chat_sse_usage(st);
}


/* the usage chunk: no choices */
static int
sluice_xlate_chat_sse_usage(sluice_xlate_stream_t *st)
{
    int64_t                in, out;
    const sluice_usage_t  *u;

    if (sluice_xlate_fast(st)) {
        u = &st->usage;
        in = u->in > 0 ? u->in : 0;
        out = u->out > 0 ? u->out : 0;

        sluice_xlate_chat_sse_head(st);
        sluice_xlate_stream_lit(st, ",\"choices\":[],\"usage\":"
                                "{\"prompt_tokens\":");
        sluice_xlate_stream_cat_int(st, in);
        sluice_xlate_stream_lit(st, ",\"completion_tokens\":");
        sluice_xlate_stream_cat_int(st, out);
        sluice_xlate_stream_lit(st, ",\"total_tokens\":");
        sluice_xlate_stream_cat_int(st, in + out);
        sluice_xlate_stream_lit(st, ",\"prompt_tokens_details\":"
                                "{\"cached_tokens\":");
        sluice_xlate_stream_cat_int(st, u->cached > 0 ? u->cached : 0);
        sluice_xlate_stream_lit(st, "},\"completion_tokens_details\":"
                                "{\"reasoning_tokens\":");
        sluice_xlate_stream_cat_int(st, u->reasoning > 0 ? u->reasoning : 0);

        return sluice_xlate_stream_end_frame(st, "}}}\n\n");
    }

    return sluice_xlate_stream_frame(st, NULL, json_pack(
        "{s:s, s:s, s:I, s:s, s:[], s:o}", "id", st->id, "object",
        "chat.completion.chunk", "created", (json_int_t) st->created,
        "model", st->model, "choices", "usage",
        sluice_xlate_chat_usage_encode(&st->usage)));
}


/* a chunk's first members, as jansson writes them: up to "choices" */
static void
sluice_xlate_chat_sse_head(sluice_xlate_stream_t *st)
{
    sluice_xlate_stream_start(st, "data: {\"id\":");
    sluice_xlate_stream_cat_id(st, st->id);
    sluice_xlate_stream_lit(st, ",\"object\":\"chat.completion.chunk\","
                            "\"created\":");
    sluice_xlate_stream_cat_int(st, st->created);
    sluice_xlate_stream_lit(st, ",\"model\":");
    sluice_xlate_stream_cat_str(st, st->model, strlen(st->model));
}


/* one chunk with one choice; steals delta */
static int
sluice_xlate_chat_sse_chunk(sluice_xlate_stream_t *st, json_t *delta,
    const char *finish)
{
    return sluice_xlate_stream_frame(st, NULL, json_pack(
        "{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s?}]}", "id", st->id,
        "object", "chat.completion.chunk", "created",
        (json_int_t) st->created, "model", st->model, "choices", "index", 0,
        "delta", delta, "logprobs", "finish_reason", finish));
}
