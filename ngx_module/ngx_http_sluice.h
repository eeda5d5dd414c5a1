/*
 * Shared declarations of the Sluice nginx module: configuration, the
 * per-request context and the entry points each file offers the others.
 */

#ifndef _NGX_HTTP_SLUICE_H_INCLUDED_
#define _NGX_HTTP_SLUICE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <lmdb.h>


#define NGX_HTTP_SLUICE_VERSION      "0.1.0"

/* inbound (caller) and upstream dialects */
#define NGX_HTTP_SLUICE_CHAT         0
#define NGX_HTTP_SLUICE_RESPONSES    1
#define NGX_HTTP_SLUICE_MESSAGES     2

/* endpoints served by the gateway handler */
#define NGX_HTTP_SLUICE_EP_NONE      0
#define NGX_HTTP_SLUICE_EP_GENERATE  1      /* chat, responses, messages */
#define NGX_HTTP_SLUICE_EP_MODELS    2
#define NGX_HTTP_SLUICE_EP_COUNT     3      /* messages/count_tokens */

/* a group's upstream idle timeout when it names none */
#define NGX_HTTP_SLUICE_IDLE_TIMEOUT 120000


typedef struct {
    ngx_atomic_t                requests;
    ngx_atomic_t                status[6];      /* by class: 0, 1xx..5xx */
} ngx_http_sluice_counters_t;


typedef struct {
    ngx_str_t                   table_path;
    ngx_shm_zone_t             *zone;           /* sluice_zone */
    ngx_int_t                   rid_index;      /* of $request_id */
    size_t                      table_mapsize;

    /* sluice_usage */
    ngx_addr_t                 *redis;          /* NULL: usage off */
    ngx_str_t                   stream;         /* "sluice:usage" */
    ngx_str_t                   spool;          /* spool directory or empty */
    off_t                       spool_max;      /* bytes per worker file */
    ngx_uint_t                  maxlen;         /* XADD MAXLEN ~ */
    ngx_uint_t                  queue;          /* records held per worker */

    ssize_t                     heap_keep;      /* sluice_heap_keep */
} ngx_http_sluice_main_conf_t;


typedef struct {
    ngx_uint_t                  endpoint;       /* NGX_HTTP_SLUICE_EP_* */
    ngx_uint_t                  dialect;        /* caller's dialect */
    ngx_str_t                   error_code;     /* sluice_error <code> */
    ngx_flag_t                  provider_headers;
} ngx_http_sluice_loc_conf_t;


/*
 * One per request.  It lives in a pool cleanup (the realip pattern), so
 * ngx_http_sluice_get_ctx() finds it again after error_page or a named
 * location wiped r->ctx: fallback and the LOG phase depend on that.
 * Every ngx_str_t points into r->pool memory (copied out of the LMDB
 * transaction, which is closed before the handler returns).
 */
