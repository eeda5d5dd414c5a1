/*
 * Unit tests (TAP) for sluice_json: member spans, validation, string
 * decoding, and a differential check against jansson over the captured
 * client bodies and random mutations of them.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <jansson.h>
#include "sluice_json.h"
#include "tap.h"
#include "json_ref.c"



static int
scan(const char *s, sluice_json_member_t *m, size_t n)
{
    size_t               open;
    sluice_json_error_t  err;

    return sluice_json_scan((const uint8_t *) s, strlen(s), m, n, &open,
                            &err);
}


static void
test_members(void)
{
    const char            *s;
    sluice_json_member_t   m[3];

    m[0].name = "model";
    m[1].name = "stream";
    m[2].name = "stream_options";

    s = "{\"messages\":[{\"model\":\"inner\"}], \"model\" : \"g-1\","
        "\"stream\":true}";
    ok(scan(s, m, 3) == 0, "valid body scans");
    ok(m[0].type == SLUICE_JSON_STRING, "model is a string");
    ok(strncmp(s + m[0].start, "\"g-1\"", m[0].end - m[0].start) == 0,
       "model span is the top-level value, not the nested one");
    ok(m[1].type == SLUICE_JSON_TRUE, "stream true");
    ok(m[2].type == SLUICE_JSON_NONE, "absent member reported absent");

    ok(scan("{\"model\":\"a\",\"model\":\"b\"}", m, 3) != 0,
       "duplicate model refused");
    ok(scan("{\"model\":\"a\",\"mod\\u0065l\":\"b\"}", m, 3) != 0,
       "escaped duplicate key refused");
    ok(scan("{\"model\":1}", m, 3) == 0 && m[0].type == SLUICE_JSON_NUMBER,
       "number typed");
    ok(scan("{\"stream_options\":{\"include_usage\":true}}", m, 3) == 0
       && m[2].type == SLUICE_JSON_OBJECT, "object typed");
}


/*
 * Names the scanner's first-bytes filter must not lose: empty (which
 * turns the second byte's filter off), one byte, a prefix of another,
 * non-ASCII, a quote; with and without the empty one.
 */
static void
test_names(void)
{
    int                   good;
    size_t                k, j, n, open;
    const char           *s;
    sluice_json_error_t   err;
    sluice_json_member_t  m[5], sk[5];

    static const char    *name[] = { "a", "ac", "b\xc3\xa9", "\"q", "" };
    static const char     want[] = { '2', '3', '5', '7', '1' };

    s = "{\"x\":0,\"\":1,\"a\":2,\"ac\":3,\"acd\":4,\"b\\u00e9\":5,\"b\":6,"
        "\"\\\"q\":7,\"q\":8}";

    good = 1;

    for (n = 4; n <= 5; n++) {
        for (k = 0; k < n; k++) {
            m[k].name = name[k];
            sk[k].name = name[k];
        }

        if (sluice_json_scan((const uint8_t *) s, strlen(s), m, n, &open,
                             &err)
            != 0
            || sluice_json_skim((const uint8_t *) s, strlen(s), sk, n) != 0)
        {
            good = 0;
            break;
        }

        for (k = 0; k < n; k++) {
            j = m[k].start;

            if (m[k].type != SLUICE_JSON_NUMBER || m[k].end != j + 1
                || s[j] != want[k] || sk[k].type != m[k].type
                || sk[k].start != j || sk[k].end != m[k].end
                || sk[k].key_start != m[k].key_start)
            {
                good = 0;
            }
        }
    }

    ok(good, "empty, one-byte, prefix, escaped and quoted names found by "
       "the scanner and the skimmer");

    ok(scan("{\"\":1,\"\":2}", m, 5) != 0
       && scan("{\"a\":1,\"\\u0061\":2}", m, 5) != 0
       && scan("{\"\\\"q\":1,\"\\u0022q\":2}", m, 5) != 0,
       "their duplicates refused, escaped or not");
}

