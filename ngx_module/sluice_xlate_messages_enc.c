/*
 * sluice_xlate_messages_enc: the canonical request encoded as an
 * Anthropic Messages request: system turns hoisted, tool results as user
 * turns, max_tokens always set, thinking only where the target takes it.
 */

#include <stdlib.h>
#include <string.h>
#include "sluice_xlate_int.h"


#define SLUICE_XLATE_MESSAGES_MAX_TOKENS  4096
#define SLUICE_XLATE_MESSAGES_MIN_BUDGET  1024


static json_t *sluice_xlate_messages_msgs_encode(json_t *c, json_t *system);
static int sluice_xlate_messages_msg_encode(json_t *m, json_t *out,
    json_t *system);
static json_t *sluice_xlate_messages_block_encode(json_t *p);
static json_t *sluice_xlate_messages_image_encode(json_t *p);
static json_t *sluice_xlate_messages_result_encode(json_t *p);
static json_t *sluice_xlate_messages_id(json_t *id);
static int sluice_xlate_messages_tools_encode(json_t *c, json_t *o);
static void sluice_xlate_messages_thinking_encode(json_t *c, json_t *o,
    json_t *msgs);
static int sluice_xlate_messages_last_tool_use(json_t *msgs);
static void sluice_xlate_messages_misc_encode(json_t *c, json_t *o);


json_t *
sluice_xlate_messages_req_encode(sluice_xlate_ctx_t *x, json_t *c)
{
    json_t      *o, *msgs, *system, *fmt;
    const char  *type;

    fmt = json_object_get(c, "format");
    type = json_string_value(json_object_get(fmt, "type"));

    if (type && strcmp(type, "json_schema") == 0) {
        sluice_xlate_refuse(x, "response format", type);
        return NULL;
    }

    system = json_array();
    msgs = sluice_xlate_messages_msgs_encode(c, system);

    o = json_pack("{s:s, s:I, s:o, s:o}", "model", x->model, "max_tokens",
                  (json_int_t) SLUICE_XLATE_MESSAGES_MAX_TOKENS,
                  "system", system, "messages", msgs);

    if (o == NULL || sluice_xlate_messages_tools_encode(c, o) != 0) {
        json_decref(o);
        sluice_xlate_nomem(x->err);
        return NULL;
    }

    if (json_array_size(system) == 0) {
        json_object_del(o, "system");
    }

    json_object_set(o, "max_tokens", json_object_get(c, "max_tokens"));
    sluice_xlate_messages_misc_encode(c, o);
    sluice_xlate_messages_thinking_encode(c, o, msgs);

    return o;
}


static json_t *
sluice_xlate_messages_msgs_encode(json_t *c, json_t *system)
{
    size_t   i;
    json_t  *out, *m;

    out = json_array();

    if (out == NULL || system == NULL) {
        json_decref(out);
        return NULL;
    }

    json_array_foreach(json_object_get(c, "messages"), i, m) {
        if (sluice_xlate_messages_msg_encode(m, out, system) != 0) {
            json_decref(out);
            return NULL;
        }
    }

    return out;
}


/*
 * System messages go to "system" (a messages target has no system turns
 * without a beta); tool results become user turns; turns of one role in
 * a row merge; empty turns are left out.
 */
static int
sluice_xlate_messages_msg_encode(json_t *m, json_t *out, json_t *system)
{
    size_t       i, n;
    json_t      *p, *block, *blocks, *last;
    const char  *role;

    role = json_string_value(json_object_get(m, "role"));

    if (strcmp(role, "tool") == 0) {
        role = "user";
    }

    n = json_array_size(out);
    last = n ? json_array_get(out, n - 1) : NULL;

    if (strcmp(role, "system") == 0) {
        blocks = system;

    } else if (last && strcmp(json_string_value(json_object_get(last,
                                                    "role")), role) == 0)
    {
        blocks = json_object_get(last, "content");

    } else {
        blocks = json_array();
        if (json_array_append_new(out, json_pack("{s:s, s:o}", "role", role,
                                                 "content", blocks)) != 0)
        {
            return -1;
        }
    }

    json_array_foreach(json_object_get(m, "content"), i, p) {
        block = sluice_xlate_messages_block_encode(p);

        if (block) {
            json_array_append_new(blocks, block);
        }
    }

    if (json_array_size(blocks) == 0 && blocks != system) {
        json_array_remove(out, json_array_size(out) - 1);
    }

    return 0;
}


