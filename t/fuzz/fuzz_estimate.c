/*
 * libFuzzer target for sluice_estimate: the estimator must never read out
 * of bounds or loop, must call invalid JSON (-1) exactly what
 * sluice_json_scan refuses (in every dialect), may refuse more of the
 * valid objects as no request (SLUICE_ESTIMATE_REFUSED: a main member of
 * the wrong type) but never less, must refuse unknown dialects,
 * and its estimate must stay within what the body's bytes can buy: at
 * most a document's price for every 14 bytes ("type":"file",), so 256
 * tokens a byte.
 */

#include <stdint.h>
#include <stddef.h>
#include "sluice_json.h"
#include "sluice_estimate.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  d, valid;
    size_t               open;
    int64_t              n;
    sluice_json_error_t  err;

    valid = (sluice_json_scan(data, size, NULL, 0, &open, &err) == 0);

    for (d = 0; d < 3; d++) {
        n = sluice_estimate_tokens(d, (const char *) data, size);

        if (valid != (n != -1)
            || (n < 0 && n != -1 && n != SLUICE_ESTIMATE_REFUSED))
        {
            __builtin_trap();   /* disagrees with the scanner */
        }

        if (n >= 0 && (n < SLUICE_ESTIMATE_REQUEST
                       || (uint64_t) n > SLUICE_ESTIMATE_REQUEST
                                         + 256 * (uint64_t) size))
        {
            __builtin_trap();
        }
    }

    if (sluice_estimate_tokens(3, (const char *) data, size) != -1) {
        __builtin_trap();
    }

    return 0;
}
