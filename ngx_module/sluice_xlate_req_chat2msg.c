/*
 * sluice_xlate_req_chat2msg: a Chat Completions request written as an
 * Anthropic Messages request straight from the tape, as
 * sluice_xlate_chat_req_decode() and sluice_xlate_messages_req_encode()
 * make it through the canonical request, or declined.
 *
 * The target body's members come in the order the encoder sets them:
 * model, max_tokens, system, messages, tools, tool_choice, temperature,
 * top_p, stop_sequences, metadata, stream, thinking.  System turns are
 * written on a first walk of the messages, the turns on a second one;
 * a turn is opened with its first block (the encoder drops empty
 * turns) and takes the blocks of the next messages of its role (the
 * encoder merges them; tool results are user blocks).
 */

#include <string.h>
#include "sluice_xlate_int.h"


#define SLUICE_XLATE_C2M_MAX_TOKENS  4096
#define SLUICE_XLATE_C2M_MIN_BUDGET  1024

/* where blocks go */
#define SLUICE_XLATE_C2M_SYSTEM      1
#define SLUICE_XLATE_C2M_USER        2
#define SLUICE_XLATE_C2M_ASSISTANT   3
#define SLUICE_XLATE_C2M_RESULT      4

/* the canonical tool_choice modes */
#define SLUICE_XLATE_C2M_NONE        0
#define SLUICE_XLATE_C2M_AUTO        1
#define SLUICE_XLATE_C2M_OFF         2  /* "none" */
#define SLUICE_XLATE_C2M_REQUIRED    3
#define SLUICE_XLATE_C2M_TOOL        4


/* the members of the caller's body the translation reads */
enum {
    C2M_MESSAGES = 0, C2M_TOOLS, C2M_TOOL_CHOICE, C2M_MAX_COMPLETION,
    C2M_MAX_TOKENS, C2M_TEMPERATURE, C2M_TOP_P, C2M_STREAM, C2M_PARALLEL,
    C2M_USER, C2M_STOP, C2M_N, C2M_AUDIO, C2M_EFFORT, C2M_FORMAT, C2M_KEYS
};

typedef struct {
    sluice_xlate_rq_t   *r;
    int                  in[C2M_KEYS];
    int                  where;     /* SLUICE_XLATE_C2M_* of new blocks */
    int                  turn;      /* role of the open turn, 0: none */
    unsigned             nsys;      /* system blocks written */
    unsigned             nres;      /* blocks of the open tool result */
    unsigned             tool_use:1; /* the last assistant turn calls */
    int                  mode;      /* tool_choice */
    int                  name;      /* its function name (mode TOOL) */
    int                  parallel;  /* parallel_tool_calls: -1 unset */
} sluice_xlate_c2m_t;


static int sluice_xlate_c2m_refused(sluice_xlate_c2m_t *m);
static int sluice_xlate_c2m_choice(sluice_xlate_c2m_t *m);
static int sluice_xlate_c2m_system(sluice_xlate_c2m_t *m);
static int sluice_xlate_c2m_turns(sluice_xlate_c2m_t *m);
static int sluice_xlate_c2m_message(sluice_xlate_c2m_t *m, int k);
static int sluice_xlate_c2m_content(sluice_xlate_c2m_t *m, int k);
static int sluice_xlate_c2m_part(sluice_xlate_c2m_t *m, int k);
static void sluice_xlate_c2m_open(sluice_xlate_c2m_t *m);
static void sluice_xlate_c2m_text(sluice_xlate_c2m_t *m, int k);
static int sluice_xlate_c2m_image(sluice_xlate_c2m_t *m, int url);
static int sluice_xlate_c2m_calls(sluice_xlate_c2m_t *m, int calls);
static int sluice_xlate_c2m_call(sluice_xlate_c2m_t *m, int call);
static int sluice_xlate_c2m_input(sluice_xlate_c2m_t *m, int args);
static int sluice_xlate_c2m_result(sluice_xlate_c2m_t *m, int k);
static int sluice_xlate_c2m_id(sluice_xlate_c2m_t *m, int k);
static int sluice_xlate_c2m_tools(sluice_xlate_c2m_t *m);
static void sluice_xlate_c2m_tool_choice(sluice_xlate_c2m_t *m);
static void sluice_xlate_c2m_misc(sluice_xlate_c2m_t *m, int64_t max);
static void sluice_xlate_c2m_stop(sluice_xlate_c2m_t *m);
static int sluice_xlate_c2m_blank(sluice_xlate_c2m_t *m, int k);


