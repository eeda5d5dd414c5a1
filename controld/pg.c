/* controld/pg.c: asynchronous libpq connections on the libevent loop. */

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "pg.h"


#define CTLD_PG_BACKOFF_MIN      1      /* seconds */
#define CTLD_PG_BACKOFF_MAX      10
#define CTLD_PG_CONNECT_TIMEOUT  10

#define CTLD_PG_IDLE             0      /* not connected, timer pending */
#define CTLD_PG_CONNECTING       1
#define CTLD_PG_READY            2


typedef struct ctld_pg_query_s  ctld_pg_query_t;
typedef struct ctld_pg_listen_s ctld_pg_listen_t;

/* one allocation: the struct, then params[], then the strings */
struct ctld_pg_query_s {
    ctld_pg_query_t    *next;
    ctld_pg_cb          cb;         /* NULL: internal (LISTEN) */
    void               *arg;
    int                 nparams;
    char               *sql;
    char              **params;
    char               *copy;       /* COPY ... FROM STDIN: its data */
    size_t              copy_len;
};

struct ctld_pg_listen_s {
    ctld_pg_listen_t   *next;
    ctld_pg_notify_cb   cb;
    void               *arg;
    char               *channel;
};

struct ctld_pg_s {
    struct event_base  *base;
    char               *conninfo;
    char               *name;       /* the role, in log lines */
    PGconn             *conn;
    int                 state;      /* CTLD_PG_* */
    int                 backoff;    /* seconds, 0 after a good connect */
    int                 freeing;
    struct event       *io;         /* connect polling, then reads */
    struct event       *wev;        /* flushing a full send buffer */
    struct event       *timer;      /* reconnect delay, connect timeout */
    struct event       *kick;       /* sends (or fails) queued queries */
    ctld_pg_query_t    *head;
    ctld_pg_query_t    *tail;
    ctld_pg_query_t    *current;    /* sent, results pending */
    PGresult           *last;       /* latest result of current */
    ctld_pg_listen_t   *listens;
    ctld_pg_connect_cb  connect_cb;
    void               *connect_arg;
};


static void ctld_pg_connect(ctld_pg_t *pg);
static void ctld_pg_notice(void *arg, const char *msg);
static int ctld_pg_poll_wait(ctld_pg_t *pg, PostgresPollingStatusType st);
static void ctld_pg_connect_handler(evutil_socket_t fd, short what,
    void *arg);
static void ctld_pg_ready(ctld_pg_t *pg);
static void ctld_pg_lost(ctld_pg_t *pg, const char *what);
static void ctld_pg_close(ctld_pg_t *pg);
static void ctld_pg_fail_all(ctld_pg_t *pg);
static void ctld_pg_timer_handler(evutil_socket_t fd, short what, void *arg);
static void ctld_pg_kick_handler(evutil_socket_t fd, short what, void *arg);
static void ctld_pg_read_handler(evutil_socket_t fd, short what, void *arg);
static void ctld_pg_write_handler(evutil_socket_t fd, short what, void *arg);
static void ctld_pg_results(ctld_pg_t *pg);
static int ctld_pg_copy_in(ctld_pg_t *pg);
static void ctld_pg_complete(ctld_pg_t *pg);
static void ctld_pg_notifies(ctld_pg_t *pg);
static void ctld_pg_send(ctld_pg_t *pg);
static int ctld_pg_flush(ctld_pg_t *pg);
static void ctld_pg_enqueue(ctld_pg_t *pg, ctld_pg_query_t *q);
static ctld_pg_query_t *ctld_pg_query_new(const char *sql, int nparams,
    const char *const *params, ctld_pg_cb cb, void *arg);
static ctld_pg_query_t *ctld_pg_query_alloc(const char *sql, int nparams,
    const char *const *params, size_t copy, ctld_pg_cb cb, void *arg);
static int ctld_pg_listen_query(ctld_pg_t *pg, ctld_pg_listen_t *l,
    ctld_pg_query_t **q);


ctld_pg_t *
ctld_pg_create(struct event_base *base, const char *conninfo,
    const char *name)
{
    ctld_pg_t  *pg;

    pg = calloc(1, sizeof(ctld_pg_t));
    if (pg == NULL) {
        goto failed;
    }

    pg->base = base;
    pg->conninfo = strdup(conninfo);
    pg->name = strdup(name);
    pg->timer = evtimer_new(base, ctld_pg_timer_handler, pg);
    pg->kick = evtimer_new(base, ctld_pg_kick_handler, pg);

    if (pg->conninfo == NULL || pg->name == NULL || pg->timer == NULL
        || pg->kick == NULL)
    {
        goto failed;
    }

    ctld_pg_connect(pg);

    return pg;

failed:

    ctld_log(CTLD_LOG_ERROR, name, "postgres: out of memory");
    ctld_pg_free(pg);
    return NULL;
}


