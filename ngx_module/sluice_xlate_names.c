/*
 * sluice_xlate_names: the caller's tool names behind the names a target
 * of another dialect sees (freeform tools, namespaced functions), kept
 * from the request so that the answer can give them back.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sluice_xlate_int.h"


/* "<ns>__<name>" cut to this much, then "_" and 8 hex digits */
#define SLUICE_XLATE_FLAT_KEEP  (SLUICE_XLATE_FLAT_LEN - 9)


/* offsets from the start of the block; ns 0: no namespace */
typedef struct {
    uint32_t             flat;
    uint32_t             name;
    uint32_t             ns;
    uint32_t             custom;
} sluice_xlate_name_t;

/*
 * One block: this header, n entries, then the strings they point to.
 * Nothing in it points outside it, so a copy is one memcpy.
 */
struct sluice_xlate_names_s {
    size_t               size;
    uint32_t             n;
    sluice_xlate_name_t  e[];
};


static int sluice_xlate_name_ok(char ch);
static uint32_t sluice_xlate_name_hash(const char *ns, const char *name);
static int sluice_xlate_names_mapped(json_t *t, const char **flat,
    const char **name, const char **ns);
static uint32_t sluice_xlate_names_put(sluice_xlate_names_t *names,
    size_t *at, const char *s);


static int
sluice_xlate_name_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}


/* FNV-1a over ns, a NUL and name: "a.b"+"c" and "a"+"b.c" differ */
static uint32_t
sluice_xlate_name_hash(const char *ns, const char *name)
{
    uint32_t        h;
    const uint8_t  *p;

    h = 2166136261u;

    for (p = (const uint8_t *) ns; *p; p++) {
        h = (h ^ *p) * 16777619u;
    }

    h *= 16777619u;

    for (p = (const uint8_t *) name; *p; p++) {
        h = (h ^ *p) * 16777619u;
    }

    return h;
}


/*
 * "<ns>__<name>" (Codex's own flat spelling) into out (at least
 * SLUICE_XLATE_FLAT_LEN + 1 bytes).  When that is too long or holds
 * characters a target refuses, those become '_', the name is cut, and
 * a hash of the original pair is appended: the same pair always gives
 * the same name, so history and tools agree across turns.
 */
void
sluice_xlate_flat_name(const char *ns, const char *name, char *out)
{
    int          clean;
    size_t       n, k, len;
    const char  *s, *parts[3];

    parts[0] = ns;
    parts[1] = "__";
    parts[2] = name;

    len = strlen(ns) + 2 + strlen(name);
    clean = len <= SLUICE_XLATE_FLAT_LEN;
    n = 0;

    for (k = 0; k < 3; k++) {
        for (s = parts[k]; *s && n < SLUICE_XLATE_FLAT_LEN; s++) {
            clean = clean && sluice_xlate_name_ok(*s);
            out[n++] = sluice_xlate_name_ok(*s) ? *s : '_';
        }
    }

    if (!clean) {
        n = n < SLUICE_XLATE_FLAT_KEEP ? n : SLUICE_XLATE_FLAT_KEEP;
        snprintf(out + n, SLUICE_XLATE_FLAT_LEN + 1 - n, "_%08x",
                 (unsigned) sluice_xlate_name_hash(ns, name));
        return;
    }

    out[n] = '\0';
}


/* 1 when a canonical tool is known to the target by another name */
static int
sluice_xlate_names_mapped(json_t *t, const char **flat, const char **name,
    const char **ns)
{
    *flat = json_string_value(json_object_get(t, "name"));
    *ns = json_string_value(json_object_get(t, "ns"));
    *name = *ns ? json_string_value(json_object_get(t, "orig")) : *flat;

    return *flat && *name
           && (*ns || json_is_true(json_object_get(t, "custom")));
}


/*
 * The table of the canonical tools that need mapping back; *names NULL
 * when none do.  0, or -1 when out of memory or over
 * SLUICE_XLATE_NAMES_MAX entries (the decoder bounds each string).
 */
