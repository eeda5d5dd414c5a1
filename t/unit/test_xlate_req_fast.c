/*
 * Unit tests (TAP) for the request translator's fast path
 * (sluice_xlate_req_*.c): every request of the golden corpus, of the
 * client fixtures (from its caller's dialect to every other) and of
 * mutations of them (members removed, values of every type put in,
 * duplicate keys, escapes, unicode, reals, huge numbers, truncations)
 * translated with the fast path and without it (SLUICE_XLATE_NO_FAST):
 * the fast path gives the same bytes and names, or declines.  And it
 * must not decline the bench's body and the main fixtures of the
 * directions it covers.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "sluice_xlate_int.h"


#define GOLDEN_DIR  "t/xlate/request"
#define BENCH_BODY  "t/bench/chat-1k.json"
#define MODEL       "upstream-model"


static void ok(int cond, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *read_file(const char *path, size_t *len);
static int dialect(const char *s, size_t n);
static int same(const char *name, int from, int to, unsigned flags,
    const char *body, size_t len, int *fast);
static int same_all(const char *name, int from, const char *body,
    size_t len, int *fast);
static int same_json(const char *name, int from, json_t *v, int *fast);
static int same_compact(const char *name, int from, json_t *v,
    int *fast);
static void test_goldens(void);
static void test_fixtures(const char *dir);
static void test_mutations(void);
static int mutate_tree(const char *name, int from, json_t *root,
    json_t *v, int *nfast, int *n);
static int mutate_text(const char *name, int from, const char *body,
    size_t len, int *nfast, int *n);
static void test_engaged(const char *dir);


static int      tests;
static int      failed;
static json_t  *bodies;     /* chat bodies to mutate */
static json_t  *mbodies;    /* messages bodies to mutate */


static void
ok(int cond, const char *fmt, ...)
{
    va_list  args;

    tests++;
    failed += !cond;
    printf("%s %d - ", cond ? "ok" : "not ok", tests);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");
}


static char *
read_file(const char *path, size_t *len)
{
    FILE  *f;
    char  *p;
    long   n;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    p = malloc(n + 1);
    if (p == NULL || fread(p, 1, n, f) != (size_t) n) {
        fclose(f);
        free(p);
        return NULL;
    }

    fclose(f);
    p[n] = '\0';
    *len = n;

    return p;
}


static int
dialect(const char *s, size_t n)
{
    if (n == 4 && strncmp(s, "chat", 4) == 0) {
        return SLUICE_XLATE_CHAT;
    }

    if (n == 9 && strncmp(s, "responses", 9) == 0) {
        return SLUICE_XLATE_RESPONSES;
    }

    if (n == 8 && strncmp(s, "messages", 8) == 0) {
        return SLUICE_XLATE_MESSAGES;
    }

    return -1;
}


/*
 * 1 when the fast path declines, or gives what jansson gives (bytes and
 * names); *fast counts the times it did not decline.
 */
static int
same(const char *name, int from, int to, unsigned flags, const char *body,
    size_t len, int *fast)
{
    int                    rc_slow, rc_fast, good;
    sluice_buf_t           slow, quick;
    sluice_xlate_err_t     err;
    sluice_xlate_names_t  *names_slow, *names_fast;

    sluice_buf_init(&slow);
    sluice_buf_init(&quick);

    /* out already holds bytes: the fast path must append, or leave it */
    sluice_buf_append_str(&slow, "<>");
    sluice_buf_append_str(&quick, "<>");

    rc_fast = sluice_xlate_request_fast(from, to, flags, body, len, MODEL,
                                        &quick, &names_fast);

    /* a decline leaves the output alone; only a translation is compared */
    names_slow = NULL;
    rc_slow = SLUICE_XLATE_DECLINED;
    err.message[0] = '\0';

    if (rc_fast != SLUICE_XLATE_DECLINED) {
        rc_slow = sluice_xlate_request_ex(from, to,
                                          flags | SLUICE_XLATE_NO_FAST, body,
                                          len, MODEL, &slow, &names_slow,
                                          &err);
    }

    if (rc_fast == SLUICE_XLATE_DECLINED) {
        good = quick.len == 2 && memcmp(quick.data, "<>", 3) == 0
               && names_fast == NULL;

    } else {
        (*fast)++;
        good = rc_fast == SLUICE_XLATE_OK && rc_slow == SLUICE_XLATE_OK
               && quick.len == slow.len
               && memcmp(quick.data, slow.data, slow.len) == 0
               && names_slow == NULL && names_fast == NULL;
    }

    if (!good) {
        printf("# %s %d -> %d flags %u: fast %d slow %d (%s)\n"
               "# body: %.*s\n# slow: %s\n# fast: %s\n", name, from, to,
               flags, rc_fast, rc_slow, err.message, (int) len, body,
               slow.data, quick.data);
    }

    sluice_xlate_names_free(names_slow);
    sluice_xlate_names_free(names_fast);
    sluice_buf_free(&slow);
    sluice_buf_free(&quick);

    return good;
}


