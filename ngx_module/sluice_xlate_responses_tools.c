/*
 * sluice_xlate_responses_tools: a responses caller's tools decoded into
 * canonical (function) tools for a target of another dialect.
 *
 *   function    as is
 *   custom      a function of one string, "input" (sluice_xlate_freeform)
 *   namespace   each of its functions and custom tools, named
 *               "<ns>__<name>" (sluice_xlate_flat_name)
 *   hosted      (web_search, file_search, tool_search, mcp, ...) left out
 *
 * Hosted tools run at the provider, and a target of another dialect has
 * none of them.  Offering a tool is optional, so they are dropped from
 * the offer; but a tool_choice that forces one, or history a hosted tool
 * made (web_search_call, tool_search_output...), is refused by name by
 * the request decoder.
 */

#include <string.h>
#include "sluice_xlate_int.h"


static int sluice_xlate_responses_hosted(const char *type);
static int sluice_xlate_responses_tool_decode(sluice_xlate_ctx_t *x,
    json_t *t, json_t *ns, json_t *c);
static int sluice_xlate_responses_namespace_decode(sluice_xlate_ctx_t *x,
    json_t *t, json_t *c);
static int sluice_xlate_responses_tool_add(sluice_xlate_ctx_t *x,
    json_t *tool, json_t *ns, json_t *c);


/* a type or a family of versions: "web_search" is "web_search_preview" */
static const char  *sluice_xlate_responses_hosted_types[] = {
    "web_search", "file_search", "tool_search", "code_interpreter",
    "image_generation", "computer", "mcp", "local_shell", "shell",
    "apply_patch", NULL
};


static int
sluice_xlate_responses_hosted(const char *type)
{
    size_t        n;
    const char  **h;

    for (h = sluice_xlate_responses_hosted_types; *h; h++) {
        n = strlen(*h);

        if (strncmp(type, *h, n) == 0 && (type[n] == '\0' || type[n] == '_'))
        {
            return 1;
        }
    }

    return 0;
}


/* "tools", or the tools of an additional_tools item */
int
sluice_xlate_responses_tools_decode(sluice_xlate_ctx_t *x, json_t *tools,
    json_t *c)
{
    size_t   i;
    json_t  *t;

    json_array_foreach(tools, i, t) {
        if (sluice_xlate_responses_tool_decode(x, t, NULL, c)
            != SLUICE_XLATE_OK)
        {
            return SLUICE_XLATE_ERROR;
        }
    }

    return SLUICE_XLATE_OK;
}


/* one tool; ns: the namespace it is in (NULL: top level; "" too) */
static int
sluice_xlate_responses_tool_decode(sluice_xlate_ctx_t *x, json_t *t,
    json_t *ns, json_t *c)
{
    json_t      *tool;
    const char  *type;

    type = json_string_value(json_object_get(t, "type"));

    if (type == NULL) {
        return sluice_xlate_refuse(x, "tool type", "");
    }

    if (strcmp(type, "namespace") == 0 && ns == NULL) {
        return sluice_xlate_responses_namespace_decode(x, t, c);
    }

    if (strcmp(type, "function") == 0) {
        tool = json_pack("{s:O, s:O*, s:O*, s:O*}", "name",
                         json_object_get(t, "name"), "description",
                         json_object_get(t, "description"), "parameters",
                         json_object_get(t, "parameters"), "strict",
                         json_object_get(t, "strict"));

    } else if (strcmp(type, "custom") == 0) {
        tool = sluice_xlate_freeform_tool(t);

    } else if (sluice_xlate_responses_hosted(type)) {
        return SLUICE_XLATE_OK;

    } else {
        return sluice_xlate_refuse(x, "tool type", type);
    }

    if (tool == NULL || !json_is_string(json_object_get(tool, "name"))) {
        json_decref(tool);
        return sluice_xlate_invalid(x, "a tool has no name");
    }

    return sluice_xlate_responses_tool_add(x, tool, ns, c);
}


/* Codex's own reading: namespace "" is the top level */
static int
sluice_xlate_responses_namespace_decode(sluice_xlate_ctx_t *x, json_t *t,
    json_t *c)
{
    size_t   i;
    json_t  *ns, *inner;

    ns = json_object_get(t, "name");

    if (!json_is_string(ns)) {
        return sluice_xlate_invalid(x, "a namespace has no name");
    }

    json_array_foreach(json_object_get(t, "tools"), i, inner) {
        if (sluice_xlate_responses_tool_decode(x, inner, ns, c)
            != SLUICE_XLATE_OK)
        {
            return SLUICE_XLATE_ERROR;
        }
    }

    return SLUICE_XLATE_OK;
}


/*
 * Steals tool.  A namespaced one is renamed and keeps ns and orig; the
 * names of those and of custom tools go back in the answer, so they
 * are bounded.
 */
