/*
 * sluice_xlate_chat_fast: Chat Completions chunks decoded from the tape
 * (sluice_xlate_tape.c) instead of a jansson tree.  The same reading as
 * sluice_xlate_chat_sse_decode, step for step, so the canonical events
 * are the same; an error chunk is left to jansson.
 */

#include <string.h>
#include "sluice_xlate_int.h"


/* the members of a chunk it reads, in this order */
enum {
    SLUICE_XLATE_CF_ERROR = 0,
    SLUICE_XLATE_CF_MODEL,
    SLUICE_XLATE_CF_CREATED,
    SLUICE_XLATE_CF_CHOICES,
    SLUICE_XLATE_CF_USAGE,
    SLUICE_XLATE_CF_N
};

/* and of a delta */
enum {
    SLUICE_XLATE_CD_RC = 0,
    SLUICE_XLATE_CD_REASONING,
    SLUICE_XLATE_CD_CONTENT,
    SLUICE_XLATE_CD_REFUSAL,
    SLUICE_XLATE_CD_TOOLS,
    SLUICE_XLATE_CD_N
};


static int sluice_xlate_chat_fast_first(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m);
static void sluice_xlate_chat_fast_usage(sluice_xlate_tape_t *t, int k,
    sluice_usage_t *u);
static int sluice_xlate_chat_fast_delta(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, int delta);
static int sluice_xlate_chat_fast_string(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, int kind, int k);
static int sluice_xlate_chat_fast_call(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, int call);


static const sluice_xlate_key_t  sluice_xlate_chat_fast_keys[] = {
    sluice_xlate_key("error"),
    sluice_xlate_key("model"),
    sluice_xlate_key("created"),
    sluice_xlate_key("choices"),
    sluice_xlate_key("usage")
};

static const sluice_xlate_key_t  sluice_xlate_chat_fast_delta_keys[] = {
    sluice_xlate_key("reasoning_content"),
    sluice_xlate_key("reasoning"),
    sluice_xlate_key("content"),
    sluice_xlate_key("refusal"),
    sluice_xlate_key("tool_calls")
};


int
sluice_xlate_chat_sse_fast(sluice_xlate_stream_t *st, sluice_xlate_tape_t *t)
{
    int     m[SLUICE_XLATE_CF_N], choice, k;
    size_t  n;

    sluice_xlate_tape_find(t, 0, sluice_xlate_chat_fast_keys, m,
                           SLUICE_XLATE_CF_N);

    if (sluice_xlate_tape_type(t, m[SLUICE_XLATE_CF_ERROR])
        == SLUICE_XLATE_J_OBJECT)
    {
        return SLUICE_XLATE_DECLINED;
    }

    if (sluice_xlate_chat_fast_first(st, t, m) != 0) {
        return -1;
    }

    sluice_xlate_chat_fast_usage(t, m[SLUICE_XLATE_CF_USAGE], &st->usage);

    choice = sluice_xlate_tape_at(t, m[SLUICE_XLATE_CF_CHOICES], 0);

    if (sluice_xlate_chat_fast_delta(st, t,
            sluice_xlate_tape_get(t, choice, "delta", 5)) != 0)
    {
        return -1;
    }

    k = sluice_xlate_tape_get(t, choice, "finish_reason", 13);

    /* the usage chunk may still come: the end waits for [DONE] or EOF */
    if (sluice_xlate_tape_type(t, k) == SLUICE_XLATE_J_STRING
        && !st->up_finish)
    {
        st->up_finish = 1;
        st->up_stop = sluice_xlate_chat_stop_decode(
                          sluice_xlate_tape_cstr(t, k, &n));

        if (st->block_open) {
            return sluice_xlate_stream_event(st, &(sluice_xlate_ev_t) {
                .type = SLUICE_XLATE_EV_BLOCK_STOP });
        }
    }

    return 0;
}


static int
sluice_xlate_chat_fast_first(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m)
{
    size_t       n;
    int64_t      created;
    const char  *model;

    if (st->started) {
        return 0;
    }

    model = sluice_xlate_tape_text(t, m[SLUICE_XLATE_CF_MODEL], &n);

    if (model) {
        n = n < sizeof(st->model) ? n : sizeof(st->model) - 1;
        memcpy(st->model, model, n);
        st->model[n] = '\0';
    }

    if (sluice_xlate_tape_int(t, m[SLUICE_XLATE_CF_CREATED], &created)) {
        st->created = created;
    }

    /* the stream starts with the first chunk that has choices */
    if (sluice_xlate_tape_size(t, m[SLUICE_XLATE_CF_CHOICES]) == 0) {
        return 0;
    }

    return sluice_xlate_stream_event(st, &(sluice_xlate_ev_t) {
        .type = SLUICE_XLATE_EV_START });
}


