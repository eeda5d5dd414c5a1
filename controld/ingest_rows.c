/*
 * controld/ingest_rows.c: usage stream entries to the twenty PostgreSQL
 * array literals of one EXECUTE, values checked so one bad value never
 * fails its batch.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"


#define CTLD_INGEST_TS_MAX         253402300799999.0  /* 9999-12-31, ms */

#define CTLD_INGEST_TEXT    0       /* "" or invalid UTF-8: NULL */
#define CTLD_INGEST_RID     1       /* required: malformed without */
#define CTLD_INGEST_TS      2       /* unix ms; else the stream id's time */
#define CTLD_INGEST_INET    3
#define CTLD_INGEST_INT     4
#define CTLD_INGEST_BIGINT  5
#define CTLD_INGEST_FLOAT   6
#define CTLD_INGEST_BOOL    7       /* never NULL: "1" true, else false */

/* a format 2 record: twenty values of "0:" at least */
#define CTLD_INGEST_MIN_RECORD  (2 * CTLD_INGEST_NCOLS)


typedef struct {
    const char         *field;      /* in the stream record */
    const char         *column;     /* in usage_events, and the PREPARE */
    int                 type;       /* CTLD_INGEST_* */
} ctld_ingest_col_t;


static redisReply *ctld_ingest_field(redisReply *fields, const char *name);
static int ctld_ingest_group(redisReply *fields);
static void ctld_ingest_row(ctld_ingest_batch_t *b, const char *id,
    redisReply *fields, char **arena);
static void ctld_ingest_records(ctld_ingest_batch_t *b, const char *id,
    redisReply *fields, char **arena);
static const char *ctld_ingest_netstring(const char *p, const char *last,
    size_t *len);
static const char **ctld_ingest_row_start(ctld_ingest_batch_t *b);
static void ctld_ingest_set(const char **vals, int c, const char *v,
    size_t len, char **arena);
static void ctld_ingest_row_end(ctld_ingest_batch_t *b, const char *id,
    const char **vals, char **arena);
static const char *ctld_ingest_value(int type, const char *v);
static char *ctld_ingest_quote(char *p, const char *v);
static int ctld_ingest_utf8(const char *s);


static const ctld_ingest_col_t  ctld_ingest_cols[CTLD_INGEST_NCOLS] = {
    { "rid", "request_id", CTLD_INGEST_RID },
    { "ts", "ts", CTLD_INGEST_TS },
    { "key", "key_id", CTLD_INGEST_TEXT },
    { "user", "user_name", CTLD_INGEST_TEXT },
    { "project", "project_name", CTLD_INGEST_TEXT },
    { "env", "environment", CTLD_INGEST_TEXT },
    { "ip", "client_ip", CTLD_INGEST_INET },
    { "dialect", "dialect", CTLD_INGEST_TEXT },
    { "endpoint", "endpoint", CTLD_INGEST_TEXT },
    { "group", "model_group", CTLD_INGEST_TEXT },
    { "provider", "provider", CTLD_INGEST_TEXT },
    { "model", "model", CTLD_INGEST_TEXT },
    { "target", "target", CTLD_INGEST_TEXT },
    { "status", "status", CTLD_INGEST_INT },
    { "stream", "stream", CTLD_INGEST_BOOL },
    { "in", "input_tokens", CTLD_INGEST_BIGINT },
    { "out", "output_tokens", CTLD_INGEST_BIGINT },
    { "latency_ms", "latency_ms", CTLD_INGEST_FLOAT },
    { "ttfb_ms", "ttfb_ms", CTLD_INGEST_FLOAT },
    { "attempts", "attempts", CTLD_INGEST_INT },
};

/*
 * A format 2 record's values, in the order of docs/CONTRACTS.md (the
 * module's): their columns above.
 */
static const int  ctld_ingest_order[CTLD_INGEST_NCOLS] = {
    1,      /* ts */
    0,      /* rid */
    2, 3, 4, 5, 6, 7,       /* key user project env ip dialect */
    9, 10, 11, 12,          /* group provider model target */
    13, 14, 15, 16,         /* status stream in out */
    17, 18, 19,             /* latency_ms ttfb_ms attempts */
    8       /* endpoint */
};

