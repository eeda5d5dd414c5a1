/*
 * sluice_xlate_responses_out: a responses caller's frames written by
 * hand, byte for byte as jansson writes the objects that
 * sluice_xlate_responses_enc.c packs when the fast path is off:
 * response.created and in_progress, the events announcing an item, its
 * done events, response.completed.  Errors stay with jansson.
 *
 * The items done are held as the text written here, joined by commas,
 * and response.completed copies them as they are.
 */

#include <string.h>
#include "sluice_xlate_int.h"


static void sluice_xlate_responses_out_head(sluice_xlate_stream_t *st,
    const char *type);
static void sluice_xlate_responses_out_at(sluice_xlate_stream_t *st,
    int64_t index);
static void sluice_xlate_responses_out_response(sluice_xlate_stream_t *st,
    const char *status, const char *reason, int final);
static void sluice_xlate_responses_out_usage(sluice_xlate_stream_t *st);
static void sluice_xlate_responses_out_call(sluice_xlate_stream_t *st,
    const char *ns, size_t ns_len, const char *text, size_t len,
    const char *status);
static int sluice_xlate_responses_out_part_done(sluice_xlate_stream_t *st,
    int64_t index);
static int sluice_xlate_responses_out_item_done(sluice_xlate_stream_t *st,
    int64_t index, const char *status);


/* "event: <type>\ndata: {"type":"<type>","sequence_number":<n>" */
static void
sluice_xlate_responses_out_head(sluice_xlate_stream_t *st, const char *type)
{
    sluice_xlate_stream_start(st, "event: ");
    sluice_xlate_stream_cat(st, type);
    sluice_xlate_stream_lit(st, "\ndata: {\"type\":\"");
    sluice_xlate_stream_cat(st, type);
    sluice_xlate_stream_lit(st, "\",\"sequence_number\":");
    sluice_xlate_stream_cat_int(st, (int64_t) st->seq++);
}


/* ,"item_id":<id>,"output_index":<index> */
static void
sluice_xlate_responses_out_at(sluice_xlate_stream_t *st, int64_t index)
{
    sluice_xlate_stream_lit(st, ",\"item_id\":");
    sluice_xlate_stream_cat_id(st, st->item_id);
    sluice_xlate_stream_lit(st, ",\"output_index\":");
    sluice_xlate_stream_cat_int(st, index);
}


/* sluice_xlate_responses_object, with incomplete_details when reason */
static void
sluice_xlate_responses_out_response(sluice_xlate_stream_t *st,
    const char *status, const char *reason, int final)
{
    sluice_xlate_stream_lit(st, "{\"id\":");
    sluice_xlate_stream_cat_id(st, st->id);
    sluice_xlate_stream_lit(st, ",\"object\":\"response\",\"created_at\":");
    sluice_xlate_stream_cat_int(st, st->created);
    sluice_xlate_stream_lit(st, ",\"status\":\"");
    sluice_xlate_stream_cat(st, status);
    sluice_xlate_stream_lit(st, "\",\"error\":null,\"incomplete_details\":");

    if (reason) {
        sluice_xlate_stream_lit(st, "{\"reason\":\"");
        sluice_xlate_stream_cat(st, reason);
        sluice_xlate_stream_lit(st, "\"}");

    } else {
        sluice_xlate_stream_lit(st, "null");
    }

    sluice_xlate_stream_lit(st, ",\"model\":");
    sluice_xlate_stream_cat_str(st, st->model, strlen(st->model));
    sluice_xlate_stream_lit(st, ",\"output\":[");
    sluice_xlate_stream_catn(st, st->items.data, st->items.len);
    sluice_xlate_stream_lit(st, "],\"usage\":");

    if (final) {
        sluice_xlate_responses_out_usage(st);

    } else {
        sluice_xlate_stream_lit(st, "null");
    }

    sluice_xlate_stream_lit(st, "}");
}


