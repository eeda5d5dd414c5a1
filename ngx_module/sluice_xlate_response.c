/*
 * sluice_xlate_response: a whole upstream answer into the caller's
 * dialect through the canonical answer, and upstream errors into the
 * caller's error envelope (only the upstream's message travels).
 */

#include <stdio.h>
#include <string.h>
#include "sluice_xlate_int.h"


typedef json_t *(*sluice_xlate_resp_decode_pt)(json_t *in,
    sluice_usage_t *u);
typedef json_t *(*sluice_xlate_resp_encode_pt)(json_t *c);


static json_t *sluice_xlate_response_error(int to, int status, json_t *in);
static int sluice_xlate_response_is_error(int status, json_t *in);
static json_t *sluice_xlate_response_answer(int from, int to, json_t *in,
    const sluice_xlate_names_t *names, sluice_usage_t *u);


/* indexed by dialect */
static const sluice_xlate_resp_decode_pt  sluice_xlate_resp_decoders[] = {
    sluice_xlate_chat_resp_decode,
    sluice_xlate_responses_resp_decode,
    sluice_xlate_messages_resp_decode
};

static const sluice_xlate_resp_encode_pt  sluice_xlate_resp_encoders[] = {
    sluice_xlate_chat_resp_encode,
    sluice_xlate_responses_resp_encode,
    sluice_xlate_messages_resp_encode
};


int
sluice_xlate_response(int from, int to, int status, const char *body,
    size_t len, sluice_buf_t *out, sluice_usage_t *usage,
    sluice_xlate_err_t *err)
{
    return sluice_xlate_response_ex(from, to, status, body, len, NULL, out,
                                    usage, err);
}


int
sluice_xlate_response_ex(int from, int to, int status, const char *body,
    size_t len, const sluice_xlate_names_t *names, sluice_buf_t *out,
    sluice_usage_t *usage, sluice_xlate_err_t *err)
{
    int             rc, envelope;
    json_t         *in, *o;
    json_error_t    jerr;
    sluice_usage_t  u;

    err->status = 0;
    err->code = NULL;
    err->message[0] = '\0';

    if (from < 0 || from > SLUICE_XLATE_MESSAGES || to < 0
        || to > SLUICE_XLATE_MESSAGES)
    {
        return sluice_xlate_fail(err, 500, "internal", "no such dialect");
    }

    sluice_usage_init(&u);

    in = json_loadb(body, len, 0, &jerr);

    envelope = sluice_xlate_response_is_error(status, in);

    if (envelope) {
        o = sluice_xlate_response_error(to, status, in);

    } else if (json_is_object(in)) {
        o = sluice_xlate_response_answer(from, to, in, names, &u);

    } else {
        json_decref(in);
        return sluice_xlate_fail(err, 502, "upstream-failed",
                                 "the upstream answer is not JSON");
    }

    json_decref(in);

    if (o == NULL) {
        return sluice_xlate_fail(err, 502, "upstream-failed",
                                 "the upstream answer is not a %s answer",
                                 sluice_xlate_dialect_name(from));
    }

    rc = sluice_xlate_dump(o, out) == 0 ? SLUICE_XLATE_OK
                                        : sluice_xlate_nomem(err);
    json_decref(o);

    if (rc == SLUICE_XLATE_OK && envelope) {
        err->status = status >= 400 ? status : 502;
        rc = SLUICE_XLATE_ENVELOPE;
    }

    if (usage) {
        *usage = u;
    }

    return rc;
}


/* an error status, an error envelope, or a failed response object */
static int
sluice_xlate_response_is_error(int status, json_t *in)
{
    const char  *type;

    type = json_string_value(json_object_get(in, "type"));

    return status >= 400 || json_is_object(json_object_get(in, "error"))
           || (type && strcmp(type, "error") == 0);
}


/* only a responses caller has tools the target knew by other names */
static json_t *
sluice_xlate_response_answer(int from, int to, json_t *in,
    const sluice_xlate_names_t *names, sluice_usage_t *u)
{
    json_t  *c, *o, *cu;

    c = sluice_xlate_resp_decoders[from](in, u);
    if (c == NULL) {
        return NULL;
    }

    if (to == SLUICE_XLATE_RESPONSES && names
        && sluice_xlate_names_apply(names, c) != 0)
    {
        json_decref(c);
        return NULL;
    }

    cu = json_object();
    if (cu == NULL) {
        json_decref(c);
        return NULL;
    }

    sluice_xlate_usage_canon(cu, u);
    json_object_set_new(c, "usage", cu);

    o = sluice_xlate_resp_encoders[to](c);
    json_decref(c);

    return o;
}


/*
 * Every error shape: OpenAI {"error":{message,type,code}}, Anthropic
 * {"type":"error","error":{type,message}}, a failed response object,
 * vLLM's {"object":"error","message",...}, or no JSON at all.
 */
static json_t *
sluice_xlate_response_error(int to, int status, json_t *in)
{
    char          text[64];
    json_t       *e, *msg, *type, *o;
    sluice_buf_t  b;

    e = json_object_get(in, "error");

    if (!json_is_object(e)) {
        e = in;
    }

    msg = json_object_get(e, "message");
    type = json_object_get(e, "type");

    if (!json_is_string(type) || strcmp(json_string_value(type), "error")
                                 == 0)
    {
        type = json_object_get(e, "code");
    }

    sluice_buf_init(&b);

    if (json_is_string(msg) && json_string_length(msg)) {
        sluice_xlate_cut_message(json_string_value(msg),
                                 json_string_length(msg), &b);

    } else {
        snprintf(text, sizeof(text), "the upstream answered HTTP %d",
                 status);
        sluice_buf_append_str(&b, text);
    }

    o = sluice_xlate_error_envelope(to,
            sluice_xlate_error_kind(status >= 400 ? status : 500,
                                    json_string_value(type)),
            b.data ? b.data : "upstream error",
            json_string_value(json_object_get(e, "code")));

    sluice_buf_free(&b);

    return o;
}


/*
 * The caller's error object; message is ours or the upstream's.  code
 * (OpenAI callers only, may be NULL) goes out only when it is a plain
 * identifier such as "context_length_exceeded", which clients act on.
 */
json_t *
sluice_xlate_error_envelope(int dialect, int kind, const char *message,
    const char *code)
{
    size_t       i;
    const char  *type;

    type = sluice_xlate_error_type(dialect, kind);

    if (dialect == SLUICE_XLATE_MESSAGES) {
        return json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error",
                         "type", type, "message", message);
    }

    for (i = 0; code && code[i]; i++) {
        if (i == 64 || !((code[i] >= 'a' && code[i] <= 'z') || code[i] == '_'
                         || (code[i] >= '0' && code[i] <= '9')))
        {
            code = NULL;
            break;
        }
    }

    return json_pack("{s:{s:s, s:s, s:n, s:s?}}", "error", "message",
                     message, "type", type, "param", "code",
                     (code && *code) ? code : NULL);
}