static int
sluice_xlate_responses_tool_add(sluice_xlate_ctx_t *x, json_t *tool,
    json_t *ns, json_t *c)
{
    char     flat[SLUICE_XLATE_FLAT_LEN + 1];
    json_t  *name;

    name = json_object_get(tool, "name");

    if ((ns || json_is_true(json_object_get(tool, "custom")))
        && (json_string_length(name) > SLUICE_XLATE_NAME_LEN
            || json_string_length(ns) > SLUICE_XLATE_NAME_LEN))
    {
        json_decref(tool);
        return sluice_xlate_invalid(x, "a tool or namespace name is too "
                                       "long");
    }

    if (json_string_length(ns)) {
        sluice_xlate_flat_name(json_string_value(ns),
                               json_string_value(name), flat);

        if (json_object_set(tool, "orig", name) != 0
            || json_object_set(tool, "ns", ns) != 0
            || json_object_set_new(tool, "name", json_string(flat)) != 0)
        {
            json_decref(tool);
            return sluice_xlate_nomem(x->err);
        }
    }

    return json_array_append_new(json_object_get(c, "tools"), tool) == 0
           ? SLUICE_XLATE_OK : sluice_xlate_nomem(x->err);
}


/*
 * A namespaced or custom tool must not share its name with another
 * tool: the answer could not say which was called (and targets refuse
 * two tools of one name anyway).  The same tool offered twice (in
 * "tools" and an additional_tools item) is offered once.
 */
int
sluice_xlate_responses_tools_check(sluice_xlate_ctx_t *x, json_t *c)
{
    size_t   i, k, n;
    json_t  *tools, *t, *u, *name;

    tools = json_object_get(c, "tools");
    n = 0;

    json_array_foreach(tools, i, t) {
        if (json_object_get(t, "ns")
            || json_is_true(json_object_get(t, "custom")))
        {
            n++;
        }
    }

    if (n > SLUICE_XLATE_NAMES_MAX) {
        return sluice_xlate_invalid(x, "too many namespaced or custom "
                                       "tools");
    }

    for (i = json_array_size(tools); i-- > 0; ) {
        t = json_array_get(tools, i);

        if (!json_object_get(t, "ns")
            && !json_is_true(json_object_get(t, "custom")))
        {
            continue;
        }

        name = json_object_get(t, "name");

        json_array_foreach(tools, k, u) {
            if (k == i || !json_equal(name, json_object_get(u, "name"))) {
                continue;
            }

            if (k < i && json_equal(t, u)) {
                json_array_remove(tools, i);
                break;
            }

            return sluice_xlate_refuse(x, "a second tool named",
                                       json_string_value(name));
        }
    }

    return SLUICE_XLATE_OK;
}


/*
 * A function_call or custom_tool_call item of the history: a tool call
 * joining the assistant turn it belongs to, named as the tool was
 * offered (a freeform call's input becomes {"input": ...}).
 */
int
sluice_xlate_responses_call_decode(sluice_xlate_ctx_t *x, json_t *item,
    json_t *c)
{
    json_t      *args, *name, *part;
    const char  *type;

    type = json_string_value(json_object_get(item, "type"));
    args = json_object_get(item, strcmp(type, "custom_tool_call") == 0
                                 ? "input" : "arguments");

    if (strcmp(type, "custom_tool_call") == 0) {
        if (!json_is_string(args)) {
            return sluice_xlate_invalid(x, "a custom_tool_call has no "
                                           "input");
        }

        args = sluice_xlate_freeform_args(args);

    } else {
        args = json_is_string(args) ? json_incref(args) : json_string("{}");
    }

    name = sluice_xlate_responses_call_name(x, item);

    part = (name && args && json_is_string(json_object_get(item, "call_id")))
           ? json_pack("{s:s, s:O, s:O, s:O}", "type", "tool_call", "id",
                       json_object_get(item, "call_id"), "name", name,
                       "arguments", args)
           : NULL;

    json_decref(name);
    json_decref(args);

    if (part == NULL) {
        return x->err->status ? SLUICE_XLATE_ERROR
                              : sluice_xlate_invalid(x, "a tool call has "
                                                        "no call_id or name");
    }

    return sluice_xlate_add_part(sluice_xlate_message(c, "assistant", 1),
                                 part)
           ? sluice_xlate_nomem(x->err) : SLUICE_XLATE_OK;
}


/*
 * The name the target knows for the tool item (a call, a tool_choice)
 * names: "<ns>__<name>" when it has a namespace.  A new reference, or
 * NULL (err set when the name is too long).
 */
json_t *
sluice_xlate_responses_call_name(sluice_xlate_ctx_t *x, json_t *item)
{
    char     flat[SLUICE_XLATE_FLAT_LEN + 1];
    json_t  *name, *ns;

    name = json_object_get(item, "name");
    ns = json_object_get(item, "namespace");

    if (!json_is_string(name)) {
        return NULL;
    }

    if (!json_is_string(ns) || json_string_length(ns) == 0) {
        return json_incref(name);
    }

    if (json_string_length(name) > SLUICE_XLATE_NAME_LEN
        || json_string_length(ns) > SLUICE_XLATE_NAME_LEN)
    {
        sluice_xlate_invalid(x, "a tool or namespace name is too long");
        return NULL;
    }

    sluice_xlate_flat_name(json_string_value(ns), json_string_value(name),
                           flat);

    return json_string(flat);
}