static void
test_invalid(void)
{
    static const char  *bad[] = {
        "", "[]", "\"x\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":tru}",
        "{\"a\":\"\\x\"}", "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}",
        "{\"a\":\"\xc0\xaf\"}", "{\"a\":1} x", "{\"a\":[1,]}",
        "{\"a\":\"\\u12\"}", "{a:1}", "{\"a\":1}}", NULL
    };
    char                  deep[1200];
    int                   i, all;
    sluice_json_member_t  m;

    m.name = "model";
    all = 1;

    for (i = 0; bad[i]; i++) {
        if (scan(bad[i], &m, 1) == 0) {
            printf("# accepted: %s\n", bad[i]);
            all = 0;
        }
    }
    ok(all, "malformed inputs refused");

    strcpy(deep, "{\"a\":");
    for (i = 0; i < 600; i++) {
        strcat(deep, "[");
    }
    ok(scan(deep, &m, 1) != 0, "deep nesting refused without a crash");

    ok(scan("{\"a\":\"\xe2\x82\xac\",\"b\":[{},[],null,-1.5e3]}", &m, 1)
       == 0, "UTF-8 and all value kinds accepted");
}


static void
test_decode(void)
{
    const char  *s = "\"a\\u00e9\\n\\ud83d\\ude00\\\"\"";
    uint8_t      out[64];
    ssize_t      n;

    n = sluice_json_string_decode((const uint8_t *) s, strlen(s), out,
                                  sizeof(out));
    ok(n == 9 && memcmp(out, "a\xc3\xa9\n\xf0\x9f\x98\x80\"", 9) == 0,
       "escapes and surrogate pairs decode");

    n = sluice_json_string_decode((const uint8_t *) s, strlen(s), out, 4);
    ok(n < 0, "decode refuses to overflow");

    n = (ssize_t) sluice_json_escaped_len((const uint8_t *) "a\"\\\n", 4);
    ok(n == 1 + 2 + 2 + 6, "escaped length");
}


static int
differ(const uint8_t *p, size_t len)
{
    int                   ours, theirs;
    size_t                open;
    json_t               *j;
    json_error_t          jerr;
    sluice_json_error_t   err;
    sluice_json_member_t  m;

    m.name = "model";
    ours = sluice_json_scan(p, len, &m, 1, &open, &err) == 0;

    j = json_loadb((const char *) p, len, JSON_ALLOW_NUL, &jerr);
    theirs = j != NULL && json_is_object(j);
    json_decref(j);

    /* refusing valid JSON is the failure that matters */
    return theirs && !ours;
}


static void
test_fixtures(const char *dir)
{
    int            files, bodies, bad, i;
    char           path[1024];
    uint8_t       *mut;
    size_t         k, len, reqs;
    DIR           *d;
    json_t        *fx, *req, *body;
    const char    *text;
    struct dirent *de;

    d = opendir(dir);
    if (d == NULL) {
        ok(1, "# SKIP no fixtures directory");
        return;
    }

    files = bodies = bad = 0;
    srand(7);

    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".json") == NULL
            || strcmp(de->d_name, "versions.json") == 0)
        {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        fx = json_load_file(path, 0, NULL);
        if (fx == NULL) {
            continue;
        }
        files++;

        reqs = json_array_size(json_object_get(fx, "requests"));
        for (k = 0; k < reqs; k++) {
            req = json_array_get(json_object_get(fx, "requests"), k);
            body = json_object_get(req, "body");
            if (!json_is_object(body)) {
                continue;
            }

            text = json_dumps(body, JSON_COMPACT);
            len = strlen(text);
            bodies++;
            bad += differ((const uint8_t *) text, len);

            mut = malloc(len);
            for (i = 0; i < 200; i++) {
                memcpy(mut, text, len);
                mut[rand() % len] = (uint8_t) (rand() % 256);
                bad += differ(mut, len);
            }
            free(mut);
            free((void *) text);
        }

        json_decref(fx);
    }

    closedir(d);

    printf("# %d fixture files, %d bodies\n", files, bodies);
    ok(bodies > 0 && bad == 0,
       "every body jansson accepts is accepted (with mutations)");
}


/*
 * The members the oracle checks ask for: a one-byte name and a prefix of
 * another test the scanner's first-bytes filter (an empty name turns its
 * second byte off: test_names).
 */
#define ORACLE_NAMES  7

