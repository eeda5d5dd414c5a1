/*
 * sluice_xlate_responses_enc: canonical stream events encoded as an
 * OpenAI Responses stream.  response.created comes first; every block is
 * one output item announced (output_item.added, content_part.added or
 * reasoning_summary_part.added) before its deltas and always finished by
 * output_item.done; response.completed carries the id, every item and
 * the usage; sequence_number only grows.  Items are held (text included)
 * for those done events, up to st->max_held bytes, as the JSON text
 * they went out as (st->items).
 *
 * The objects are packed with jansson here; on the fast path the common
 * frames are written by hand instead (sluice_xlate_responses_out.c),
 * byte for byte the same.  Errors are always packed here.
 *
 * A call of a tool the caller offered as a custom (freeform) tool goes
 * out as a custom_tool_call item whose input is unescaped from the
 * target's {"input": "..."} arguments as they come
 * (response.custom_tool_call_input.delta / .done); a call of a
 * namespaced function as a function_call with its namespace (see
 * sluice_xlate_names.c).
 */

#include <string.h>
#include "sluice_xlate_int.h"


static int sluice_xlate_responses_emit(sluice_xlate_stream_t *st,
    const char *type, json_t *body);
static json_t *sluice_xlate_responses_object(sluice_xlate_stream_t *st,
    const char *status, int final);
static json_t *sluice_xlate_responses_output(sluice_xlate_stream_t *st);
static int sluice_xlate_responses_hold(sluice_xlate_stream_t *st,
    json_t *item);
