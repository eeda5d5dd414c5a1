/*
 * controld/sync_groups.c: model groups and their targets from PostgreSQL
 * into the policy table.  Groups are few: every compile is full.  Target
 * host names are resolved first (controld/dns.c); while a lookup is under
 * way the compile waits, and runs again when the answers are in.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sync.h"
#include "sluice_table.h"


#define CTLD_SYNC_MAX_WEIGHT    1000000 /* sluice_table.c refuses more */

#define CTLD_SYNC_GROUPS_SQL                                                  \
    "SELECT g.name, g.strategy, t.id, t.weight, pr.name, pr.dialect,"         \
    " t.model, pr.base_url, pr.auth_kind, COALESCE(pr.credential, ''),"       \
    " COALESCE(g.idle_timeout_ms, 0)"                                         \
    " FROM model_groups g"                                                    \
    " LEFT JOIN group_targets gt ON gt.group_id = g.id"                       \
    " LEFT JOIN targets t ON t.id = gt.target_id"                             \
    " LEFT JOIN providers pr ON pr.id = t.provider_id"                        \
    " ORDER BY g.name, gt.position, t.id"


typedef struct {
    char                scheme[8];
    char                host[256];      /* IPv6 without brackets */
    int                 port;
    int                 v6;
    const char         *path;           /* without the trailing '/' */
    int                 path_len;
} ctld_sync_url_t;


static void ctld_sync_groups_cb(PGresult *res, void *arg);
static int ctld_sync_groups_resolve(ctld_sync_t *s, PGresult *res);
static int ctld_sync_groups_write(ctld_sync_t *s, PGresult *res);
static int ctld_sync_group(ctld_sync_t *s, PGresult *res, int *row,
    ctld_sync_count_t *cnt, u_char *key);
static int ctld_sync_target(ctld_sync_t *s, PGresult *res, int row);
static int ctld_sync_url_parse(const char *url, ctld_sync_url_t *u);


int
ctld_sync_groups(ctld_sync_t *s)
{
    return ctld_pg_query(s->pg, CTLD_SYNC_GROUPS_SQL, 0, NULL,
                         ctld_sync_groups_cb, s);
}


/* the lookups a compile waited for are in, or an address changed */
void
ctld_sync_groups_dns(void *arg)
{
    ctld_sync_schedule(arg, CTLD_SYNC_GROUPS);
}


static void
ctld_sync_groups_cb(PGresult *res, void *arg)
{
    ctld_sync_t  *s;

    s = arg;

    if (ctld_sync_result_ok(res, PGRES_TUPLES_OK, "groups")) {
        if (ctld_sync_groups_resolve(s, res) == CTLD_AGAIN) {
            ctld_log(CTLD_LOG_DEBUG, "sync", "groups: waiting for dns");

        } else {
            (void) ctld_sync_groups_write(s, res);
        }
    }

    ctld_sync_done(s, CTLD_SYNC_GROUPS);
}


/* CTLD_AGAIN: a target's host name is being looked up */
static int
ctld_sync_groups_resolve(ctld_sync_t *s, PGresult *res)
{
    ctld_sync_url_t   u;
    const char       *ip;
    int               row, n, rc;

    n = PQntuples(res);
    rc = CTLD_OK;

    for (row = 0; row < n; row++) {
        if (!PQgetisnull(res, row, 7)
            && ctld_sync_url_parse(PQgetvalue(res, row, 7), &u) == CTLD_OK
            && ctld_dns_lookup(s->dns, u.host, &ip) == CTLD_AGAIN)
        {
            rc = CTLD_AGAIN;
        }
    }

    return rc;
}