/* from one dialect to both others, with and without reasoning */
static int
same_all(const char *name, int from, const char *body, size_t len,
    int *fast)
{
    int       to, good;
    unsigned  flags;

    good = 1;

    for (to = 0; to <= SLUICE_XLATE_MESSAGES; to++) {
        for (flags = 0; to != from && flags <= SLUICE_XLATE_NO_REASONING;
             flags++)
        {
            good &= same(name, from, to, flags, body, len, fast);
        }
    }

    return good;
}


/* v dumped compact, indented, and with every escape jansson makes */
static int
same_json(const char *name, int from, json_t *v, int *fast)
{
    int      good;
    char    *s;
    size_t   i;

    static const size_t  dumps[] = {
        JSON_COMPACT, JSON_INDENT(2), JSON_COMPACT | JSON_ENSURE_ASCII
        | JSON_ESCAPE_SLASH, JSON_COMPACT | JSON_REAL_PRECISION(17)
    };

    good = 1;

    for (i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
        s = json_dumps(v, dumps[i]);

        if (s) {
            good &= same_all(name, from, s, strlen(s), fast);
            free(s);
        }
    }

    return good;
}


static int
same_compact(const char *name, int from, json_t *v, int *fast)
{
    int    good;
    char  *s;

    s = json_dumps(v, JSON_COMPACT);
    good = s && same_all(name, from, s, strlen(s), fast);
    free(s);

    return good;
}


static void
test_goldens(void)
{
    int              n, i, from, good, fast;
    char             path[512], *text;
    size_t           len;
    json_t          *v;
    const char      *name, *dash;
    struct dirent  **names;

    n = scandir(GOLDEN_DIR, &names, NULL, alphasort);
    ok(n > 0, "golden request corpus found");

    for (i = 0; i < n; i++) {
        name = names[i]->d_name;
        dash = strchr(name, '-');

        if (strstr(name, ".in.") == NULL || dash == NULL) {
            free(names[i]);
            continue;
        }

        from = dialect(name, dash - name);
        snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
        text = read_file(path, &len);
        fast = 0;

        good = text && from >= 0 && same_all(name, from, text, len, &fast);
        ok(good, "%s: the fast path agrees (%d translated)", name, fast);

        v = text ? json_loadb(text, len, 0, NULL) : NULL;

        if (from == SLUICE_XLATE_CHAT && json_is_object(v)) {
            json_array_append(bodies, v);
        }

        if (from == SLUICE_XLATE_MESSAGES && json_is_object(v)) {
            json_array_append(mbodies, v);
        }

        json_decref(v);
        free(text);
        free(names[i]);
    }

    free(names);
}


/* every request body of the fixtures, from its caller's dialect */
static void
test_fixtures(const char *dir)
{
    int              n, i, from, good, fast;
    char             path[1024];
    size_t           k;
    json_t          *fx, *req, *body;
    const char      *p;
    struct dirent  **names;

    n = scandir(dir, &names, NULL, alphasort);

    if (n < 0) {
        ok(1, "# SKIP no fixtures directory %s", dir);
        return;
    }

    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        free(names[i]);
        fx = strstr(path, ".json") ? json_load_file(path, 0, NULL) : NULL;

        json_array_foreach(json_object_get(fx, "requests"), k, req) {
            p = json_string_value(json_object_get(req, "path"));
            body = json_object_get(req, "body");

            from = p == NULL ? -1
                   : strcmp(p, "/v1/chat/completions") == 0 ? SLUICE_XLATE_CHAT
                   : strcmp(p, "/v1/responses") == 0 ? SLUICE_XLATE_RESPONSES
                   : strcmp(p, "/v1/messages") == 0 ? SLUICE_XLATE_MESSAGES
                   : -1;

            if (from < 0 || !json_is_object(body)) {
                continue;
            }

            fast = 0;
            good = same_json(path, from, body, &fast);
            ok(good, "%s #%zu: the fast path agrees (%d translated)", path,
               k, fast);

            if (from == SLUICE_XLATE_CHAT) {
                json_array_append(bodies, body);
            }

            /* the big bodies once: each is ~80 KB */
            if (from == SLUICE_XLATE_MESSAGES && k == 1
                && strstr(path, "claude-code-tool-bash") == NULL)
            {
                continue;
            }

            if (from == SLUICE_XLATE_MESSAGES) {
                json_array_append(mbodies, body);
            }
        }

        json_decref(fx);
    }

    free(names);
}


