/*
 * sluice_xlate_messages_req: Anthropic Messages requests decoded into the
 * canonical request.
 */

#include <stdlib.h>
#include <string.h>
#include "sluice_xlate_int.h"


#define SLUICE_XLATE_USER_MAX  64


static int sluice_xlate_messages_system_decode(sluice_xlate_ctx_t *x,
    json_t *in, json_t *c);
static int sluice_xlate_messages_msg_decode(sluice_xlate_ctx_t *x,
    json_t *m, json_t *c);
static int sluice_xlate_messages_blocks_decode(sluice_xlate_ctx_t *x,
    json_t *blocks, const char *role, json_t *c, int results);
static json_t *sluice_xlate_messages_block_decode(sluice_xlate_ctx_t *x,
    json_t *b, const char *role);
static json_t *sluice_xlate_messages_image_decode(sluice_xlate_ctx_t *x,
    json_t *b);
static json_t *sluice_xlate_messages_result_decode(sluice_xlate_ctx_t *x,
    json_t *b);
static int sluice_xlate_messages_server_tool(const char *type);
static int sluice_xlate_messages_tools_decode(sluice_xlate_ctx_t *x,
    json_t *in, json_t *c);
static int sluice_xlate_messages_choice_check(sluice_xlate_ctx_t *x,
    json_t *tc);
static void sluice_xlate_messages_misc_decode(json_t *in, json_t *c);


/*
 * What the decoder reads.  Anthropic's members take no null, but for
 * system, stream and the two its spec makes nullable.  The fast path
 * checks the same table.
 */
const sluice_xlate_check_t  sluice_xlate_messages_checks[] = {
    { "messages", SLUICE_XLATE_T_ARR, 0, 0, "an array" },
    { "system", SLUICE_XLATE_T_STR | SLUICE_XLATE_T_ARR | SLUICE_XLATE_T_NULL,
      0, 0, "a string or an array" },
    { "tools", SLUICE_XLATE_T_ARR, 0, 0, "an array" },
    { "mcp_servers", SLUICE_XLATE_T_ARR, 0, 0, "an array" },
    { "tool_choice", SLUICE_XLATE_T_OBJ, 0, 0, "an object" },
    { "tool_choice.type", SLUICE_XLATE_T_STR, 0, 0, "a string" },
    { "tool_choice.name", SLUICE_XLATE_T_STR, 0, 0, "a string" },
    { "tool_choice.disable_parallel_tool_use", SLUICE_XLATE_T_BOOL, 0, 0,
      "a boolean" },
    { "max_tokens", SLUICE_XLATE_T_INT, 0, 0, "a non-negative integer" },
    { "temperature", SLUICE_XLATE_T_NUM, 0, 1, "a number from 0 to 1" },
    { "top_p", SLUICE_XLATE_T_NUM, 0, 1, "a number from 0 to 1" },
    { "stream", SLUICE_XLATE_T_BOOL | SLUICE_XLATE_T_NULL, 0, 0,
      "a boolean" },
    { "stop_sequences", SLUICE_XLATE_T_STRS, 0, 0, "an array of strings" },
    { "metadata", SLUICE_XLATE_T_OBJ, 0, 0, "an object" },
    { "metadata.user_id", SLUICE_XLATE_T_STR | SLUICE_XLATE_T_NULL, 0, 0,
      "a string" },
    { "thinking", SLUICE_XLATE_T_OBJ, 0, 0, "an object" },
    { "thinking.type", SLUICE_XLATE_T_STR, 0, 0, "a string" },
    { "thinking.budget_tokens", SLUICE_XLATE_T_INT, 0, 0,
      "a non-negative integer" },
    { "output_config", SLUICE_XLATE_T_OBJ, 0, 0, "an object" },
    { "output_config.effort", SLUICE_XLATE_T_STR | SLUICE_XLATE_T_NULL, 0, 0,
      "a string" },
    { "output_config.format", SLUICE_XLATE_T_OBJ | SLUICE_XLATE_T_NULL, 0, 0,
      "an object" },
    { NULL, 0, 0, 0, NULL }
};

static const sluice_xlate_field_t  sluice_xlate_messages_fields[] = {
    { "max_tokens", "max_tokens", SLUICE_XLATE_F_INT },
    { "temperature", "temperature", SLUICE_XLATE_F_NUM },
    { "top_p", "top_p", SLUICE_XLATE_F_NUM },
    { "stream", "stream", SLUICE_XLATE_F_BOOL },
    { NULL, NULL, 0 }
};


