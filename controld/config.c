/* controld/config.c: the `name = value` config file, driven by one table. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controld.h"


#define CTLD_CF_STR    0    /* char *, heap-owned, "" = unset (NULL) */
#define CTLD_CF_INT    1    /* int within min..max */
#define CTLD_CF_SIZE   2    /* size_t within min..max */
#define CTLD_CF_ROLES  3    /* comma list of role names into unsigned */
#define CTLD_CF_ADDR   4    /* IP:port into char * (off) and int (off2) */
#define CTLD_CF_LEVEL  5    /* log level name into int */

#define CTLD_CF_ERRLEN  256


typedef struct {
    const char         *name;
    int                 type;
    size_t              off;
    size_t              off2;       /* CTLD_CF_ADDR: the port */
    const char         *dflt;       /* NULL: no default */
    long long           min;
    long long           max;
} ctld_cf_item_t;


typedef struct {
    const char         *name;
    unsigned            value;
} ctld_cf_name_t;


#define CF(name, type, field, dflt, min, max)                                 \
    { name, type, offsetof(ctld_config_t, field), 0, dflt, min, max }
#define CF_ADDR(name, host, port, dflt)                                       \
    { name, CTLD_CF_ADDR, offsetof(ctld_config_t, host),                      \
      offsetof(ctld_config_t, port), dflt, 0, 0 }

static const ctld_cf_item_t  ctld_cf_items[] = {
    CF("roles", CTLD_CF_ROLES, roles, "sync,ingest,admin", 0, 0),
    CF("database_url", CTLD_CF_STR, database_url, NULL, 0, 0),
    CF_ADDR("redis", redis_host, redis_port, "127.0.0.1:6379"),
    CF("table_path", CTLD_CF_STR, table_path, "/run/sluice/table", 0, 0),
    CF("table_mapsize", CTLD_CF_SIZE, table_mapsize, "1073741824",
       1048576, 1LL << 40),
    CF("reconcile_interval", CTLD_CF_INT, reconcile_interval, "30",
       1, 86400),
    CF_ADDR("admin_listen", admin_host, admin_port, "127.0.0.1:8081"),
    CF("admin_token", CTLD_CF_STR, admin_token, NULL, 0, 0),
    CF("usage_stream", CTLD_CF_STR, usage_stream, "sluice:usage", 0, 0),
    CF("usage_group", CTLD_CF_STR, usage_group, "sluice-ingest", 0, 0),
    CF("consumer", CTLD_CF_STR, consumer, NULL, 0, 0),
    CF("pidfile", CTLD_CF_STR, pidfile, NULL, 0, 0),
    CF("log_level", CTLD_CF_LEVEL, log_level, "info", 0, 0),
    CF("sql_dir", CTLD_CF_STR, sql_dir, "/usr/share/sluice/sql", 0, 0),
};

#define CTLD_CF_NITEMS  (sizeof(ctld_cf_items) / sizeof(ctld_cf_items[0]))

static const ctld_cf_name_t  ctld_cf_roles[] = {
    { "sync", CTLD_ROLE_SYNC },
    { "ingest", CTLD_ROLE_INGEST },
    { "admin", CTLD_ROLE_ADMIN },
    { NULL, 0 }
};

static const ctld_cf_name_t  ctld_cf_levels[] = {
    { "error", CTLD_LOG_ERROR },
    { "warn", CTLD_LOG_WARN },
    { "info", CTLD_LOG_INFO },
    { "debug", CTLD_LOG_DEBUG },
    { NULL, 0 }
};


static int ctld_config_set(ctld_config_t *conf, const ctld_cf_item_t *it,
    const char *value, char *err);
static int ctld_config_set_num(ctld_config_t *conf,
    const ctld_cf_item_t *it, const char *value, char *err);
static int ctld_config_set_roles(unsigned *roles, const char *value,
    char *err);
static int ctld_config_set_addr(ctld_config_t *conf,
    const ctld_cf_item_t *it, const char *value, char *err);
