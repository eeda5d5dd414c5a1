/*
 * sluice_xlate_responses_req: OpenAI Responses requests to and from the
 * canonical request.  Stateful features (previous_response_id, stored
 * items) have no equivalent elsewhere and are refused by name, and so
 * are items hosted tools made (web_search_call...) and a tool_choice
 * forcing a hosted tool.  Tools: sluice_xlate_responses_tools.c.
 */

#include <string.h>
#include "sluice_xlate_int.h"


#define SLUICE_XLATE_RESPONSES_MIN_OUTPUT  16


static int sluice_xlate_responses_stateful(sluice_xlate_ctx_t *x,
    json_t *in);
static int sluice_xlate_responses_instr_decode(sluice_xlate_ctx_t *x,
    json_t *instr, json_t *c);
static int sluice_xlate_responses_item_decode(sluice_xlate_ctx_t *x,
    json_t *item, json_t *c);
static int sluice_xlate_responses_msg_decode(sluice_xlate_ctx_t *x,
    json_t *item, json_t *c);
static int sluice_xlate_responses_parts_decode(sluice_xlate_ctx_t *x,
    json_t *content, json_t *msg);
static json_t *sluice_xlate_responses_part_decode(sluice_xlate_ctx_t *x,
    json_t *p);
static int sluice_xlate_responses_output_decode(sluice_xlate_ctx_t *x,
    json_t *item, json_t *c);
static int sluice_xlate_responses_choice_decode(sluice_xlate_ctx_t *x,
    json_t *in, json_t *c);
static void sluice_xlate_responses_misc_decode(json_t *in, json_t *c);
static json_t *sluice_xlate_responses_input_encode(json_t *c, json_t *o);
static int sluice_xlate_responses_msg_encode(json_t *m, json_t *input);
static json_t *sluice_xlate_responses_content_encode(json_t *parts,
    int force_array);
static int sluice_xlate_responses_tools_encode(json_t *c, json_t *o);
static void sluice_xlate_responses_misc_encode(json_t *c, json_t *o);


/* what the decoder reads; OpenAI takes null for "not given" */
static const sluice_xlate_check_t  sluice_xlate_responses_checks[] = {
    { "input", SLUICE_XLATE_T_STR | SLUICE_XLATE_T_ARR, 0, 0,
      "a string or an array" },
    { "instructions",
      SLUICE_XLATE_T_STR | SLUICE_XLATE_T_ARR | SLUICE_XLATE_T_NULL, 0, 0,
      "a string or an array" },
    { "tools", SLUICE_XLATE_T_ARR | SLUICE_XLATE_T_NULL, 0, 0, "an array" },
    { "tool_choice",
      SLUICE_XLATE_T_STR | SLUICE_XLATE_T_OBJ | SLUICE_XLATE_T_NULL, 0, 0,
      "a string or an object" },
    { "max_output_tokens", SLUICE_XLATE_T_INT | SLUICE_XLATE_T_NULL, 0, 0,
      "a non-negative integer" },
    { "temperature", SLUICE_XLATE_T_NUM | SLUICE_XLATE_T_NULL, 0, 2,
      "a number from 0 to 2" },
    { "top_p", SLUICE_XLATE_T_NUM | SLUICE_XLATE_T_NULL, 0, 1,
      "a number from 0 to 1" },
    { "parallel_tool_calls", SLUICE_XLATE_T_BOOL | SLUICE_XLATE_T_NULL, 0, 0,
      "a boolean" },
    { "user", SLUICE_XLATE_T_STR | SLUICE_XLATE_T_NULL, 0, 0, "a string" },
    { "stream", SLUICE_XLATE_T_BOOL | SLUICE_XLATE_T_NULL, 0, 0,
      "a boolean" },
    { "background", SLUICE_XLATE_T_BOOL | SLUICE_XLATE_T_NULL, 0, 0,
      "a boolean" },
    { "reasoning", SLUICE_XLATE_T_OBJ | SLUICE_XLATE_T_NULL, 0, 0,
      "an object" },
    { "reasoning.effort", SLUICE_XLATE_T_STR | SLUICE_XLATE_T_NULL, 0, 0,
      "a string" },
    { "text", SLUICE_XLATE_T_OBJ | SLUICE_XLATE_T_NULL, 0, 0, "an object" },
    { "text.format", SLUICE_XLATE_T_OBJ | SLUICE_XLATE_T_NULL, 0, 0,
      "an object" },
    { "text.format.type", SLUICE_XLATE_T_STR, 0, 0, "a string" },
    { NULL, 0, 0, 0, NULL }
};

