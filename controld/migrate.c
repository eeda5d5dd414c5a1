/* controld/migrate.c: applies sql/NNN_*.sql in order, once each (blocking). */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#include "controld.h"


/* the advisory lock key is "sluice" in ASCII: one migrator at a time */
#define CTLD_MIGRATE_LOCK_SQL                                                 \
    "SELECT pg_advisory_lock(x'736c75696365'::bigint)"

#define CTLD_MIGRATE_TABLE_SQL                                                \
    "CREATE TABLE IF NOT EXISTS schema_migrations ("                          \
    " version text PRIMARY KEY,"                                              \
    " applied_at timestamptz NOT NULL DEFAULT now())"


static int ctld_migrate_filter(const struct dirent *de);
static int ctld_migrate_version_cmp(const char *a, const char *b);
static int ctld_migrate_file(PGconn *conn, const char *dir,
    const char *file);
static int ctld_migrate_applied(PGconn *conn, const char *version);
static int ctld_migrate_exec(PGconn *conn, const char *sql, int nparams,
    const char *const *params, const char *what);
static char *ctld_migrate_read(const char *path);


int
ctld_migrate_run(const char *database_url, const char *sql_dir)
{
    PGconn          *conn;
    struct dirent  **files;
    int              n, i, rc;

    files = NULL;
    n = 0;
    rc = CTLD_ERROR;

    conn = PQconnectdb(database_url);
    if (PQstatus(conn) != CONNECTION_OK) {
        ctld_log(CTLD_LOG_ERROR, "migrate", "cannot connect: %.*s",
                 (int) strcspn(PQerrorMessage(conn), "\n"),
                 PQerrorMessage(conn));
        goto failed;
    }

    n = scandir(sql_dir, &files, ctld_migrate_filter, alphasort);
    if (n < 0) {
        ctld_log(CTLD_LOG_ERROR, "migrate", "cannot read %s: %s", sql_dir,
                 strerror(errno));
        goto failed;
    }

    if (ctld_migrate_exec(conn, "SET client_min_messages = warning", 0,
                          NULL, "setup") != CTLD_OK
        || ctld_migrate_exec(conn, CTLD_MIGRATE_LOCK_SQL, 0, NULL, "lock")
           != CTLD_OK
        || ctld_migrate_exec(conn, CTLD_MIGRATE_TABLE_SQL, 0, NULL,
                             "schema_migrations") != CTLD_OK)
    {
        goto failed;
    }

    for (i = 0; i < n; i++) {
        if (i > 0 && ctld_migrate_version_cmp(files[i - 1]->d_name,
                                              files[i]->d_name) == 0)
        {
            ctld_log(CTLD_LOG_ERROR, "migrate", "%s and %s share a version",
                     files[i - 1]->d_name, files[i]->d_name);
            goto failed;
        }

        if (ctld_migrate_file(conn, sql_dir, files[i]->d_name) != CTLD_OK) {
            goto failed;
        }
    }

    ctld_log(CTLD_LOG_INFO, "migrate", "schema up to date (%d files in %s)",
             n, sql_dir);
    rc = CTLD_OK;

failed:

    for (i = 0; i < n; i++) {
        free(files[i]);
    }

    free(files);

    /* closing the session releases the advisory lock */
    PQfinish(conn);
    return rc;
}


/* NNN_name.sql, three digits or more */
static int
ctld_migrate_filter(const struct dirent *de)
{
    const char  *p;
    size_t       len;

    for (p = de->d_name; isdigit((unsigned char) *p); p++) {
        /* void */
    }

    len = strlen(de->d_name);

    return p - de->d_name >= 3 && *p == '_' && len > 4
           && strcmp(de->d_name + len - 4, ".sql") == 0;
}


static int
ctld_migrate_version_cmp(const char *a, const char *b)
{
    size_t  la, lb;

    la = strspn(a, "0123456789");
    lb = strspn(b, "0123456789");

    return (la == lb) ? memcmp(a, b, la) : 1;
}