static int ctld_config_name(const ctld_cf_name_t *names, const char *s,
    size_t len, unsigned *value);
static int ctld_config_line(ctld_config_t *conf, char *line,
    unsigned char *seen, char *err);
static const char *ctld_config_expand(const char *value, char *err);
static char *ctld_config_trim(char *s);
static int ctld_config_finish(ctld_config_t *conf);


int
ctld_config_load(ctld_config_t *conf, const char *path)
{
    FILE           *f;
    char           *line;
    size_t          cap;
    unsigned        n, i;
    unsigned char   seen[CTLD_CF_NITEMS];
    char            err[CTLD_CF_ERRLEN];

    memset(conf, 0, sizeof(*conf));
    memset(seen, 0, sizeof(seen));
    line = NULL;
    cap = 0;
    f = NULL;

    for (i = 0; i < CTLD_CF_NITEMS; i++) {
        if (ctld_cf_items[i].dflt != NULL
            && ctld_config_set(conf, &ctld_cf_items[i], ctld_cf_items[i].dflt,
                               err) != CTLD_OK)
        {
            ctld_log(CTLD_LOG_ERROR, "config", "default of %s: %s",
                     ctld_cf_items[i].name, err);
            goto failed;
        }
    }

    f = fopen(path, "r");
    if (f == NULL) {
        ctld_log(CTLD_LOG_ERROR, "config", "cannot open %s: %s", path,
                 strerror(errno));
        goto failed;
    }

    for (n = 1; getline(&line, &cap, f) != -1; n++) {
        if (ctld_config_line(conf, line, seen, err) != CTLD_OK) {
            ctld_log(CTLD_LOG_ERROR, "config", "%s:%u: %s", path, n, err);
            goto failed;
        }
    }

    if (ferror(f)) {
        ctld_log(CTLD_LOG_ERROR, "config", "reading %s failed", path);
        goto failed;
    }

    free(line);
    fclose(f);

    return ctld_config_finish(conf);

failed:

    free(line);

    if (f != NULL) {
        fclose(f);
    }

    ctld_config_free(conf);
    return CTLD_ERROR;
}


void
ctld_config_free(ctld_config_t *conf)
{
    unsigned   i;
    char     **p;

    for (i = 0; i < CTLD_CF_NITEMS; i++) {
        if (ctld_cf_items[i].type != CTLD_CF_STR
            && ctld_cf_items[i].type != CTLD_CF_ADDR)
        {
            continue;
        }

        p = (char **) ((char *) conf + ctld_cf_items[i].off);
        free(*p);
        *p = NULL;
    }
}


/* One line: blank, "# comment" or "name = value". */
static int
ctld_config_line(ctld_config_t *conf, char *line, unsigned char *seen,
    char *err)
{
    char        *eq, *name, *value, msg[CTLD_CF_ERRLEN];
    const char  *v;
    unsigned     i;

    name = ctld_config_trim(line);
    if (*name == '\0' || *name == '#') {
        return CTLD_OK;
    }

    eq = strchr(name, '=');
    if (eq == NULL) {
        snprintf(err, CTLD_CF_ERRLEN, "expected \"name = value\"");
        return CTLD_ERROR;
    }

    *eq = '\0';
    name = ctld_config_trim(name);
    value = ctld_config_trim(eq + 1);

    for (i = 0; i < CTLD_CF_NITEMS; i++) {
        if (strcmp(ctld_cf_items[i].name, name) == 0) {
            break;
        }
    }

    if (i == CTLD_CF_NITEMS) {
        snprintf(err, CTLD_CF_ERRLEN, "unknown setting \"%.64s\"", name);
        return CTLD_ERROR;
    }

    if (seen[i]) {
        snprintf(err, CTLD_CF_ERRLEN, "\"%s\" is set twice", name);
        return CTLD_ERROR;
    }

    seen[i] = 1;

    v = ctld_config_expand(value, err);
    if (v == NULL) {
        return CTLD_ERROR;
    }

    if (ctld_config_set(conf, &ctld_cf_items[i], v, msg) != CTLD_OK) {
        snprintf(err, CTLD_CF_ERRLEN, "%.32s: %.200s", name, msg);
        return CTLD_ERROR;
    }

    return CTLD_OK;
}


