/*
 * sluice_xlate_chat_req: Chat Completions requests to and from the
 * canonical request.
 */

#include <string.h>
#include "sluice_xlate_int.h"


static int sluice_xlate_chat_msg_decode(sluice_xlate_ctx_t *x, json_t *m,
    json_t *c);
static int sluice_xlate_chat_content_decode(sluice_xlate_ctx_t *x,
    json_t *content, json_t *msg);
static int sluice_xlate_chat_part_decode(sluice_xlate_ctx_t *x,
    json_t *p, json_t *msg);
static int sluice_xlate_chat_assistant_decode(sluice_xlate_ctx_t *x,
    json_t *m, json_t *c);
static int sluice_xlate_chat_tool_decode(sluice_xlate_ctx_t *x, json_t *m,
    json_t *c);
static int sluice_xlate_chat_tools_decode(sluice_xlate_ctx_t *x,
    json_t *in, json_t *c);
static int sluice_xlate_chat_choice_decode(sluice_xlate_ctx_t *x,
    json_t *in, json_t *c);
static int sluice_xlate_chat_misc_decode(sluice_xlate_ctx_t *x, json_t *in,
    json_t *c);
static json_t *sluice_xlate_chat_msgs_encode(json_t *c);
static int sluice_xlate_chat_msg_encode(json_t *m, json_t *out);
static json_t *sluice_xlate_chat_parts_encode(json_t *parts);
static json_t *sluice_xlate_chat_assistant_encode(json_t *parts);
static int sluice_xlate_chat_results_encode(json_t *parts, json_t *out);
static json_t *sluice_xlate_chat_joined(json_t *parts, int null_if_none);
static int sluice_xlate_chat_tools_encode(json_t *c, json_t *o);
static void sluice_xlate_chat_misc_encode(json_t *c, json_t *o);


/*
 * what the decoder reads; OpenAI takes null for "not given" (the fast
 * path checks the same table)
 */
const sluice_xlate_check_t  sluice_xlate_chat_checks[] = {
    { "messages", SLUICE_XLATE_T_ARR, 0, 0, "an array" },
    { "tools", SLUICE_XLATE_T_ARR | SLUICE_XLATE_T_NULL, 0, 0, "an array" },
    { "tool_choice",
      SLUICE_XLATE_T_STR | SLUICE_XLATE_T_OBJ | SLUICE_XLATE_T_NULL, 0, 0,
      "a string or an object" },
    { "max_completion_tokens", SLUICE_XLATE_T_INT | SLUICE_XLATE_T_NULL, 0,
      0, "a non-negative integer" },
    { "max_tokens", SLUICE_XLATE_T_INT | SLUICE_XLATE_T_NULL, 0, 0,
      "a non-negative integer" },
    { "temperature", SLUICE_XLATE_T_NUM | SLUICE_XLATE_T_NULL, 0, 2,
      "a number from 0 to 2" },
    { "top_p", SLUICE_XLATE_T_NUM | SLUICE_XLATE_T_NULL, 0, 1,
      "a number from 0 to 1" },
    { "stream", SLUICE_XLATE_T_BOOL | SLUICE_XLATE_T_NULL, 0, 0,
      "a boolean" },
    { "parallel_tool_calls", SLUICE_XLATE_T_BOOL | SLUICE_XLATE_T_NULL, 0, 0,
      "a boolean" },
    { "user", SLUICE_XLATE_T_STR | SLUICE_XLATE_T_NULL, 0, 0, "a string" },
    { "stop", SLUICE_XLATE_T_STR | SLUICE_XLATE_T_STRS | SLUICE_XLATE_T_NULL,
      0, 0, "a string or an array of strings" },
    { "n", SLUICE_XLATE_T_INT | SLUICE_XLATE_T_NULL, 0, 0,
      "a non-negative integer" },
    { "reasoning_effort", SLUICE_XLATE_T_STR | SLUICE_XLATE_T_NULL, 0, 0,
      "a string" },
    { "response_format", SLUICE_XLATE_T_OBJ | SLUICE_XLATE_T_NULL, 0, 0,
      "an object" },
    { "response_format.type", SLUICE_XLATE_T_STR, 0, 0, "a string" },
    { "response_format.json_schema", SLUICE_XLATE_T_OBJ, 0, 0,
      "an object" },
    { NULL, 0, 0, 0, NULL }
};

