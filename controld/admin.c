/* controld/admin.c: the admin role: evhttp server, route table, plumbing. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "admin.h"

#define CTLD_ADMIN_PREFIX       "/admin/v1"
#define CTLD_ADMIN_WIRE_MAX     (4 * CTLD_ADMIN_BODY_MAX)
#define CTLD_ADMIN_HEADERS_MAX  (16 * 1024)
#define CTLD_ADMIN_TIMEOUT      30
#define CTLD_ADMIN_PATH_MAX     2048

#define CTLD_ADMIN_METHODS                                                    \
    (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT      \
     | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS)

#define CTLD_ADMIN_CRUD(path, rsc)                                            \
    { EVHTTP_REQ_GET, path, ctld_admin_crud_list, rsc },                      \
    { EVHTTP_REQ_POST, path, ctld_admin_crud_create, rsc },                   \
    { EVHTTP_REQ_GET, path "/*", ctld_admin_crud_show, rsc },                 \
    { EVHTTP_REQ_PATCH | EVHTTP_REQ_PUT, path "/*",                           \
      ctld_admin_crud_update, rsc },                                          \
    { EVHTTP_REQ_DELETE, path "/*", ctld_admin_crud_delete, rsc }


typedef struct {
    const char                  *p;
    size_t                       len;
} ctld_admin_span_t;

typedef struct {
    unsigned                     method;
    const char                  *name;
} ctld_admin_method_t;


static void ctld_admin_healthz(ctld_admin_req_t *ar);
static void ctld_admin_version(ctld_admin_req_t *ar);
static int ctld_admin_listen(ctld_admin_t *adm);
static void ctld_admin_handle(struct evhttp_request *req, void *arg);
static int ctld_admin_path(struct evhttp_request *req, char *buf,
    size_t size);
static int ctld_admin_authorized(ctld_admin_t *adm,
    struct evhttp_request *req);
static const ctld_admin_route_t *ctld_admin_route(const char *path,
    unsigned method, unsigned *allow);
static int ctld_admin_match(const char *pat, const char *path,
    ctld_admin_span_t *caps);
static int ctld_admin_args(ctld_admin_req_t *ar, const char *path);
static int ctld_admin_utf8_ok(const char *s);
static int ctld_admin_read(ctld_admin_req_t *ar);
static void ctld_admin_not_allowed(ctld_admin_req_t *ar, unsigned allow);
static void ctld_admin_free(ctld_admin_t *adm);


static const ctld_admin_route_t  ctld_admin_routes[] = {
    { EVHTTP_REQ_GET, "/healthz", ctld_admin_healthz, NULL },
    { EVHTTP_REQ_GET, "/version", ctld_admin_version, NULL },

    { EVHTTP_REQ_GET, "/admin/v1/keys", ctld_admin_keys_list,
      &ctld_admin_keys },
    { EVHTTP_REQ_POST, "/admin/v1/keys", ctld_admin_keys_create,
      &ctld_admin_keys },
    { EVHTTP_REQ_GET, "/admin/v1/keys/:", ctld_admin_keys_show,
      &ctld_admin_keys },
    { EVHTTP_REQ_PATCH, "/admin/v1/keys/:", ctld_admin_keys_update,
      &ctld_admin_keys },
    { EVHTTP_REQ_POST, "/admin/v1/keys/:/revoke", ctld_admin_keys_revoke,
      &ctld_admin_keys },

    CTLD_ADMIN_CRUD("/admin/v1/providers", &ctld_admin_providers),
    CTLD_ADMIN_CRUD("/admin/v1/targets", &ctld_admin_targets),
    CTLD_ADMIN_CRUD("/admin/v1/groups", &ctld_admin_groups),
    CTLD_ADMIN_CRUD("/admin/v1/users", &ctld_admin_users),
    CTLD_ADMIN_CRUD("/admin/v1/projects", &ctld_admin_projects),

    { 0, NULL, NULL, NULL }
};

static const ctld_admin_method_t  ctld_admin_methods[] = {
    { EVHTTP_REQ_GET, "GET" },
    { EVHTTP_REQ_HEAD, "HEAD" },
    { EVHTTP_REQ_POST, "POST" },
    { EVHTTP_REQ_PUT, "PUT" },
    { EVHTTP_REQ_PATCH, "PATCH" },
    { EVHTTP_REQ_DELETE, "DELETE" },
    { EVHTTP_REQ_OPTIONS, "OPTIONS" },
    { 0, NULL }
};


int
ctld_admin_start(ctld_state_t *st)
{
    ctld_admin_t  *adm;
    const char    *token;

    token = st->conf.admin_token;
    if (token == NULL || token[0] == '\0') {
        ctld_log(CTLD_LOG_ERROR, "admin", "admin_token is not set");
        return CTLD_ERROR;
    }

    adm = calloc(1, sizeof(ctld_admin_t));
    if (adm == NULL) {
        ctld_log(CTLD_LOG_ERROR, "admin", "out of memory");
        return CTLD_ERROR;
    }

    adm->st = st;

    /* compare digests later: equal length, constant time */
    if (EVP_Digest(token, strlen(token), adm->token_hash, NULL,
                   EVP_sha256(), NULL) != 1)
    {
        ctld_log(CTLD_LOG_ERROR, "admin", "sha256 failed");
        goto failed;
    }

    adm->pg = ctld_pg_create(st->base, st->conf.database_url, "admin");
    if (adm->pg == NULL || ctld_admin_listen(adm) != CTLD_OK) {
        goto failed;
    }

    st->admin = adm;

    return CTLD_OK;

