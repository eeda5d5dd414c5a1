/*
 * Unit tests (TAP) for the stream translator's fast path: the tape
 * (sluice_xlate_tape.c) read against jansson on tricky and mutated
 * texts, and every stream of the golden corpus, of the client fixtures
 * and of generated cases translated with the fast path and without it
 * (SLUICE_XLATE_NO_FAST: jansson decodes every event and packs every
 * frame), which must give the same bytes, end state and usage.
 */

#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "sluice_xlate_int.h"


#define GOLDEN_DIR  "t/xlate/stream"
#define MODEL       "upstream-model"


typedef struct {
    sluice_buf_t     out;
    int              state;
    int              rc;
    unsigned         jansson;   /* events jansson decoded */
    sluice_usage_t   usage;
} run_t;


static void ok(int cond, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *read_file(const char *path, size_t *len);
static int dialect(const char *s, size_t n);
static int emit(void *data, const char *p, size_t len);
static void run(int from, int to, unsigned flags,
    const sluice_xlate_names_t *names, const char *text, size_t len,
    size_t step, run_t *r);
static char *canon(run_t *r);
static int same_both_ways(const char *name, int from, int to,
    unsigned flags, const sluice_xlate_names_t *names, const char *text,
    size_t len);
static json_t *tape_json(sluice_xlate_tape_t *t, int k);
static int tape_agrees(const char *text, size_t len, int *accepted);
static const char *shown(const char *s);
static void test_tape(void);
static void test_tape_mutations(void);
static void test_goldens(void);
static sluice_xlate_names_t *golden_names(const char *path, int from,
    int to);
static void test_fixtures(const char *dir);
static void gen_stream(int from, const char *model,
    const sluice_buf_t *delta, int n, sluice_buf_t *b);
static void gen_check(const char *what, const char *model,
    const sluice_buf_t *delta, int n);
static void test_generated(void);
static void test_escaped(void);
static void test_engaged(void);


static int  test_n;
static int  test_failed;


static void
ok(int cond, const char *fmt, ...)
{
    va_list  args;

    test_n++;

    if (!cond) {
        test_failed++;
    }

    printf("%sok %d - ", cond ? "" : "not ", test_n);
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf("\n");
}


static char *
read_file(const char *path, size_t *len)
{
    FILE    *f;
    char    *p;
    long     n;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    p = malloc(n + 1);
    if (p == NULL || fread(p, 1, n, f) != (size_t) n) {
        free(p);
        fclose(f);
        return NULL;
    }

    p[n] = '\0';
    *len = n;
    fclose(f);

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


static int
emit(void *data, const char *p, size_t len)
{
    return sluice_buf_append(data, p, len);
}


/* feeds text step bytes at a time (0: whole) */
static void
run(int from, int to, unsigned flags, const sluice_xlate_names_t *names,
    const char *text, size_t len, size_t step, run_t *r)
{
    size_t                  i, k;
    sluice_xlate_stream_t  *st;

    sluice_buf_init(&r->out);
    sluice_buf_append(&r->out, "", 0);

    st = sluice_xlate_stream_create_ex(from, to, flags, 0, names);
    r->rc = 0;
    step = step ? step : len;

    for (i = 0; i < len; i += k) {
        k = len - i < step ? len - i : step;
        r->rc |= sluice_xlate_stream_feed(st, text + i, k, emit, &r->out);
    }

    r->rc |= sluice_xlate_stream_finish(st, emit, &r->out);
    r->state = sluice_xlate_stream_state(st);
    r->usage = *sluice_xlate_stream_usage(st);
    r->jansson = st->jansson;

    sluice_xlate_stream_destroy(st);
}


/* the bytes with our generated ids and times blanked, then the end */
static char *
canon(run_t *r)
{
    static const char  *prefixes[] = {
        "chatcmpl-", "resp_", "msg_", "rs_", "fc_", "ctc_", "call_",
        "toolu_", "\"created\":", "\"created_at\":", NULL
    };

    char          *out, *q;
    size_t         i, n, k;
    const char    *p, **pre;

    p = r->out.data;
    n = r->out.len;
    out = malloc(n + 128);
    q = out;
    k = 0;

    for (i = 0; i < n; ) {
        for (pre = prefixes; *pre; pre++) {
            k = strlen(*pre);

            if (n - i >= k && memcmp(p + i, *pre, k) == 0) {
                break;
            }
        }

        if (*pre == NULL) {
            *q++ = p[i++];
            continue;
        }

        memcpy(q, p + i, k);
        q += k;
        i += k;
        *q++ = '*';

        while (i < n && isxdigit((unsigned char) p[i])) {
            i++;
        }
    }

    sprintf(q, "|%d|%d|%lld|%lld|%lld|%lld", r->state, r->rc,
            (long long) r->usage.in, (long long) r->usage.out,
            (long long) r->usage.cached, (long long) r->usage.reasoning);

    return out;
}


/*
 * Fast and jansson-only give the same bytes fed whole, and the fast path
 * the same fed a byte at a time and in 7-byte pieces.
 */
static int
same_both_ways(const char *name, int from, int to, unsigned flags,
    const sluice_xlate_names_t *names, const char *text, size_t len)
{
    int      good;
    char    *want, *got;
    size_t   steps[] = { 0, 1, 7 }, i;
    run_t    r;

    run(from, to, flags | SLUICE_XLATE_NO_FAST, names, text, len, 0, &r);
    want = canon(&r);
    sluice_buf_free(&r.out);
    good = 1;

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]) && good; i++) {
        run(from, to, flags, names, text, len, steps[i], &r);
        got = canon(&r);
        good = strcmp(want, got) == 0;

        if (!good) {
            printf("# %s %d -> %d step %zu differs\n# want %.300s\n"
                   "# got  %.300s\n", name, from, to, steps[i], want, got);
        }

        free(got);
        sluice_buf_free(&r.out);
    }

    free(want);

    return good;
}