/* "$NAME" is read from the environment; anything else is literal. */
static const char *
ctld_config_expand(const char *value, char *err)
{
    const char  *p, *env;

    if (value[0] != '$') {
        return value;
    }

    for (p = value + 1; *p != '\0'; p++) {
        if (!(isalnum((unsigned char) *p) || *p == '_')) {
            snprintf(err, CTLD_CF_ERRLEN,
                     "bad environment variable name \"%.64s\"", value);
            return NULL;
        }
    }

    env = getenv(value + 1);
    if (p == value + 1 || env == NULL) {
        snprintf(err, CTLD_CF_ERRLEN,
                 "environment variable \"%.64s\" is not set", value + 1);
        return NULL;
    }

    return env;
}


static int
ctld_config_set(ctld_config_t *conf, const ctld_cf_item_t *it,
    const char *value, char *err)
{
    char  **s;

    switch (it->type) {

    case CTLD_CF_STR:
        s = (char **) ((char *) conf + it->off);
        free(*s);
        *s = NULL;

        if (*value == '\0') {
            return CTLD_OK;
        }

        *s = strdup(value);
        if (*s == NULL) {
            snprintf(err, CTLD_CF_ERRLEN, "out of memory");
            return CTLD_ERROR;
        }

        return CTLD_OK;

    case CTLD_CF_ROLES:
        return ctld_config_set_roles((unsigned *) ((char *) conf + it->off),
                                     value, err);

    case CTLD_CF_ADDR:
        return ctld_config_set_addr(conf, it, value, err);

    default:
        return ctld_config_set_num(conf, it, value, err);
    }
}


static int
ctld_config_set_num(ctld_config_t *conf, const ctld_cf_item_t *it,
    const char *value, char *err)
{
    char                *end;
    unsigned             level;
    unsigned long long   n;

    if (it->type == CTLD_CF_LEVEL) {
        if (ctld_config_name(ctld_cf_levels, value, strlen(value), &level)
            != CTLD_OK)
        {
            snprintf(err, CTLD_CF_ERRLEN,
                     "expected error, warn, info or debug");
            return CTLD_ERROR;
        }

        *(int *) ((char *) conf + it->off) = (int) level;
        return CTLD_OK;
    }

    errno = 0;
    n = strtoull(value, &end, 10);

    if (!isdigit((unsigned char) *value) || *end != '\0' || errno != 0
        || n < (unsigned long long) it->min
        || n > (unsigned long long) it->max)
    {
        snprintf(err, CTLD_CF_ERRLEN, "expected a number from %lld to %lld",
                 it->min, it->max);
        return CTLD_ERROR;
    }

    if (it->type == CTLD_CF_INT) {
        *(int *) ((char *) conf + it->off) = (int) n;

    } else {
        *(size_t *) ((char *) conf + it->off) = (size_t) n;
    }

    return CTLD_OK;
}


static int
ctld_config_set_roles(unsigned *roles, const char *value, char *err)
{
    const char  *p, *q;
    unsigned     role;

    *roles = 0;

    for (p = value; *p != '\0'; p = (*q == ',') ? q + 1 : q) {
        q = strchr(p, ',');
        if (q == NULL) {
            q = p + strlen(p);
        }

        while (p < q && isspace((unsigned char) *p)) {
            p++;
        }

        if (ctld_config_name(ctld_cf_roles, p, (size_t) (q - p), &role)
            != CTLD_OK)
        {
            snprintf(err, CTLD_CF_ERRLEN, "unknown role \"%.*s\"",
                     (int) (q - p), p);
            return CTLD_ERROR;
        }

        *roles |= role;
    }

    if (*roles == 0) {
        snprintf(err, CTLD_CF_ERRLEN, "no role (sync, ingest, admin)");
        return CTLD_ERROR;
    }

    return CTLD_OK;
}


