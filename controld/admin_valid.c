/* controld/admin_valid.c: validation of admin API request bodies. */

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <event2/http.h>
#include "admin.h"


static const ctld_admin_field_t *ctld_admin_field(
    const ctld_admin_field_t *fields, const char *name);
static int ctld_admin_value(const ctld_admin_field_t *f, json_t *v,
    ctld_admin_err_t *err);
static int ctld_admin_string(const ctld_admin_field_t *f, const char *s,
    ctld_admin_err_t *err);
static int ctld_admin_wildcard_ok(const char *s, const char *extra);
static int ctld_admin_names(const ctld_admin_field_t *f, json_t *v,
    ctld_admin_err_t *err);
static int ctld_admin_enum_ok(const char *s, const char *list);
static int ctld_admin_url_ok(const char *s);
static int ctld_admin_line_ok(const char *s);
static int ctld_admin_digits(const char *s, size_t n, int lo, int hi);
static int ctld_admin_leap_ok(const char *s);
static int ctld_admin_fail(ctld_admin_err_t *err, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));


/*
 * Checks every member of body against fields: no unknown member, the
 * right JSON type, the schema's CHECK constraints (so errors can name the
 * field), required members on create, at least one member on patch.
 */
int
ctld_admin_validate(json_t *body, const ctld_admin_field_t *fields,
    unsigned mode, ctld_admin_err_t *err)
{
    const ctld_admin_field_t  *f;
    const char                *name;
    json_t                    *v;

    json_object_foreach(body, name, v) {
        f = ctld_admin_field(fields, name);
        if (f == NULL) {
            return ctld_admin_fail(err, name, "unknown field '%s'", name);
        }

        if (ctld_admin_value(f, v, err) != CTLD_OK) {
            return CTLD_ERROR;
        }
    }

    if (mode == CTLD_ADMIN_PATCH && json_object_size(body) == 0) {
        return ctld_admin_fail(err, NULL, "no fields to update");
    }

    for (f = fields; mode == CTLD_ADMIN_CREATE && f->name != NULL; f++) {
        if ((f->flags & CTLD_ADMIN_REQUIRED)
            && json_object_get(body, f->name) == NULL)
        {
            return ctld_admin_fail(err, f->name, "field '%s' is required",
                                   f->name);
        }
    }

    return CTLD_OK;
}


static const ctld_admin_field_t *
ctld_admin_field(const ctld_admin_field_t *fields, const char *name)
{
    for ( /* void */ ; fields->name != NULL; fields++) {
        if (strcmp(fields->name, name) == 0) {
            return fields;
        }
    }

    return NULL;
}


static int
ctld_admin_value(const ctld_admin_field_t *f, json_t *v,
    ctld_admin_err_t *err)
{
    json_int_t  i;

    if (json_is_null(v) && (f->flags & CTLD_ADMIN_NULLABLE)) {
        return CTLD_OK;
    }

    switch (f->type) {

    case CTLD_ADMIN_F_UINT:
        if (!json_is_integer(v)) {
            return ctld_admin_fail(err, f->name, "'%s' must be an integer",
                                   f->name);
        }

        i = json_integer_value(v);
        if (i < 0 || i > INT32_MAX) {
            return ctld_admin_fail(err, f->name,
                                   "'%s' must be between 0 and %d",
                                   f->name, INT32_MAX);
        }

        return CTLD_OK;

    case CTLD_ADMIN_F_OBJECT:
        if (!json_is_object(v)) {
            return ctld_admin_fail(err, f->name, "'%s' must be an object",
                                   f->name);
        }

        return CTLD_OK;

    case CTLD_ADMIN_F_NAMES:
        return ctld_admin_names(f, v, err);

    default:
        if (!json_is_string(v)) {
            return ctld_admin_fail(err, f->name, "'%s' must be a string",
                                   f->name);
        }

        return ctld_admin_string(f, json_string_value(v), err);
    }
}