/* the tape's value k as a jansson value, to compare with jansson's */
static json_t *
tape_json(sluice_xlate_tape_t *t, int k)
{
    int          i;
    double       d;
    size_t       len;
    json_t      *v;
    int64_t      n;
    const char  *s;

    switch (t->tok[k].type) {

    case SLUICE_XLATE_J_OBJECT:
        v = json_object();

        for (i = k + 1; i < (int) t->tok[k].next;
             i = (int) t->tok[i + 1].next)
        {
            json_object_setn_new(v, (const char *) t->p + t->tok[i].start
                                    + 1,
                                 t->tok[i].end - t->tok[i].start - 2,
                                 tape_json(t, i + 1));
        }

        return v;

    case SLUICE_XLATE_J_ARRAY:
        v = json_array();

        for (i = k + 1; i < (int) t->tok[k].next; i = (int) t->tok[i].next) {
            json_array_append_new(v, tape_json(t, i));
        }

        return v;

    case SLUICE_XLATE_J_STRING:
        s = sluice_xlate_tape_text(t, k, &len);
        return s ? json_stringn(s, len) : NULL;

    case SLUICE_XLATE_J_NUMBER:
        if (sluice_xlate_tape_int(t, k, &n)) {
            return json_integer(n);
        }

        d = strtod((const char *) t->p + t->tok[k].start, NULL);
        return json_real(d);

    case SLUICE_XLATE_J_TRUE:
        return json_true();

    case SLUICE_XLATE_J_FALSE:
        return json_false();

    default:
        return json_null();
    }
}


/*
 * What the tape accepts jansson accepts and reads the same way; 1 when
 * so (or when the tape declined).  *accepted: whether the tape took it.
 */
static int
tape_agrees(const char *text, size_t len, int *accepted)
{
    int                   good;
    json_t               *want, *got;
    sluice_xlate_tape_t  *t;

    t = sluice_xlate_tape_create();
    *accepted = sluice_xlate_tape_parse(t, (const uint8_t *) text, len, 64)
                == 0;
    good = 1;

    if (*accepted) {
        want = json_loadb(text, len, 0, NULL);
        got = tape_json(t, 0);
        good = json_is_object(want) && json_equal(want, got);
        json_decref(want);
        json_decref(got);
    }

    sluice_xlate_tape_destroy(t);

    return good;
}


