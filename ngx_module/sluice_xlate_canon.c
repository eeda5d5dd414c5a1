/*
 * sluice_xlate_canon: the pivot's shared pieces: refusals, field tables,
 * canonical part builders, ids and the error-kind tables.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sluice_xlate_int.h"


typedef struct {
    const char          *type;
    int                  kind;
} sluice_xlate_kind_name_t;


/* reasoning effort words and the thinking budgets they stand for */
typedef struct {
    const char          *effort;
    const char          *canon;
    json_int_t           budget;
} sluice_xlate_effort_t;


static void sluice_xlate_safe_name(const char *name, char *out, size_t size);
static uint64_t sluice_xlate_rand(void);
static int sluice_xlate_field_ok(json_t *v, int type);
static int sluice_xlate_dump_cb(const char *p, size_t len, void *data);


static const sluice_xlate_effort_t  sluice_xlate_efforts[] = {
    { "minimal", "minimal", 1024 },
    { "low", "low", 2048 },
    { "medium", "medium", 8192 },
    { "high", "high", 16384 },
    { "xhigh", "xhigh", 32768 },
    { "max", "high", 32768 },
    { NULL, NULL, 0 }
};

static const char  *sluice_xlate_dialects[] = {
    "chat", "responses", "messages"
};

/* OpenAI and Anthropic "type" per canonical error kind */
static const char  *sluice_xlate_openai_types[SLUICE_XLATE_E_MAX] = {
    "invalid_request_error", "authentication_error", "permission_error",
    "not_found_error", "invalid_request_error", "rate_limit_error",
    "server_error", "server_error", "server_error"
};

static const char  *sluice_xlate_anthropic_types[SLUICE_XLATE_E_MAX] = {
    "invalid_request_error", "authentication_error", "permission_error",
    "not_found_error", "request_too_large", "rate_limit_error",
    "api_error", "overloaded_error", "timeout_error"
};

/* upstream "type" / "code" values that say more than the status */
static const sluice_xlate_kind_name_t  sluice_xlate_kind_names[] = {
    { "invalid_request_error", SLUICE_XLATE_E_INVALID },
    { "BadRequestError", SLUICE_XLATE_E_INVALID },
    { "authentication_error", SLUICE_XLATE_E_AUTH },
    { "invalid_api_key", SLUICE_XLATE_E_AUTH },
    { "permission_error", SLUICE_XLATE_E_PERMISSION },
    { "billing_error", SLUICE_XLATE_E_PERMISSION },
    { "not_found_error", SLUICE_XLATE_E_NOT_FOUND },
    { "model_not_found", SLUICE_XLATE_E_NOT_FOUND },
    { "request_too_large", SLUICE_XLATE_E_TOO_LARGE },
    { "rate_limit_error", SLUICE_XLATE_E_RATE_LIMIT },
    { "rate_limit_exceeded", SLUICE_XLATE_E_RATE_LIMIT },
    { "insufficient_quota", SLUICE_XLATE_E_RATE_LIMIT },
    { "overloaded_error", SLUICE_XLATE_E_OVERLOADED },
    { "timeout_error", SLUICE_XLATE_E_TIMEOUT },
    { "api_error", SLUICE_XLATE_E_SERVER },
    { "server_error", SLUICE_XLATE_E_SERVER },
    { NULL, 0 }
};


int
sluice_xlate_fail(sluice_xlate_err_t *err, int status, const char *code,
    const char *fmt, ...)
{
    va_list  args;

    err->status = status;
    err->code = code;

    va_start(args, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, args);
    va_end(args);

    return SLUICE_XLATE_ERROR;
}


/* e.g. "tool type 'custom' cannot be sent to a chat target" */
int
sluice_xlate_refuse(sluice_xlate_ctx_t *x, const char *what,
    const char *name)
{
    char  safe[65];

    sluice_xlate_safe_name(name, safe, sizeof(safe));

    return sluice_xlate_fail(x->err, 400, "invalid-request",
                             "%s '%s' cannot be sent to a %s target",
                             what, safe, sluice_xlate_dialect_name(x->to));
}


int
sluice_xlate_invalid(sluice_xlate_ctx_t *x, const char *what)
{
    return sluice_xlate_fail(x->err, 400, "invalid-request",
                             "invalid %s request: %s",
                             sluice_xlate_dialect_name(x->from), what);
}


