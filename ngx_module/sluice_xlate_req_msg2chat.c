/*
 * sluice_xlate_req_msg2chat: an Anthropic Messages request written as a
 * Chat Completions request straight from the tape, as
 * sluice_xlate_messages_req_decode() and sluice_xlate_chat_req_encode()
 * make it through the canonical request, or declined.
 *
 * Members in the encoder's order: model, messages, tools, tool_choice,
 * parallel_tool_calls, max_completion_tokens, temperature, top_p, user,
 * stop, reasoning_effort, response_format, stream, stream_options.  A
 * message gives its tool results first (a tool message each), then one
 * message of its role with its other blocks, when any is kept.  Declined
 * beyond the refusals: server tools and MCP servers, images in tool
 * results (the encoder moves them after a run of results), and blocks a
 * role does not take (thinking but from the assistant, images but from
 * the user, tool_result in "system").
 */

#include <string.h>
#include "sluice_xlate_int.h"


enum {
    M2C_MESSAGES = 0, M2C_SYSTEM, M2C_TOOLS, M2C_MCP, M2C_TOOL_CHOICE,
    M2C_MAX_TOKENS, M2C_TEMPERATURE, M2C_TOP_P, M2C_STREAM, M2C_STOP,
    M2C_METADATA, M2C_THINKING, M2C_OUTPUT, M2C_KEYS
};

/* a role's blocks */
#define SLUICE_XLATE_M2C_USER       1
#define SLUICE_XLATE_M2C_ASSISTANT  2
#define SLUICE_XLATE_M2C_SYSTEM     3

#define SLUICE_XLATE_M2C_USER_MAX   64


typedef struct {
    sluice_xlate_rq_t   *r;
    int                  in[M2C_KEYS];
    unsigned             nmsgs;     /* chat messages written */
    unsigned             silent;    /* parts kept that write nothing */
} sluice_xlate_m2c_t;


static int sluice_xlate_m2c_system(sluice_xlate_m2c_t *m);
static int sluice_xlate_m2c_message(sluice_xlate_m2c_t *m, int k);
static int sluice_xlate_m2c_results(sluice_xlate_m2c_t *m, int blocks);
static int sluice_xlate_m2c_kept(sluice_xlate_m2c_t *m, int blocks,
    int role, unsigned *texts, unsigned *images, unsigned *calls);
static void sluice_xlate_m2c_start(sluice_xlate_m2c_t *m, const char *s,
    size_t len);
static void sluice_xlate_m2c_joined(sluice_xlate_m2c_t *m, int k,
    const char *none);
static void sluice_xlate_m2c_parts(sluice_xlate_m2c_t *m, int blocks);
static int sluice_xlate_m2c_image(sluice_xlate_m2c_t *m, int b, int write);
static void sluice_xlate_m2c_calls(sluice_xlate_m2c_t *m, int blocks);
static void sluice_xlate_m2c_args(sluice_xlate_m2c_t *m, int input);
static int sluice_xlate_m2c_tools(sluice_xlate_m2c_t *m);
static int sluice_xlate_m2c_choice(sluice_xlate_m2c_t *m);
static void sluice_xlate_m2c_misc(sluice_xlate_m2c_t *m);
static void sluice_xlate_m2c_effort(sluice_xlate_m2c_t *m);
static int sluice_xlate_m2c_type(sluice_xlate_m2c_t *m, int b);


static const sluice_xlate_key_t  sluice_xlate_m2c_keys[M2C_KEYS] = {
    sluice_xlate_key("messages"),
    sluice_xlate_key("system"),
    sluice_xlate_key("tools"),
    sluice_xlate_key("mcp_servers"),
    sluice_xlate_key("tool_choice"),
    sluice_xlate_key("max_tokens"),
    sluice_xlate_key("temperature"),
    sluice_xlate_key("top_p"),
    sluice_xlate_key("stream"),
    sluice_xlate_key("stop_sequences"),
    sluice_xlate_key("metadata"),
    sluice_xlate_key("thinking"),
    sluice_xlate_key("output_config")
};

/* block types; 0: not a string */
#define SLUICE_XLATE_B_OTHER        1
#define SLUICE_XLATE_B_TEXT         2
#define SLUICE_XLATE_B_IMAGE        3
#define SLUICE_XLATE_B_THINKING     4
#define SLUICE_XLATE_B_REDACTED     5
#define SLUICE_XLATE_B_TOOL_USE     6
#define SLUICE_XLATE_B_RESULT       7