void
ctld_pg_on_connect(ctld_pg_t *pg, ctld_pg_connect_cb cb, void *arg)
{
    pg->connect_cb = cb;
    pg->connect_arg = arg;
}


/* appends q; callbacks never run inside the caller: it is sent from the loop */
static void
ctld_pg_enqueue(ctld_pg_t *pg, ctld_pg_query_t *q)
{
    if (pg->tail != NULL) {
        pg->tail->next = q;

    } else {
        pg->head = q;
    }

    pg->tail = q;
    event_active(pg->kick, EV_TIMEOUT, 0);
}


int
ctld_pg_query(ctld_pg_t *pg, const char *sql, int nparams,
    const char *const *params, ctld_pg_cb cb, void *arg)
{
    ctld_pg_query_t  *q;

    if (pg->freeing) {
        return CTLD_ERROR;
    }

    q = ctld_pg_query_new(sql, nparams, params, cb, arg);
    if (q == NULL) {
        ctld_log(CTLD_LOG_ERROR, pg->name, "postgres: out of memory");
        return CTLD_ERROR;
    }

    ctld_pg_enqueue(pg, q);

    return CTLD_OK;
}


int
ctld_pg_copy(ctld_pg_t *pg, const char *sql, const char *data, size_t len,
    ctld_pg_cb cb, void *arg)
{
    ctld_pg_query_t  *q;

    if (pg->freeing) {
        return CTLD_ERROR;
    }

    q = ctld_pg_query_alloc(sql, 0, NULL, len, cb, arg);
    if (q == NULL) {
        ctld_log(CTLD_LOG_ERROR, pg->name, "postgres: out of memory");
        return CTLD_ERROR;
    }

    memcpy(q->copy, data, len);
    q->copy_len = len;

    ctld_pg_enqueue(pg, q);

    return CTLD_OK;
}


int
ctld_pg_listen(ctld_pg_t *pg, const char *channel, ctld_pg_notify_cb cb,
    void *arg)
{
    ctld_pg_listen_t  *l;
    ctld_pg_query_t   *q;

    l = calloc(1, sizeof(ctld_pg_listen_t));
    if (l == NULL || (l->channel = strdup(channel)) == NULL) {
        free(l);
        ctld_log(CTLD_LOG_ERROR, pg->name, "postgres: out of memory");
        return CTLD_ERROR;
    }

    l->cb = cb;
    l->arg = arg;
    l->next = pg->listens;
    pg->listens = l;

    if (pg->state != CTLD_PG_READY) {
        return CTLD_OK;             /* issued by ctld_pg_ready() */
    }

    if (ctld_pg_listen_query(pg, l, &q) != CTLD_OK) {
        return CTLD_ERROR;
    }

    ctld_pg_enqueue(pg, q);

    return CTLD_OK;
}


int
ctld_pg_connected(ctld_pg_t *pg)
{
    return pg->state == CTLD_PG_READY;
}


void
ctld_pg_free(ctld_pg_t *pg)
{
    ctld_pg_listen_t  *l;

    if (pg == NULL) {
        return;
    }

    pg->freeing = 1;

    ctld_pg_close(pg);
    ctld_pg_fail_all(pg);

    while (pg->listens != NULL) {
        l = pg->listens;
        pg->listens = l->next;
        free(l->channel);
        free(l);
    }

    if (pg->timer != NULL) {
        event_free(pg->timer);
    }

    if (pg->kick != NULL) {
        event_free(pg->kick);
    }

    free(pg->conninfo);
    free(pg->name);
    free(pg);
}


static void
ctld_pg_connect(ctld_pg_t *pg)
{
    struct timeval  tv;

    pg->conn = PQconnectStart(pg->conninfo);

    if (pg->conn == NULL || PQstatus(pg->conn) == CONNECTION_BAD) {
        ctld_pg_lost(pg, "connect");
        return;
    }

    /* libpq would print notices (and a server's FATAL) on stderr as is */
    PQsetNoticeProcessor(pg->conn, ctld_pg_notice, pg);

    pg->state = CTLD_PG_CONNECTING;

    /* PQconnectStart() behaves as if PQconnectPoll() asked for a write */
    if (ctld_pg_poll_wait(pg, PGRES_POLLING_WRITING) != CTLD_OK) {
        ctld_pg_lost(pg, "connect");
        return;
    }

    /* libpq's connect_timeout is ours to enforce in nonblocking mode */
    tv.tv_sec = CTLD_PG_CONNECT_TIMEOUT;
    tv.tv_usec = 0;
    evtimer_add(pg->timer, &tv);
}