int
sluice_xlate_nomem(sluice_xlate_err_t *err)
{
    return sluice_xlate_fail(err, 500, "internal", "out of memory");
}


const char *
sluice_xlate_dialect_name(int dialect)
{
    if (dialect < 0 || dialect > SLUICE_XLATE_MESSAGES) {
        return "unknown";
    }

    return sluice_xlate_dialects[dialect];
}


/* names are identifiers: keep [A-Za-z0-9_.:-], at most 64 bytes */
static void
sluice_xlate_safe_name(const char *name, char *out, size_t size)
{
    size_t  i;
    char    ch;

    if (name == NULL) {
        name = "";
    }

    for (i = 0; name[i] && i + 1 < size; i++) {
        ch = name[i];

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'
            || ch == ':' || ch == '-')
        {
            out[i] = ch;

        } else {
            out[i] = '?';
        }
    }

    out[i] = '\0';
}


/* copies the table's scalars that have the right type and are unset */
void
sluice_xlate_copy_fields(json_t *from, json_t *to,
    const sluice_xlate_field_t *f, int to_canon)
{
    json_t      *v;
    const char  *src, *dst;

    for ( /* void */ ; f->key; f++) {
        src = to_canon ? f->key : f->canon;
        dst = to_canon ? f->canon : f->key;

        v = json_object_get(from, src);

        if (v == NULL || !sluice_xlate_field_ok(v, f->type)
            || json_object_get(to, dst) != NULL)
        {
            continue;
        }

        json_object_set(to, dst, v);
    }
}


static int
sluice_xlate_field_ok(json_t *v, int type)
{
    switch (type) {

    case SLUICE_XLATE_F_NUM:
        return json_is_number(v);

    case SLUICE_XLATE_F_INT:
        return json_is_integer(v) && json_integer_value(v) >= 0;

    case SLUICE_XLATE_F_BOOL:
        return json_is_boolean(v);

    default:
        return json_is_string(v);
    }
}


json_t *
sluice_xlate_part_text(const char *s, size_t len)
{
    return json_pack("{s:s, s:s%}", "type", "text", "text", s, len);
}


/*
 * The message parts go into: with merge, the last message when it has
 * the same role, else a new one appended to c.messages.  Borrowed.
 */
json_t *
sluice_xlate_message(json_t *c, const char *role, int merge)
{
    size_t   n;
    json_t  *msgs, *last, *msg;

    msgs = json_object_get(c, "messages");
    n = json_array_size(msgs);

    if (merge && n) {
        last = json_array_get(msgs, n - 1);

        if (strcmp(json_string_value(json_object_get(last, "role")), role)
            == 0)
        {
            return last;
        }
    }

    msg = json_pack("{s:s, s:[]}", "role", role, "content");

    if (msg == NULL || json_array_append_new(msgs, msg) != 0) {
        return NULL;
    }

    return msg;
}


/* steals part; 0 or -1 */
int
sluice_xlate_add_part(json_t *msg, json_t *part)
{
    if (msg == NULL || part == NULL) {
        json_decref(part);
        return -1;
    }

    return json_array_append_new(json_object_get(msg, "content"), part);
}


/* appends the text parts joined by sep; returns how many, or -1 */
int
sluice_xlate_join_text(json_t *parts, const char *sep, sluice_buf_t *b)
{
    int          n;
    size_t       i;
    json_t      *part;
    const char  *type;

    n = 0;

    json_array_foreach(parts, i, part) {
        type = json_string_value(json_object_get(part, "type"));

        if (type == NULL || strcmp(type, "text") != 0) {
            continue;
        }

        if ((n++ && sluice_buf_append_str(b, sep) != 0)
            || sluice_buf_append(b,
                   json_string_value(json_object_get(part, "text")),
                   json_string_length(json_object_get(part, "text"))) != 0)
        {
            return -1;
        }
    }

    return n;
}


int
sluice_xlate_has_images(json_t *parts)
{
    size_t       i;
    json_t      *part;
    const char  *type;

    json_array_foreach(parts, i, part) {
        type = json_string_value(json_object_get(part, "type"));

        if (type && strcmp(type, "image") == 0) {
            return 1;
        }
    }

    return 0;
}