failed:

    ctld_admin_free(adm);

    return CTLD_ERROR;
}


static int
ctld_admin_listen(ctld_admin_t *adm)
{
    const char  *host;
    int          port;

    host = adm->st->conf.admin_host ? adm->st->conf.admin_host : "127.0.0.1";
    port = adm->st->conf.admin_port ? adm->st->conf.admin_port : 8081;

    adm->http = evhttp_new(adm->st->base);
    if (adm->http == NULL) {
        ctld_log(CTLD_LOG_ERROR, "admin", "evhttp_new() failed");
        return CTLD_ERROR;
    }

    /*
     * evhttp's own limit only bounds memory (and answers with its own
     * HTML page); bodies between CTLD_ADMIN_BODY_MAX and it get our JSON
     * 413 from ctld_admin_read().
     */
    evhttp_set_allowed_methods(adm->http, CTLD_ADMIN_METHODS);
    evhttp_set_max_body_size(adm->http, CTLD_ADMIN_WIRE_MAX);
    evhttp_set_max_headers_size(adm->http, CTLD_ADMIN_HEADERS_MAX);
    evhttp_set_timeout(adm->http, CTLD_ADMIN_TIMEOUT);
    evhttp_set_gencb(adm->http, ctld_admin_handle, adm);

    if (evhttp_bind_socket_with_handle(adm->http, host, (uint16_t) port)
        == NULL)
    {
        ctld_log(CTLD_LOG_ERROR, "admin", "cannot listen on %s:%d: %s",
                 host, port, strerror(errno));
        return CTLD_ERROR;
    }

    ctld_log(CTLD_LOG_INFO, "admin", "listening on %s:%d", host, port);

    return CTLD_OK;
}


void
ctld_admin_stop(ctld_state_t *st)
{
    if (st->admin == NULL) {
        return;
    }

    ctld_admin_free(st->admin);
    st->admin = NULL;
}


static void
ctld_admin_free(ctld_admin_t *adm)
{
    /* pending queries are answered (503) before their connections go */
    if (adm->pg != NULL) {
        ctld_pg_free(adm->pg);
    }

    if (adm->http != NULL) {
        evhttp_free(adm->http);
    }

    free(adm);
}


static void
ctld_admin_handle(struct evhttp_request *req, void *arg)
{
    ctld_admin_t              *adm = arg;
    ctld_admin_req_t          *ar;
    const ctld_admin_route_t  *route;
    unsigned                   method, allow;
    char                       path[CTLD_ADMIN_PATH_MAX];

    ar = calloc(1, sizeof(ctld_admin_req_t));
    if (ar == NULL) {
        ctld_log(CTLD_LOG_ERROR, "admin", "out of memory");
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }

    ar->adm = adm;
    ar->req = req;
    ar->status = HTTP_OK;
    TAILQ_INIT(&ar->query);

    if (ctld_admin_path(req, path, sizeof(path)) != CTLD_OK) {
        ctld_admin_reply_error(ar, HTTP_BADREQUEST, "invalid-request", NULL,
                               "malformed request path");
        return;
    }

    if (strncmp(path, CTLD_ADMIN_PREFIX, sizeof(CTLD_ADMIN_PREFIX) - 1) == 0
        && (path[sizeof(CTLD_ADMIN_PREFIX) - 1] == '/'
            || path[sizeof(CTLD_ADMIN_PREFIX) - 1] == '\0')
        && !ctld_admin_authorized(adm, req))
    {
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "WWW-Authenticate", "Bearer");
        ctld_admin_reply_error(ar, 401, "unauthorized", NULL,
                               "missing or invalid admin token");
        return;
    }

    method = evhttp_request_get_command(req);
    route = ctld_admin_route(path, method, &allow);

    if (route == NULL) {
        if (allow) {
            ctld_admin_not_allowed(ar, allow);
            return;
        }

        ctld_admin_reply_error(ar, HTTP_NOTFOUND, "not-found", NULL,
                               "no such endpoint");
        return;
    }

    ar->route = route;

    if (ctld_admin_args(ar, path) != CTLD_OK
        || ctld_admin_read(ar) != CTLD_OK)
    {
        return;
    }

    route->handler(ar);
}