/* sluice_xlate_responses_usage_encode */
static void
sluice_xlate_responses_out_usage(sluice_xlate_stream_t *st)
{
    int64_t                in, out;
    const sluice_usage_t  *u;

    u = &st->usage;
    in = u->in > 0 ? u->in : 0;
    out = u->out > 0 ? u->out : 0;

    sluice_xlate_stream_lit(st, "{\"input_tokens\":");
    sluice_xlate_stream_cat_int(st, in);
    sluice_xlate_stream_lit(st, ",\"input_tokens_details\":"
                            "{\"cached_tokens\":");
    sluice_xlate_stream_cat_int(st, u->cached > 0 ? u->cached : 0);
    sluice_xlate_stream_lit(st, "},\"output_tokens\":");
    sluice_xlate_stream_cat_int(st, out);
    sluice_xlate_stream_lit(st, ",\"output_tokens_details\":"
                            "{\"reasoning_tokens\":");
    sluice_xlate_stream_cat_int(st, u->reasoning > 0 ? u->reasoning : 0);
    sluice_xlate_stream_lit(st, "},\"total_tokens\":");
    sluice_xlate_stream_cat_int(st, in + out);
    sluice_xlate_stream_lit(st, "}");
}


int
sluice_xlate_responses_out_created(sluice_xlate_stream_t *st)
{
    sluice_xlate_responses_out_head(st, "response.created");
    sluice_xlate_stream_lit(st, ",\"response\":");
    sluice_xlate_responses_out_response(st, "in_progress", NULL, 0);

    if (sluice_xlate_stream_end_frame(st, "}\n\n") != 0) {
        return -1;
    }

    sluice_xlate_responses_out_head(st, "response.in_progress");
    sluice_xlate_stream_lit(st, ",\"response\":");
    sluice_xlate_responses_out_response(st, "in_progress", NULL, 0);

    return sluice_xlate_stream_end_frame(st, "}\n\n");
}


/*
 * A call item: custom_tool_call (text: its input) or function_call
 * (text: its arguments, with status); ns NULL: no namespace.  text is
 * a JSON string already.
 */
static void
sluice_xlate_responses_out_call(sluice_xlate_stream_t *st, const char *ns,
    size_t ns_len, const char *text, size_t len, const char *status)
{
    sluice_xlate_stream_lit(st, "{\"type\":\"");
    sluice_xlate_stream_cat(st, st->tool_custom ? "custom_tool_call"
                                                : "function_call");
    sluice_xlate_stream_lit(st, "\",\"id\":");
    sluice_xlate_stream_cat_id(st, st->item_id);
    sluice_xlate_stream_lit(st, ",\"call_id\":");
    sluice_xlate_stream_cat_str(st, st->tool_id.data ? st->tool_id.data : "",
                                st->tool_id.len);
    sluice_xlate_stream_lit(st, ",\"name\":");
    sluice_xlate_stream_cat_str(st, st->tool_name.data
                                    ? st->tool_name.data : "",
                                st->tool_name.len);

    if (ns) {
        sluice_xlate_stream_lit(st, ",\"namespace\":");
        sluice_xlate_stream_cat_str(st, ns, ns_len);
    }

    sluice_xlate_stream_cat(st, st->tool_custom ? ",\"input\":"
                                                : ",\"arguments\":");
    sluice_xlate_stream_catn(st, text, len);

    if (!st->tool_custom) {
        sluice_xlate_stream_lit(st, ",\"status\":\"");
        sluice_xlate_stream_cat(st, status);
        sluice_xlate_stream_lit(st, "\"");
    }

    sluice_xlate_stream_lit(st, "}");
}