int
sluice_xlate_messages_req_decode(sluice_xlate_ctx_t *x, json_t *in,
    json_t *c)
{
    size_t   i;
    json_t  *msgs, *m;

    if (sluice_xlate_check(x, in, sluice_xlate_messages_checks)
        != SLUICE_XLATE_OK)
    {
        return SLUICE_XLATE_ERROR;
    }

    msgs = json_object_get(in, "messages");

    if (!json_is_array(msgs)) {
        return sluice_xlate_invalid(x, "\"messages\" must be an array");
    }

    if (sluice_xlate_messages_system_decode(x, in, c) != SLUICE_XLATE_OK) {
        return SLUICE_XLATE_ERROR;
    }

    json_array_foreach(msgs, i, m) {
        if (sluice_xlate_messages_msg_decode(x, m, c) != SLUICE_XLATE_OK) {
            return SLUICE_XLATE_ERROR;
        }
    }

    if (json_array_size(json_object_get(in, "mcp_servers"))) {
        return sluice_xlate_refuse(x, "field", "mcp_servers");
    }

    if (sluice_xlate_messages_tools_decode(x, in, c) != SLUICE_XLATE_OK) {
        return SLUICE_XLATE_ERROR;
    }

    sluice_xlate_copy_fields(in, c, sluice_xlate_messages_fields, 1);
    sluice_xlate_messages_misc_decode(in, c);

    return SLUICE_XLATE_OK;
}


static int
sluice_xlate_messages_system_decode(sluice_xlate_ctx_t *x, json_t *in,
    json_t *c)
{
    json_t  *sys, *blocks;
    int      rc;

    sys = json_object_get(in, "system");

    if (sys == NULL || json_is_null(sys)) {
        return SLUICE_XLATE_OK;
    }

    if (json_is_string(sys)) {
        blocks = json_pack("[{s:s, s:O}]", "type", "text", "text", sys);

    } else if (json_is_array(sys)) {
        blocks = json_incref(sys);

    } else {
        return sluice_xlate_invalid(x, "bad \"system\"");
    }

    rc = sluice_xlate_messages_blocks_decode(x, blocks, "system", c, 0);
    json_decref(blocks);

    return rc;
}


static int
sluice_xlate_messages_msg_decode(sluice_xlate_ctx_t *x, json_t *m,
    json_t *c)
{
    int          rc;
    json_t      *content, *blocks;
    const char  *role;

    role = json_string_value(json_object_get(m, "role"));

    if (role == NULL || (strcmp(role, "user") != 0
                         && strcmp(role, "assistant") != 0
                         && strcmp(role, "system") != 0))
    {
        return role ? sluice_xlate_refuse(x, "message role", role)
                    : sluice_xlate_invalid(x, "a message has no role");
    }

    content = json_object_get(m, "content");

    if (json_is_string(content)) {
        blocks = json_pack("[{s:s, s:O}]", "type", "text", "text", content);

    } else if (json_is_array(content)) {
        blocks = json_incref(content);

    } else {
        return sluice_xlate_invalid(x, "bad message content");
    }

    /* tool results first: they must follow the assistant's calls */
    rc = sluice_xlate_messages_blocks_decode(x, blocks, role, c, 1);

    if (rc == SLUICE_XLATE_OK) {
        rc = sluice_xlate_messages_blocks_decode(x, blocks, role, c, 0);
    }

    json_decref(blocks);

    return rc;
}


/* the blocks that are tool results (results) or the others (!results) */
static int
sluice_xlate_messages_blocks_decode(sluice_xlate_ctx_t *x, json_t *blocks,
    const char *role, json_t *c, int results)
{
    size_t       i;
    json_t      *b, *part, *msg;
    const char  *type;

    msg = NULL;

    json_array_foreach(blocks, i, b) {
        type = json_string_value(json_object_get(b, "type"));

        if (type == NULL) {
            return sluice_xlate_invalid(x, "a content block has no type");
        }

        if ((strcmp(type, "tool_result") == 0) != results) {
            continue;
        }

        part = results ? sluice_xlate_messages_result_decode(x, b)
                       : sluice_xlate_messages_block_decode(x, b, role);

        if (part == NULL) {
            if (x->err->status) {
                return SLUICE_XLATE_ERROR;
            }

            continue;
        }

        if (msg == NULL) {
            msg = sluice_xlate_message(c, results ? "tool" : role, results);
        }

        if (sluice_xlate_add_part(msg, part) != 0) {
            return sluice_xlate_nomem(x->err);
        }
    }

    return SLUICE_XLATE_OK;
}