/* the URI's path without one trailing '/', still percent-encoded */
static int
ctld_admin_path(struct evhttp_request *req, char *buf, size_t size)
{
    const struct evhttp_uri  *uri;
    const char               *p;
    size_t                    len;

    uri = evhttp_request_get_evhttp_uri(req);
    p = uri ? evhttp_uri_get_path(uri) : NULL;

    if (p == NULL || p[0] != '/') {
        return CTLD_ERROR;
    }

    len = strlen(p);
    if (len >= size) {
        return CTLD_ERROR;
    }

    if (len > 1 && p[len - 1] == '/') {
        len--;
    }

    memcpy(buf, p, len);
    buf[len] = '\0';

    return CTLD_OK;
}


static int
ctld_admin_authorized(ctld_admin_t *adm, struct evhttp_request *req)
{
    const char     *h;
    unsigned char   md[32];

    h = evhttp_find_header(evhttp_request_get_input_headers(req),
                           "Authorization");
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        return 0;
    }

    for (h += 7; *h == ' '; h++) { /* void */ }

    if (EVP_Digest(h, strlen(h), md, NULL, EVP_sha256(), NULL) != 1) {
        return 0;
    }

    return CRYPTO_memcmp(md, adm->token_hash, sizeof(md)) == 0;
}


/* the route for path and method; else NULL and the methods path allows */
static const ctld_admin_route_t *
ctld_admin_route(const char *path, unsigned method, unsigned *allow)
{
    const ctld_admin_route_t  *rt;

    *allow = 0;

    if (method == EVHTTP_REQ_HEAD) {
        method = EVHTTP_REQ_GET;
    }

    for (rt = ctld_admin_routes; rt->pattern != NULL; rt++) {
        if (!ctld_admin_match(rt->pattern, path, NULL)) {
            continue;
        }

        if (rt->methods & method) {
            return rt;
        }

        *allow |= rt->methods;
    }

    return NULL;
}


/* ':' matches one non-empty segment, '*' the non-empty rest of the path */
static int
ctld_admin_match(const char *pat, const char *path, ctld_admin_span_t *caps)
{
    size_t  len, n;

    n = 0;

    while (*pat != '\0') {
        if (*pat == ':' || *pat == '*') {
            len = (*pat == ':') ? strcspn(path, "/") : strlen(path);
            if (len == 0 || n == CTLD_ADMIN_MAX_ARGS) {
                return 0;
            }

            if (caps != NULL) {
                caps[n].p = path;
                caps[n].len = len;
            }

            n++;
            pat++;
            path += len;
            continue;
        }

        if (*pat != *path) {
            return 0;
        }

        pat++;
        path++;
    }

    return *path == '\0';
}


static int
ctld_admin_args(ctld_admin_req_t *ar, const char *path)
{
    ctld_admin_span_t  caps[CTLD_ADMIN_MAX_ARGS];
    char              *raw;
    size_t             i, len;

    memset(caps, 0, sizeof(caps));
    ctld_admin_match(ar->route->pattern, path, caps);

    for (i = 0; i < CTLD_ADMIN_MAX_ARGS && caps[i].p != NULL; i++) {
        raw = strndup(caps[i].p, caps[i].len);
        if (raw == NULL) {
            goto failed;
        }

        ar->args[i] = evhttp_uridecode(raw, 0, &len);
        free(raw);

        if (ar->args[i] == NULL) {
            goto failed;
        }

        /* no NUL, valid UTF-8: it goes to SQL and into messages */
        if (len != strlen(ar->args[i]) || len == 0
            || ctld_admin_utf8_ok(ar->args[i]) != CTLD_OK)
        {
            ctld_admin_reply_error(ar, HTTP_BADREQUEST, "invalid-request",
                                   NULL, "malformed request path");
            return CTLD_ERROR;
        }
    }

    return CTLD_OK;

failed:

    ctld_admin_reply_error(ar, HTTP_INTERNAL, "internal", NULL,
                           "out of memory");
    return CTLD_ERROR;
}


static int
ctld_admin_utf8_ok(const char *s)
{
    json_t  *j;

    j = json_string(s);
    if (j == NULL) {
        return CTLD_ERROR;
    }

    json_decref(j);

    return CTLD_OK;
}


