/*
 * libFuzzer target for sluice_xlate.  Built three times by `make fuzz`
 * with SLUICE_FUZZ_MODE 0 (requests), 1 (answers) or 2 (streams).
 * Input: byte 0 picks the direction (from = b % 3, to = b / 3 % 3),
 * byte 1 the flags, status or feed size; the rest is the body.
 * Checked beyond "no crash, no leak": what comes out parses as a JSON
 * object, every emitted frame is one whole frame, a finished stream has
 * ended (done or failed) and feeding it more changes nothing.
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
    int                  rc;
    sluice_buf_t         out;
    sluice_xlate_err_t   err;

    sluice_buf_init(&out);

    rc = sluice_xlate_request_flags(from, to, flags & 1, p, n, "m", &out,
                                    &err);

    if (rc == SLUICE_XLATE_OK) {
        fuzz_json_object(out.data, out.len);

    } else if (err.status == 0 || err.message[0] == '\0') {
        __builtin_trap();
    }

    sluice_buf_free(&out);
}


static void
fuzz_response(int from, int to, int status, const char *p, size_t n)
{
    int                  rc;
    sluice_buf_t         out;
    sluice_usage_t       u;
    sluice_xlate_err_t   err;

    sluice_buf_init(&out);

    rc = sluice_xlate_response(from, to, status, p, n, &out, &u, &err);

    if (rc != SLUICE_XLATE_ERROR) {
        fuzz_json_object(out.data, out.len);
    }

    sluice_buf_free(&out);
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
    sluice_xlate_stream_t  *st;

    frames = 0;
    st = sluice_xlate_stream_create(from, to, step & 1, 4096);

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
