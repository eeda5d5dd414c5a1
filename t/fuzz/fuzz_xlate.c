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
 * object, a refused request has no names, every emitted frame is one
 * whole frame, a finished stream has ended (done or failed) and feeding
 * it more changes nothing.
 */

#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "sluice_xlate.h"


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

    st = sluice_xlate_stream_create_ex(to, from, 0, 4096, names);
    sluice_xlate_names_free(names);
    sluice_xlate_stream_destroy(st);
    sluice_buf_free(&out);
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
    size_t  *frames = data;

    if (len < 2 || p[len - 1] != '\n' || p[len - 2] != '\n'
        || memmem(p, len - 2, "\n\n", 2) != NULL)
    {
        __builtin_trap();
    }

    (*frames)++;

    return 0;
}


static void
fuzz_stream(int from, int to, unsigned step, const char *p, size_t n)
{
    size_t                  i, k, frames, after;
    sluice_xlate_names_t   *names;
    sluice_xlate_stream_t  *st;

    frames = 0;
    names = fuzz_names(from, &p, &n);
    st = sluice_xlate_stream_create_ex(from, to, step & 1, 4096, names);
    sluice_xlate_names_free(names);

    if (st == NULL) {
        return;
    }

    step = step % 31 + 1;

    for (i = 0; i < n; i += k) {
        k = n - i < step ? n - i : step;
        sluice_xlate_stream_feed(st, p + i, k, fuzz_emit, &frames);
    }

    sluice_xlate_stream_finish(st, fuzz_emit, &frames);

    if (sluice_xlate_stream_state(st) == SLUICE_XLATE_RUNNING) {
        __builtin_trap();
    }

    after = frames;
    sluice_xlate_stream_feed(st, p, n, fuzz_emit, &frames);
    sluice_xlate_stream_ping(st, fuzz_emit, &frames);

    if (frames != after) {
        __builtin_trap();
    }

    sluice_xlate_stream_destroy(st);
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
