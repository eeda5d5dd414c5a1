/* controld/admin_error.c: admin API error envelopes and SQLSTATE mapping. */

#include <stdio.h>
#include <string.h>
#include <event2/http.h>
#include "admin.h"


static json_t *ctld_admin_text(const char *s);
static const char *ctld_admin_constraint_field(
    const ctld_admin_resource_t *rsc, const char *constraint,
    const char *table, const char *suffix);
static const char *ctld_admin_body_string(json_t *body, const char *field);
static void ctld_admin_set(ctld_admin_err_t *err, int status,
    const char *type, const char *field);


/* {"error":{"type":...,"message":...,"field":...}}; NULL without memory */
json_t *
ctld_admin_error_json(const char *type, const char *message,
    const char *field)
{
    json_t  *e;

    e = json_object();
    if (e == NULL) {
        return NULL;
    }

    if (json_object_set_new(e, "type", json_string(type)) != 0
        || json_object_set_new(e, "message", ctld_admin_text(message)) != 0
        || (field != NULL
            && json_object_set_new(e, "field", ctld_admin_text(field)) != 0))
    {
        json_decref(e);
        return NULL;
    }

    return json_pack("{s:o}", "error", e);
}


/* a JSON string even when s (say, from a URL) is not valid UTF-8 */
static json_t *
ctld_admin_text(const char *s)
{
    json_t  *j;
    char     buf[256];
    size_t   i;

    j = json_string(s);
    if (j != NULL) {
        return j;
    }

    for (i = 0; s[i] != '\0' && i < sizeof(buf) - 1; i++) {
        buf[i] = ((unsigned char) s[i] < 0x80) ? s[i] : '?';
    }

    buf[i] = '\0';

    return json_string(buf);
}


/*
 * Maps a failed statement to the client's error.  Integrity violations
 * are the client's (the schema's constraints back up the validation);
 * connection trouble is 503; anything else is ours and logged.
 */
void
ctld_admin_pg_error(const ctld_admin_resource_t *rsc, json_t *body,
    const char *subject, PGresult *res, ctld_admin_err_t *err)
{
    const char  *state, *cons, *table, *column, *field, *noun, *value;

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    table = PQresultErrorField(res, PG_DIAG_TABLE_NAME);
    column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
    noun = rsc ? rsc->noun : "object";

    if (state == NULL) {
        state = "XX000";
    }

    if (strcmp(state, "23505") == 0) {
        field = ctld_admin_constraint_field(rsc, cons, table, "_key");
        value = ctld_admin_body_string(body, field);
        ctld_admin_set(err, 409, "conflict", field);
        snprintf(err->message, sizeof(err->message),
                 "%s '%s' already exists", noun, value ? value : "");

    } else if (strcmp(state, "23502") == 0) {
        ctld_admin_ref_error(rsc, body, column, NULL, err);

    } else if (strcmp(state, "23503") == 0) {
        ctld_admin_set(err, 409, "conflict", NULL);
        snprintf(err->message, sizeof(err->message),
                 "%s '%s' is still referenced by %s", noun,
                 subject ? subject : "", table ? table : "other rows");

    } else if (strcmp(state, "23514") == 0) {
        field = ctld_admin_constraint_field(rsc, cons, table, "_check");
        ctld_admin_set(err, HTTP_BADREQUEST, "invalid-request", field);
        snprintf(err->message, sizeof(err->message),
                 "invalid value for '%s'", field ? field : "?");

    } else if (strncmp(state, "22", 2) == 0) {
        ctld_admin_set(err, HTTP_BADREQUEST, "invalid-request", NULL);
        snprintf(err->message, sizeof(err->message), "invalid value: %s",
                 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));

    } else if (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0
               || strncmp(state, "53", 2) == 0
               || strncmp(state, "40", 2) == 0)
    {
        ctld_admin_set(err, HTTP_SERVUNAVAIL, "unavailable", NULL);
        snprintf(err->message, sizeof(err->message),
                 "database unavailable, retry");

    } else {
        ctld_log(CTLD_LOG_ERROR, "admin", "query failed: %s %s", state,
                 PQresultErrorMessage(res));
        ctld_admin_set(err, HTTP_INTERNAL, "internal", NULL);
        snprintf(err->message, sizeof(err->message), "database error");
    }
}


/* a NULL in column means the name the client gave for it is unknown */
void
ctld_admin_ref_error(const ctld_admin_resource_t *rsc, json_t *body,
    const char *column, const char *value, ctld_admin_err_t *err)
{
    const ctld_admin_ref_t  *ref;

    ref = rsc ? rsc->refs : NULL;

    for ( /* void */ ; ref != NULL && ref->column != NULL; ref++) {
        if (column != NULL && strcmp(ref->column, column) == 0) {
            break;
        }
    }

    if (ref == NULL || ref->column == NULL) {
        ctld_admin_set(err, HTTP_BADREQUEST, "invalid-request", NULL);
        snprintf(err->message, sizeof(err->message),
                 "'%s' must not be null", column ? column : "?");
        return;
    }

    ctld_admin_set(err, HTTP_BADREQUEST, "invalid-request", ref->field);

    if (value == NULL) {
        value = ctld_admin_body_string(body, ref->field);
    }

    snprintf(err->message, sizeof(err->message), "%s '%s' does not exist",
             ref->noun, value ? value : "");
}


/* "providers_base_url_check" -> the field "base_url" of the resource */
static const char *
ctld_admin_constraint_field(const ctld_admin_resource_t *rsc,
    const char *constraint, const char *table, const char *suffix)
{
    const ctld_admin_field_t  *f;
    size_t                     tlen, slen, clen, flen;

    if (rsc == NULL || constraint == NULL || table == NULL) {
        return NULL;
    }

    tlen = strlen(table);
    slen = strlen(suffix);
    clen = strlen(constraint);

    if (clen <= tlen + 1 + slen || strncmp(constraint, table, tlen) != 0
        || constraint[tlen] != '_'
        || strcmp(constraint + clen - slen, suffix) != 0)
    {
        return NULL;
    }

    flen = clen - tlen - 1 - slen;

    for (f = rsc->fields; f->name != NULL; f++) {
        if (strlen(f->name) == flen
            && strncmp(f->name, constraint + tlen + 1, flen) == 0)
        {
            return f->name;
        }
    }

    return NULL;
}


static const char *
ctld_admin_body_string(json_t *body, const char *field)
{
    if (body == NULL || field == NULL) {
        return NULL;
    }

    return json_string_value(json_object_get(body, field));
}


static void
ctld_admin_set(ctld_admin_err_t *err, int status, const char *type,
    const char *field)
{
    err->status = status;
    err->type = type;
    err->field = field;
    err->message[0] = '\0';
}