/* values put in place of each member and element in turn */
static const char  *swaps[] = {
    "null", "true", "false", "0", "-1", "1", "2", "7", "0.7", "1.0",
    "0.95", "-0.0", "1.5", "123456789012345678", "\"\"", "\" \\n\"",
    "\"x\"", "\"auto\"", "\"none\"", "\"required\"", "\"function\"",
    "\"user\"", "\"assistant\"", "\"tool\"", "\"system\"", "\"text\"",
    "\"image_url\"", "\"high\"", "\"json_schema\"", "\"data:image/png;"
    "base64,AAAA\"", "\"caf\\u00e9 \\ud83d\\ude00 \\/ \\u0001\"",
    "\"{\\\"a\\\":[1,2.5,{\\\"b\\\":null}]}\"", "[]", "{}", "[\"a\"]",
    "[\" \",\"\\t\",\"END\"]", "{\"type\":\"function\"}",
    "{\"name\":\"f\"}", "{\"type\":\"json_schema\",\"json_schema\":"
    "{\"schema\":{}}}", NULL
};


/*
 * Each member of every object in v (and each element of every array)
 * removed, then replaced by each of swaps[], the whole body checked
 * each time.
 */
static int
mutate_tree(const char *name, int from, json_t *root, json_t *v,
    int *nfast, int *n)
{
    int          good;
    size_t       i, j, nkeys;
    json_t      *val, *sw, *keys, *later;
    const char  *key, **s;

    good = 1;

    if (json_is_object(v)) {
        keys = json_array();

        json_object_foreach(v, key, val) {
            json_array_append_new(keys, json_string(key));
        }

        nkeys = json_array_size(keys);

        for (i = 0; i < nkeys; i++) {
            key = json_string_value(json_array_get(keys, i));
            val = json_incref(json_object_get(v, key));

            for (s = swaps; *s; s++) {
                sw = json_loads(*s, JSON_DECODE_ANY, NULL);
                json_object_set_new(v, key, sw);
                good &= same_compact(name, from, root, nfast);
                (*n)++;
            }

            json_object_set(v, key, val);
            good &= mutate_tree(name, from, root, val, nfast, n);

            /* removed, then put back where it was */
            json_object_del(v, key);
            good &= same_json(name, from, root, nfast);
            (*n)++;
            json_object_set(v, key, val);

            for (j = i + 1; j < nkeys; j++) {
                later = json_incref(json_object_get(v,
                            json_string_value(json_array_get(keys, j))));
                json_object_del(v, json_string_value(json_array_get(keys,
                                                                    j)));
                json_object_set_new(v, json_string_value(json_array_get(keys,
                                                                        j)),
                                    later);
            }

            json_decref(val);
        }

        json_decref(keys);

    } else if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++) {
            val = json_incref(json_array_get(v, i));
            json_array_remove(v, i);
            good &= same_json(name, from, root, nfast);
            (*n)++;
            json_array_insert_new(v, i, val);
            good &= mutate_tree(name, from, root, val, nfast, n);
        }
    }

    return good;
}


/* textual mutations: cuts, duplicate keys, numbers jansson reads */
static int
mutate_text(const char *name, int from, const char *body, size_t len,
    int *nfast, int *n)
{
    int          good;
    char          *at;
    size_t         cut, i;
    const char   **r;
    sluice_buf_t   m;

    static const char  *reals[] = {
        "0.7", "0.70", "1.0", "0.1234567890123456789", "2", "1e0", "-0.0",
        "0", "0.3333333333333333", "1E-2", "0.000001", "1.00000000000000001",
        "99999999999999999999", "-5", "0.1e1", "1.", ".5", "01", NULL
    };

    good = 1;

    /* truncations */
    for (cut = 0; cut < len; cut += len / 37 + 1) {
        good &= same_all(name, from, body, cut, nfast);
        (*n)++;
    }

    sluice_buf_init(&m);

    /* a duplicate member at the top and in the first message */
    sluice_buf_append(&m, body, len - 1);
    sluice_buf_append_str(&m, ",\"model\":\"again\"}");
    good &= same_all(name, from, m.data, m.len, nfast);
    (*n)++;

    at = strstr(body, "\"role\":");

    if (at) {
        sluice_buf_reset(&m);
        sluice_buf_append(&m, body, at - body);
        sluice_buf_append_str(&m, "\"role\":\"user\",");
        sluice_buf_append_str(&m, at);
        good &= same_all(name, from, m.data, m.len, nfast);
        (*n)++;
    }

    /* temperature and top_p written in many ways */
    for (r = reals; *r; r++) {
        for (i = 0; i < 2; i++) {
            sluice_buf_reset(&m);
            sluice_buf_append(&m, body, len - 1);
            sluice_buf_append_str(&m, i ? ",\"top_p\":" : ",\"temperature\":");
            sluice_buf_append_str(&m, *r);
            sluice_buf_append_str(&m, "}");

            good &= same_all(name, from, m.data, m.len, nfast);
            (*n)++;
        }
    }

    sluice_buf_free(&m);

    return good;
}


