/* controld/admin_keys.c: caller keys: issue, list, show, update, revoke. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "admin.h"

#define CTLD_KEY_PREFIX      "sk-sluice-"
#define CTLD_KEY_ID_BYTES    6      /* 12 hex chars, the public id */
#define CTLD_KEY_SECRET      32     /* 64 hex chars */
#define CTLD_KEY_ATTEMPTS    3      /* id or hash collisions: new token */
#define CTLD_KEY_LIST_MAX    10000
#define CTLD_KEY_LIST_LIMIT  "1000"

#define CTLD_TS(col)                                                          \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define CTLD_KEY_JSON                                                         \
    "json_build_object('id', k.id, 'name', k.name, 'user', u.name, "          \
    "'project', p.name, 'environment', k.environment, "                       \
    "'groups', to_json(k.groups), 'status', k.status, "                       \
    "'expires_at', " CTLD_TS("k.expires_at") ", "                             \
    "'created_at', " CTLD_TS("k.created_at") ", "                             \
    "'updated_at', " CTLD_TS("k.updated_at") ", "                             \
    "'revoked_at', " CTLD_TS("k.revoked_at") ") "                             \
    "FROM keys k JOIN users u ON u.id = k.user_id "                           \
    "JOIN projects p ON p.id = k.project_id"

#define CTLD_KEY_GROUPS  "ARRAY(SELECT jsonb_array_elements_text(b->'groups'))"


static int ctld_admin_keys_filters(ctld_admin_req_t *ar,
    const char **params);
static void ctld_admin_keys_insert(ctld_admin_req_t *ar);
static void ctld_admin_keys_inserted(ctld_admin_req_t *ar, PGresult *res);
static void ctld_admin_keys_issued(ctld_admin_req_t *ar, PGresult *res);
static void ctld_admin_keys_updated(ctld_admin_req_t *ar, PGresult *res);
static void ctld_admin_keys_revoked(ctld_admin_req_t *ar, PGresult *res);
static int ctld_admin_keys_token(ctld_admin_req_t *ar, char *hash);
static void ctld_admin_hex(char *out, const unsigned char *p, size_t n);


static const ctld_admin_field_t  ctld_admin_key_fields[] = {
    { "user", CTLD_ADMIN_F_NAME, CTLD_ADMIN_REQUIRED, "._@+-", 128 },
    { "project", CTLD_ADMIN_F_NAME, CTLD_ADMIN_REQUIRED, "._-", 128 },
    { "environment", CTLD_ADMIN_F_NAME, CTLD_ADMIN_REQUIRED, "._-", 64 },
    { "groups", CTLD_ADMIN_F_NAMES, CTLD_ADMIN_REQUIRED | CTLD_ADMIN_STAR,
      "._:/-", 256 },
    { "expires_at", CTLD_ADMIN_F_TIME, CTLD_ADMIN_NULLABLE, NULL, 64 },
    { "name", CTLD_ADMIN_F_STRING, CTLD_ADMIN_NULLABLE, NULL, 128 },
    { "status", CTLD_ADMIN_F_ENUM, 0, "active|disabled", 16 },
    { NULL, 0, 0, NULL, 0 }
};

/* revoking has its own endpoint and is final */
static const ctld_admin_field_t  ctld_admin_key_patch_fields[] = {
    { "status", CTLD_ADMIN_F_ENUM, 0, "active|disabled", 16 },
    { "groups", CTLD_ADMIN_F_NAMES, CTLD_ADMIN_STAR, "._:/-", 256 },
    { "expires_at", CTLD_ADMIN_F_TIME, CTLD_ADMIN_NULLABLE, NULL, 64 },
    { "name", CTLD_ADMIN_F_STRING, CTLD_ADMIN_NULLABLE, NULL, 128 },
    { NULL, 0, 0, NULL, 0 }
};

static const ctld_admin_ref_t  ctld_admin_key_refs[] = {
    { "user_id", "user", "user" },
    { "project_id", "project", "project" },
    { NULL, NULL, NULL }
};

