/*
 * A minimal TAP producer for the C unit tests: ok() per check, then
 * tap_done() prints the plan and gives main()'s exit status.
 */

#ifndef SLUICE_TAP_H
#define SLUICE_TAP_H

#include <stdio.h>

static int  tap_n;
static int  tap_failed;


static void
ok(int cond, const char *name)
{
    tap_n++;

    if (!cond) {
        tap_failed++;
    }

    printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
}


static int
tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
