/*
 * Unit tests (TAP) for sluice_resp: byte-identical to hiredis's own
 * formatter for random commands, binary and empty arguments included;
 * replies split where hiredis's reader splits them, fed in any pieces.
 */

#include <stdio.h>
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


/* a random RESP2 reply at p; returns the end */
static char *
random_reply(char *p, int depth, int *errors)
{
    int  k, n, kind;

    kind = rand() % (depth < 3 ? 6 : 4);

    switch (kind) {
    case 0:
        return p + sprintf(p, "+OK%d\r\n", rand() % 100);
    case 1:
        if (depth == 0) {
            (*errors)++;
        }
        return p + sprintf(p, "-ERR oops %d\r\n", rand() % 100);
    case 2:
        return p + sprintf(p, ":%d\r\n", rand() - RAND_MAX / 2);
    case 3:
        n = rand() % 40 - 1;
        if (n < 0) {
            return p + sprintf(p, "$-1\r\n");
        }
        p += sprintf(p, "$%d\r\n", n);
        for (k = 0; k < n; k++) {
            *p++ = (char) (rand() % 256);
        }
        return p + sprintf(p, "\r\n");
    default:
        n = rand() % 5 - 1;
        p += sprintf(p, "*%d\r\n", n);
        for (k = 0; k < n; k++) {
            p = random_reply(p, depth + 1, errors);
        }
        return p;
    }
}


/* replies fed in random pieces: the same count as hiredis, same errors */
static int
replies_match(void)
{
    int                   i, k, n, errors, ours, theirs, our_err, bad;
    char                  buf[65536], *end;
    void                 *reply;
    size_t                pos, fed, cut;
    ssize_t               len;
    redisReader          *rd;
    sluice_resp_reply_t   r;

    bad = 0;

    for (i = 0; i < 500; i++) {
        errors = 0;
        n = 1 + rand() % 30;
        end = buf;

        for (k = 0; k < n; k++) {
            end = random_reply(end, 0, &errors);
        }

        rd = redisReaderCreate();
        theirs = 0;

        if (redisReaderFeed(rd, buf, end - buf) != REDIS_OK) {
            bad++;
        }

        while (redisReaderGetReply(rd, &reply) == REDIS_OK && reply) {
            theirs++;
            freeReplyObject(reply);
        }

        redisReaderFree(rd);

        /* ours, the bytes arriving in random pieces */
        ours = our_err = 0;
        pos = 0;
        fed = 0;

        while (pos < (size_t) (end - buf)) {
            cut = (size_t) (rand() % 64);
            fed = fed + cut > (size_t) (end - buf) ? (size_t) (end - buf)
                                                   : fed + cut;
            for ( ;; ) {
                len = sluice_resp_reply(buf + pos, fed - pos, &r);
                if (len <= 0) {
                    break;
                }
                ours++;
                our_err += r.error;
                if (r.error && (r.msg_len < 9
                                || memcmp(r.msg, "ERR oops ", 9) != 0))
                {
                    bad++;
                }
                pos += len;
            }

            if (len < 0 || (fed == (size_t) (end - buf) && len == 0
                            && pos < fed))
            {
                bad++;
                break;
            }
        }

        bad += (ours != theirs || ours != n || our_err != errors);
    }

    return bad == 0;
}


/* sluice_resp_u64 against printf: powers of ten around, random values */
static int
u64_matches(void)
{
    int       i, k, good;
    char      ours[32], theirs[32], *end;
    uint64_t  n, p10;

    good = 1;
    p10 = 1;

    for (k = 0; k < 20; k++) {
        for (n = p10 > 1 ? p10 - 1 : 0; n <= p10 + 1; n++) {
            end = sluice_resp_u64(ours, n);
            *end = '\0';
            snprintf(theirs, sizeof(theirs), "%llu", (unsigned long long) n);
            good &= strcmp(ours, theirs) == 0;
        }

        p10 *= 10;
    }

    for (i = 0; i < 100000; i++) {
        n = ((uint64_t) rand() << 40) ^ ((uint64_t) rand() << 20)
            ^ (uint64_t) rand();
        n >>= rand() % 64;
        end = sluice_resp_u64(ours, n);
        *end = '\0';
        snprintf(theirs, sizeof(theirs), "%llu", (unsigned long long) n);
        good &= strcmp(ours, theirs) == 0;
    }

    end = sluice_resp_u64(ours, UINT64_MAX);
    *end = '\0';

    return good && strcmp(ours, "18446744073709551615") == 0;
}


static int
replies_refused(void)
{
    int                   k, all;
    sluice_resp_reply_t   r;

    static const char    *bad[] = {
        "?x\r\n", ":12a\r\n", "$3\r\nabcXY", "*-2\r\n", "$x\r\n",
        "+OK\n", ":123456789012345678901234567890", "*1\r\n?\r\n",
        "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
        NULL
    };

    all = 1;

    for (k = 0; bad[k]; k++) {
        if (sluice_resp_reply(bad[k], strlen(bad[k]), &r) >= 0) {
            printf("# accepted: %s\n", bad[k]);
            all = 0;
        }
    }

    return all && sluice_resp_reply("$5\r\nab", 8, &r) == 0
           && sluice_resp_reply("-ERR x\r\n", 8, &r) == 8 && r.error
           && r.msg_len == 5 && memcmp(r.msg, "ERR x", 5) == 0;
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

    ok(u64_matches(), "numbers printed as printf prints them");
    ok(replies_match(), "replies found as hiredis finds them, in any "
       "pieces, errors with their text");
    ok(replies_refused(), "malformed replies refused, incomplete ones "
       "wait");

    return tap_done();
}
