/*
 * Unit tests (TAP) for sluice_resp: byte-identical to hiredis's own
 * formatter for random commands, binary and empty arguments included.
 */

#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include "sluice_resp.h"
#include "tap.h"


static int
same_as_hiredis(int argc, const char **argv, const size_t *argvlen)
{
    int     n, same;
    char   *theirs, *ours, *end;
    size_t  len;

    n = redisFormatCommandArgv(&theirs, argc, argv, argvlen);
    len = sluice_resp_len(argc, argvlen);
    ours = malloc(len);
    end = sluice_resp_write(ours, argc, argv, argvlen);

    same = n > 0 && (size_t) n == len && (size_t) (end - ours) == len
           && memcmp(ours, theirs, len) == 0;

    free(ours);
    redisFreeCommand(theirs);
    return same;
}


int
main(void)
{
    int          i, k, argc, all;
    size_t       j;
    char         pool[64][200];
    size_t       argvlen[64];
    const char  *argv[64];

    argv[0] = "XADD";
    argv[1] = "s";
    argv[2] = "";
    argvlen[0] = 4;
    argvlen[1] = 1;
    argvlen[2] = 0;
    ok(same_as_hiredis(3, argv, argvlen), "empty argument");

    srand(11);
    all = 1;

    for (i = 0; i < 2000; i++) {
        argc = 1 + rand() % 64;
        for (k = 0; k < argc; k++) {
            argvlen[k] = (size_t) (rand() % ((k % 7 == 0) ? 200 : 12));
            for (j = 0; j < argvlen[k]; j++) {
                pool[k][j] = (char) (rand() % 256);
            }
            argv[k] = pool[k];
        }
        all &= same_as_hiredis(argc, argv, argvlen);
    }

    ok(all, "2000 random commands match hiredis byte for byte");

    return tap_done();
}
