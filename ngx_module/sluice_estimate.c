/*
 * sluice_estimate: single-pass input-token estimate of a request body
 * (see sluice_estimate.h for the approximation and its error).
 */

#include <string.h>
#include <sys/types.h>
#include "sluice_json.h"
#include "sluice_xlate.h"
#include "sluice_estimate.h"


/*
 * What a value is, decided by the key (or the list) that holds it:
 *
 *   SKIP    not model input: settings, ids, URLs (containers skipped)
 *   TEXT    a string is text; a container holds message content
 *   TYPE    a block's "type": images and documents cost a flat price,
 *           "text" or "base64" say what the block's "data" holds
 *   BLOB    "data": base64 (not counted) unless the block says text
 *   ARGS    tool call arguments, tool_use input: text or JSON
 *   SCHEMA  tool definitions, output schemas: JSON counted whole
 *   MSGS    the message list (a string there is one message)
 *   ONE     one message given as a value: system, instructions
 *   TOOLS   the tool list
 *   ROOT    the body itself
 *   ITEM    an element of the message list: a message, or an item
 *   CONTENT "content": where it is a message's, of the dialect's types
 */
enum {
    SLUICE_EST_SKIP = 0,
    SLUICE_EST_TEXT,
    SLUICE_EST_TYPE,
    SLUICE_EST_BLOB,
    SLUICE_EST_ARGS,
    SLUICE_EST_SCHEMA,
    SLUICE_EST_MSGS,
    SLUICE_EST_ONE,
    SLUICE_EST_TOOLS,
    SLUICE_EST_ROOT,
    SLUICE_EST_ITEM,
    SLUICE_EST_CONTENT
};

/*
 * What the members of an open container are, in the low bits of its
 * frame byte: TOP the body (keys from the dialect's table), MSG message
 * content (keys from the content table), JSON all counted, LIST messages,
 * TOOLSET tool definitions, NONE nothing counted.
 */
enum {
    SLUICE_EST_F_NONE = 0,
    SLUICE_EST_F_TOP,
    SLUICE_EST_F_MSG,
    SLUICE_EST_F_JSON,
    SLUICE_EST_F_LIST,
    SLUICE_EST_F_TOOLSET
};

#define SLUICE_EST_F_MODE     0x07
#define SLUICE_EST_F_OBJECT   0x08
#define SLUICE_EST_F_IS_TEXT  0x10    /* the block's "type" is "text" */
#define SLUICE_EST_F_IS_B64   0x20    /* the block's "type" is "base64" */
#define SLUICE_EST_F_ITEM     0x40    /* a message: an element of the list */

/*
 * The JSON types a member read as model input may have (0: any): a
 * body whose "messages" is a string, or whose message content is a
 * number, is no request a provider would take, and no estimate either.
 */
#define SLUICE_EST_J_OBJECT   0x01
#define SLUICE_EST_J_ARRAY    0x02
#define SLUICE_EST_J_STRING   0x04
#define SLUICE_EST_J_NUMBER   0x08
#define SLUICE_EST_J_BOOL     0x10
#define SLUICE_EST_J_NULL     0x20
#define SLUICE_EST_J_LIST     (SLUICE_EST_J_ARRAY | SLUICE_EST_J_NULL)
#define SLUICE_EST_J_TEXTS    (SLUICE_EST_J_STRING | SLUICE_EST_J_ARRAY)

/* "type" values that cost or that say what "data" holds */
enum {
    SLUICE_EST_T_OTHER = 0,
    SLUICE_EST_T_IMAGE,
    SLUICE_EST_T_DOCUMENT,
    SLUICE_EST_T_TEXT,
    SLUICE_EST_T_BASE64
};

/* the bytes of a "data" string sluice_estimate_base64() looks at */
#define SLUICE_EST_B64_SAMPLE  64


/* a name; a top-level one with its types and what to say when wrong */
typedef struct {
    const char                      *name;
    size_t                           len;
    uint8_t                          what;
    uint8_t                          types;      /* SLUICE_EST_J_* */
    const char                      *bad;        /* of another type */
    const char                      *dup;        /* given twice */
} sluice_estimate_name_t;

#define sluice_estimate_name(s, w)                                           \
    { s, sizeof(s) - 1, w, 0, NULL, "duplicate key \"" s "\"" }
#define sluice_estimate_typed(s, w, t, d)                                    \
    { s, sizeof(s) - 1, w, t, "\"" s "\" must be " d,                       \
      "duplicate key \"" s "\"" }