/* s for a test's name: on one line, bytes outside ASCII in hex */
static const char *
shown(const char *s)
{
    char    *q;
    size_t   i;

    static char  buf[256];

    for (q = buf, i = 0; s[i] && q < buf + sizeof(buf) - 8; i++) {
        if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] >= 0x7f) {
            q += sprintf(q, "<%02x>", (unsigned char) s[i]);

        } else {
            *q++ = s[i];
        }
    }

    *q = '\0';

    return buf;
}


static void
test_tape(void)
{
    int           accepted;
    size_t        i;
    const char   *s;

    /* taken, and read as jansson reads them */
    static const char  *take[] = {
        "{}",
        " \t\r\n{ } \n",
        "{\"a\":\"\"}",
        "{\"a\":\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t\"}",
        "{\"a\":\"\\u00e9\\u00E9\\u4e2d\\ud83d\\ude00\\uDBFF\\uDFFF\"}",
        "{\"a\":\"raw \xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \x7f\"}",
        "{\"a\":[1,-1,0,-0,123456789012345678,-123456789012345678]}",
        "{\"a\":[0.5,-0.25,1.000000000000000000001,3.0]}",
        "{\"a\":[true,false,null,[],{},[[]],{\"b\":{}}]}",
        "{\"a\":1,\"a\":\"last wins\"}",
        "{\"\":\"empty key\"}",
        "{ \"a\" : [ 1 , { \"b\" : null } ] , \"c\" : \"d\" }",
        "{\"k\xc3\xa9y\":\"utf-8 key\"}",
        NULL
    };

    /* declined: jansson refuses them, or the tape would rather not */
    static const char  *decline[] = {
        "", " ", "[]", "\"s\"", "1", "null", "{", "}", "{\"a\"}",
        "{\"a\":}", "{\"a\":1,}", "{\"a\":1 \"b\":2}", "{\"a\":[1,]}",
        "{\"a\":1}x", "{\"a\":1}{}", "{'a':1}", "{a:1}",
        "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\\ud800x\"}",
        "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12g4\"}",
        "{\"a\":\"\x01\"}", "{\"a\":\"\n\"}", "{\"a\":\"\xc3\"}",
        "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xff\"}",
        "{\"a\":\"unterminated}", "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}",
        "{\"a\":.5}", "{\"a\":+1}", "{\"a\":1e5}", "{\"a\":1.5E-3}",
        "{\"a\":1234567890123456789}", "{\"a\":99999999999999999999}",
        "{\"a\":tru}", "{\"a\":truex}", "{\"a\":nul}", "{\"a\":True}",
        "{\"a\\u0062\":1}", "{\"k\\u00e9y\":0}",
        "\xef\xbb\xbf{}",
        NULL
    };

    for (i = 0; take[i]; i++) {
        s = take[i];
        ok(tape_agrees(s, strlen(s), &accepted) && accepted,
           "tape takes and reads as jansson: %s", shown(s));
    }

    for (i = 0; decline[i]; i++) {
        s = decline[i];
        ok(tape_agrees(s, strlen(s), &accepted) && !accepted,
           "tape declines: %s", shown(s));
    }

    ok(tape_agrees("{\"a\":1}\x00", 8, &accepted) && !accepted,
       "tape declines a NUL after the object");
    ok(tape_agrees("{\"a\":\"b\x00\"}", 10, &accepted) && !accepted,
       "tape declines a NUL in a string");
    ok(tape_agrees("{\"a\":\x00}", 7, &accepted) && !accepted,
       "tape declines a NUL for a value");
}


/*
 * Every upstream event of the golden corpus, mutated at random (a byte
 * flipped, dropped or doubled, or a tricky piece put in): whatever the
 * tape takes, jansson takes and reads the same way.
 */
