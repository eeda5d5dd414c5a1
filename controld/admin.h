/*
 * controld/admin.h: internals of the admin role shared by controld/admin*.c.
 *
 * Lifetimes: a ctld_admin_req_t is created by admin.c for every request
 * and freed by the one function that replies (ctld_admin_reply and its
 * wrappers).  A handler either replies before returning or starts exactly
 * one query whose callback continues the request; nothing here blocks.
 */

#ifndef CTLD_ADMIN_H
#define CTLD_ADMIN_H

#include <stddef.h>
#include <sys/queue.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include "controld.h"
#include "pg.h"

#define CTLD_ADMIN_BODY_MAX      (1024 * 1024)
#define CTLD_ADMIN_MAX_ARGS      2

/* field flags */
#define CTLD_ADMIN_REQUIRED      0x1    /* on create */
#define CTLD_ADMIN_NULLABLE      0x2    /* JSON null clears the column */
#define CTLD_ADMIN_STAR          0x4    /* NAMES: "*" is allowed too */

/* validation modes */
#define CTLD_ADMIN_CREATE        1
#define CTLD_ADMIN_PATCH         2

typedef enum {
    CTLD_ADMIN_F_STRING = 1,    /* one line of text: no control characters */
    CTLD_ADMIN_F_TEXT,          /* free text, any UTF-8 */
    CTLD_ADMIN_F_NAME,          /* [A-Za-z0-9] plus the chars in extra */
    CTLD_ADMIN_F_ENUM,          /* one of extra, '|' separated */
    CTLD_ADMIN_F_URL,           /* http(s)://host[:port][/path] */
    CTLD_ADMIN_F_TIME,          /* RFC 3339 */
    CTLD_ADMIN_F_UINT,          /* integer 0 .. INT32_MAX */
    CTLD_ADMIN_F_OBJECT,        /* any JSON object */
    CTLD_ADMIN_F_NAMES          /* array of distinct NAMEs */
} ctld_admin_ftype_e;

typedef struct {
    const char               *name;
    ctld_admin_ftype_e        type;
    unsigned                  flags;
    const char               *extra;
    size_t                    max;      /* bytes, or items for NAMES */
} ctld_admin_field_t;

/* a column whose NULL means "the named thing does not exist" */
typedef struct {
    const char               *column;   /* e.g. "provider_id" */
    const char               *field;    /* request field, e.g. "provider" */
    const char               *noun;     /* e.g. "provider" */
} ctld_admin_ref_t;

/*
 * A resource: fields for validation and the SQL that serves it.
 * Item statements take $1 = the id when the path segment is all digits
 * (else NULL) and $2 = the segment as a name (both the id when showing a
 * row just written); writes take the validated body as jsonb in the last
 * parameter.  Writes return the row id in
 * column 0 and, optionally, the first unknown referenced name in column 1.
 * sql_show returns one JSON object per row in column 0.
 */
typedef struct {
    const char               *noun;
    const ctld_admin_field_t *fields;
    const ctld_admin_field_t *patch_fields;  /* NULL: fields */
    const ctld_admin_ref_t   *refs;     /* NULL-terminated by column */
    const char               *sql_list;
    const char               *sql_show;
    const char               *sql_create;
    const char               *sql_update;
    const char               *sql_delete;
} ctld_admin_resource_t;

typedef struct ctld_admin_req_s  ctld_admin_req_t;

/* the role's state, st->admin */
typedef struct {
    ctld_state_t                *st;
    struct evhttp               *http;
    ctld_pg_t                   *pg;
    unsigned char                token_hash[32];
} ctld_admin_t;

typedef void (*ctld_admin_handler_pt)(ctld_admin_req_t *ar);
typedef void (*ctld_admin_result_pt)(ctld_admin_req_t *ar, PGresult *res);

typedef struct {
    unsigned                     methods;  /* EVHTTP_REQ_* */
    const char                  *pattern;  /* ':' one segment, '*' the rest */
    ctld_admin_handler_pt        handler;
    const ctld_admin_resource_t *res;
} ctld_admin_route_t;

