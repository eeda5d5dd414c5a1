/* controld/sluice_cli.c: `sluice`, the command line client of the admin API. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <jansson.h>
#include "controld.h"

#define CLI_OK          0
#define CLI_HTTP_ERROR  1       /* the server answered >= 400 */
#define CLI_USAGE       2
#define CLI_FAILED      3       /* no answer at all */

#define CLI_DEFAULT_URL "http://127.0.0.1:8081"
#define CLI_TIMEOUT     30L
#define CLI_URL_MAX     4096

/* command flags */
#define CLI_ID          0x1     /* takes NAME or ID */
#define CLI_BODY        0x2     /* options go into a JSON body */

typedef enum {
    CLI_STR = 1,                /* a string */
    CLI_INT,                    /* an integer */
    CLI_JSON,                   /* a JSON value, e.g. '{"vision":true}' */
    CLI_LIST,                   /* repeatable, collected into an array */
    CLI_ENV,                    /* the value of the named variable */
    CLI_TIME,                   /* RFC 3339, or "never" for null */
    CLI_QUERY                   /* a query string parameter */
} cli_type_e;

typedef struct {
    const char         *opt;
    const char         *field;
    cli_type_e          type;
} cli_opt_t;

typedef struct {
    const char         *resource;
    const char         *verb;
    const char         *method;
    const char         *suffix;     /* after /ID, e.g. "/revoke" */
    unsigned            flags;
    const cli_opt_t    *opts;
} cli_cmd_t;

typedef struct {
    const char         *url;
    const char         *token;
    const cli_cmd_t    *cmd;
    const char         *id;
    json_t             *body;
    char                query[CLI_URL_MAX];
} cli_t;

typedef struct {
    char               *data;
    size_t              len;
} cli_buf_t;


static int cli_globals(cli_t *cli, int *argc, char **argv);
static const cli_cmd_t *cli_find(const char *resource, const char *verb);
static int cli_args(cli_t *cli, int argc, char **argv);
static int cli_option(cli_t *cli, const char *name, const char *value);
static int cli_set(cli_t *cli, const cli_opt_t *o, const char *value);
static json_t *cli_value(const cli_opt_t *o, const char *value);
static int cli_add_query(cli_t *cli, const char *name, const char *value);
static int cli_request(cli_t *cli);
static int cli_headers(cli_t *cli, struct curl_slist **h);
static int cli_url(cli_t *cli, CURL *curl, char *buf, size_t size);
static int cli_print(long status, cli_buf_t *out);
static size_t cli_write(char *p, size_t size, size_t n, void *arg);
static void cli_usage(FILE *f);


static const cli_opt_t  cli_key_create[] = {
    { "user", "user", CLI_STR },
    { "project", "project", CLI_STR },
    { "env", "environment", CLI_STR },
    { "group", "groups", CLI_LIST },
    { "expires", "expires_at", CLI_TIME },
    { "name", "name", CLI_STR },
    { NULL, NULL, 0 }
};

static const cli_opt_t  cli_key_update[] = {
    { "status", "status", CLI_STR },
    { "group", "groups", CLI_LIST },
    { "expires", "expires_at", CLI_TIME },
    { "name", "name", CLI_STR },
    { NULL, NULL, 0 }
};

static const cli_opt_t  cli_key_list[] = {
    { "user", "user", CLI_QUERY },
    { "project", "project", CLI_QUERY },
    { "status", "status", CLI_QUERY },
    { "limit", "limit", CLI_QUERY },
    { NULL, NULL, 0 }
};

static const cli_opt_t  cli_provider[] = {
    { "name", "name", CLI_STR },
    { "base-url", "base_url", CLI_STR },
    { "dialect", "dialect", CLI_STR },
    { "auth-kind", "auth_kind", CLI_STR },
    { "credential", "credential", CLI_STR },
    { "credential-env", "credential", CLI_ENV },
    { NULL, NULL, 0 }
};