static void
test_tape_mutations(void)
{
    int              accepted, good, n, i, k, taken;
    char            *text, *ev, *line, *nl, *m;
    size_t           len, elen, mlen, at, plen;
    struct dirent  **names;
    char             path[512];

    static const char  *pieces[] = {
        "\\u0000", "\\ud800", "\\udc00", "\\ud83d\\ude00", "\\u00e9",
        "\xc3\xa9", "\xc3", "\xed\xa0\x80", "\x01", "\\\"", "\\\\", "1e5",
        "99999999999999999999", "-0", "0.5", "[", "]", "{", "}", ",", ":",
        "\"", "\\", " ", "\t", "null", "\"k\":1,", "\"\\u0063\":1,"
    };

    n = scandir(GOLDEN_DIR, &names, NULL, alphasort);
    good = 1;
    taken = 0;
    srand(11);

    for (i = 0; i < n; i++) {
        if (strstr(names[i]->d_name, ".in.sse") == NULL) {
            free(names[i]);
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, names[i]->d_name);
        free(names[i]);
        text = read_file(path, &len);

        for (line = text; text && line < text + len; line = nl + 1) {
            nl = memchr(line, '\n', text + len - line);
            nl = nl ? nl : text + len;

            if (nl - line < 7 || strncmp(line, "data: {", 7) != 0) {
                continue;
            }

            ev = line + 6;
            elen = nl - ev;
            m = malloc(elen + 64);

            for (k = 0; k < 24 && good; k++) {
                memcpy(m, ev, elen);
                mlen = elen;
                at = (size_t) rand() % elen;

                switch (k % 4) {
                case 0:
                    m[at] ^= (char) (1 << (rand() % 8));
                    break;
                case 1:
                    memmove(m + at, m + at + 1, mlen - at - 1);
                    mlen--;
                    break;
                case 2:
                    memmove(m + at + 1, m + at, mlen - at);
                    mlen++;
                    break;
                default:
                    line = (char *) pieces[rand() % (sizeof(pieces)
                                                   / sizeof(pieces[0]))];
                    plen = strlen(line);
                    memmove(m + at + plen, m + at, mlen - at);
                    memcpy(m + at, line, plen);
                    mlen += plen;
                }

                good = tape_agrees(m, mlen, &accepted);
                taken += accepted;

                if (!good) {
                    printf("# %s: %.*s\n", path, (int) mlen, m);
                }
            }

            line = nl;
            free(m);

            if (!good) {
                break;
            }
        }

        free(text);
    }

    free(names);

    ok(good && taken > 100, "tape agrees with jansson on mutated events "
       "(%d taken)", taken);
}


/* the names of a golden case's request (opt "request"), or NULL */
static sluice_xlate_names_t *
golden_names(const char *path, int from, int to)
{
    char                  *body, opt[512];
    json_t                *o;
    sluice_buf_t           out;
    sluice_xlate_err_t     err;
    sluice_xlate_names_t  *names;

    snprintf(opt, sizeof(opt), "%.*s.opt.json",
             (int) (strstr(path, ".in.") - path), path);
    o = json_load_file(opt, 0, NULL);
    names = NULL;

    if (json_is_object(json_object_get(o, "request"))) {
        body = json_dumps(json_object_get(o, "request"), JSON_COMPACT);
        sluice_buf_init(&out);
        sluice_xlate_request_ex(to, from, 0, body, strlen(body), MODEL, &out,
                                &names, &err);
        sluice_buf_free(&out);
        free(body);
    }

    json_decref(o);

    return names;
}


/* every golden stream to every caller, with and without include_usage */
static void
test_goldens(void)
{
    int                    n, i, from, to, good;
    char                   path[512], *text;
    size_t                 len;
    unsigned               flags;
    const char            *dash;
    struct dirent        **names;
    sluice_xlate_names_t  *nm;

    n = scandir(GOLDEN_DIR, &names, NULL, alphasort);

    for (i = 0; i < n; i++) {
        dash = strchr(names[i]->d_name, '-');

        if (strstr(names[i]->d_name, ".in.sse") == NULL || dash == NULL) {
            free(names[i]);
            continue;
        }

        from = dialect(names[i]->d_name, dash - names[i]->d_name);
        snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, names[i]->d_name);
        free(names[i]);
        text = read_file(path, &len);

        for (to = 0; text && from >= 0 && to <= SLUICE_XLATE_MESSAGES;
             to++)
        {
            if (to == from) {
                continue;
            }

            nm = golden_names(path, from, to);
            good = 1;

            for (flags = 0; flags <= SLUICE_XLATE_INCLUDE_USAGE; flags++) {
                good &= same_both_ways(path, from, to, flags, nm, text,
                                       len);
            }

            ok(good, "%s: %d -> %d the same with and without the fast "
               "path", path, from, to);
            sluice_xlate_names_free(nm);
        }

        free(text);
    }

    free(names);
}


