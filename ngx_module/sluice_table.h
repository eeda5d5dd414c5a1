/*
 * sluice_table: the policy table's record format (docs/CONTRACTS.md),
 * parsed in place.  Pure C; parsing never allocates and returns spans
 * pointing into the value it was given.
 */

#ifndef SLUICE_TABLE_H
#define SLUICE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define SLUICE_TABLE_KEY_PREFIX    'k'
#define SLUICE_TABLE_GROUP_PREFIX  'g'
#define SLUICE_TABLE_GENERATION    "m:generation"

typedef struct {
    const char     *p;
    size_t          len;
} sluice_span_t;

typedef struct {
    sluice_span_t   key_id;
    sluice_span_t   status;         /* active | disabled | revoked */
    int64_t         expires_at;     /* unix seconds, 0 = never */
    sluice_span_t   user;
    sluice_span_t   project;
    sluice_span_t   environment;
    sluice_span_t   groups;         /* comma list, "x*" wildcards */
} sluice_table_key_t;

typedef struct {
    sluice_span_t   name;
    sluice_span_t   strategy;
    uint64_t        idle_timeout;   /* upstream idle ms, 0 = default */
    const char     *targets;        /* first target line */
    const char     *end;
} sluice_table_group_t;

typedef struct {
    sluice_span_t   target_id;
    unsigned        weight;
    sluice_span_t   provider;
    sluice_span_t   dialect;
    sluice_span_t   model;
    sluice_span_t   scheme;
    sluice_span_t   addr;
    sluice_span_t   host;
    sluice_span_t   tls_name;
    sluice_span_t   base_path;
    sluice_span_t   auth_kind;
    sluice_span_t   credential;
} sluice_table_target_t;

/* 0 ok, -1 malformed */
int sluice_table_key_parse(const char *v, size_t len, sluice_table_key_t *k);
int sluice_table_group_parse(const char *v, size_t len,
    sluice_table_group_t *g);

/*
 * Iterates target lines: *pos starts at g->targets.  Returns 1 with t
 * filled, 0 at the end, -1 on a malformed line.
 */
int sluice_table_target_next(const char **pos, const char *end,
    sluice_table_target_t *t);

/* 1 when name is in the comma list; "*" and "prefix*" are wildcards */
int sluice_table_group_allowed(sluice_span_t groups, const char *name,
    size_t len);

#endif