static const cli_opt_t  cli_target[] = {
    { "name", "name", CLI_STR },
    { "provider", "provider", CLI_STR },
    { "model", "model", CLI_STR },
    { "weight", "weight", CLI_INT },
    { "capabilities", "capabilities", CLI_JSON },
    { "prices", "prices", CLI_JSON },
    { NULL, NULL, 0 }
};

static const cli_opt_t  cli_group[] = {
    { "name", "name", CLI_STR },
    { "strategy", "strategy", CLI_STR },
    { "description", "description", CLI_STR },
    { "idle-timeout-ms", "idle_timeout_ms", CLI_INT },
    { "target", "targets", CLI_LIST },
    { NULL, NULL, 0 }
};

static const cli_opt_t  cli_user[] = {
    { "name", "name", CLI_STR },
    { "email", "email", CLI_STR },
    { NULL, NULL, 0 }
};

static const cli_opt_t  cli_project[] = {
    { "name", "name", CLI_STR },
    { "description", "description", CLI_STR },
    { NULL, NULL, 0 }
};

static const cli_opt_t  cli_none[] = {
    { NULL, NULL, 0 }
};

#define CLI_CRUD(res, opts)                                                   \
    { res, "list", "GET", NULL, 0, cli_none },                                \
    { res, "show", "GET", NULL, CLI_ID, cli_none },                           \
    { res, "create", "POST", NULL, CLI_BODY, opts },                          \
    { res, "update", "PATCH", NULL, CLI_ID | CLI_BODY, opts },                \
    { res, "delete", "DELETE", NULL, CLI_ID, cli_none }

static const cli_cmd_t  cli_cmds[] = {
    { "keys", "create", "POST", NULL, CLI_BODY, cli_key_create },
    { "keys", "list", "GET", NULL, 0, cli_key_list },
    { "keys", "show", "GET", NULL, CLI_ID, cli_none },
    { "keys", "update", "PATCH", NULL, CLI_ID | CLI_BODY, cli_key_update },
    { "keys", "revoke", "POST", "/revoke", CLI_ID, cli_none },
    CLI_CRUD("providers", cli_provider),
    CLI_CRUD("targets", cli_target),
    CLI_CRUD("groups", cli_group),
    CLI_CRUD("users", cli_user),
    CLI_CRUD("projects", cli_project),
    { NULL, NULL, NULL, NULL, 0, NULL }
};

static const cli_cmd_t  cli_version = {
    "version", NULL, "GET", NULL, 0, cli_none
};


int
main(int argc, char **argv)
{
    cli_t  cli;
    int    rc;

    memset(&cli, 0, sizeof(cli));
    cli.url = getenv("SLUICE_ADMIN_URL");
    cli.token = getenv("SLUICE_ADMIN_TOKEN");

    rc = cli_globals(&cli, &argc, argv);
    if (rc != CLI_OK) {
        return rc;
    }

    if (argc >= 2 && strcmp(argv[1], "version") == 0) {
        cli.cmd = &cli_version;

    } else {
        cli.cmd = (argc >= 3) ? cli_find(argv[1], argv[2]) : NULL;
        if (cli.cmd == NULL) {
            cli_usage(stderr);
            return CLI_USAGE;
        }
    }

    rc = cli_args(&cli, argc - (cli.cmd == &cli_version ? 2 : 3),
                  argv + (cli.cmd == &cli_version ? 2 : 3));

    if (rc == CLI_OK) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            json_decref(cli.body);
            return CLI_FAILED;
        }

        rc = cli_request(&cli);
        curl_global_cleanup();
    }

    json_decref(cli.body);

    return rc;
}