/* output_item.added, then content_part.added or summary_part.added */
int
sluice_xlate_responses_out_added(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    int64_t      index;
    const char  *ns;

    index = (int64_t) st->nblocks - 1;

    if (sluice_xlate_responses_item_open(st, ev, &ns) != 0) {
        st->rc = -1;
        return -1;
    }

    sluice_xlate_responses_out_head(st, "response.output_item.added");
    sluice_xlate_stream_lit(st, ",\"output_index\":");
    sluice_xlate_stream_cat_int(st, index);

    if (ev->kind == SLUICE_XLATE_TEXT) {
        sluice_xlate_stream_lit(st, ",\"item\":{\"type\":\"message\",\"id\":");
        sluice_xlate_stream_cat_id(st, st->item_id);
        sluice_xlate_stream_lit(st, ",\"status\":\"in_progress\","
                                "\"role\":\"assistant\",\"content\":[]}");

    } else if (ev->kind == SLUICE_XLATE_THINKING) {
        sluice_xlate_stream_lit(st, ",\"item\":{\"type\":\"reasoning\","
                                "\"id\":");
        sluice_xlate_stream_cat_id(st, st->item_id);
        sluice_xlate_stream_lit(st, ",\"summary\":[]}");

    } else {
        sluice_xlate_stream_lit(st, ",\"item\":");
        sluice_xlate_responses_out_call(st, ns, ns ? strlen(ns) : 0, "\"\"",
                                        2, "in_progress");
    }

    if (sluice_xlate_stream_end_frame(st, "}\n\n") != 0) {
        return -1;
    }

    if (ev->kind == SLUICE_XLATE_TEXT) {
        sluice_xlate_responses_out_head(st, "response.content_part.added");
        sluice_xlate_responses_out_at(st, index);
        return sluice_xlate_stream_end_frame(st, ",\"content_index\":0,"
                   "\"part\":{\"type\":\"output_text\",\"text\":\"\","
                   "\"annotations\":[]}}\n\n");
    }

    if (ev->kind == SLUICE_XLATE_THINKING) {
        sluice_xlate_responses_out_head(st,
            "response.reasoning_summary_part.added");
        sluice_xlate_responses_out_at(st, index);
        return sluice_xlate_stream_end_frame(st, ",\"summary_index\":0,"
                   "\"part\":{\"type\":\"summary_text\",\"text\":\"\"}}\n\n");
    }

    return 0;
}


/*
 * The block's done events, its text (len bytes) written once as a JSON
 * string and copied into each; the item is held for the end.
 */
int
sluice_xlate_responses_out_done(sluice_xlate_stream_t *st, const char *text,
    size_t len, const char *status)
{
    int64_t  index;

    index = (int64_t) st->nblocks - 1;
    sluice_buf_reset(&st->quoted);

    if (sluice_xlate_buf_str(&st->quoted, text, len) != 0
        || sluice_xlate_responses_out_part_done(st, index) != 0)
    {
        st->rc = -1;
        return -1;
    }

    return sluice_xlate_responses_out_item_done(st, index, status);
}


/* the done events of the text, summary, input or arguments */
static int
sluice_xlate_responses_out_part_done(sluice_xlate_stream_t *st,
    int64_t index)
{
    sluice_buf_t  *q;

    q = &st->quoted;

    if (st->block_kind == SLUICE_XLATE_TEXT) {
        sluice_xlate_responses_out_head(st, "response.output_text.done");
        sluice_xlate_responses_out_at(st, index);
        sluice_xlate_stream_lit(st, ",\"content_index\":0,\"text\":");
        sluice_xlate_stream_catn(st, q->data, q->len);

        if (sluice_xlate_stream_end_frame(st, ",\"logprobs\":[]}\n\n") != 0) {
            return -1;
        }

        sluice_xlate_responses_out_head(st, "response.content_part.done");
        sluice_xlate_responses_out_at(st, index);
        sluice_xlate_stream_lit(st, ",\"content_index\":0,\"part\":"
                                "{\"type\":\"output_text\",\"text\":");
        sluice_xlate_stream_catn(st, q->data, q->len);

        return sluice_xlate_stream_end_frame(st, ",\"annotations\":[]}}\n\n");
    }

    if (st->block_kind == SLUICE_XLATE_THINKING) {
        sluice_xlate_responses_out_head(st,
            "response.reasoning_summary_text.done");
        sluice_xlate_responses_out_at(st, index);
        sluice_xlate_stream_lit(st, ",\"summary_index\":0,\"text\":");
        sluice_xlate_stream_catn(st, q->data, q->len);

        if (sluice_xlate_stream_end_frame(st, "}\n\n") != 0) {
            return -1;
        }

        sluice_xlate_responses_out_head(st,
            "response.reasoning_summary_part.done");
        sluice_xlate_responses_out_at(st, index);
        sluice_xlate_stream_lit(st, ",\"summary_index\":0,\"part\":"
                                "{\"type\":\"summary_text\",\"text\":");
        sluice_xlate_stream_catn(st, q->data, q->len);

        return sluice_xlate_stream_end_frame(st, "}}\n\n");
    }

    sluice_xlate_responses_out_head(st, st->tool_custom
                                    ? "response.custom_tool_call_input.done"
                                    : "response.function_call_arguments.done");
    sluice_xlate_responses_out_at(st, index);
    sluice_xlate_stream_cat(st, st->tool_custom ? ",\"input\":"
                                                : ",\"arguments\":");
    sluice_xlate_stream_catn(st, q->data, q->len);

    return sluice_xlate_stream_end_frame(st, "}\n\n");
}