static const sluice_xlate_field_t  sluice_xlate_chat_in_fields[] = {
    { "max_completion_tokens", "max_tokens", SLUICE_XLATE_F_INT },
    { "max_tokens", "max_tokens", SLUICE_XLATE_F_INT },
    { "temperature", "temperature", SLUICE_XLATE_F_NUM },
    { "top_p", "top_p", SLUICE_XLATE_F_NUM },
    { "stream", "stream", SLUICE_XLATE_F_BOOL },
    { "parallel_tool_calls", "parallel", SLUICE_XLATE_F_BOOL },
    { "user", "user", SLUICE_XLATE_F_STR },
    { NULL, NULL, 0 }
};

static const sluice_xlate_field_t  sluice_xlate_chat_out_fields[] = {
    { "max_completion_tokens", "max_tokens", SLUICE_XLATE_F_INT },
    { "temperature", "temperature", SLUICE_XLATE_F_NUM },
    { "top_p", "top_p", SLUICE_XLATE_F_NUM },
    { "user", "user", SLUICE_XLATE_F_STR },
    { NULL, NULL, 0 }
};


int
sluice_xlate_chat_req_decode(sluice_xlate_ctx_t *x, json_t *in, json_t *c)
{
    size_t   i;
    json_t  *msgs, *m;

    if (sluice_xlate_check(x, in, sluice_xlate_chat_checks)
        != SLUICE_XLATE_OK)
    {
        return SLUICE_XLATE_ERROR;
    }

    msgs = json_object_get(in, "messages");

    if (!json_is_array(msgs)) {
        return sluice_xlate_invalid(x, "\"messages\" must be an array");
    }

    json_array_foreach(msgs, i, m) {
        if (sluice_xlate_chat_msg_decode(x, m, c) != SLUICE_XLATE_OK) {
            return SLUICE_XLATE_ERROR;
        }
    }

    if (sluice_xlate_chat_tools_decode(x, in, c) != SLUICE_XLATE_OK
        || sluice_xlate_chat_choice_decode(x, in, c) != SLUICE_XLATE_OK
        || sluice_xlate_chat_misc_decode(x, in, c) != SLUICE_XLATE_OK)
    {
        return SLUICE_XLATE_ERROR;
    }

    sluice_xlate_copy_fields(in, c, sluice_xlate_chat_in_fields, 1);

    return SLUICE_XLATE_OK;
}


static int
sluice_xlate_chat_msg_decode(sluice_xlate_ctx_t *x, json_t *m, json_t *c)
{
    json_t      *msg;
    const char  *role;

    role = json_string_value(json_object_get(m, "role"));

    if (role == NULL) {
        return sluice_xlate_invalid(x, "a message has no role");
    }

    if (strcmp(role, "assistant") == 0) {
        return sluice_xlate_chat_assistant_decode(x, m, c);
    }

    if (strcmp(role, "tool") == 0) {
        return sluice_xlate_chat_tool_decode(x, m, c);
    }

    if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
        msg = sluice_xlate_message(c, "system", 0);

    } else if (strcmp(role, "user") == 0) {
        msg = sluice_xlate_message(c, "user", 0);

    } else {
        return sluice_xlate_refuse(x, "message role", role);
    }

    if (msg == NULL) {
        return sluice_xlate_nomem(x->err);
    }

    return sluice_xlate_chat_content_decode(x, json_object_get(m, "content"),
                                            msg);
}


/* a string, an array of parts, or null */
static int
sluice_xlate_chat_content_decode(sluice_xlate_ctx_t *x, json_t *content,
    json_t *msg)
{
    size_t   i;
    json_t  *p;

    if (json_is_string(content)) {
        return sluice_xlate_add_part(msg,
                   sluice_xlate_part_text(json_string_value(content),
                                          json_string_length(content)))
               ? sluice_xlate_nomem(x->err) : SLUICE_XLATE_OK;
    }

    if (content != NULL && !json_is_null(content) && !json_is_array(content))
    {
        return sluice_xlate_invalid(x, "bad message content");
    }

    json_array_foreach(content, i, p) {
        if (sluice_xlate_chat_part_decode(x, p, msg) != SLUICE_XLATE_OK) {
            return SLUICE_XLATE_ERROR;
        }
    }

    return SLUICE_XLATE_OK;
}