/* the client fixtures' captured streams, to every other dialect */
static void
test_fixtures(const char *dir)
{
    int              n, i, from, to, good;
    char             path[1024];
    size_t           k;
    json_t          *fx, *req, *mock;
    unsigned         flags;
    const char      *p, *raw, *kind;
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
            mock = json_object_get(req, "mock_response");
            kind = json_string_value(json_object_get(mock, "kind"));
            raw = json_string_value(json_object_get(mock, "raw"));

            if (p == NULL || kind == NULL || raw == NULL
                || strcmp(kind, "sse") != 0)
            {
                continue;
            }

            from = strcmp(p, "/v1/chat/completions") == 0 ? SLUICE_XLATE_CHAT
                   : strcmp(p, "/v1/responses") == 0 ? SLUICE_XLATE_RESPONSES
                   : strcmp(p, "/v1/messages") == 0 ? SLUICE_XLATE_MESSAGES
                   : -1;

            for (to = 0; from >= 0 && to <= SLUICE_XLATE_MESSAGES; to++) {
                if (to == from) {
                    continue;
                }

                good = 1;

                for (flags = 0; flags <= SLUICE_XLATE_INCLUDE_USAGE; flags++)
                {
                    good &= same_both_ways(path, from, to, flags, NULL, raw,
                                           strlen(raw));
                }

                ok(good, "%s: stream %d -> %d the same with and without "
                   "the fast path", path, from, to);
            }
        }

        json_decref(fx);
    }

    free(names);
}


/*
 * A stream from "from" made here: its start naming model (JSON string
 * text, quotes included), n deltas of delta (JSON string body), its end.
 */
static void
gen_stream(int from, const char *model, const sluice_buf_t *delta, int n,
    sluice_buf_t *b)
{
    int  i;

    static const char  *start[] = {
        "", "event: response.created\ndata: {\"type\":\"response.created\","
        "\"response\":{\"created_at\":1,\"model\":",
        "event: message_start\ndata: {\"type\":\"message_start\","
        "\"message\":{\"usage\":{},\"model\":"
    };

    static const char  *head[] = {
        "data: {\"created\":1,\"choices\":[{\"index\":0,\"delta\":"
        "{\"content\":\"",
        "event: response.output_text.delta\ndata: {\"type\":"
        "\"response.output_text.delta\",\"delta\":\"",
        "event: content_block_delta\ndata: {\"type\":"
        "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
        "\"text_delta\",\"text\":\""
    };

    static const char  *tail[] = { "\"}}],\"model\":", "\"}\n\n",
                                   "\"}}\n\n" };

    static const char  *end[] = {
        "data: [DONE]\n\n",
        "event: response.completed\ndata: {\"type\":\"response.completed\","
        "\"response\":{\"status\":\"completed\"}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
    };

    sluice_buf_init(b);

    if (from != SLUICE_XLATE_CHAT) {
        sluice_buf_append_str(b, start[from]);
        sluice_buf_append_str(b, model);
        sluice_buf_append_str(b, "}}\n\n");
    }

    for (i = 0; i < n; i++) {
        sluice_buf_append_str(b, head[from]);
        sluice_buf_append(b, delta->data, delta->len);
        sluice_buf_append_str(b, tail[from]);

        if (from == SLUICE_XLATE_CHAT) {
            sluice_buf_append_str(b, model);
            sluice_buf_append_str(b, "}\n\n");
        }
    }

    sluice_buf_append_str(b, end[from]);
}


/* every direction: the same with and without the fast path */
static void
gen_check(const char *what, const char *model, const sluice_buf_t *delta,
    int n)
{
    int           from, to;
    sluice_buf_t  b;

    for (from = 0; from <= SLUICE_XLATE_MESSAGES; from++) {
        gen_stream(from, model, delta, n, &b);

        for (to = 0; to <= SLUICE_XLATE_MESSAGES; to++) {
            if (to != from) {
                ok(same_both_ways(what, from, to, SLUICE_XLATE_INCLUDE_USAGE,
                                  NULL, b.data, b.len),
                   "%s: %d -> %d the same with and without the fast path",
                   what, from, to);
            }
        }

        sluice_buf_free(&b);
    }
}