static const char  *oracle_names[ORACLE_NAMES] = {
    "model", "stream", "stream_options", "messages", "m\u00e9", "a", "mod"
};


/*
 * The scanner against the oracle (json_ref.c, the scanner before the
 * SIMD work): same verdict, same error offset and reason, same open
 * offset and member spans.  Returns 1 when they differ.
 */
static int
oracle_differs(const uint8_t *p, size_t len)
{
    int                   a, b;
    size_t                k, oa, ob;
    sluice_json_error_t   ea, eb;
    sluice_json_member_t  ma[ORACLE_NAMES], mb[ORACLE_NAMES];

    for (k = 0; k < ORACLE_NAMES; k++) {
        ma[k].name = oracle_names[k];
        mb[k].name = oracle_names[k];
    }

    oa = ob = 0;
    ea.offset = eb.offset = 0;
    ea.reason = eb.reason = NULL;

    a = sluice_json_scan(p, len, ma, ORACLE_NAMES, &oa, &ea);
    b = sluice_jref_scan(p, len, mb, ORACLE_NAMES, &ob, &eb);

    if (a != b) {
        return 1;
    }

    if (a != 0) {
        return ea.offset != eb.offset || strcmp(ea.reason, eb.reason) != 0;
    }

    if (oa != ob) {
        return 1;
    }

    for (k = 0; k < ORACLE_NAMES; k++) {
        if (ma[k].type != mb[k].type
            || (ma[k].type != SLUICE_JSON_NONE
                && (ma[k].start != mb[k].start || ma[k].end != mb[k].end
                    || ma[k].key_start != mb[k].key_start)))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The skimmer on text the scanner accepts: the same members; on any
 * text: no crash (ASan builds check the reads).  Returns 1 when they
 * differ.
 */
static int
skim_differs(const uint8_t *p, size_t len)
{
    int                   a, b;
    size_t                k, o;
    sluice_json_error_t   e;
    sluice_json_member_t  ma[ORACLE_NAMES], mb[ORACLE_NAMES];

    for (k = 0; k < ORACLE_NAMES; k++) {
        ma[k].name = oracle_names[k];
        mb[k].name = oracle_names[k];
    }

    a = sluice_json_scan(p, len, ma, ORACLE_NAMES, &o, &e);
    b = sluice_json_skim(p, len, mb, ORACLE_NAMES);

    if (a != 0) {
        return 0;
    }

    if (b != 0) {
        return 1;
    }

    for (k = 0; k < ORACLE_NAMES; k++) {
        if (ma[k].type != mb[k].type
            || (ma[k].type != SLUICE_JSON_NONE
                && (ma[k].start != mb[k].start || ma[k].end != mb[k].end
                    || ma[k].key_start != mb[k].key_start)))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Every cut and mutations of text: special bytes at every stride-th
 * offset, then random ones.
 */
static int
oracle_mutations(const char *text, size_t len, size_t stride)
{
    int                   bad;
    size_t                i, k;
    uint8_t              *mut;

    static const uint8_t  special[] = {
        '"', '\\', 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xe2, 0xf0, 0xff, 'u', '{',
        ',', ' '
    };

    bad = 0;
    mut = malloc(len + 8);

    for (i = 0; i <= len; i++) {
        bad += oracle_differs((const uint8_t *) text, i);
        bad += skim_differs((const uint8_t *) text, i);
    }

    for (i = 0; i < len; i += stride) {
        for (k = 0; k < sizeof(special); k++) {
            memcpy(mut, text, len);
            mut[i] = special[k];
            bad += oracle_differs(mut, len);
            bad += skim_differs(mut, len);
        }
    }

    for (i = 0; i < 300; i++) {
        memcpy(mut, text, len);
        mut[rand() % len] = (uint8_t) (rand() % 256);
        mut[rand() % len] = (uint8_t) (rand() % 256);
        bad += oracle_differs(mut, len);
        bad += skim_differs(mut, len);
    }

    free(mut);

    return bad;
}


/* the text copied to a buffer of its exact size: ASan sees over-reads */
static int
exact_differs(const char *text, size_t len)
{
    int       bad;
    uint8_t  *p;

    p = malloc(len ? len : 1);
    memcpy(p, text, len);

    bad = oracle_differs(p, len) + skim_differs(p, len);

    free(p);

    return bad;
}


/*
 * Where the string loop changes gears: its first sixteen bytes, 64 a
 * step, sixteen then eight near the end of the text, byte by byte at the
 * very end; an escape or a UTF-8 sequence may straddle any of those
 * blocks, and a string may end on any of their edges.
 */
static const char  *block_pieces[] = {
    /* valid */
    "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\ud83d\\ude00", "\xc3\xa9",
    "\xe2\x82\xac", "\xef\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80",
    "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\x7f",
    /* invalid */
    "\\x", "\\u12g4", "\\u12", "\\", "\x01", "\x1f", "\x80", "\xbf",
    "\xc0\xaf", "\xc1\xbf", "\xc2", "\xc2\x41", "\xe2\x82", "\xe2\x28\xa1",
    "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
    "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
    "\"x", NULL
};

#define BLOCK_VALID  14


/*
 * text: prefix, k bytes of 'a', the piece, r bytes of 'b', suffix, then
 * t spaces.  Returns its length.
 */
static size_t
block_text(char *text, const char *prefix, size_t k, const char *piece,
    size_t r, const char *suffix, size_t t)
{
    size_t  n;

    n = strlen(prefix);
    memcpy(text, prefix, n);
    memset(text + n, 'a', k);
    n += k;
    memcpy(text + n, piece, strlen(piece));
    n += strlen(piece);
    memset(text + n, 'b', r);
    n += r;
    memcpy(text + n, suffix, strlen(suffix));
    n += strlen(suffix);
    memset(text + n, ' ', t);

    return n + t;
}


static void
test_blocks(void)
{
    int                   bad, wrong;
    char                  text[512];
    size_t                p, k, r, t, n, open;
    sluice_json_error_t   err;
    sluice_json_member_t  m;

    static const size_t   tails[] = { 0, 1, 2, 3, 14, 15, 16, 17, 47, 48,
                                      62, 63, 64, 65, 66 };
    static const size_t   pads[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64,
                                     65 };

    bad = wrong = 0;
    m.name = "model";

    for (p = 0; block_pieces[p]; p++) {
        for (k = 0; k <= 140; k++) {
            for (r = 0; r < sizeof(tails) / sizeof(tails[0]); r++) {
                for (t = 0; t < sizeof(pads) / sizeof(pads[0]); t++) {
                    n = block_text(text, "{\"model\":\"", k, block_pieces[p],
                                   tails[r], "\"}", pads[t]);
                    bad += exact_differs(text, n);

                    if (p >= BLOCK_VALID) {
                        continue;
                    }

                    /* a valid piece: the value is the member, exactly */
                    if (sluice_json_scan((const uint8_t *) text, n, &m, 1,
                                         &open, &err)
                        != 0
                        || m.type != SLUICE_JSON_STRING || m.start != 9
                        || m.end != n - pads[t] - 1)
                    {
                        wrong++;
                    }
                }
            }
        }
    }

    ok(bad == 0 && wrong == 0, "each piece at every offset of a string "
       "value, every distance to the end: the oracle's verdict, error and "
       "spans, valid strings reported exactly");

    bad = 0;

    for (p = 0; block_pieces[p]; p++) {
        for (k = 0; k <= 80; k++) {
            for (r = 0; r < sizeof(tails) / sizeof(tails[0]); r += 2) {
                for (t = 0; t < sizeof(pads) / sizeof(pads[0]); t += 3) {
                    n = block_text(text, "{\"", k, block_pieces[p],
                                   tails[r], "\":1}", pads[t]);
                    bad += exact_differs(text, n);

                    n = block_text(text, "{\"messages\":[{\"", k,
                                   block_pieces[p], tails[r],
                                   "\":\"x\"},\"y\"]}", pads[t]);
                    bad += exact_differs(text, n);
                }
            }
        }
    }

    ok(bad == 0, "each piece at every offset of a top-level key and of a "
       "nested key: the oracle's verdict, error and spans");
}


/* cut inside and around each piece, and around the string's end */
static void
test_truncated(void)
{
    int     bad;
    char    text[512];
    size_t  p, k, r, n, cut, at;

    static const size_t  tails[] = { 0, 1, 15, 16, 17, 64 };

    bad = 0;

    for (p = 0; block_pieces[p]; p++) {
        for (k = 0; k <= 140; k++) {
            for (r = 0; r < sizeof(tails) / sizeof(tails[0]); r++) {
                n = block_text(text, "{\"model\":\"", k, block_pieces[p],
                               tails[r], "\",\"stream\":true}", 0);

                /* from a byte before the piece to two after it */
                at = 10 + k;

                for (cut = at - 1; cut <= at + strlen(block_pieces[p]) + 2
                     && cut <= n; cut++)
                {
                    bad += exact_differs(text, cut);
                }

                /* around the closing quote */
                at = n - 16;

                for (cut = at - 2; cut <= at + 2; cut++) {
                    bad += exact_differs(text, cut);
                }
            }
        }
    }

    ok(bad == 0, "input cut inside or around an escape or a UTF-8 "
       "sequence, or around a string's end: the oracle's verdict and "
       "error");
}


static void
test_oracle(const char *dir)
{
    int          bad, n;
    char         path[1024], text[512];
    size_t       k, reqs, pad;
    DIR         *d;
    json_t      *fx, *body;
    const char  *t;
    struct dirent *de;

    static const char  *pieces[] = {
        "\\n", "\\\"", "\\u00e9", "\\ud83d\\ude00", "\xc3\xa9",
        "\xe2\x82\xac", "\xf0\x9f\x98\x80", "x", "\\\\", "\\/"
    };

    bad = 0;
    srand(11);

    /* one special piece at every offset around the 16-byte blocks */
    for (k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
        for (pad = 0; pad < 40; pad++) {
            n = snprintf(text, sizeof(text),
                         "{\"model\":\"%.*s%s%.*s\",\"stream\":true,"
                         "\"messages\":[\"%.*s%s\"]}", (int) pad,
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                         pieces[k], (int) (40 - pad),
                         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                         (int) pad,
                         "cccccccccccccccccccccccccccccccccccccccccccc",
                         pieces[k]);
            bad += oracle_mutations(text, (size_t) n, 1);
        }
    }

    ok(bad == 0, "the scanner agrees with the oracle, and the skimmer with "
       "the scanner, on special bytes at every offset, every cut and "
       "mutations");

    d = opendir(dir);
    if (d == NULL) {
        ok(1, "# SKIP no fixtures directory");
        return;
    }

    n = 0;
    bad = 0;

    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".json") == NULL) {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        fx = json_load_file(path, 0, NULL);
        if (fx == NULL) {
            continue;
        }

        reqs = json_array_size(json_object_get(fx, "requests"));
        for (k = 0; k < reqs; k++) {
            body = json_object_get(json_array_get(json_object_get(fx,
                                   "requests"), k), "body");
            if (!json_is_object(body)) {
                continue;
            }

            t = json_dumps(body, JSON_COMPACT);

            /* the large ones: cuts and a sample of mutations */
            if (strlen(t) > 4096) {
                for (pad = 0; pad <= strlen(t); pad += 7) {
                    bad += oracle_differs((const uint8_t *) t, pad);
                }
                bad += oracle_differs((const uint8_t *) t, strlen(t));
                bad += skim_differs((const uint8_t *) t, strlen(t));

            } else {
                bad += oracle_mutations(t, strlen(t), 11);
            }

            n++;
            free((void *) t);
        }

        json_decref(fx);
    }

    closedir(d);

    printf("# oracle: %d fixture bodies\n", n);
    ok(n > 0 && bad == 0, "the scanner agrees with the oracle, and the "
       "skimmer with the scanner, on the client fixtures");
}


int
main(int argc, char **argv)
{
    test_members();
    test_names();
    test_invalid();
    test_decode();
    test_blocks();
    test_truncated();
    test_fixtures(argc > 1 ? argv[1] : "../shared/clients/fixtures");
    test_oracle(argc > 1 ? argv[1] : "../shared/clients/fixtures");

    return tap_done();
}