static const sluice_xlate_key_t  sluice_xlate_c2m_keys[C2M_KEYS] = {
    sluice_xlate_key("messages"),
    sluice_xlate_key("tools"),
    sluice_xlate_key("tool_choice"),
    sluice_xlate_key("max_completion_tokens"),
    sluice_xlate_key("max_tokens"),
    sluice_xlate_key("temperature"),
    sluice_xlate_key("top_p"),
    sluice_xlate_key("stream"),
    sluice_xlate_key("parallel_tool_calls"),
    sluice_xlate_key("user"),
    sluice_xlate_key("stop"),
    sluice_xlate_key("n"),
    sluice_xlate_key("audio"),
    sluice_xlate_key("reasoning_effort"),
    sluice_xlate_key("response_format")
};


int
sluice_xlate_chat2msg(sluice_xlate_rq_t *r)
{
    size_t               mark;
    int64_t              max;
    sluice_xlate_c2m_t   m;

    memset(&m, 0, sizeof(sluice_xlate_c2m_t));
    m.r = r;

    sluice_xlate_tape_find(r->t, 0, sluice_xlate_c2m_keys, m.in, C2M_KEYS);

    if (sluice_xlate_rq_check(r, sluice_xlate_chat_checks) != 0
        || sluice_xlate_tape_size(r->t, m.in[C2M_MESSAGES]) == 0
        || sluice_xlate_c2m_refused(&m) != 0
        || sluice_xlate_c2m_choice(&m) != 0)
    {
        return SLUICE_XLATE_DECLINED;
    }

    /* max_completion_tokens, else max_tokens (integers >= 0, checked) */
    if (!sluice_xlate_tape_int(r->t, m.in[C2M_MAX_COMPLETION], &max)
        && !sluice_xlate_tape_int(r->t, m.in[C2M_MAX_TOKENS], &max))
    {
        max = SLUICE_XLATE_C2M_MAX_TOKENS;
    }

    sluice_xlate_rq_lit(r, "{\"model\":");
    sluice_xlate_rq_str(r, r->model, strlen(r->model));
    sluice_xlate_rq_lit(r, ",\"max_tokens\":");
    sluice_xlate_rq_int(r, max);

    mark = r->out->len;
    sluice_xlate_rq_lit(r, ",\"system\":[");

    if (sluice_xlate_c2m_system(&m) != 0) {
        return SLUICE_XLATE_DECLINED;
    }

    if (m.nsys == 0) {
        r->out->len = mark;

    } else {
        sluice_xlate_rq_lit(r, "]");
    }

    sluice_xlate_rq_lit(r, ",\"messages\":[");

    if (sluice_xlate_c2m_turns(&m) != 0) {
        return SLUICE_XLATE_DECLINED;
    }

    sluice_xlate_rq_lit(r, "]");

    if (sluice_xlate_c2m_tools(&m) != 0) {
        return SLUICE_XLATE_DECLINED;
    }

    sluice_xlate_c2m_misc(&m, max);
    sluice_xlate_rq_lit(r, "}");

    return SLUICE_XLATE_OK;
}


/* what the decoder or the messages encoder refuses: n, audio, a schema */
static int
sluice_xlate_c2m_refused(sluice_xlate_c2m_t *m)
{
    int                   rf, js;
    int64_t               n;
    sluice_xlate_tape_t  *t;

    t = m->r->t;

    if (sluice_xlate_tape_int(t, m->in[C2M_N], &n) && n > 1) {
        return -1;
    }

    if (m->in[C2M_AUDIO] >= 0
        && sluice_xlate_tape_type(t, m->in[C2M_AUDIO]) != SLUICE_XLATE_J_NULL)
    {
        return -1;
    }

    rf = m->in[C2M_FORMAT];
    js = sluice_xlate_tape_get(t, rf, "json_schema", 11);

    if (sluice_xlate_rq_is(m->r, sluice_xlate_tape_get(t, rf, "type", 4),
                           "json_schema")
        && sluice_xlate_tape_type(t, sluice_xlate_tape_get(t, js, "schema", 6))
           == SLUICE_XLATE_J_OBJECT)
    {
        return -1;
    }

    m->parallel = -1;

    switch (sluice_xlate_tape_type(t, m->in[C2M_PARALLEL])) {
    case SLUICE_XLATE_J_TRUE:
        m->parallel = 1;
        break;
    case SLUICE_XLATE_J_FALSE:
        m->parallel = 0;
        break;
    }

    return 0;
}