struct ctld_admin_req_s {
    ctld_admin_t                *adm;
    struct evhttp_request       *req;
    const ctld_admin_route_t    *route;
    char                        *args[CTLD_ADMIN_MAX_ARGS]; /* decoded */
    struct evkeyvalq             query;
    json_t                      *body;     /* parsed body or NULL */
    char                        *body_text; /* validated body for SQL */
    ctld_admin_result_pt         next;     /* query continuation */
    int                          status;   /* for the final reply */
    int                          attempts;
    char                         id[24];   /* row id after a write */
    char                         token[96]; /* new key's token */
};

typedef struct {
    int                          status;
    const char                  *type;
    const char                  *field;    /* lives as long as the body */
    char                         message[256];
} ctld_admin_err_t;


/* admin.c */
const char *ctld_admin_method_name(unsigned method);
/* requires a JSON object body valid for the resource in mode; replies 400 */
int ctld_admin_body(ctld_admin_req_t *ar, unsigned mode);
/* refuses (400) any query string parameter */
int ctld_admin_no_query(ctld_admin_req_t *ar);

/* admin_reply.c: replies (each frees ar) and queries */
void ctld_admin_reply(ctld_admin_req_t *ar, int status, json_t *json);
void ctld_admin_reply_error(ctld_admin_req_t *ar, int status,
    const char *type, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void ctld_admin_reply_err(ctld_admin_req_t *ar, const ctld_admin_err_t *err);
/* starts sql; cb gets only successful results, errors are replied here */
void ctld_admin_query(ctld_admin_req_t *ar, const char *sql, int n,
    const char *const *params, ctld_admin_result_pt cb);
/* replies with status and the JSON object in column 0 of row 0 (or 404) */
void ctld_admin_reply_row(ctld_admin_req_t *ar, PGresult *res);
/* replies 200 {"data":[column 0 of every row]} */
void ctld_admin_reply_rows(ctld_admin_req_t *ar, PGresult *res);

/* admin_valid.c */
int ctld_admin_validate(json_t *body, const ctld_admin_field_t *fields,
    unsigned mode, ctld_admin_err_t *err);
int ctld_admin_name_ok(const char *s, const char *extra, size_t max);
int ctld_admin_time_ok(const char *s);

/* admin_error.c */
json_t *ctld_admin_error_json(const char *type, const char *message,
    const char *field);
/* subject: the path's name or id, if any */
void ctld_admin_pg_error(const ctld_admin_resource_t *rsc, json_t *body,
    const char *subject, PGresult *res, ctld_admin_err_t *err);
/* value: the unknown name, or NULL to take it from the body */
void ctld_admin_ref_error(const ctld_admin_resource_t *rsc, json_t *body,
    const char *column, const char *value, ctld_admin_err_t *err);

/* admin_crud.c: generic handlers over ar->route->res */
void ctld_admin_crud_list(ctld_admin_req_t *ar);
void ctld_admin_crud_show(ctld_admin_req_t *ar);
void ctld_admin_crud_create(ctld_admin_req_t *ar);
void ctld_admin_crud_update(ctld_admin_req_t *ar);
void ctld_admin_crud_delete(ctld_admin_req_t *ar);
void ctld_admin_show_id(ctld_admin_req_t *ar, int status);

/* admin_keys.c */
void ctld_admin_keys_list(ctld_admin_req_t *ar);
void ctld_admin_keys_show(ctld_admin_req_t *ar);
void ctld_admin_keys_create(ctld_admin_req_t *ar);
void ctld_admin_keys_update(ctld_admin_req_t *ar);
void ctld_admin_keys_revoke(ctld_admin_req_t *ar);

/* admin_resources.c */
extern const ctld_admin_resource_t  ctld_admin_providers;
extern const ctld_admin_resource_t  ctld_admin_targets;
extern const ctld_admin_resource_t  ctld_admin_groups;
extern const ctld_admin_resource_t  ctld_admin_users;
extern const ctld_admin_resource_t  ctld_admin_projects;
extern const ctld_admin_resource_t  ctld_admin_keys;

#endif