/* output_item.done; the item, as written, is held for the end */
static int
sluice_xlate_responses_out_item_done(sluice_xlate_stream_t *st,
    int64_t index, const char *status)
{
    size_t         from;
    sluice_buf_t  *q;

    q = &st->quoted;

    sluice_xlate_responses_out_head(st, "response.output_item.done");
    sluice_xlate_stream_lit(st, ",\"output_index\":");
    sluice_xlate_stream_cat_int(st, index);
    sluice_xlate_stream_lit(st, ",\"item\":");
    from = st->frame.len;

    if (st->block_kind == SLUICE_XLATE_TEXT) {
        sluice_xlate_stream_lit(st, "{\"type\":\"message\",\"id\":");
        sluice_xlate_stream_cat_id(st, st->item_id);
        sluice_xlate_stream_lit(st, ",\"status\":\"");
        sluice_xlate_stream_cat(st, status);
        sluice_xlate_stream_lit(st, "\",\"role\":\"assistant\",\"content\":"
                                "[{\"type\":\"output_text\",\"text\":");
        sluice_xlate_stream_catn(st, q->data, q->len);
        sluice_xlate_stream_lit(st, ",\"annotations\":[]}]}");

    } else if (st->block_kind == SLUICE_XLATE_THINKING) {
        sluice_xlate_stream_lit(st, "{\"type\":\"reasoning\",\"id\":");
        sluice_xlate_stream_cat_id(st, st->item_id);
        sluice_xlate_stream_lit(st, ",\"summary\":[{\"type\":\"summary_text\","
                                "\"text\":");
        sluice_xlate_stream_catn(st, q->data, q->len);
        sluice_xlate_stream_lit(st, "}]}");

    } else {
        sluice_xlate_responses_out_call(st, st->tool_ns.len
                                            ? st->tool_ns.data : NULL,
                                        st->tool_ns.len, q->data, q->len,
                                        status);
    }

    if (st->rc
        || (st->items.len && sluice_buf_append(&st->items, ",", 1) != 0)
        || sluice_buf_append(&st->items, st->frame.data + from,
                             st->frame.len - from) != 0)
    {
        st->rc = -1;
        return -1;
    }

    st->held += st->acc.len + st->input.len + 128;

    return sluice_xlate_stream_end_frame(st, "}\n\n");
}


/* response.completed, or response.incomplete when cut short */
int
sluice_xlate_responses_out_completed(sluice_xlate_stream_t *st)
{
    const char  *reason;

    reason = sluice_xlate_responses_reason_encode(st->stop);

    sluice_xlate_responses_out_head(st, reason ? "response.incomplete"
                                               : "response.completed");
    sluice_xlate_stream_lit(st, ",\"response\":");
    sluice_xlate_responses_out_response(st, reason ? "incomplete"
                                                   : "completed",
                                        reason, 1);

    return sluice_xlate_stream_end_frame(st, "}\n\n");
}
