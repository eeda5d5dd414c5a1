/*
 * libFuzzer target for sluice_table: key and group records from a
 * corrupted or hostile table must be refused or parsed within bounds.
 */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "sluice_table.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                   *v;
    const char             *pos;
    sluice_table_key_t      k;
    sluice_table_group_t    g;
    sluice_table_target_t   t;

    /* an exact-size copy, so reading one byte past the value traps */
    v = malloc(size ? size : 1);
    if (v == NULL) {
        return 0;
    }
    memcpy(v, data, size);

    if (sluice_table_key_parse(v, size, &k) == 0) {
        (void) sluice_table_group_allowed(k.groups, "demo-chat", 9);
    }

    if (sluice_table_group_parse(v, size, &g) == 0) {
        pos = g.targets;
        while (sluice_table_target_next(&pos, g.end, &t) == 1) {
            /* void */
        }
    }

    free(v);
    return 0;
}