int
sluice_xlate_msg2chat(sluice_xlate_rq_t *r)
{
    int                  k;
    unsigned             i, n;
    sluice_xlate_m2c_t   m;

    memset(&m, 0, sizeof(sluice_xlate_m2c_t));
    m.r = r;

    sluice_xlate_tape_find(r->t, 0, sluice_xlate_m2c_keys, m.in, M2C_KEYS);

    if (sluice_xlate_rq_check(r, sluice_xlate_messages_checks) != 0
        || sluice_xlate_tape_type(r->t, m.in[M2C_MESSAGES])
           != SLUICE_XLATE_J_ARRAY
        || sluice_xlate_tape_size(r->t, m.in[M2C_MCP]) != 0
        || sluice_xlate_m2c_choice(&m) != 0)
    {
        return SLUICE_XLATE_DECLINED;
    }

    sluice_xlate_rq_lit(r, "{\"model\":");
    sluice_xlate_rq_str(r, r->model, strlen(r->model));
    sluice_xlate_rq_lit(r, ",\"messages\":[");

    if (sluice_xlate_m2c_system(&m) != 0) {
        return SLUICE_XLATE_DECLINED;
    }

    n = sluice_xlate_tape_size(r->t, m.in[M2C_MESSAGES]);

    for (i = 0, k = m.in[M2C_MESSAGES] + 1; i < n;
         i++, k = (int) r->t->tok[k].next)
    {
        if (sluice_xlate_m2c_message(&m, k) != 0) {
            return SLUICE_XLATE_DECLINED;
        }
    }

    if (m.nmsgs == 0) {
        return SLUICE_XLATE_DECLINED;
    }

    sluice_xlate_rq_lit(r, "]");

    if (sluice_xlate_m2c_tools(&m) != 0) {
        return SLUICE_XLATE_DECLINED;
    }

    sluice_xlate_m2c_misc(&m);
    sluice_xlate_rq_lit(r, "}");

    return r->rc ? SLUICE_XLATE_DECLINED : SLUICE_XLATE_OK;
}


/* a block's type; -1 when it has none (the decoder refuses that) */
static int
sluice_xlate_m2c_type(sluice_xlate_m2c_t *m, int b)
{
    int                   type;
    sluice_xlate_rq_t    *r;

    static const char  *types[] = {
        "text", "image", "thinking", "redacted_thinking", "tool_use",
        "tool_result", NULL
    };

    const char  **t;

    r = m->r;
    type = sluice_xlate_tape_get(r->t, b, "type", 4);

    if (sluice_xlate_tape_type(r->t, type) != SLUICE_XLATE_J_STRING) {
        return -1;
    }

    for (t = types; *t; t++) {
        if (sluice_xlate_rq_is(r, type, *t)) {
            return SLUICE_XLATE_B_TEXT + (int) (t - types);
        }
    }

    return SLUICE_XLATE_B_OTHER;
}


/* system: a string, or text blocks; one system message when any text */
static int
sluice_xlate_m2c_system(sluice_xlate_m2c_t *m)
{
    int                   sys;
    unsigned              texts, images, calls;
    sluice_xlate_tape_t  *t;

    t = m->r->t;
    sys = m->in[M2C_SYSTEM];

    switch (sluice_xlate_tape_type(t, sys)) {

    case SLUICE_XLATE_J_NONE:
    case SLUICE_XLATE_J_NULL:
        return 0;

    case SLUICE_XLATE_J_STRING:
        sluice_xlate_m2c_start(m, "system", 6);
        sluice_xlate_m2c_joined(m, sys, "\"\"");
        sluice_xlate_rq_lit(m->r, "}");
        return 0;
    }

    /* an array (checked) */
    if (sluice_xlate_m2c_kept(m, sys, SLUICE_XLATE_M2C_SYSTEM, &texts,
                              &images, &calls)
        != 0)
    {
        return -1;
    }

    if (texts) {
        sluice_xlate_m2c_start(m, "system", 6);
        sluice_xlate_m2c_joined(m, sys, "\"\"");
        sluice_xlate_rq_lit(m->r, "}");
    }

    return 0;
}