/* takes --url, --token, --help and --version out of argv, anywhere */
static int
cli_globals(cli_t *cli, int *argc, char **argv)
{
    int          i, n;
    const char  *a;

    for (i = 1, n = 1; i < *argc; i++) {
        a = argv[i];

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_usage(stdout);
            exit(CLI_OK);
        }

        if (strcmp(a, "--version") == 0) {
            printf("sluice %s (%s, %s)\n", CTLD_VERSION, CTLD_COMMIT,
                   CTLD_BUILD_TIME);
            exit(CLI_OK);
        }

        if ((strcmp(a, "--url") == 0 || strcmp(a, "--token") == 0)
            && i + 1 < *argc)
        {
            *(a[2] == 'u' ? &cli->url : &cli->token) = argv[++i];
            continue;
        }

        if (strncmp(a, "--url=", 6) == 0 || strncmp(a, "--token=", 8) == 0) {
            *(a[2] == 'u' ? &cli->url : &cli->token) = strchr(a, '=') + 1;
            continue;
        }

        argv[n++] = argv[i];
    }

    *argc = n;

    return CLI_OK;
}


static const cli_cmd_t *
cli_find(const char *resource, const char *verb)
{
    const cli_cmd_t  *c;

    for (c = cli_cmds; c->resource != NULL; c++) {
        if (strcmp(c->resource, resource) == 0 && strcmp(c->verb, verb) == 0)
        {
            return c;
        }
    }

    return NULL;
}


/* [ID] then --option value (or --option=value) pairs */
static int
cli_args(cli_t *cli, int argc, char **argv)
{
    char  *name, *value, *eq;
    int    i;

    i = 0;

    if (cli->cmd->flags & CLI_ID) {
        if (argc < 1 || strncmp(argv[0], "--", 2) == 0) {
            fprintf(stderr, "sluice: %s %s needs a NAME or ID\n",
                    cli->cmd->resource, cli->cmd->verb);
            return CLI_USAGE;
        }

        cli->id = argv[i++];
    }

    if (cli->cmd->flags & CLI_BODY) {
        cli->body = json_object();
        if (cli->body == NULL) {
            return CLI_FAILED;
        }
    }

    for ( /* void */ ; i < argc; i++) {
        name = argv[i];
        eq = strchr(name, '=');

        if (strncmp(name, "--", 2) != 0 || (eq == NULL && i + 1 >= argc)) {
            fprintf(stderr, "sluice: unexpected argument '%s'\n", name);
            return CLI_USAGE;
        }

        if (eq != NULL) {
            *eq = '\0';
            value = eq + 1;

        } else {
            value = argv[++i];
        }

        if (cli_option(cli, name + 2, value) != CLI_OK) {
            return CLI_USAGE;
        }
    }

    return CLI_OK;
}


static int
cli_option(cli_t *cli, const char *name, const char *value)
{
    const cli_opt_t  *o;

    for (o = cli->cmd->opts; o->opt != NULL; o++) {
        if (strcmp(o->opt, name) == 0) {
            return cli_set(cli, o, value);
        }
    }

    fprintf(stderr, "sluice: %s %s has no option --%s\n",
            cli->cmd->resource, cli->cmd->verb, name);

    return CLI_USAGE;
}


static int
cli_set(cli_t *cli, const cli_opt_t *o, const char *value)
{
    json_t  *v, *list;

    if (o->type == CLI_QUERY) {
        return cli_add_query(cli, o->field, value);
    }

    if (o->type == CLI_LIST) {
        list = json_object_get(cli->body, o->field);
        if (list == NULL) {
            list = json_array();
            json_object_set_new(cli->body, o->field, list);
        }

        return json_array_append_new(list, json_string(value)) == 0
               ? CLI_OK : CLI_USAGE;
    }

    v = cli_value(o, value);
    if (v == NULL) {
        return CLI_USAGE;
    }

    if (json_object_set_new(cli->body, o->field, v) != 0) {
        fprintf(stderr, "sluice: --%s: invalid value\n", o->opt);
        return CLI_USAGE;
    }

    return CLI_OK;
}