/* at most 8 top-level names: the keys seen fit in a byte */
typedef struct {
    const sluice_estimate_name_t    *keys;       /* top-level members */
    unsigned                         tools;      /* tool prompt, tokens */
    uint8_t                          content;    /* a message's content:
                                                    SLUICE_EST_J_* */
    const char                      *bad;        /* content of another */
} sluice_estimate_dialect_t;

typedef struct {
    const uint8_t                   *p;
    size_t                           len;
    size_t                           i;
    const sluice_estimate_dialect_t *dialect;
    uint64_t                         units;      /* weighted text bytes */
    uint64_t                         fixed;      /* tokens: overheads,
                                                    media */
    uint64_t                         pending;    /* "data" held back */
    size_t                           pending_at; /* its block's depth */
    size_t                           depth;
    unsigned                         tools;      /* tool prompt counted */
    const char                      *why;        /* valid JSON, but no
                                                    request: what is
                                                    wrong (static) */
    const char                      *bad;        /* why, if the next
                                                    value is not of: */
    uint8_t                          expect;     /* its types, 0: any */
    uint8_t                          seen;       /* top-level keys read */
    uint8_t                          frame[SLUICE_JSON_MAX_DEPTH + 1];
} sluice_estimate_t;

typedef struct {
    size_t                           start;      /* the opening quote */
    size_t                           end;        /* after the closing */
    size_t                           units;      /* weighted length */
    unsigned                         escaped;
} sluice_estimate_str_t;


static int sluice_estimate_run(sluice_estimate_t *e);
static int sluice_estimate_member(sluice_estimate_t *e, uint8_t *what);
static uint8_t sluice_estimate_top(sluice_estimate_t *e,
    const sluice_estimate_str_t *s);
static void sluice_estimate_expect(sluice_estimate_t *e, uint8_t c);
static uint8_t sluice_estimate_element(sluice_estimate_t *e);
static int sluice_estimate_value(sluice_estimate_t *e, uint8_t what);
static int sluice_estimate_push(sluice_estimate_t *e, uint8_t what,
    int obj);
static int sluice_estimate_next(sluice_estimate_t *e);
static void sluice_estimate_pop(sluice_estimate_t *e);
static void sluice_estimate_text(sluice_estimate_t *e, uint8_t what,
    const sluice_estimate_str_t *s);
static void sluice_estimate_type(sluice_estimate_t *e,
    const sluice_estimate_str_t *s);
static void sluice_estimate_blob(sluice_estimate_t *e,
    const sluice_estimate_str_t *s);
static uint8_t sluice_estimate_lookup(const sluice_estimate_t *e,
    const sluice_estimate_str_t *s, const sluice_estimate_name_t *names,
    uint8_t dflt);
static const sluice_estimate_name_t *sluice_estimate_find(
    const sluice_estimate_t *e, const sluice_estimate_str_t *s,
    const sluice_estimate_name_t *names);
static int sluice_estimate_base64(const uint8_t *p, size_t n);
static void sluice_estimate_ws(sluice_estimate_t *e);
static size_t sluice_estimate_plain(const uint8_t *p, size_t i, size_t len);
static int sluice_estimate_string(sluice_estimate_t *e,
    sluice_estimate_str_t *s);
static int sluice_estimate_escape(sluice_estimate_t *e, size_t *narrow);
static int sluice_estimate_number(sluice_estimate_t *e);
static size_t sluice_estimate_digits(sluice_estimate_t *e);
static int sluice_estimate_literal(sluice_estimate_t *e, const char *lit,
    size_t n);


/*
 * Top-level members that are model input, all others count nothing;
 * the main ones must have their dialect's types (OpenAI's take null).
 */
static const sluice_estimate_name_t  sluice_estimate_chat_keys[] = {
    sluice_estimate_typed("messages", SLUICE_EST_MSGS, SLUICE_EST_J_ARRAY,
                          "an array"),
    sluice_estimate_typed("tools", SLUICE_EST_TOOLS, SLUICE_EST_J_LIST,
                          "an array"),
    sluice_estimate_typed("functions", SLUICE_EST_TOOLS, SLUICE_EST_J_LIST,
                          "an array"),
    sluice_estimate_name("response_format", SLUICE_EST_SCHEMA),
    { NULL, 0, 0, 0, NULL, NULL }
};