static int
sluice_xlate_m2c_message(sluice_xlate_m2c_t *m, int k)
{
    int                   role, content, rl;
    unsigned              texts, images, calls;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    role = sluice_xlate_tape_get(t, k, "role", 4);
    content = sluice_xlate_tape_get(t, k, "content", 7);

    rl = sluice_xlate_rq_is(r, role, "user") ? SLUICE_XLATE_M2C_USER
         : sluice_xlate_rq_is(r, role, "assistant")
           ? SLUICE_XLATE_M2C_ASSISTANT
         : sluice_xlate_rq_is(r, role, "system") ? SLUICE_XLATE_M2C_SYSTEM
         : 0;

    if (rl == 0) {
        return -1;
    }

    if (sluice_xlate_tape_type(t, content) == SLUICE_XLATE_J_STRING) {
        texts = 1;
        images = 0;
        calls = 0;
        m->silent = 0;

    } else if (sluice_xlate_tape_type(t, content) != SLUICE_XLATE_J_ARRAY
               || sluice_xlate_m2c_results(m, content) != 0
               || sluice_xlate_m2c_kept(m, content, rl, &texts, &images,
                                        &calls)
                  != 0)
    {
        return -1;
    }

    if (texts + images + calls + m->silent == 0) {
        return 0;
    }

    if (rl == SLUICE_XLATE_M2C_SYSTEM) {
        sluice_xlate_m2c_start(m, "system", 6);
        sluice_xlate_m2c_joined(m, content, "\"\"");

    } else if (rl == SLUICE_XLATE_M2C_USER) {
        sluice_xlate_m2c_start(m, "user", 4);

        if (texts + images == 1 && images == 0) {
            sluice_xlate_m2c_joined(m, content, "\"\"");

        } else {
            sluice_xlate_m2c_parts(m, content);
        }

    } else {
        sluice_xlate_m2c_start(m, "assistant", 9);
        sluice_xlate_m2c_joined(m, content, calls ? "null" : "\"\"");

        if (calls) {
            sluice_xlate_m2c_calls(m, content);
        }
    }

    sluice_xlate_rq_lit(r, "}");

    return r->rc;
}


/* {"role":"<role>","content": */
static void
sluice_xlate_m2c_start(sluice_xlate_m2c_t *m, const char *s, size_t len)
{
    if (m->nmsgs++) {
        sluice_xlate_rq_lit(m->r, ",");
    }

    sluice_xlate_rq_lit(m->r, "{\"role\":\"");
    sluice_xlate_rq_cat(m->r, s, len);
    sluice_xlate_rq_lit(m->r, "\",\"content\":");
}


/*
 * The tool_result blocks, a tool message each: its text joined.  The
 * blocks' types are checked here first (the decoder refuses blocks
 * with none before it takes any).
 */
static int
sluice_xlate_m2c_results(sluice_xlate_m2c_t *m, int blocks)
{
    int                   b, id, content, type, p;
    unsigned              i, n, j, np;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    n = sluice_xlate_tape_size(t, blocks);

    for (i = 0, b = blocks + 1; i < n; i++, b = (int) t->tok[b].next) {
        type = sluice_xlate_m2c_type(m, b);

        if (type < 0) {
            return -1;
        }

        if (type != SLUICE_XLATE_B_RESULT) {
            continue;
        }

        id = sluice_xlate_tape_get(t, b, "tool_use_id", 11);
        content = sluice_xlate_tape_get(t, b, "content", 7);

        if (sluice_xlate_tape_type(t, id) != SLUICE_XLATE_J_STRING) {
            return -1;
        }

        np = sluice_xlate_tape_size(t, content);

        for (j = 0, p = content + 1; j < np; j++, p = (int) t->tok[p].next) {
            if (sluice_xlate_m2c_type(m, p) != SLUICE_XLATE_B_TEXT) {
                return -1;
            }
        }

        if (m->nmsgs++) {
            sluice_xlate_rq_lit(r, ",");
        }

        sluice_xlate_rq_lit(r, "{\"role\":\"tool\",\"tool_call_id\":");
        sluice_xlate_rq_string(r, t, id);
        sluice_xlate_rq_lit(r, ",\"content\":");

        if (sluice_xlate_tape_type(t, content) == SLUICE_XLATE_J_STRING
            || sluice_xlate_tape_type(t, content) == SLUICE_XLATE_J_ARRAY)
        {
            sluice_xlate_m2c_joined(m, content, "\"\"");

        } else {
            sluice_xlate_rq_lit(r, "\"\"");
        }

        sluice_xlate_rq_lit(r, "}");
    }

    return r->rc;
}