static int
sluice_xlate_chat_part_decode(sluice_xlate_ctx_t *x, json_t *p, json_t *msg)
{
    json_t      *part, *img, *text;
    const char  *type;

    type = json_string_value(json_object_get(p, "type"));

    if (type == NULL) {
        return sluice_xlate_invalid(x, "a content part has no type");
    }

    text = json_object_get(p, strcmp(type, "refusal") == 0 ? "refusal"
                                                           : "text");

    if (strcmp(type, "text") == 0 || strcmp(type, "refusal") == 0) {
        if (!json_is_string(text)) {
            return sluice_xlate_invalid(x, "a text part has no text");
        }

        part = sluice_xlate_part_text(json_string_value(text),
                                      json_string_length(text));

    } else if (strcmp(type, "image_url") == 0) {
        img = json_object_get(p, "image_url");

        if (!json_is_string(json_object_get(img, "url"))) {
            return sluice_xlate_invalid(x, "an image_url part has no url");
        }

        part = json_pack("{s:s, s:O}", "type", "image", "url",
                         json_object_get(img, "url"));

        if (part && json_is_string(json_object_get(img, "detail"))) {
            json_object_set(part, "detail", json_object_get(img, "detail"));
        }

    } else {
        return sluice_xlate_refuse(x, "content part type", type);
    }

    return sluice_xlate_add_part(msg, part) ? sluice_xlate_nomem(x->err)
                                            : SLUICE_XLATE_OK;
}


static int
sluice_xlate_chat_assistant_decode(sluice_xlate_ctx_t *x, json_t *m,
    json_t *c)
{
    size_t       i;
    json_t      *msg, *calls, *call, *fn, *args, *rc;
    const char  *type;

    msg = sluice_xlate_message(c, "assistant", 0);
    if (msg == NULL) {
        return sluice_xlate_nomem(x->err);
    }

    rc = json_object_get(m, "reasoning_content");

    if (json_is_string(rc) && json_string_length(rc)
        && sluice_xlate_add_part(msg, json_pack("{s:s, s:O}", "type",
                                                "thinking", "text", rc)))
    {
        return sluice_xlate_nomem(x->err);
    }

    if (sluice_xlate_chat_content_decode(x, json_object_get(m, "content"),
                                         msg)
        != SLUICE_XLATE_OK)
    {
        return SLUICE_XLATE_ERROR;
    }

    calls = json_object_get(m, "tool_calls");

    json_array_foreach(calls, i, call) {
        type = json_string_value(json_object_get(call, "type"));

        if (type && strcmp(type, "function") != 0) {
            return sluice_xlate_refuse(x, "tool call type", type);
        }

        fn = json_object_get(call, "function");
        args = json_object_get(fn, "arguments");

        if (!json_is_string(json_object_get(call, "id"))
            || !json_is_string(json_object_get(fn, "name")))
        {
            return sluice_xlate_invalid(x, "a tool call has no id or name");
        }

        if (sluice_xlate_add_part(msg, json_pack("{s:s, s:O, s:O, s:s}",
                "type", "tool_call", "id", json_object_get(call, "id"),
                "name", json_object_get(fn, "name"), "arguments",
                json_is_string(args) ? json_string_value(args) : "{}")))
        {
            return sluice_xlate_nomem(x->err);
        }
    }

    return SLUICE_XLATE_OK;
}


static int
sluice_xlate_chat_tool_decode(sluice_xlate_ctx_t *x, json_t *m, json_t *c)
{
    json_t  *msg, *id, *res, *holder;

    id = json_object_get(m, "tool_call_id");

    if (!json_is_string(id)) {
        return sluice_xlate_invalid(x, "a tool message has no tool_call_id");
    }

    /* the result's parts are decoded like a message's, then moved */
    holder = json_pack("{s:[]}", "content");
    if (holder == NULL) {
        return sluice_xlate_nomem(x->err);
    }

    if (sluice_xlate_chat_content_decode(x, json_object_get(m, "content"),
                                         holder)
        != SLUICE_XLATE_OK)
    {
        json_decref(holder);
        return SLUICE_XLATE_ERROR;
    }

    res = json_pack("{s:s, s:O, s:O}", "type", "tool_result", "id", id,
                    "content", json_object_get(holder, "content"));
    json_decref(holder);

    msg = sluice_xlate_message(c, "tool", 1);

    return sluice_xlate_add_part(msg, res) ? sluice_xlate_nomem(x->err)
                                           : SLUICE_XLATE_OK;
}