/* "IPv4:port" or "[IPv6]:port"; no host names (hiredis 0.14, evhttp) */
static int
ctld_config_set_addr(ctld_config_t *conf, const ctld_cf_item_t *it,
    const char *value, char *err)
{
    char            host[64], *end, **hostp;
    const char     *colon, *h;
    size_t          len;
    unsigned long   port;
    unsigned char   buf[sizeof(struct in6_addr)];
    int             v6;

    v6 = (value[0] == '[');
    h = value + v6;
    colon = v6 ? strstr(h, "]:") : strrchr(h, ':');

    if (colon == NULL || (size_t) (colon - h) >= sizeof(host)) {
        goto invalid;
    }

    len = (size_t) (colon - h);
    memcpy(host, h, len);
    host[len] = '\0';

    errno = 0;
    port = strtoul(colon + 1 + v6, &end, 10);

    if (inet_pton(v6 ? AF_INET6 : AF_INET, host, buf) != 1
        || !isdigit((unsigned char) colon[1 + v6]) || *end != '\0'
        || errno != 0 || port == 0 || port > 65535)
    {
        goto invalid;
    }

    hostp = (char **) ((char *) conf + it->off);
    free(*hostp);

    *hostp = strdup(host);
    if (*hostp == NULL) {
        snprintf(err, CTLD_CF_ERRLEN, "out of memory");
        return CTLD_ERROR;
    }

    *(int *) ((char *) conf + it->off2) = (int) port;
    return CTLD_OK;

invalid:

    snprintf(err, CTLD_CF_ERRLEN,
             "expected IP:port or [IPv6]:port (no host names)");
    return CTLD_ERROR;
}


static int
ctld_config_name(const ctld_cf_name_t *names, const char *s, size_t len,
    unsigned *value)
{
    while (len > 0 && isspace((unsigned char) s[len - 1])) {
        len--;
    }

    for ( /* void */ ; names->name != NULL; names++) {
        if (strlen(names->name) == len && memcmp(names->name, s, len) == 0) {
            *value = names->value;
            return CTLD_OK;
        }
    }

    return CTLD_ERROR;
}


static char *
ctld_config_trim(char *s)
{
    char  *end;

    while (isspace((unsigned char) *s)) {
        s++;
    }

    end = s + strlen(s);

    while (end > s && isspace((unsigned char) end[-1])) {
        end--;
    }

    *end = '\0';
    return s;
}


/* Cross-setting checks and computed defaults. */
static int
ctld_config_finish(ctld_config_t *conf)
{
    char  host[HOST_NAME_MAX + 1], buf[HOST_NAME_MAX + 32];

    if (conf->database_url == NULL) {
        ctld_log(CTLD_LOG_ERROR, "config", "database_url is required");
        goto failed;
    }

    /* admin_token is checked by the admin role: migrate needs none */

    if (conf->table_path == NULL || conf->usage_stream == NULL
        || conf->usage_group == NULL || conf->sql_dir == NULL)
    {
        ctld_log(CTLD_LOG_ERROR, "config", "table_path, usage_stream, "
                 "usage_group and sql_dir may not be empty");
        goto failed;
    }

    if (conf->consumer == NULL) {
        if (gethostname(host, sizeof(host)) != 0) {
            snprintf(host, sizeof(host), "controld");
        }

        host[sizeof(host) - 1] = '\0';
        snprintf(buf, sizeof(buf), "%s-%ld", host, (long) getpid());

        conf->consumer = strdup(buf);
        if (conf->consumer == NULL) {
            ctld_log(CTLD_LOG_ERROR, "config", "out of memory");
            goto failed;
        }
    }

    return CTLD_OK;

failed:

    ctld_config_free(conf);
    return CTLD_ERROR;
}