/*
 * The other blocks: counts the parts the decoder keeps (text with a
 * string, image, thinking with a "thinking" member, tool_use), and
 * declines what it refuses or what this writer does not take.
 */
static int
sluice_xlate_m2c_kept(sluice_xlate_m2c_t *m, int blocks, int role,
    unsigned *texts, unsigned *images, unsigned *calls)
{
    int                   b;
    unsigned              i, n;
    sluice_xlate_tape_t  *t;

    t = m->r->t;
    n = sluice_xlate_tape_size(t, blocks);
    *texts = 0;
    *images = 0;
    *calls = 0;
    m->silent = 0;

    for (i = 0, b = blocks + 1; i < n; i++, b = (int) t->tok[b].next) {
        switch (sluice_xlate_m2c_type(m, b)) {

        case SLUICE_XLATE_B_TEXT:
            *texts += sluice_xlate_tape_type(t,
                          sluice_xlate_tape_get(t, b, "text", 4))
                      == SLUICE_XLATE_J_STRING;
            break;

        case SLUICE_XLATE_B_IMAGE:
            if (role != SLUICE_XLATE_M2C_USER
                || sluice_xlate_m2c_image(m, b, 0) != 0)
            {
                return -1;
            }

            (*images)++;
            break;

        case SLUICE_XLATE_B_THINKING:
            /* kept, then dropped by the chat encoder: the turn stays */
            if (role != SLUICE_XLATE_M2C_ASSISTANT) {
                return -1;
            }

            m->silent += sluice_xlate_tape_get(t, b, "thinking", 8) >= 0;
            break;

        case SLUICE_XLATE_B_REDACTED:
            break;

        case SLUICE_XLATE_B_TOOL_USE:
            if (role != SLUICE_XLATE_M2C_ASSISTANT
                || sluice_xlate_tape_type(t,
                       sluice_xlate_tape_get(t, b, "id", 2))
                   != SLUICE_XLATE_J_STRING
                || sluice_xlate_tape_type(t,
                       sluice_xlate_tape_get(t, b, "name", 4))
                   != SLUICE_XLATE_J_STRING)
            {
                return -1;
            }

            (*calls)++;
            break;

        case SLUICE_XLATE_B_RESULT:
            if (role == SLUICE_XLATE_M2C_SYSTEM) {
                return -1;
            }

            break;

        default:
            return -1;
        }
    }

    return 0;
}


/*
 * The text parts of k (a string, or blocks) joined by blank lines, as
 * one string; none (JSON text) when there are none.  Escaping a join is
 * joining the escaped parts.
 */
static void
sluice_xlate_m2c_joined(sluice_xlate_m2c_t *m, int k, const char *none)
{
    int                   b, text;
    unsigned              i, n, w;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;

    if (sluice_xlate_tape_type(t, k) == SLUICE_XLATE_J_STRING) {
        sluice_xlate_rq_string(r, t, k);
        return;
    }

    n = sluice_xlate_tape_size(t, k);

    for (i = 0, w = 0, b = k + 1; i < n; i++, b = (int) t->tok[b].next) {
        text = sluice_xlate_tape_get(t, b, "text", 4);

        if (sluice_xlate_m2c_type(m, b) != SLUICE_XLATE_B_TEXT
            || sluice_xlate_tape_type(t, text) != SLUICE_XLATE_J_STRING)
        {
            continue;
        }

        if (w++) {
            sluice_xlate_rq_lit(r, "\\n\\n");

        } else {
            sluice_xlate_rq_lit(r, "\"");
        }

        sluice_xlate_rq_esc(r, t, text);
    }

    if (w) {
        sluice_xlate_rq_lit(r, "\"");

    } else {
        sluice_xlate_rq_cat(r, none, strlen(none));
    }
}