static const sluice_estimate_name_t  sluice_estimate_responses_keys[] = {
    sluice_estimate_typed("input", SLUICE_EST_MSGS, SLUICE_EST_J_TEXTS,
                          "a string or an array"),
    sluice_estimate_typed("instructions", SLUICE_EST_ONE,
                          SLUICE_EST_J_TEXTS | SLUICE_EST_J_NULL,
                          "a string or an array"),
    sluice_estimate_typed("tools", SLUICE_EST_TOOLS, SLUICE_EST_J_LIST,
                          "an array"),
    sluice_estimate_name("text", SLUICE_EST_SCHEMA),
    sluice_estimate_name("prompt", SLUICE_EST_TEXT),
    { NULL, 0, 0, 0, NULL, NULL }
};

/* Anthropic takes null for none of them but system */
static const sluice_estimate_name_t  sluice_estimate_messages_keys[] = {
    sluice_estimate_typed("messages", SLUICE_EST_MSGS, SLUICE_EST_J_ARRAY,
                          "an array"),
    sluice_estimate_typed("system", SLUICE_EST_ONE,
                          SLUICE_EST_J_TEXTS | SLUICE_EST_J_NULL,
                          "a string or an array"),
    sluice_estimate_typed("tools", SLUICE_EST_TOOLS, SLUICE_EST_J_ARRAY,
                          "an array"),
    sluice_estimate_name("output_format", SLUICE_EST_SCHEMA),
    sluice_estimate_name("output_config", SLUICE_EST_SCHEMA),
    { NULL, 0, 0, 0, NULL, NULL }
};

static const sluice_estimate_dialect_t  sluice_estimate_dialects[] = {
    [SLUICE_XLATE_CHAT] = { sluice_estimate_chat_keys,
                            SLUICE_ESTIMATE_TOOLS_OPENAI,
                            SLUICE_EST_J_TEXTS | SLUICE_EST_J_NULL,
                            "a message's \"content\" must be a string, "
                            "an array or null" },
    [SLUICE_XLATE_RESPONSES] = { sluice_estimate_responses_keys,
                                 SLUICE_ESTIMATE_TOOLS_OPENAI,
                                 SLUICE_EST_J_TEXTS | SLUICE_EST_J_NULL,
                                 "an item's \"content\" must be a string, "
                                 "an array or null" },
    [SLUICE_XLATE_MESSAGES] = { sluice_estimate_messages_keys,
                                SLUICE_ESTIMATE_TOOLS_ANTHROPIC,
                                SLUICE_EST_J_TEXTS,
                                "a message's \"content\" must be a string "
                                "or an array" }
};

/*
 * Keys inside messages and content blocks, any dialect; keys not listed
 * are text (content, text, name, output, thinking, description...).
 */
static const sluice_estimate_name_t  sluice_estimate_content_keys[] = {
    sluice_estimate_name("content", SLUICE_EST_CONTENT),
    sluice_estimate_name("type", SLUICE_EST_TYPE),
    sluice_estimate_name("data", SLUICE_EST_BLOB),
    sluice_estimate_name("input", SLUICE_EST_ARGS),
    sluice_estimate_name("arguments", SLUICE_EST_ARGS),
    sluice_estimate_name("role", SLUICE_EST_SKIP),
    sluice_estimate_name("id", SLUICE_EST_SKIP),
    sluice_estimate_name("tool_use_id", SLUICE_EST_SKIP),
    sluice_estimate_name("tool_call_id", SLUICE_EST_SKIP),
    sluice_estimate_name("call_id", SLUICE_EST_SKIP),
    sluice_estimate_name("signature", SLUICE_EST_SKIP),
    sluice_estimate_name("encrypted_content", SLUICE_EST_SKIP),
    sluice_estimate_name("url", SLUICE_EST_SKIP),
    sluice_estimate_name("image_url", SLUICE_EST_SKIP),
    sluice_estimate_name("file_url", SLUICE_EST_SKIP),
    sluice_estimate_name("file_id", SLUICE_EST_SKIP),
    sluice_estimate_name("file_data", SLUICE_EST_SKIP),
    sluice_estimate_name("media_type", SLUICE_EST_SKIP),
    sluice_estimate_name("mime_type", SLUICE_EST_SKIP),
    sluice_estimate_name("format", SLUICE_EST_SKIP),
    sluice_estimate_name("detail", SLUICE_EST_SKIP),
    sluice_estimate_name("status", SLUICE_EST_SKIP),
    sluice_estimate_name("cache_control", SLUICE_EST_SKIP),
    sluice_estimate_name("citations", SLUICE_EST_SKIP),
    sluice_estimate_name("annotations", SLUICE_EST_SKIP),
    sluice_estimate_name("logprobs", SLUICE_EST_SKIP),
    { NULL, 0, 0, 0, NULL, NULL }
};

