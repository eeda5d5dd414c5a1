/*
 * sluice_xlate_freeform: a responses caller's freeform ("custom") tool
 * offered to a target of another dialect as a function taking one
 * string, "input", and that string recovered from the function's
 * arguments, whole or while they stream in.
 */

#include <stdlib.h>
#include <string.h>
#include "sluice_xlate_int.h"


/* the grammar quoted in the description is cut to this many bytes */
#define SLUICE_XLATE_GRAMMAR_MAX  4096

/* sluice_xlate_freeform_t.state: where in {"input": "..."} we are */
#define SLUICE_XLATE_FF_OPEN      0     /* before '{' */
#define SLUICE_XLATE_FF_KEY       1     /* before "input" */
#define SLUICE_XLATE_FF_COLON     2
#define SLUICE_XLATE_FF_VALUE     3     /* before the string's '"' */
#define SLUICE_XLATE_FF_STRING    4     /* inside it */
#define SLUICE_XLATE_FF_DONE      5     /* after its closing '"' */
#define SLUICE_XLATE_FF_LOST      6     /* not that shape: wait for all */

#define SLUICE_XLATE_FF_KEYWORD   "\"input\""


static int sluice_xlate_freeform_grammar(json_t *fmt, sluice_buf_t *b);
static int sluice_xlate_freeform_step(sluice_xlate_freeform_t *ff,
    const char *p, size_t n, sluice_buf_t *out);
static int sluice_xlate_freeform_escape(const char *p, size_t n,
    sluice_buf_t *out);
static int sluice_xlate_freeform_hex(const char *p, unsigned *cp);
static int sluice_xlate_freeform_utf8(unsigned cp, sluice_buf_t *out);


/*
 * The function that stands for freeform tool t: its description says
 * how to call it and quotes the grammar the input must follow (cut to
 * SLUICE_XLATE_GRAMMAR_MAX bytes).  A new canonical tool, custom: true;
 * NULL when t has no name or memory ran out.
 */
json_t *
sluice_xlate_freeform_tool(json_t *t)
{
    json_t        *tool, *desc;
    sluice_buf_t   b;

    if (!json_is_string(json_object_get(t, "name"))) {
        return NULL;
    }

    sluice_buf_init(&b);
    desc = json_object_get(t, "description");

    if (json_is_string(desc) && json_string_length(desc)
        && (sluice_buf_append(&b, json_string_value(desc),
                              json_string_length(desc)) != 0
            || sluice_buf_append_str(&b, "\n\n") != 0))
    {
        sluice_buf_free(&b);
        return NULL;
    }

    if (sluice_buf_append_str(&b, "How to call it here: put the tool's "
            "raw text in the string argument \"input\"; the tool gets that "
            "string unchanged.") != 0
        || sluice_xlate_freeform_grammar(json_object_get(t, "format"), &b)
           != 0)
    {
        sluice_buf_free(&b);
        return NULL;
    }

    tool = json_pack("{s:O, s:s%, s:{s:s, s:{s:{s:s, s:s}}, s:[s], s:b},"
                     " s:b}", "name", json_object_get(t, "name"),
                     "description", b.data, b.len, "parameters", "type",
                     "object", "properties", "input", "type", "string",
                     "description", "The raw text for the tool.",
                     "required", "input", "additionalProperties", 0,
                     "custom", 1);

    sluice_buf_free(&b);

    return tool;
}


