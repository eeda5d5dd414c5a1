/*
 * libFuzzer target for sluice_xlate.  Built three times by `make fuzz`
 * with SLUICE_FUZZ_MODE 0 (requests), 1 (answers) or 2 (streams).
 * Input: byte 0 picks the direction (from = b % 3, to = b / 3 % 3),
 * byte 1 the flags, status or feed size; the rest is the body.  For
 * answers and streams, a body holding a NUL is "<request>\0<answer>":
 * the request, a responses caller's, is translated toward the upstream
 * first (sluice_xlate_request_ex) and its names map the answer back
 * (the stream gets them and they are freed at once: it keeps a copy).
 * Checked beyond "no crash, no leak": what comes out parses as a JSON
 * object, a refused request has no names, a request gives the same
 * answer (bytes, names, or error status, code and message) with the
 * fast path as without it (SLUICE_XLATE_NO_FAST), every emitted frame is one
 * whole frame, a finished stream has ended (done or failed) and feeding
 * it more changes nothing; a stream gives the same bytes (our ids and
 * times aside), end state and usage with the fast path as without it
 * (SLUICE_XLATE_NO_FAST), and every "data: " line the fast path's tape
 * takes, jansson takes too and reads the same way.
 */

#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <jansson.h>
#include "sluice_xlate_int.h"


#ifndef SLUICE_FUZZ_MODE
#define SLUICE_FUZZ_MODE  2
#endif


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void fuzz_request(int from, int to, unsigned flags, const char *p,
    size_t n);
static sluice_xlate_names_t *fuzz_names(int from, const char **p,
    size_t *n);
static void fuzz_response(int from, int to, int status, const char *p,
    size_t n);
static void fuzz_stream(int from, int to, unsigned step, const char *p,
    size_t n);
static int fuzz_emit(void *data, const char *p, size_t len);
static void fuzz_json_object(const char *p, size_t len);
static void fuzz_request_slow(int from, int to, unsigned flags,
    const char *p, size_t n, int rc, const sluice_buf_t *out,
    const sluice_xlate_names_t *names, const sluice_xlate_err_t *err);
static sluice_xlate_stream_t *fuzz_stream_run(int from, int to,
    unsigned flags, unsigned step, const sluice_xlate_names_t *names,
    const char *p, size_t n, sluice_buf_t *out);
static void fuzz_canon(sluice_xlate_stream_t *st, sluice_buf_t *out,
    sluice_buf_t *c);
static void fuzz_tape(const char *p, size_t n);
static json_t *fuzz_tape_json(sluice_xlate_tape_t *t, int k);


/* the bytes of one run: frames checked, then kept */
typedef struct {
    size_t          frames;
    sluice_buf_t   *out;
} fuzz_sink_t;


static void
fuzz_json_object(const char *p, size_t len)
{
    json_t  *v;

    v = json_loadb(p, len, 0, NULL);

    if (!json_is_object(v)) {
        __builtin_trap();
    }

    json_decref(v);
}


static void
fuzz_request(int from, int to, unsigned flags, const char *p, size_t n)
{
    int                     rc;
    sluice_buf_t            out;
    sluice_xlate_err_t      err;
    sluice_xlate_names_t   *names;
    sluice_xlate_stream_t  *st;

    sluice_buf_init(&out);

    rc = sluice_xlate_request_ex(from, to, flags & 1, p, n, "m", &out,
                                 &names, &err);

    if (rc == SLUICE_XLATE_OK) {
        fuzz_json_object(out.data, out.len);

    } else if (err.status == 0 || err.message[0] == '\0' || names) {
        __builtin_trap();
    }

    fuzz_request_slow(from, to, flags & 1, p, n, rc, &out, names, &err);

    st = sluice_xlate_stream_create_ex(to, from, 0, 4096, names);
    sluice_xlate_names_free(names);
    sluice_xlate_stream_destroy(st);
    sluice_buf_free(&out);
}


/* the same request without the fast path must give the same answer */
static void
fuzz_request_slow(int from, int to, unsigned flags, const char *p,
    size_t n, int rc, const sluice_buf_t *out,
    const sluice_xlate_names_t *names, const sluice_xlate_err_t *err)
{
    int                     slow_rc;
    sluice_buf_t            slow;
    sluice_xlate_err_t      slow_err;
    sluice_xlate_names_t   *slow_names;

    sluice_buf_init(&slow);

    slow_rc = sluice_xlate_request_ex(from, to, flags | SLUICE_XLATE_NO_FAST,
                                      p, n, "m", &slow, &slow_names,
                                      &slow_err);

    if (slow_rc != rc || (slow_names == NULL) != (names == NULL)) {
        __builtin_trap();
    }

    if (rc == SLUICE_XLATE_OK
        && (slow.len != out->len
            || memcmp(slow.data, out->data, out->len) != 0))
    {
        __builtin_trap();
    }

    if (rc != SLUICE_XLATE_OK
        && (slow_err.status != err->status
            || strcmp(slow_err.code, err->code) != 0
            || strcmp(slow_err.message, err->message) != 0))
    {
        __builtin_trap();
    }

    sluice_xlate_names_free(slow_names);
    sluice_buf_free(&slow);
}