static const sluice_estimate_name_t  sluice_estimate_types[] = {
    sluice_estimate_name("text", SLUICE_EST_T_TEXT),
    sluice_estimate_name("image", SLUICE_EST_T_IMAGE),
    sluice_estimate_name("image_url", SLUICE_EST_T_IMAGE),
    sluice_estimate_name("input_image", SLUICE_EST_T_IMAGE),
    sluice_estimate_name("computer_screenshot", SLUICE_EST_T_IMAGE),
    sluice_estimate_name("document", SLUICE_EST_T_DOCUMENT),
    sluice_estimate_name("file", SLUICE_EST_T_DOCUMENT),
    sluice_estimate_name("input_file", SLUICE_EST_T_DOCUMENT),
    sluice_estimate_name("base64", SLUICE_EST_T_BASE64),
    { NULL, 0, 0, 0, NULL, NULL }
};


int64_t
sluice_estimate_tokens(int dialect, const char *body, size_t len)
{
    return sluice_estimate_tokens_why(dialect, body, len, NULL);
}


int64_t
sluice_estimate_tokens_why(int dialect, const char *body, size_t len,
    const char **why)
{
    int                rc;
    uint64_t           n;
    const char        *said;
    sluice_estimate_t  e;

    if (why == NULL) {
        why = &said;
    }

    *why = "unknown dialect";

    if (dialect < 0
        || (size_t) dialect >= sizeof(sluice_estimate_dialects)
                               / sizeof(sluice_estimate_dialects[0]))
    {
        return -1;
    }

    *why = "not a valid JSON object";

    memset(&e, 0, sizeof(sluice_estimate_t));
    e.p = (const uint8_t *) body;
    e.len = len;
    e.dialect = &sluice_estimate_dialects[dialect];

    sluice_estimate_ws(&e);

    if (e.i >= e.len || e.p[e.i] != '{') {
        return -1;
    }

    rc = sluice_estimate_push(&e, SLUICE_EST_ROOT, 1);

    if (rc == 1) {
        rc = sluice_estimate_run(&e);

    } else {
        sluice_estimate_ws(&e);
        rc = (e.i == e.len) ? 0 : -1;
    }

    if (rc != 0) {
        return -1;
    }

    *why = e.why;

    if (e.why) {
        return SLUICE_ESTIMATE_REFUSED;
    }

    n = (e.units + SLUICE_ESTIMATE_BYTES_PER_TOKEN - 1)
        / SLUICE_ESTIMATE_BYTES_PER_TOKEN;

    return (int64_t) (SLUICE_ESTIMATE_REQUEST + e.fixed + n);
}


/*
 * The state machine, one byte position e->i and a stack of frames:
 *
 *   start of a member or element --(key / list role)--> value
 *   value --(scalar, or empty container)--> after value
 *   value --(container opened)--> start of a member or element
 *   after value --','--> start of a member or element
 *   after value --'}' or ']'--> pop, after value; the body closed: done
 *
 * Every transition that meets an unexpected byte or the end returns -1.
 */
static int
sluice_estimate_run(sluice_estimate_t *e)
{
    int      rc;
    uint8_t  what;

    for ( ;; ) {
        if (e->frame[e->depth - 1] & SLUICE_EST_F_OBJECT) {
            if (sluice_estimate_member(e, &what) != 0) {
                return -1;
            }

        } else {
            what = sluice_estimate_element(e);
        }

        rc = sluice_estimate_value(e, what);

        if (rc == 1) {
            continue;           /* into the container just opened */
        }

        if (rc == -1) {
            return -1;
        }

        rc = sluice_estimate_next(e);

        if (rc != 0) {
            return (rc == 1) ? 0 : -1;
        }
    }
}


