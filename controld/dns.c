/* controld/dns.c: provider host names resolved on the loop (evdns). */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <event2/dns.h>
#include <event2/util.h>

#include "dns.h"


#define CTLD_DNS_TTL         60     /* seconds an answer is kept */
#define CTLD_DNS_NEG_TTL     10     /* and a failure */
#define CTLD_DNS_TIMEOUT     "2"    /* seconds per try (resolv.conf wins) */
#define CTLD_DNS_ATTEMPTS    "2"
#define CTLD_DNS_DRAIN       8      /* loop passes to collect cancels */
#define CTLD_DNS_RESOLV      "/etc/resolv.conf"


typedef struct ctld_dns_host_s  ctld_dns_host_t;

struct ctld_dns_host_s {
    ctld_dns_host_t                   *next;
    ctld_dns_t                        *dns;
    struct evdns_getaddrinfo_request  *req;         /* in flight */
    time_t                             resolved;    /* 0: never */
    unsigned                           waited:1;    /* counted in waiting */
    unsigned                           starting:1;  /* in getaddrinfo */
    char                               ip[INET6_ADDRSTRLEN]; /* "": none */
    char                              *name;
};

struct ctld_dns_s {
    struct event_base                 *ev;
    struct evdns_base                 *base;
    ctld_dns_host_t                   *hosts;
    unsigned                           waiting;     /* waited lookups */
    int                                freeing;
    ctld_dns_handler_pt                handler;
    void                              *arg;
};


static int ctld_dns_setup(ctld_dns_t *dns);
static ctld_dns_host_t *ctld_dns_host(ctld_dns_t *dns, const char *name);
static void ctld_dns_start(ctld_dns_host_t *h);
static void ctld_dns_answer(int result, struct evutil_addrinfo *res,
    void *arg);
static int ctld_dns_pick(ctld_dns_host_t *h, struct evutil_addrinfo *res);
static int ctld_dns_literal(const char *name);
static void ctld_dns_log(int is_warning, const char *msg);


ctld_dns_t *
ctld_dns_create(struct event_base *base, ctld_dns_handler_pt handler,
    void *arg)
{
    ctld_dns_t  *dns;

    dns = calloc(1, sizeof(ctld_dns_t));
    if (dns == NULL) {
        ctld_log(CTLD_LOG_ERROR, "sync", "out of memory");
        return NULL;
    }

    dns->ev = base;
    dns->handler = handler;
    dns->arg = arg;

    /* not EVDNS_BASE_INITIALIZE_NAMESERVERS: without a resolv.conf, or
     * with no nameserver in it, evdns_base_new() would fail */
    dns->base = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);

    if (dns->base == NULL || ctld_dns_setup(dns) != CTLD_OK) {
        ctld_log(CTLD_LOG_ERROR, "sync", "dns: cannot set up the resolver");
        ctld_dns_free(dns);
        return NULL;
    }

    return dns;
}


int
ctld_dns_lookup(ctld_dns_t *dns, const char *name, const char **ip)
{
    ctld_dns_host_t  *h;
    time_t            ttl;

    if (ctld_dns_literal(name)) {
        *ip = name;
        return CTLD_OK;
    }

    h = ctld_dns_host(dns, name);
    if (h == NULL) {
        return CTLD_ERROR;
    }

    ttl = h->ip[0] ? CTLD_DNS_TTL : CTLD_DNS_NEG_TTL;

    if (h->req == NULL
        && (h->resolved == 0 || time(NULL) - h->resolved >= ttl))
    {
        ctld_dns_start(h);          /* /etc/hosts answers at once */
    }

    if (h->ip[0]) {
        *ip = h->ip;                /* a refresh may be under way */
        return CTLD_OK;
    }

    if (h->req == NULL) {
        return CTLD_ERROR;
    }

    if (!h->waited) {
        h->waited = 1;
        dns->waiting++;
    }

    return CTLD_AGAIN;
}


void
ctld_dns_free(ctld_dns_t *dns)
{
    ctld_dns_host_t  *h;
    int               busy, i;

    if (dns == NULL) {
        return;
    }

    dns->freeing = 1;
    busy = 0;

    for (h = dns->hosts; h != NULL; h = h->next) {
        if (h->req != NULL) {
            evdns_getaddrinfo_cancel(h->req);
            busy = 1;
        }
    }

    /* evdns reports a cancellation from the loop, and frees it there */
    for (i = 0; busy && i < CTLD_DNS_DRAIN; i++) {
        event_base_loop(dns->ev, EVLOOP_NONBLOCK);

        busy = 0;
        for (h = dns->hosts; h != NULL; h = h->next) {
            busy |= (h->req != NULL);
        }
    }

    if (dns->base != NULL) {
        evdns_base_free(dns->base, 0);
        evdns_set_log_fn(NULL);
    }

    while (dns->hosts != NULL) {
        h = dns->hosts;
        dns->hosts = h->next;
        free(h->name);
        free(h);
    }

    free(dns);
}


/*
 * Our timeouts first, so resolv.conf options win; then resolv.conf and
 * /etc/hosts (which evdns reads first, whatever happens to resolv.conf).
 */