/* the names of "<request>\0..." (then *p, *n: the rest), or NULL */
static sluice_xlate_names_t *
fuzz_names(int from, const char **p, size_t *n)
{
    sluice_buf_t           out;
    const char            *nul;
    sluice_xlate_err_t     err;
    sluice_xlate_names_t  *names;

    nul = memchr(*p, '\0', *n);

    if (nul == NULL) {
        return NULL;
    }

    names = NULL;
    sluice_buf_init(&out);

    if (from != SLUICE_XLATE_RESPONSES) {
        sluice_xlate_request_ex(SLUICE_XLATE_RESPONSES, from, 0, *p,
                                nul - *p, "m", &out, &names, &err);
    }

    sluice_buf_free(&out);
    *n -= nul + 1 - *p;
    *p = nul + 1;

    return names;
}


static void
fuzz_response(int from, int to, int status, const char *p, size_t n)
{
    int                    rc;
    sluice_buf_t           out;
    sluice_usage_t         u;
    sluice_xlate_err_t     err;
    sluice_xlate_names_t  *names;

    names = fuzz_names(from, &p, &n);
    sluice_buf_init(&out);

    rc = sluice_xlate_response_ex(from, to, status, p, n, names, &out, &u,
                                  &err);

    if (rc != SLUICE_XLATE_ERROR) {
        fuzz_json_object(out.data, out.len);
    }

    sluice_buf_free(&out);
    sluice_xlate_names_free(names);
}


static int
fuzz_emit(void *data, const char *p, size_t len)
{
    fuzz_sink_t  *sink = data;

    if (len < 2 || p[len - 1] != '\n' || p[len - 2] != '\n'
        || memmem(p, len - 2, "\n\n", 2) != NULL)
    {
        __builtin_trap();
    }

    sink->frames++;

    return sink->out ? sluice_buf_append(sink->out, p, len) : 0;
}


static sluice_xlate_stream_t *
fuzz_stream_run(int from, int to, unsigned flags, unsigned step,
    const sluice_xlate_names_t *names, const char *p, size_t n,
    sluice_buf_t *out)
{
    size_t                  i, k, after;
    fuzz_sink_t             sink;
    sluice_xlate_stream_t  *st;

    st = sluice_xlate_stream_create_ex(from, to, flags, 4096, names);

    if (st == NULL) {
        return NULL;
    }

    sink.frames = 0;
    sink.out = out;

    for (i = 0; i < n; i += k) {
        k = n - i < step ? n - i : step;
        sluice_xlate_stream_feed(st, p + i, k, fuzz_emit, &sink);
    }

    sluice_xlate_stream_finish(st, fuzz_emit, &sink);

    if (sluice_xlate_stream_state(st) == SLUICE_XLATE_RUNNING) {
        __builtin_trap();
    }

    after = sink.frames;
    sluice_xlate_stream_feed(st, p, n, fuzz_emit, &sink);
    sluice_xlate_stream_ping(st, fuzz_emit, &sink);

    if (sink.frames != after) {
        __builtin_trap();
    }

    return st;
}


/* the output with our ids and times blanked, then the end state */
static void
fuzz_canon(sluice_xlate_stream_t *st, sluice_buf_t *out, sluice_buf_t *c)
{
    char                   end[128];
    size_t                 i, k;
    const char            *p, **pre;
    const sluice_usage_t  *u;

    static const char  *prefixes[] = {
        "chatcmpl-", "resp_", "msg_", "rs_", "fc_", "ctc_", "call_",
        "toolu_", "\"created\":", "\"created_at\":", NULL
    };

    p = out->data;

    for (i = 0; i < out->len; /* void */) {
        for (pre = prefixes; *pre; pre++) {
            k = strlen(*pre);

            if (out->len - i >= k && memcmp(p + i, *pre, k) == 0) {
                break;
            }
        }

        if (*pre == NULL) {
            sluice_buf_append(c, p + i++, 1);
            continue;
        }

        sluice_buf_append(c, p + i, k);
        sluice_buf_append(c, "*", 1);

        for (i += k; i < out->len && isxdigit((unsigned char) p[i]); i++) {
            /* void */
        }
    }

    u = sluice_xlate_stream_usage(st);
    snprintf(end, sizeof(end), "|%d|%lld|%lld|%lld|%lld",
             sluice_xlate_stream_state(st), (long long) u->in,
             (long long) u->out, (long long) u->cached,
             (long long) u->reasoning);
    sluice_buf_append(c, end, strlen(end));
}