/* NULL with err->status 0: the block is dropped */
static json_t *
sluice_xlate_messages_block_decode(sluice_xlate_ctx_t *x, json_t *b,
    const char *role)
{
    json_t      *t, *input;
    const char  *type;
    char        *args;

    type = json_string_value(json_object_get(b, "type"));

    if (strcmp(type, "text") == 0) {
        t = json_object_get(b, "text");
        return json_is_string(t)
               ? sluice_xlate_part_text(json_string_value(t),
                                        json_string_length(t))
               : NULL;
    }

    if (strcmp(type, "image") == 0 && strcmp(role, "system") != 0) {
        return sluice_xlate_messages_image_decode(x, b);
    }

    if (strcmp(type, "thinking") == 0) {
        return json_pack("{s:s, s:O, s:O*}", "type", "thinking", "text",
                         json_object_get(b, "thinking"), "signature",
                         json_object_get(b, "signature"));
    }

    if (strcmp(type, "redacted_thinking") == 0) {
        return NULL;
    }

    if (strcmp(type, "tool_use") == 0 && strcmp(role, "assistant") == 0) {
        input = json_object_get(b, "input");
        args = input ? json_dumps(input, SLUICE_XLATE_DUMP) : NULL;
        t = json_pack("{s:s, s:O, s:O, s:s}", "type", "tool_call", "id",
                      json_object_get(b, "id"), "name",
                      json_object_get(b, "name"), "arguments",
                      args ? args : "{}");
        free(args);

        if (t == NULL) {
            sluice_xlate_invalid(x, "a tool_use block has no id or name");
        }

        return t;
    }

    sluice_xlate_refuse(x, "content block type", type);

    return NULL;
}


static json_t *
sluice_xlate_messages_image_decode(sluice_xlate_ctx_t *x, json_t *b)
{
    json_t       *src, *part;
    const char   *type, *mt, *data;
    sluice_buf_t  url;

    src = json_object_get(b, "source");
    type = json_string_value(json_object_get(src, "type"));

    if (type && strcmp(type, "url") == 0
        && json_is_string(json_object_get(src, "url")))
    {
        return json_pack("{s:s, s:O}", "type", "image", "url",
                         json_object_get(src, "url"));
    }

    if (type == NULL || strcmp(type, "base64") != 0) {
        sluice_xlate_refuse(x, "image source type", type ? type : "");
        return NULL;
    }

    mt = json_string_value(json_object_get(src, "media_type"));
    data = json_string_value(json_object_get(src, "data"));

    if (mt == NULL || data == NULL) {
        sluice_xlate_invalid(x, "an image has no media_type or data");
        return NULL;
    }

    sluice_buf_init(&url);

    if (sluice_buf_append_str(&url, "data:") != 0
        || sluice_buf_append_str(&url, mt) != 0
        || sluice_buf_append_str(&url, ";base64,") != 0
        || sluice_buf_append_str(&url, data) != 0)
    {
        sluice_buf_free(&url);
        sluice_xlate_nomem(x->err);
        return NULL;
    }

    part = json_pack("{s:s, s:s%}", "type", "image", "url", url.data,
                     url.len);
    sluice_buf_free(&url);

    return part;
}


static json_t *
sluice_xlate_messages_result_decode(sluice_xlate_ctx_t *x, json_t *b)
{
    size_t       i;
    json_t      *content, *parts, *p, *part, *id;
    const char  *type;

    id = json_object_get(b, "tool_use_id");
    content = json_object_get(b, "content");

    if (!json_is_string(id)) {
        sluice_xlate_invalid(x, "a tool_result has no tool_use_id");
        return NULL;
    }

    parts = json_array();

    if (json_is_string(content)) {
        json_array_append_new(parts, sluice_xlate_part_text(
            json_string_value(content), json_string_length(content)));
    }

    json_array_foreach(content, i, p) {
        type = json_string_value(json_object_get(p, "type"));

        if (type == NULL || (strcmp(type, "text") != 0
                             && strcmp(type, "image") != 0))
        {
            json_decref(parts);
            sluice_xlate_refuse(x, "tool_result block type",
                                type ? type : "");
            return NULL;
        }

        part = sluice_xlate_messages_block_decode(x, p, "user");

        if (part == NULL) {
            if (x->err->status) {
                json_decref(parts);
                return NULL;
            }

            continue;
        }

        json_array_append_new(parts, part);
    }

    return json_pack("{s:s, s:O, s:o, s:O*}", "type", "tool_result", "id",
                     id, "content", parts, "is_error",
                     json_object_get(b, "is_error"));
}


/*
 * Anthropic's server tools (web_search_20250305...) run at Anthropic; a
 * target of another dialect has none, and offering a tool is optional:
 * they are left out of the offer.  A tool_choice forcing one, or history
 * they made (server_tool_use, web_search_tool_result...), is refused by
 * name.  Anthropic-defined client tools (bash_, text_editor_, computer_,
 * memory_) have no schema to send and stay refused.
 */