static int
ctld_admin_string(const ctld_admin_field_t *f, const char *s,
    ctld_admin_err_t *err)
{
    int  ok;

    if (strlen(s) > f->max) {
        return ctld_admin_fail(err, f->name,
                               "'%s' is longer than %zu bytes",
                               f->name, f->max);
    }

    switch (f->type) {
    case CTLD_ADMIN_F_NAME:
        ok = ctld_admin_name_ok(s, f->extra, f->max);
        break;
    case CTLD_ADMIN_F_ENUM:
        ok = ctld_admin_enum_ok(s, f->extra);
        break;
    case CTLD_ADMIN_F_URL:
        ok = ctld_admin_url_ok(s);
        break;
    case CTLD_ADMIN_F_TIME:
        ok = ctld_admin_time_ok(s);
        break;
    case CTLD_ADMIN_F_TEXT:
        ok = 1;
        break;
    default:
        ok = s[0] != '\0' && ctld_admin_line_ok(s);
        break;
    }

    if (ok) {
        return CTLD_OK;
    }

    switch (f->type) {
    case CTLD_ADMIN_F_NAME:
        return ctld_admin_fail(err, f->name,
                               "'%s' must be 1 to %zu characters from "
                               "A-Z a-z 0-9 %s", f->name, f->max, f->extra);
    case CTLD_ADMIN_F_ENUM:
        return ctld_admin_fail(err, f->name, "'%s' must be one of %s",
                               f->name, f->extra);
    case CTLD_ADMIN_F_URL:
        return ctld_admin_fail(err, f->name,
                               "'%s' must be an http:// or https:// URL "
                               "with a host", f->name);
    case CTLD_ADMIN_F_TIME:
        return ctld_admin_fail(err, f->name,
                               "'%s' must be an RFC 3339 time such as "
                               "2027-01-31T00:00:00Z", f->name);
    default:
        return ctld_admin_fail(err, f->name,
                               "'%s' must be non-empty, without control "
                               "characters", f->name);
    }
}


/* "*" or "prefix*": the module's allow-list wildcards */
static int
ctld_admin_wildcard_ok(const char *s, const char *extra)
{
    char    prefix[129];
    size_t  len;

    len = strlen(s);

    if (len == 0 || len > 128 || s[len - 1] != '*') {
        return 0;
    }

    if (len == 1) {
        return 1;
    }

    memcpy(prefix, s, len - 1);
    prefix[len - 1] = '\0';

    return ctld_admin_name_ok(prefix, extra, 127);
}


static int
ctld_admin_names(const ctld_admin_field_t *f, json_t *v,
    ctld_admin_err_t *err)
{
    json_t      *item;
    const char  *s;
    size_t       i, j;

    if (!json_is_array(v) || json_array_size(v) > f->max) {
        return ctld_admin_fail(err, f->name,
                               "'%s' must be an array of at most %zu names",
                               f->name, f->max);
    }

    json_array_foreach(v, i, item) {
        s = json_string_value(item);

        if (s == NULL
            || !(ctld_admin_name_ok(s, f->extra, 128)
                 || ((f->flags & CTLD_ADMIN_STAR)
                     && ctld_admin_wildcard_ok(s, f->extra))))
        {
            return ctld_admin_fail(err, f->name,
                                   "'%s' item %zu must be a name of 1 to "
                                   "128 characters from A-Z a-z 0-9 %s%s",
                                   f->name, i, f->extra,
                                   (f->flags & CTLD_ADMIN_STAR)
                                   ? ", \"*\" or a prefix ending in \"*\""
                                   : "");
        }

        for (j = 0; j < i; j++) {
            if (strcmp(s, json_string_value(json_array_get(v, j))) == 0) {
                return ctld_admin_fail(err, f->name,
                                       "'%s' lists '%s' twice", f->name, s);
            }
        }
    }

    return CTLD_OK;
}


int
ctld_admin_name_ok(const char *s, const char *extra, size_t max)
{
    size_t  len;

    len = strlen(s);
    if (len == 0 || len > max) {
        return 0;
    }

    for ( /* void */ ; *s != '\0'; s++) {
        if (!isalnum((unsigned char) *s) && strchr(extra, *s) == NULL) {
            return 0;
        }
    }

    return 1;
}


