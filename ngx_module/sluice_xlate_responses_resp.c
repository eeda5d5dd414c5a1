/*
 * sluice_xlate_responses_resp: whole OpenAI Responses answers to and from
 * the canonical answer, with the responses status words and usage.
 */

#include <string.h>
#include <time.h>
#include "sluice_xlate_int.h"


static int sluice_xlate_responses_item_decode(json_t *item, json_t *parts);
static int sluice_xlate_responses_texts(json_t *arr, const char *type,
    const char *key, sluice_buf_t *b);
static json_t *sluice_xlate_responses_output_encode(json_t *parts,
    const char *status);
static json_t *sluice_xlate_responses_item_encode(json_t *p,
    json_t **message, const char *status);


/* completed (end or tool), or incomplete with a reason */
int
sluice_xlate_responses_stop_decode(json_t *response, int tool)
{
    const char  *status, *reason;

    status = json_string_value(json_object_get(response, "status"));
    reason = json_string_value(json_object_get(json_object_get(response,
                                   "incomplete_details"), "reason"));

    if (status && strcmp(status, "incomplete") == 0) {
        if (reason && strcmp(reason, "content_filter") == 0) {
            return SLUICE_XLATE_STOP_FILTER;
        }

        return SLUICE_XLATE_STOP_LENGTH;
    }

    return tool ? SLUICE_XLATE_STOP_TOOL : SLUICE_XLATE_STOP_END;
}


/* incomplete_details.reason, or NULL when the answer is complete */
const char *
sluice_xlate_responses_reason_encode(int stop)
{
    switch (stop) {

    case SLUICE_XLATE_STOP_LENGTH:
        return "max_output_tokens";

    case SLUICE_XLATE_STOP_FILTER:
        return "content_filter";

    default:
        return NULL;
    }
}


json_t *
sluice_xlate_responses_resp_decode(json_t *in, sluice_usage_t *u)
{
    int      tool;
    size_t   i;
    json_t  *parts, *item, *output;

    output = json_object_get(in, "output");

    if (!json_is_array(output)) {
        return NULL;
    }

    parts = json_array();
    tool = 0;

    json_array_foreach(output, i, item) {
        tool |= sluice_xlate_responses_item_decode(item, parts);
    }

    sluice_xlate_usage_responses(json_object_get(in, "usage"), u);

    return json_pack("{s:O*, s:O*, s:O*, s:o, s:i}", "id",
                     json_object_get(in, "id"), "model",
                     json_object_get(in, "model"), "created",
                     json_object_get(in, "created_at"), "content", parts,
                     "stop", sluice_xlate_responses_stop_decode(in, tool));
}


/* appends the item's parts; 1 when it is a function call */
static int
sluice_xlate_responses_item_decode(json_t *item, json_t *parts)
{
    json_t        *args;
    const char    *type;
    sluice_buf_t   b;

    type = json_string_value(json_object_get(item, "type"));
    sluice_buf_init(&b);

    if (type && strcmp(type, "message") == 0) {
        sluice_xlate_responses_texts(json_object_get(item, "content"),
                                     "output_text", "text", &b);
        sluice_xlate_responses_texts(json_object_get(item, "content"),
                                     "refusal", "refusal", &b);
        if (b.len) {
            json_array_append_new(parts,
                                  sluice_xlate_part_text(b.data, b.len));
        }

    } else if (type && strcmp(type, "reasoning") == 0) {
        sluice_xlate_responses_texts(json_object_get(item, "summary"),
                                     "summary_text", "text", &b);
        sluice_xlate_responses_texts(json_object_get(item, "content"),
                                     "reasoning_text", "text", &b);
        if (b.len) {
            json_array_append_new(parts, json_pack("{s:s, s:s%}", "type",
                                  "thinking", "text", b.data, b.len));
        }

    } else if (type && strcmp(type, "function_call") == 0) {
        args = json_object_get(item, "arguments");
        json_array_append_new(parts, json_pack("{s:s, s:O, s:O, s:s}",
            "type", "tool_call", "id", json_object_get(item, "call_id"),
            "name", json_object_get(item, "name"), "arguments",
            json_is_string(args) ? json_string_value(args) : "{}"));
        sluice_buf_free(&b);
        return 1;
    }

    sluice_buf_free(&b);

    return 0;
}


/* appends arr[*].key of the elements of that type */
static int
sluice_xlate_responses_texts(json_t *arr, const char *type, const char *key,
    sluice_buf_t *b)
{
    size_t       i;
    json_t      *p, *t;
    const char  *pt;

    json_array_foreach(arr, i, p) {
        pt = json_string_value(json_object_get(p, "type"));
        t = json_object_get(p, key);

        if (pt && strcmp(pt, type) == 0 && json_is_string(t)
            && sluice_buf_append(b, json_string_value(t),
                                 json_string_length(t)) != 0)
        {
            return -1;
        }
    }

    return 0;
}