int
sluice_xlate_names_make(json_t *tools, sluice_xlate_names_t **names)
{
    size_t                 i, n, size, at;
    json_t                *t;
    const char            *flat, *name, *ns;
    sluice_xlate_names_t  *nm;

    *names = NULL;
    n = 0;
    size = 1;

    json_array_foreach(tools, i, t) {
        if (sluice_xlate_names_mapped(t, &flat, &name, &ns)) {
            n++;
            size += strlen(flat) + strlen(name) + (ns ? strlen(ns) : 0) + 3;
        }
    }

    if (n == 0) {
        return 0;
    }

    if (n > SLUICE_XLATE_NAMES_MAX) {
        return -1;
    }

    at = sizeof(sluice_xlate_names_t) + n * sizeof(sluice_xlate_name_t);
    size += at;

    nm = calloc(1, size);
    if (nm == NULL) {
        return -1;
    }

    nm->size = size;

    /* the strings follow the entries: offset 0 is never a string */
    json_array_foreach(tools, i, t) {
        if (!sluice_xlate_names_mapped(t, &flat, &name, &ns)) {
            continue;
        }

        nm->e[nm->n].flat = sluice_xlate_names_put(nm, &at, flat);
        nm->e[nm->n].name = sluice_xlate_names_put(nm, &at, name);
        nm->e[nm->n].ns = ns ? sluice_xlate_names_put(nm, &at, ns) : 0;
        nm->e[nm->n].custom = json_is_true(json_object_get(t, "custom"));
        nm->n++;
    }

    *names = nm;

    return 0;
}


static uint32_t
sluice_xlate_names_put(sluice_xlate_names_t *names, size_t *at,
    const char *s)
{
    size_t    n;
    uint32_t  off;

    n = strlen(s) + 1;
    off = (uint32_t) *at;
    memcpy((char *) names + off, s, n);
    *at += n;

    return off;
}


sluice_xlate_names_t *
sluice_xlate_names_copy(const sluice_xlate_names_t *names)
{
    sluice_xlate_names_t  *copy;

    if (names == NULL) {
        return NULL;
    }

    copy = malloc(names->size);

    if (copy) {
        memcpy(copy, names, names->size);
    }

    return copy;
}


void
sluice_xlate_names_free(sluice_xlate_names_t *names)
{
    free(names);
}


/* 1 and the caller's tool when the target's name flat is one of ours */
int
sluice_xlate_names_find(const sluice_xlate_names_t *names, const char *flat,
    sluice_xlate_tool_t *tool)
{
    uint32_t     i;
    const char  *base;

    if (names == NULL || flat == NULL) {
        return 0;
    }

    base = (const char *) names;

    for (i = 0; i < names->n; i++) {
        if (strcmp(base + names->e[i].flat, flat) == 0) {
            tool->name = base + names->e[i].name;
            tool->ns = names->e[i].ns ? base + names->e[i].ns : NULL;
            tool->custom = (int) names->e[i].custom;
            return 1;
        }
    }

    return 0;
}


/*
 * The canonical answer's tool calls get the caller's names back: name,
 * ns, and for a freeform tool custom: true and the input string.
 * 0, or -1 when out of memory.
 */
int
sluice_xlate_names_apply(const sluice_xlate_names_t *names, json_t *c)
{
    size_t                i;
    json_t               *p, *args;
    const char           *type;
    sluice_xlate_tool_t   tool;

    json_array_foreach(json_object_get(c, "content"), i, p) {
        type = json_string_value(json_object_get(p, "type"));

        if (type == NULL || strcmp(type, "tool_call") != 0
            || !sluice_xlate_names_find(names,
                   json_string_value(json_object_get(p, "name")), &tool))
        {
            continue;
        }

        if (json_object_set_new(p, "name", json_string(tool.name)) != 0
            || (tool.ns && json_object_set_new(p, "ns",
                               json_string(tool.ns)) != 0))
        {
            return -1;
        }

        if (!tool.custom) {
            continue;
        }

        args = json_object_get(p, "arguments");

        if (json_object_set_new(p, "custom", json_true()) != 0
            || json_object_set_new(p, "input",
                   sluice_xlate_freeform_input(json_string_value(args),
                                               json_string_length(args)))
               != 0)
        {
            return -1;
        }
    }

    return 0;
}