/* a key and its colon; *what: the role of the value that follows */
static int
sluice_estimate_member(sluice_estimate_t *e, uint8_t *what)
{
    sluice_estimate_str_t  s;

    sluice_estimate_ws(e);

    if (e->i >= e->len || e->p[e->i] != '"'
        || sluice_estimate_string(e, &s) != 0)
    {
        return -1;
    }

    sluice_estimate_ws(e);

    if (e->i >= e->len || e->p[e->i] != ':') {
        return -1;
    }

    e->i++;

    e->expect = 0;

    switch (e->frame[e->depth - 1] & SLUICE_EST_F_MODE) {

    case SLUICE_EST_F_TOP:
        *what = sluice_estimate_top(e, &s);
        break;

    case SLUICE_EST_F_MSG:
        *what = sluice_estimate_lookup(e, &s, sluice_estimate_content_keys,
                                       SLUICE_EST_TEXT);

        if (*what == SLUICE_EST_CONTENT) {
            *what = SLUICE_EST_TEXT;

            if (e->frame[e->depth - 1] & SLUICE_EST_F_ITEM) {
                e->expect = e->dialect->content;
                e->bad = e->dialect->bad;
            }
        }
        break;

    case SLUICE_EST_F_JSON:
        e->units += s.units + 3;    /* quotes and colon */
        *what = SLUICE_EST_SCHEMA;
        break;

    default:
        *what = SLUICE_EST_SKIP;
    }

    return 0;
}


/*
 * A top-level key: the role of its value, and the types it may have.
 * A key read twice is refused (a provider reads one, the estimate would
 * count both), as sluice_xlate_request refuses it.
 */
static uint8_t
sluice_estimate_top(sluice_estimate_t *e, const sluice_estimate_str_t *s)
{
    unsigned                       k;
    const sluice_estimate_name_t  *n;

    n = sluice_estimate_find(e, s, e->dialect->keys);

    if (n == NULL) {
        return SLUICE_EST_SKIP;
    }

    k = 1u << (n - e->dialect->keys);

    if ((e->seen & k) && e->why == NULL) {
        e->why = n->dup;
    }

    e->seen |= k;
    e->expect = n->types;
    e->bad = n->bad;

    return n->what;
}


/* the role of the next element of the open array, and its fixed cost */
static uint8_t
sluice_estimate_element(sluice_estimate_t *e)
{
    e->expect = 0;

    switch (e->frame[e->depth - 1] & SLUICE_EST_F_MODE) {

    case SLUICE_EST_F_LIST:
        e->fixed += SLUICE_ESTIMATE_MESSAGE;
        return SLUICE_EST_ITEM;

    case SLUICE_EST_F_TOOLSET:
        if (!e->tools) {
            e->tools = 1;
            e->fixed += e->dialect->tools;
        }
        e->fixed += SLUICE_ESTIMATE_TOOL;
        return SLUICE_EST_SCHEMA;

    case SLUICE_EST_F_MSG:
        return SLUICE_EST_TEXT;

    case SLUICE_EST_F_JSON:
        return SLUICE_EST_SCHEMA;

    default:
        return SLUICE_EST_SKIP;
    }
}


/* 0: a whole value read; 1: a container opened; -1: invalid */
static int
sluice_estimate_value(sluice_estimate_t *e, uint8_t what)
{
    int                    rc;
    size_t                 start;
    sluice_estimate_str_t  s;

    sluice_estimate_ws(e);

    if (e->i >= e->len) {
        return -1;
    }

    start = e->i;

    sluice_estimate_expect(e, e->p[e->i]);

    switch (e->p[e->i]) {

    case '{':
        return sluice_estimate_push(e, what, 1);

    case '[':
        return sluice_estimate_push(e, what, 0);

    case '"':
        if (sluice_estimate_string(e, &s) != 0) {
            return -1;
        }
        sluice_estimate_text(e, what, &s);
        return 0;

    case 't':
        rc = sluice_estimate_literal(e, "true", 4);
        break;

    case 'f':
        rc = sluice_estimate_literal(e, "false", 5);
        break;

    case 'n':
        rc = sluice_estimate_literal(e, "null", 4);
        break;

    default:
        rc = sluice_estimate_number(e);
    }

    if (rc != 0) {
        return -1;
    }

    if (what == SLUICE_EST_ARGS || what == SLUICE_EST_SCHEMA
        || what == SLUICE_EST_TOOLS)
    {
        e->units += e->i - start;
    }

    return 0;
}


/* a value starting with byte c where e->expect says which types may */
static void
sluice_estimate_expect(sluice_estimate_t *e, uint8_t c)
{
    uint8_t  t;

    if (e->expect == 0) {
        return;
    }

    t = (c == '{') ? SLUICE_EST_J_OBJECT
        : (c == '[') ? SLUICE_EST_J_ARRAY
        : (c == '"') ? SLUICE_EST_J_STRING
        : (c == 't' || c == 'f') ? SLUICE_EST_J_BOOL
        : (c == 'n') ? SLUICE_EST_J_NULL : SLUICE_EST_J_NUMBER;

    if (!(e->expect & t) && e->why == NULL) {
        e->why = e->bad;
    }

    e->expect = 0;
}