static void
ctld_pg_notice(void *arg, const char *msg)
{
    ctld_pg_t  *pg;

    pg = arg;

    ctld_log(CTLD_LOG_WARN, pg->name, "postgres: %.*s",
             (int) strcspn(msg, "\n"), msg);
}


/* The socket may change between polls (several hosts, SSL retry). */
static int
ctld_pg_poll_wait(ctld_pg_t *pg, PostgresPollingStatusType st)
{
    short  what;

    if (pg->io != NULL) {
        event_free(pg->io);
    }

    what = (st == PGRES_POLLING_READING) ? EV_READ : EV_WRITE;
    pg->io = event_new(pg->base, PQsocket(pg->conn), what,
                       ctld_pg_connect_handler, pg);

    if (pg->io == NULL || event_add(pg->io, NULL) != 0) {
        return CTLD_ERROR;
    }

    return CTLD_OK;
}


static void
ctld_pg_connect_handler(evutil_socket_t fd, short what, void *arg)
{
    ctld_pg_t                  *pg;
    PostgresPollingStatusType   st;

    (void) fd;
    (void) what;
    pg = arg;

    st = PQconnectPoll(pg->conn);

    switch (st) {

    case PGRES_POLLING_OK:
        ctld_pg_ready(pg);
        return;

    case PGRES_POLLING_READING:
    case PGRES_POLLING_WRITING:
        if (ctld_pg_poll_wait(pg, st) != CTLD_OK) {
            ctld_pg_lost(pg, "connect");
        }
        return;

    default:
        ctld_pg_lost(pg, "connect");
        return;
    }
}


static void
ctld_pg_ready(ctld_pg_t *pg)
{
    ctld_pg_listen_t  *l;
    ctld_pg_query_t   *q;
    evutil_socket_t    fd;

    evtimer_del(pg->timer);
    event_free(pg->io);

    fd = PQsocket(pg->conn);
    pg->io = event_new(pg->base, fd, EV_READ | EV_PERSIST,
                       ctld_pg_read_handler, pg);
    pg->wev = event_new(pg->base, fd, EV_WRITE | EV_PERSIST,
                        ctld_pg_write_handler, pg);

    if (pg->io == NULL || pg->wev == NULL || event_add(pg->io, NULL) != 0
        || PQsetnonblocking(pg->conn, 1) != 0)
    {
        ctld_pg_lost(pg, "setup");
        return;
    }

    pg->state = CTLD_PG_READY;
    pg->backoff = 0;

    ctld_log(CTLD_LOG_INFO, pg->name, "postgres connected (%s:%s)",
             PQhost(pg->conn), PQport(pg->conn));

    /* LISTEN again ahead of anything queued while we were away */
    for (l = pg->listens; l != NULL; l = l->next) {
        if (ctld_pg_listen_query(pg, l, &q) != CTLD_OK) {
            ctld_pg_lost(pg, "listen");
            return;
        }

        q->next = pg->head;
        pg->head = q;

        if (pg->tail == NULL) {
            pg->tail = q;
        }
    }

    if (pg->connect_cb != NULL) {
        pg->connect_cb(pg, pg->connect_arg);
    }

    ctld_pg_send(pg);
}


/* Logs why, drops the connection, fails every query, schedules a retry. */
static void
ctld_pg_lost(ctld_pg_t *pg, const char *what)
{
    const char      *msg;
    struct timeval   tv;

    pg->backoff = (pg->backoff == 0) ? CTLD_PG_BACKOFF_MIN : pg->backoff * 2;
    if (pg->backoff > CTLD_PG_BACKOFF_MAX) {
        pg->backoff = CTLD_PG_BACKOFF_MAX;
    }

    /* libpq's messages end with a newline (or run to several lines) */
    msg = (what == NULL) ? "timed out"
          : (pg->conn != NULL) ? PQerrorMessage(pg->conn) : "out of memory";

    ctld_log(CTLD_LOG_ERROR, pg->name,
             "postgres %s failed: %.*s; retrying in %d s",
             (what != NULL) ? what : "connect", (int) strcspn(msg, "\n"),
             msg, pg->backoff);

    ctld_pg_close(pg);

    tv.tv_sec = pg->backoff;
    tv.tv_usec = 0;
    evtimer_add(pg->timer, &tv);

    ctld_pg_fail_all(pg);
}


