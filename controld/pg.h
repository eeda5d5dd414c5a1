/*
 * controld/pg.h: asynchronous libpq on the libevent loop.  One connection
 * per ctld_pg_t, queries queued and sent one at a time, reconnect with
 * backoff.  Never blocks the loop (PQconnectStart/PQconnectPoll,
 * PQsendQueryParams, PQconsumeInput on read events).
 */

#ifndef CTLD_PG_H
#define CTLD_PG_H

#include <libpq-fe.h>
#include "controld.h"

/*
 * Result callback: res is NULL when the connection failed or was lost
 * before the query completed (the query is NOT retried).  The callback
 * must not PQclear(res): pg.c clears it when the callback returns.
 * For a multi-statement text query (nparams == 0) the callback gets the
 * last result.
 */
typedef void (*ctld_pg_cb)(PGresult *res, void *arg);

/* LISTEN notifications; re-LISTENed after every reconnect */
typedef void (*ctld_pg_notify_cb)(const char *channel, const char *payload,
    void *arg);

/* connected callback: called after every (re)connect */
typedef void (*ctld_pg_connect_cb)(ctld_pg_t *pg, void *arg);

ctld_pg_t *ctld_pg_create(struct event_base *base, const char *conninfo,
    const char *name);
void ctld_pg_on_connect(ctld_pg_t *pg, ctld_pg_connect_cb cb, void *arg);

/*
 * params are copied; NULL entries are SQL NULL; text format both ways.
 * Returns CTLD_ERROR only when out of memory or freeing.  The callback
 * always runs later from the loop, never inside ctld_pg_query(); queries
 * made while disconnected (between retries) are failed with res == NULL,
 * queries made while connecting wait for the connection.
 */
int ctld_pg_query(ctld_pg_t *pg, const char *sql, int nparams,
    const char *const *params, ctld_pg_cb cb, void *arg);

/*
 * COPY ... FROM STDIN (sql) with len bytes of data in COPY's text format
 * (copied); the callback gets the COPY's result.
 */
int ctld_pg_copy(ctld_pg_t *pg, const char *sql, const char *data,
    size_t len, ctld_pg_cb cb, void *arg);
int ctld_pg_listen(ctld_pg_t *pg, const char *channel,
    ctld_pg_notify_cb cb, void *arg);

int ctld_pg_connected(ctld_pg_t *pg);

/*
 * pending callbacks are called with res == NULL, then everything freed;
 * not to be called from inside one of pg's own callbacks
 */
void ctld_pg_free(ctld_pg_t *pg);

#endif
