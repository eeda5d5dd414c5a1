/*
 * sluice_xlate_frame: the caller's frames written without jansson.  A
 * frame is built in st->frame (start, then cat, cat_json, cat_str and
 * cat_int, then end_frame emits it); a failed append sticks in st->rc
 * and end_frame reports it.
 *
 * Two string writers: cat_json escapes as the per-token frames always
 * have (as sluice_json_escape: \u00xx for control characters), cat_str
 * byte for byte as jansson's dump does (\n and friends, \u00XX for the
 * other control characters, UTF-8 kept, and a failure where jansson
 * would refuse the string: invalid UTF-8), so that a frame written here
 * equals the one jansson would have made.
 */

#include <string.h>
#include "sluice_json.h"
#include "sluice_xlate_int.h"




void
sluice_xlate_stream_start(sluice_xlate_stream_t *st, const char *s)
{
    sluice_buf_reset(&st->frame);
    sluice_xlate_stream_cat(st, s);
}


void
sluice_xlate_stream_cat(sluice_xlate_stream_t *st, const char *s)
{
    sluice_xlate_stream_catn(st, s, strlen(s));
}


void
sluice_xlate_stream_catn(sluice_xlate_stream_t *st, const char *s, size_t n)
{
    sluice_buf_t  *f;

    f = &st->frame;

    if (f->len + n + 1 > f->cap && sluice_buf_reserve(f, n) != 0) {
        st->rc = -1;
        return;
    }

    if (n) {
        memcpy(f->data + f->len, s, n);
        f->len += n;
    }

    f->data[f->len] = '\0';
}


/*
 * As sluice_json_escape writes s, quoted: '"' and '\\' after a
 * backslash, control characters as \u00xx, the rest as it is; runs that
 * need nothing are copied whole (eight bytes are looked at a step).
 */
void
sluice_xlate_stream_cat_json(sluice_xlate_stream_t *st, const char *s,
    size_t len)
{
    size_t          i, from;
    uint8_t         c;
    uint64_t        w;
    const uint8_t  *p;
    char            esc[6];

    static const char      hex[] = "0123456789abcdef";
    static const uint64_t  ones = 0x0101010101010101ULL;
    static const uint64_t  high = 0x8080808080808080ULL;

    p = (const uint8_t *) s;
    sluice_xlate_stream_lit(st, "\"");

    for (i = 0; i < len; /* void */) {
        from = i;

        /* no false negatives: a byte to escape is always flagged */
        for ( ;; ) {
            if (len - i < 8) {
                break;
            }

            memcpy(&w, p + i, 8);

            if (((w - ones * 0x20) | ((w ^ (ones * '"')) - ones)
                 | ((w ^ (ones * '\\')) - ones)) & ~w & high)
            {
                break;
            }

            i += 8;
        }

        while (i < len && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') {
            i++;
        }

        sluice_xlate_stream_catn(st, s + from, i - from);

        if (i == len) {
            break;
        }

        c = p[i++];
        esc[0] = '\\';

        if (c == '"' || c == '\\') {
            esc[1] = (char) c;
            sluice_xlate_stream_catn(st, esc, 2);
            continue;
        }

        esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
        esc[4] = hex[c >> 4]; esc[5] = hex[c & 0xf];
        sluice_xlate_stream_catn(st, esc, 6);
    }

    sluice_xlate_stream_lit(st, "\"");
}


/* an id we made (a prefix and hex digits): quoted, nothing to escape */
void
sluice_xlate_stream_cat_id(sluice_xlate_stream_t *st, const char *id)
{
    sluice_xlate_stream_lit(st, "\"");
    sluice_xlate_stream_cat(st, id);
    sluice_xlate_stream_lit(st, "\"");
}


void
sluice_xlate_stream_cat_str(sluice_xlate_stream_t *st, const char *s,
    size_t len)
{
    if (sluice_xlate_buf_str(&st->frame, s, len) != 0) {
        st->rc = -1;
    }
}


void
sluice_xlate_stream_cat_int(sluice_xlate_stream_t *st, int64_t n)
{
    char      num[24], *p;
    uint64_t  u;

    p = num + sizeof(num);
    u = n < 0 ? 0 - (uint64_t) n : (uint64_t) n;

    do {
        *--p = (char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (n < 0) {
        *--p = '-';
    }

    sluice_xlate_stream_catn(st, p, num + sizeof(num) - p);
}


int
sluice_xlate_stream_end_frame(sluice_xlate_stream_t *st, const char *s)
{
    sluice_xlate_stream_cat(st, s);

    if (st->rc) {
        return -1;
    }

    return sluice_xlate_stream_raw(st, st->frame.data, st->frame.len);
}


/*
 * Appends s (len bytes) quoted as jansson dumps a string; -1 when it is
 * not UTF-8 (jansson would not have made the string) or out of memory.
 */
int
sluice_xlate_buf_str(sluice_buf_t *b, const char *s, size_t len)
{
    if (sluice_buf_append(b, "\"", 1) != 0
        || sluice_xlate_buf_esc(b, s, len) != 0)
    {
        return -1;
    }

    return sluice_buf_append(b, "\"", 1);
}


/* the same without the quotes */
int
sluice_xlate_buf_esc(sluice_buf_t *b, const char *s, size_t len)
{
    size_t          i, from, n;
    uint8_t         c;
    const uint8_t  *p;
    char            esc[6];

    static const char  hex[] = "0123456789ABCDEF";

    p = (const uint8_t *) s;

    if (sluice_buf_reserve(b, len) != 0) {
        return -1;
    }

    for (i = 0; i < len; /* void */) {
        for (from = i; i < len; i += n) {
            c = p[i];

            if (c < 0x80) {
                if (!sluice_json_plain[c]) {
                    break;
                }

                n = 1;
                continue;
            }

            n = sluice_json_utf8_len(p + i, len - i);

            if (n == 0) {
                return -1;
            }
        }

        if (i > from && sluice_buf_append(b, p + from, i - from) != 0) {
            return -1;
        }

        if (i == len) {
            break;
        }

        c = p[i++];
        esc[0] = '\\';
        n = 2;

        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[c >> 4]; esc[5] = hex[c & 0xf];
            n = 6;
        }

        if (sluice_buf_append(b, esc, n) != 0) {
            return -1;
        }
    }

    return 0;
}


/* appends n in decimal, as jansson dumps an integer */
int
sluice_xlate_buf_int(sluice_buf_t *b, int64_t n)
{
    char      num[24], *p;
    uint64_t  u;

    p = num + sizeof(num);
    u = n < 0 ? 0 - (uint64_t) n : (uint64_t) n;

    do {
        *--p = (char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (n < 0) {
        *--p = '-';
    }

    return sluice_buf_append(b, p, num + sizeof(num) - p);
}