static void
ctld_pg_close(ctld_pg_t *pg)
{
    if (pg->io != NULL) {
        event_free(pg->io);
        pg->io = NULL;
    }

    if (pg->wev != NULL) {
        event_free(pg->wev);
        pg->wev = NULL;
    }

    if (pg->timer != NULL) {
        evtimer_del(pg->timer);
    }

    if (pg->last != NULL) {
        PQclear(pg->last);
        pg->last = NULL;
    }

    if (pg->conn != NULL) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }

    pg->state = CTLD_PG_IDLE;
}


/*
 * Calls back every pending query with NULL.  The list is detached first:
 * a callback may queue a new query, which the kick event then fails (or
 * sends, after a reconnect) from the loop.
 */
static void
ctld_pg_fail_all(ctld_pg_t *pg)
{
    ctld_pg_query_t  *q, *next;

    q = pg->current;
    if (q != NULL) {
        q->next = pg->head;

    } else {
        q = pg->head;
    }

    pg->current = NULL;
    pg->head = NULL;
    pg->tail = NULL;

    for ( /* void */ ; q != NULL; q = next) {
        next = q->next;

        if (q->cb != NULL) {
            q->cb(NULL, q->arg);
        }

        free(q);
    }
}


static void
ctld_pg_timer_handler(evutil_socket_t fd, short what, void *arg)
{
    ctld_pg_t  *pg;

    (void) fd;
    (void) what;
    pg = arg;

    if (pg->state == CTLD_PG_CONNECTING) {
        ctld_pg_lost(pg, NULL);
        return;
    }

    ctld_pg_connect(pg);
}


static void
ctld_pg_kick_handler(evutil_socket_t fd, short what, void *arg)
{
    ctld_pg_t  *pg;

    (void) fd;
    (void) what;
    pg = arg;

    switch (pg->state) {

    case CTLD_PG_READY:
        ctld_pg_send(pg);
        break;

    case CTLD_PG_IDLE:
        ctld_pg_fail_all(pg);
        break;

    default:
        /* connecting: ctld_pg_ready() sends the queue */
        break;
    }
}


static void
ctld_pg_read_handler(evutil_socket_t fd, short what, void *arg)
{
    ctld_pg_t  *pg;

    (void) fd;
    (void) what;
    pg = arg;

    if (!PQconsumeInput(pg->conn)) {
        ctld_pg_lost(pg, "read");
        return;
    }

    ctld_pg_results(pg);

    if (pg->state == CTLD_PG_READY) {
        ctld_pg_notifies(pg);
    }
}


static void
ctld_pg_write_handler(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;

    (void) ctld_pg_flush(arg);
}


static void
ctld_pg_results(ctld_pg_t *pg)
{
    PGresult  *res;

    while (pg->state == CTLD_PG_READY && pg->current != NULL
           && !PQisBusy(pg->conn))
    {
        res = PQgetResult(pg->conn);

        if (res == NULL) {
            ctld_pg_complete(pg);
            continue;
        }

        if (PQresultStatus(res) == PGRES_COPY_IN) {
            PQclear(res);

            if (ctld_pg_copy_in(pg) != CTLD_OK) {
                return;
            }

            continue;
        }

        /* a multi-statement query reports its last result */
        if (pg->last != NULL) {
            PQclear(pg->last);
        }

        pg->last = res;
    }
}


/*
 * The server waits for a COPY's data: all of it is handed to libpq at
 * once (in nonblocking mode it grows its buffer rather than block), then
 * flushed as the socket takes it.  The COPY's result follows.
 */
static int
ctld_pg_copy_in(ctld_pg_t *pg)
{
    ctld_pg_query_t  *q;

    q = pg->current;

    if ((q->copy_len > 0
         && PQputCopyData(pg->conn, q->copy, (int) q->copy_len) != 1)
        || PQputCopyEnd(pg->conn, q->copy != NULL ? NULL : "no data") != 1)
    {
        ctld_pg_lost(pg, "copy");
        return CTLD_ERROR;
    }

    return (ctld_pg_flush(pg) == CTLD_ERROR) ? CTLD_ERROR : CTLD_OK;
}


static void
ctld_pg_complete(ctld_pg_t *pg)
{
    ctld_pg_query_t  *q;
    PGresult         *res;

    q = pg->current;
    res = pg->last;
    pg->current = NULL;
    pg->last = NULL;

    if (q->cb != NULL) {
        q->cb(res, q->arg);

    } else if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        ctld_log(CTLD_LOG_ERROR, pg->name, "postgres: \"%s\" failed: %s",
                 q->sql, res ? PQresultErrorMessage(res) : "no result");
    }

    if (res != NULL) {
        PQclear(res);
    }

    free(q);

    ctld_pg_send(pg);
}