/*
 * The columns in the order above, from twenty arrays whatever the batch
 * size, parsed and planned once per connection (a multi-row VALUES list
 * of twenty casts a row cost PostgreSQL two to three times the CPU per
 * row).  Each element goes through its column type's input function, ts
 * is unix ms, a NULL element is NULL.
 */
const char  ctld_ingest_prepare[] =
    "PREPARE " CTLD_INGEST_STMT " AS "
    "INSERT INTO usage_events (request_id, ts, key_id, user_name, "
    "project_name, environment, client_ip, dialect, endpoint, model_group, "
    "provider, model, target, status, stream, input_tokens, output_tokens, "
    "latency_ms, ttfb_ms, attempts) "
    "SELECT request_id, to_timestamp(ts / 1000), key_id, user_name, "
    "project_name, environment, client_ip, dialect, endpoint, model_group, "
    "provider, model, target, status, stream, input_tokens, output_tokens, "
    "latency_ms, ttfb_ms, attempts "
    "FROM unnest($1::text[], $2::float8[], $3::text[], $4::text[], "
    "$5::text[], $6::text[], $7::inet[], $8::text[], $9::text[], "
    "$10::text[], $11::text[], $12::text[], $13::text[], $14::integer[], "
    "$15::boolean[], $16::bigint[], $17::bigint[], $18::float8[], "
    "$19::float8[], $20::integer[]) "
    "AS u (request_id, ts, key_id, user_name, project_name, environment, "
    "client_ip, dialect, endpoint, model_group, provider, model, target, "
    "status, stream, input_tokens, output_tokens, latency_ms, ttfb_ms, "
    "attempts) "
    "ON CONFLICT (request_id) DO NOTHING";


ctld_ingest_batch_t *
ctld_ingest_batch(ctld_ingest_t *ing, redisReply *entries)
{
    ctld_ingest_batch_t  *b;
    redisReply           *e, *f, *r;
    size_t                i, j, n, rows, size;
    char                 *arena;

    n = entries->elements;
    rows = 0;
    size = sizeof(ctld_ingest_batch_t) + n * sizeof(char *);

    /* a row's strings are never longer than the entry's, plus a ts */
    for (i = 0; i < n; i++) {
        e = entries->element[i];
        size += 32;
        rows++;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) {
            continue;
        }

        /* len is 0 for a reply that is not a string */
        size += e->element[0]->len + 1;
        f = e->element[1];

        for (j = 0; f->type == REDIS_REPLY_ARRAY && j < f->elements; j++) {
            size += f->element[j]->len + 1;
        }

        /* a group: each record takes 40 bytes at least */
        r = ctld_ingest_field(f, "r");

        if (r != NULL && ctld_ingest_group(f)) {
            rows += r->len / CTLD_INGEST_MIN_RECORD;
            size += (r->len / CTLD_INGEST_MIN_RECORD)
                    * (CTLD_INGEST_NCOLS + 32);
        }
    }

    size += rows * CTLD_INGEST_NCOLS * sizeof(char *);

    b = calloc(1, size);
    if (b == NULL) {
        ctld_log(CTLD_LOG_ERROR, "ingest", "out of memory");
        return NULL;
    }

    b->ids = (const char **) (b + 1);
    b->vals = b->ids + n;
    arena = (char *) (b->vals + rows * CTLD_INGEST_NCOLS);

    for (i = 0; i < n; i++) {
        e = entries->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2
            || e->element[0]->type != REDIS_REPLY_STRING)
        {
            continue;               /* no id: nothing to ack either */
        }

        b->ids[b->nids] = strcpy(arena, e->element[0]->str);
        arena += e->element[0]->len + 1;
        b->nids++;

        if (ctld_ingest_group(e->element[1])) {
            ctld_ingest_records(b, b->ids[b->nids - 1], e->element[1],
                                &arena);

        } else {
            ctld_ingest_row(b, b->ids[b->nids - 1], e->element[1], &arena);
        }
    }

    ing->stats.rows += b->nrows + b->nbad;
    ing->stats.malformed += b->nbad;

    return b;
}