static int
ctld_admin_enum_ok(const char *s, const char *list)
{
    size_t  len;

    len = strlen(s);

    while (*list != '\0') {
        if (strncmp(list, s, len) == 0
            && (list[len] == '|' || list[len] == '\0')
            && len > 0)
        {
            return 1;
        }

        list += strcspn(list, "|");
        if (*list == '|') {
            list++;
        }
    }

    return 0;
}


/* http(s)://host[:port][/path]: what sync can resolve and split */
static int
ctld_admin_url_ok(const char *s)
{
    struct evhttp_uri  *uri;
    const char         *scheme, *host;
    int                 ok;

    if (!ctld_admin_line_ok(s)
        || (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0))
    {
        return 0;
    }

    uri = evhttp_uri_parse_with_flags(s, 0);
    if (uri == NULL) {
        return 0;
    }

    scheme = evhttp_uri_get_scheme(uri);
    host = evhttp_uri_get_host(uri);

    ok = scheme != NULL && host != NULL && host[0] != '\0'
         && evhttp_uri_get_userinfo(uri) == NULL
         && evhttp_uri_get_query(uri) == NULL
         && evhttp_uri_get_fragment(uri) == NULL;

    evhttp_uri_free(uri);

    return ok;
}


/* no control characters at all: TAB and LF separate the policy table */
static int
ctld_admin_line_ok(const char *s)
{
    for ( /* void */ ; *s != '\0'; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f) {
            return 0;
        }
    }

    return 1;
}


/* RFC 3339: 2027-01-31T12:00:00[.frac](Z|+hh:mm|-hh:mm) */
int
ctld_admin_time_ok(const char *s)
{
    const char        *p;

    static const int  mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };

    if (strlen(s) < 20
        || !ctld_admin_digits(s, 4, 1, 9999) || s[4] != '-'
        || !ctld_admin_digits(s + 5, 2, 1, 12) || s[7] != '-'
        || !ctld_admin_digits(s + 8, 2, 1, mdays[(s[5] - '0') * 10
                                                 + (s[6] - '0') - 1])
        || !ctld_admin_leap_ok(s)
        || (s[10] != 'T' && s[10] != 't')
        || !ctld_admin_digits(s + 11, 2, 0, 23) || s[13] != ':'
        || !ctld_admin_digits(s + 14, 2, 0, 59) || s[16] != ':'
        || !ctld_admin_digits(s + 17, 2, 0, 60))
    {
        return 0;
    }

    p = s + 19;

    if (*p == '.') {
        if (!isdigit((unsigned char) p[1])) {
            return 0;
        }

        for (p++; isdigit((unsigned char) *p); p++) { /* void */ }
    }

    if (*p == 'Z' || *p == 'z') {
        return p[1] == '\0';
    }

    return (*p == '+' || *p == '-')
           && ctld_admin_digits(p + 1, 2, 0, 23) && p[3] == ':'
           && ctld_admin_digits(p + 4, 2, 0, 59) && p[6] == '\0';
}


/* February 29th only in leap years; s is "YYYY-MM-DD..." */
static int
ctld_admin_leap_ok(const char *s)
{
    int  y;

    if (strncmp(s + 5, "02-29", 5) != 0) {
        return 1;
    }

    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10
        + (s[3] - '0');

    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}


static int
ctld_admin_digits(const char *s, size_t n, int lo, int hi)
{
    int     v;
    size_t  i;

    v = 0;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char) s[i])) {
            return 0;
        }

        v = v * 10 + (s[i] - '0');
    }

    return v >= lo && v <= hi;
}


static int
ctld_admin_fail(ctld_admin_err_t *err, const char *field, const char *fmt,
    ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, args);
    va_end(args);

    err->status = HTTP_BADREQUEST;
    err->type = "invalid-request";
    err->field = field;

    return CTLD_ERROR;
}