/* tool_choice: a word, {type: "function", function: {name}}, or none */
static int
sluice_xlate_c2m_choice(sluice_xlate_c2m_t *m)
{
    int                   tc;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    tc = m->in[C2M_TOOL_CHOICE];
    m->mode = SLUICE_XLATE_C2M_NONE;

    switch (sluice_xlate_tape_type(t, tc)) {

    case SLUICE_XLATE_J_STRING:
        m->mode = sluice_xlate_rq_is(r, tc, "auto") ? SLUICE_XLATE_C2M_AUTO
                  : sluice_xlate_rq_is(r, tc, "none") ? SLUICE_XLATE_C2M_OFF
                  : sluice_xlate_rq_is(r, tc, "required")
                    ? SLUICE_XLATE_C2M_REQUIRED : -1;

        return m->mode < 0 ? -1 : 0;

    case SLUICE_XLATE_J_OBJECT:
        m->name = sluice_xlate_tape_get(t,
                      sluice_xlate_tape_get(t, tc, "function", 8), "name", 4);

        if (!sluice_xlate_rq_is(r, sluice_xlate_tape_get(t, tc, "type", 4),
                                "function")
            || sluice_xlate_tape_type(t, m->name) != SLUICE_XLATE_J_STRING)
        {
            return -1;
        }

        m->mode = SLUICE_XLATE_C2M_TOOL;
    }

    return 0;
}


/* the system and developer messages' blocks */
static int
sluice_xlate_c2m_system(sluice_xlate_c2m_t *m)
{
    int                   k, role;
    unsigned              i, n;
    sluice_xlate_tape_t  *t;

    t = m->r->t;
    n = sluice_xlate_tape_size(t, m->in[C2M_MESSAGES]);
    m->where = SLUICE_XLATE_C2M_SYSTEM;

    for (i = 0, k = m->in[C2M_MESSAGES] + 1; i < n;
         i++, k = (int) t->tok[k].next)
    {
        role = sluice_xlate_tape_get(t, k, "role", 4);

        if (sluice_xlate_rq_is(m->r, role, "system")
            || sluice_xlate_rq_is(m->r, role, "developer"))
        {
            if (sluice_xlate_c2m_content(m,
                    sluice_xlate_tape_get(t, k, "content", 7)) != 0)
            {
                return -1;
            }
        }
    }

    return m->r->rc;
}


/* the other messages as turns */
static int
sluice_xlate_c2m_turns(sluice_xlate_c2m_t *m)
{
    int                   k;
    unsigned              i, n;
    sluice_xlate_tape_t  *t;

    t = m->r->t;
    n = sluice_xlate_tape_size(t, m->in[C2M_MESSAGES]);

    for (i = 0, k = m->in[C2M_MESSAGES] + 1; i < n;
         i++, k = (int) t->tok[k].next)
    {
        if (sluice_xlate_c2m_message(m, k) != 0) {
            return -1;
        }
    }

    if (m->turn) {
        sluice_xlate_rq_lit(m->r, "]}");
    }

    return m->r->rc;
}


static int
sluice_xlate_c2m_message(sluice_xlate_c2m_t *m, int k)
{
    int                   role, content;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    role = sluice_xlate_tape_get(t, k, "role", 4);
    content = sluice_xlate_tape_get(t, k, "content", 7);

    if (sluice_xlate_rq_is(r, role, "system")
        || sluice_xlate_rq_is(r, role, "developer"))
    {
        return 0;
    }

    if (sluice_xlate_rq_is(r, role, "user")) {
        m->where = SLUICE_XLATE_C2M_USER;
        return sluice_xlate_c2m_content(m, content);
    }

    if (sluice_xlate_rq_is(r, role, "tool")) {
        return sluice_xlate_c2m_result(m, k);
    }

    if (!sluice_xlate_rq_is(r, role, "assistant")) {
        return -1;
    }

    /* reasoning_content becomes thinking without a signature: dropped */
    m->where = SLUICE_XLATE_C2M_ASSISTANT;

    if (sluice_xlate_c2m_content(m, content) != 0) {
        return -1;
    }

    return sluice_xlate_c2m_calls(m, sluice_xlate_tape_get(t, k,
                                                           "tool_calls", 10));
}