typedef struct {
    ngx_http_request_t         *request;

    /* ACCESS: the caller */
    ngx_str_t                   key_id;
    ngx_str_t                   user;
    ngx_str_t                   project;
    ngx_str_t                   environment;
    ngx_str_t                   groups;         /* comma list or "*" */

    /* PRECONTENT: the request and the chosen target */
    ngx_uint_t                  dialect;        /* caller's dialect */
    ngx_uint_t                  endpoint;
    ngx_str_t                   group;
    ngx_str_t                   provider;
    ngx_str_t                   target_id;
    ngx_str_t                   model;          /* upstream model id */
    ngx_uint_t                  upstream_dialect;
    ngx_str_t                   scheme;         /* "http" / "https" */
    ngx_str_t                   host;           /* Host header */
    ngx_str_t                   tls_name;
    ngx_str_t                   uri;            /* base_path + endpoint */
    ngx_str_t                   auth_bearer;    /* "Bearer sk-..." or "" */
    ngx_str_t                   auth_xapikey;
    ngx_str_t                   addr_text;
    struct sockaddr            *sockaddr;       /* &target_addr */
    socklen_t                   socklen;
    ngx_sockaddr_t              target_addr;
    ngx_str_t                   client_uri;     /* while uri_swapped */
    ngx_uint_t                  attempts;
    ngx_msec_t                  idle_timeout;   /* upstream read timeout */
    ngx_str_t                   anthropic_version; /* to messages targets */
    ngx_str_t                   anthropic_beta;
    void                       *names;          /* sluice_xlate_names_t */
    ngx_uint_t                  failed_status;  /* a stream that broke */

    ngx_int_t                   body_rc;        /* mirror-style re-entry */

    /* a client error found while the body handler ran, sent on re-entry */
    ngx_uint_t                  err_status;
    const char                 *err_code;
    const char                 *err_message;
    ngx_str_t                   answer;         /* our own 200 JSON */

    /* filled by the response filters; -1 when unknown */
    ngx_int_t                   in_tokens;
    ngx_int_t                   out_tokens;
    ngx_msec_t                  ttfb;           /* ms since start, 0 unset */
    ngx_uint_t                  upstream_status;
    void                       *filter;         /* filter's own state */

    unsigned                    authenticated:1;
    unsigned                    body_reading:1;
    unsigned                    body_done:1;
    unsigned                    stream:1;       /* body asked for stream */
    unsigned                    inject_usage:1; /* we set include_usage */
    unsigned                    routed:1;       /* a target was chosen */
    unsigned                    xlate:1;        /* dialects differ */
    unsigned                    logged:1;       /* usage record queued */
    unsigned                    no_usage:1;     /* nothing to record */
    unsigned                    answered:1;     /* the stream's end sent */
    unsigned                    uri_swapped:1;  /* r->unparsed_uri: ours */
    unsigned                    client_uri_valid:1;
} ngx_http_sluice_ctx_t;


extern ngx_module_t  ngx_http_sluice_module;
extern ngx_module_t  ngx_http_sluice_filter_module;


/* ngx_http_sluice_ctx.c: find or create the context (survives redirects) */
ngx_http_sluice_ctx_t *ngx_http_sluice_get_ctx(ngx_http_request_t *r);
ngx_http_sluice_ctx_t *ngx_http_sluice_create_ctx(ngx_http_request_t *r);
/* ms since the request started (nginx's cached clock), >= 1 */
ngx_msec_t ngx_http_sluice_elapsed(ngx_http_request_t *r);

/*
 * ngx_http_sluice_rid.c: the request id (32 hex chars), drawn on first
 * use from a per-worker generator and stored as $request_id: the header,
 * the error body, the usage record and log_format all see the same id.
 * Empty when unavailable; points into request memory.
 */
void ngx_http_sluice_request_id(ngx_http_request_t *r, ngx_str_t *rid);
/* the answer's X-Request-Id (and request-id for Anthropic callers) */
ngx_int_t ngx_http_sluice_rid_headers(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx);

/* ngx_http_sluice_error.c: the one exit for client-facing errors */
ngx_int_t ngx_http_sluice_error_send(ngx_http_request_t *r,
    ngx_uint_t dialect, ngx_uint_t status, const char *code,
    const char *message);
ngx_int_t ngx_http_sluice_error_handler(ngx_http_request_t *r);
/* the caller's error envelope in a buffer of r->pool, NULL on error */
ngx_buf_t *ngx_http_sluice_error_json(ngx_http_request_t *r,
    ngx_uint_t dialect, ngx_uint_t status, const char *code,
    const char *message);
/* Anthropic's error.type for an HTTP status */
const char *ngx_http_sluice_error_anthropic_type(ngx_uint_t status);
/* status, JSON headers and b as the whole body */
ngx_int_t ngx_http_sluice_send_json(ngx_http_request_t *r,
    ngx_uint_t status, ngx_buf_t *b);
/* sends a 200 JSON answer from a phase handler and finalizes */
ngx_int_t ngx_http_sluice_answer_phase(ngx_http_request_t *r,
    ngx_str_t *json);
/* sends from a phase handler and finalizes: return its result */
ngx_int_t ngx_http_sluice_error_phase(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);

