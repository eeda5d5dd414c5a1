/*
 * controld/sync.h: the sync role's insides, shared by sync.c (lifecycle,
 * scheduling), sync_keys.c (keys) and sync_groups.c (model groups).
 *
 * Two PostgreSQL connections: pg carries LISTEN, the incremental key
 * reads and the group compiles, all short; rpg carries the long key
 * passes (the full reconcile, and the catch-up after a bulk change),
 * read through a cursor in batches, so a revocation never queues behind
 * them.  Everything runs on the one loop: an LMDB write transaction
 * begins and commits inside one callback, never across two.
 */

#ifndef CTLD_SYNC_H
#define CTLD_SYNC_H

#include <stdint.h>
#include <time.h>
#include <sys/types.h>
#include <libpq-fe.h>

#include "controld.h"
#include "dns.h"
#include "pg.h"
#include "table_write.h"


/* work on pg, debounced (pending / running) */
#define CTLD_SYNC_KEYS_INCR   0x1
#define CTLD_SYNC_GROUPS      0x2
/* work on rpg (see ctld_sync_keys_pass()) */
#define CTLD_SYNC_KEYS_FULL   0x4
#define CTLD_SYNC_KEYS_WINDOW 0x8
#define CTLD_SYNC_ALL         (CTLD_SYNC_KEYS_INCR | CTLD_SYNC_GROUPS      \
                               | CTLD_SYNC_KEYS_FULL)

#define CTLD_SYNC_KEY_LEN     33        /* 'k' + sha256 */


typedef struct {
    char               *data;
    size_t              len;
    size_t              size;
} ctld_sync_buf_t;

typedef struct {
    long                rows;
    long                written;
    long                unchanged;
    long                deleted;
    long                skipped;        /* left out */
    long                newer;          /* passes: touched, left alone */
} ctld_sync_count_t;

/* keys an incremental read wrote while a pass runs; sorted lazily */
typedef struct {
    u_char             *keys;           /* 32-byte hashes */
    size_t              n;
    size_t              size;
    size_t              nsorted;
} ctld_sync_touched_t;

/* one long key pass on rpg: a cursor read in batches */
typedef struct {
    unsigned            kind;           /* CTLD_SYNC_KEYS_FULL, _WINDOW */
    unsigned            wanted;         /* kinds to run next */
    int64_t             want_since;     /* window start for _WINDOW, us */
    int64_t             since;          /* of the running window pass */
    int64_t             snapshot;       /* its transaction's now(), us */
    int                 have_last;
    u_char              last[CTLD_SYNC_KEY_LEN];  /* merge position */
    int                 restart;        /* touched overflowed */
    uint64_t            gen;            /* last committed, 0: none */
    ctld_sync_count_t   cnt;
    struct timespec     started;
} ctld_sync_pass_t;

typedef struct {
    ctld_state_t       *st;
    ctld_pg_t          *pg;
    ctld_pg_t          *rpg;
    ctld_table_t       *table;
    ctld_dns_t         *dns;
    struct event       *debounce;
    struct event       *reconcile;
    unsigned            pending;        /* CTLD_SYNC_* to run next on pg */
    unsigned            running;        /* CTLD_SYNC_* in flight on pg */
    int64_t             since;          /* next incremental read's window
                                         * start (PostgreSQL time, us);
                                         * 0: not known yet */
    struct timespec     started;        /* of what runs on pg */
    ctld_sync_pass_t    pass;
    ctld_sync_touched_t touched;
    ctld_sync_buf_t     buf;
} ctld_sync_t;


/* sync.c */
void ctld_sync_schedule(ctld_sync_t *s, unsigned what);
void ctld_sync_done(ctld_sync_t *s, unsigned what);
int ctld_sync_result_ok(PGresult *res, ExecStatusType want,
    const char *what);
void ctld_sync_log(const char *what, const struct timespec *started,
    ctld_sync_count_t *cnt, uint64_t gen);
int ctld_sync_buf_add(ctld_sync_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int ctld_sync_clean(const char *v);

/* sync_keys.c: the incremental read on pg */
int ctld_sync_keys_incr(ctld_sync_t *s);
/* requests a pass on rpg (kind _FULL or _WINDOW from since) */
void ctld_sync_keys_pass(ctld_sync_t *s, unsigned kind, int64_t since);
void ctld_sync_keys_rpg_connected(ctld_pg_t *pg, void *arg);
void ctld_sync_keys_free(ctld_sync_t *s);

/* sync_groups.c */
int ctld_sync_groups(ctld_sync_t *s);
void ctld_sync_groups_dns(void *arg);

#endif