/* a user's text and image parts as an array */
static void
sluice_xlate_m2c_parts(sluice_xlate_m2c_t *m, int blocks)
{
    int                   b, text, type;
    unsigned              i, n, w;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    n = sluice_xlate_tape_size(t, blocks);

    sluice_xlate_rq_lit(r, "[");

    for (i = 0, w = 0, b = blocks + 1; i < n; i++, b = (int) t->tok[b].next)
    {
        type = sluice_xlate_m2c_type(m, b);
        text = sluice_xlate_tape_get(t, b, "text", 4);

        if (type == SLUICE_XLATE_B_TEXT
            && sluice_xlate_tape_type(t, text) == SLUICE_XLATE_J_STRING)
        {
            if (w++) {
                sluice_xlate_rq_lit(r, ",");
            }

            sluice_xlate_rq_lit(r, "{\"type\":\"text\",\"text\":");
            sluice_xlate_rq_string(r, t, text);
            sluice_xlate_rq_lit(r, "}");

        } else if (type == SLUICE_XLATE_B_IMAGE) {
            if (w++) {
                sluice_xlate_rq_lit(r, ",");
            }

            sluice_xlate_rq_lit(r, "{\"type\":\"image_url\",\"image_url\":"
                                   "{\"url\":");
            sluice_xlate_m2c_image(m, b, 1);
            sluice_xlate_rq_lit(r, "}}");
        }
    }

    sluice_xlate_rq_lit(r, "]");
}


/*
 * An image block's URL (a url source's, or a base64 source made a data:
 * URL): -1 for any other source; written when write is set.
 */
static int
sluice_xlate_m2c_image(sluice_xlate_m2c_t *m, int b, int write)
{
    int                   src, type, url, mt, data;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    src = sluice_xlate_tape_get(t, b, "source", 6);
    type = sluice_xlate_tape_get(t, src, "type", 4);
    url = sluice_xlate_tape_get(t, src, "url", 3);
    mt = sluice_xlate_tape_get(t, src, "media_type", 10);
    data = sluice_xlate_tape_get(t, src, "data", 4);

    if (sluice_xlate_rq_is(r, type, "url")
        && sluice_xlate_tape_type(t, url) == SLUICE_XLATE_J_STRING)
    {
        if (write) {
            sluice_xlate_rq_string(r, t, url);
        }

        return 0;
    }

    if (!sluice_xlate_rq_is(r, type, "base64")
        || sluice_xlate_tape_type(t, mt) != SLUICE_XLATE_J_STRING
        || sluice_xlate_tape_type(t, data) != SLUICE_XLATE_J_STRING)
    {
        return -1;
    }

    if (write) {
        sluice_xlate_rq_lit(r, "\"data:");
        sluice_xlate_rq_esc(r, t, mt);
        sluice_xlate_rq_lit(r, ";base64,");
        sluice_xlate_rq_esc(r, t, data);
        sluice_xlate_rq_lit(r, "\"");
    }

    return 0;
}


/* an assistant's tool_use blocks as tool_calls */
static void
sluice_xlate_m2c_calls(sluice_xlate_m2c_t *m, int blocks)
{
    int                   b;
    unsigned              i, n, w;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    n = sluice_xlate_tape_size(t, blocks);

    sluice_xlate_rq_lit(r, ",\"tool_calls\":[");

    for (i = 0, w = 0, b = blocks + 1; i < n; i++, b = (int) t->tok[b].next)
    {
        if (sluice_xlate_m2c_type(m, b) != SLUICE_XLATE_B_TOOL_USE) {
            continue;
        }

        if (w++) {
            sluice_xlate_rq_lit(r, ",");
        }

        sluice_xlate_rq_lit(r, "{\"id\":");
        sluice_xlate_rq_string(r, t, sluice_xlate_tape_get(t, b, "id", 2));
        sluice_xlate_rq_lit(r, ",\"type\":\"function\",\"function\":"
                               "{\"name\":");
        sluice_xlate_rq_string(r, t, sluice_xlate_tape_get(t, b, "name", 4));
        sluice_xlate_rq_lit(r, ",\"arguments\":");
        sluice_xlate_m2c_args(m, sluice_xlate_tape_get(t, b, "input", 5));
        sluice_xlate_rq_lit(r, "}}");
    }

    sluice_xlate_rq_lit(r, "]");
}


/* the input dumped (an object or array; else "{}") as a JSON string */
static void
sluice_xlate_m2c_args(sluice_xlate_m2c_t *m, int input)
{
    int                   type;
    sluice_buf_t          args, *out;
    sluice_xlate_rq_t    *r;

    r = m->r;
    type = sluice_xlate_tape_type(r->t, input);

    if (type != SLUICE_XLATE_J_OBJECT && type != SLUICE_XLATE_J_ARRAY) {
        sluice_xlate_rq_lit(r, "\"{}\"");
        return;
    }

    sluice_buf_init(&args);
    out = r->out;
    r->out = &args;
    sluice_xlate_rq_value(r, r->t, input, NULL);
    r->out = out;

    if (args.data == NULL) {
        r->rc = -1;

    } else {
        sluice_xlate_rq_str(r, args.data, args.len);
    }

    sluice_buf_free(&args);
}


