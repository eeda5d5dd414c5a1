/*
 * controld/ingest_copy.c: a batch's rows in the text format of COPY
 * usage_events FROM STDIN.  The values were checked by ingest_rows.c;
 * here they are only escaped, and ts (unix ms) becomes a timestamptz.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest.h"


/* "YYYY-MM-DD HH:MM:SS.uuuuuu+00" */
#define CTLD_INGEST_TS_LEN  32


static char *ctld_ingest_copy_ts(char *p, const char *ms);
static char *ctld_ingest_copy_text(char *p, const char *v);


/* the columns in the order of ctld_ingest_cols (ingest_rows.c) */
const char  ctld_ingest_copy_sql[] =
    "COPY usage_events (request_id, ts, key_id, user_name, project_name, "
    "environment, client_ip, dialect, endpoint, model_group, provider, "
    "model, target, status, stream, input_tokens, output_tokens, "
    "latency_ms, ttfb_ms, attempts) FROM STDIN";


char *
ctld_ingest_copy(ctld_ingest_batch_t *b, size_t *len)
{
    const char  **row;
    size_t        size;
    char         *data, *p;
    int           r, c;

    /* a byte takes 2 at most (escaped), plus a tab or the newline */
    size = 1;

    for (r = 0; r < b->nrows; r++) {
        row = b->vals + (size_t) r * CTLD_INGEST_NCOLS;

        for (c = 0; c < CTLD_INGEST_NCOLS; c++) {
            size += (row[c] == NULL) ? 3
                    : (c == CTLD_INGEST_COL_TS) ? CTLD_INGEST_TS_LEN + 1
                    : 2 * strlen(row[c]) + 1;
        }
    }

    data = malloc(size);
    if (data == NULL) {
        ctld_log(CTLD_LOG_ERROR, "ingest", "out of memory");
        return NULL;
    }

    p = data;

    for (r = 0; r < b->nrows; r++) {
        row = b->vals + (size_t) r * CTLD_INGEST_NCOLS;

        for (c = 0; c < CTLD_INGEST_NCOLS; c++) {
            if (row[c] == NULL) {
                memcpy(p, "\\N", 2);
                p += 2;

            } else if (c == CTLD_INGEST_COL_TS) {
                p = ctld_ingest_copy_ts(p, row[c]);

            } else {
                p = ctld_ingest_copy_text(p, row[c]);
            }

            *p++ = (c == CTLD_INGEST_NCOLS - 1) ? '\n' : '\t';
        }
    }

    *len = p - data;

    return data;
}


/*
 * Unix ms (checked: finite, positive, before the year 10000; a fraction
 * is kept to the microsecond, as to_timestamp() would) in UTC.
 */
static char *
ctld_ingest_copy_ts(char *p, const char *ms)
{
    long long  us;
    time_t     sec;
    struct tm  tm;

    us = llround(strtod(ms, NULL) * 1000.0);
    sec = (time_t) (us / 1000000);

    if (gmtime_r(&sec, &tm) == NULL) {
        memcpy(p, "\\N", 2);
        return p + 2;
    }

    return p + snprintf(p, CTLD_INGEST_TS_LEN + 1,
                        "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1000000);
}


/* COPY's text format: a backslash, tab, newline or return is escaped */
static char *
ctld_ingest_copy_text(char *p, const char *v)
{
    for ( /* void */ ; *v != '\0'; v++) {
        switch (*v) {

        case '\\':
            *p++ = '\\';
            *p++ = '\\';
            break;

        case '\t':
            *p++ = '\\';
            *p++ = 't';
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        case '\r':
            *p++ = '\\';
            *p++ = 'r';
            break;

        default:
            *p++ = *v;
        }
    }

    return p;
}
