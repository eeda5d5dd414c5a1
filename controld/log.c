/* controld/log.c: leveled log lines on stderr, one write(2) per line. */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "controld.h"


#define CTLD_LOG_LINE  2048


static const char  *ctld_log_names[] = { "error", "warn", "info", "debug" };
static int          ctld_log_level = CTLD_LOG_INFO;


void
ctld_log_set_level(int level)
{
    if (level < CTLD_LOG_ERROR) {
        level = CTLD_LOG_ERROR;
    }

    if (level > CTLD_LOG_DEBUG) {
        level = CTLD_LOG_DEBUG;
    }

    ctld_log_level = level;
}


void
ctld_log(int level, const char *role, const char *fmt, ...)
{
    char        line[CTLD_LOG_LINE];
    size_t      n;
    int         rc;
    time_t      now;
    struct tm   tm;
    va_list     ap;

    if (level > ctld_log_level || level < CTLD_LOG_ERROR) {
        return;
    }

    now = time(NULL);
    gmtime_r(&now, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ", &tm);

    rc = snprintf(line + n, sizeof(line) - n, " [%s] %s: ",
                  ctld_log_names[level], role);
    n += (rc > 0) ? (size_t) rc : 0;

    va_start(ap, fmt);
    rc = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);

    if (rc < 0) {
        rc = 0;
    }

    n += (size_t) rc;

    /* keep room for the newline; mark a cut line */
    if (n >= sizeof(line) - 1) {
        n = sizeof(line) - 5;
        memcpy(line + n, "...", 3);
        n += 3;
    }

    line[n++] = '\n';

    if (write(STDERR_FILENO, line, n) < 0) {
        /* nowhere left to report it */
        return;
    }
}