/*
 * Made here: very long deltas full of escapes and UTF-8 (cut inside
 * sequences and escapes when fed a byte or 7 at a time), with every
 * code point to U+017F escaped; models that need escaping, and long
 * ones whose cut (at 127 bytes) splits a UTF-8 sequence, which jansson
 * refuses to write.
 */
static void
test_generated(void)
{
    int           c, i;
    char          hex[16];
    size_t        n;
    sluice_buf_t  delta, model;

    static const char  *frags[] = {
        "plain ", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r",
        "\\t", "\\u0001", "\\u001F", "\\u007f", "\\u00e9", "\\u20AC",
        "\\ud83d\\ude00", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "\x7f", "<>&'"
    };

    sluice_buf_init(&delta);

    for (i = 0; i < 20000; i++) {
        sluice_buf_append_str(&delta, frags[i % (sizeof(frags)
                                                 / sizeof(frags[0]))]);
    }

    /* every code point to 0x17f escaped, both hex cases */
    for (c = 1; c < 0x180; c++) {
        n = (size_t) sprintf(hex, c % 2 ? "\\u%04x" : "\\u%04X", c);
        sluice_buf_append(&delta, hex, n);
    }

    gen_check("long deltas", "\"m\"", &delta, 3);

    sluice_buf_reset(&delta);
    sluice_buf_append_str(&delta, "hi \\n");

    gen_check("a model to escape", "\"m\\u0001\\u001f\\u007f\\\"\\\\/\\t\"",
              &delta, 2);

    for (i = 0; i < 2; i++) {
        sluice_buf_init(&model);
        sluice_buf_append_str(&model, "\"mm");

        for (c = 0; c < 70; c++) {
            sluice_buf_append_str(&model, i ? "\xc3\xa9" : "\\u00e9");
        }

        sluice_buf_append_str(&model, "\"");
        gen_check(i ? "a raw UTF-8 model cut inside a character"
                    : "an escaped model cut inside a character",
                  model.data, &delta, 2);
        sluice_buf_free(&model);
    }

    sluice_buf_free(&delta);
}


/*
 * Every string value escaped where a \u escape can go, event types and
 * stop reasons included: read the same, and still by the fast path.
 */
static void
test_escaped(void)
{
    int     from, to;
    run_t   r;

    static const char  *streams[] = {
        "data: {\"model\":\"\\u006d\",\"created\":1,\"choices\":[{\"index\""
        ":0,\"delta\":{\"role\":\"\\u0061ssistant\",\"content\":\"\\u0068i\""
        "}}]}\n\n"
        "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{"
        "\"tool_calls\":[{\"index\":0,\"id\":\"\\u0063all_1\",\"function\""
        ":{\"name\":\"\\u0066n\",\"arguments\":\"{\\u007d\"}}]}}]}\n\n"
        "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{"
        "\"tool_calls\":[{\"index\":0,\"id\":\"call_\\u0031\",\"function\""
        ":{\"arguments\":\"\\u0020\"}}]}}]}\n\n"
        "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},"
        "\"finish_reason\":\"\\u006cength\"}]}\n\n"
        "data: [DONE]\n\n",

        "event: x\ndata: {\"type\":\"\\u0072esponse.created\",\"response\":"
        "{\"model\":\"\\u006d\",\"created_at\":1}}\n\n"
        "event: x\ndata: {\"type\":\"response.output_item.\\u0061dded\","
        "\"item\":{\"type\":\"function_c\\u0061ll\",\"call_id\":"
        "\"\\u0063\",\"name\":\"\\u0066\",\"arguments\":\"\\u007b\"}}\n\n"
        "event: x\ndata: {\"type\":\"response.function_call_arguments."
        "\\u0064elta\",\"delta\":\"\\u007d\"}\n\n"
        "event: x\ndata: {\"type\":\"response.output_item.\\u0064one\","
        "\"item\":{\"type\":\"\\u0066unction_call\",\"arguments\":\"{}\"}}"
        "\n\n"
        "event: x\ndata: {\"type\":\"response.\\u0069ncomplete\",\"response\":"
        "{\"status\":\"\\u0069ncomplete\",\"incomplete_details\":{\"reason\":"
        "\"content_\\u0066ilter\"}}}\n\n",

        "event: x\ndata: {\"type\":\"message_st\\u0061rt\",\"message\":{"
        "\"model\":\"\\u006d\",\"usage\":{\"input_tokens\":3}}}\n\n"
        "event: x\ndata: {\"type\":\"content_block_st\\u0061rt\",\"index\":0,"
        "\"content_block\":{\"type\":\"tool_\\u0075se\",\"id\":\"\\u0074\","
        "\"name\":\"\\u006e\",\"input\":{}}}\n\n"
        "event: x\ndata: {\"type\":\"content_block_d\\u0065lta\",\"index\":0,"
        "\"delta\":{\"type\":\"input_json_d\\u0065lta\",\"partial_json\":"
        "\"\\u007b}\"}}\n\n"
        "event: x\ndata: {\"type\":\"content_block_st\\u006fp\",\"index\":0}"
        "\n\n"
        "event: x\ndata: {\"type\":\"message_d\\u0065lta\",\"delta\":{"
        "\"stop_reason\":\"stop_s\\u0065quence\",\"stop_sequence\":"
        "\"\\u0045ND\"},\"usage\":{\"output_tokens\":2}}\n\n"
        "event: x\ndata: {\"type\":\"message_st\\u006fp\"}\n\n"
    };

    static const int  froms[] = {
        SLUICE_XLATE_CHAT, SLUICE_XLATE_RESPONSES, SLUICE_XLATE_MESSAGES
    };

    for (from = 0; from < 3; from++) {
        for (to = 0; to <= SLUICE_XLATE_MESSAGES; to++) {
            if (to == froms[from]) {
                continue;
            }

            run(froms[from], to, 0, NULL, streams[from],
                strlen(streams[from]), 0, &r);

            ok(r.jansson == 0 && r.state == SLUICE_XLATE_DONE
               && same_both_ways("escaped", froms[from], to,
                                 SLUICE_XLATE_INCLUDE_USAGE, NULL,
                                 streams[from], strlen(streams[from])),
               "escaped strings everywhere: %d -> %d read by the fast path, "
               "the same without it", froms[from], to);

            sluice_buf_free(&r.out);
        }
    }
}