static int
sluice_xlate_chat_tools_decode(sluice_xlate_ctx_t *x, json_t *in, json_t *c)
{
    size_t       i;
    json_t      *t, *fn, *tool, *tools;
    const char  *type;

    tools = json_object_get(c, "tools");

    json_array_foreach(json_object_get(in, "tools"), i, t) {
        type = json_string_value(json_object_get(t, "type"));

        if (type == NULL || strcmp(type, "function") != 0) {
            return sluice_xlate_refuse(x, "tool type", type ? type : "");
        }

        fn = json_object_get(t, "function");

        if (!json_is_string(json_object_get(fn, "name"))) {
            return sluice_xlate_invalid(x, "a tool has no name");
        }

        tool = json_pack("{s:O}", "name", json_object_get(fn, "name"));

        if (tool == NULL || json_array_append_new(tools, tool) != 0) {
            return sluice_xlate_nomem(x->err);
        }

        json_object_set(tool, "description",
                        json_object_get(fn, "description"));
        json_object_set(tool, "parameters",
                        json_object_get(fn, "parameters"));
        json_object_set(tool, "strict", json_object_get(fn, "strict"));
    }

    return SLUICE_XLATE_OK;
}


static int
sluice_xlate_chat_choice_decode(sluice_xlate_ctx_t *x, json_t *in, json_t *c)
{
    json_t      *tc, *name;
    const char  *type;

    tc = json_object_get(in, "tool_choice");

    if (json_is_string(tc)) {
        if (!sluice_xlate_mode_ok(json_string_value(tc))) {
            return sluice_xlate_invalid(x, "\"tool_choice\" must be \"none\", "
                                           "\"auto\", \"required\" or an "
                                           "object");
        }

        json_object_set_new(c, "tool_choice",
                            json_pack("{s:O}", "mode", tc));
        return SLUICE_XLATE_OK;
    }

    if (!json_is_object(tc)) {
        return SLUICE_XLATE_OK;
    }

    type = json_string_value(json_object_get(tc, "type"));
    name = json_object_get(json_object_get(tc, "function"), "name");

    if (type == NULL || strcmp(type, "function") != 0) {
        return sluice_xlate_refuse(x, "tool_choice type", type ? type : "");
    }

    if (!json_is_string(name)) {
        return sluice_xlate_invalid(x, "tool_choice names no function");
    }

    json_object_set_new(c, "tool_choice",
                        json_pack("{s:s, s:O}", "mode", "tool", "name",
                                  name));

    return SLUICE_XLATE_OK;
}


/* stop, n, reasoning_effort, response_format, audio */
static int
sluice_xlate_chat_misc_decode(sluice_xlate_ctx_t *x, json_t *in, json_t *c)
{
    json_t      *stop, *rf, *js;
    const char  *type;

    stop = json_object_get(in, "stop");

    if (json_is_string(stop)) {
        json_object_set_new(c, "stop", json_pack("[O]", stop));

    } else if (json_is_array(stop)) {
        json_object_set(c, "stop", stop);
    }

    if (json_integer_value(json_object_get(in, "n")) > 1) {
        return sluice_xlate_refuse(x, "field", "n");
    }

    if (json_object_get(in, "audio") != NULL
        && !json_is_null(json_object_get(in, "audio")))
    {
        return sluice_xlate_refuse(x, "field", "audio");
    }

    sluice_xlate_effort_set(c, json_string_value(json_object_get(in,
                                                     "reasoning_effort")));

    rf = json_object_get(in, "response_format");
    type = json_string_value(json_object_get(rf, "type"));
    js = json_object_get(rf, "json_schema");

    if (type && strcmp(type, "json_object") == 0) {
        json_object_set_new(c, "format", json_pack("{s:s}", "type", type));

    } else if (type && strcmp(type, "json_schema") == 0
               && json_is_object(json_object_get(js, "schema")))
    {
        json_object_set_new(c, "format",
            json_pack("{s:s, s:O, s:O*, s:O*}", "type", type, "schema",
                      json_object_get(js, "schema"), "name",
                      json_object_get(js, "name"), "strict",
                      json_object_get(js, "strict")));
    }

    return SLUICE_XLATE_OK;
}


