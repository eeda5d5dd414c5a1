/*
 * libFuzzer target for sluice_json: the scanner must never read out of
 * bounds, and must agree with itself when asked for other members; any
 * string span it reports must decode within its bound.
 */

#include <stdint.h>
#include <stddef.h>
#include "sluice_json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                open;
    uint8_t               out[256];
    sluice_json_error_t   err;
    sluice_json_member_t  m[3];

    m[0].name = "model";
    m[1].name = "stream";
    m[2].name = "stream_options";

    if (sluice_json_scan(data, size, m, 3, &open, &err) != 0) {
        return 0;
    }

    if (m[0].type == SLUICE_JSON_STRING) {
        (void) sluice_json_string_decode(data + m[0].start,
                                         m[0].end - m[0].start, out,
                                         sizeof(out));
    }

    if (m[2].type == SLUICE_JSON_OBJECT) {
        m[0].name = "include_usage";
        if (sluice_json_scan(data + m[2].start, m[2].end - m[2].start, m, 1,
                             &open, &err)
            != 0)
        {
            __builtin_trap();   /* a valid member must be valid alone */
        }
    }

    return 0;
}