static const sluice_xlate_field_t  sluice_xlate_responses_fields[] = {
    { "max_output_tokens", "max_tokens", SLUICE_XLATE_F_INT },
    { "temperature", "temperature", SLUICE_XLATE_F_NUM },
    { "top_p", "top_p", SLUICE_XLATE_F_NUM },
    { "parallel_tool_calls", "parallel", SLUICE_XLATE_F_BOOL },
    { "user", "user", SLUICE_XLATE_F_STR },
    { NULL, NULL, 0 }
};


int
sluice_xlate_responses_req_decode(sluice_xlate_ctx_t *x, json_t *in,
    json_t *c)
{
    size_t   i;
    json_t  *input, *item;

    if (sluice_xlate_responses_stateful(x, in) != SLUICE_XLATE_OK
        || sluice_xlate_check(x, in, sluice_xlate_responses_checks)
           != SLUICE_XLATE_OK
        || sluice_xlate_responses_instr_decode(x,
               json_object_get(in, "instructions"), c) != SLUICE_XLATE_OK)
    {
        return SLUICE_XLATE_ERROR;
    }

    input = json_object_get(in, "input");

    if (json_is_string(input)) {
        return sluice_xlate_add_part(sluice_xlate_message(c, "user", 0),
                   sluice_xlate_part_text(json_string_value(input),
                                          json_string_length(input)))
               ? sluice_xlate_nomem(x->err)
               : sluice_xlate_responses_choice_decode(x, in, c);
    }

    if (!json_is_array(input)) {
        return sluice_xlate_invalid(x, "\"input\" must be a string or array");
    }

    json_array_foreach(input, i, item) {
        if (sluice_xlate_responses_item_decode(x, item, c)
            != SLUICE_XLATE_OK)
        {
            return SLUICE_XLATE_ERROR;
        }
    }

    return sluice_xlate_responses_choice_decode(x, in, c);
}


/* state kept by the provider cannot travel to another one */
static int
sluice_xlate_responses_stateful(sluice_xlate_ctx_t *x, json_t *in)
{
    static const char  *fields[] = {
        "previous_response_id", "conversation", "prompt", NULL
    };

    const char  **f;
    json_t       *v;

    for (f = fields; *f; f++) {
        v = json_object_get(in, *f);

        if (v != NULL && !json_is_null(v)) {
            return sluice_xlate_refuse(x, "field", *f);
        }
    }

    if (json_is_true(json_object_get(in, "background"))) {
        return sluice_xlate_refuse(x, "field", "background");
    }

    return SLUICE_XLATE_OK;
}


/* a string, or input items (as a stored prompt gives them back) */
static int
sluice_xlate_responses_instr_decode(sluice_xlate_ctx_t *x, json_t *instr,
    json_t *c)
{
    size_t   i;
    json_t  *item;

    if (json_is_string(instr)) {
        return json_string_length(instr) == 0
               || sluice_xlate_add_part(sluice_xlate_message(c, "system", 1),
                      sluice_xlate_part_text(json_string_value(instr),
                                             json_string_length(instr)))
                  == 0
               ? SLUICE_XLATE_OK : sluice_xlate_nomem(x->err);
    }

    json_array_foreach(instr, i, item) {
        if (sluice_xlate_responses_item_decode(x, item, c)
            != SLUICE_XLATE_OK)
        {
            return SLUICE_XLATE_ERROR;
        }
    }

    return SLUICE_XLATE_OK;
}