json_t *
sluice_xlate_chat_req_encode(sluice_xlate_ctx_t *x, json_t *c)
{
    json_t  *o, *msgs;

    msgs = sluice_xlate_chat_msgs_encode(c);
    if (msgs == NULL) {
        sluice_xlate_nomem(x->err);
        return NULL;
    }

    o = json_pack("{s:s, s:o}", "model", x->model, "messages", msgs);

    if (o == NULL || sluice_xlate_chat_tools_encode(c, o) != 0) {
        json_decref(o);
        sluice_xlate_nomem(x->err);
        return NULL;
    }

    sluice_xlate_copy_fields(c, o, sluice_xlate_chat_out_fields, 0);
    sluice_xlate_chat_misc_encode(c, o);

    return o;
}


static json_t *
sluice_xlate_chat_msgs_encode(json_t *c)
{
    size_t   i;
    json_t  *out, *m;

    out = json_array();
    if (out == NULL) {
        return NULL;
    }

    json_array_foreach(json_object_get(c, "messages"), i, m) {
        if (sluice_xlate_chat_msg_encode(m, out) != 0) {
            json_decref(out);
            return NULL;
        }
    }

    return out;
}


static int
sluice_xlate_chat_msg_encode(json_t *m, json_t *out)
{
    json_t      *parts, *msg;
    const char  *role;

    role = json_string_value(json_object_get(m, "role"));
    parts = json_object_get(m, "content");

    if (strcmp(role, "tool") == 0) {
        return sluice_xlate_chat_results_encode(parts, out);
    }

    if (strcmp(role, "assistant") == 0) {
        msg = sluice_xlate_chat_assistant_encode(parts);

    } else if (strcmp(role, "system") == 0) {
        msg = json_pack("{s:s, s:o}", "role", role, "content",
                        sluice_xlate_chat_joined(parts, 0));

    } else {
        msg = json_pack("{s:s, s:o}", "role", role, "content",
                        sluice_xlate_chat_parts_encode(parts));
    }

    return json_array_append_new(out, msg);
}


/* user content: a string for one text part, else an array of parts */
static json_t *
sluice_xlate_chat_parts_encode(json_t *parts)
{
    size_t       i;
    json_t      *arr, *p, *img;
    const char  *type;

    if (json_array_size(parts) == 1 && !sluice_xlate_has_images(parts)) {
        return sluice_xlate_chat_joined(parts, 0);
    }

    arr = json_array();

    json_array_foreach(parts, i, p) {
        type = json_string_value(json_object_get(p, "type"));

        if (strcmp(type, "text") == 0) {
            json_array_append_new(arr, json_pack("{s:s, s:O}", "type",
                                      "text", "text",
                                      json_object_get(p, "text")));

        } else if (strcmp(type, "image") == 0) {
            img = json_pack("{s:O, s:O*}", "url", json_object_get(p, "url"),
                            "detail", json_object_get(p, "detail"));
            json_array_append_new(arr, json_pack("{s:s, s:o}", "type",
                                      "image_url", "image_url", img));
        }
    }

    return arr;
}


static json_t *
sluice_xlate_chat_assistant_encode(json_t *parts)
{
    size_t       i;
    json_t      *msg, *calls, *p;
    const char  *type;

    calls = json_array();
    msg = json_pack("{s:s, s:o}", "role", "assistant", "content",
                    sluice_xlate_chat_joined(parts, 1));

    if (msg == NULL || calls == NULL) {
        json_decref(calls);
        json_decref(msg);
        return NULL;
    }

    json_array_foreach(parts, i, p) {
        type = json_string_value(json_object_get(p, "type"));

        if (strcmp(type, "tool_call") == 0) {
            json_array_append_new(calls, json_pack(
                "{s:O, s:s, s:{s:O, s:O}}", "id", json_object_get(p, "id"),
                "type", "function", "function", "name",
                json_object_get(p, "name"), "arguments",
                json_object_get(p, "arguments")));
        }
    }

    if (json_array_size(calls)) {
        json_object_set_new(msg, "tool_calls", calls);

    } else {
        json_decref(calls);

        if (json_is_null(json_object_get(msg, "content"))) {
            json_object_set_new(msg, "content", json_string(""));
        }
    }

    return msg;
}


/*
 * One tool message per result; chat tool messages carry text only, so
 * images a tool returned follow in one user message after the run.
 */