/* the JSON value of one option; NULL (said why) when it is not valid */
static json_t *
cli_value(const cli_opt_t *o, const char *value)
{
    json_t        *v;
    json_error_t   jerr;
    char          *end;
    long long      n;

    switch (o->type) {

    case CLI_INT:
        errno = 0;
        n = strtoll(value, &end, 10);
        if (*value == '\0' || *end != '\0' || errno != 0) {
            fprintf(stderr, "sluice: --%s needs an integer\n", o->opt);
            return NULL;
        }

        return json_integer(n);

    case CLI_JSON:
        v = json_loads(value, JSON_DECODE_ANY, &jerr);
        if (v == NULL) {
            fprintf(stderr, "sluice: --%s: %s\n", o->opt, jerr.text);
        }

        return v;

    case CLI_ENV:
        value = getenv(value);
        if (value == NULL) {
            fprintf(stderr, "sluice: --%s: variable not set\n", o->opt);
            return NULL;
        }

        break;

    case CLI_TIME:
        if (strcmp(value, "never") == 0) {
            return json_null();
        }

        break;

    default:
        break;
    }

    v = json_string(value);
    if (v == NULL) {
        fprintf(stderr, "sluice: --%s: not valid UTF-8\n", o->opt);
    }

    return v;
}


static int
cli_add_query(cli_t *cli, const char *name, const char *value)
{
    char    *esc;
    size_t   len;
    int      n;

    esc = curl_easy_escape(NULL, value, 0);
    if (esc == NULL) {
        return CLI_USAGE;
    }

    len = strlen(cli->query);
    n = snprintf(cli->query + len, sizeof(cli->query) - len, "%c%s=%s",
                 len ? '&' : '?', name, esc);
    curl_free(esc);

    if (n < 0 || (size_t) n >= sizeof(cli->query) - len) {
        fprintf(stderr, "sluice: query too long\n");
        return CLI_USAGE;
    }

    return CLI_OK;
}


static int
cli_request(cli_t *cli)
{
    CURL               *curl;
    struct curl_slist  *h;
    cli_buf_t           out;
    char                url[CLI_URL_MAX], *body;
    long                status;
    CURLcode            rc;
    int                 ret;

    curl = curl_easy_init();
    h = NULL;
    body = NULL;
    out.data = NULL;
    out.len = 0;

    ret = (curl == NULL) ? CLI_FAILED : cli_url(cli, curl, url, sizeof(url));
    if (ret != CLI_OK || (ret = cli_headers(cli, &h)) != CLI_OK) {
        goto failed;
    }

    ret = CLI_FAILED;

    if (cli->body != NULL) {
        body = json_dumps(cli->body, JSON_COMPACT);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, cli->cmd->method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, CLI_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, cli_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);

    rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        fprintf(stderr, "sluice: %s: %s\n", cli->url,
                curl_easy_strerror(rc));
        goto failed;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    ret = cli_print(status, &out);

failed:

    free(out.data);
    free(body);
    curl_slist_free_all(h);
    if (curl != NULL) {
        curl_easy_cleanup(curl);
    }

    return ret;
}


static int
cli_headers(cli_t *cli, struct curl_slist **h)
{
    char  auth[1024];

    if (cli->cmd != &cli_version) {
        if (cli->token == NULL || cli->token[0] == '\0') {
            fprintf(stderr, "sluice: set SLUICE_ADMIN_TOKEN or --token\n");
            return CLI_USAGE;
        }

        if ((size_t) snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
                              cli->token) >= sizeof(auth))
        {
            fprintf(stderr, "sluice: token too long\n");
            return CLI_USAGE;
        }

        *h = curl_slist_append(*h, auth);
    }

    *h = curl_slist_append(*h, "Accept: application/json");

    if (cli->body != NULL) {
        *h = curl_slist_append(*h, "Content-Type: application/json");
    }

    return (*h != NULL) ? CLI_OK : CLI_FAILED;
}