/* sql_list and sql_create are used by this file only */
const ctld_admin_resource_t  ctld_admin_keys = {
    "key",
    ctld_admin_key_fields,
    ctld_admin_key_patch_fields,
    ctld_admin_key_refs,

    "SELECT " CTLD_KEY_JSON
    " WHERE ($1::text IS NULL OR u.name = $1)"
    " AND ($2::text IS NULL OR p.name = $2)"
    " AND ($3::text IS NULL OR k.status = $3)"
    " ORDER BY k.created_at, k.id LIMIT $4::int",

    "SELECT " CTLD_KEY_JSON " WHERE k.id = $1 OR k.id = $2",

    "INSERT INTO keys (id, token_sha256, name, user_id, project_id, "
    "environment, groups, status, expires_at) "
    "SELECT $1, $2, b->>'name', "
    "(SELECT x.id FROM users x WHERE x.name = b->>'user'), "
    "(SELECT x.id FROM projects x WHERE x.name = b->>'project'), "
    "b->>'environment', " CTLD_KEY_GROUPS ", "
    "coalesce(b->>'status', 'active'), (b->>'expires_at')::timestamptz "
    "FROM (SELECT $3::jsonb AS b) s ON CONFLICT DO NOTHING RETURNING id",

    /* o: the key as it was, so a revoked key can be refused */
    "WITH s AS (SELECT $3::jsonb AS b), "
    "o AS (SELECT k.id, k.status FROM keys k WHERE k.id = $1 OR k.id = $2 "
    "FOR UPDATE), "
    "n AS (UPDATE keys k SET "
    "status = CASE WHEN b ? 'status' THEN b->>'status' ELSE k.status END, "
    "groups = CASE WHEN b ? 'groups' THEN " CTLD_KEY_GROUPS
    " ELSE k.groups END, "
    "expires_at = CASE WHEN b ? 'expires_at' "
    "THEN (b->>'expires_at')::timestamptz ELSE k.expires_at END, "
    "name = CASE WHEN b ? 'name' THEN b->>'name' ELSE k.name END "
    "FROM o, s WHERE k.id = o.id AND o.status <> 'revoked' RETURNING k.id) "
    "SELECT o.id, o.status, (SELECT n.id FROM n) FROM o",

    /* sql_delete: revoke; a second revoke keeps the first time */
    "UPDATE keys SET status = 'revoked', "
    "revoked_at = coalesce(revoked_at, now()) "
    "WHERE id = $1 OR id = $2 RETURNING id"
};


void
ctld_admin_keys_list(ctld_admin_req_t *ar)
{
    const char  *params[4];

    if (ctld_admin_keys_filters(ar, params) != CTLD_OK) {
        return;
    }

    ctld_admin_query(ar, ctld_admin_keys.sql_list, 4, params,
                     ctld_admin_reply_rows);
}


/* ?user=&project=&status=&limit= into $1..$4 */
static int
ctld_admin_keys_filters(ctld_admin_req_t *ar, const char **params)
{
    struct evkeyval  *kv;
    const char       *v;
    char             *end;
    long              n;
    int               i;

    static const char  *names[] = { "user", "project", "status", "limit" };

    params[0] = params[1] = params[2] = NULL;
    params[3] = CTLD_KEY_LIST_LIMIT;

    TAILQ_FOREACH(kv, &ar->query, next) {
        for (i = 0; i < 4 && strcmp(kv->key, names[i]) != 0; i++) {
            /* void */
        }

        if (i == 4) {
            ctld_admin_reply_error(ar, HTTP_BADREQUEST, "invalid-request",
                                   kv->key, "unknown query parameter '%s'",
                                   kv->key);
            return CTLD_ERROR;
        }

        v = kv->value;
        params[i] = v;

        if (i == 3) {
            n = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || n < 1
                || n > CTLD_KEY_LIST_MAX)
            {
                ctld_admin_reply_error(ar, HTTP_BADREQUEST,
                                       "invalid-request", "limit",
                                       "'limit' must be 1 to %d",
                                       CTLD_KEY_LIST_MAX);
                return CTLD_ERROR;
            }
        }
    }

    return CTLD_OK;
}


