/*
 * sluice_xlate_req_fast: request translation without jansson.  The body
 * is read once onto a tape (sluice_xlate_tape.c) and the target's body
 * written straight into the output, byte for byte what the jansson path
 * (sluice_xlate_request.c) makes of the same body, or the fast path
 * declines and jansson translates.  Every refusal declines, so errors
 * keep the jansson path's words; so do duplicate keys (jansson refuses
 * them), and whatever a direction's writer is not sure of.
 *
 * Here: the entry, the members checks (the decoders' own tables, read on
 * the tape) and the writers of values as jansson dumps them
 * (SLUICE_XLATE_DUMP: compact, reals as "%.15g").
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sluice_json.h"
#include "sluice_xlate_int.h"


/* an object with more members than this is declined (the check is n^2) */
#define SLUICE_XLATE_RQ_MEMBERS  256


typedef int (*sluice_xlate_rq_pt)(sluice_xlate_rq_t *r);


static int sluice_xlate_rq_unique(const sluice_xlate_tape_t *t);
static int sluice_xlate_rq_check_one(sluice_xlate_rq_t *r, int v,
    const sluice_xlate_check_t *ck);
static int sluice_xlate_rq_path(sluice_xlate_rq_t *r, const char *path);
static void sluice_xlate_rq_members(sluice_xlate_rq_t *r,
    sluice_xlate_tape_t *t, int k, const char *skip);
static void sluice_xlate_rq_reescape(sluice_xlate_rq_t *r,
    const uint8_t *p, size_t len);


/* indexed by from * 3 + to; NULL: no fast path for that direction */
static const sluice_xlate_rq_pt  sluice_xlate_rq_directions[9] = {
    NULL, NULL, sluice_xlate_chat2msg,
    NULL, NULL, NULL,
    sluice_xlate_msg2chat, NULL, NULL
};


int
sluice_xlate_request_fast(int from, int to, unsigned flags,
    const char *body, size_t len, const char *upstream_model,
    sluice_buf_t *out, sluice_xlate_names_t **names)
{
    int                  rc;
    size_t               mark;
    sluice_xlate_rq_t    r;
    sluice_xlate_rq_pt   handler;

    if (names) {
        *names = NULL;
    }

    if (from < 0 || from > SLUICE_XLATE_MESSAGES || to < 0
        || to > SLUICE_XLATE_MESSAGES
        || (handler = sluice_xlate_rq_directions[from * 3 + to]) == NULL)
    {
        return SLUICE_XLATE_DECLINED;
    }

    /* a token takes two bytes of text at least: a sixteenth mostly does */
    r.t = sluice_xlate_tape_create_n(len / 16 + 64, 1);
    if (r.t == NULL) {
        return SLUICE_XLATE_DECLINED;
    }

    r.args = NULL;
    r.out = out;
    r.model = upstream_model ? upstream_model : "";
    r.flags = flags;
    r.rc = 0;

    mark = out->len;

    if (sluice_xlate_tape_parse(r.t, (const uint8_t *) body, len,
                                SLUICE_XLATE_TAPE_NEST)
        != 0
        || sluice_xlate_rq_unique(r.t) != 0)
    {
        rc = SLUICE_XLATE_DECLINED;

    } else {
        rc = handler(&r);

        if (r.rc != 0) {
            rc = SLUICE_XLATE_DECLINED;
        }
    }

    if (rc != SLUICE_XLATE_OK && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }

    sluice_xlate_tape_destroy(r.args);
    sluice_xlate_tape_destroy(r.t);

    return rc;
}


/* 0 when no object of the tape holds a key twice, else -1 */
static int
sluice_xlate_rq_unique(const sluice_xlate_tape_t *t)
{
    uint32_t                   i, j, k, end;
    const sluice_xlate_tok_t  *a, *b;

    for (k = 0; k < t->n; k++) {
        if (t->tok[k].type != SLUICE_XLATE_J_OBJECT || t->tok[k].n < 4) {
            continue;
        }

        if (t->tok[k].n > 2 * SLUICE_XLATE_RQ_MEMBERS) {
            return -1;
        }

        end = t->tok[k].next;

        /* keys hold no escapes (the tape declines them): bytes compare */
        for (i = k + 1; i < end; i = t->tok[i + 1].next) {
            a = &t->tok[i];

            for (j = t->tok[i + 1].next; j < end; j = t->tok[j + 1].next) {
                b = &t->tok[j];

                if (a->end - a->start == b->end - b->start
                    && memcmp(t->p + a->start, t->p + b->start,
                              a->end - a->start) == 0)
                {
                    return -1;
                }
            }
        }
    }

    return 0;
}