/* base + /version or /admin/v1/<resource>[/<escaped id>[suffix]][?query] */
static int
cli_url(cli_t *cli, CURL *curl, char *buf, size_t size)
{
    char    *id;
    size_t   len;
    int      n;

    if (cli->url == NULL || cli->url[0] == '\0') {
        cli->url = CLI_DEFAULT_URL;
    }

    len = strlen(cli->url);
    while (len > 0 && cli->url[len - 1] == '/') {
        len--;
    }

    if (cli->cmd == &cli_version) {
        n = snprintf(buf, size, "%.*s/version", (int) len, cli->url);
        return (n > 0 && (size_t) n < size) ? CLI_OK : CLI_FAILED;
    }

    id = cli->id ? curl_easy_escape(curl, cli->id, 0) : NULL;
    if (cli->id != NULL && id == NULL) {
        return CLI_FAILED;
    }

    n = snprintf(buf, size, "%.*s/admin/v1/%s%s%s%s%s", (int) len, cli->url,
                 cli->cmd->resource, id ? "/" : "", id ? id : "",
                 cli->cmd->suffix ? cli->cmd->suffix : "", cli->query);
    curl_free(id);

    return (n > 0 && (size_t) n < size) ? CLI_OK : CLI_FAILED;
}


/* the answer, pretty when it is JSON, on stdout; exit status from HTTP */
static int
cli_print(long status, cli_buf_t *out)
{
    json_t        *j;
    json_error_t   jerr;

    j = out->len ? json_loadb(out->data, out->len, JSON_DECODE_ANY, &jerr)
                 : NULL;

    if (j != NULL) {
        json_dumpf(j, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(j);

    } else if (out->len > 0) {
        fwrite(out->data, 1, out->len, stdout);
    }

    fflush(stdout);

    if (status >= 400) {
        fprintf(stderr, "sluice: HTTP %ld\n", status);
        return CLI_HTTP_ERROR;
    }

    return CLI_OK;
}


static size_t
cli_write(char *p, size_t size, size_t n, void *arg)
{
    cli_buf_t  *b = arg;
    char       *d;

    d = realloc(b->data, b->len + size * n + 1);
    if (d == NULL) {
        return 0;
    }

    memcpy(d + b->len, p, size * n);
    b->data = d;
    b->len += size * n;
    b->data[b->len] = '\0';

    return size * n;
}


static void
cli_usage(FILE *f)
{
    fputs(
"usage: sluice [--url URL] [--token TOKEN] COMMAND\n"
"\n"
"  URL and TOKEN default to $SLUICE_ADMIN_URL (else " CLI_DEFAULT_URL ")\n"
"  and $SLUICE_ADMIN_TOKEN; prefer the variable (argv is visible in ps).\n"
"\n"
"  keys create --user U --project P --env E --group G [--group G2]...\n"
"              [--expires RFC3339] [--name N]\n"
"  keys list [--user U] [--project P] [--status S] [--limit N]\n"
"  keys show ID | keys revoke ID\n"
"  keys update ID [--status active|disabled] [--group G]...\n"
"              [--expires RFC3339|never] [--name N]\n"
"  providers create --name N --base-url URL [--dialect chat|responses|"
"messages]\n"
"              [--auth-kind bearer|x-api-key|none]\n"
"              [--credential SECRET | --credential-env VARIABLE]\n"
"  targets create --name N --provider P --model M [--weight W]\n"
"              [--capabilities JSON] [--prices JSON]\n"
"  groups create --name N [--strategy S] [--description D]\n"
"                [--idle-timeout-ms MS] --target T...\n"
"  users create --name N [--email E]\n"
"  projects create --name N [--description D]\n"
"  RESOURCE list | show NAME | update NAME --option... | delete NAME\n"
"  version\n"
"\n"
"Prints the server's JSON answer; exits 1 when it is an HTTP error,\n"
"2 on a usage error, 3 when the server cannot be reached.\n", f);
}