static int
sluice_xlate_messages_server_tool(const char *type)
{
    static const char  *prefixes[] = {
        "web_search_", "web_fetch_", "code_execution_", "tool_search_tool_",
        NULL
    };

    const char  **p;

    for (p = prefixes; *p; p++) {
        if (strncmp(type, *p, strlen(*p)) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
sluice_xlate_messages_tools_decode(sluice_xlate_ctx_t *x, json_t *in,
    json_t *c)
{
    size_t       i;
    json_t      *t, *tool, *tc, *dis, *dropped;
    const char  *type, *mode;

    tc = json_object_get(in, "tool_choice");
    dropped = NULL;

    json_array_foreach(json_object_get(in, "tools"), i, t) {
        type = json_string_value(json_object_get(t, "type"));

        if (type && sluice_xlate_messages_server_tool(type)) {
            if (json_equal(json_object_get(t, "name"),
                           json_object_get(tc, "name")))
            {
                dropped = t;
            }

            continue;
        }

        if (type && strcmp(type, "custom") != 0) {
            return sluice_xlate_refuse(x, "tool type", type);
        }

        tool = json_pack("{s:O, s:O*, s:O*}", "name",
                         json_object_get(t, "name"), "description",
                         json_object_get(t, "description"), "parameters",
                         json_object_get(t, "input_schema"));

        if (tool == NULL) {
            return sluice_xlate_invalid(x, "a tool has no name");
        }

        json_array_append_new(json_object_get(c, "tools"), tool);
    }

    if (tc && sluice_xlate_messages_choice_check(x, tc) != SLUICE_XLATE_OK) {
        return SLUICE_XLATE_ERROR;
    }

    mode = json_string_value(json_object_get(tc, "type"));
    dis = json_object_get(tc, "disable_parallel_tool_use");

    if (dropped && mode && strcmp(mode, "tool") == 0) {
        return sluice_xlate_refuse(x, "tool_choice of server tool",
                   json_string_value(json_object_get(dropped, "type")));
    }

    if (mode && strcmp(mode, "any") == 0) {
        mode = "required";
    }

    if (mode) {
        json_object_set_new(c, "tool_choice", json_pack("{s:s, s:O*}",
                            "mode", mode, "name",
                            json_object_get(tc, "name")));
    }

    if (json_is_true(dis)) {
        json_object_set_new(c, "parallel", json_false());
    }

    return SLUICE_XLATE_OK;
}


/* {"type": "auto" | "any" | "none" | "tool", "name"?} */
static int
sluice_xlate_messages_choice_check(sluice_xlate_ctx_t *x, json_t *tc)
{
    const char   *type, **t;

    static const char  *types[] = { "auto", "any", "none", "tool", NULL };

    type = json_string_value(json_object_get(tc, "type"));

    if (type == NULL) {
        return sluice_xlate_invalid(x, "\"tool_choice\" has no \"type\"");
    }

    for (t = types; *t; t++) {
        if (strcmp(*t, type) == 0) {
            break;
        }
    }

    if (*t == NULL) {
        return sluice_xlate_refuse(x, "tool_choice type", type);
    }

    if (strcmp(type, "tool") == 0
        && !json_is_string(json_object_get(tc, "name")))
    {
        return sluice_xlate_invalid(x, "\"tool_choice.name\" must be a "
                                       "string");
    }

    return SLUICE_XLATE_OK;
}


/* stop_sequences, metadata.user_id, thinking, output_config */
static void
sluice_xlate_messages_misc_decode(json_t *in, json_t *c)
{
    json_t      *stop, *user, *th, *oc, *fmt;
    const char  *type;

    stop = json_object_get(in, "stop_sequences");

    if (json_array_size(stop)) {
        json_object_set(c, "stop", stop);
    }

    user = json_object_get(json_object_get(in, "metadata"), "user_id");

    if (json_is_string(user)
        && json_string_length(user) <= SLUICE_XLATE_USER_MAX)
    {
        json_object_set(c, "user", user);
    }

    oc = json_object_get(in, "output_config");
    sluice_xlate_effort_set(c, json_string_value(json_object_get(oc,
                                                                 "effort")));

    fmt = json_object_get(oc, "format");

    if (json_is_object(json_object_get(fmt, "schema"))) {
        json_object_set_new(c, "format", json_pack("{s:s, s:O}", "type",
                            "json_schema", "schema",
                            json_object_get(fmt, "schema")));
    }

    th = json_object_get(in, "thinking");
    type = json_string_value(json_object_get(th, "type"));

    if (type && strcmp(type, "enabled") == 0
        && json_is_integer(json_object_get(th, "budget_tokens")))
    {
        json_object_set(c, "budget", json_object_get(th, "budget_tokens"));

    } else if (type && strcmp(type, "disabled") == 0) {
        json_object_set_new(c, "thinking_off", json_true());
    }
}