static int sluice_xlate_responses_created(sluice_xlate_stream_t *st);
static int sluice_xlate_responses_added(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
static json_t *sluice_xlate_responses_new_item(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
static int sluice_xlate_responses_delta(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
static int sluice_xlate_responses_delta_frame(sluice_xlate_stream_t *st,
    int kind, const char *text, size_t len);
static int sluice_xlate_responses_input_delta(sluice_xlate_stream_t *st);
static json_t *sluice_xlate_responses_input_done(sluice_xlate_stream_t *st);
static int sluice_xlate_responses_done(sluice_xlate_stream_t *st,
    const char *status);
static int sluice_xlate_responses_part_done(sluice_xlate_stream_t *st,
    json_t *text);
static json_t *sluice_xlate_responses_done_item(sluice_xlate_stream_t *st,
    json_t *text, const char *status);
static int sluice_xlate_responses_completed(sluice_xlate_stream_t *st);
static int sluice_xlate_responses_failed(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);


#define sluice_xlate_delta_head(type)                                        \
    "event: " type "\ndata: {\"type\":\"" type "\",\"sequence_number\":"

/* a delta frame's start, by kind (0: a custom tool call's input) */
static const char  *sluice_xlate_delta_heads[] = {
    sluice_xlate_delta_head("response.custom_tool_call_input.delta"),
    sluice_xlate_delta_head("response.output_text.delta"),
    sluice_xlate_delta_head("response.function_call_arguments.delta"),
    sluice_xlate_delta_head("response.reasoning_summary_text.delta")
};


int
sluice_xlate_responses_sse_encode(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    switch (ev->type) {

    case SLUICE_XLATE_EV_START:
        return sluice_xlate_responses_created(st);

    case SLUICE_XLATE_EV_BLOCK_START:
        return sluice_xlate_responses_added(st, ev);

    case SLUICE_XLATE_EV_DELTA:
        return sluice_xlate_responses_delta(st, ev);

    case SLUICE_XLATE_EV_BLOCK_STOP:
        return sluice_xlate_responses_done(st,
                   sluice_xlate_responses_reason_encode(st->stop)
                   ? "incomplete" : "completed");

    case SLUICE_XLATE_EV_STOP:
        return sluice_xlate_responses_completed(st);

    case SLUICE_XLATE_EV_ERROR:
        return sluice_xlate_responses_failed(st, ev);

    default:
        return 0;
    }
}


/* {"type", "sequence_number", ...body}; steals body */
static int
sluice_xlate_responses_emit(sluice_xlate_stream_t *st, const char *type,
    json_t *body)
{
    json_t  *ev;

    ev = json_pack("{s:s, s:I}", "type", type, "sequence_number",
                   (json_int_t) st->seq++);

    if (ev == NULL || body == NULL || json_object_update(ev, body) != 0) {
        json_decref(ev);
        json_decref(body);
        st->rc = -1;
        return -1;
    }

    json_decref(body);

    return sluice_xlate_stream_frame(st, type, ev);
}


static json_t *
sluice_xlate_responses_object(sluice_xlate_stream_t *st, const char *status,
    int final)
{
    json_t  *r;

    r = json_pack("{s:s, s:s, s:I, s:s, s:n, s:n, s:s, s:o, s:n}",
                  "id", st->id, "object", "response", "created_at",
                  (json_int_t) st->created, "status", status, "error",
                  "incomplete_details", "model", st->model, "output",
                  sluice_xlate_responses_output(st), "usage");

    if (r && final) {
        json_object_set_new(r, "usage",
                            sluice_xlate_responses_usage_encode(&st->usage));
    }

    return r;
}


/* the items done so far, read back from the text they are held as */
static json_t *
sluice_xlate_responses_output(sluice_xlate_stream_t *st)
{
    json_t        *o;
    sluice_buf_t   b;

    sluice_buf_init(&b);

    o = (sluice_buf_append(&b, "[", 1) != 0
         || sluice_buf_append(&b, st->items.data, st->items.len) != 0
         || sluice_buf_append(&b, "]", 1) != 0)
        ? NULL : json_loadb(b.data, b.len, 0, NULL);

    sluice_buf_free(&b);

    return o;
}


/* an item done, held as text for response.completed */
static int
sluice_xlate_responses_hold(sluice_xlate_stream_t *st, json_t *item)
{
    if (st->items.len && sluice_buf_append(&st->items, ",", 1) != 0) {
        return -1;
    }

    return sluice_xlate_dump(item, &st->items);
}


static int
sluice_xlate_responses_created(sluice_xlate_stream_t *st)
{
    if (sluice_xlate_fast(st)) {
        return sluice_xlate_responses_out_created(st);
    }

    if (sluice_xlate_responses_emit(st, "response.created",
            json_pack("{s:o}", "response",
                      sluice_xlate_responses_object(st, "in_progress", 0)))
        != 0)
    {
        return -1;
    }

    return sluice_xlate_responses_emit(st, "response.in_progress",
               json_pack("{s:o}", "response",
                         sluice_xlate_responses_object(st, "in_progress",
                                                       0)));
}


static int
sluice_xlate_responses_added(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    json_int_t  index;

    index = (json_int_t) st->nblocks - 1;
    sluice_buf_reset(&st->acc);
    sluice_buf_reset(&st->input);
    memset(&st->ff, 0, sizeof(sluice_xlate_freeform_t));
    st->tool_custom = 0;

    if (sluice_xlate_fast(st)) {
        return sluice_xlate_responses_out_added(st, ev);
    }

    if (sluice_xlate_responses_emit(st, "response.output_item.added",
            json_pack("{s:I, s:o}", "output_index", index, "item",
                      sluice_xlate_responses_new_item(st, ev))) != 0)
    {
        return -1;
    }

    if (ev->kind == SLUICE_XLATE_TEXT) {
        return sluice_xlate_responses_emit(st, "response.content_part.added",
                   json_pack("{s:s, s:I, s:i, s:{s:s, s:s, s:[]}}",
                             "item_id", st->item_id, "output_index", index,
                             "content_index", 0, "part", "type",
                             "output_text", "text", "", "annotations"));
    }

    if (ev->kind == SLUICE_XLATE_THINKING) {
        return sluice_xlate_responses_emit(st,
                   "response.reasoning_summary_part.added",
                   json_pack("{s:s, s:I, s:i, s:{s:s, s:s}}",
                             "item_id", st->item_id, "output_index", index,
                             "summary_index", 0, "part", "type",
                             "summary_text", "text", ""));
    }

    return 0;
}


/* the item as announced */
static json_t *
sluice_xlate_responses_new_item(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    const char  *ns;

    if (sluice_xlate_responses_item_open(st, ev, &ns) != 0) {
        return NULL;
    }

    if (ev->kind == SLUICE_XLATE_TEXT) {
        return json_pack("{s:s, s:s, s:s, s:s, s:[]}", "type", "message",
                         "id", st->item_id, "status", "in_progress", "role",
                         "assistant", "content");
    }

    if (ev->kind == SLUICE_XLATE_THINKING) {
        return json_pack("{s:s, s:s, s:[]}", "type", "reasoning", "id",
                         st->item_id, "summary");
    }

    if (st->tool_custom) {
        return json_pack("{s:s, s:s, s:s, s:s, s:s*, s:s}", "type",
                         "custom_tool_call", "id", st->item_id, "call_id",
                         st->tool_id.data, "name", st->tool_name.data,
                         "namespace", ns, "input", "");
    }

    return json_pack("{s:s, s:s, s:s, s:s, s:s*, s:s, s:s}", "type",
                     "function_call", "id", st->item_id, "call_id",
                     st->tool_id.data, "name", st->tool_name.data,
                     "namespace", ns, "arguments", "", "status",
                     "in_progress");
}


/*
 * Opens a block's item: makes its id and, for a call, remembers what its
 * done events need again (tool_id, tool_name, tool_ns, tool_custom):
 * the caller's own custom or namespaced tool when the call is of one.
 * *ns is the namespace the item announces (NULL: none).  0, or -1 when
 * out of memory.
 */
int
sluice_xlate_responses_item_open(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev, const char **ns)
{
    char                 call[64];
    const char          *id, *name;
    sluice_xlate_tool_t  tool;

    *ns = NULL;

    if (ev->kind == SLUICE_XLATE_TEXT) {
        sluice_xlate_rand_id(st->item_id, sizeof(st->item_id), "msg_");
        return 0;
    }

    if (ev->kind == SLUICE_XLATE_THINKING) {
        sluice_xlate_rand_id(st->item_id, sizeof(st->item_id), "rs_");
        return 0;
    }

    sluice_xlate_rand_id(call, sizeof(call), "call_");

    id = (ev->id && ev->id[0]) ? ev->id : call;
    name = ev->name ? ev->name : "";
    tool.ns = NULL;

    if (sluice_xlate_names_find(st->names, name, &tool)) {
        name = tool.name;
        st->tool_custom = tool.custom ? 1 : 0;
    }

    sluice_buf_reset(&st->tool_id);
    sluice_buf_reset(&st->tool_name);
    sluice_buf_reset(&st->tool_ns);

    if (sluice_buf_append_str(&st->tool_id, id) != 0
        || sluice_buf_append_str(&st->tool_name, name) != 0
        || (tool.ns && sluice_buf_append_str(&st->tool_ns, tool.ns) != 0))
    {
        return -1;
    }

    sluice_xlate_rand_id(st->item_id, sizeof(st->item_id),
                         st->tool_custom ? "ctc_" : "fc_");
    *ns = tool.ns;

    return 0;
}


static int
sluice_xlate_responses_delta(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    if (ev->kind == SLUICE_XLATE_SIGNATURE) {
        return 0;
    }

    if (st->held + st->acc.len + st->input.len + ev->len > st->max_held) {
        return sluice_xlate_stream_error(st, SLUICE_XLATE_E_SERVER,
                   "the answer is too large to translate");
    }

    if (sluice_buf_append(&st->acc, ev->text, ev->len) != 0) {
        st->rc = -1;
        return -1;
    }

    if (ev->kind == SLUICE_XLATE_TOOL && st->tool_custom) {
        return sluice_xlate_responses_input_delta(st);
    }

    return sluice_xlate_responses_delta_frame(st, ev->kind, ev->text,
                                              ev->len);
}


/* the input decoded so far from the arguments, as far as it is new */
static int
sluice_xlate_responses_input_delta(sluice_xlate_stream_t *st)
{
    size_t  n;

    n = st->input.len;

    if (sluice_xlate_freeform_feed(&st->ff, st->acc.data, st->acc.len,
                                   &st->input) != 0)
    {
        st->rc = -1;
        return -1;
    }

    if (st->input.len == n) {
        return 0;
    }

    return sluice_xlate_responses_delta_frame(st, 0, st->input.data + n,
                                              st->input.len - n);
}


/*
 * The per-token event, written by hand (the object
 * sluice_xlate_responses_emit would make with jansson); kind 0: a
 * custom tool call's input.
 */
static int
sluice_xlate_responses_delta_frame(sluice_xlate_stream_t *st, int kind,
    const char *text, size_t len)
{
    sluice_xlate_stream_start(st, sluice_xlate_delta_heads[kind]);
    sluice_xlate_stream_cat_int(st, (int64_t) st->seq++);
    sluice_xlate_stream_lit(st, ",\"item_id\":");
    sluice_xlate_stream_cat_id(st, st->item_id);
    sluice_xlate_stream_lit(st, ",\"output_index\":");
    sluice_xlate_stream_cat_int(st, (int64_t) st->nblocks - 1);

    if (kind == SLUICE_XLATE_TEXT) {
        sluice_xlate_stream_lit(st, ",\"content_index\":0");

    } else if (kind == SLUICE_XLATE_THINKING) {
        sluice_xlate_stream_lit(st, ",\"summary_index\":0");
    }

    sluice_xlate_stream_lit(st, ",\"delta\":");
    sluice_xlate_stream_cat_json(st, text, len);

    return sluice_xlate_stream_end_frame(st, kind == SLUICE_XLATE_TEXT
                                             ? ",\"logprobs\":[]}\n\n"
                                             : "}\n\n");
}


/* the part's and the item's done events; the item is kept for the end */
static int
sluice_xlate_responses_done(sluice_xlate_stream_t *st, const char *status)
{
    int          rc;
    json_t      *text, *item;
    json_int_t   index;

    index = (json_int_t) st->nblocks - 1;

    if (st->block_kind == SLUICE_XLATE_TOOL && st->tool_custom) {
        text = sluice_xlate_responses_input_done(st);

    } else if (sluice_xlate_fast(st)) {
        return sluice_xlate_responses_out_done(st, st->acc.data
                                                   ? st->acc.data : "",
                                               st->acc.len, status);

    } else {
        text = json_stringn(st->acc.data ? st->acc.data : "", st->acc.len);
    }

    if (text && sluice_xlate_fast(st)) {
        rc = sluice_xlate_responses_out_done(st, json_string_value(text),
                                             json_string_length(text),
                                             status);
        json_decref(text);
        return rc;
    }

    if (text == NULL || sluice_xlate_responses_part_done(st, text) != 0) {
        json_decref(text);
        st->rc = -1;
        return -1;
    }

    item = sluice_xlate_responses_done_item(st, text, status);
    json_decref(text);

    if (item == NULL || sluice_xlate_responses_hold(st, item) != 0) {
        json_decref(item);
        st->rc = -1;
        return -1;
    }

    st->held += st->acc.len + st->input.len + 128;

    return sluice_xlate_responses_emit(st, "response.output_item.done",
               json_pack("{s:I, s:o}", "output_index", index, "item", item));
}


/* the done events of the text, summary or arguments */
static int
sluice_xlate_responses_part_done(sluice_xlate_stream_t *st, json_t *text)
{
    json_int_t  index;

    index = (json_int_t) st->nblocks - 1;

    if (st->block_kind == SLUICE_XLATE_TEXT) {
        return sluice_xlate_responses_emit(st, "response.output_text.done",
                   json_pack("{s:s, s:I, s:i, s:O, s:[]}", "item_id",
                             st->item_id, "output_index", index,
                             "content_index", 0, "text", text, "logprobs"))
               || sluice_xlate_responses_emit(st,
                   "response.content_part.done",
                   json_pack("{s:s, s:I, s:i, s:{s:s, s:O, s:[]}}",
                             "item_id", st->item_id, "output_index", index,
                             "content_index", 0, "part", "type",
                             "output_text", "text", text, "annotations"));
    }

    if (st->block_kind == SLUICE_XLATE_THINKING) {
        return sluice_xlate_responses_emit(st,
                   "response.reasoning_summary_text.done",
                   json_pack("{s:s, s:I, s:i, s:O}", "item_id", st->item_id,
                             "output_index", index, "summary_index", 0,
                             "text", text))
               || sluice_xlate_responses_emit(st,
                   "response.reasoning_summary_part.done",
                   json_pack("{s:s, s:I, s:i, s:{s:s, s:O}}", "item_id",
                             st->item_id, "output_index", index,
                             "summary_index", 0, "part", "type",
                             "summary_text", "text", text));
    }

    if (st->tool_custom) {
        return sluice_xlate_responses_emit(st,
                   "response.custom_tool_call_input.done",
                   json_pack("{s:s, s:I, s:O}", "item_id", st->item_id,
                             "output_index", index, "input", text));
    }

    return sluice_xlate_responses_emit(st,
               "response.function_call_arguments.done",
               json_pack("{s:s, s:I, s:O}", "item_id", st->item_id,
                         "output_index", index, "arguments", text));
}


/*
 * The whole input of a custom call.  Arguments not of the shape
 * {"input": "..."} decoded nothing on the way: their input is found
 * now and sent in one delta, so the deltas always add up to it.
 */
static json_t *
sluice_xlate_responses_input_done(sluice_xlate_stream_t *st)
{
    json_t  *in;

    if (sluice_xlate_freeform_found(&st->ff)) {
        return json_stringn(st->input.data ? st->input.data : "",
                            st->input.len);
    }

    in = sluice_xlate_freeform_input(st->acc.data, st->acc.len);

    if (in == NULL || json_string_length(in) == 0) {
        return in;
    }

    if (sluice_buf_append(&st->input, json_string_value(in),
                          json_string_length(in)) != 0
        || sluice_xlate_responses_delta_frame(st, 0, json_string_value(in),
                                              json_string_length(in)) != 0)
    {
        json_decref(in);
        return NULL;
    }

    return in;
}


static json_t *
sluice_xlate_responses_done_item(sluice_xlate_stream_t *st, json_t *text,
    const char *status)
{
    const char  *ns;

    if (st->block_kind == SLUICE_XLATE_TEXT) {
        return json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:O, s:[]}]}",
                         "type", "message", "id", st->item_id, "status",
                         status, "role", "assistant", "content", "type",
                         "output_text", "text", text, "annotations");
    }

    if (st->block_kind == SLUICE_XLATE_THINKING) {
        return json_pack("{s:s, s:s, s:[{s:s, s:O}]}", "type", "reasoning",
                         "id", st->item_id, "summary", "type",
                         "summary_text", "text", text);
    }

    ns = st->tool_ns.len ? st->tool_ns.data : NULL;

    if (st->tool_custom) {
        return json_pack("{s:s, s:s, s:s, s:s, s:s*, s:O}", "type",
                         "custom_tool_call", "id", st->item_id, "call_id",
                         st->tool_id.data ? st->tool_id.data : "", "name",
                         st->tool_name.data ? st->tool_name.data : "",
                         "namespace", ns, "input", text);
    }

    return json_pack("{s:s, s:s, s:s, s:s, s:s*, s:O, s:s}", "type",
                     "function_call", "id", st->item_id, "call_id",
                     st->tool_id.data ? st->tool_id.data : "", "name",
                     st->tool_name.data ? st->tool_name.data : "",
                     "namespace", ns, "arguments", text, "status", status);
}