static int
sluice_xlate_responses_item_decode(sluice_xlate_ctx_t *x, json_t *item,
    json_t *c)
{
    const char  *type;

    type = json_string_value(json_object_get(item, "type"));

    if (type == NULL && json_object_get(item, "role") == NULL) {
        return sluice_xlate_invalid(x, "an input item has no type");
    }

    if (type == NULL || strcmp(type, "message") == 0) {
        return sluice_xlate_responses_msg_decode(x, item, c);
    }

    if (strcmp(type, "function_call") == 0
        || strcmp(type, "custom_tool_call") == 0)
    {
        return sluice_xlate_responses_call_decode(x, item, c);
    }

    if (strcmp(type, "function_call_output") == 0
        || strcmp(type, "custom_tool_call_output") == 0)
    {
        return sluice_xlate_responses_output_decode(x, item, c);
    }

    if (strcmp(type, "reasoning") == 0) {
        /* opaque to any other provider: dropped */
        return SLUICE_XLATE_OK;
    }

    if (strcmp(type, "additional_tools") == 0) {
        return sluice_xlate_responses_tools_decode(x,
                   json_object_get(item, "tools"), c);
    }

    return sluice_xlate_refuse(x, "input item type", type);
}


static int
sluice_xlate_responses_msg_decode(sluice_xlate_ctx_t *x, json_t *item,
    json_t *c)
{
    json_t      *msg;
    const char  *role;

    role = json_string_value(json_object_get(item, "role"));

    if (role == NULL) {
        return sluice_xlate_invalid(x, "a message has no role");
    }

    if (strcmp(role, "developer") == 0 || strcmp(role, "system") == 0) {
        msg = sluice_xlate_message(c, "system", 0);

    } else if (strcmp(role, "user") == 0) {
        msg = sluice_xlate_message(c, "user", 0);

    } else if (strcmp(role, "assistant") == 0) {
        msg = sluice_xlate_message(c, "assistant", 1);

    } else {
        return sluice_xlate_refuse(x, "message role", role);
    }

    if (msg == NULL) {
        return sluice_xlate_nomem(x->err);
    }

    return sluice_xlate_responses_parts_decode(x,
               json_object_get(item, "content"), msg);
}


static int
sluice_xlate_responses_parts_decode(sluice_xlate_ctx_t *x, json_t *content,
    json_t *msg)
{
    size_t   i;
    json_t  *p, *part;

    if (json_is_string(content)) {
        return sluice_xlate_add_part(msg,
                   sluice_xlate_part_text(json_string_value(content),
                                          json_string_length(content)))
               ? sluice_xlate_nomem(x->err) : SLUICE_XLATE_OK;
    }

    if (!json_is_array(content)) {
        return sluice_xlate_invalid(x, "bad message content");
    }

    json_array_foreach(content, i, p) {
        part = sluice_xlate_responses_part_decode(x, p);

        if (part == NULL) {
            return x->err->status ? SLUICE_XLATE_ERROR
                                  : sluice_xlate_nomem(x->err);
        }

        if (sluice_xlate_add_part(msg, part) != 0) {
            return sluice_xlate_nomem(x->err);
        }
    }

    return SLUICE_XLATE_OK;
}


static json_t *
sluice_xlate_responses_part_decode(sluice_xlate_ctx_t *x, json_t *p)
{
    json_t      *t;
    const char  *type;

    type = json_string_value(json_object_get(p, "type"));

    if (type == NULL) {
        sluice_xlate_invalid(x, "a content part has no type");
        return NULL;
    }

    if (strcmp(type, "input_text") == 0 || strcmp(type, "output_text") == 0
        || strcmp(type, "text") == 0 || strcmp(type, "refusal") == 0)
    {
        t = json_object_get(p, strcmp(type, "refusal") == 0 ? "refusal"
                                                           : "text");
        if (!json_is_string(t)) {
            sluice_xlate_invalid(x, "a text part has no text");
            return NULL;
        }

        return sluice_xlate_part_text(json_string_value(t),
                                      json_string_length(t));
    }

    if (strcmp(type, "input_image") != 0) {
        sluice_xlate_refuse(x, "content part type", type);
        return NULL;
    }

    t = json_object_get(p, "image_url");

    if (!json_is_string(t)) {
        sluice_xlate_refuse(x, "input_image without image_url, source",
                            "file_id");
        return NULL;
    }

    return json_pack("{s:s, s:O, s:O*}", "type", "image", "url", t,
                     "detail", json_object_get(p, "detail"));
}