json_t *
sluice_xlate_responses_resp_encode(json_t *c)
{
    int              stop;
    char             id[64];
    json_t          *created;
    const char      *model, *reason;
    sluice_usage_t   u;

    sluice_xlate_rand_id(id, sizeof(id), "resp_");
    sluice_xlate_usage_from_canon(json_object_get(c, "usage"), &u);

    stop = json_integer_value(json_object_get(c, "stop"));
    reason = sluice_xlate_responses_reason_encode(stop);
    model = json_string_value(json_object_get(c, "model"));
    created = json_object_get(c, "created");

    return json_pack("{s:s, s:s, s:I, s:s, s:n, s:o, s:s, s:o, s:o}",
        "id", id, "object", "response", "created_at",
        json_is_integer(created) ? json_integer_value(created)
                                 : (json_int_t) time(NULL),
        "status", reason ? "incomplete" : "completed", "error",
        "incomplete_details",
        reason ? json_pack("{s:s}", "reason", reason) : json_null(),
        "model", model ? model : "",
        "output", sluice_xlate_responses_output_encode(json_object_get(c,
                      "content"), reason ? "incomplete" : "completed"),
        "usage", sluice_xlate_responses_usage_encode(&u));
}


/* text parts in a row share one message item */
static json_t *
sluice_xlate_responses_output_encode(json_t *parts, const char *status)
{
    size_t   i;
    json_t  *output, *p, *item, *message;

    output = json_array();
    message = NULL;

    json_array_foreach(parts, i, p) {
        item = sluice_xlate_responses_item_encode(p, &message, status);

        if (item) {
            json_array_append_new(output, item);
        }
    }

    return output;
}


/* a new item, or NULL when the part joined the current message */
static json_t *
sluice_xlate_responses_item_encode(json_t *p, json_t **message,
    const char *status)
{
    char         id[64];
    json_t      *part, *content;
    const char  *type;

    type = json_string_value(json_object_get(p, "type"));

    if (strcmp(type, "text") == 0) {
        part = json_pack("{s:s, s:O, s:[]}", "type", "output_text", "text",
                         json_object_get(p, "text"), "annotations");

        if (*message) {
            content = json_object_get(*message, "content");
            json_array_append_new(content, part);
            return NULL;
        }

        sluice_xlate_rand_id(id, sizeof(id), "msg_");
        *message = json_pack("{s:s, s:s, s:s, s:s, s:[o]}", "type",
                             "message", "id", id, "status", status,
                             "role", "assistant", "content", part);
        return *message;
    }

    *message = NULL;

    if (strcmp(type, "thinking") == 0) {
        sluice_xlate_rand_id(id, sizeof(id), "rs_");
        return json_pack("{s:s, s:s, s:[{s:s, s:O}]}", "type", "reasoning",
                         "id", id, "summary", "type", "summary_text",
                         "text", json_object_get(p, "text"));
    }

    /* a call of a custom or namespaced tool (sluice_xlate_names_apply) */
    if (json_is_true(json_object_get(p, "custom"))) {
        sluice_xlate_rand_id(id, sizeof(id), "ctc_");

        return json_pack("{s:s, s:s, s:O, s:O, s:O*, s:O}", "type",
                         "custom_tool_call", "id", id, "call_id",
                         json_object_get(p, "id"), "name",
                         json_object_get(p, "name"), "namespace",
                         json_object_get(p, "ns"), "input",
                         json_object_get(p, "input"));
    }

    sluice_xlate_rand_id(id, sizeof(id), "fc_");

    return json_pack("{s:s, s:s, s:O, s:O, s:O*, s:O, s:s}", "type",
                     "function_call", "id", id, "call_id",
                     json_object_get(p, "id"), "name",
                     json_object_get(p, "name"), "namespace",
                     json_object_get(p, "ns"), "arguments",
                     json_object_get(p, "arguments"), "status",
                     "completed");
}


json_t *
sluice_xlate_responses_usage_encode(const sluice_usage_t *u)
{
    int64_t  in, out;

    in = u->in > 0 ? u->in : 0;
    out = u->out > 0 ? u->out : 0;

    return json_pack("{s:I, s:{s:I}, s:I, s:{s:I}, s:I}",
                     "input_tokens", (json_int_t) in,
                     "input_tokens_details", "cached_tokens",
                     (json_int_t) (u->cached > 0 ? u->cached : 0),
                     "output_tokens", (json_int_t) out,
                     "output_tokens_details", "reasoning_tokens",
                     (json_int_t) (u->reasoning > 0 ? u->reasoning : 0),
                     "total_tokens", (json_int_t) (in + out));
}


void
sluice_xlate_usage_responses(json_t *usage, sluice_usage_t *u)
{
    int64_t  n;

    if ((n = sluice_xlate_count(json_object_get(usage, "input_tokens")))
        >= 0)
    {
        u->in = n;
    }

    if ((n = sluice_xlate_count(json_object_get(usage, "output_tokens")))
        >= 0)
    {
        u->out = n;
    }

    n = sluice_xlate_count(json_object_get(json_object_get(usage,
                               "input_tokens_details"), "cached_tokens"));
    if (n >= 0) {
        u->cached = n;
    }

    n = sluice_xlate_count(json_object_get(json_object_get(usage,
                               "output_tokens_details"),
                               "reasoning_tokens"));
    if (n >= 0) {
        u->reasoning = n;
    }
}