/* " The text must follow this lark grammar:\n\n<definition>" */
static int
sluice_xlate_freeform_grammar(json_t *fmt, sluice_buf_t *b)
{
    size_t       n;
    json_t      *def;
    const char  *syntax, *s;

    def = json_object_get(fmt, "definition");
    syntax = json_string_value(json_object_get(fmt, "syntax"));

    if (!json_is_string(def) || json_string_length(def) == 0) {
        return 0;
    }

    s = json_string_value(def);
    n = json_string_length(def);

    /* cut at a character boundary */
    if (n > SLUICE_XLATE_GRAMMAR_MAX) {
        n = SLUICE_XLATE_GRAMMAR_MAX;

        while (n && ((unsigned char) s[n] & 0xc0) == 0x80) {
            n--;
        }
    }

    if (syntax && strcmp(syntax, "regex") == 0) {
        syntax = "The text must match this regular expression:\n\n";

    } else {
        syntax = "The text must follow this Lark grammar:\n\n";
    }

    if (sluice_buf_append_str(b, " ") != 0
        || sluice_buf_append_str(b, syntax) != 0
        || sluice_buf_append(b, s, n) != 0
        || (n < json_string_length(def)
            && sluice_buf_append_str(b, "\n[the grammar is cut here]") != 0))
    {
        return -1;
    }

    return 0;
}


/* the canonical arguments of a freeform call: {"input": input} */
json_t *
sluice_xlate_freeform_args(json_t *input)
{
    char    *s;
    json_t  *o, *args;

    o = json_pack("{s:O}", "input", input);
    s = o ? json_dumps(o, SLUICE_XLATE_DUMP) : NULL;
    args = s ? json_string(s) : NULL;

    json_decref(o);
    free(s);

    return args;
}


/*
 * The input of a call from its whole arguments: the "input" string, or
 * the one string property there is, or a bare JSON string; failing
 * those, the arguments text itself.  A new string (never NULL but when
 * out of memory).
 */
json_t *
sluice_xlate_freeform_input(const char *args, size_t len)
{
    json_t      *v, *in, *e;
    const char  *k;

    if (args == NULL) {
        return json_string("");
    }

    v = json_loadb(args, len, JSON_DECODE_ANY, NULL);
    in = json_object_get(v, "input");

    if (!json_is_string(in) && json_object_size(v) == 1) {
        json_object_foreach(v, k, e) {
            in = e;
        }
    }

    if (!json_is_string(in) && json_is_string(v)) {
        in = v;
    }

    in = json_is_string(in) ? json_incref(in) : json_stringn(args, len);
    json_decref(v);

    return in ? in : json_string("");
}


/*
 * Decodes what has come of the input: args is everything received so
 * far (a prefix of {"input": "..."}); what ff has not decoded yet is
 * unescaped and appended to out.  An escape cut in two waits for its
 * end.  Arguments of another shape are left to
 * sluice_xlate_freeform_input() at the end.  0, or -1 when out of
 * memory.
 */
int
sluice_xlate_freeform_feed(sluice_xlate_freeform_t *ff, const char *args,
    size_t len, sluice_buf_t *out)
{
    int  n;

    while (ff->pos < len && ff->state < SLUICE_XLATE_FF_DONE) {
        n = sluice_xlate_freeform_step(ff, args + ff->pos, len - ff->pos,
                                       out);
        if (n < 0) {
            return -1;
        }

        if (n == 0) {
            break;
        }

        ff->pos += n;
    }

    return 0;
}


/* 1 once the "input" string began: what feed decoded is the input */
int
sluice_xlate_freeform_found(const sluice_xlate_freeform_t *ff)
{
    return ff->state == SLUICE_XLATE_FF_STRING
           || ff->state == SLUICE_XLATE_FF_DONE;
}