void
ctld_admin_keys_show(ctld_admin_req_t *ar)
{
    const char  *params[2];

    if (ctld_admin_no_query(ar) != CTLD_OK) {
        return;
    }

    params[0] = ar->args[0];
    params[1] = ar->args[0];

    ctld_admin_query(ar, ctld_admin_keys.sql_show, 2, params,
                     ctld_admin_reply_row);
}


void
ctld_admin_keys_create(ctld_admin_req_t *ar)
{
    if (ctld_admin_no_query(ar) != CTLD_OK
        || ctld_admin_body(ar, CTLD_ADMIN_CREATE) != CTLD_OK)
    {
        return;
    }

    ctld_admin_keys_insert(ar);
}


static void
ctld_admin_keys_insert(ctld_admin_req_t *ar)
{
    const char  *params[3];
    char         hash[65];

    if (ctld_admin_keys_token(ar, hash) != CTLD_OK) {
        ctld_admin_reply_error(ar, HTTP_INTERNAL, "internal", NULL,
                               "cannot generate a token");
        return;
    }

    ar->attempts++;
    params[0] = ar->id;
    params[1] = hash;
    params[2] = ar->body_text;

    ctld_admin_query(ar, ctld_admin_keys.sql_create, 3, params,
                     ctld_admin_keys_inserted);
}


static void
ctld_admin_keys_inserted(ctld_admin_req_t *ar, PGresult *res)
{
    const char  *params[2];

    if (PQntuples(res) == 0) {
        /* the id (48 bits) or the hash was taken: draw again */
        if (ar->attempts < CTLD_KEY_ATTEMPTS) {
            ctld_admin_keys_insert(ar);
            return;
        }

        ctld_admin_reply_error(ar, HTTP_INTERNAL, "internal", NULL,
                               "cannot allocate a key id");
        return;
    }

    ctld_log(CTLD_LOG_INFO, "admin", "key %s issued to user %s project %s",
             ar->id, json_string_value(json_object_get(ar->body, "user")),
             json_string_value(json_object_get(ar->body, "project")));

    params[0] = ar->id;
    params[1] = ar->id;

    ctld_admin_query(ar, ctld_admin_keys.sql_show, 2, params,
                     ctld_admin_keys_issued);
}


/* the stored key plus the token, which is never shown again */
static void
ctld_admin_keys_issued(ctld_admin_req_t *ar, PGresult *res)
{
    json_t        *row, *out, *v;
    const char    *name;
    json_error_t   jerr;

    if (PQntuples(res) == 0) {
        ctld_admin_reply_error(ar, HTTP_INTERNAL, "internal", NULL,
                               "the new key vanished");
        return;
    }

    row = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
    out = json_object();

    if (row == NULL || out == NULL
        || json_object_set_new(out, "id", json_string(ar->id)) != 0
        || json_object_set_new(out, "token", json_string(ar->token)) != 0)
    {
        goto failed;
    }

    json_object_foreach(row, name, v) {
        if (strcmp(name, "id") != 0 && json_object_set(out, name, v) != 0) {
            goto failed;
        }
    }

    json_decref(row);
    ctld_admin_reply(ar, 201, out);

    return;

failed:

    json_decref(row);
    json_decref(out);
    ctld_admin_reply_error(ar, HTTP_INTERNAL, "internal", NULL,
                           "out of memory");
}


void
ctld_admin_keys_update(ctld_admin_req_t *ar)
{
    const char  *params[3];

    if (ctld_admin_no_query(ar) != CTLD_OK
        || ctld_admin_body(ar, CTLD_ADMIN_PATCH) != CTLD_OK)
    {
        return;
    }

    params[0] = ar->args[0];
    params[1] = ar->args[0];
    params[2] = ar->body_text;

    ctld_admin_query(ar, ctld_admin_keys.sql_update, 3, params,
                     ctld_admin_keys_updated);
}


