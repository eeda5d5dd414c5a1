/*
 * sluice_resp: "*<argc>\r\n" then "$<len>\r\n<bytes>\r\n" per argument;
 * replies are walked in place.
 */

#include <string.h>
#include "sluice_resp.h"


#define SLUICE_RESP_DEPTH  8

/* longest "$<n>", "*<n>" or ":<n>" line we accept (sign and 19 digits) */
#define SLUICE_RESP_NUM    21


static size_t sluice_resp_digits(uint64_t n);
static char *sluice_resp_num(char *p, char lead, size_t n);
static ssize_t sluice_resp_line(const char *p, size_t len, size_t pos);
static int sluice_resp_int(const char *p, size_t from, size_t to,
    int64_t *n);
static ssize_t sluice_resp_at(const char *p, size_t len, size_t pos,
    int depth, sluice_resp_reply_t *r);


static size_t
sluice_resp_digits(uint64_t n)
{
    size_t  d;

    if (n < 10) {
        return 1;
    }

    if (n < 100) {
        return 2;
    }

    for (d = 3, n /= 1000; n; n /= 10) {
        d++;
    }

    return d;
}


char *
sluice_resp_u64(char *p, uint64_t n)
{
    size_t  d, k;

    static const char  pairs[] =
        "00010203040506070809101112131415161718192021222324"
        "25262728293031323334353637383940414243444546474849"
        "50515253545556575859606162636465666768697071727374"
        "75767778798081828384858687888990919293949596979899";

    d = sluice_resp_digits(n);

    /* two digits a step, from the end */
    for (k = d; n >= 100; k -= 2) {
        p[k - 1] = pairs[(n % 100) * 2 + 1];
        p[k - 2] = pairs[(n % 100) * 2];
        n /= 100;
    }

    if (n >= 10) {
        p[1] = pairs[n * 2 + 1];
        p[0] = pairs[n * 2];

    } else {
        p[0] = (char) ('0' + n);
    }

    return p + d;
}


/* lead, n in decimal, CRLF */
static char *
sluice_resp_num(char *p, char lead, size_t n)
{
    *p++ = lead;

    if (n < 10) {
        *p++ = (char) ('0' + n);

    } else {
        p = sluice_resp_u64(p, n);
    }

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
        len += sluice_resp_bulk_len(argvlen[i]);
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
        p = sluice_resp_bulk(p, argv[i], argvlen[i]);
    }

    return p;
}


char *
sluice_resp_array(char *p, size_t n)
{
    return sluice_resp_num(p, '*', n);
}


size_t
sluice_resp_bulk_len(size_t len)
{
    return 1 + sluice_resp_digits(len) + 2 + len + 2;
}


char *
sluice_resp_bulk(char *p, const char *s, size_t len)
{
    p = sluice_resp_num(p, '$', len);

    if (len) {
        memcpy(p, s, len);
        p += len;
    }

    *p++ = '\r';
    *p++ = '\n';

    return p;
}


/* the offset of the LF ending the line that starts at pos, 0: no LF yet */
static ssize_t
sluice_resp_line(const char *p, size_t len, size_t pos)
{
    const char  *lf;

    lf = memchr(p + pos, '\n', len - pos);

    if (lf == NULL) {
        return 0;
    }

    if (lf == p + pos || lf[-1] != '\r') {
        return -1;
    }

    return lf - p;
}


/* the integer in p[from..to): optional '-', 1 to 19 digits */
static int
sluice_resp_int(const char *p, size_t from, size_t to, int64_t *n)
{
    int  neg;

    neg = (from < to && p[from] == '-');
    from += neg;

    if (from == to || to - from > 19) {
        return -1;
    }

    for (*n = 0; from < to; from++) {
        if (p[from] < '0' || p[from] > '9') {
            return -1;
        }

        *n = *n * 10 + (p[from] - '0');
    }

    if (neg) {
        *n = -*n;
    }

    return 0;
}


/* the reply at pos: the offset after it, 0 (incomplete) or -1 */
static ssize_t
sluice_resp_at(const char *p, size_t len, size_t pos, int depth,
    sluice_resp_reply_t *r)
{
    char     type;
    ssize_t  lf, at;
    int64_t  n, k;

    if (pos >= len) {
        return 0;
    }

    type = p[pos];

    lf = sluice_resp_line(p, len, pos + 1);

    if (lf <= 0) {
        /* a number line never gets this long: not RESP */
        if (lf == 0 && type != '+' && type != '-'
            && len - pos > SLUICE_RESP_NUM + 2)
        {
            return -1;
        }

        return lf;
    }

    switch (type) {

    case '+':
        return lf + 1;

    case '-':
        if (depth == 0) {
            r->error = 1;
            r->msg = p + pos + 1;
            r->msg_len = (size_t) lf - 1 - (pos + 1);
        }

        return lf + 1;

    case ':':
    case '$':
    case '*':
        if (sluice_resp_int(p, pos + 1, (size_t) lf - 1, &n) != 0
            || (type != ':' && n < -1))
        {
            return -1;
        }

        break;

    default:
        return -1;
    }

    if (type == ':' || n == -1) {
        return lf + 1;
    }

    if (type == '$') {
        if ((uint64_t) n > len - (size_t) (lf + 1)
            || len - (size_t) (lf + 1) - (size_t) n < 2)
        {
            return 0;
        }

        at = lf + 1 + (ssize_t) n;

        if (p[at] != '\r' || p[at + 1] != '\n') {
            return -1;
        }

        return at + 2;
    }

    if (depth == SLUICE_RESP_DEPTH) {
        return -1;
    }

    at = lf + 1;

    for (k = 0; k < n; k++) {
        at = sluice_resp_at(p, len, (size_t) at, depth + 1, r);

        if (at <= 0) {
            return at;
        }
    }

    return at;
}


ssize_t
sluice_resp_reply(const char *p, size_t len, sluice_resp_reply_t *r)
{
    r->error = 0;
    r->msg = NULL;
    r->msg_len = 0;

    return sluice_resp_at(p, len, 0, 0, r);
}