/*
 * sluice_xlate_check() on the tape: 0 when every member the table names
 * has a type and range it allows, -1 when the jansson path would refuse
 * the body.
 */
int
sluice_xlate_rq_check(sluice_xlate_rq_t *r, const sluice_xlate_check_t *ck)
{
    int  v;

    for ( /* void */ ; ck->path; ck++) {
        v = sluice_xlate_rq_path(r, ck->path);

        if (v >= 0 && !sluice_xlate_rq_check_one(r, v, ck)) {
            return -1;
        }
    }

    return 0;
}


/* "a.b": member b of the top-level object's a; -1 when absent */
static int
sluice_xlate_rq_path(sluice_xlate_rq_t *r, const char *path)
{
    int          k;
    const char  *dot;

    k = 0;

    for ( ;; ) {
        dot = strchr(path, '.');
        k = sluice_xlate_tape_get(r->t, k, path,
                                  dot ? (size_t) (dot - path) : strlen(path));

        if (dot == NULL || k < 0) {
            return k;
        }

        path = dot + 1;
    }
}


/* sluice_xlate_check_ok() */
static int
sluice_xlate_rq_check_one(sluice_xlate_rq_t *r, int v,
    const sluice_xlate_check_t *ck)
{
    int       k;
    double    d;
    int64_t   i;
    unsigned  t, n;

    t = ck->types;

    switch (sluice_xlate_tape_type(r->t, v)) {

    case SLUICE_XLATE_J_NULL:
        return (t & SLUICE_XLATE_T_NULL) != 0;

    case SLUICE_XLATE_J_TRUE:
    case SLUICE_XLATE_J_FALSE:
        return (t & SLUICE_XLATE_T_BOOL) != 0;

    case SLUICE_XLATE_J_STRING:
        return (t & SLUICE_XLATE_T_STR) != 0;

    case SLUICE_XLATE_J_OBJECT:
        return (t & SLUICE_XLATE_T_OBJ) != 0;

    case SLUICE_XLATE_J_NUMBER:
        if ((t & SLUICE_XLATE_T_INT) && sluice_xlate_tape_int(r->t, v, &i)
            && i >= 0)
        {
            return 1;
        }

        if (!(t & SLUICE_XLATE_T_NUM)) {
            return 0;
        }

        d = sluice_xlate_rq_number(r, r->t, v);

        return d >= ck->min && d <= ck->max;

    case SLUICE_XLATE_J_ARRAY:
        if (t & SLUICE_XLATE_T_ARR) {
            return 1;
        }

        if (!(t & SLUICE_XLATE_T_STRS)) {
            return 0;
        }

        n = sluice_xlate_tape_size(r->t, v);

        for (k = v + 1; n > 0; n--, k = (int) r->t->tok[k].next) {
            if (r->t->tok[k].type != SLUICE_XLATE_J_STRING) {
                return 0;
            }
        }

        return 1;
    }

    return 0;
}


/* json_number_value() of number k of tape t as jansson would read it */
double
sluice_xlate_rq_number(sluice_xlate_rq_t *r, sluice_xlate_tape_t *t, int k)
{
    char      num[320];
    size_t    n;
    int64_t   i;

    if (sluice_xlate_tape_int(t, k, &i)) {
        return (double) i;
    }

    n = t->tok[k].end - t->tok[k].start;

    /* the tape takes reals of 300 characters at most */
    if (n >= sizeof(num)) {
        r->rc = -1;
        return 0;
    }

    memcpy(num, t->p + t->tok[k].start, n);
    num[n] = '\0';

    return strtod(num, NULL);
}


void
sluice_xlate_rq_cat(sluice_xlate_rq_t *r, const char *s, size_t n)
{
    if (r->rc == 0 && sluice_buf_append(r->out, s, n) != 0) {
        r->rc = -1;
    }
}


