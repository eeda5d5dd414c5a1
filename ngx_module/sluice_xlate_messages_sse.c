/*
 * sluice_xlate_messages_sse: Anthropic Messages streams to and from
 * canonical stream events.  Every frame the caller gets has an "event:"
 * line (the SDK ignores frames without one) and message_delta always
 * carries usage.output_tokens.  Frames are packed with jansson, or on
 * the fast path written by hand, the same bytes (errors: jansson).
 */

#include <stdlib.h>
#include <string.h>
#include "sluice_xlate_int.h"


static int sluice_xlate_messages_sse_start(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_messages_sse_block(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_messages_sse_delta(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_messages_sse_stop(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_messages_sse_error(sluice_xlate_stream_t *st,
    json_t *data);
static int sluice_xlate_messages_sse_simple(sluice_xlate_stream_t *st,
    int type);
static json_t *sluice_xlate_messages_sse_block_json(
    const sluice_xlate_ev_t *ev);
static int sluice_xlate_messages_sse_delta_frame(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev, json_int_t index);
static int sluice_xlate_messages_sse_fast_frame(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev, json_int_t index);
static void sluice_xlate_messages_sse_head(sluice_xlate_stream_t *st,
    const char *type);
static void sluice_xlate_messages_sse_usage(sluice_xlate_stream_t *st);
static void sluice_xlate_messages_sse_block_text(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);


int
sluice_xlate_messages_sse_decode(sluice_xlate_stream_t *st,
    const sluice_sse_event_t *ev, json_t *data)
{
    const char  *type;

    (void) ev;

    type = json_string_value(json_object_get(data, "type"));

    if (type == NULL) {
        return 0;
    }

    if (strcmp(type, "message_start") == 0) {
        return sluice_xlate_messages_sse_start(st, data);
    }

    if (strcmp(type, "content_block_start") == 0) {
        return sluice_xlate_messages_sse_block(st, data);
    }

    if (strcmp(type, "content_block_delta") == 0) {
        return sluice_xlate_messages_sse_delta(st, data);
    }

    if (strcmp(type, "content_block_stop") == 0) {
        if (st->up_skip) {
            st->up_skip = 0;
            return 0;
        }

        return sluice_xlate_messages_sse_simple(st,
                                                SLUICE_XLATE_EV_BLOCK_STOP);
    }

    if (strcmp(type, "message_delta") == 0) {
        return sluice_xlate_messages_sse_stop(st, data);
    }

    if (strcmp(type, "message_stop") == 0) {
        return sluice_xlate_messages_sse_simple(st, SLUICE_XLATE_EV_STOP);
    }

    if (strcmp(type, "ping") == 0) {
        return sluice_xlate_messages_sse_simple(st, SLUICE_XLATE_EV_PING);
    }

    if (strcmp(type, "error") == 0) {
        return sluice_xlate_messages_sse_error(st, data);
    }

    return 0;
}


static int
sluice_xlate_messages_sse_start(sluice_xlate_stream_t *st, json_t *data)
{
    size_t       n;
    json_t      *msg;
    const char  *model;

    msg = json_object_get(data, "message");
    model = json_string_value(json_object_get(msg, "model"));

    if (model && !st->started) {
        n = strlen(model);
        n = n < sizeof(st->model) ? n : sizeof(st->model) - 1;
        memcpy(st->model, model, n);
        st->model[n] = '\0';
    }

    sluice_xlate_usage_messages(json_object_get(msg, "usage"), &st->usage);

    return sluice_xlate_messages_sse_simple(st, SLUICE_XLATE_EV_START);
}


/* text, thinking and tool_use blocks; others are skipped whole */
static int
sluice_xlate_messages_sse_block(sluice_xlate_stream_t *st, json_t *data)
{
    char               *args;
    json_t             *cb, *v;
    const char         *type;
    sluice_xlate_ev_t   ev;

    cb = json_object_get(data, "content_block");
    type = json_string_value(json_object_get(cb, "type"));

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = SLUICE_XLATE_EV_BLOCK_START;
    ev.id = json_string_value(json_object_get(cb, "id"));
    ev.name = json_string_value(json_object_get(cb, "name"));

    st->up_skip = 0;

    if (type && strcmp(type, "text") == 0) {
        ev.kind = SLUICE_XLATE_TEXT;
        v = json_object_get(cb, "text");

    } else if (type && strcmp(type, "thinking") == 0) {
        ev.kind = SLUICE_XLATE_THINKING;
        v = json_object_get(cb, "thinking");

    } else if (type && strcmp(type, "tool_use") == 0 && ev.id && ev.name) {
        ev.kind = SLUICE_XLATE_TOOL;
        v = NULL;

    } else {
        st->up_skip = 1;
        return 0;
    }

    if (sluice_xlate_stream_event(st, &ev) != 0) {
        return -1;
    }

    if (json_is_string(v)) {
        return sluice_xlate_stream_text(st, ev.kind, json_string_value(v),
                                        json_string_length(v));
    }

    v = json_object_get(cb, "input");

    if (ev.kind == SLUICE_XLATE_TOOL && json_object_size(v)) {
        args = json_dumps(v, SLUICE_XLATE_DUMP);
        sluice_xlate_stream_text(st, SLUICE_XLATE_TOOL, args ? args : "",
                                 args ? strlen(args) : 0);
        free(args);
    }

    return 0;
}


static int
sluice_xlate_messages_sse_delta(sluice_xlate_stream_t *st, json_t *data)
{
    int          kind;
    json_t      *d, *v;
    const char  *type;

    if (st->up_skip) {
        return 0;
    }

    d = json_object_get(data, "delta");
    type = json_string_value(json_object_get(d, "type"));

    if (type == NULL) {
        return 0;
    }

    if (strcmp(type, "text_delta") == 0) {
        kind = SLUICE_XLATE_TEXT;
        v = json_object_get(d, "text");

    } else if (strcmp(type, "input_json_delta") == 0) {
        kind = SLUICE_XLATE_TOOL;
        v = json_object_get(d, "partial_json");

    } else if (strcmp(type, "thinking_delta") == 0) {
        kind = SLUICE_XLATE_THINKING;
        v = json_object_get(d, "thinking");

    } else if (strcmp(type, "signature_delta") == 0) {
        kind = SLUICE_XLATE_SIGNATURE;
        v = json_object_get(d, "signature");

    } else {
        return 0;
    }

    return sluice_xlate_stream_text(st, kind, json_string_value(v),
                                    json_string_length(v));
}


static int
sluice_xlate_messages_sse_stop(sluice_xlate_stream_t *st, json_t *data)
{
    json_t             *d;
    sluice_xlate_ev_t   ev;

    d = json_object_get(data, "delta");

    sluice_xlate_usage_messages(json_object_get(data, "usage"), &st->usage);

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = SLUICE_XLATE_EV_MESSAGE_DELTA;
    ev.stop = sluice_xlate_messages_stop_decode(json_string_value(
                  json_object_get(d, "stop_reason")));
    ev.stop_seq = json_string_value(json_object_get(d, "stop_sequence"));

    return sluice_xlate_stream_event(st, &ev);
}


static int
sluice_xlate_messages_sse_error(sluice_xlate_stream_t *st, json_t *data)
{
    json_t      *e;
    const char  *msg;

    e = json_object_get(data, "error");
    msg = json_string_value(json_object_get(e, "message"));

    return sluice_xlate_stream_error(st,
               sluice_xlate_error_kind(500, json_string_value(
                   json_object_get(e, "type"))),
               msg ? msg : "the upstream failed");
}


static int
sluice_xlate_messages_sse_simple(sluice_xlate_stream_t *st, int type)
{
    sluice_xlate_ev_t  ev;

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = type;

    return sluice_xlate_stream_event(st, &ev);
}


int
sluice_xlate_messages_sse_encode(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    json_int_t  index;

    index = (json_int_t) st->nblocks - 1;

    if (ev->type == SLUICE_XLATE_EV_DELTA) {
        return sluice_xlate_messages_sse_delta_frame(st, ev, index);
    }

    if (sluice_xlate_fast(st) && ev->type != SLUICE_XLATE_EV_ERROR) {
        return sluice_xlate_messages_sse_fast_frame(st, ev, index);
    }

    switch (ev->type) {

    case SLUICE_XLATE_EV_START:
        return sluice_xlate_stream_frame(st, "message_start", json_pack(
            "{s:s, s:{s:s, s:s, s:s, s:s, s:[], s:n, s:n, s:o}}",
            "type", "message_start", "message", "id", st->id, "type",
            "message", "role", "assistant", "model", st->model, "content",
            "stop_reason", "stop_sequence", "usage",
            sluice_xlate_messages_usage_encode(&st->usage)));

    case SLUICE_XLATE_EV_BLOCK_START:
        return sluice_xlate_stream_frame(st, "content_block_start",
            json_pack("{s:s, s:I, s:o}", "type", "content_block_start",
                      "index", index, "content_block",
                      sluice_xlate_messages_sse_block_json(ev)));

    case SLUICE_XLATE_EV_BLOCK_STOP:
        return sluice_xlate_stream_frame(st, "content_block_stop",
            json_pack("{s:s, s:I}", "type", "content_block_stop", "index",
                      index));

    case SLUICE_XLATE_EV_MESSAGE_DELTA:
        return sluice_xlate_stream_frame(st, "message_delta", json_pack(
            "{s:s, s:{s:s, s:s?}, s:o}", "type", "message_delta", "delta",
            "stop_reason", sluice_xlate_messages_stop_encode(ev->stop),
            "stop_sequence", ev->stop_seq, "usage",
            sluice_xlate_messages_usage_encode(&st->usage)));

    case SLUICE_XLATE_EV_STOP:
        return sluice_xlate_stream_frame(st, "message_stop",
                                         json_pack("{s:s}", "type",
                                                   "message_stop"));

    default:
        return sluice_xlate_stream_frame(st, "error",
            sluice_xlate_error_envelope(SLUICE_XLATE_MESSAGES, ev->error,
                                        ev->text, NULL));
    }
}


static json_t *
sluice_xlate_messages_sse_block_json(const sluice_xlate_ev_t *ev)
{
    char  id[64];

    switch (ev->kind) {

    case SLUICE_XLATE_TOOL:
        if (ev->id == NULL || ev->id[0] == '\0') {
            sluice_xlate_rand_id(id, sizeof(id), "toolu_");
        }

        return json_pack("{s:s, s:s, s:s, s:{}}", "type", "tool_use", "id",
                         (ev->id && ev->id[0]) ? ev->id : id, "name",
                         ev->name ? ev->name : "", "input");

    case SLUICE_XLATE_THINKING:
        return json_pack("{s:s, s:s, s:s}", "type", "thinking", "thinking",
                         "", "signature", "");

    default:
        return json_pack("{s:s, s:s}", "type", "text", "text", "");
    }
}


/* the per-token frame, written by hand */
static int
sluice_xlate_messages_sse_delta_frame(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev, json_int_t index)
{
    static const char  *names[] = {
        NULL,
        ",\"delta\":{\"type\":\"text_delta\",\"text\":",
        ",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":",
        ",\"delta\":{\"type\":\"thinking_delta\",\"thinking\":",
        ",\"delta\":{\"type\":\"signature_delta\",\"signature\":"
    };

    sluice_xlate_stream_start(st, "event: content_block_delta\n"
                              "data: {\"type\":\"content_block_delta\","
                              "\"index\":");
    sluice_xlate_stream_cat_int(st, index);
    sluice_xlate_stream_cat(st, names[ev->kind]);
    sluice_xlate_stream_cat_json(st, ev->text, ev->len);

    return sluice_xlate_stream_end_frame(st, "}}\n\n");
}


/*
 * The other frames, written by hand as jansson would write them (the
 * objects sluice_xlate_messages_sse_encode packs), error aside.
 */
static int
sluice_xlate_messages_sse_fast_frame(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev, json_int_t index)
{
    const char  *seq;

    switch (ev->type) {

    case SLUICE_XLATE_EV_START:
        sluice_xlate_messages_sse_head(st, "message_start");
        sluice_xlate_stream_lit(st, ",\"message\":{\"id\":");
        sluice_xlate_stream_cat_id(st, st->id);
        sluice_xlate_stream_lit(st, ",\"type\":\"message\",\"role\":"
                                "\"assistant\",\"model\":");
        sluice_xlate_stream_cat_str(st, st->model, strlen(st->model));
        sluice_xlate_stream_lit(st, ",\"content\":[],\"stop_reason\":null,"
                                "\"stop_sequence\":null,\"usage\":");
        sluice_xlate_messages_sse_usage(st);
        return sluice_xlate_stream_end_frame(st, "}}\n\n");

    case SLUICE_XLATE_EV_BLOCK_START:
        sluice_xlate_messages_sse_head(st, "content_block_start");
        sluice_xlate_stream_lit(st, ",\"index\":");
        sluice_xlate_stream_cat_int(st, index);
        sluice_xlate_stream_lit(st, ",\"content_block\":");
        sluice_xlate_messages_sse_block_text(st, ev);
        return sluice_xlate_stream_end_frame(st, "}\n\n");

    case SLUICE_XLATE_EV_BLOCK_STOP:
        sluice_xlate_messages_sse_head(st, "content_block_stop");
        sluice_xlate_stream_lit(st, ",\"index\":");
        sluice_xlate_stream_cat_int(st, index);
        return sluice_xlate_stream_end_frame(st, "}\n\n");

    case SLUICE_XLATE_EV_MESSAGE_DELTA:
        seq = ev->stop_seq;

        sluice_xlate_messages_sse_head(st, "message_delta");
        sluice_xlate_stream_lit(st, ",\"delta\":{\"stop_reason\":\"");
        sluice_xlate_stream_cat(st,
                                sluice_xlate_messages_stop_encode(ev->stop));
        sluice_xlate_stream_lit(st, "\",\"stop_sequence\":");

        if (seq) {
            sluice_xlate_stream_cat_str(st, seq, strlen(seq));

        } else {
            sluice_xlate_stream_lit(st, "null");
        }

        sluice_xlate_stream_lit(st, "},\"usage\":");
        sluice_xlate_messages_sse_usage(st);
        return sluice_xlate_stream_end_frame(st, "}\n\n");

    default:
        sluice_xlate_messages_sse_head(st, "message_stop");
        return sluice_xlate_stream_end_frame(st, "}\n\n");
    }
}


/* "event: <type>\ndata: {"type":"<type>"" */
static void
sluice_xlate_messages_sse_head(sluice_xlate_stream_t *st, const char *type)
{
    sluice_xlate_stream_start(st, "event: ");
    sluice_xlate_stream_cat(st, type);
    sluice_xlate_stream_lit(st, "\ndata: {\"type\":\"");
    sluice_xlate_stream_cat(st, type);
    sluice_xlate_stream_lit(st, "\"");
}


/* sluice_xlate_messages_usage_encode */
static void
sluice_xlate_messages_sse_usage(sluice_xlate_stream_t *st)
{
    int64_t                in, cached;
    const sluice_usage_t  *u;

    u = &st->usage;
    cached = u->cached > 0 ? u->cached : 0;
    in = u->in > cached ? u->in - cached : 0;

    sluice_xlate_stream_lit(st, "{\"input_tokens\":");
    sluice_xlate_stream_cat_int(st, in);
    sluice_xlate_stream_lit(st, ",\"cache_creation_input_tokens\":0,"
                            "\"cache_read_input_tokens\":");
    sluice_xlate_stream_cat_int(st, cached);
    sluice_xlate_stream_lit(st, ",\"output_tokens\":");
    sluice_xlate_stream_cat_int(st, u->out > 0 ? u->out : 0);
    sluice_xlate_stream_lit(st, "}");
}


/* sluice_xlate_messages_sse_block_json */
static void
sluice_xlate_messages_sse_block_text(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    char         id[64];
    const char  *s;

    switch (ev->kind) {

    case SLUICE_XLATE_TOOL:
        if (ev->id == NULL || ev->id[0] == '\0') {
            sluice_xlate_rand_id(id, sizeof(id), "toolu_");
        }

        s = (ev->id && ev->id[0]) ? ev->id : id;
        sluice_xlate_stream_lit(st, "{\"type\":\"tool_use\",\"id\":");
        sluice_xlate_stream_cat_str(st, s, strlen(s));
        sluice_xlate_stream_lit(st, ",\"name\":");
        s = ev->name ? ev->name : "";
        sluice_xlate_stream_cat_str(st, s, strlen(s));
        sluice_xlate_stream_lit(st, ",\"input\":{}}");
        return;

    case SLUICE_XLATE_THINKING:
        sluice_xlate_stream_lit(st, "{\"type\":\"thinking\",\"thinking\":"
                                "\"\",\"signature\":\"\"}");
        return;

    default:
        sluice_xlate_stream_lit(st, "{\"type\":\"text\",\"text\":\"\"}");
    }
}
