/*
 * libFuzzer target for reading usage.  The fast reader must give what
 * the generic skim reader gives (sluice_usage_parse_ref) on any text: a
 * whole answer read from its end first (sluice_usage_parse), the whole
 * answer skimmed (sluice_usage_parse_skim), a stream event (usage_only),
 * and the input itself as a usage object, wrapped in an answer, when the
 * fast reader alone accepts it.  For answers that are valid JSON
 * (jansson decides, duplicate keys refused: the skim refuses a wanted
 * key given twice where jansson keeps the last), reading from the end
 * must give what skimming every byte gives.
 */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "sluice_usage_json.h"


#define FUZZ_WRAP_HEAD  "{\"id\":1,\"usage\":"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void fuzz_same(int a, const sluice_usage_t *u1, int b,
    const sluice_usage_t *u2);
static void fuzz_object(const uint8_t *data, size_t size);


static void
fuzz_same(int a, const sluice_usage_t *u1, int b, const sluice_usage_t *u2)
{
    if (a != b || memcmp(u1, u2, sizeof(sluice_usage_t)) != 0) {
        __builtin_trap();
    }
}


/* the input as a usage object: the fast reader against the generic one */
static void
fuzz_object(const uint8_t *data, size_t size)
{
    int             a, b;
    size_t          end, head;
    uint8_t        *p;
    sluice_usage_t  u1, u2;

    sluice_usage_init(&u1);
    end = sluice_usage_object(data, size, &u1);

    if (end == 0) {
        return;
    }

    if (end > size) {
        __builtin_trap();
    }

    head = sizeof(FUZZ_WRAP_HEAD) - 1;
    p = malloc(head + end + 1);
    if (p == NULL) {
        return;
    }

    memcpy(p, FUZZ_WRAP_HEAD, head);
    memcpy(p + head, data, end);
    p[head + end] = '}';

    sluice_usage_init(&u2);
    b = sluice_usage_parse_ref(p, head + end + 1, &u2, NULL, 0);
    fuzz_same(SLUICE_USAGE_FOUND, &u1, b, &u2);

    /* not from the end: in malformed text a "usage" inside may be last */
    sluice_usage_init(&u2);
    a = sluice_usage_parse_skim(p, head + end + 1, &u2, NULL);
    fuzz_same(SLUICE_USAGE_FOUND, &u1, a, &u2);

    free(p);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             a, b, o1, o2;
    json_t         *v;
    json_error_t    err;
    sluice_usage_t  u1, u2;

    /* a whole answer from its end: fast reader, then generic */
    sluice_usage_init(&u1);
    sluice_usage_init(&u2);
    a = sluice_usage_parse(data, size, &u1, NULL);
    b = sluice_usage_parse_ref(data, size, &u2, NULL, 1);
    fuzz_same(a, &u1, b, &u2);

    /* a whole answer skimmed */
    sluice_usage_init(&u1);
    sluice_usage_init(&u2);
    a = sluice_usage_parse_skim(data, size, &u1, NULL);
    b = sluice_usage_parse_ref(data, size, &u2, NULL, 0);
    fuzz_same(a, &u1, b, &u2);

    /* a stream event */
    sluice_usage_init(&u1);
    sluice_usage_init(&u2);
    a = sluice_usage_parse(data, size, &u1, &o1);
    b = sluice_usage_parse_ref(data, size, &u2, &o2, 0);
    fuzz_same(a, &u1, b, &u2);

    if (o1 != o2) {
        __builtin_trap();
    }

    fuzz_object(data, size);

    v = json_loadb((const char *) data, size,
                   JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (v == NULL) {
        return 0;
    }

    json_decref(v);

    /* valid JSON: from the end as skimming every byte (the old oracle) */
    sluice_usage_init(&u1);
    sluice_usage_init(&u2);
    a = sluice_usage_parse_ref(data, size, &u1, NULL, 1);
    b = sluice_usage_parse_ref(data, size, &u2, NULL, 0);
    fuzz_same(a, &u1, b, &u2);

    return 0;
}
