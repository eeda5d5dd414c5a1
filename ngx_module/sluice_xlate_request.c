/*
 * sluice_xlate_request: a request body from the caller's dialect to the
 * target's, through the canonical request (see sluice_xlate_int.h).
 */

#include <stdio.h>
#include <string.h>
#include "sluice_xlate_int.h"


typedef int (*sluice_xlate_req_decode_pt)(sluice_xlate_ctx_t *x,
    json_t *in, json_t *c);
typedef json_t *(*sluice_xlate_req_encode_pt)(sluice_xlate_ctx_t *x,
    json_t *c);


static int sluice_xlate_request_run(sluice_xlate_ctx_t *x, json_t *in,
    sluice_buf_t *out, sluice_xlate_names_t **names);
static int sluice_xlate_load_fail(sluice_xlate_ctx_t *x,
    const json_error_t *jerr);
static json_t *sluice_xlate_check_get(json_t *in, const char *path);
static int sluice_xlate_check_ok(json_t *v, const sluice_xlate_check_t *ck);


/* indexed by dialect */
static const sluice_xlate_req_decode_pt  sluice_xlate_req_decoders[] = {
    sluice_xlate_chat_req_decode,
    sluice_xlate_responses_req_decode,
    sluice_xlate_messages_req_decode
};

static const sluice_xlate_req_encode_pt  sluice_xlate_req_encoders[] = {
    sluice_xlate_chat_req_encode,
    sluice_xlate_responses_req_encode,
    sluice_xlate_messages_req_encode
};


int
sluice_xlate_request(int from, int to, const char *body, size_t len,
    const char *upstream_model, sluice_buf_t *out, sluice_xlate_err_t *err)
{
    return sluice_xlate_request_flags(from, to, 0, body, len,
                                      upstream_model, out, err);
}


int
sluice_xlate_request_flags(int from, int to, unsigned flags,
    const char *body, size_t len, const char *upstream_model,
    sluice_buf_t *out, sluice_xlate_err_t *err)
{
    return sluice_xlate_request_ex(from, to, flags, body, len,
                                   upstream_model, out, NULL, err);
}


int
sluice_xlate_request_ex(int from, int to, unsigned flags,
    const char *body, size_t len, const char *upstream_model,
    sluice_buf_t *out, sluice_xlate_names_t **names,
    sluice_xlate_err_t *err)
{
    int                  rc;
    json_t              *in;
    json_error_t         jerr;
    sluice_xlate_ctx_t   x;

    if (names) {
        *names = NULL;
    }

    if (from < 0 || from > SLUICE_XLATE_MESSAGES || to < 0
        || to > SLUICE_XLATE_MESSAGES || from == to)
    {
        return sluice_xlate_fail(err, 500, "internal",
                                 "no translation from %s to %s",
                                 sluice_xlate_dialect_name(from),
                                 sluice_xlate_dialect_name(to));
    }

    err->status = 0;
    err->code = NULL;
    err->message[0] = '\0';

    if (!(flags & SLUICE_XLATE_NO_FAST)) {
        rc = sluice_xlate_request_fast(from, to, flags, body, len,
                                       upstream_model, out, names);

        if (rc != SLUICE_XLATE_DECLINED) {
            return rc;
        }
    }

    x.from = from;
    x.to = to;
    x.flags = flags;
    x.model = upstream_model ? upstream_model : "";
    x.err = err;

    /*
     * Duplicate keys are refused: jansson would keep the last one, and
     * the module's scanner, or the target, may well read the first.
     */
    in = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                    &jerr);

    if (in == NULL) {
        return sluice_xlate_load_fail(&x, &jerr);
    }

    if (!json_is_object(in)) {
        json_decref(in);
        return sluice_xlate_invalid(&x, "the body is not a JSON object");
    }

    rc = sluice_xlate_request_run(&x, in, out, names);

    json_decref(in);

    return rc;
}


static int
sluice_xlate_request_run(sluice_xlate_ctx_t *x, json_t *in,
    sluice_buf_t *out, sluice_xlate_names_t **names)
{
    int      rc;
    json_t  *c, *o;

    c = json_pack("{s:[], s:[]}", "messages", "tools");
    if (c == NULL) {
        return sluice_xlate_nomem(x->err);
    }

    rc = sluice_xlate_req_decoders[x->from](x, in, c);

    if (rc == SLUICE_XLATE_OK && (x->flags & SLUICE_XLATE_NO_REASONING)) {
        json_object_del(c, "effort");
        json_object_del(c, "budget");
        json_object_del(c, "thinking_off");
    }

    if (rc == SLUICE_XLATE_OK
        && json_array_size(json_object_get(c, "messages")) == 0)
    {
        rc = sluice_xlate_invalid(x, "no messages");
    }

    o = NULL;

    if (rc == SLUICE_XLATE_OK) {
        o = sluice_xlate_req_encoders[x->to](x, c);
        rc = o ? SLUICE_XLATE_OK : SLUICE_XLATE_ERROR;
    }

    if (rc == SLUICE_XLATE_OK && sluice_xlate_dump(o, out) != 0) {
        rc = sluice_xlate_nomem(x->err);
    }

    /* the decoder bounded the table (sluice_xlate_responses_tools) */
    if (rc == SLUICE_XLATE_OK && names
        && sluice_xlate_names_make(json_object_get(c, "tools"), names) != 0)
    {
        rc = sluice_xlate_nomem(x->err);
    }

    json_decref(o);
    json_decref(c);

    return rc;
}


