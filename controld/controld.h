/*
 * controld: shared state, configuration and the entry points of its roles.
 * One single-threaded libevent loop; nothing here is thread-safe.
 */

#ifndef CTLD_CONTROLD_H
#define CTLD_CONTROLD_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#define CTLD_OK      0
#define CTLD_ERROR  -1
#define CTLD_AGAIN  -2

#define CTLD_ROLE_SYNC    0x1
#define CTLD_ROLE_INGEST  0x2
#define CTLD_ROLE_ADMIN   0x4

#ifndef CTLD_VERSION
#define CTLD_VERSION     "0.0.0"
#endif
#ifndef CTLD_COMMIT
#define CTLD_COMMIT      "unknown"
#endif
#ifndef CTLD_BUILD_TIME
#define CTLD_BUILD_TIME  "unknown"
#endif

typedef struct ctld_pg_s  ctld_pg_t;

/* controld/config.c fills it; strings are heap-owned by the config */
typedef struct {
    unsigned            roles;              /* CTLD_ROLE_* */
    char               *database_url;
    char               *redis_host;         /* an IP address */
    int                 redis_port;
    char               *table_path;
    size_t              table_mapsize;
    int                 reconcile_interval; /* seconds */
    char               *admin_host;
    int                 admin_port;
    char               *admin_token;
    char               *usage_stream;
    char               *usage_group;
    char               *consumer;
    char               *pidfile;
    int                 log_level;          /* CTLD_LOG_* */
    char               *sql_dir;            /* migrations, NNN_*.sql */
} ctld_config_t;

typedef struct ctld_state_s {
    struct event_base  *base;
    ctld_config_t       conf;
    void               *sync;               /* owned by sync.c */
    void               *ingest;             /* owned by ingest.c */
    void               *admin;              /* owned by admin.c */
    int                 stopping;
} ctld_state_t;

#define CTLD_LOG_ERROR  0
#define CTLD_LOG_WARN   1
#define CTLD_LOG_INFO   2
#define CTLD_LOG_DEBUG  3

/* log.c: "2026-11-25T18:00:00Z [info] <role>: message" on stderr */
void ctld_log(int level, const char *role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ctld_log_set_level(int level);

/* config.c */
int ctld_config_load(ctld_config_t *conf, const char *path);
void ctld_config_free(ctld_config_t *conf);

/* roles: start registers events on st->base; stop frees everything */
int ctld_sync_start(ctld_state_t *st);
void ctld_sync_stop(ctld_state_t *st);
/* SIGHUP: schedule a full reconcile (no-op when sync is not running) */
void ctld_sync_reconcile(ctld_state_t *st);
int ctld_ingest_start(ctld_state_t *st);
void ctld_ingest_stop(ctld_state_t *st);
int ctld_admin_start(ctld_state_t *st);
void ctld_admin_stop(ctld_state_t *st);

/* migrate.c: synchronous, before the loop starts; sql_dir holds NNN_*.sql */
int ctld_migrate_run(const char *database_url, const char *sql_dir);

#endif