/* response.completed, or response.incomplete when cut short */
static int
sluice_xlate_responses_completed(sluice_xlate_stream_t *st)
{
    json_t      *r;
    const char  *reason;

    if (sluice_xlate_fast(st)) {
        return sluice_xlate_responses_out_completed(st);
    }

    reason = sluice_xlate_responses_reason_encode(st->stop);
    r = sluice_xlate_responses_object(st, reason ? "incomplete"
                                                 : "completed", 1);

    if (r && reason) {
        json_object_set_new(r, "incomplete_details",
                            json_pack("{s:s}", "reason", reason));
    }

    return sluice_xlate_responses_emit(st, reason ? "response.incomplete"
                                                  : "response.completed",
                                       json_pack("{s:o}", "response", r));
}


/*
 * An "error" event, then response.failed.  A stream that failed before
 * it started still begins with response.created.  An open message or
 * reasoning item is finished first as incomplete; an open function call
 * is not: clients run calls from output_item.done, and cut arguments
 * must never run.
 */
static int
sluice_xlate_responses_failed(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    json_t      *r;
    const char  *code;

    if (!st->started) {
        st->started = 1;

        if (sluice_xlate_responses_created(st) != 0) {
            return -1;
        }
    }

    if (st->block_open) {
        st->block_open = 0;

        if (st->block_kind != SLUICE_XLATE_TOOL
            && sluice_xlate_responses_done(st, "incomplete") != 0)
        {
            return -1;
        }
    }

    code = ev->error == SLUICE_XLATE_E_RATE_LIMIT
           ? "rate_limit_exceeded"
           : sluice_xlate_error_type(SLUICE_XLATE_RESPONSES, ev->error);

    if (sluice_xlate_responses_emit(st, "error",
            json_pack("{s:s, s:s%, s:n}", "code", code, "message", ev->text,
                      ev->len, "param")) != 0)
    {
        return -1;
    }

    r = sluice_xlate_responses_object(st, "failed", 1);

    if (r) {
        json_object_set_new(r, "error", json_pack("{s:s, s:s%}", "code",
                            code, "message", ev->text, ev->len));
    }

    return sluice_xlate_responses_emit(st, "response.failed",
                                       json_pack("{s:o}", "response", r));
}