/* tools (plain and "custom" ones; others decline), then tool_choice */
static int
sluice_xlate_m2c_tools(sluice_xlate_m2c_t *m)
{
    int                   k, type, name, desc, schema;
    unsigned              i, n;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    n = sluice_xlate_tape_size(t, m->in[M2C_TOOLS]);

    for (i = 0, k = m->in[M2C_TOOLS] + 1; i < n;
         i++, k = (int) t->tok[k].next)
    {
        type = sluice_xlate_tape_get(t, k, "type", 4);
        name = sluice_xlate_tape_get(t, k, "name", 4);
        desc = sluice_xlate_tape_get(t, k, "description", 11);
        schema = sluice_xlate_tape_get(t, k, "input_schema", 12);

        if ((type >= 0 && !sluice_xlate_rq_is(r, type, "custom"))
            || sluice_xlate_tape_type(t, name) != SLUICE_XLATE_J_STRING)
        {
            return -1;
        }

        sluice_xlate_rq_cat(r, ",\"tools\":[", i ? 1 : 10);
        sluice_xlate_rq_lit(r, "{\"type\":\"function\",\"function\":"
                               "{\"name\":");
        sluice_xlate_rq_string(r, t, name);

        if (desc >= 0) {
            sluice_xlate_rq_lit(r, ",\"description\":");
            sluice_xlate_rq_value(r, t, desc, NULL);
        }

        sluice_xlate_rq_lit(r, ",\"parameters\":");

        if (sluice_xlate_tape_type(t, schema) == SLUICE_XLATE_J_OBJECT) {
            sluice_xlate_rq_value(r, t, schema, "$schema");

        } else {
            sluice_xlate_rq_lit(r, "{\"type\":\"object\",\"properties\":{}}");
        }

        sluice_xlate_rq_lit(r, "}}");
    }

    if (n == 0) {
        return r->rc;
    }

    sluice_xlate_rq_lit(r, "]");

    k = m->in[M2C_TOOL_CHOICE];
    type = sluice_xlate_tape_get(t, k, "type", 4);

    if (sluice_xlate_rq_is(r, type, "tool")) {
        sluice_xlate_rq_lit(r, ",\"tool_choice\":{\"type\":\"function\","
                               "\"function\":{\"name\":");
        sluice_xlate_rq_string(r, t, sluice_xlate_tape_get(t, k, "name", 4));
        sluice_xlate_rq_lit(r, "}}");

    } else if (sluice_xlate_rq_is(r, type, "any")) {
        sluice_xlate_rq_lit(r, ",\"tool_choice\":\"required\"");

    } else if (type >= 0) {
        sluice_xlate_rq_lit(r, ",\"tool_choice\":");
        sluice_xlate_rq_string(r, t, type);
    }

    if (sluice_xlate_tape_type(t,
            sluice_xlate_tape_get(t, k, "disable_parallel_tool_use", 25))
        == SLUICE_XLATE_J_TRUE)
    {
        sluice_xlate_rq_lit(r, ",\"parallel_tool_calls\":false");
    }

    return r->rc;
}


/* tool_choice: {type: auto | any | none | tool, name?} or absent */
static int
sluice_xlate_m2c_choice(sluice_xlate_m2c_t *m)
{
    int                   tc, type;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    tc = m->in[M2C_TOOL_CHOICE];

    if (tc < 0) {
        return 0;
    }

    type = sluice_xlate_tape_get(t, tc, "type", 4);

    if (sluice_xlate_rq_is(r, type, "tool")) {
        return sluice_xlate_tape_type(t, sluice_xlate_tape_get(t, tc, "name",
                                                               4))
               == SLUICE_XLATE_J_STRING ? 0 : -1;
    }

    return (sluice_xlate_rq_is(r, type, "auto")
            || sluice_xlate_rq_is(r, type, "any")
            || sluice_xlate_rq_is(r, type, "none")) ? 0 : -1;
}