static void
ctld_pg_notifies(ctld_pg_t *pg)
{
    PGnotify          *n;
    ctld_pg_listen_t  *l;

    while ((n = PQnotifies(pg->conn)) != NULL) {
        for (l = pg->listens; l != NULL; l = l->next) {
            if (strcmp(l->channel, n->relname) == 0) {
                l->cb(n->relname, n->extra, l->arg);
            }
        }

        PQfreemem(n);
    }
}


static void
ctld_pg_send(ctld_pg_t *pg)
{
    ctld_pg_query_t  *q;
    int               ok;

    if (pg->state != CTLD_PG_READY || pg->current != NULL
        || pg->head == NULL)
    {
        return;
    }

    q = pg->head;
    pg->head = q->next;
    if (pg->head == NULL) {
        pg->tail = NULL;
    }

    q->next = NULL;
    pg->current = q;

    if (q->nparams == 0) {
        ok = PQsendQuery(pg->conn, q->sql);

    } else {
        ok = PQsendQueryParams(pg->conn, q->sql, q->nparams, NULL,
                               (const char *const *) q->params, NULL, NULL,
                               0);
    }

    if (!ok) {
        ctld_pg_lost(pg, "send");
        return;
    }

    (void) ctld_pg_flush(pg);
}


static int
ctld_pg_flush(ctld_pg_t *pg)
{
    switch (PQflush(pg->conn)) {

    case 0:
        event_del(pg->wev);
        return CTLD_OK;

    case 1:
        event_add(pg->wev, NULL);
        return CTLD_AGAIN;

    default:
        ctld_pg_lost(pg, "write");
        return CTLD_ERROR;
    }
}


static ctld_pg_query_t *
ctld_pg_query_new(const char *sql, int nparams, const char *const *params,
    ctld_pg_cb cb, void *arg)
{
    return ctld_pg_query_alloc(sql, nparams, params, 0, cb, arg);
}


/* one allocation: the query, its params, the text, copy bytes of room */
static ctld_pg_query_t *
ctld_pg_query_alloc(const char *sql, int nparams, const char *const *params,
    size_t copy, ctld_pg_cb cb, void *arg)
{
    ctld_pg_query_t  *q;
    size_t            size, len;
    char             *p;
    int               i;

    size = sizeof(ctld_pg_query_t) + nparams * sizeof(char *)
           + strlen(sql) + 1 + copy;

    for (i = 0; i < nparams; i++) {
        size += (params[i] != NULL) ? strlen(params[i]) + 1 : 0;
    }

    q = malloc(size);
    if (q == NULL) {
        return NULL;
    }

    q->next = NULL;
    q->cb = cb;
    q->arg = arg;
    q->nparams = nparams;
    q->params = (char **) (q + 1);
    p = (char *) (q->params + nparams);

    for (i = 0; i < nparams; i++) {
        if (params[i] == NULL) {
            q->params[i] = NULL;
            continue;
        }

        len = strlen(params[i]) + 1;
        q->params[i] = memcpy(p, params[i], len);
        p += len;
    }

    q->sql = strcpy(p, sql);
    q->copy = (copy > 0) ? p + strlen(sql) + 1 : NULL;
    q->copy_len = 0;

    return q;
}


/* LISTEN "channel", quoted as an identifier */
static int
ctld_pg_listen_query(ctld_pg_t *pg, ctld_pg_listen_t *l,
    ctld_pg_query_t **q)
{
    char        *sql, *p;
    const char  *c;

    sql = malloc(sizeof("LISTEN \"\"") + 2 * strlen(l->channel));
    if (sql == NULL) {
        goto failed;
    }

    p = sql + sizeof("LISTEN \"") - 1;
    memcpy(sql, "LISTEN \"", sizeof("LISTEN \"") - 1);

    for (c = l->channel; *c != '\0'; c++) {
        if (*c == '"') {
            *p++ = '"';
        }

        *p++ = *c;
    }

    *p++ = '"';
    *p = '\0';

    *q = ctld_pg_query_new(sql, 0, NULL, NULL, NULL);
    free(sql);

    if (*q == NULL) {
        goto failed;
    }

    return CTLD_OK;

failed:

    ctld_log(CTLD_LOG_ERROR, pg->name, "postgres: out of memory");
    return CTLD_ERROR;
}