static void
test_mutations(void)
{
    int      good, nfast, n;
    char    *s;
    size_t   i;
    json_t  *body, *copy;

    json_array_foreach(bodies, i, body) {
        copy = json_deep_copy(body);
        nfast = 0;
        n = 0;

        good = mutate_tree("mutation", SLUICE_XLATE_CHAT, copy, copy,
                           &nfast, &n);

        s = json_dumps(body, JSON_COMPACT);
        good &= s && mutate_text("text mutation", SLUICE_XLATE_CHAT, s,
                                 strlen(s), &nfast, &n);
        free(s);

        ok(good, "chat body %zu: %d mutations agree (%d translated)", i, n,
           nfast);

        json_decref(copy);
    }

    json_array_foreach(mbodies, i, body) {
        copy = json_deep_copy(body);
        nfast = 0;
        n = 0;

        /* a coding agent's 30 tools are alike: two are enough here */
        while (json_array_size(json_object_get(copy, "tools")) > 2) {
            json_array_remove(json_object_get(copy, "tools"), 2);
        }

        good = mutate_tree("mutation", SLUICE_XLATE_MESSAGES, copy, copy,
                           &nfast, &n);

        s = json_dumps(body, JSON_COMPACT);
        good &= s && mutate_text("text mutation", SLUICE_XLATE_MESSAGES, s,
                                 strlen(s), &nfast, &n);
        free(s);

        ok(good, "messages body %zu: %d mutations agree (%d translated)", i,
           n, nfast);

        json_decref(copy);
    }
}


/* the fast path takes the bench's body and the main fixtures */
static void
test_engaged(const char *dir)
{
    int                    rc;
    char                  *text, path[1024];
    size_t                 len, k, i;
    json_t                *fx, *req;
    sluice_buf_t           out;
    sluice_xlate_names_t  *names;

    int                    from, to;
    const char            *p;

    static const char  *chat[] = {
        "openai-sdk-chat-plain.json", "openai-sdk-chat-tools.json",
        "openai-sdk-chat-image.json", "openai-sdk-chat-stream.json",
        "openai-sdk-chat-tools-stream.json", "claude-code-tool-bash.json",
        "claude-code-print-text.json", "claude-code-image-stdin.json",
        "claude-code-model-haiku.json", "anthropic-sdk-messages-plain.json",
        "anthropic-sdk-messages-tools.json",
        "anthropic-sdk-messages-image.json", NULL
    };

    text = read_file(BENCH_BODY, &len);
    sluice_buf_init(&out);

    rc = text ? sluice_xlate_request_fast(SLUICE_XLATE_CHAT,
                    SLUICE_XLATE_MESSAGES, 0, text, len, MODEL, &out, &names)
              : SLUICE_XLATE_ERROR;

    ok(rc == SLUICE_XLATE_OK, "bench body: chat -> messages is fast");
    sluice_buf_free(&out);
    free(text);

    for (i = 0; chat[i]; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, chat[i]);
        fx = json_load_file(path, 0, NULL);

        if (fx == NULL) {
            ok(1, "# SKIP no fixture %s", path);
            continue;
        }

        json_array_foreach(json_object_get(fx, "requests"), k, req) {
            p = json_string_value(json_object_get(req, "path"));

            if (!json_is_object(json_object_get(req, "body")) || p == NULL
                || (strcmp(p, "/v1/messages") != 0
                    && strcmp(p, "/v1/chat/completions") != 0))
            {
                continue;
            }

            from = strcmp(p, "/v1/messages") == 0 ? SLUICE_XLATE_MESSAGES
                                                  : SLUICE_XLATE_CHAT;
            to = from == SLUICE_XLATE_CHAT ? SLUICE_XLATE_MESSAGES
                                           : SLUICE_XLATE_CHAT;

            text = json_dumps(json_object_get(req, "body"), JSON_COMPACT);
            sluice_buf_init(&out);
            rc = sluice_xlate_request_fast(from, to, 0, text, strlen(text),
                                           MODEL, &out, &names);
            ok(rc == SLUICE_XLATE_OK, "%s #%zu: %d -> %d is fast", chat[i],
               k, from, to);
            sluice_buf_free(&out);
            free(text);
        }

        json_decref(fx);
    }
}


int
main(int argc, char **argv)
{
    const char  *dir;

    dir = argc > 1 ? argv[1] : "../shared/clients/fixtures";
    bodies = json_array();
    mbodies = json_array();

    test_goldens();
    test_fixtures(dir);
    test_mutations();
    test_engaged(dir);

    json_decref(bodies);
    json_decref(mbodies);
    printf("1..%d\n", tests);

    return failed ? 1 : 0;
}