/* the value of field name in an entry's field list, or NULL */
static redisReply *
ctld_ingest_field(redisReply *fields, const char *name)
{
    size_t  k;

    for (k = 0; fields->type == REDIS_REPLY_ARRAY && k + 1 < fields->elements;
         k += 2)
    {
        if (fields->element[k]->type == REDIS_REPLY_STRING
            && fields->element[k + 1]->type == REDIS_REPLY_STRING
            && strcmp(fields->element[k]->str, name) == 0)
        {
            return fields->element[k + 1];
        }
    }

    return NULL;
}


/* 1 for an entry of format 2: v 2 n <records> r <records' bytes> */
static int
ctld_ingest_group(redisReply *fields)
{
    redisReply  *v;

    v = ctld_ingest_field(fields, "v");

    return v != NULL && strcmp(v->str, "2") == 0;
}


/*
 * Maps one entry's fields to the columns (unknown fields are ignored, so
 * a newer module can add some).  Without a rid the entry is malformed:
 * logged, counted and acked, but not a row.
 */
static void
ctld_ingest_row(ctld_ingest_batch_t *b, const char *id, redisReply *fields,
    char **arena)
{
    const char  **vals;
    redisReply   *name, *val;
    size_t        k;
    int           c;

    vals = ctld_ingest_row_start(b);

    /* nil fields: the entry was trimmed from the stream while pending */
    for (k = 0; fields->type == REDIS_REPLY_ARRAY && k + 1 < fields->elements;
         k += 2)
    {
        name = fields->element[k];
        val = fields->element[k + 1];

        if (name->type != REDIS_REPLY_STRING
            || val->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        for (c = 0; c < CTLD_INGEST_NCOLS; c++) {
            if (strcmp(ctld_ingest_cols[c].field, name->str) == 0) {
                ctld_ingest_set(vals, c, val->str, val->len, arena);
            }
        }
    }

    ctld_ingest_row_end(b, id, vals, arena);
}


/*
 * The records of a group entry: each is the twenty values of
 * ctld_ingest_order as "<length>:<bytes>".  A record cut short or
 * misframed ends the entry: the records before it are rows, the rest
 * (as many as "n" says) count as malformed.
 */
static void
ctld_ingest_records(ctld_ingest_batch_t *b, const char *id,
    redisReply *fields, char **arena)
{
    const char  **vals, *p, *last;
    redisReply   *r, *nr;
    long          want, got;
    size_t        len;
    int           i;

    r = ctld_ingest_field(fields, "r");
    nr = ctld_ingest_field(fields, "n");
    want = (nr != NULL) ? atol(nr->str) : 0;

    p = (r != NULL) ? r->str : "";
    last = p + ((r != NULL) ? r->len : 0);

    for (got = 0; p < last; got++) {
        vals = ctld_ingest_row_start(b);

        for (i = 0; i < CTLD_INGEST_NCOLS; i++) {
            p = ctld_ingest_netstring(p, last, &len);

            if (p == NULL) {
                goto bad;
            }

            ctld_ingest_set(vals, ctld_ingest_order[i], p, len, arena);
            p += len;
        }

        ctld_ingest_row_end(b, id, vals, arena);
    }

    if (got == want) {
        return;
    }

bad:

    ctld_log(CTLD_LOG_WARN, "ingest", "entry %s: record %ld of %ld is "
             "malformed; acked, %ld rows", id, got + 1, want, got);

    b->nbad += (want > got) ? want - got : 1;
}


/* "<digits>:" at p: the bytes after the colon, *len of them, or NULL */
static const char *
ctld_ingest_netstring(const char *p, const char *last, size_t *len)
{
    size_t  n;
    int     digits;

    n = 0;

    for (digits = 0; p < last && *p >= '0' && *p <= '9'; p++, digits++) {
        n = n * 10 + (*p - '0');

        if (digits > 6) {
            return NULL;
        }
    }

    if (digits == 0 || p == last || *p != ':' || (size_t) (last - p - 1) < n)
    {
        return NULL;
    }

    *len = n;

    return p + 1;
}


/* the next row's values, all NULL */
static const char **
ctld_ingest_row_start(ctld_ingest_batch_t *b)
{
    const char  **vals;
    int           c;

    vals = b->vals + (size_t) b->nrows * CTLD_INGEST_NCOLS;

    for (c = 0; c < CTLD_INGEST_NCOLS; c++) {
        vals[c] = NULL;
    }

    return vals;
}


/* column c: v (len bytes) copied, or what ctld_ingest_value() makes of it */
static void
ctld_ingest_set(const char **vals, int c, const char *v, size_t len,
    char **arena)
{
    char        *s;
    const char  *ok;

    s = memcpy(*arena, v, len);
    s[len] = '\0';

    ok = ctld_ingest_value(ctld_ingest_cols[c].type, s);

    if (ok == s) {
        *arena += len + 1;
    }

    vals[c] = ok;
}


/*
 * Fills in what the entry left out: the time from the stream id, stream
 * false.  Without a rid the record is malformed: logged, counted and
 * acked, but not a row.
 */
static void
ctld_ingest_row_end(ctld_ingest_batch_t *b, const char *id,
    const char **vals, char **arena)
{
    size_t  len;
    int     c;

    for (c = 0; c < CTLD_INGEST_NCOLS; c++) {
        if (vals[c] != NULL) {
            continue;
        }

        switch (ctld_ingest_cols[c].type) {

        case CTLD_INGEST_RID:
            ctld_log(CTLD_LOG_WARN, "ingest", "entry %s has a record "
                     "without a rid: malformed, acked without a row", id);
            b->nbad++;
            return;

        case CTLD_INGEST_TS:
            /* the stream id starts with the XADD time in ms */
            len = strcspn(id, "-");
            vals[c] = memcpy(*arena, id, len);
            (*arena)[len] = '\0';
            *arena += len + 1;
            break;

        case CTLD_INGEST_BOOL:
            vals[c] = "false";
            break;

        default:
            break;
        }
    }

    b->nrows++;
}


/*
 * Returns v when PostgreSQL will take it as is, a replacement, or NULL:
 * one bad value must not make the whole batch fail again and again.
 */
static const char *
ctld_ingest_value(int type, const char *v)
{
    unsigned char   addr[sizeof(struct in6_addr)];
    char           *end;
    double          d;
    long long       n;

    errno = 0;

    switch (type) {

    case CTLD_INGEST_BOOL:
        return (strcmp(v, "1") == 0 || strcmp(v, "true") == 0) ? "true"
                                                                : "false";

    case CTLD_INGEST_INET:
        return (inet_pton(AF_INET, v, addr) == 1
                || inet_pton(AF_INET6, v, addr) == 1) ? v : NULL;

    case CTLD_INGEST_INT:
    case CTLD_INGEST_BIGINT:
        if (!(*v == '-' || (*v >= '0' && *v <= '9'))) {
            return NULL;
        }

        n = strtoll(v, &end, 10);

        if (*end != '\0' || errno != 0
            || (type == CTLD_INGEST_INT && (n < -2147483648LL
                                            || n > 2147483647LL)))
        {
            return NULL;
        }

        return v;

    case CTLD_INGEST_FLOAT:
    case CTLD_INGEST_TS:
        /* no hex, no inf or nan; strtod would take them */
        if (*v == '\0' || strspn(v, "0123456789.eE+-") != strlen(v)) {
            return NULL;
        }

        d = strtod(v, &end);

        if (*end != '\0' || errno != 0 || !isfinite(d)
            || (type == CTLD_INGEST_TS
                && (d <= 0 || d > CTLD_INGEST_TS_MAX)))
        {
            return NULL;
        }

        return v;

    default:
        return (*v != '\0' && ctld_ingest_utf8(v)) ? v : NULL;
    }
}


/*
 * EXECUTE ctld_ingest(E'{"v",NULL,...}', ...): per column, an array of
 * rows first .. first + n - 1, as text for the string constant.  Every
 * value is quoted in the array, so commas, braces, blanks and the word
 * NULL are data; SQL NULL is the bare word.
 */
char *
ctld_ingest_execute(ctld_ingest_batch_t *b, int first, int n)
{
    const char  **row;
    size_t        size;
    char         *sql, *p;
    int           r, c;

    size = sizeof("EXECUTE " CTLD_INGEST_STMT "()")
           + CTLD_INGEST_NCOLS * sizeof(", E'{}'");

    /* a byte takes 4 at most (a backslash), plus the quotes and a comma */
    for (r = first; r < first + n; r++) {
        row = b->vals + (size_t) r * CTLD_INGEST_NCOLS;

        for (c = 0; c < CTLD_INGEST_NCOLS; c++) {
            size += (row[c] != NULL) ? 4 * strlen(row[c]) + 3
                                     : sizeof("NULL,");
        }
    }

    sql = malloc(size);
    if (sql == NULL) {
        ctld_log(CTLD_LOG_ERROR, "ingest", "out of memory");
        return NULL;
    }

    p = sql + sprintf(sql, "EXECUTE " CTLD_INGEST_STMT "(");

    for (c = 0; c < CTLD_INGEST_NCOLS; c++) {
        p += sprintf(p, "%sE'{", c ? ", " : "");

        for (r = first; r < first + n; r++) {
            if (r > first) {
                *p++ = ',';
            }

            p = ctld_ingest_quote(p, b->vals[(size_t) r * CTLD_INGEST_NCOLS
                                             + c]);
        }

        *p++ = '}';
        *p++ = '\'';
    }

    strcpy(p, ")");

    return sql;
}


/*
 * One array element inside an E'' string constant: the array wants a
 * quote or a backslash behind a backslash, the constant wants every
 * backslash doubled and a single quote twice.  So " is \\", \ is
 * \\\\, ' is ''.  v is UTF-8 (checked): no byte of a multibyte
 * character is one of these.
 */
static char *
ctld_ingest_quote(char *p, const char *v)
{
    if (v == NULL) {
        memcpy(p, "NULL", 4);
        return p + 4;
    }

    *p++ = '"';

    for ( /* void */ ; *v != '\0'; v++) {
        switch (*v) {

        case '"':
            memcpy(p, "\\\\\"", 3);
            p += 3;
            break;

        case '\\':
            memcpy(p, "\\\\\\\\", 4);
            p += 4;
            break;

        case '\'':
            *p++ = '\'';
            *p++ = '\'';
            break;

        default:
            *p++ = *v;
        }
    }

    *p++ = '"';

    return p;
}


/* PostgreSQL refuses a text value that is not UTF-8 (and its batch) */
static int
ctld_ingest_utf8(const char *s)
{
    const unsigned char  *p;
    unsigned              cp, n, i;

    for (p = (const unsigned char *) s; *p != '\0'; p += n) {
        if (*p < 0x80) {
            n = 1;
            continue;
        }

        if ((*p & 0xe0) == 0xc0) {
            n = 2;
            cp = *p & 0x1f;

        } else if ((*p & 0xf0) == 0xe0) {
            n = 3;
            cp = *p & 0x0f;

        } else if ((*p & 0xf8) == 0xf0) {
            n = 4;
            cp = *p & 0x07;

        } else {
            return 0;
        }

        for (i = 1; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return 0;
            }

            cp = cp << 6 | (p[i] & 0x3f);
        }

        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800)
            || (n == 4 && cp < 0x10000) || cp > 0x10ffff
            || (cp >= 0xd800 && cp <= 0xdfff))
        {
            return 0;
        }
    }

    return 1;
}
