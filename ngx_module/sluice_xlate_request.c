/*
 * sluice_xlate_request: a request body from the caller's dialect to the
 * target's, through the canonical request (see sluice_xlate_int.h).
 */

#include <string.h>
#include "sluice_xlate_int.h"


typedef int (*sluice_xlate_req_decode_pt)(sluice_xlate_ctx_t *x,
    json_t *in, json_t *c);
typedef json_t *(*sluice_xlate_req_encode_pt)(sluice_xlate_ctx_t *x,
    json_t *c);


static int sluice_xlate_request_run(sluice_xlate_ctx_t *x, json_t *in,
    sluice_buf_t *out, sluice_xlate_names_t **names);


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

    x.from = from;
    x.to = to;
    x.flags = flags;
    x.model = upstream_model ? upstream_model : "";
    x.err = err;

    in = json_loadb(body, len, 0, &jerr);

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
