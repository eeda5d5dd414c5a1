/*
 * sluice_resp: Redis protocol (RESP2) for the usage records on the
 * request path: commands formatted without printf, replies checked
 * without building reply objects.  Pure C, never allocates.
 */

#ifndef SLUICE_RESP_H
#define SLUICE_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* bytes the command needs */
size_t sluice_resp_len(int argc, const size_t *argvlen);

/* writes the command at p (sluice_resp_len() bytes); returns the end */
char *sluice_resp_write(char *p, int argc, const char *const *argv,
    const size_t *argvlen);

/* "*<n>\r\n" at p; returns the end */
char *sluice_resp_array(char *p, size_t n);

/* bytes of one bulk string "$<len>\r\n<bytes>\r\n" */
size_t sluice_resp_bulk_len(size_t len);

/* one bulk string at p (sluice_resp_bulk_len() bytes); returns the end */
char *sluice_resp_bulk(char *p, const char *s, size_t len);

/* n in decimal at p, without a terminator (at most 20 bytes) */
char *sluice_resp_u64(char *p, uint64_t n);

/* one reply: an error ("-...") carries its text, CRLF excluded */
typedef struct {
    int                  error;
    const char          *msg;
    size_t               msg_len;
} sluice_resp_reply_t;

/*
 * The first reply in p[0..len): returns its length, 0 when more bytes
 * are needed, -1 when the bytes are not RESP2 (simple strings, errors,
 * integers, bulk strings, arrays nested at most 8 deep).
 */
ssize_t sluice_resp_reply(const char *p, size_t len,
    sluice_resp_reply_t *r);

#endif