/*
 * Opens the container at e->i with the frame its role gives.  Returns 1,
 * or 0 when it was empty and is closed again, or -1 past the depth limit
 * (the body's object plus SLUICE_JSON_MAX_DEPTH, as sluice_json_scan).
 */
static int
sluice_estimate_push(sluice_estimate_t *e, uint8_t what, int obj)
{
    uint8_t  mode;

    if (e->depth > SLUICE_JSON_MAX_DEPTH) {
        return -1;
    }

    switch (what) {

    case SLUICE_EST_ROOT:
        mode = SLUICE_EST_F_TOP;
        break;

    case SLUICE_EST_TEXT:
    case SLUICE_EST_BLOB:
        mode = SLUICE_EST_F_MSG;
        break;

    case SLUICE_EST_ITEM:
        mode = SLUICE_EST_F_MSG | (obj ? SLUICE_EST_F_ITEM : 0);
        break;

    case SLUICE_EST_ONE:
        e->fixed += SLUICE_ESTIMATE_MESSAGE;
        mode = SLUICE_EST_F_MSG;
        break;

    case SLUICE_EST_MSGS:
        e->fixed += obj ? SLUICE_ESTIMATE_MESSAGE : 0;
        mode = obj ? SLUICE_EST_F_MSG : SLUICE_EST_F_LIST;
        break;

    case SLUICE_EST_TOOLS:
        mode = obj ? SLUICE_EST_F_JSON : SLUICE_EST_F_TOOLSET;
        break;

    case SLUICE_EST_ARGS:
    case SLUICE_EST_SCHEMA:
        mode = SLUICE_EST_F_JSON;
        break;

    default:
        mode = SLUICE_EST_F_NONE;
    }

    e->i++;
    e->frame[e->depth++] = (uint8_t) (mode | (obj ? SLUICE_EST_F_OBJECT : 0));

    if (mode == SLUICE_EST_F_JSON) {
        e->units++;
    }

    sluice_estimate_ws(e);

    if (e->i < e->len && e->p[e->i] == (obj ? '}' : ']')) {
        e->i++;
        sluice_estimate_pop(e);
        return 0;
    }

    return 1;
}


/*
 * After a value: a comma (0, another member or element follows) or
 * closing brackets; 1 when the body's object closed with nothing but
 * white space after it, -1 for anything else.
 */
static int
sluice_estimate_next(sluice_estimate_t *e)
{
    uint8_t  f;

    for ( ;; ) {
        sluice_estimate_ws(e);

        if (e->i >= e->len) {
            return -1;
        }

        f = e->frame[e->depth - 1];

        if (e->p[e->i] == ',') {
            e->i++;
            e->units += ((f & SLUICE_EST_F_MODE) == SLUICE_EST_F_JSON);
            return 0;
        }

        if (e->p[e->i] != ((f & SLUICE_EST_F_OBJECT) ? '}' : ']')) {
            return -1;
        }

        e->i++;
        sluice_estimate_pop(e);

        if (e->depth == 0) {
            sluice_estimate_ws(e);
            return (e->i == e->len) ? 1 : -1;
        }
    }
}


/* closes the top frame; base64-looking "data" of its block stays out */
static void
sluice_estimate_pop(sluice_estimate_t *e)
{
    if (e->pending_at == e->depth) {
        e->pending = 0;
        e->pending_at = 0;
    }

    if ((e->frame[e->depth - 1] & SLUICE_EST_F_MODE) == SLUICE_EST_F_JSON) {
        e->units++;
    }

    e->depth--;
}


static void
sluice_estimate_text(sluice_estimate_t *e, uint8_t what,
    const sluice_estimate_str_t *s)
{
    switch (what) {

    case SLUICE_EST_ONE:
    case SLUICE_EST_MSGS:
        e->fixed += SLUICE_ESTIMATE_MESSAGE;
        e->units += s->units;
        return;

    case SLUICE_EST_TEXT:
    case SLUICE_EST_ITEM:
    case SLUICE_EST_ARGS:
        e->units += s->units;
        return;

    case SLUICE_EST_SCHEMA:
    case SLUICE_EST_TOOLS:
        e->units += s->units + 2;   /* quotes */
        return;

    case SLUICE_EST_TYPE:
        sluice_estimate_type(e, s);
        return;

    case SLUICE_EST_BLOB:
        sluice_estimate_blob(e, s);
        return;

    default:
        return;
    }
}