/* a string, an array of parts, null or absent */
static int
sluice_xlate_c2m_content(sluice_xlate_c2m_t *m, int k)
{
    int                   p;
    unsigned              i, n;
    sluice_xlate_tape_t  *t;

    t = m->r->t;

    switch (sluice_xlate_tape_type(t, k)) {

    case SLUICE_XLATE_J_NONE:
    case SLUICE_XLATE_J_NULL:
        return 0;

    case SLUICE_XLATE_J_STRING:
        sluice_xlate_c2m_text(m, k);
        return 0;

    case SLUICE_XLATE_J_ARRAY:
        break;

    default:
        return -1;
    }

    n = sluice_xlate_tape_size(t, k);

    for (i = 0, p = k + 1; i < n; i++, p = (int) t->tok[p].next) {
        if (sluice_xlate_c2m_part(m, p) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
sluice_xlate_c2m_part(sluice_xlate_c2m_t *m, int k)
{
    int                   type, text;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    type = sluice_xlate_tape_get(t, k, "type", 4);

    if (sluice_xlate_rq_is(r, type, "text")
        || sluice_xlate_rq_is(r, type, "refusal"))
    {
        text = sluice_xlate_rq_is(r, type, "text")
               ? sluice_xlate_tape_get(t, k, "text", 4)
               : sluice_xlate_tape_get(t, k, "refusal", 7);

        if (sluice_xlate_tape_type(t, text) != SLUICE_XLATE_J_STRING) {
            return -1;
        }

        sluice_xlate_c2m_text(m, text);
        return 0;
    }

    if (sluice_xlate_rq_is(r, type, "image_url")) {
        return sluice_xlate_c2m_image(m, sluice_xlate_tape_get(t,
                   sluice_xlate_tape_get(t, k, "image_url", 9), "url", 3));
    }

    return -1;
}


/* a new block of m->where starts: a comma, or a turn opened */
static void
sluice_xlate_c2m_open(sluice_xlate_c2m_t *m)
{
    sluice_xlate_rq_t  *r;

    r = m->r;

    switch (m->where) {

    case SLUICE_XLATE_C2M_SYSTEM:
        if (m->nsys++) {
            sluice_xlate_rq_lit(r, ",");
        }

        return;

    case SLUICE_XLATE_C2M_RESULT:
        if (m->nres++) {
            sluice_xlate_rq_lit(r, ",");
        }

        return;
    }

    if (m->turn == m->where) {
        sluice_xlate_rq_lit(r, ",");
        return;
    }

    if (m->turn) {
        sluice_xlate_rq_lit(r, "]},");
    }

    if (m->where == SLUICE_XLATE_C2M_USER) {
        sluice_xlate_rq_lit(r, "{\"role\":\"user\",\"content\":[");

    } else {
        sluice_xlate_rq_lit(r, "{\"role\":\"assistant\",\"content\":[");
        m->tool_use = 0;
    }

    m->turn = m->where;
}


/* a text part: a block unless empty */
static void
sluice_xlate_c2m_text(sluice_xlate_c2m_t *m, int k)
{
    sluice_xlate_tok_t  *tok;

    tok = &m->r->t->tok[k];

    if (tok->end - tok->start == 2) {
        return;
    }

    sluice_xlate_c2m_open(m);
    sluice_xlate_rq_lit(m->r, "{\"type\":\"text\",\"text\":");
    sluice_xlate_rq_string(m->r, m->r->t, k);
    sluice_xlate_rq_lit(m->r, "}");
}


/* base64 data: URLs as a base64 source, others as a url source */
static int
sluice_xlate_c2m_image(sluice_xlate_c2m_t *m, int url)
{
    size_t                used, len, mt_len;
    const char           *s, *mt, *data;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    used = t->used;
    s = sluice_xlate_tape_cstr(t, url, &len);

    if (s == NULL) {
        return -1;
    }

    sluice_xlate_c2m_open(m);

    if (sluice_xlate_data_url(s, &mt, &mt_len, &data) == 0) {
        sluice_xlate_rq_lit(r, "{\"type\":\"image\",\"source\":{\"type\":"
                               "\"base64\",\"media_type\":");
        sluice_xlate_rq_str(r, mt, mt_len);
        sluice_xlate_rq_lit(r, ",\"data\":");
        sluice_xlate_rq_str(r, data, len - (data - s));

    } else {
        sluice_xlate_rq_lit(r, "{\"type\":\"image\",\"source\":{\"type\":"
                               "\"url\",\"url\":");
        sluice_xlate_rq_str(r, s, len);
    }

    sluice_xlate_rq_lit(r, "}}");
    t->used = used;

    return 0;
}


/* an assistant's tool_calls (anything but an array holds none) */
static int
sluice_xlate_c2m_calls(sluice_xlate_c2m_t *m, int calls)
{
    int                   k;
    unsigned              i, n;
    sluice_xlate_tape_t  *t;

    t = m->r->t;
    n = sluice_xlate_tape_size(t, calls);

    for (i = 0, k = calls + 1; i < n; i++, k = (int) t->tok[k].next) {
        if (sluice_xlate_c2m_call(m, k) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
sluice_xlate_c2m_call(sluice_xlate_c2m_t *m, int call)
{
    int                   type, fn, id, name;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    type = sluice_xlate_tape_get(t, call, "type", 4);
    fn = sluice_xlate_tape_get(t, call, "function", 8);
    id = sluice_xlate_tape_get(t, call, "id", 2);
    name = sluice_xlate_tape_get(t, fn, "name", 4);

    /* a type that is not a string passes, as json_string_value() lets */
    if ((sluice_xlate_tape_type(t, type) == SLUICE_XLATE_J_STRING
         && !sluice_xlate_rq_is(r, type, "function"))
        || sluice_xlate_tape_type(t, id) != SLUICE_XLATE_J_STRING
        || sluice_xlate_tape_type(t, name) != SLUICE_XLATE_J_STRING)
    {
        return -1;
    }

    sluice_xlate_c2m_open(m);
    sluice_xlate_rq_lit(r, "{\"type\":\"tool_use\",\"id\":");

    if (sluice_xlate_c2m_id(m, id) != 0) {
        return -1;
    }

    sluice_xlate_rq_lit(r, ",\"name\":");
    sluice_xlate_rq_string(r, t, name);
    sluice_xlate_rq_lit(r, ",\"input\":");

    if (sluice_xlate_c2m_input(m, sluice_xlate_tape_get(t, fn, "arguments",
                                                        9)) != 0)
    {
        return -1;
    }

    sluice_xlate_rq_lit(r, "}");
    m->tool_use = 1;

    return 0;
}


/*
 * The arguments (JSON text) as the input object; not a string: {}.  Text
 * that is not an object the tape reads surely declines (jansson would
 * make {} of the invalid kind, but the tape cannot tell it apart).
 */
static int
sluice_xlate_c2m_input(sluice_xlate_c2m_t *m, int args)
{
    int                   rc;
    size_t                used;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;

    if (sluice_xlate_tape_type(t, args) != SLUICE_XLATE_J_STRING) {
        sluice_xlate_rq_lit(r, "{}");
        return 0;
    }

    used = t->used;
    rc = sluice_xlate_rq_parse_string(r, t, args);

    if (rc == 0) {
        sluice_xlate_rq_value(r, r->args, 0, NULL);
    }

    t->used = used;

    return rc;
}


/* a tool message: a tool_result block of a user turn */
static int
sluice_xlate_c2m_result(sluice_xlate_c2m_t *m, int k)
{
    int                   id;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    id = sluice_xlate_tape_get(t, k, "tool_call_id", 12);

    if (sluice_xlate_tape_type(t, id) != SLUICE_XLATE_J_STRING) {
        return -1;
    }

    m->where = SLUICE_XLATE_C2M_USER;
    sluice_xlate_c2m_open(m);
    sluice_xlate_rq_lit(r, "{\"type\":\"tool_result\",\"tool_use_id\":");

    if (sluice_xlate_c2m_id(m, id) != 0) {
        return -1;
    }

    sluice_xlate_rq_lit(r, ",\"content\":[");
    m->where = SLUICE_XLATE_C2M_RESULT;
    m->nres = 0;

    if (sluice_xlate_c2m_content(m, sluice_xlate_tape_get(t, k, "content",
                                                          7)) != 0)
    {
        return -1;
    }

    sluice_xlate_rq_lit(r, "]}");
    m->where = SLUICE_XLATE_C2M_USER;

    return 0;
}


/* a tool call id made to match [A-Za-z0-9_-]+ (a byte at a time) */
static int
sluice_xlate_c2m_id(sluice_xlate_c2m_t *m, int k)
{
    char                  id[256];
    size_t                i, len, used;
    const char           *s;
    sluice_xlate_tape_t  *t;

    t = m->r->t;
    used = t->used;
    s = sluice_xlate_tape_text(t, k, &len);

    if (s == NULL || len > sizeof(id)) {
        t->used = used;
        return -1;
    }

    for (i = 0; i < len; i++) {
        id[i] = ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
                 || (s[i] >= '0' && s[i] <= '9') || s[i] == '-') ? s[i] : '_';
    }

    if (len == 0) {
        id[len++] = '_';
    }

    t->used = used;
    sluice_xlate_rq_lit(m->r, "\"");
    sluice_xlate_rq_cat(m->r, id, len);
    sluice_xlate_rq_lit(m->r, "\"");

    return 0;
}


/* tools: each a function; tool_choice goes with them */
static int
sluice_xlate_c2m_tools(sluice_xlate_c2m_t *m)
{
    int                   k, fn, name, desc, params;
    unsigned              i, n;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    n = sluice_xlate_tape_size(t, m->in[C2M_TOOLS]);

    for (i = 0, k = m->in[C2M_TOOLS] + 1; i < n;
         i++, k = (int) t->tok[k].next)
    {
        fn = sluice_xlate_tape_get(t, k, "function", 8);
        name = sluice_xlate_tape_get(t, fn, "name", 4);
        desc = sluice_xlate_tape_get(t, fn, "description", 11);
        params = sluice_xlate_tape_get(t, fn, "parameters", 10);

        if (!sluice_xlate_rq_is(r, sluice_xlate_tape_get(t, k, "type", 4),
                                "function")
            || sluice_xlate_tape_type(t, name) != SLUICE_XLATE_J_STRING)
        {
            return -1;
        }

        if (i) {
            sluice_xlate_rq_lit(r, ",{\"name\":");

        } else {
            sluice_xlate_rq_lit(r, ",\"tools\":[{\"name\":");
        }

        sluice_xlate_rq_string(r, t, name);

        if (desc >= 0) {
            sluice_xlate_rq_lit(r, ",\"description\":");
            sluice_xlate_rq_value(r, t, desc, NULL);
        }

        sluice_xlate_rq_lit(r, ",\"input_schema\":");

        if (sluice_xlate_tape_type(t, params) == SLUICE_XLATE_J_OBJECT) {
            sluice_xlate_rq_value(r, t, params, "$schema");

        } else {
            sluice_xlate_rq_lit(r, "{\"type\":\"object\",\"properties\":{}}");
        }

        sluice_xlate_rq_lit(r, "}");
    }

    if (n) {
        sluice_xlate_rq_lit(r, "]");
        sluice_xlate_c2m_tool_choice(m);

    } else {
        /* without tools the encoder sets no tool_choice */
        m->mode = SLUICE_XLATE_C2M_NONE;
    }

    return r->rc;
}


static void
sluice_xlate_c2m_tool_choice(sluice_xlate_c2m_t *m)
{
    sluice_xlate_rq_t  *r;

    static const char  *types[] = { NULL, "auto", "none", "any", "tool" };

    r = m->r;

    if (m->mode == SLUICE_XLATE_C2M_NONE && m->parallel == 0) {
        m->mode = SLUICE_XLATE_C2M_AUTO;
    }

    if (m->mode == SLUICE_XLATE_C2M_NONE) {
        return;
    }

    sluice_xlate_rq_lit(r, ",\"tool_choice\":{\"type\":\"");
    sluice_xlate_rq_cat(r, types[m->mode], strlen(types[m->mode]));
    sluice_xlate_rq_lit(r, "\"");

    if (m->mode == SLUICE_XLATE_C2M_TOOL) {
        sluice_xlate_rq_lit(r, ",\"name\":");
        sluice_xlate_rq_string(r, r->t, m->name);
    }

    if (m->parallel == 0 && m->mode != SLUICE_XLATE_C2M_OFF) {
        sluice_xlate_rq_lit(r, ",\"disable_parallel_tool_use\":true");
    }

    sluice_xlate_rq_lit(r, "}");
}


/*
 * temperature, top_p, stop_sequences, metadata, stream, and thinking
 * (sluice_xlate_messages_thinking_encode), which takes temperature and
 * top_p away unless 1 and 0.95 or more.
 */
static void
sluice_xlate_c2m_misc(sluice_xlate_c2m_t *m, int64_t max)
{
    int                   temp, top_p, user, effort;
    double                d;
    size_t                used, len;
    int64_t               budget;
    const char           *s;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    temp = m->in[C2M_TEMPERATURE];
    top_p = m->in[C2M_TOP_P];
    user = m->in[C2M_USER];
    effort = m->in[C2M_EFFORT];
    budget = 0;

    if (!(r->flags & SLUICE_XLATE_NO_REASONING)
        && sluice_xlate_tape_type(t, effort) == SLUICE_XLATE_J_STRING)
    {
        used = t->used;
        s = sluice_xlate_tape_cstr(t, effort, &len);
        budget = s ? sluice_xlate_effort_budget(s) : 0;
        t->used = used;
    }

    if (budget <= 0 || m->mode == SLUICE_XLATE_C2M_REQUIRED
        || m->mode == SLUICE_XLATE_C2M_TOOL || m->tool_use)
    {
        budget = 0;

    } else {
        budget = budget < SLUICE_XLATE_C2M_MIN_BUDGET
                 ? SLUICE_XLATE_C2M_MIN_BUDGET : budget;
        budget = budget >= max ? max / 2 : budget;
        budget = budget < SLUICE_XLATE_C2M_MIN_BUDGET ? 0 : budget;
    }

    if (sluice_xlate_tape_type(t, temp) == SLUICE_XLATE_J_NUMBER) {
        d = sluice_xlate_rq_number(r, t, temp);
        d = d < 0 ? 0 : d > 1 ? 1 : d;

        if (budget == 0 || d == 1.0) {
            sluice_xlate_rq_lit(r, ",\"temperature\":");
            sluice_xlate_rq_real(r, d);
        }
    }

    if (sluice_xlate_tape_type(t, top_p) == SLUICE_XLATE_J_NUMBER
        && (budget == 0 || sluice_xlate_rq_number(r, t, top_p) >= 0.95))
    {
        sluice_xlate_rq_lit(r, ",\"top_p\":");
        sluice_xlate_rq_value(r, t, top_p, NULL);
    }

    sluice_xlate_c2m_stop(m);

    if (sluice_xlate_tape_type(t, user) == SLUICE_XLATE_J_STRING) {
        sluice_xlate_rq_lit(r, ",\"metadata\":{\"user_id\":");
        sluice_xlate_rq_string(r, t, user);
        sluice_xlate_rq_lit(r, "}");
    }

    if (sluice_xlate_tape_type(t, m->in[C2M_STREAM]) == SLUICE_XLATE_J_TRUE) {
        sluice_xlate_rq_lit(r, ",\"stream\":true");
    }

    if (budget) {
        sluice_xlate_rq_lit(r, ",\"thinking\":{\"type\":\"enabled\","
                               "\"budget_tokens\":");
        sluice_xlate_rq_int(r, budget);
        sluice_xlate_rq_lit(r, "}");
    }
}


/* stop (a string or strings) less the blank ones, as stop_sequences */
static void
sluice_xlate_c2m_stop(sluice_xlate_c2m_t *m)
{
    int                   k, stop;
    unsigned              i, n, w;
    sluice_xlate_rq_t    *r;
    sluice_xlate_tape_t  *t;

    r = m->r;
    t = r->t;
    stop = m->in[C2M_STOP];

    if (sluice_xlate_tape_type(t, stop) == SLUICE_XLATE_J_STRING) {
        n = 1;
        k = stop;

    } else {
        n = sluice_xlate_tape_size(t, stop);
        k = stop + 1;
    }

    for (i = 0, w = 0; i < n; i++, k = (int) t->tok[k].next) {
        if (sluice_xlate_c2m_blank(m, k)) {
            continue;
        }

        if (w++) {
            sluice_xlate_rq_lit(r, ",");

        } else {
            sluice_xlate_rq_lit(r, ",\"stop_sequences\":[");
        }

        sluice_xlate_rq_string(r, t, k);
    }

    if (w) {
        sluice_xlate_rq_lit(r, "]");
    }
}


/* 1 when string k holds only blanks (or nothing) */
static int
sluice_xlate_c2m_blank(sluice_xlate_c2m_t *m, int k)
{
    size_t                i, len, used;
    const char           *s;
    sluice_xlate_tape_t  *t;

    t = m->r->t;
    used = t->used;
    s = sluice_xlate_tape_text(t, k, &len);

    for (i = 0; s && i < len; i++) {
        if (s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t') {
            break;
        }
    }

    t->used = used;

    return s == NULL || i == len;
}