/* a tool's parameter schema, without "$schema"; a new reference */
json_t *
sluice_xlate_schema(json_t *schema)
{
    json_t  *copy;

    if (!json_is_object(schema)) {
        return json_pack("{s:s, s:{}}", "type", "object", "properties");
    }

    copy = json_copy(schema);
    if (copy == NULL) {
        return NULL;
    }

    json_object_del(copy, "$schema");

    return copy;
}


/* "data:<type>;base64,<data>": 0 with the pieces, else -1 */
int
sluice_xlate_data_url(const char *url, const char **type, size_t *type_len,
    const char **data)
{
    const char  *semi;

    if (strncmp(url, "data:", 5) != 0) {
        return -1;
    }

    semi = strchr(url + 5, ';');

    if (semi == NULL || strncmp(semi, ";base64,", 8) != 0) {
        return -1;
    }

    *type = url + 5;
    *type_len = semi - (url + 5);
    *data = semi + 8;

    return 0;
}


/*
 * prefix (a short constant) followed by 24 hex digits, cut to size as
 * snprintf would cut it; written by hand: a stream makes several
 */
void
sluice_xlate_rand_id(char *buf, size_t size, const char *prefix)
{
    char      id[96];
    size_t    n, k;
    uint64_t  a, b;

    static const char  hex[] = "0123456789abcdef";

    a = sluice_xlate_rand();
    b = sluice_xlate_rand();

    for (n = 0; prefix[n] && n < sizeof(id) - 25; n++) {
        id[n] = prefix[n];
    }

    for (k = 0; k < 16; k++) {
        id[n++] = hex[(a >> (60 - 4 * k)) & 0xf];
    }

    for (k = 0; k < 8; k++) {
        id[n++] = hex[(b >> (28 - 4 * k)) & 0xf];
    }

    if (size == 0) {
        return;
    }

    n = n < size - 1 ? n : size - 1;
    memcpy(buf, id, n);
    buf[n] = '\0';
}


/*
 * xorshift64*, seeded once per process from the time, the pid and an
 * address: ids need to be unique, not secret.
 */
static uint64_t
sluice_xlate_rand(void)
{
    static uint64_t  s;

    if (s == 0) {
        s = ((uint64_t) time(NULL) << 20) ^ (uint64_t) getpid()
            ^ (uint64_t) (uintptr_t) &s ^ 0x9e3779b97f4a7c15ULL;
    }

    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;

    return s * 0x2545f4914f6cdd1dULL;
}


int
sluice_xlate_error_kind(int status, const char *type)
{
    const sluice_xlate_kind_name_t  *k;

    for (k = sluice_xlate_kind_names; type && k->type; k++) {
        if (strcmp(k->type, type) == 0) {
            return k->kind;
        }
    }

    switch (status) {
    case 401:
        return SLUICE_XLATE_E_AUTH;
    case 402:
    case 403:
        return SLUICE_XLATE_E_PERMISSION;
    case 404:
        return SLUICE_XLATE_E_NOT_FOUND;
    case 413:
        return SLUICE_XLATE_E_TOO_LARGE;
    case 429:
        return SLUICE_XLATE_E_RATE_LIMIT;
    case 503:
    case 529:
        return SLUICE_XLATE_E_OVERLOADED;
    case 408:
    case 504:
        return SLUICE_XLATE_E_TIMEOUT;
    }

    return status >= 500 ? SLUICE_XLATE_E_SERVER : SLUICE_XLATE_E_INVALID;
}


const char *
sluice_xlate_error_type(int dialect, int kind)
{
    if (kind < 0 || kind >= SLUICE_XLATE_E_MAX) {
        kind = SLUICE_XLATE_E_SERVER;
    }

    if (dialect == SLUICE_XLATE_MESSAGES) {
        return sluice_xlate_anthropic_types[kind];
    }

    return sluice_xlate_openai_types[kind];
}


/* the canonical usage object: the counts that are known */
void
sluice_xlate_usage_canon(json_t *u, const sluice_usage_t *usage)
{
    if (usage->in >= 0) {
        json_object_set_new(u, "in", json_integer(usage->in));
    }

    if (usage->out >= 0) {
        json_object_set_new(u, "out", json_integer(usage->out));
    }

    if (usage->cached >= 0) {
        json_object_set_new(u, "cached", json_integer(usage->cached));
    }

    if (usage->reasoning >= 0) {
        json_object_set_new(u, "reasoning", json_integer(usage->reasoning));
    }
}


