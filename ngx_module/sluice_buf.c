/*
 * sluice_buf: the growable byte buffer the translators write into.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sluice_buf.h"


#define SLUICE_BUF_MIN  256


void
sluice_buf_init(sluice_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}


int
sluice_buf_reserve(sluice_buf_t *b, size_t n)
{
    char    *p;
    size_t   cap;

    if (n > SIZE_MAX / 2 - b->len - 1) {
        return -1;
    }

    if (b->len + n + 1 <= b->cap) {
        return 0;
    }

    cap = b->cap ? b->cap : SLUICE_BUF_MIN;

    while (cap < b->len + n + 1) {
        cap *= 2;
    }

    p = realloc(b->data, cap);
    if (p == NULL) {
        return -1;
    }

    b->data = p;
    b->cap = cap;

    return 0;
}


int
sluice_buf_append(sluice_buf_t *b, const void *p, size_t n)
{
    if (sluice_buf_reserve(b, n) != 0) {
        return -1;
    }

    if (n) {
        memcpy(b->data + b->len, p, n);
    }

    b->len += n;
    b->data[b->len] = '\0';

    return 0;
}


int
sluice_buf_append_str(sluice_buf_t *b, const char *s)
{
    return sluice_buf_append(b, s, strlen(s));
}


void
sluice_buf_reset(sluice_buf_t *b)
{
    b->len = 0;

    if (b->data) {
        b->data[0] = '\0';
    }
}


void
sluice_buf_free(sluice_buf_t *b)
{
    free(b->data);
    sluice_buf_init(b);
}