/* NULL: nothing to send for this part */
static json_t *
sluice_xlate_messages_block_encode(json_t *p)
{
    json_t      *input;
    const char  *type, *args;

    type = json_string_value(json_object_get(p, "type"));

    if (strcmp(type, "text") == 0) {
        if (json_string_length(json_object_get(p, "text")) == 0) {
            return NULL;
        }

        return json_pack("{s:s, s:O}", "type", "text", "text",
                         json_object_get(p, "text"));
    }

    if (strcmp(type, "image") == 0) {
        return sluice_xlate_messages_image_encode(p);
    }

    if (strcmp(type, "thinking") == 0) {
        if (!json_is_string(json_object_get(p, "signature"))) {
            return NULL;
        }

        return json_pack("{s:s, s:O, s:O}", "type", "thinking", "thinking",
                         json_object_get(p, "text"), "signature",
                         json_object_get(p, "signature"));
    }

    if (strcmp(type, "tool_call") == 0) {
        args = json_string_value(json_object_get(p, "arguments"));
        input = json_loads(args ? args : "{}", 0, NULL);

        if (!json_is_object(input)) {
            json_decref(input);
            input = json_object();
        }

        return json_pack("{s:s, s:o, s:O, s:o}", "type", "tool_use", "id",
                         sluice_xlate_messages_id(json_object_get(p, "id")),
                         "name", json_object_get(p, "name"), "input", input);
    }

    return sluice_xlate_messages_result_encode(p);
}


static json_t *
sluice_xlate_messages_image_encode(json_t *p)
{
    size_t       mt_len;
    const char  *url, *mt, *data;

    url = json_string_value(json_object_get(p, "url"));

    if (sluice_xlate_data_url(url, &mt, &mt_len, &data) == 0) {
        return json_pack("{s:s, s:{s:s, s:s%, s:s}}", "type", "image",
                         "source", "type", "base64", "media_type", mt,
                         mt_len, "data", data);
    }

    return json_pack("{s:s, s:{s:s, s:s}}", "type", "image", "source",
                     "type", "url", "url", url);
}


static json_t *
sluice_xlate_messages_result_encode(json_t *p)
{
    size_t   i;
    json_t  *blocks, *part, *block, *res;

    blocks = json_array();

    json_array_foreach(json_object_get(p, "content"), i, part) {
        block = sluice_xlate_messages_block_encode(part);

        if (block) {
            json_array_append_new(blocks, block);
        }
    }

    res = json_pack("{s:s, s:o, s:o}", "type", "tool_result", "tool_use_id",
                    sluice_xlate_messages_id(json_object_get(p, "id")),
                    "content", blocks);

    if (res && json_is_true(json_object_get(p, "is_error"))) {
        json_object_set_new(res, "is_error", json_true());
    }

    return res;
}


/* tool_use ids must match [A-Za-z0-9_-]+: anything else becomes '_' */
static json_t *
sluice_xlate_messages_id(json_t *id)
{
    size_t   i, len;
    char    *s, ch;
    json_t  *out;

    len = json_string_length(id);
    s = malloc(len + 1);

    if (s == NULL || len == 0) {
        free(s);
        return json_string("_");
    }

    for (i = 0; i < len; i++) {
        ch = json_string_value(id)[i];
        s[i] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
                || (ch >= '0' && ch <= '9') || ch == '-') ? ch : '_';
    }

    out = json_stringn(s, len);
    free(s);

    return out;
}


static int
sluice_xlate_messages_tools_encode(json_t *c, json_t *o)
{
    size_t       i;
    json_t      *tools, *t, *tc;
    const char  *mode;

    tools = json_array();
    if (tools == NULL) {
        return -1;
    }

    json_array_foreach(json_object_get(c, "tools"), i, t) {
        json_array_append_new(tools, json_pack("{s:O, s:O*, s:o}", "name",
            json_object_get(t, "name"), "description",
            json_object_get(t, "description"), "input_schema",
            sluice_xlate_schema(json_object_get(t, "parameters"))));
    }

    if (json_array_size(tools) == 0) {
        json_decref(tools);
        return 0;
    }

    json_object_set_new(o, "tools", tools);

    tc = json_object_get(c, "tool_choice");
    mode = json_string_value(json_object_get(tc, "mode"));

    if (mode == NULL && json_is_false(json_object_get(c, "parallel"))) {
        mode = "auto";
    }

    if (mode == NULL) {
        return 0;
    }

    tc = json_pack("{s:s, s:O*}", "type", strcmp(mode, "required") == 0
                   ? "any" : mode, "name", json_object_get(tc, "name"));

    if (tc && json_is_false(json_object_get(c, "parallel"))
        && strcmp(mode, "none") != 0)
    {
        json_object_set_new(tc, "disable_parallel_tool_use", json_true());
    }

    return json_object_set_new(o, "tool_choice", tc);
}