static int
ctld_dns_setup(ctld_dns_t *dns)
{
    int  rc;

    evdns_set_log_fn(ctld_dns_log);

    if (evdns_base_set_option(dns->base, "timeout:", CTLD_DNS_TIMEOUT) != 0
        || evdns_base_set_option(dns->base, "attempts:", CTLD_DNS_ATTEMPTS)
           != 0)
    {
        return CTLD_ERROR;
    }

    rc = evdns_base_resolv_conf_parse(dns->base, DNS_OPTIONS_ALL,
                                      CTLD_DNS_RESOLV);

    /* 1: no file, 6: no nameserver line; evdns then asks 127.0.0.1 */
    if (rc != 0) {
        ctld_log(CTLD_LOG_WARN, "sync", "dns: %s: %s", CTLD_DNS_RESOLV,
                 (rc == 1) ? "missing" : (rc == 6) ? "no nameserver"
                                                   : "unreadable");
    }

    /* with no nameserver at all, evdns would queue lookups forever */
    if (evdns_base_count_nameservers(dns->base) == 0
        && evdns_base_nameserver_ip_add(dns->base, "127.0.0.1") != 0)
    {
        return CTLD_ERROR;
    }

    return CTLD_OK;
}


static ctld_dns_host_t *
ctld_dns_host(ctld_dns_t *dns, const char *name)
{
    ctld_dns_host_t  *h;

    for (h = dns->hosts; h != NULL; h = h->next) {
        if (strcmp(h->name, name) == 0) {
            return h;
        }
    }

    h = calloc(1, sizeof(ctld_dns_host_t));
    if (h == NULL || (h->name = strdup(name)) == NULL) {
        free(h);
        ctld_log(CTLD_LOG_ERROR, "sync", "out of memory");
        return NULL;
    }

    h->dns = dns;
    h->next = dns->hosts;
    dns->hosts = h;

    return h;
}


static void
ctld_dns_start(ctld_dns_host_t *h)
{
    struct evutil_addrinfo             hints;
    struct evdns_getaddrinfo_request  *req;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    /* the callback may run inside evdns_getaddrinfo() (hosts, errors) */
    h->starting = 1;
    req = evdns_getaddrinfo(h->dns->base, h->name, NULL, &hints,
                            ctld_dns_answer, h);
    h->starting = 0;

    h->req = req;
}


/* res is ours to free; result EVUTIL_EAI_CANCEL: ctld_dns_free() */
static void
ctld_dns_answer(int result, struct evutil_addrinfo *res, void *arg)
{
    ctld_dns_host_t  *h;
    ctld_dns_t       *dns;
    int               notify;

    h = arg;
    dns = h->dns;
    h->req = NULL;
    notify = 0;

    if (result == EVUTIL_EAI_CANCEL) {
        return;
    }

    h->resolved = time(NULL);

    if (result != 0) {
        ctld_log(CTLD_LOG_ERROR, "sync", "resolving \"%s\": %s%s", h->name,
                 evutil_gai_strerror(result),
                 h->ip[0] ? ", keeping the last answer"
                          : ", its targets left out");

    } else {
        notify = ctld_dns_pick(h, res);
        evutil_freeaddrinfo(res);
    }

    if (h->starting) {
        return;                     /* ctld_dns_lookup() reads it */
    }

    if (h->waited) {
        h->waited = 0;
        notify |= (--dns->waiting == 0);
    }

    if (notify && !dns->freeing) {
        dns->handler(dns->arg);
    }
}


/* IPv4 first, as getaddrinfo() users expect; 1 if the address changed */
static int
ctld_dns_pick(ctld_dns_host_t *h, struct evutil_addrinfo *res)
{
    struct evutil_addrinfo  *a, *pick;
    char                     ip[INET6_ADDRSTRLEN];
    const void              *addr;

    pick = res;
    for (a = res; a != NULL; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    }

    if (pick == NULL) {
        return 0;
    }

    addr = (pick->ai_family == AF_INET)
           ? (const void *) &((struct sockaddr_in *) pick->ai_addr)->sin_addr
           : (const void *)
             &((struct sockaddr_in6 *) pick->ai_addr)->sin6_addr;

    if (inet_ntop(pick->ai_family, addr, ip, sizeof(ip)) == NULL
        || strcmp(ip, h->ip) == 0)
    {
        return 0;
    }

    if (h->ip[0]) {
        ctld_log(CTLD_LOG_INFO, "sync", "\"%s\" now resolves to %s (was %s)",
                 h->name, ip, h->ip);
    }

    strcpy(h->ip, ip);
    return 1;
}


static int
ctld_dns_literal(const char *name)
{
    struct in6_addr  a6;
    struct in_addr   a4;

    return inet_pton(AF_INET, name, &a4) == 1
           || inet_pton(AF_INET6, name, &a6) == 1;
}


/* evdns's own messages (a nameserver down, ...): process-wide hook */
static void
ctld_dns_log(int is_warning, const char *msg)
{
    ctld_log(is_warning ? CTLD_LOG_WARN : CTLD_LOG_DEBUG, "sync", "dns: %s",
             msg);
}