static int
sluice_xlate_chat_results_encode(json_t *parts, json_t *out)
{
    int      rc;
    size_t   i, k;
    json_t  *p, *images, *img;

    images = json_array();
    if (images == NULL) {
        return -1;
    }

    json_array_foreach(parts, i, p) {
        json_array_append_new(out, json_pack("{s:s, s:O, s:o}", "role",
            "tool", "tool_call_id", json_object_get(p, "id"), "content",
            sluice_xlate_chat_joined(json_object_get(p, "content"), 0)));

        json_array_foreach(json_object_get(p, "content"), k, img) {
            if (strcmp(json_string_value(json_object_get(img, "type")),
                       "image") == 0)
            {
                json_array_append(images, img);
            }
        }
    }

    rc = json_array_size(images) == 0 ? 0
         : json_array_append_new(out, json_pack("{s:s, s:o}", "role",
               "user", "content", sluice_xlate_chat_parts_encode(images)));

    json_decref(images);

    return rc;
}


/* the text parts joined into one string; null or "" when there are none */
static json_t *
sluice_xlate_chat_joined(json_t *parts, int null_if_none)
{
    int           n;
    json_t       *s;
    sluice_buf_t  b;

    sluice_buf_init(&b);

    n = sluice_xlate_join_text(parts, "\n\n", &b);

    if (n <= 0) {
        sluice_buf_free(&b);
        return (n == 0 && null_if_none) ? json_null() : json_string("");
    }

    s = json_stringn(b.data, b.len);
    sluice_buf_free(&b);

    return s;
}


static int
sluice_xlate_chat_tools_encode(json_t *c, json_t *o)
{
    size_t       i;
    json_t      *tools, *t, *fn, *tc;
    const char  *mode;

    tools = json_array();
    if (tools == NULL) {
        return -1;
    }

    json_array_foreach(json_object_get(c, "tools"), i, t) {
        fn = json_pack("{s:O, s:O*, s:o, s:O*}", "name",
                       json_object_get(t, "name"), "description",
                       json_object_get(t, "description"), "parameters",
                       sluice_xlate_schema(json_object_get(t, "parameters")),
                       "strict", json_object_get(t, "strict"));
        json_array_append_new(tools, json_pack("{s:s, s:o}", "type",
                                               "function", "function", fn));
    }

    if (json_array_size(tools) == 0) {
        json_decref(tools);
        return 0;
    }

    json_object_set_new(o, "tools", tools);

    tc = json_object_get(c, "tool_choice");
    mode = json_string_value(json_object_get(tc, "mode"));

    if (mode && strcmp(mode, "tool") == 0) {
        json_object_set_new(o, "tool_choice", json_pack("{s:s, s:{s:O}}",
            "type", "function", "function", "name",
            json_object_get(tc, "name")));

    } else if (mode) {
        json_object_set_new(o, "tool_choice", json_string(mode));
    }

    json_object_set(o, "parallel_tool_calls", json_object_get(c, "parallel"));

    return 0;
}


/* stop, reasoning_effort, response_format, stream */
static void
sluice_xlate_chat_misc_encode(json_t *c, json_t *o)
{
    json_t      *stop, *fmt, *js;
    const char  *effort, *type, *name;

    stop = json_object_get(c, "stop");

    if (json_array_size(stop)) {
        stop = json_copy(stop);

        while (json_array_size(stop) > 4) {
            json_array_remove(stop, 4);
        }

        json_object_set_new(o, "stop", stop);
    }

    effort = sluice_xlate_effort_get(c);

    if (effort) {
        json_object_set_new(o, "reasoning_effort", json_string(effort));
    }

    fmt = json_object_get(c, "format");
    type = json_string_value(json_object_get(fmt, "type"));

    if (type && strcmp(type, "json_schema") == 0) {
        name = json_string_value(json_object_get(fmt, "name"));
        js = json_pack("{s:s, s:O, s:O*}", "name", name ? name : "response",
                       "schema", json_object_get(fmt, "schema"),
                       "strict", json_object_get(fmt, "strict"));
        json_object_set_new(o, "response_format", json_pack("{s:s, s:o}",
                            "type", type, "json_schema", js));

    } else if (type) {
        json_object_set_new(o, "response_format",
                            json_pack("{s:s}", "type", type));
    }

    if (json_is_true(json_object_get(c, "stream"))) {
        json_object_set_new(o, "stream", json_true());
        json_object_set_new(o, "stream_options",
                            json_pack("{s:b}", "include_usage", 1));
    }
}