/*
 * Thinking needs budget < max_tokens, no forced tool, sampling left
 * alone, and, when a tool loop goes on, the last assistant turn must
 * start with a signed thinking block: otherwise it is left off.
 */
static void
sluice_xlate_messages_thinking_encode(json_t *c, json_t *o, json_t *msgs)
{
    json_int_t   budget, max;
    const char  *type;

    budget = sluice_xlate_budget_get(c);
    max = json_integer_value(json_object_get(o, "max_tokens"));
    type = json_string_value(json_object_get(json_object_get(o,
                                                 "tool_choice"), "type"));

    if (budget <= 0 || (type && (strcmp(type, "any") == 0
                                 || strcmp(type, "tool") == 0))
        || sluice_xlate_messages_last_tool_use(msgs))
    {
        return;
    }

    if (budget < SLUICE_XLATE_MESSAGES_MIN_BUDGET) {
        budget = SLUICE_XLATE_MESSAGES_MIN_BUDGET;
    }

    /* the budget must stay under max_tokens: leave the answer half */
    if (budget >= max) {
        budget = max / 2;
    }

    if (budget < SLUICE_XLATE_MESSAGES_MIN_BUDGET) {
        return;
    }

    json_object_set_new(o, "thinking", json_pack("{s:s, s:I}", "type",
                        "enabled", "budget_tokens", budget));

    if (json_number_value(json_object_get(o, "temperature")) != 1.0) {
        json_object_del(o, "temperature");
    }

    if (json_number_value(json_object_get(o, "top_p")) < 0.95) {
        json_object_del(o, "top_p");
    }
}


/* 1 when the last assistant turn calls tools without signed thinking */
static int
sluice_xlate_messages_last_tool_use(json_t *msgs)
{
    size_t       n, i;
    json_t      *m, *first, *b;
    const char  *type;

    for (n = json_array_size(msgs); n > 0; n--) {
        m = json_array_get(msgs, n - 1);

        if (strcmp(json_string_value(json_object_get(m, "role")),
                   "assistant") != 0)
        {
            continue;
        }

        first = json_array_get(json_object_get(m, "content"), 0);
        type = json_string_value(json_object_get(first, "type"));

        if (type && strcmp(type, "thinking") == 0) {
            return 0;
        }

        json_array_foreach(json_object_get(m, "content"), i, b) {
            type = json_string_value(json_object_get(b, "type"));

            if (type && strcmp(type, "tool_use") == 0) {
                return 1;
            }
        }

        return 0;
    }

    return 0;
}


static void
sluice_xlate_messages_misc_encode(json_t *c, json_t *o)
{
    size_t       i;
    double       t;
    json_t      *stop, *s;
    const char  *p;

    if (json_is_number(json_object_get(c, "temperature"))) {
        t = json_number_value(json_object_get(c, "temperature"));
        json_object_set_new(o, "temperature",
                            json_real(t < 0 ? 0 : t > 1 ? 1 : t));
    }

    json_object_set(o, "top_p", json_object_get(c, "top_p"));

    stop = json_array();

    json_array_foreach(json_object_get(c, "stop"), i, s) {
        /* whitespace-only stop sequences are refused by the target */
        for (p = json_string_value(s); p && *p; p++) {
            if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
                json_array_append(stop, s);
                break;
            }
        }
    }

    if (json_array_size(stop)) {
        json_object_set_new(o, "stop_sequences", stop);

    } else {
        json_decref(stop);
    }

    if (json_is_string(json_object_get(c, "user"))) {
        json_object_set_new(o, "metadata", json_pack("{s:O}", "user_id",
                            json_object_get(c, "user")));
    }

    if (json_is_true(json_object_get(c, "stream"))) {
        json_object_set_new(o, "stream", json_true());
    }
}