static int
sluice_xlate_responses_output_decode(sluice_xlate_ctx_t *x, json_t *item,
    json_t *c)
{
    json_t  *out, *holder, *res;

    out = json_object_get(item, "output");

    if (!json_is_string(json_object_get(item, "call_id"))
        || (!json_is_string(out) && !json_is_array(out)))
    {
        return sluice_xlate_invalid(x,
                   "a tool call output has no call_id or output");
    }

    holder = json_pack("{s:[]}", "content");

    if (holder == NULL
        || sluice_xlate_responses_parts_decode(x, out, holder)
           != SLUICE_XLATE_OK)
    {
        json_decref(holder);
        return x->err->status ? SLUICE_XLATE_ERROR
                              : sluice_xlate_nomem(x->err);
    }

    res = json_pack("{s:s, s:O, s:O}", "type", "tool_result", "id",
                    json_object_get(item, "call_id"), "content",
                    json_object_get(holder, "content"));
    json_decref(holder);

    return sluice_xlate_add_part(sluice_xlate_message(c, "tool", 1), res)
           ? sluice_xlate_nomem(x->err) : SLUICE_XLATE_OK;
}


/* tools, tool_choice and the scalars */
static int
sluice_xlate_responses_choice_decode(sluice_xlate_ctx_t *x, json_t *in,
    json_t *c)
{
    json_t      *tc, *name;
    const char  *type;

    if (sluice_xlate_responses_tools_decode(x, json_object_get(in, "tools"),
                                            c)
        != SLUICE_XLATE_OK
        || sluice_xlate_responses_tools_check(x, c) != SLUICE_XLATE_OK)
    {
        return SLUICE_XLATE_ERROR;
    }

    tc = json_object_get(in, "tool_choice");
    type = json_string_value(json_object_get(tc, "type"));

    if (json_is_string(tc)) {
        if (!sluice_xlate_mode_ok(json_string_value(tc))) {
            return sluice_xlate_invalid(x, "\"tool_choice\" must be \"none\", "
                                           "\"auto\", \"required\" or an "
                                           "object");
        }

        json_object_set_new(c, "tool_choice", json_pack("{s:O}", "mode", tc));

    } else if (type && (strcmp(type, "function") == 0
                        || strcmp(type, "custom") == 0)
               && json_is_string(json_object_get(tc, "name")))
    {
        /* a custom tool is a function by now */
        name = sluice_xlate_responses_call_name(x, tc);

        if (name == NULL) {
            return x->err->status ? SLUICE_XLATE_ERROR
                                  : sluice_xlate_nomem(x->err);
        }

        json_object_set_new(c, "tool_choice", json_pack("{s:s, s:o}",
                            "mode", "tool", "name", name));

    } else if (json_is_object(tc)) {
        /* forcing a hosted tool the target does not have, among others */
        return sluice_xlate_refuse(x, "tool_choice type", type ? type : "");
    }

    sluice_xlate_copy_fields(in, c, sluice_xlate_responses_fields, 1);
    sluice_xlate_responses_misc_decode(in, c);

    return SLUICE_XLATE_OK;
}


/* stream, reasoning.effort, text.format */
static void
sluice_xlate_responses_misc_decode(json_t *in, json_t *c)
{
    json_t      *fmt;
    const char  *type;

    if (json_is_boolean(json_object_get(in, "stream"))) {
        json_object_set(c, "stream", json_object_get(in, "stream"));
    }

    sluice_xlate_effort_set(c, json_string_value(json_object_get(
        json_object_get(in, "reasoning"), "effort")));

    fmt = json_object_get(json_object_get(in, "text"), "format");
    type = json_string_value(json_object_get(fmt, "type"));

    if (type && strcmp(type, "json_object") == 0) {
        json_object_set_new(c, "format", json_pack("{s:s}", "type", type));

    } else if (type && strcmp(type, "json_schema") == 0
               && json_is_object(json_object_get(fmt, "schema")))
    {
        json_object_set_new(c, "format",
            json_pack("{s:s, s:O, s:O*, s:O*}", "type", type, "schema",
                      json_object_get(fmt, "schema"), "name",
                      json_object_get(fmt, "name"), "strict",
                      json_object_get(fmt, "strict")));
    }
}


