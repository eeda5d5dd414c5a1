/*
 * sluice_buf: a growable byte buffer on malloc, always NUL-terminated.
 * Pure C, no nginx types; the owner frees it with sluice_buf_free().
 */

#ifndef SLUICE_BUF_H
#define SLUICE_BUF_H

#include <stddef.h>


typedef struct {
    char                *data;      /* NULL until the first append */
    size_t               len;       /* bytes held, NUL not counted */
    size_t               cap;       /* bytes allocated */
} sluice_buf_t;


/* No allocation happens here. */
void sluice_buf_init(sluice_buf_t *b);

/* Makes room for n more bytes (and the NUL); 0, or -1 out of memory. */
int sluice_buf_reserve(sluice_buf_t *b, size_t n);

/* Appends n bytes; 0, or -1 out of memory (the buffer is unchanged). */
int sluice_buf_append(sluice_buf_t *b, const void *p, size_t n);

/* Appends a C string. */
int sluice_buf_append_str(sluice_buf_t *b, const char *s);

/* Forgets the contents, keeps the memory. */
void sluice_buf_reset(sluice_buf_t *b);

/* Frees the memory; the buffer may be used again. */
void sluice_buf_free(sluice_buf_t *b);

#endif