/* sluice_xlate_usage_chat */
static void
sluice_xlate_chat_fast_usage(sluice_xlate_tape_t *t, int k,
    sluice_usage_t *u)
{
    int64_t  n;

    if (sluice_xlate_tape_type(t, k) != SLUICE_XLATE_J_OBJECT) {
        return;
    }

    if ((n = sluice_xlate_tape_count(t, sluice_xlate_tape_get(t, k,
                                         "prompt_tokens", 13))) >= 0)
    {
        u->in = n;
    }

    if ((n = sluice_xlate_tape_count(t, sluice_xlate_tape_get(t, k,
                                         "completion_tokens", 17))) >= 0)
    {
        u->out = n;
    }

    n = sluice_xlate_tape_count(t, sluice_xlate_tape_get(t,
            sluice_xlate_tape_get(t, k, "prompt_tokens_details", 21),
            "cached_tokens", 13));
    if (n >= 0) {
        u->cached = n;
    }

    n = sluice_xlate_tape_count(t, sluice_xlate_tape_get(t,
            sluice_xlate_tape_get(t, k, "completion_tokens_details", 25),
            "reasoning_tokens", 16));
    if (n >= 0) {
        u->reasoning = n;
    }
}


static int
sluice_xlate_chat_fast_delta(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, int delta)
{
    int       d[SLUICE_XLATE_CD_N], k;
    unsigned  i, n;

    if (delta < 0) {
        return 0;
    }

    sluice_xlate_tape_find(t, delta, sluice_xlate_chat_fast_delta_keys, d,
                           SLUICE_XLATE_CD_N);

    k = d[SLUICE_XLATE_CD_RC];

    if (sluice_xlate_tape_type(t, k) != SLUICE_XLATE_J_STRING) {
        k = d[SLUICE_XLATE_CD_REASONING];
    }

    if (sluice_xlate_chat_fast_string(st, t, SLUICE_XLATE_THINKING, k) != 0) {
        return -1;
    }

    k = d[SLUICE_XLATE_CD_CONTENT];

    if (sluice_xlate_tape_type(t, k) != SLUICE_XLATE_J_STRING) {
        k = d[SLUICE_XLATE_CD_REFUSAL];
    }

    if (sluice_xlate_chat_fast_string(st, t, SLUICE_XLATE_TEXT, k) != 0) {
        return -1;
    }

    k = d[SLUICE_XLATE_CD_TOOLS];
    n = sluice_xlate_tape_size(t, k);

    for (i = 0, k++; i < n; i++, k = (int) t->tok[k].next) {
        if (sluice_xlate_chat_fast_call(st, t, k) != 0) {
            return -1;
        }
    }

    return 0;
}


/* a delta of kind when k is a string */
static int
sluice_xlate_chat_fast_string(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, int kind, int k)
{
    size_t       len;
    const char  *s;

    s = sluice_xlate_tape_text(t, k, &len);

    if (s == NULL) {
        return 0;
    }

    return sluice_xlate_stream_text(st, kind, s, len);
}


/* sluice_xlate_chat_sse_call */
static int
sluice_xlate_chat_fast_call(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, int call)
{
    int                 index, fn, args, id;
    size_t              id_len, args_len, n;
    int64_t             v;
    const char         *id_text, *args_text;
    sluice_xlate_ev_t   ev;

    index = sluice_xlate_tape_int(t, sluice_xlate_tape_get(t, call, "index",
                                                           5), &v)
            ? (int) v : 0;
    fn = sluice_xlate_tape_get(t, call, "function", 8);
    args = sluice_xlate_tape_get(t, fn, "arguments", 9);
    id = sluice_xlate_tape_get(t, call, "id", 2);

    id_text = sluice_xlate_tape_text(t, id, &id_len);
    args_text = sluice_xlate_tape_text(t, args, &args_len);

    if (index >= st->up_tools
        || (id_len && (id_len != st->up_id.len
                       || memcmp(id_text, st->up_id.data, id_len) != 0)))
    {
        memset(&ev, 0, sizeof(sluice_xlate_ev_t));
        ev.type = SLUICE_XLATE_EV_BLOCK_START;
        ev.kind = SLUICE_XLATE_TOOL;
        ev.id = sluice_xlate_tape_cstr(t, id, &n);
        ev.name = sluice_xlate_tape_cstr(t, sluice_xlate_tape_get(t, fn,
                                             "name", 4), &n);

        st->up_tools = index >= st->up_tools ? index + 1 : st->up_tools;
        st->up_index = index;
        sluice_buf_reset(&st->up_id);

        if (sluice_buf_append(&st->up_id, ev.id ? ev.id : "", id_len) != 0
            || sluice_xlate_stream_event(st, &ev) != 0)
        {
            st->rc = -1;
            return -1;
        }

    } else if (index != st->up_index && args_len) {
        return sluice_xlate_stream_error(st, SLUICE_XLATE_E_SERVER,
                   "the upstream interleaved tool call arguments");
    }

    if (args_text == NULL) {
        return 0;
    }

    return sluice_xlate_stream_text(st, SLUICE_XLATE_TOOL, args_text,
                                    args_len);
}
