/*
 * libFuzzer target for a whole answer's usage: read from the end first
 * (sluice_usage_parse) it must give what skimming every byte gives
 * (sluice_usage_parse_skim) for any answer that is valid JSON (jansson
 * decides; duplicate keys refused, as the skim keeps the last one).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <jansson.h>
#include "sluice_usage_json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             a, b;
    json_t         *v;
    json_error_t    err;
    sluice_usage_t  u1, u2;

    sluice_usage_init(&u1);
    sluice_usage_init(&u2);

    a = sluice_usage_parse(data, size, &u1, NULL);

    v = json_loadb((const char *) data, size,
                   JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (v == NULL) {
        return 0;
    }

    json_decref(v);

    b = sluice_usage_parse_skim(data, size, &u2, NULL);

    if (a != b || memcmp(&u1, &u2, sizeof(sluice_usage_t)) != 0) {
        __builtin_trap();
    }

    return 0;
}