/* the scalars, stop, reasoning_effort, response_format, stream */
static void
sluice_xlate_m2c_misc(sluice_xlate_m2c_t *m)
{
    int                   k, user, fmt;
    size_t                len, used;
    unsigned              i, n;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;

    if (m->in[M2C_MAX_TOKENS] >= 0) {
        sluice_xlate_rq_lit(r, ",\"max_completion_tokens\":");
        sluice_xlate_rq_value(r, t, m->in[M2C_MAX_TOKENS], NULL);
    }

    if (m->in[M2C_TEMPERATURE] >= 0) {
        sluice_xlate_rq_lit(r, ",\"temperature\":");
        sluice_xlate_rq_value(r, t, m->in[M2C_TEMPERATURE], NULL);
    }

    if (m->in[M2C_TOP_P] >= 0) {
        sluice_xlate_rq_lit(r, ",\"top_p\":");
        sluice_xlate_rq_value(r, t, m->in[M2C_TOP_P], NULL);
    }

    user = sluice_xlate_tape_get(t, m->in[M2C_METADATA], "user_id", 7);

    if (sluice_xlate_tape_type(t, user) == SLUICE_XLATE_J_STRING) {
        used = t->used;

        if (sluice_xlate_tape_text(t, user, &len) != NULL
            && len <= SLUICE_XLATE_M2C_USER_MAX)
        {
            sluice_xlate_rq_lit(r, ",\"user\":");
            sluice_xlate_rq_string(r, t, user);
        }

        t->used = used;
    }

    n = sluice_xlate_tape_size(t, m->in[M2C_STOP]);

    for (i = 0, k = m->in[M2C_STOP] + 1; i < n && i < 4;
         i++, k = (int) t->tok[k].next)
    {
        sluice_xlate_rq_cat(r, ",\"stop\":[", i ? 1 : 9);
        sluice_xlate_rq_string(r, t, k);
    }

    if (n) {
        sluice_xlate_rq_lit(r, "]");
    }

    sluice_xlate_m2c_effort(m);

    fmt = sluice_xlate_tape_get(t,
              sluice_xlate_tape_get(t, m->in[M2C_OUTPUT], "format", 6),
              "schema", 6);

    if (sluice_xlate_tape_type(t, fmt) == SLUICE_XLATE_J_OBJECT) {
        sluice_xlate_rq_lit(r, ",\"response_format\":{\"type\":"
                               "\"json_schema\",\"json_schema\":{\"name\":"
                               "\"response\",\"schema\":");
        sluice_xlate_rq_value(r, t, fmt, NULL);
        sluice_xlate_rq_lit(r, "}}");
    }

    if (sluice_xlate_tape_type(t, m->in[M2C_STREAM]) == SLUICE_XLATE_J_TRUE) {
        sluice_xlate_rq_lit(r, ",\"stream\":true,\"stream_options\":"
                               "{\"include_usage\":true}");
    }
}


/*
 * output_config.effort, else thinking's budget as a word; none when
 * either turns thinking off (sluice_xlate_effort_get)
 */
static void
sluice_xlate_m2c_effort(sluice_xlate_m2c_t *m)
{
    int                   word, type;
    size_t                used, len;
    int64_t               b;
    const char           *s, *effort;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;

    if (r->flags & SLUICE_XLATE_NO_REASONING) {
        return;
    }

    word = sluice_xlate_tape_get(t, m->in[M2C_OUTPUT], "effort", 6);
    type = sluice_xlate_tape_get(t, m->in[M2C_THINKING], "type", 4);

    if (sluice_xlate_rq_is(r, word, "none")
        || sluice_xlate_rq_is(r, type, "disabled"))
    {
        return;
    }

    effort = NULL;

    if (sluice_xlate_tape_type(t, word) == SLUICE_XLATE_J_STRING) {
        used = t->used;
        s = sluice_xlate_tape_cstr(t, word, &len);
        effort = s ? sluice_xlate_effort_canon(s) : NULL;
        t->used = used;
    }

    if (effort == NULL && sluice_xlate_rq_is(r, type, "enabled")
        && sluice_xlate_tape_int(t, sluice_xlate_tape_get(t,
               m->in[M2C_THINKING], "budget_tokens", 13), &b))
    {
        effort = b < 4096 ? "low" : b < 16384 ? "medium" : "high";
    }

    if (effort) {
        sluice_xlate_rq_lit(r, ",\"reasoning_effort\":\"");
        sluice_xlate_rq_cat(r, effort, strlen(effort));
        sluice_xlate_rq_lit(r, "\"");
    }
}