/* the query string and, for POST, PUT and PATCH, the JSON body */
static int
ctld_admin_read(ctld_admin_req_t *ar)
{
    struct evbuffer  *in;
    const char       *q;
    unsigned char    *p;
    size_t            len;
    json_error_t      jerr;

    q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(ar->req));
    if (q != NULL && evhttp_parse_query_str(q, &ar->query) != 0) {
        ctld_admin_reply_error(ar, HTTP_BADREQUEST, "invalid-request", NULL,
                               "malformed query string");
        return CTLD_ERROR;
    }

    in = evhttp_request_get_input_buffer(ar->req);
    len = evbuffer_get_length(in);

    if (len > CTLD_ADMIN_BODY_MAX) {
        ctld_admin_reply_error(ar, 413, "body-too-large", NULL,
                               "request body exceeds %d bytes",
                               CTLD_ADMIN_BODY_MAX);
        return CTLD_ERROR;
    }

    if (len == 0 || !(evhttp_request_get_command(ar->req)
                      & (EVHTTP_REQ_POST | EVHTTP_REQ_PUT
                         | EVHTTP_REQ_PATCH)))
    {
        return CTLD_OK;
    }

    p = evbuffer_pullup(in, -1);
    ar->body = p ? json_loadb((char *) p, len, JSON_REJECT_DUPLICATES, &jerr)
                 : NULL;

    if (ar->body == NULL) {
        ctld_admin_reply_error(ar, HTTP_BADREQUEST, "invalid-request", NULL,
                               "invalid JSON: %s (line %d, column %d)",
                               jerr.text, jerr.line, jerr.column);
        return CTLD_ERROR;
    }

    return CTLD_OK;
}


int
ctld_admin_body(ctld_admin_req_t *ar, unsigned mode)
{
    const ctld_admin_field_t  *fields;
    ctld_admin_err_t           err;

    if (ar->body == NULL || !json_is_object(ar->body)) {
        ctld_admin_reply_error(ar, HTTP_BADREQUEST, "invalid-request", NULL,
                               "request body must be a JSON object");
        return CTLD_ERROR;
    }

    fields = ar->route->res->fields;
    if (mode == CTLD_ADMIN_PATCH && ar->route->res->patch_fields != NULL) {
        fields = ar->route->res->patch_fields;
    }

    if (ctld_admin_validate(ar->body, fields, mode, &err) != CTLD_OK) {
        ctld_admin_reply_err(ar, &err);
        return CTLD_ERROR;
    }

    ar->body_text = json_dumps(ar->body, JSON_COMPACT);
    if (ar->body_text == NULL) {
        ctld_admin_reply_error(ar, HTTP_INTERNAL, "internal", NULL,
                               "out of memory");
        return CTLD_ERROR;
    }

    return CTLD_OK;
}


int
ctld_admin_no_query(ctld_admin_req_t *ar)
{
    struct evkeyval  *kv;

    kv = TAILQ_FIRST(&ar->query);
    if (kv == NULL) {
        return CTLD_OK;
    }

    ctld_admin_reply_error(ar, HTTP_BADREQUEST, "invalid-request", kv->key,
                           "unknown query parameter '%s'", kv->key);
    return CTLD_ERROR;
}


static void
ctld_admin_not_allowed(ctld_admin_req_t *ar, unsigned allow)
{
    const ctld_admin_method_t  *m;
    char                        buf[128];
    size_t                      len;

    if (allow & EVHTTP_REQ_GET) {
        allow |= EVHTTP_REQ_HEAD;
    }

    buf[0] = '\0';
    len = 0;

    for (m = ctld_admin_methods; m->name != NULL; m++) {
        if (allow & m->method) {
            len += snprintf(buf + len, sizeof(buf) - len, "%s%s",
                            len ? ", " : "", m->name);
        }
    }

    evhttp_add_header(evhttp_request_get_output_headers(ar->req), "Allow",
                      buf);
    ctld_admin_reply_error(ar, 405, "method-not-allowed", NULL,
                           "method not allowed; allowed: %s", buf);
}


static void
ctld_admin_healthz(ctld_admin_req_t *ar)
{
    json_t  *json;

    json = json_pack("{s:s, s:b}", "status", "ok", "database",
                     ctld_pg_connected(ar->adm->pg));
    ctld_admin_reply(ar, HTTP_OK, json);
}


static void
ctld_admin_version(ctld_admin_req_t *ar)
{
    json_t  *json;

    json = json_pack("{s:s, s:s, s:s}", "version", CTLD_VERSION,
                     "commit", CTLD_COMMIT, "build_time", CTLD_BUILD_TIME);
    ctld_admin_reply(ar, HTTP_OK, json);
}


const char *
ctld_admin_method_name(unsigned method)
{
    const ctld_admin_method_t  *m;

    for (m = ctld_admin_methods; m->name != NULL; m++) {
        if (m->method == method) {
            return m->name;
        }
    }

    return "?";
}
