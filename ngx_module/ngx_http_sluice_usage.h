/*
 * Internal to the usage record files: the per-worker state shared by
 * ngx_http_sluice_usage.c (record, queue, Redis connection) and
 * ngx_http_sluice_usage_spool.c (spool file and replay).  Nothing here
 * blocks but plain file I/O on the local spool.
 */

#ifndef _NGX_HTTP_SLUICE_USAGE_H_INCLUDED_
#define _NGX_HTTP_SLUICE_USAGE_H_INCLUDED_


#include "ngx_http_sluice.h"


/* error kinds, each logged at most once per QUIET seconds */
enum {
    NGX_HTTP_SLUICE_Q_CONNECT = 0,
    NGX_HTTP_SLUICE_Q_FULL,
    NGX_HTTP_SLUICE_Q_SPOOL,
    NGX_HTTP_SLUICE_Q_REJECT,
    NGX_HTTP_SLUICE_Q_N
};


/*
 * A group holds at most GROUP records in BLOCK bytes (a record longer
 * than a block gets a group of its own); record buffers of BLOCK bytes
 * are reused, at most BLOCKS kept free.  The spool's replay reads
 * commands of at most 64 KB.
 */
#define NGX_HTTP_SLUICE_USAGE_GROUP      64
#define NGX_HTTP_SLUICE_USAGE_BLOCK      16384
#define NGX_HTTP_SLUICE_USAGE_BLOCKS     64


/*
 * One XADD of n records; cmd lies inside base, size bytes from
 * ngx_http_sluice_usage_rec_alloc(), given back with
 * ngx_http_sluice_usage_rec_free().
 */
typedef struct {
    char                          *cmd;
    size_t                         len;
    u_char                        *base;
    size_t                         size;
    ngx_uint_t                     n;
} ngx_http_sluice_usage_rec_t;


/* counted in records: each ends up acked, spooled or dropped */
typedef struct {
    ngx_uint_t                     queued;
    ngx_uint_t                     sent;       /* entries written, again
                                                  after a reconnect too */
    ngx_uint_t                     acked;
    ngx_uint_t                     spooled;
    ngx_uint_t                     replayed;   /* read back from spool */
    ngx_uint_t                     rejected;   /* entries refused */
    ngx_uint_t                     dropped;
} ngx_http_sluice_usage_stats_t;


/*
 * Per worker, created in init_process, freed in exit_process.  Records
 * are written into the open group (open_pos is where the next goes);
 * sealed, a group is one command in the ring.  The ring holds count
 * commands from head; the first inflight of them are written and wait
 * for their reply (Redis answers in order), and woff bytes of the next
 * one are written.  records counts the records of the ring and the open
 * group, held to the queue size.  On a disconnect nothing is dropped:
 * the commands stay and are written again on the next connection.
 */
typedef struct {
    ngx_http_sluice_main_conf_t   *mcf;
    ngx_log_t                      log;        /* level lowered when quiet */
    ngx_uint_t                     log_level;

    ngx_http_sluice_usage_rec_t   *ring;
    ngx_uint_t                     size;
    ngx_uint_t                     head;
    ngx_uint_t                     count;
    ngx_uint_t                     inflight;
    size_t                         woff;
    ngx_uint_t                     records;

    ngx_http_sluice_usage_rec_t    open;
    u_char                        *open_pos;

    ngx_peer_connection_t          peer;
    u_char                        *in;         /* replies read, unparsed */
    size_t                         in_len;
    ngx_event_t                    tick;       /* connect, retry, scan */
    ngx_event_t                    flush;      /* a batch waits */
    ngx_msec_t                     backoff;

    void                          *blocks;     /* free record blocks */
    ngx_uint_t                     nblocks;

    u_char                        *spool_path; /* <spool>/usage-<pid>.resp */
    u_char                        *replay_path;
    ngx_fd_t                       spool_fd;
    off_t                          spool_size;
    ngx_fd_t                       replay_fd;
    u_char                        *rbuf;
    size_t                         rpos;
    size_t                         rlen;

    time_t                         quiet[NGX_HTTP_SLUICE_Q_N];
    ngx_http_sluice_usage_stats_t  stats;

    unsigned                       on:1;
    unsigned                       connected:1;
    unsigned                       spool_seen:1; /* files may be waiting */
} ngx_http_sluice_usage_t;


/* usage.c: a buffer of at least len bytes (*size), reused */
u_char *ngx_http_sluice_usage_rec_alloc(ngx_http_sluice_usage_t *u,
    size_t len, size_t *size);
void ngx_http_sluice_usage_rec_free(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec);
/* usage.c: appends to the queue, which must have room */
void ngx_http_sluice_usage_enqueue(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec);
/* usage.c: the open group to the queue (or the spool when it is full) */
void ngx_http_sluice_usage_seal(ngx_http_sluice_usage_t *u);

/* usage_record.c: the constant head of every XADD, in init_process */
ngx_int_t ngx_http_sluice_usage_record_init(ngx_http_sluice_usage_t *u,
    ngx_log_t *log);
void ngx_http_sluice_usage_record_done(void);
/* usage_record.c: the request's record into the open group */
ngx_int_t ngx_http_sluice_usage_record(ngx_http_sluice_usage_t *u,
    ngx_http_request_t *r, ngx_http_sluice_ctx_t *ctx);
/* usage_record.c: the open group (with a record) into its command */
void ngx_http_sluice_usage_record_close(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec);
/* usage_record.c: how many records a spooled command holds */
ngx_uint_t ngx_http_sluice_usage_record_count(u_char *cmd, size_t len);
/* usage.c: 1 when an error of this kind may be logged now */
ngx_int_t ngx_http_sluice_usage_loud(ngx_http_sluice_usage_t *u,
    ngx_uint_t kind);

/* usage_spool.c: paths and buffer, in init_process; NGX_ERROR on ENOMEM */
ngx_int_t ngx_http_sluice_usage_spool_init(ngx_http_sluice_usage_t *u,
    ngx_log_t *log);
/* usage_spool.c: closes the files, frees what spool_init allocated */
void ngx_http_sluice_usage_spool_done(ngx_http_sluice_usage_t *u);
/* usage_spool.c: appends one record; NGX_DECLINED when there is no spool */
ngx_int_t ngx_http_sluice_usage_spool(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec);
/* usage_spool.c: queues spooled records while the queue has room */
void ngx_http_sluice_usage_replay(ngx_http_sluice_usage_t *u);


#endif /* _NGX_HTTP_SLUICE_USAGE_H_INCLUDED_ */