/* One write transaction; sweeps the groups gone from PostgreSQL. */
static int
ctld_sync_groups_write(ctld_sync_t *s, PGresult *res)
{
    ctld_sync_count_t   cnt;
    ctld_table_key_t   *keep;
    u_char             *key;
    uint64_t            gen;
    size_t              size, nkeep;
    long                deleted;
    int                 row, n;

    memset(&cnt, 0, sizeof(cnt));
    n = PQntuples(res);
    nkeep = 0;

    /* keep[] then the keys ('g' + name) it points to */
    size = (size_t) (n + 1) * sizeof(ctld_table_key_t);
    for (row = 0; row < n; row++) {
        size += (size_t) PQgetlength(res, row, 0) + 1;
    }

    keep = malloc(size);
    if (keep == NULL) {
        ctld_log(CTLD_LOG_ERROR, "sync", "out of memory");
        return CTLD_ERROR;
    }

    key = (u_char *) (keep + n + 1);

    if (ctld_table_begin(s->table) != CTLD_OK) {
        free(keep);
        return CTLD_ERROR;
    }

    for (row = 0; row < n; nkeep++) {
        keep[nkeep].data = key;
        keep[nkeep].len = (size_t) PQgetlength(res, row, 0) + 1;

        if (ctld_sync_group(s, res, &row, &cnt, key) != CTLD_OK) {
            goto failed;
        }

        key += keep[nkeep].len;
    }

    deleted = ctld_table_sweep(s->table, SLUICE_TABLE_GROUP_PREFIX, keep,
                               nkeep);
    if (deleted < 0) {
        goto failed;
    }

    cnt.deleted += deleted;

    if (ctld_table_commit(s->table, &gen) != CTLD_OK) {
        free(keep);
        return CTLD_ERROR;
    }

    ctld_sync_log("groups", &s->started, &cnt, gen);
    free(keep);
    return CTLD_OK;

failed:

    ctld_table_abort(s->table);
    free(keep);
    return CTLD_ERROR;
}


/*
 * Writes the group starting at *row (its rows are consecutive: ORDER BY
 * name) and advances *row past it.  key receives 'g' + name.
 */
static int
ctld_sync_group(ctld_sync_t *s, PGresult *res, int *row,
    ctld_sync_count_t *cnt, u_char *key)
{
    const char  *name;
    size_t       len;
    int          r, n, rc;

    n = PQntuples(res);
    r = *row;
    name = PQgetvalue(res, r, 0);
    len = (size_t) PQgetlength(res, r, 0);

    key[0] = SLUICE_TABLE_GROUP_PREFIX;
    memcpy(key + 1, name, len);

    s->buf.len = 0;
    cnt->rows++;

    /* "1 name strategy [idle_timeout_ms]": the default is left implicit */
    rc = strcmp(PQgetvalue(res, r, 10), "0") == 0
         ? ctld_sync_buf_add(&s->buf, "1\t%s\t%s", name,
                             PQgetvalue(res, r, 1))
         : ctld_sync_buf_add(&s->buf, "1\t%s\t%s\t%s", name,
                             PQgetvalue(res, r, 1), PQgetvalue(res, r, 10));
    if (rc != CTLD_OK) {
        return CTLD_ERROR;
    }

    for ( /* void */ ; r < n && strcmp(PQgetvalue(res, r, 0), name) == 0;
         r++)
    {
        if (PQgetisnull(res, r, 2)) {
            continue;               /* a group without targets */
        }

        rc = ctld_sync_target(s, res, r);
        if (rc == CTLD_ERROR) {
            return CTLD_ERROR;
        }

        cnt->skipped += (rc == CTLD_AGAIN);
    }

    *row = r;

    rc = ctld_table_put(s->table, key, len + 1, s->buf.data, s->buf.len);
    if (rc == CTLD_ERROR) {
        return CTLD_ERROR;
    }

    cnt->written += (rc == CTLD_OK);
    cnt->unchanged += (rc == CTLD_AGAIN);

    return CTLD_OK;
}