/* s (len bytes) as a JSON string; invalid UTF-8 declines */
void
sluice_xlate_rq_str(sluice_xlate_rq_t *r, const char *s, size_t len)
{
    if (r->rc == 0 && sluice_xlate_buf_str(r->out, s, len) != 0) {
        r->rc = -1;
    }
}


/*
 * String k of tape t as jansson dumps it: as it stands when it holds
 * no escape (no byte in it would be escaped), else re-escaped.
 */
void
sluice_xlate_rq_string(sluice_xlate_rq_t *r, sluice_xlate_tape_t *t, int k)
{
    sluice_xlate_rq_lit(r, "\"");
    sluice_xlate_rq_esc(r, t, k);
    sluice_xlate_rq_lit(r, "\"");
}


/* the same without the quotes (a piece of a longer string) */
void
sluice_xlate_rq_esc(sluice_xlate_rq_t *r, sluice_xlate_tape_t *t, int k)
{
    const uint8_t  *p;

    p = t->p + t->tok[k].start + 1;

    if (!(t->tok[k].flags & SLUICE_XLATE_TOK_ESC)) {
        sluice_xlate_rq_cat(r, (const char *) p,
                            t->tok[k].end - t->tok[k].start - 2);
        return;
    }

    sluice_xlate_rq_reescape(r, p, t->tok[k].end - t->tok[k].start - 2);
}


/*
 * A string body the tape validated, escaped as jansson escapes its
 * value, without decoding it first: runs without a backslash stay as
 * they are; "\/" is '/', a \u escape of a control character takes
 * its short form or \u00XX, of anything else its UTF-8 (or its
 * two-character escape for '"' and '\\'); the other escapes stay.
 */
static void
sluice_xlate_rq_reescape(sluice_xlate_rq_t *r, const uint8_t *p,
    size_t len)
{
    char            buf[6];
    size_t          i, from;
    unsigned        cp;
    const uint8_t  *bs;

    for (i = 0; i < len; /* void */) {
        from = i;
        bs = memchr(p + i, '\\', len - i);
        i = bs ? (size_t) (bs - p) : len;

        if (i > from) {
            sluice_xlate_rq_cat(r, (const char *) p + from, i - from);
        }

        if (i == len) {
            return;
        }

        if (p[i + 1] != 'u') {
            if (p[i + 1] == '/') {
                sluice_xlate_rq_lit(r, "/");

            } else {
                sluice_xlate_rq_cat(r, (const char *) p + i, 2);
            }

            i += 2;
            continue;
        }

        cp = sluice_json_hex4(p + i + 2);
        i += 6;

        /* the tape saw the low half of a pair follow */
        if (cp >= 0xd800 && cp <= 0xdbff) {
            cp = 0x10000 + ((cp - 0xd800) << 10)
                 + (sluice_json_hex4(p + i + 2) - 0xdc00);
            i += 6;
        }

        if (cp >= 0x20 && cp != '"' && cp != '\\') {
            sluice_xlate_rq_cat(r, buf,
                                sluice_json_utf8_put((uint8_t *) buf, cp));
            continue;
        }

        buf[0] = (char) cp;

        if (sluice_xlate_buf_esc(r->out, buf, 1) != 0) {
            r->rc = -1;
        }
    }
}


void
sluice_xlate_rq_int(sluice_xlate_rq_t *r, int64_t n)
{
    if (r->rc == 0 && sluice_xlate_buf_int(r->out, n) != 0) {
        r->rc = -1;
    }
}


/*
 * A real as jansson 2.14 dumps it with JSON_REAL_PRECISION(15)
 * (jsonp_dtostr): "%.15g", ".0" added when it would read as an integer,
 * the exponent without '+' and leading zeros.
 */
void
sluice_xlate_rq_real(sluice_xlate_rq_t *r, double d)
{
    int    n;
    char   buf[48], *e, *from;

    n = snprintf(buf, sizeof(buf), "%.15g", d);

    if (n < 0 || (size_t) n + 3 >= sizeof(buf)) {
        r->rc = -1;
        return;
    }

    if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }

    e = strchr(buf, 'e');

    if (e) {
        e++;
        from = e + 1;

        if (*e == '-') {
            e++;
        }

        while (*from == '0') {
            from++;
        }

        if (from != e) {
            memmove(e, from, n - (from - buf) + 1);
            n -= from - e;
        }
    }

    sluice_xlate_rq_cat(r, buf, n);
}