/*
 * What jansson found wrong, and where, in our words: its own text may
 * quote up to 20 bytes of the body.  Out of memory is ours, not the
 * caller's.
 */
static int
sluice_xlate_load_fail(sluice_xlate_ctx_t *x, const json_error_t *jerr)
{
    char         what[96];
    const char  *why;

    switch (json_error_code(jerr)) {

    case json_error_out_of_memory:
        return sluice_xlate_nomem(x->err);

    case json_error_duplicate_key:
        why = "duplicate key";
        break;

    case json_error_invalid_utf8:
        why = "invalid UTF-8";
        break;

    case json_error_numeric_overflow:
        why = "a number out of range";
        break;

    case json_error_null_character:
    case json_error_null_byte_in_key:
        why = "a \\u0000 escape (not supported)";
        break;

    case json_error_stack_overflow:
        why = "nested too deep";
        break;

    case json_error_premature_end_of_input:
        why = "unexpected end of the body";
        break;

    case json_error_end_of_input_expected:
        why = "trailing data after the object";
        break;

    default:
        why = strncmp(jerr->text, "invalid Unicode", 15) == 0
              ? "an invalid \\u escape"
              : "invalid JSON";
    }

    snprintf(what, sizeof(what), "%s at byte %d (line %d, column %d)", why,
             jerr->position, jerr->line, jerr->column);

    return sluice_xlate_invalid(x, what);
}


/*
 * The members of the caller's body a decoder reads (its table ends with
 * a NULL path), each of a type and in a range the table allows: the
 * first one that is not is refused with a 400 naming it.
 */
int
sluice_xlate_check(sluice_xlate_ctx_t *x, json_t *in,
    const sluice_xlate_check_t *ck)
{
    char     what[160];
    json_t  *v;

    for ( /* void */ ; ck->path; ck++) {
        v = sluice_xlate_check_get(in, ck->path);

        if (v == NULL || sluice_xlate_check_ok(v, ck)) {
            continue;
        }

        snprintf(what, sizeof(what), "\"%s\" must be %s", ck->path,
                 ck->expect);

        return sluice_xlate_invalid(x, what);
    }

    return SLUICE_XLATE_OK;
}


/* "a.b": member b of object a; NULL when a is not an object */
static json_t *
sluice_xlate_check_get(json_t *in, const char *path)
{
    json_t      *v;
    const char  *dot;

    v = in;

    for ( ;; ) {
        dot = strchr(path, '.');

        if (!json_is_object(v)) {
            return NULL;
        }

        v = json_object_getn(v, path, dot ? (size_t) (dot - path)
                                          : strlen(path));

        if (dot == NULL) {
            return v;
        }

        path = dot + 1;
    }
}


static int
sluice_xlate_check_ok(json_t *v, const sluice_xlate_check_t *ck)
{
    size_t    i;
    json_t   *s;
    unsigned  t;

    t = ck->types;

    switch (json_typeof(v)) {

    case JSON_NULL:
        return (t & SLUICE_XLATE_T_NULL) != 0;

    case JSON_TRUE:
    case JSON_FALSE:
        return (t & SLUICE_XLATE_T_BOOL) != 0;

    case JSON_STRING:
        return (t & SLUICE_XLATE_T_STR) != 0;

    case JSON_OBJECT:
        return (t & SLUICE_XLATE_T_OBJ) != 0;

    case JSON_INTEGER:
        if ((t & SLUICE_XLATE_T_INT) && json_integer_value(v) >= 0) {
            return 1;
        }

        return (t & SLUICE_XLATE_T_NUM) && json_number_value(v) >= ck->min
               && json_number_value(v) <= ck->max;

    case JSON_REAL:
        return (t & SLUICE_XLATE_T_NUM) && json_number_value(v) >= ck->min
               && json_number_value(v) <= ck->max;

    case JSON_ARRAY:
        if (t & SLUICE_XLATE_T_ARR) {
            return 1;
        }

        if (!(t & SLUICE_XLATE_T_STRS)) {
            return 0;
        }

        json_array_foreach(v, i, s) {
            if (!json_is_string(s)) {
                return 0;
            }
        }

        return 1;
    }

    return 0;
}


/* a tool_choice given as a word (chat, responses) */
int
sluice_xlate_mode_ok(const char *mode)
{
    return strcmp(mode, "none") == 0 || strcmp(mode, "auto") == 0
           || strcmp(mode, "required") == 0;
}