/* s (valid UTF-8) cut to SLUICE_XLATE_MSG_MAX bytes on a character */
int
sluice_xlate_cut_message(const char *s, size_t len, sluice_buf_t *b)
{
    if (len > SLUICE_XLATE_MSG_MAX) {
        len = SLUICE_XLATE_MSG_MAX;

        while (len && ((unsigned char) s[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    return sluice_buf_append(b, s, len);
}


static int
sluice_xlate_dump_cb(const char *p, size_t len, void *data)
{
    return sluice_buf_append(data, p, len);
}


/* appends v serialised; 0 or -1 */
int
sluice_xlate_dump(json_t *v, sluice_buf_t *out)
{
    return json_dump_callback(v, sluice_xlate_dump_cb, out,
                              SLUICE_XLATE_DUMP);
}


/* c.effort from a dialect's word; "none" turns thinking off */
void
sluice_xlate_effort_set(json_t *c, const char *effort)
{
    const sluice_xlate_effort_t  *e;

    if (effort == NULL) {
        return;
    }

    if (strcmp(effort, "none") == 0) {
        json_object_set_new(c, "thinking_off", json_true());
        return;
    }

    for (e = sluice_xlate_efforts; e->effort; e++) {
        if (strcmp(e->effort, effort) == 0) {
            json_object_set_new(c, "effort", json_string(e->canon));
            return;
        }
    }
}


/* the effort asked for, or the one closest to the budget; NULL: none */
const char *
sluice_xlate_effort_get(json_t *c)
{
    json_int_t  b;

    if (json_object_get(c, "thinking_off")) {
        return NULL;
    }

    if (json_is_string(json_object_get(c, "effort"))) {
        return json_string_value(json_object_get(c, "effort"));
    }

    if (!json_is_integer(json_object_get(c, "budget"))) {
        return NULL;
    }

    b = json_integer_value(json_object_get(c, "budget"));

    return b < 4096 ? "low" : b < 16384 ? "medium" : "high";
}


/* the budget asked for, or the one the effort stands for; 0: none */
json_int_t
sluice_xlate_budget_get(json_t *c)
{
    const char                   *effort;
    const sluice_xlate_effort_t  *e;

    if (json_object_get(c, "thinking_off")) {
        return 0;
    }

    if (json_is_integer(json_object_get(c, "budget"))) {
        return json_integer_value(json_object_get(c, "budget"));
    }

    effort = json_string_value(json_object_get(c, "effort"));

    for (e = sluice_xlate_efforts; effort && e->effort; e++) {
        if (strcmp(e->effort, effort) == 0) {
            return e->budget;
        }
    }

    return 0;
}


/*
 * The budget sluice_xlate_budget_get() finds once the caller's effort
 * word went through sluice_xlate_effort_set(); 0: none.
 */
json_int_t
sluice_xlate_effort_budget(const char *effort)
{
    const sluice_xlate_effort_t  *e, *b;

    for (e = sluice_xlate_efforts; effort && e->effort; e++) {
        if (strcmp(e->effort, effort) != 0) {
            continue;
        }

        for (b = sluice_xlate_efforts; b->effort; b++) {
            if (strcmp(b->effort, e->canon) == 0) {
                return b->budget;
            }
        }
    }

    return 0;
}


/* the canonical effort a caller's word stands for; NULL: none */
const char *
sluice_xlate_effort_canon(const char *effort)
{
    const sluice_xlate_effort_t  *e;

    for (e = sluice_xlate_efforts; effort && e->effort; e++) {
        if (strcmp(e->effort, effort) == 0) {
            return e->canon;
        }
    }

    return NULL;
}


/* a token count, or -1 */
int64_t
sluice_xlate_count(json_t *v)
{
    return (json_is_integer(v) && json_integer_value(v) >= 0)
           ? (int64_t) json_integer_value(v) : -1;
}


void
sluice_xlate_usage_from_canon(json_t *cu, sluice_usage_t *u)
{
    sluice_usage_init(u);

    u->in = sluice_xlate_count(json_object_get(cu, "in"));
    u->out = sluice_xlate_count(json_object_get(cu, "out"));
    u->cached = sluice_xlate_count(json_object_get(cu, "cached"));
    u->reasoning = sluice_xlate_count(json_object_get(cu, "reasoning"));
}
