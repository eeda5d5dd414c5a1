/* controld/admin_reply.c: replies and query plumbing of admin handlers. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include "admin.h"


static void ctld_admin_query_done(PGresult *res, void *arg);
static void ctld_admin_req_free(ctld_admin_req_t *ar);


void
ctld_admin_query(ctld_admin_req_t *ar, const char *sql, int n,
    const char *const *params, ctld_admin_result_pt cb)
{
    ar->next = cb;

    /* fail fast: an admin call should not wait out a reconnect */
    if (!ctld_pg_connected(ar->adm->pg)
        || ctld_pg_query(ar->adm->pg, sql, n, params, ctld_admin_query_done,
                         ar) != CTLD_OK)
    {
        evhttp_add_header(evhttp_request_get_output_headers(ar->req),
                          "Retry-After", "1");
        ctld_admin_reply_error(ar, HTTP_SERVUNAVAIL, "unavailable", NULL,
                               "database unavailable");
    }
}


static void
ctld_admin_query_done(PGresult *res, void *arg)
{
    ctld_admin_req_t  *ar = arg;
    ctld_admin_err_t   err;
    ExecStatusType     rc;

    if (res == NULL) {
        ctld_admin_reply_error(ar, HTTP_SERVUNAVAIL, "unavailable", NULL,
                               "database unavailable");
        return;
    }

    rc = PQresultStatus(res);
    if (rc == PGRES_TUPLES_OK || rc == PGRES_COMMAND_OK) {
        ar->next(ar, res);
        return;
    }

    ctld_admin_pg_error(ar->route->res, ar->body, ar->args[0], res, &err);
    ctld_admin_reply_err(ar, &err);
}


void
ctld_admin_reply_row(ctld_admin_req_t *ar, PGresult *res)
{
    json_t        *json;
    json_error_t   jerr;

    if (PQntuples(res) == 0) {
        ctld_admin_reply_error(ar, HTTP_NOTFOUND, "not-found", NULL,
                               "%s '%s' not found", ar->route->res->noun,
                               ar->args[0] ? ar->args[0] : "");
        return;
    }

    json = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
    ctld_admin_reply(ar, ar->status, json);
}


void
ctld_admin_reply_rows(ctld_admin_req_t *ar, PGresult *res)
{
    json_t        *data, *item;
    json_error_t   jerr;
    int            i, n;

    data = json_array();
    n = PQntuples(res);

    for (i = 0; data != NULL && i < n; i++) {
        item = json_loads(PQgetvalue(res, i, 0), 0, &jerr);
        if (item == NULL || json_array_append_new(data, item) != 0) {
            json_decref(data);
            data = NULL;
        }
    }

    ctld_admin_reply(ar, HTTP_OK, data ? json_pack("{s:o}", "data", data)
                                       : NULL);
}


void
ctld_admin_reply_error(ctld_admin_req_t *ar, int status, const char *type,
    const char *field, const char *fmt, ...)
{
    ctld_admin_err_t  err;
    va_list           args;

    va_start(args, fmt);
    vsnprintf(err.message, sizeof(err.message), fmt, args);
    va_end(args);

    err.status = status;
    err.type = type;
    err.field = field;

    ctld_admin_reply_err(ar, &err);
}


void
ctld_admin_reply_err(ctld_admin_req_t *ar, const ctld_admin_err_t *err)
{
    ctld_log(err->status >= 500 ? CTLD_LOG_ERROR : CTLD_LOG_INFO, "admin",
             "%s %s: %d %s", ctld_admin_method_name(
                 evhttp_request_get_command(ar->req)),
             evhttp_request_get_uri(ar->req), err->status, err->message);

    ctld_admin_reply(ar, err->status,
                     ctld_admin_error_json(err->type, err->message,
                                           err->field));
}


/*
 * Sends status with json (stolen; NULL with status 204 means no body,
 * NULL otherwise means we ran out of memory) and frees ar.
 */
void
ctld_admin_reply(ctld_admin_req_t *ar, int status, json_t *json)
{
    struct evkeyvalq  *h;
    struct evbuffer   *buf;
    char              *text;

    h = evhttp_request_get_output_headers(ar->req);
    evhttp_add_header(h, "Cache-Control", "no-store");

    text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    buf = evbuffer_new();
    json_decref(json);

    if (buf == NULL || (text == NULL && status != 204)) {
        ctld_log(CTLD_LOG_ERROR, "admin", "cannot build a reply");
        evhttp_send_error(ar->req, HTTP_INTERNAL, NULL);
        goto failed;
    }

    if (text != NULL) {
        evhttp_add_header(h, "Content-Type", "application/json");
        evbuffer_add(buf, text, strlen(text));
        evbuffer_add(buf, "\n", 1);
    }

    ctld_log(CTLD_LOG_DEBUG, "admin", "%s %s %d",
             ctld_admin_method_name(evhttp_request_get_command(ar->req)),
             evhttp_request_get_uri(ar->req), status);

    evhttp_send_reply(ar->req, status, NULL, buf);

failed:

    if (buf != NULL) {
        evbuffer_free(buf);
    }

    free(text);
    ctld_admin_req_free(ar);
}


static void
ctld_admin_req_free(ctld_admin_req_t *ar)
{
    size_t  i;

    for (i = 0; i < CTLD_ADMIN_MAX_ARGS; i++) {
        free(ar->args[i]);
    }

    evhttp_clear_headers(&ar->query);
    json_decref(ar->body);
    free(ar->body_text);
    OPENSSL_cleanse(ar->token, sizeof(ar->token));
    free(ar);
}