/* ngx_http_sluice_table.c: LMDB reader, per worker */
char *ngx_http_sluice_heap_keep(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_sluice_heap_init_conf(ngx_http_sluice_main_conf_t *mcf);
void ngx_http_sluice_heap_init_process(ngx_cycle_t *cycle);

ngx_int_t ngx_http_sluice_table_init_process(ngx_cycle_t *cycle);
void ngx_http_sluice_table_exit_process(ngx_cycle_t *cycle);
/* copies the value into r->pool; NGX_DECLINED when absent */
ngx_int_t ngx_http_sluice_table_get(ngx_http_request_t *r, u_char *key,
    size_t len, ngx_str_t *value);
/* calls handler for every group record (value valid during the call) */
typedef ngx_int_t (*ngx_http_sluice_table_each_pt)(void *data,
    u_char *value, size_t len);
ngx_int_t ngx_http_sluice_table_each_group(ngx_http_request_t *r,
    ngx_http_sluice_table_each_pt handler, void *data);

/* ngx_http_sluice_access.c */
ngx_int_t ngx_http_sluice_access_handler(ngx_http_request_t *r);

/* ngx_http_sluice_route.c: PRECONTENT, body, group, target, rewrite */
ngx_int_t ngx_http_sluice_route_handler(ngx_http_request_t *r);
/*
 * Puts the caller's URI back into r->unparsed_uri once proxy_pass has
 * built the upstream request line from the target's path (see
 * ngx_http_sluice_route_uri()); does nothing when it is there already.
 */
void ngx_http_sluice_route_uri_restore(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx);

/* ngx_http_sluice_dialect.c: the target's dialect, path and body */
ngx_int_t ngx_http_sluice_dialect_of(const char *p, size_t len);
ngx_int_t ngx_http_sluice_dialect_target(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, const char *base, size_t len);
ngx_int_t ngx_http_sluice_dialect_translate(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, u_char *body, size_t len);

/* ngx_http_sluice_count.c: messages/count_tokens, an estimate */
ngx_int_t ngx_http_sluice_count(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, u_char *body, size_t len);

/* ngx_http_sluice_models.c: GET /v1/models content handler */
ngx_int_t ngx_http_sluice_models_handler(ngx_http_request_t *r);

/* ngx_http_sluice_zone.c: shared counters (sluice_zone) */
char *ngx_http_sluice_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_sluice_zone_count(ngx_http_request_t *r, ngx_uint_t status);

/* ngx_http_sluice_metrics.c: sluice_metrics, Prometheus text */
char *ngx_http_sluice_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_sluice_keepalive.c: idle connections pooled per target */
typedef struct ngx_http_sluice_keepalive_s  ngx_http_sluice_keepalive_t;
ngx_http_sluice_keepalive_t *ngx_http_sluice_keepalive_create(
    ngx_conf_t *cf, ngx_uint_t max, ngx_msec_t timeout, ngx_uint_t requests);
/* NGX_DONE with pc->connection set when an idle connection matched */
ngx_int_t ngx_http_sluice_keepalive_get(ngx_http_sluice_keepalive_t *ka,
    ngx_peer_connection_t *pc, ngx_str_t *name);
void ngx_http_sluice_keepalive_save(ngx_http_sluice_keepalive_t *ka,
    ngx_http_upstream_t *u, ngx_peer_connection_t *pc, ngx_str_t *name,
    ngx_uint_t state);

/* ngx_http_sluice_balancer.c */
char *ngx_http_sluice_balancer(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
/*
 * The target's "IP:port" as ctx->sockaddr (into ctx->target_addr).
 * Parsed once per worker and address text, then remembered; NGX_ERROR
 * when the text is not an address.
 */
ngx_int_t ngx_http_sluice_balancer_addr(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx, u_char *text, size_t len);

/*
 * ngx_http_sluice_headers.c: with sluice_provider_headers on, the
 * target's Host, the provider credential and anthropic-version/-beta
 * written into the upstream request proxy_pass built (called from the
 * balancer's peer init, right after create_request).
 */
ngx_int_t ngx_http_sluice_headers(ngx_http_request_t *r,
    ngx_http_sluice_ctx_t *ctx);

/* ngx_http_sluice_variables.c */
ngx_int_t ngx_http_sluice_add_variables(ngx_conf_t *cf);

/*
 * ngx_http_sluice_usage.c: LOG phase record, per-worker queue, Redis
 * stream over a non-blocking nginx connection, spool when Redis is away.
 * Never blocks.
 */
ngx_int_t ngx_http_sluice_usage_log_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_sluice_usage_init_process(ngx_cycle_t *cycle);
void ngx_http_sluice_usage_exit_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_SLUICE_H_INCLUDED_ */
