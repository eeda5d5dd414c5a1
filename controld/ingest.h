/*
 * controld/ingest.h: the ingest role's insides, shared by ingest.c
 * (Redis stream, PostgreSQL connection, acks) and ingest_rows.c (stream
 * entries to the twenty column arrays, and the SQL that inserts them).
 */

#ifndef CTLD_INGEST_H
#define CTLD_INGEST_H

#include <time.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "controld.h"
#include "pg.h"


#define CTLD_INGEST_NCOLS          20
#define CTLD_INGEST_COL_TS         1        /* unix ms: to a timestamptz */
#define CTLD_INGEST_STMT           "ctld_ingest"      /* prepared INSERT */


/*
 * One batch of stream entries.  Everything lives in one allocation: ids,
 * then vals (nrows * CTLD_INGEST_NCOLS, NULL = SQL NULL), then strings.
 */
typedef struct {
    int                 nids;
    int                 nrows;
    int                 nbad;       /* malformed records, not rows */
    int                 single;     /* inserting row by row */
    int                 dedup;      /* COPY refused: a request id seen */
    int                 next;       /* row by row: the row to insert */
    const char        **ids;
    const char        **vals;
    char               *arena;
} ctld_ingest_batch_t;

typedef struct {
    long                rows;
    long                inserted;
    long                malformed;
    long                rejected;
    long                failures;
} ctld_ingest_stats_t;

typedef struct {
    ctld_state_t         *st;
    ctld_pg_t            *pg;
    redisAsyncContext    *ac;
    int                   connected;
    int                   group_ok;     /* XGROUP CREATE done */
    int                   stopping;
    int                   mode;         /* CTLD_INGEST_PENDING / _NEW */
    int                   busy;         /* a Redis command in flight */
    int                   claim_due;
    int                   backoff;      /* Redis reconnects, seconds */
    int                   fail_backoff; /* failed inserts, seconds */
    time_t                sent_at;      /* command sent, or connect begun */
    time_t                claimed_at;
    time_t                regrouped_at; /* group found gone, recreated */
    time_t                stats_at;
    char                  cursor[64];   /* XAUTOCLAIM */
    ctld_ingest_batch_t  *batch;        /* being inserted and acked */
    int                   prepared;     /* on this PostgreSQL connection */
    struct event         *retry;        /* Redis reconnect */
    struct event         *resume;       /* after a failure's backoff */
    struct event         *tick;         /* every second: timeouts, claims */
    ctld_ingest_stats_t   stats;
} ctld_ingest_t;


/* ingest_rows.c */

/* the PREPARE of CTLD_INGEST_STMT, once per connection */
extern const char  ctld_ingest_prepare[];

/*
 * Returns one allocation (free() it) holding the rows of entries, an
 * XREADGROUP or XAUTOCLAIM reply, and counts them in ing->stats; NULL
 * when out of memory (logged).
 */
ctld_ingest_batch_t *ctld_ingest_batch(ctld_ingest_t *ing,
    redisReply *entries);
/*
 * A batch goes in with COPY, PostgreSQL's cheapest way in (about half the
 * CPU per row of the EXECUTE below).  When it holds a request id the
 * ledger has (a record delivered again after a crash or a claim), the
 * COPY is refused whole and the batch goes again through the prepared
 * INSERT ... ON CONFLICT DO NOTHING; after a data error, row by row.
 */
extern const char  ctld_ingest_copy_sql[];
/* the rows of b in COPY's text format, malloc()ed (*len bytes), or NULL */
char *ctld_ingest_copy(ctld_ingest_batch_t *b, size_t *len);
/* rows first .. first + n - 1 of b: a malloc()ed EXECUTE, or NULL */
char *ctld_ingest_execute(ctld_ingest_batch_t *b, int first, int n);

#endif
