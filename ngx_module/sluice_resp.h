/*
 * sluice_resp: Redis protocol (RESP) command formatting without printf,
 * for the usage record on the request path.  Pure C, never allocates.
 */

#ifndef SLUICE_RESP_H
#define SLUICE_RESP_H

#include <stddef.h>

/* bytes the command needs */
size_t sluice_resp_len(int argc, const size_t *argvlen);

/* writes the command at p (sluice_resp_len() bytes); returns the end */
char *sluice_resp_write(char *p, int argc, const char *const *argv,
    const size_t *argvlen);

#endif