/* CTLD_OK appended, CTLD_AGAIN target left out (logged), CTLD_ERROR */
static int
ctld_sync_target(ctld_sync_t *s, PGresult *res, int row)
{
    ctld_sync_url_t   u;
    const char       *ip, *auth, *cred, *tid;
    char              hosthdr[300], portbuf[8];
    long              weight;
    int               i, defport;

    tid = PQgetvalue(res, row, 2);

    for (i = 2; i <= 9; i++) {
        if (!ctld_sync_clean(PQgetvalue(res, row, i))) {
            ctld_log(CTLD_LOG_WARN, "sync", "target %s: TAB or LF in "
                     "column %d, target left out", tid, i);
            return CTLD_AGAIN;
        }
    }

    if (ctld_sync_url_parse(PQgetvalue(res, row, 7), &u) != CTLD_OK) {
        ctld_log(CTLD_LOG_WARN, "sync", "target %s: bad base_url \"%s\", "
                 "target left out", tid, PQgetvalue(res, row, 7));
        return CTLD_AGAIN;
    }

    /* resolved already (ctld_sync_groups_resolve()); a failure is logged
     * by dns.c, and a lookup that started since brings a new compile */
    if (ctld_dns_lookup(s->dns, u.host, &ip) != CTLD_OK) {
        return CTLD_AGAIN;
    }

    defport = (strcmp(u.scheme, "https") == 0) ? 443 : 80;
    portbuf[0] = '\0';

    if (u.port != defport) {
        snprintf(portbuf, sizeof(portbuf), ":%d", u.port);
    }

    snprintf(hosthdr, sizeof(hosthdr), "%s%s%s%s", u.v6 ? "[" : "", u.host,
             u.v6 ? "]" : "", portbuf);

    weight = strtol(PQgetvalue(res, row, 3), NULL, 10);
    if (weight > CTLD_SYNC_MAX_WEIGHT) {
        weight = CTLD_SYNC_MAX_WEIGHT;
    }

    auth = PQgetvalue(res, row, 8);
    cred = (strcmp(auth, "none") == 0) ? "" : PQgetvalue(res, row, 9);

    /* T id weight provider dialect model scheme addr host tls_name
     * base_path auth_kind credential */
    return ctld_sync_buf_add(&s->buf,
               "\nT\t%s\t%ld\t%s\t%s\t%s\t%s\t%s%s%s:%d\t%s\t%s\t%.*s\t%s\t%s",
               tid, weight, PQgetvalue(res, row, 4), PQgetvalue(res, row, 5),
               PQgetvalue(res, row, 6), u.scheme, strchr(ip, ':') ? "[" : "",
               ip, strchr(ip, ':') ? "]" : "", u.port, hosthdr, u.host,
               u.path_len, u.path, auth, cred);
}


/*
 * scheme://host[:port][/base/path] (host may be [IPv6]); no user info,
 * query or fragment.  u->path points into url.
 */
static int
ctld_sync_url_parse(const char *url, ctld_sync_url_t *u)
{
    const char  *p, *host, *end;
    char        *q;
    size_t       len;
    long         port;

    memset(u, 0, sizeof(*u));

    if (strncasecmp(url, "https://", 8) == 0) {
        strcpy(u->scheme, "https");
        u->port = 443;
        p = url + 8;

    } else if (strncasecmp(url, "http://", 7) == 0) {
        strcpy(u->scheme, "http");
        u->port = 80;
        p = url + 7;

    } else {
        return CTLD_ERROR;
    }

    end = p + strcspn(p, "/?#");
    if (*end == '?' || *end == '#' || memchr(p, '@', end - p) != NULL) {
        return CTLD_ERROR;
    }

    u->v6 = (*p == '[');
    host = p + u->v6;
    p = u->v6 ? memchr(host, ']', end - host) : memchr(host, ':', end - host);
    if (p == NULL) {
        p = u->v6 ? NULL : end;
    }

    if (p == NULL || p == host || (size_t) (p - host) >= sizeof(u->host)) {
        return CTLD_ERROR;
    }

    memcpy(u->host, host, p - host);
    p += u->v6;

    if (p < end) {
        if (*p != ':') {
            return CTLD_ERROR;
        }

        port = strtol(p + 1, &q, 10);
        if (q != end || q == p + 1 || port < 1 || port > 65535) {
            return CTLD_ERROR;
        }

        u->port = (int) port;
    }

    u->path = end;
    len = strcspn(end, "?#");
    if (end[len] != '\0') {
        return CTLD_ERROR;
    }

    while (len > 0 && end[len - 1] == '/') {
        len--;
    }

    u->path_len = (int) len;
    return CTLD_OK;
}