json_t *
sluice_xlate_responses_req_encode(sluice_xlate_ctx_t *x, json_t *c)
{
    json_t  *o;

    o = json_pack("{s:s}", "model", x->model);

    if (o == NULL || sluice_xlate_responses_input_encode(c, o) == NULL
        || sluice_xlate_responses_tools_encode(c, o) != 0)
    {
        json_decref(o);
        sluice_xlate_nomem(x->err);
        return NULL;
    }

    sluice_xlate_copy_fields(c, o, sluice_xlate_responses_fields, 0);
    sluice_xlate_responses_misc_encode(c, o);

    return o;
}


/* leading system turns become "instructions"; the rest "input" items */
static json_t *
sluice_xlate_responses_input_encode(json_t *c, json_t *o)
{
    size_t        i;
    json_t       *input, *m;
    sluice_buf_t  b;
    int           lead;

    input = json_array();
    if (input == NULL || json_object_set_new(o, "input", input) != 0) {
        return NULL;
    }

    sluice_buf_init(&b);
    lead = 1;

    json_array_foreach(json_object_get(c, "messages"), i, m) {
        if (lead && strcmp(json_string_value(json_object_get(m, "role")),
                           "system") == 0)
        {
            if ((b.len && sluice_buf_append_str(&b, "\n\n") != 0)
                || sluice_xlate_join_text(json_object_get(m, "content"),
                                          "\n\n", &b) < 0)
            {
                sluice_buf_free(&b);
                return NULL;
            }

            continue;
        }

        lead = 0;

        if (sluice_xlate_responses_msg_encode(m, input) != 0) {
            sluice_buf_free(&b);
            return NULL;
        }
    }

    if (b.len) {
        json_object_set_new(o, "instructions", json_stringn(b.data, b.len));
    }

    sluice_buf_free(&b);

    return input;
}


static int
sluice_xlate_responses_msg_encode(json_t *m, json_t *input)
{
    size_t       i;
    json_t      *p, *parts, *item;
    const char  *role, *type;

    role = json_string_value(json_object_get(m, "role"));
    parts = json_array();

    if (parts == NULL) {
        return -1;
    }

    json_array_foreach(json_object_get(m, "content"), i, p) {
        type = json_string_value(json_object_get(p, "type"));
        item = NULL;

        if (strcmp(type, "tool_call") == 0) {
            item = json_pack("{s:s, s:O, s:O, s:O}", "type", "function_call",
                             "call_id", json_object_get(p, "id"), "name",
                             json_object_get(p, "name"), "arguments",
                             json_object_get(p, "arguments"));

        } else if (strcmp(type, "tool_result") == 0) {
            item = json_pack("{s:s, s:O, s:o}", "type",
                             "function_call_output", "call_id",
                             json_object_get(p, "id"), "output",
                             sluice_xlate_responses_content_encode(
                                 json_object_get(p, "content"), 0));

        } else if (strcmp(type, "thinking") != 0) {
            json_array_append(parts, p);
            continue;
        }

        /* text before a call is the turn's text: it goes first */
        if (json_array_size(parts)) {
            json_array_append_new(input, json_pack("{s:s, s:o}", "role",
                role, "content",
                sluice_xlate_responses_content_encode(parts, 0)));
            json_array_clear(parts);
        }

        if (item) {
            json_array_append_new(input, item);
        }
    }

    if (json_array_size(parts)) {
        json_array_append_new(input, json_pack("{s:s, s:o}", "role", role,
            "content", sluice_xlate_responses_content_encode(parts,
                strcmp(role, "user") == 0)));
    }

    json_decref(parts);

    return 0;
}


