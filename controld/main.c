/* controld/main.c: command line, pidfile, signals and the event loop. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "controld.h"


#define CTLD_NSIGNALS  3


typedef struct {
    int                 role;
    const char         *name;
    int               (*start)(ctld_state_t *st);
    void              (*stop)(ctld_state_t *st);
} ctld_role_t;


static const ctld_role_t  ctld_roles[] = {
    { CTLD_ROLE_SYNC, "sync", ctld_sync_start, ctld_sync_stop },
    { CTLD_ROLE_INGEST, "ingest", ctld_ingest_start, ctld_ingest_stop },
    { CTLD_ROLE_ADMIN, "admin", ctld_admin_start, ctld_admin_stop },
};

#define CTLD_NROLES  (sizeof(ctld_roles) / sizeof(ctld_roles[0]))

static const int  ctld_signals[CTLD_NSIGNALS] = { SIGTERM, SIGINT, SIGHUP };


static int ctld_args(int argc, char **argv, const char **conf,
    int *migrate);
static int ctld_run(ctld_state_t *st);
static void ctld_on_signal(evutil_socket_t sig, short what, void *arg);
static int ctld_pidfile_write(const char *path);


int
main(int argc, char **argv)
{
    ctld_state_t   st;
    const char    *conf;
    int            migrate, rc;

    rc = ctld_args(argc, argv, &conf, &migrate);
    if (rc >= 0) {
        return rc;
    }

    memset(&st, 0, sizeof(st));

    if (ctld_config_load(&st.conf, conf) != CTLD_OK) {
        return 1;
    }

    ctld_log_set_level(st.conf.log_level);
    rc = 1;

    if (ctld_migrate_run(st.conf.database_url, st.conf.sql_dir) != CTLD_OK) {
        goto failed;
    }

    if (migrate) {
        rc = 0;
        goto failed;
    }

    if (st.conf.pidfile != NULL
        && ctld_pidfile_write(st.conf.pidfile) != CTLD_OK)
    {
        goto failed;
    }

    rc = (ctld_run(&st) == CTLD_OK) ? 0 : 1;

    if (st.conf.pidfile != NULL) {
        (void) unlink(st.conf.pidfile);
    }

failed:

    ctld_config_free(&st.conf);
    return rc;
}


/* -1: go on; otherwise the exit code */
static int
ctld_args(int argc, char **argv, const char **conf, int *migrate)
{
    int  i;

    *conf = NULL;
    *migrate = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
            printf("controld %s (commit %s, built %s)\n", CTLD_VERSION,
                   CTLD_COMMIT, CTLD_BUILD_TIME);
            return 0;
        }

        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            *conf = argv[++i];

        } else if (i == 1 && strcmp(argv[i], "migrate") == 0) {
            *migrate = 1;

        } else {
            break;
        }
    }

    if (i < argc || *conf == NULL) {
        fprintf(stderr, "usage: controld [migrate] -c FILE\n"
                        "       controld --version\n");
        return 2;
    }

    return -1;
}


static int
ctld_run(ctld_state_t *st)
{
    struct event  *sigs[CTLD_NSIGNALS];
    unsigned       i, started;
    int            rc;

    memset(sigs, 0, sizeof(sigs));
    started = 0;
    rc = CTLD_ERROR;

    /* hiredis writes to sockets that may have closed */
    signal(SIGPIPE, SIG_IGN);

    st->base = event_base_new();
    if (st->base == NULL) {
        ctld_log(CTLD_LOG_ERROR, "main", "event_base_new failed");
        goto failed;
    }

    for (i = 0; i < CTLD_NSIGNALS; i++) {
        sigs[i] = evsignal_new(st->base, ctld_signals[i], ctld_on_signal, st);

        if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) != 0) {
            ctld_log(CTLD_LOG_ERROR, "main", "cannot watch signals");
            goto failed;
        }
    }

    for (started = 0; started < CTLD_NROLES; started++) {
        if ((st->conf.roles & ctld_roles[started].role)
            && ctld_roles[started].start(st) != CTLD_OK)
        {
            ctld_log(CTLD_LOG_ERROR, "main", "role %s failed to start",
                     ctld_roles[started].name);
            started++;              /* a failed start is stopped too */
            goto failed;
        }
    }

    ctld_log(CTLD_LOG_INFO, "main", "controld %s running (%s%s%s)",
             CTLD_VERSION, (st->conf.roles & CTLD_ROLE_SYNC) ? "sync " : "",
             (st->conf.roles & CTLD_ROLE_INGEST) ? "ingest " : "",
             (st->conf.roles & CTLD_ROLE_ADMIN) ? "admin " : "");

    if (event_base_dispatch(st->base) != 0) {
        ctld_log(CTLD_LOG_ERROR, "main", "event loop failed");
        goto failed;
    }

    ctld_log(CTLD_LOG_INFO, "main", "stopped");
    rc = CTLD_OK;

failed:

    st->stopping = 1;

    while (started-- > 0) {
        if (st->conf.roles & ctld_roles[started].role) {
            ctld_roles[started].stop(st);
        }
    }

    for (i = 0; i < CTLD_NSIGNALS; i++) {
        if (sigs[i] != NULL) {
            event_free(sigs[i]);
        }
    }

    if (st->base != NULL) {
        event_base_free(st->base);
        st->base = NULL;
    }

    libevent_global_shutdown();
    return rc;
}


static void
ctld_on_signal(evutil_socket_t sig, short what, void *arg)
{
    ctld_state_t  *st;

    (void) what;
    st = arg;

    if (sig == SIGHUP) {
        ctld_log(CTLD_LOG_INFO, "main", "SIGHUP: full reconcile");
        ctld_sync_reconcile(st);
        return;
    }

    ctld_log(CTLD_LOG_INFO, "main", "%s: stopping",
             (sig == SIGTERM) ? "SIGTERM" : "SIGINT");
    st->stopping = 1;
    event_base_loopbreak(st->base);
}


/* refuses to start over a live controld's pidfile */
static int
ctld_pidfile_write(const char *path)
{
    FILE  *f;
    long   pid;

    f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%ld", &pid) == 1 && pid > 0 && pid != getpid()
            && kill((pid_t) pid, 0) == 0)
        {
            fclose(f);
            ctld_log(CTLD_LOG_ERROR, "main", "%s: controld %ld is running",
                     path, pid);
            return CTLD_ERROR;
        }

        fclose(f);
    }

    f = fopen(path, "w");
    if (f == NULL || fprintf(f, "%ld\n", (long) getpid()) < 0
        || fclose(f) != 0)
    {
        ctld_log(CTLD_LOG_ERROR, "main", "cannot write %s: %s", path,
                 strerror(errno));
        return CTLD_ERROR;
    }

    return CTLD_OK;
}