static void
ctld_admin_keys_updated(ctld_admin_req_t *ar, PGresult *res)
{
    if (PQntuples(res) == 0) {
        ctld_admin_reply_error(ar, HTTP_NOTFOUND, "not-found", NULL,
                               "key '%s' not found", ar->args[0]);
        return;
    }

    if (PQgetisnull(res, 0, 2)) {
        ctld_admin_reply_error(ar, 409, "conflict", NULL,
                               "key '%s' is revoked", ar->args[0]);
        return;
    }

    snprintf(ar->id, sizeof(ar->id), "%s", PQgetvalue(res, 0, 0));
    ctld_log(CTLD_LOG_INFO, "admin", "key %s updated", ar->id);

    ctld_admin_show_id(ar, HTTP_OK);
}


void
ctld_admin_keys_revoke(ctld_admin_req_t *ar)
{
    const char  *params[2];

    if (ctld_admin_no_query(ar) != CTLD_OK) {
        return;
    }

    params[0] = ar->args[0];
    params[1] = ar->args[0];

    ctld_admin_query(ar, ctld_admin_keys.sql_delete, 2, params,
                     ctld_admin_keys_revoked);
}


static void
ctld_admin_keys_revoked(ctld_admin_req_t *ar, PGresult *res)
{
    if (PQntuples(res) == 0) {
        ctld_admin_reply_error(ar, HTTP_NOTFOUND, "not-found", NULL,
                               "key '%s' not found", ar->args[0]);
        return;
    }

    snprintf(ar->id, sizeof(ar->id), "%s", PQgetvalue(res, 0, 0));
    ctld_log(CTLD_LOG_INFO, "admin", "key %s revoked", ar->id);

    ctld_admin_show_id(ar, HTTP_OK);
}


/*
 * sk-sluice-<12 hex public id>-<64 hex secret> into ar->token, the id
 * into ar->id, sha256(token) as 64 hex into hash.  See docs/CONTRACTS.md.
 */
static int
ctld_admin_keys_token(ctld_admin_req_t *ar, char *hash)
{
    unsigned char  rnd[CTLD_KEY_ID_BYTES + CTLD_KEY_SECRET];
    unsigned char  md[32];
    char          *p;
    int            rc;

    rc = CTLD_ERROR;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ctld_log(CTLD_LOG_ERROR, "admin", "RAND_bytes failed");
        goto failed;
    }

    p = ar->token;
    memcpy(p, CTLD_KEY_PREFIX, sizeof(CTLD_KEY_PREFIX) - 1);
    p += sizeof(CTLD_KEY_PREFIX) - 1;

    ctld_admin_hex(p, rnd, CTLD_KEY_ID_BYTES);
    memcpy(ar->id, p, 2 * CTLD_KEY_ID_BYTES + 1);
    p += 2 * CTLD_KEY_ID_BYTES;
    *p++ = '-';
    ctld_admin_hex(p, rnd + CTLD_KEY_ID_BYTES, CTLD_KEY_SECRET);

    if (EVP_Digest(ar->token, strlen(ar->token), md, NULL, EVP_sha256(),
                   NULL) != 1)
    {
        ctld_log(CTLD_LOG_ERROR, "admin", "sha256 failed");
        goto failed;
    }

    ctld_admin_hex(hash, md, sizeof(md));
    rc = CTLD_OK;

failed:

    OPENSSL_cleanse(rnd, sizeof(rnd));

    return rc;
}


/* 2n lowercase hex digits and a NUL */
static void
ctld_admin_hex(char *out, const unsigned char *p, size_t n)
{
    static const char  digits[] = "0123456789abcdef";
    size_t             i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }

    out[2 * n] = '\0';
}