/* one text part: a string (unless force_array), else input parts */
static json_t *
sluice_xlate_responses_content_encode(json_t *parts, int force_array)
{
    size_t       i;
    json_t      *arr, *p;
    const char  *type;

    if (!force_array && json_array_size(parts) == 0) {
        return json_string("");
    }

    if (!force_array && json_array_size(parts) == 1
        && !sluice_xlate_has_images(parts))
    {
        return json_incref(json_object_get(json_array_get(parts, 0),
                                           "text"));
    }

    arr = json_array();

    json_array_foreach(parts, i, p) {
        type = json_string_value(json_object_get(p, "type"));

        if (strcmp(type, "text") == 0) {
            json_array_append_new(arr, json_pack("{s:s, s:O}", "type",
                                  "input_text", "text",
                                  json_object_get(p, "text")));

        } else if (strcmp(type, "image") == 0) {
            json_array_append_new(arr, json_pack("{s:s, s:O, s:O*}", "type",
                                  "input_image", "image_url",
                                  json_object_get(p, "url"), "detail",
                                  json_object_get(p, "detail")));
        }
    }

    return arr;
}


static int
sluice_xlate_responses_tools_encode(json_t *c, json_t *o)
{
    size_t       i;
    json_t      *tools, *t, *tc;
    const char  *mode;

    tools = json_array();
    if (tools == NULL) {
        return -1;
    }

    /*
     * A responses target takes strict as true when it is left out, and
     * strict mode refuses most schemas other callers send (optional
     * properties, no additionalProperties: false): say false unless the
     * caller said true.
     */
    json_array_foreach(json_object_get(c, "tools"), i, t) {
        json_array_append_new(tools, json_pack("{s:s, s:O, s:O*, s:o, s:b}",
            "type", "function", "name", json_object_get(t, "name"),
            "description", json_object_get(t, "description"),
            "parameters",
            sluice_xlate_schema(json_object_get(t, "parameters")),
            "strict", json_is_true(json_object_get(t, "strict"))));
    }

    if (json_array_size(tools) == 0) {
        json_decref(tools);
        return 0;
    }

    json_object_set_new(o, "tools", tools);

    tc = json_object_get(c, "tool_choice");
    mode = json_string_value(json_object_get(tc, "mode"));

    if (mode && strcmp(mode, "tool") == 0) {
        json_object_set_new(o, "tool_choice", json_pack("{s:s, s:O}", "type",
                            "function", "name", json_object_get(tc, "name")));

    } else if (mode) {
        json_object_set_new(o, "tool_choice", json_string(mode));
    }

    return 0;
}


/* max_output_tokens floor, reasoning, text.format, stream, store */
static void
sluice_xlate_responses_misc_encode(json_t *c, json_t *o)
{
    json_t      *fmt;
    const char  *effort, *type, *name;

    if (json_integer_value(json_object_get(o, "max_output_tokens"))
        < SLUICE_XLATE_RESPONSES_MIN_OUTPUT
        && json_object_get(o, "max_output_tokens"))
    {
        json_object_set_new(o, "max_output_tokens",
                            json_integer(SLUICE_XLATE_RESPONSES_MIN_OUTPUT));
    }

    effort = sluice_xlate_effort_get(c);

    if (effort) {
        json_object_set_new(o, "reasoning", json_pack("{s:s}", "effort",
                                                      effort));
    }

    fmt = json_object_get(c, "format");
    type = json_string_value(json_object_get(fmt, "type"));
    name = json_string_value(json_object_get(fmt, "name"));

    if (type && strcmp(type, "json_schema") == 0) {
        json_object_set_new(o, "text", json_pack("{s:{s:s, s:s, s:O, s:O*}}",
                            "format", "type", type, "name",
                            name ? name : "response", "schema",
                            json_object_get(fmt, "schema"), "strict",
                            json_object_get(fmt, "strict")));

    } else if (type) {
        json_object_set_new(o, "text", json_pack("{s:{s:s}}", "format",
                                                 "type", type));
    }

    if (json_is_true(json_object_get(c, "stream"))) {
        json_object_set_new(o, "stream", json_true());
    }

    /* a translated caller never reads the answer back from the target */
    json_object_set_new(o, "store", json_false());
}
