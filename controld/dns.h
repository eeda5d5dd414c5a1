/*
 * controld/dns.h: provider host names resolved on the loop (libevent's
 * evdns), cached, never blocking.  Answers are kept CTLD_DNS_TTL seconds
 * and failures CTLD_DNS_NEG_TTL; an expired answer stays in use while it
 * is refreshed, and is kept when the refresh fails (the last good one).
 * /etc/hosts is read once, at creation; a missing /etc/resolv.conf means
 * the resolver at 127.0.0.1, as with the C library.
 */

#ifndef CTLD_DNS_H
#define CTLD_DNS_H

#include <event2/event.h>
#include "controld.h"


typedef struct ctld_dns_s  ctld_dns_t;

/*
 * Called from the loop, never inside ctld_dns_lookup(): when every lookup
 * somebody waited for (CTLD_AGAIN) has finished, and when a refresh
 * changed an address.
 */
typedef void (*ctld_dns_handler_pt)(void *arg);


ctld_dns_t *ctld_dns_create(struct event_base *base,
    ctld_dns_handler_pt handler, void *arg);

/*
 * The address (text, IPv4 preferred) to use for name, which may be an IP
 * literal.  CTLD_OK: *ip is set, valid until the loop runs again;
 * CTLD_AGAIN: a lookup is under way, the handler says when to ask again;
 * CTLD_ERROR: the name does not resolve (logged once per lookup).
 */
int ctld_dns_lookup(ctld_dns_t *dns, const char *name, const char **ip);

/*
 * Cancels lookups in flight and runs the loop (non-blocking) until
 * libevent has delivered their cancellations, so nothing leaks: call it
 * after the loop's other users have stopped.
 */
void ctld_dns_free(ctld_dns_t *dns);

#endif