/* bytes consumed from p (0: wait for more), or -1 out of memory */
static int
sluice_xlate_freeform_step(sluice_xlate_freeform_t *ff, const char *p,
    size_t n, sluice_buf_t *out)
{
    static const char  expect[] = { '{', '"', ':', '"' };

    size_t  k, kw;

    if (ff->state == SLUICE_XLATE_FF_STRING) {
        if (*p == '"') {
            ff->state = SLUICE_XLATE_FF_DONE;
            return 1;
        }

        if (*p == '\\') {
            return sluice_xlate_freeform_escape(p, n, out);
        }

        for (k = 0; k < n && p[k] != '"' && p[k] != '\\'; k++) {
            /* void */
        }

        return sluice_buf_append(out, p, k) == 0 ? (int) k : -1;
    }

    if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') {
        return 1;
    }

    if (*p != expect[ff->state]) {
        ff->state = SLUICE_XLATE_FF_LOST;
        return 0;
    }

    if (ff->state != SLUICE_XLATE_FF_KEY) {
        ff->state++;
        return 1;
    }

    kw = sizeof(SLUICE_XLATE_FF_KEYWORD) - 1;

    if (memcmp(p, SLUICE_XLATE_FF_KEYWORD, n < kw ? n : kw) != 0) {
        ff->state = SLUICE_XLATE_FF_LOST;
        return 0;
    }

    if (n < kw) {
        return 0;
    }

    ff->state = SLUICE_XLATE_FF_COLON;

    return (int) kw;
}


/*
 * One escape at p: its length once whole (0 while cut), its character
 * appended.  A lone surrogate becomes U+FFFD; an escape JSON does not
 * have is kept as written.
 */
static int
sluice_xlate_freeform_escape(const char *p, size_t n, sluice_buf_t *out)
{
    static const char  from[] = "\"\\/bfnrt";
    static const char  to[] = "\"\\/\b\f\n\r\t";

    int          len;
    unsigned     cp, lo;
    const char  *c;

    if (n < 2) {
        return 0;
    }

    if (p[1] != 'u') {
        c = strchr(from, p[1]);
        len = (c && *c) ? sluice_buf_append(out, to + (c - from), 1)
                        : sluice_buf_append(out, p, 2);
        return len == 0 ? 2 : -1;
    }

    if (n < 6) {
        return 0;
    }

    if (sluice_xlate_freeform_hex(p + 2, &cp) != 0) {
        return sluice_buf_append(out, p, 2) == 0 ? 2 : -1;
    }

    len = 6;

    if (cp >= 0xd800 && cp < 0xdc00) {
        /* a high surrogate wants "\uDCxx" next: wait for it, if it may be */
        if (n < 12 && (n < 7 || p[6] == '\\') && (n < 8 || p[7] == 'u')) {
            return 0;
        }

        if (n >= 12 && p[6] == '\\' && p[7] == 'u'
            && sluice_xlate_freeform_hex(p + 8, &lo) == 0
            && lo >= 0xdc00 && lo < 0xe000)
        {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            len = 12;

        } else {
            cp = 0xfffd;
        }

    } else if (cp >= 0xdc00 && cp < 0xe000) {
        cp = 0xfffd;
    }

    return sluice_xlate_freeform_utf8(cp, out) == 0 ? len : -1;
}


static int
sluice_xlate_freeform_hex(const char *p, unsigned *cp)
{
    int   i;
    char  ch;

    *cp = 0;

    for (i = 0; i < 4; i++) {
        ch = p[i];
        *cp <<= 4;

        if (ch >= '0' && ch <= '9') {
            *cp |= ch - '0';

        } else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f') {
            *cp |= (ch | 0x20) - 'a' + 10;

        } else {
            return -1;
        }
    }

    return 0;
}


static int
sluice_xlate_freeform_utf8(unsigned cp, sluice_buf_t *out)
{
    char    u[4];
    size_t  n;

    if (cp < 0x80) {
        u[0] = (char) cp;
        n = 1;

    } else if (cp < 0x800) {
        u[0] = (char) (0xc0 | (cp >> 6));
        u[1] = (char) (0x80 | (cp & 0x3f));
        n = 2;

    } else if (cp < 0x10000) {
        u[0] = (char) (0xe0 | (cp >> 12));
        u[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char) (0x80 | (cp & 0x3f));
        n = 3;

    } else {
        u[0] = (char) (0xf0 | (cp >> 18));
        u[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char) (0x80 | (cp & 0x3f));
        n = 4;
    }

    return sluice_buf_append(out, u, n);
}