/* a block's "type"; the block is the object at the top of the stack */
static void
sluice_estimate_type(sluice_estimate_t *e, const sluice_estimate_str_t *s)
{
    uint8_t  *f;

    f = &e->frame[e->depth - 1];

    switch (sluice_estimate_lookup(e, s, sluice_estimate_types,
                                   SLUICE_EST_T_OTHER))
    {
    case SLUICE_EST_T_IMAGE:
        e->fixed += SLUICE_ESTIMATE_IMAGE;
        return;

    case SLUICE_EST_T_DOCUMENT:
        e->fixed += SLUICE_ESTIMATE_DOCUMENT;
        return;

    case SLUICE_EST_T_TEXT:
        *f |= SLUICE_EST_F_IS_TEXT;

        if (e->pending_at == e->depth) {
            e->units += e->pending;
            e->pending = 0;
            e->pending_at = 0;
        }
        return;

    case SLUICE_EST_T_BASE64:
        *f |= SLUICE_EST_F_IS_B64;
        return;

    default:
        return;
    }
}


/*
 * A block's "data": text when the block says "type": "text" (Anthropic
 * plain-text documents) or when it does not look like base64; else an
 * image, a PDF or audio, whose cost comes from its "type".  When the
 * block has not said its type yet, the length is held until it does or
 * closes.  Only one block holds data back: an older one still open (an
 * odd nesting) is counted as text, which errs high.
 */
static void
sluice_estimate_blob(sluice_estimate_t *e, const sluice_estimate_str_t *s)
{
    uint8_t  f;

    f = e->frame[e->depth - 1];

    if ((f & SLUICE_EST_F_IS_TEXT)
        || !sluice_estimate_base64(e->p + s->start + 1,
                                   s->end - s->start - 2))
    {
        e->units += s->units;
        return;
    }

    if (f & SLUICE_EST_F_IS_B64) {
        return;
    }

    if (e->pending_at != e->depth) {
        e->units += e->pending;
        e->pending = 0;
        e->pending_at = e->depth;
    }

    e->pending += s->units;
}


/* the "what" of the name the string s spells, or dflt */
static uint8_t
sluice_estimate_lookup(const sluice_estimate_t *e,
    const sluice_estimate_str_t *s, const sluice_estimate_name_t *names,
    uint8_t dflt)
{
    const sluice_estimate_name_t  *n;

    n = sluice_estimate_find(e, s, names);

    return n ? n->what : dflt;
}


/* the entry of names the string s spells, or NULL */
static const sluice_estimate_name_t *
sluice_estimate_find(const sluice_estimate_t *e,
    const sluice_estimate_str_t *s, const sluice_estimate_name_t *names)
{
    size_t          len;
    ssize_t         n;
    uint8_t         buf[32];
    const uint8_t  *name;

    name = e->p + s->start + 1;
    len = s->end - s->start - 2;

    if (s->escaped) {
        /* "\u0074ype" is "type" to the provider: decode short names */
        n = sluice_json_string_decode(e->p + s->start, s->end - s->start,
                                      buf, sizeof(buf));
        if (n < 0) {
            return NULL;
        }

        name = buf;
        len = (size_t) n;
    }

    for ( /* void */ ; names->name != NULL; names++) {
        if (names->len == len && memcmp(names->name, name, len) == 0) {
            return names;
        }
    }

    return NULL;
}


/* 1 when the first bytes of a string body are base64 ("\/" allowed) */
static int
sluice_estimate_base64(const uint8_t *p, size_t n)
{
    size_t   k;
    uint8_t  b;

    if (n > SLUICE_EST_B64_SAMPLE) {
        n = SLUICE_EST_B64_SAMPLE;
    }

    for (k = 0; k < n; k++) {
        b = p[k];

        if (!((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z')
              || (b >= '0' && b <= '9') || b == '+' || b == '/'
              || b == '=' || b == '\\'))
        {
            return 0;
        }
    }

    return 1;
}


static void
sluice_estimate_ws(sluice_estimate_t *e)
{
    while (e->i < e->len) {
        switch (e->p[e->i]) {
        case ' ': case '\t': case '\n': case '\r':
            e->i++;
            continue;
        }
        return;
    }
}


/*
 * Skips printable ASCII but the quote and the backslash: eight bytes at
 * a time while a word has none of the others (the "has a zero byte"
 * subtraction trick; a false alarm only drops to the byte loop), then
 * byte by byte.
 */
static size_t
sluice_estimate_plain(const uint8_t *p, size_t i, size_t len)
{
    uint8_t   c;
    uint64_t  w, q, b;

    static const uint64_t  ones = 0x0101010101010101ULL;
    static const uint64_t  high = 0x8080808080808080ULL;

    while (len - i >= 8) {
        memcpy(&w, p + i, 8);

        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');

        if (((w - ones * 0x20) | (q - ones) | (b - ones) | w) & high) {
            break;
        }

        i += 8;
    }

    while (i < len) {
        c = p[i];

        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
            break;
        }

        i++;
    }

    return i;
}


