/*
 * libFuzzer target for sluice_json: the scanner must never read out of
 * bounds, must give the reference scanner's answers (t/unit/json_ref.c:
 * verdict, error offset and reason, member spans), the skimmer the
 * scanner's on what it accepts, and must agree with itself when asked
 * for other members; any string span it reports must decode within its
 * bound.
 *
 * The first byte picks where the rest goes: as it is, or inside a string
 * value, a key or a nested string (so the string loop is reached at
 * once), followed by up to 31 spaces (so its blocks meet the end of the
 * text at every distance); and whether an empty name is wanted too (it
 * turns the scanner's second-byte filter off).  Every text is scanned
 * from a buffer of its exact size.
 */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "sluice_json.h"
#include "../unit/json_ref.c"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void fuzz_json_check(const uint8_t *p, size_t len, size_t n);
static int fuzz_json_same(const sluice_json_member_t *a,
    const sluice_json_member_t *b, size_t n);


/* the members asked for; the last, empty, only with bit 2 of the first byte */
#define FUZZ_JSON_NAMES  8

static const char  *fuzz_json_wraps[][2] = {
    { "", "" },
    { "{\"model\":\"", "\"}" },
    { "{\"", "\":1,\"stream\":true}" },
    { "{\"messages\":[{\"content\":\"", "\"}],\"model\":\"m\"}" }
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t       pre, post, pad, len, n;
    uint8_t     *p;
    const char  *const *wrap;

    if (size == 0) {
        return 0;
    }

    wrap = fuzz_json_wraps[data[0] & 3];
    n = (data[0] & 4) ? FUZZ_JSON_NAMES : FUZZ_JSON_NAMES - 1;
    pad = data[0] >> 3;
    data++;
    size--;

    pre = strlen(wrap[0]);
    post = strlen(wrap[1]);
    len = pre + size + post + pad;

    p = malloc(len ? len : 1);
    if (p == NULL) {
        return 0;
    }

    memcpy(p, wrap[0], pre);
    memcpy(p + pre, data, size);
    memcpy(p + pre + size, wrap[1], post);
    memset(p + pre + size + post, ' ', pad);

    fuzz_json_check(p, len, n);

    free(p);

    return 0;
}


static void
fuzz_json_check(const uint8_t *p, size_t len, size_t n)
{
    int                   a, b;
    size_t                k, oa, ob;
    uint8_t               out[256];
    sluice_json_error_t   ea, eb;
    sluice_json_member_t  ma[FUZZ_JSON_NAMES], mb[FUZZ_JSON_NAMES];

    static const char    *names[FUZZ_JSON_NAMES] = {
        "model", "stream", "stream_options", "messages", "m\xc3\xa9", "a",
        "mod", ""
    };

    for (k = 0; k < n; k++) {
        ma[k].name = names[k];
        mb[k].name = names[k];
    }

    oa = ob = 0;
    ea.offset = eb.offset = 0;
    ea.reason = eb.reason = NULL;

    a = sluice_json_scan(p, len, ma, n, &oa, &ea);
    b = sluice_jref_scan(p, len, mb, n, &ob, &eb);

    if (a != b) {
        __builtin_trap();   /* the verdict differs from the reference */
    }

    if (a != 0) {
        if (ea.offset != eb.offset || strcmp(ea.reason, eb.reason) != 0) {
            __builtin_trap();   /* the error differs */
        }
        return;
    }

    if (oa != ob || !fuzz_json_same(ma, mb, n)) {
        __builtin_trap();   /* the member spans differ */
    }

    if (sluice_json_skim(p, len, mb, n) != 0 || !fuzz_json_same(ma, mb, n)) {
        __builtin_trap();   /* the skimmer differs on valid text */
    }

    if (ma[0].type == SLUICE_JSON_STRING) {
        (void) sluice_json_string_decode(p + ma[0].start,
                                         ma[0].end - ma[0].start, out,
                                         sizeof(out));
    }

    if (ma[2].type == SLUICE_JSON_OBJECT) {
        ma[0].name = "include_usage";
        if (sluice_json_scan(p + ma[2].start, ma[2].end - ma[2].start, ma, 1,
                             &oa, &ea)
            != 0)
        {
            __builtin_trap();   /* a valid member must be valid alone */
        }
    }
}


static int
fuzz_json_same(const sluice_json_member_t *a, const sluice_json_member_t *b,
    size_t n)
{
    size_t  k;

    for (k = 0; k < n; k++) {
        if (a[k].type != b[k].type
            || (a[k].type != SLUICE_JSON_NONE
                && (a[k].start != b[k].start || a[k].end != b[k].end
                    || a[k].key_start != b[k].key_start)))
        {
            return 0;
        }
    }

    return 1;
}
