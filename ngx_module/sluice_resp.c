/*
 * sluice_resp: "*<argc>\r\n" then "$<len>\r\n<bytes>\r\n" per argument.
 */

#include <string.h>
#include "sluice_resp.h"


static size_t sluice_resp_digits(size_t n);
static char *sluice_resp_num(char *p, char lead, size_t n);


static size_t
sluice_resp_digits(size_t n)
{
    size_t  d;

    for (d = 1; n >= 10; n /= 10) {
        d++;
    }

    return d;
}


/* lead, n in decimal, CRLF */
static char *
sluice_resp_num(char *p, char lead, size_t n)
{
    size_t  d, k;

    *p++ = lead;
    d = sluice_resp_digits(n);

    for (k = d; k > 0; k--) {
        p[k - 1] = (char) ('0' + n % 10);
        n /= 10;
    }

    p += d;
    *p++ = '\r';
    *p++ = '\n';

    return p;
}


size_t
sluice_resp_len(int argc, const size_t *argvlen)
{
    int     i;
    size_t  len;

    len = 1 + sluice_resp_digits((size_t) argc) + 2;

    for (i = 0; i < argc; i++) {
        len += 1 + sluice_resp_digits(argvlen[i]) + 2 + argvlen[i] + 2;
    }

    return len;
}


char *
sluice_resp_write(char *p, int argc, const char *const *argv,
    const size_t *argvlen)
{
    int  i;

    p = sluice_resp_num(p, '*', (size_t) argc);

    for (i = 0; i < argc; i++) {
        p = sluice_resp_num(p, '$', argvlen[i]);
        memcpy(p, argv[i], argvlen[i]);
        p += argvlen[i];
        *p++ = '\r';
        *p++ = '\n';
    }

    return p;
}