/*
 * e->i at the opening quote; leaves e->i after the closing one.  Units:
 * the decoded length, each non-ASCII character one more than its UTF-8
 * bytes, a \u escape 3 (a character of 1 to 3 UTF-8 bytes).
 */
static int
sluice_estimate_string(sluice_estimate_t *e, sluice_estimate_str_t *s)
{
    size_t   n, wide, narrow;
    uint8_t  b;

    s->start = e->i;
    s->escaped = 0;
    wide = 0;
    narrow = 0;

    e->i++;

    for ( ;; ) {
        e->i = sluice_estimate_plain(e->p, e->i, e->len);

        if (e->i >= e->len) {
            return -1;
        }

        b = e->p[e->i];

        if (b == '"') {
            break;
        }

        if (b >= 0x80) {
            n = sluice_json_utf8_len(e->p + e->i, e->len - e->i);

            if (n == 0) {
                return -1;
            }

            e->i += n;
            wide++;
            continue;
        }

        if (b != '\\' || sluice_estimate_escape(e, &narrow) != 0) {
            return -1;      /* a control character, a bad escape */
        }

        s->escaped = 1;
    }

    e->i++;
    s->end = e->i;
    s->units = s->end - s->start - 2 - narrow + wide;

    return 0;
}


/* e->i at a backslash; *narrow grows by the raw bytes saved */
static int
sluice_estimate_escape(sluice_estimate_t *e, size_t *narrow)
{
    size_t   k;
    uint8_t  b;

    if (e->len - e->i < 2) {
        return -1;
    }

    switch (e->p[e->i + 1]) {

    case '"': case '\\': case '/': case 'b': case 'f': case 'n':
    case 'r': case 't':
        e->i += 2;
        *narrow += 1;
        return 0;

    case 'u':
        if (e->len - e->i < 6) {
            return -1;
        }

        for (k = 2; k < 6; k++) {
            b = e->p[e->i + k];

            if (!((b >= '0' && b <= '9')
                  || ((b | 0x20) >= 'a' && (b | 0x20) <= 'f')))
            {
                return -1;
            }
        }

        e->i += 6;
        *narrow += 3;
        return 0;

    default:
        return -1;
    }
}


/* an RFC 8259 number at e->i */
static int
sluice_estimate_number(sluice_estimate_t *e)
{
    if (e->i < e->len && e->p[e->i] == '-') {
        e->i++;
    }

    if (e->i < e->len && e->p[e->i] == '0') {
        e->i++;

    } else if (sluice_estimate_digits(e) == 0) {
        return -1;
    }

    if (e->i < e->len && e->p[e->i] == '.') {
        e->i++;

        if (sluice_estimate_digits(e) == 0) {
            return -1;
        }
    }

    if (e->i < e->len && (e->p[e->i] | 0x20) == 'e') {
        e->i++;

        if (e->i < e->len && (e->p[e->i] == '+' || e->p[e->i] == '-')) {
            e->i++;
        }

        if (sluice_estimate_digits(e) == 0) {
            return -1;
        }
    }

    return 0;
}


/* skips a run of digits, returns its length */
static size_t
sluice_estimate_digits(sluice_estimate_t *e)
{
    size_t  from;

    from = e->i;

    while (e->i < e->len && e->p[e->i] >= '0' && e->p[e->i] <= '9') {
        e->i++;
    }

    return e->i - from;
}


static int
sluice_estimate_literal(sluice_estimate_t *e, const char *lit, size_t n)
{
    if (e->len - e->i < n || memcmp(e->p + e->i, lit, n) != 0) {
        return -1;
    }

    e->i += n;

    return 0;
}