static int
ctld_migrate_file(PGconn *conn, const char *dir, const char *file)
{
    char             version[32], path[4096];
    char            *sql;
    const char      *params[1];
    size_t           len;
    int              rc;
    struct timespec  t0, t1;

    sql = NULL;
    rc = CTLD_ERROR;

    len = strspn(file, "0123456789");
    if (len >= sizeof(version)) {
        ctld_log(CTLD_LOG_ERROR, "migrate", "%s: bad version", file);
        goto failed;
    }

    memcpy(version, file, len);
    version[len] = '\0';
    params[0] = version;

    rc = ctld_migrate_applied(conn, version);
    if (rc != CTLD_AGAIN) {
        goto failed;                /* applied already, or an error */
    }

    rc = CTLD_ERROR;
    snprintf(path, sizeof(path), "%s/%s", dir, file);

    sql = ctld_migrate_read(path);
    if (sql == NULL) {
        goto failed;
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);

    if (ctld_migrate_exec(conn, "BEGIN", 0, NULL, file) != CTLD_OK) {
        goto failed;
    }

    if (ctld_migrate_exec(conn, sql, 0, NULL, file) != CTLD_OK
        || ctld_migrate_exec(conn, "INSERT INTO schema_migrations (version)"
                             " VALUES ($1)", 1, params, file) != CTLD_OK
        || ctld_migrate_exec(conn, "COMMIT", 0, NULL, file) != CTLD_OK)
    {
        (void) ctld_migrate_exec(conn, "ROLLBACK", 0, NULL, file);
        goto failed;
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);
    ctld_log(CTLD_LOG_INFO, "migrate", "applied %s in %ld ms", file,
             (long) ((t1.tv_sec - t0.tv_sec) * 1000
                     + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    rc = CTLD_OK;

failed:

    free(sql);
    return rc;
}


/* CTLD_OK: applied already, CTLD_AGAIN: to apply, CTLD_ERROR */
static int
ctld_migrate_applied(PGconn *conn, const char *version)
{
    PGresult    *res;
    const char  *params[1];
    int          rc;

    params[0] = version;
    res = PQexecParams(conn, "SELECT 1 FROM schema_migrations"
                       " WHERE version = $1", 1, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctld_log(CTLD_LOG_ERROR, "migrate", "reading schema_migrations: %s",
                 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
        rc = CTLD_ERROR;

    } else {
        rc = (PQntuples(res) > 0) ? CTLD_OK : CTLD_AGAIN;
    }

    PQclear(res);
    return rc;
}


static int
ctld_migrate_exec(PGconn *conn, const char *sql, int nparams,
    const char *const *params, const char *what)
{
    PGresult        *res;
    ExecStatusType   st;
    const char      *msg;

    if (nparams == 0) {
        res = PQexec(conn, sql);

    } else {
        res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    }

    st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        if (msg == NULL) {
            msg = PQerrorMessage(conn);
        }

        ctld_log(CTLD_LOG_ERROR, "migrate", "%s: %.*s", what,
                 (int) strcspn(msg, "\n"), msg);
        PQclear(res);
        return CTLD_ERROR;
    }

    PQclear(res);
    return CTLD_OK;
}


static char *
ctld_migrate_read(const char *path)
{
    FILE    *f;
    char    *buf;
    long     size;

    buf = NULL;

    f = fopen(path, "r");
    if (f == NULL) {
        goto failed;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        goto failed;
    }

    buf = malloc((size_t) size + 1);
    if (buf == NULL || fread(buf, 1, (size_t) size, f) != (size_t) size) {
        goto failed;
    }

    buf[size] = '\0';
    fclose(f);

    return buf;

failed:

    ctld_log(CTLD_LOG_ERROR, "migrate", "cannot read %s: %s", path,
             strerror(errno));
    free(buf);

    if (f != NULL) {
        fclose(f);
    }

    return NULL;
}
