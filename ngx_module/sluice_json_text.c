/*
 * sluice_json_text: JSON text utilities shared by the one-pass readers
 * and writers: UTF-8 lengths and encoding, hex digits, string decoding
 * and escaping (see sluice_json.h).
 */

#include "sluice_json.h"


size_t
sluice_json_utf8_len(const uint8_t *p, size_t len)
{
    size_t    n, k;
    uint32_t  cp, min;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2; cp = p[0] & 0x1f; min = 0x80;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3; cp = p[0] & 0x0f; min = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4; cp = p[0] & 0x07; min = 0x10000;
    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[k] & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    return n;
}


size_t
sluice_json_utf8_put(uint8_t *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (uint8_t) cp;
        return 1;
    }

    if (cp < 0x800) {
        out[0] = (uint8_t) (0xc0 | (cp >> 6));
        out[1] = (uint8_t) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        out[0] = (uint8_t) (0xe0 | (cp >> 12));
        out[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t) (0x80 | (cp & 0x3f));
        return 3;
    }

    out[0] = (uint8_t) (0xf0 | (cp >> 18));
    out[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t) (0x80 | (cp & 0x3f));
    return 4;
}

unsigned
sluice_json_hex4(const uint8_t *p)
{
    unsigned  v, k;
    uint8_t   b;

    v = 0;
    for (k = 0; k < 4; k++) {
        b = p[k];
        v = v * 16 + ((b <= '9') ? (unsigned) (b - '0')
                                 : (unsigned) ((b | 0x20) - 'a' + 10));
    }
    return v;
}


ssize_t
sluice_json_string_decode(const uint8_t *p, size_t len, uint8_t *out,
    size_t cap)
{
    size_t    i, o;
    unsigned  cp, lo;
    uint8_t   b;

    o = 0;

    for (i = 1; i + 1 < len; /* void */) {
        if (o + 4 > cap) {
            return -1;
        }

        b = p[i];
        if (b != '\\') {
            out[o++] = b;
            i++;
            continue;
        }

        b = p[i + 1];
        i += 2;

        switch (b) {
        case 'b': out[o++] = '\b'; continue;
        case 'f': out[o++] = '\f'; continue;
        case 'n': out[o++] = '\n'; continue;
        case 'r': out[o++] = '\r'; continue;
        case 't': out[o++] = '\t'; continue;
        case 'u': break;
        default: out[o++] = b; continue;
        }

        cp = sluice_json_hex4(p + i);
        i += 4;

        if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < len && p[i] == '\\'
            && p[i + 1] == 'u')
        {
            lo = sluice_json_hex4(p + i + 2);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
        }

        o += sluice_json_utf8_put(out + o, cp);
    }

    return (ssize_t) o;
}


size_t
sluice_json_escaped_len(const uint8_t *s, size_t len)
{
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++) {
        n += (s[i] == '"' || s[i] == '\\') ? 2 : (s[i] < 0x20) ? 6 : 1;
    }
    return n;
}


uint8_t *
sluice_json_escape(uint8_t *out, const uint8_t *s, size_t len)
{
    static const char  hex[] = "0123456789abcdef";
    size_t             i;

    for (i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            *out++ = '\\';
            *out++ = s[i];
        } else if (s[i] < 0x20) {
            *out++ = '\\'; *out++ = 'u'; *out++ = '0'; *out++ = '0';
            *out++ = (uint8_t) hex[s[i] >> 4];
            *out++ = (uint8_t) hex[s[i] & 0xf];
        } else {
            *out++ = s[i];
        }
    }
    return out;
}