/* the fast path does read the common events (jansson reads none) */
static void
test_engaged(void)
{
    size_t      i, len;
    char        path[512], *text;
    run_t       r;

    static const struct {
        const char  *name;
        int          from;
        int          to;
        unsigned     jansson;
    } cases[] = {
        { "chat-messages.fast-strings", 0, 2, 0 },
        { "chat-responses.fast-strings", 0, 1, 0 },
        { "messages-chat.fast-strings", 2, 0, 0 },
        { "messages-responses.fast-strings", 2, 1, 0 },
        { "responses-chat.fast-strings", 1, 0, 0 },
        { "responses-messages.fast-strings", 1, 2, 0 },
        { "responses-chat.fast-incomplete", 1, 0, 0 },
        { "chat-messages.reasoning-tools", 0, 2, 0 },
        { "messages-chat.thinking-tools", 2, 0, 0 },
        { "responses-chat.reasoning-tools", 1, 0, 0 },
        { "chat-messages.fast-declined", 0, 2, 4 },
        { "chat-messages.fast-nul", 0, 2, 1 },
        { "chat-responses.fast-surrogate", 0, 1, 1 },
        { "chat-messages.fast-overflow", 0, 2, 1 },
        { "messages-chat.fast-bad-utf8", 2, 0, 1 },
        { "responses-messages.done-only", 1, 2, 1 }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s.in.sse", GOLDEN_DIR,
                 cases[i].name);
        text = read_file(path, &len);

        if (text == NULL) {
            ok(0, "%s: missing", path);
            continue;
        }

        run(cases[i].from, cases[i].to, 0, NULL, text, len, 0, &r);

        ok(r.jansson == cases[i].jansson, "%s: jansson read %u events "
           "(want %u), the fast path the others", path, r.jansson,
           cases[i].jansson);

        sluice_buf_free(&r.out);
        free(text);
    }
}


int
main(int argc, char **argv)
{
    test_tape();
    test_tape_mutations();
    test_engaged();
    test_escaped();
    test_goldens();
    test_generated();
    test_fixtures(argc > 1 ? argv[1] : "../shared/clients/fixtures");

    printf("1..%d\n", test_n);

    return test_failed ? 1 : 0;
}