/*
 * Value k of tape t as jansson dumps it once loaded (duplicate keys
 * were declined), without its member skip when k is an object (the
 * "$schema" sluice_xlate_schema() drops; NULL: none).
 */
void
sluice_xlate_rq_value(sluice_xlate_rq_t *r, sluice_xlate_tape_t *t, int k,
    const char *skip)
{
    int                  v;
    unsigned             n;
    int64_t              i;
    sluice_xlate_tok_t  *tok;

    tok = &t->tok[k];

    switch (tok->type) {

    case SLUICE_XLATE_J_OBJECT:
        sluice_xlate_rq_members(r, t, k, skip);
        return;

    case SLUICE_XLATE_J_ARRAY:
        sluice_xlate_rq_lit(r, "[");

        for (n = 0, v = k + 1; n < tok->n; n++, v = (int) t->tok[v].next) {
            if (n) {
                sluice_xlate_rq_lit(r, ",");
            }

            sluice_xlate_rq_value(r, t, v, NULL);
        }

        sluice_xlate_rq_lit(r, "]");
        return;

    case SLUICE_XLATE_J_STRING:
        sluice_xlate_rq_string(r, t, k);
        return;

    case SLUICE_XLATE_J_NUMBER:
        if (sluice_xlate_tape_int(t, k, &i)) {
            sluice_xlate_rq_int(r, i);

        } else {
            sluice_xlate_rq_real(r, sluice_xlate_rq_number(r, t, k));
        }

        return;

    default:
        /* true, false, null: as they stand */
        sluice_xlate_rq_cat(r, (const char *) t->p + tok->start,
                            tok->end - tok->start);
    }
}


static void
sluice_xlate_rq_members(sluice_xlate_rq_t *r, sluice_xlate_tape_t *t,
    int k, const char *skip)
{
    int                  first;
    size_t               slen;
    uint32_t             i, end;
    sluice_xlate_tok_t  *key;

    slen = skip ? strlen(skip) : 0;
    first = 1;
    end = t->tok[k].next;

    sluice_xlate_rq_lit(r, "{");

    for (i = (uint32_t) k + 1; i < end; i = t->tok[i + 1].next) {
        key = &t->tok[i];

        if (skip && key->end - key->start == slen + 2
            && memcmp(t->p + key->start + 1, skip, slen) == 0)
        {
            continue;
        }

        if (!first) {
            sluice_xlate_rq_lit(r, ",");
        }

        first = 0;

        /* a key holds no escape: its bytes are jansson's */
        sluice_xlate_rq_cat(r, (const char *) t->p + key->start,
                            key->end - key->start);
        sluice_xlate_rq_lit(r, ":");
        sluice_xlate_rq_value(r, t, (int) i + 1, NULL);
    }

    sluice_xlate_rq_lit(r, "}");
}


/*
 * The JSON text string k holds, loaded as json_loads(text, 0) would
 * load it, on the second tape: its top-level object, or -1 (not an
 * object, or not surely read as jansson reads it: the caller declines).
 * The decoded text stays in t's scratch until the caller gives it back.
 */
int
sluice_xlate_rq_parse_string(sluice_xlate_rq_t *r, sluice_xlate_tape_t *t,
    int k)
{
    size_t       len;
    const char  *s;

    s = sluice_xlate_tape_text(t, k, &len);

    if (s == NULL) {
        return -1;
    }

    if (r->args == NULL) {
        r->args = sluice_xlate_tape_create_n(len / 16 + 64, 1);
        if (r->args == NULL) {
            return -1;
        }
    }

    if (sluice_xlate_tape_parse(r->args, (const uint8_t *) s, len,
                                SLUICE_XLATE_TAPE_NEST)
        != 0
        || sluice_xlate_rq_unique(r->args) != 0)
    {
        return -1;
    }

    return 0;
}


/* 1 when string k of tape t equals s (a literal) */
int
sluice_xlate_rq_is(sluice_xlate_rq_t *r, int k, const char *s)
{
    return sluice_xlate_tape_eq(r->t, k, s, strlen(s));
}