/* the fast path and jansson alone give the same stream */
static void
fuzz_stream(int from, int to, unsigned step, const char *p, size_t n)
{
    unsigned                flags;
    sluice_buf_t            out[2], canon[2];
    sluice_xlate_names_t   *names;
    sluice_xlate_stream_t  *st[2];

    names = fuzz_names(from, &p, &n);
    flags = step & 1;
    step = step % 31 + 1;

    sluice_buf_init(&out[0]);
    sluice_buf_init(&out[1]);
    sluice_buf_init(&canon[0]);
    sluice_buf_init(&canon[1]);
    sluice_buf_append(&out[0], "", 0);
    sluice_buf_append(&out[1], "", 0);

    st[0] = fuzz_stream_run(from, to, flags, step, names, p, n, &out[0]);
    st[1] = fuzz_stream_run(from, to, flags | SLUICE_XLATE_NO_FAST, step,
                            names, p, n, &out[1]);
    sluice_xlate_names_free(names);

    if (st[0] && st[1]) {
        fuzz_canon(st[0], &out[0], &canon[0]);
        fuzz_canon(st[1], &out[1], &canon[1]);

        if (canon[0].len != canon[1].len
            || memcmp(canon[0].data, canon[1].data, canon[0].len) != 0)
        {
            __builtin_trap();
        }
    }

    sluice_xlate_stream_destroy(st[0]);
    sluice_xlate_stream_destroy(st[1]);
    sluice_buf_free(&out[0]);
    sluice_buf_free(&out[1]);
    sluice_buf_free(&canon[0]);
    sluice_buf_free(&canon[1]);

    fuzz_tape(p, n);
}


/* each "data: " line the tape takes, jansson takes and reads the same */
static void
fuzz_tape(const char *p, size_t n)
{
    json_t               *want, *got;
    const char           *line, *nl, *end;
    sluice_xlate_tape_t  *t;

    t = sluice_xlate_tape_create();
    end = p + n;

    for (line = p; t && line < end; line = nl + 1) {
        nl = memchr(line, '\n', end - line);
        nl = nl ? nl : end;

        if (nl - line < 6 || memcmp(line, "data: ", 6) != 0
            || sluice_xlate_tape_parse(t, (const uint8_t *) line + 6,
                                       nl - line - 6, 64) != 0)
        {
            continue;
        }

        want = json_loadb(line + 6, nl - line - 6, 0, NULL);
        got = fuzz_tape_json(t, 0);

        if (!json_is_object(want) || !json_equal(want, got)) {
            __builtin_trap();
        }

        json_decref(want);
        json_decref(got);
    }

    sluice_xlate_tape_destroy(t);
}


/* the tape's value k as a jansson value */
static json_t *
fuzz_tape_json(sluice_xlate_tape_t *t, int k)
{
    int          i;
    size_t       len;
    json_t      *v;
    int64_t      num;
    const char  *s;

    switch (t->tok[k].type) {

    case SLUICE_XLATE_J_OBJECT:
        v = json_object();

        for (i = k + 1; i < (int) t->tok[k].next;
             i = (int) t->tok[i + 1].next)
        {
            json_object_setn_new(v, (const char *) t->p + t->tok[i].start
                                    + 1,
                                 t->tok[i].end - t->tok[i].start - 2,
                                 fuzz_tape_json(t, i + 1));
        }

        return v;

    case SLUICE_XLATE_J_ARRAY:
        v = json_array();

        for (i = k + 1; i < (int) t->tok[k].next; i = (int) t->tok[i].next) {
            json_array_append_new(v, fuzz_tape_json(t, i));
        }

        return v;

    case SLUICE_XLATE_J_STRING:
        s = sluice_xlate_tape_text(t, k, &len);
        return s ? json_stringn(s, len) : NULL;

    case SLUICE_XLATE_J_NUMBER:
        if (sluice_xlate_tape_int(t, k, &num)) {
            return json_integer(num);
        }

        return json_real(strtod((const char *) t->p + t->tok[k].start,
                                NULL));

    case SLUICE_XLATE_J_TRUE:
        return json_true();

    case SLUICE_XLATE_J_FALSE:
        return json_false();

    default:
        return json_null();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          from, to;
    const char  *p;

    if (size < 2) {
        return 0;
    }

    from = data[0] % 3;
    to = data[0] / 3 % 3;
    p = (const char *) data + 2;

    switch (SLUICE_FUZZ_MODE) {

    case 0:
        if (from != to) {
            fuzz_request(from, to, data[1], p, size - 2);
        }
        break;

    case 1:
        fuzz_response(from, to, data[1] < 128 ? 200 : 300 + data[1], p,
                      size - 2);
        break;

    default:
        fuzz_stream(from, to, data[1], p, size - 2);
        break;
    }

    return 0;
}
