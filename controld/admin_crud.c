/* controld/admin_crud.c: list, show, create, update, delete any resource. */

#include <stdio.h>
#include <string.h>
#include <event2/http.h>
#include "admin.h"

#define CTLD_ADMIN_ID_DIGITS  18    /* fits a bigint */


static void ctld_admin_item_params(ctld_admin_req_t *ar,
    const char **params);
static void ctld_admin_crud_written(ctld_admin_req_t *ar, PGresult *res);
static void ctld_admin_crud_deleted(ctld_admin_req_t *ar, PGresult *res);


void
ctld_admin_crud_list(ctld_admin_req_t *ar)
{
    if (ctld_admin_no_query(ar) != CTLD_OK) {
        return;
    }

    ctld_admin_query(ar, ar->route->res->sql_list, 0, NULL,
                     ctld_admin_reply_rows);
}


void
ctld_admin_crud_show(ctld_admin_req_t *ar)
{
    const char  *params[2];

    if (ctld_admin_no_query(ar) != CTLD_OK) {
        return;
    }

    ctld_admin_item_params(ar, params);
    ctld_admin_query(ar, ar->route->res->sql_show, 2, params,
                     ctld_admin_reply_row);
}


void
ctld_admin_crud_create(ctld_admin_req_t *ar)
{
    const char  *params[1];

    if (ctld_admin_no_query(ar) != CTLD_OK
        || ctld_admin_body(ar, CTLD_ADMIN_CREATE) != CTLD_OK)
    {
        return;
    }

    params[0] = ar->body_text;
    ar->status = 201;

    ctld_admin_query(ar, ar->route->res->sql_create, 1, params,
                     ctld_admin_crud_written);
}


void
ctld_admin_crud_update(ctld_admin_req_t *ar)
{
    const char  *params[3];

    if (ctld_admin_no_query(ar) != CTLD_OK
        || ctld_admin_body(ar, CTLD_ADMIN_PATCH) != CTLD_OK)
    {
        return;
    }

    ctld_admin_item_params(ar, params);
    params[2] = ar->body_text;

    ctld_admin_query(ar, ar->route->res->sql_update, 3, params,
                     ctld_admin_crud_written);
}


void
ctld_admin_crud_delete(ctld_admin_req_t *ar)
{
    const char  *params[2];

    if (ctld_admin_no_query(ar) != CTLD_OK) {
        return;
    }

    ctld_admin_item_params(ar, params);
    ctld_admin_query(ar, ar->route->res->sql_delete, 2, params,
                     ctld_admin_crud_deleted);
}


/* shows the row a write returned, so every reply has one shape */
void
ctld_admin_show_id(ctld_admin_req_t *ar, int status)
{
    const char  *params[2];

    params[0] = ar->id;
    params[1] = ar->id;
    ar->status = status;

    ctld_admin_query(ar, ar->route->res->sql_show, 2, params,
                     ctld_admin_reply_row);
}


/* $1: the segment when it can be an id, $2: the segment as a name */
static void
ctld_admin_item_params(ctld_admin_req_t *ar, const char **params)
{
    const char  *seg;
    size_t       len;

    seg = ar->args[0];
    len = strlen(seg);

    params[0] = (len <= CTLD_ADMIN_ID_DIGITS
                 && strspn(seg, "0123456789") == len) ? seg : NULL;
    params[1] = seg;
}


static void
ctld_admin_crud_written(ctld_admin_req_t *ar, PGresult *res)
{
    ctld_admin_err_t  err;

    /* column 1, when there, names the first reference that is unknown */
    if (PQntuples(res) > 0 && PQnfields(res) > 1 && !PQgetisnull(res, 0, 1)) {
        ctld_admin_ref_error(ar->route->res, ar->body, PQfname(res, 1),
                             PQgetvalue(res, 0, 1), &err);
        ctld_admin_reply_err(ar, &err);
        return;
    }

    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        ctld_admin_reply_error(ar, HTTP_NOTFOUND, "not-found", NULL,
                               "%s '%s' not found", ar->route->res->noun,
                               ar->args[0] ? ar->args[0] : "");
        return;
    }

    snprintf(ar->id, sizeof(ar->id), "%s", PQgetvalue(res, 0, 0));

    ctld_log(CTLD_LOG_INFO, "admin", "%s %s %s",
             ar->route->res->noun, ar->status == 201 ? "created" : "updated",
             ar->id);

    ctld_admin_show_id(ar, ar->status);
}


static void
ctld_admin_crud_deleted(ctld_admin_req_t *ar, PGresult *res)
{
    if (PQntuples(res) == 0) {
        ctld_admin_reply_error(ar, HTTP_NOTFOUND, "not-found", NULL,
                               "%s '%s' not found", ar->route->res->noun,
                               ar->args[0]);
        return;
    }

    ctld_log(CTLD_LOG_INFO, "admin", "%s deleted %s", ar->route->res->noun,
             PQgetvalue(res, 0, 0));

    ctld_admin_reply(ar, 204, NULL);
}
