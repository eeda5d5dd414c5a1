/*
 * sluice_xlate_messages_fast: Anthropic Messages events decoded from the
 * tape (sluice_xlate_tape.c) instead of a jansson tree.  The same
 * reading as sluice_xlate_messages_sse_decode, step for step; error
 * events and tool_use blocks that start with input are left to jansson.
 */

#include <string.h>
#include "sluice_xlate_int.h"


typedef int (*sluice_xlate_mf_pt)(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m);

/* the members of an event read, found in one walk */
enum {
    SLUICE_XLATE_MF_TYPE = 0,
    SLUICE_XLATE_MF_DELTA,
    SLUICE_XLATE_MF_BLOCK,
    SLUICE_XLATE_MF_MESSAGE,
    SLUICE_XLATE_MF_USAGE,
    SLUICE_XLATE_MF_N
};

typedef struct {
    sluice_xlate_key_t    type;
    sluice_xlate_mf_pt    handler;
} sluice_xlate_mf_event_t;

/* a delta's type, what it carries and where */
typedef struct {
    sluice_xlate_key_t    type;
    int                   kind;
    sluice_xlate_key_t    key;
} sluice_xlate_mf_delta_t;


static int sluice_xlate_messages_fast_start(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m);
static int sluice_xlate_messages_fast_block(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m);
static int sluice_xlate_messages_fast_delta(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m);
static int sluice_xlate_messages_fast_block_stop(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m);
static int sluice_xlate_messages_fast_stop(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m);
static int sluice_xlate_messages_fast_end(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m);
static int sluice_xlate_messages_fast_ping(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m);
static void sluice_xlate_messages_fast_usage(sluice_xlate_tape_t *t, int k,
    sluice_usage_t *u);
static int sluice_xlate_messages_fast_simple(sluice_xlate_stream_t *st,
    int type);


/* the most frequent first; "error" and unknown types are not here */
static const sluice_xlate_mf_event_t  sluice_xlate_mf_events[] = {
    { sluice_xlate_key("content_block_delta"),
      sluice_xlate_messages_fast_delta },
    { sluice_xlate_key("ping"), sluice_xlate_messages_fast_ping },
    { sluice_xlate_key("content_block_start"),
      sluice_xlate_messages_fast_block },
    { sluice_xlate_key("content_block_stop"),
      sluice_xlate_messages_fast_block_stop },
    { sluice_xlate_key("message_start"), sluice_xlate_messages_fast_start },
    { sluice_xlate_key("message_delta"), sluice_xlate_messages_fast_stop },
    { sluice_xlate_key("message_stop"), sluice_xlate_messages_fast_end },
    { { NULL, 0 }, NULL }
};

static const sluice_xlate_mf_delta_t  sluice_xlate_mf_deltas[] = {
    { sluice_xlate_key("text_delta"), SLUICE_XLATE_TEXT,
      sluice_xlate_key("text") },
    { sluice_xlate_key("input_json_delta"), SLUICE_XLATE_TOOL,
      sluice_xlate_key("partial_json") },
    { sluice_xlate_key("thinking_delta"), SLUICE_XLATE_THINKING,
      sluice_xlate_key("thinking") },
    { sluice_xlate_key("signature_delta"), SLUICE_XLATE_SIGNATURE,
      sluice_xlate_key("signature") },
    { { NULL, 0 }, 0, { NULL, 0 } }
};


static const sluice_xlate_key_t  sluice_xlate_mf_keys[] = {
    sluice_xlate_key("type"),
    sluice_xlate_key("delta"),
    sluice_xlate_key("content_block"),
    sluice_xlate_key("message"),
    sluice_xlate_key("usage")
};


int
sluice_xlate_messages_sse_fast(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t)
{
    int                             m[SLUICE_XLATE_MF_N], type;
    const sluice_xlate_mf_event_t  *e;

    sluice_xlate_tape_find(t, 0, sluice_xlate_mf_keys, m,
                           SLUICE_XLATE_MF_N);
    type = m[SLUICE_XLATE_MF_TYPE];

    if (sluice_xlate_tape_type(t, type) != SLUICE_XLATE_J_STRING) {
        return 0;
    }

    for (e = sluice_xlate_mf_events; e->handler; e++) {
        if (sluice_xlate_tape_eq(t, type, e->type.name, e->type.len)) {
            return e->handler(st, t, m);
        }
    }

    if (sluice_xlate_tape_eq(t, type, "error", 5)) {
        return SLUICE_XLATE_DECLINED;
    }

    return 0;
}


static int
sluice_xlate_messages_fast_start(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m)
{
    int          msg;
    size_t       n;
    const char  *model;

    msg = m[SLUICE_XLATE_MF_MESSAGE];
    model = sluice_xlate_tape_text(t, sluice_xlate_tape_get(t, msg, "model",
                                                            5), &n);

    if (model && !st->started) {
        n = n < sizeof(st->model) ? n : sizeof(st->model) - 1;
        memcpy(st->model, model, n);
        st->model[n] = '\0';
    }

    sluice_xlate_messages_fast_usage(t, sluice_xlate_tape_get(t, msg,
                                                              "usage", 5),
                                     &st->usage);

    return sluice_xlate_messages_fast_simple(st, SLUICE_XLATE_EV_START);
}


/* sluice_xlate_messages_sse_block */
static int
sluice_xlate_messages_fast_block(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m)
{
    int                 cb, type, v, input;
    size_t              n;
    const char         *s;
    sluice_xlate_ev_t   ev;

    cb = m[SLUICE_XLATE_MF_BLOCK];
    type = sluice_xlate_tape_get(t, cb, "type", 4);
    input = sluice_xlate_tape_get(t, cb, "input", 5);

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = SLUICE_XLATE_EV_BLOCK_START;

    if (sluice_xlate_tape_eq(t, type, "text", 4)) {
        ev.kind = SLUICE_XLATE_TEXT;
        v = sluice_xlate_tape_get(t, cb, "text", 4);

    } else if (sluice_xlate_tape_eq(t, type, "thinking", 8)) {
        ev.kind = SLUICE_XLATE_THINKING;
        v = sluice_xlate_tape_get(t, cb, "thinking", 8);

    } else if (sluice_xlate_tape_eq(t, type, "tool_use", 8)) {
        ev.kind = SLUICE_XLATE_TOOL;
        v = -1;

        /* its input as jansson would serialise it: not here */
        if (sluice_xlate_tape_type(t, input) == SLUICE_XLATE_J_OBJECT
            && t->tok[input].n)
        {
            return SLUICE_XLATE_DECLINED;
        }

    } else {
        ev.kind = 0;
        v = -1;
    }

    ev.id = sluice_xlate_tape_cstr(t, sluice_xlate_tape_get(t, cb, "id", 2),
                                   &n);
    ev.name = sluice_xlate_tape_cstr(t, sluice_xlate_tape_get(t, cb, "name",
                                                              4), &n);

    st->up_skip = 0;

    if (ev.kind == 0
        || (ev.kind == SLUICE_XLATE_TOOL && (ev.id == NULL
                                             || ev.name == NULL)))
    {
        st->up_skip = 1;
        return 0;
    }

    if (sluice_xlate_stream_event(st, &ev) != 0) {
        return -1;
    }

    s = sluice_xlate_tape_text(t, v, &n);

    if (s) {
        return sluice_xlate_stream_text(st, ev.kind, s, n);
    }

    return 0;
}


static int
sluice_xlate_messages_fast_delta(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m)
{
    int                             d, type;
    size_t                          n;
    const char                     *s;
    const sluice_xlate_mf_delta_t  *e;

    if (st->up_skip) {
        return 0;
    }

    d = m[SLUICE_XLATE_MF_DELTA];
    type = sluice_xlate_tape_get(t, d, "type", 4);

    for (e = sluice_xlate_mf_deltas; e->kind; e++) {
        if (sluice_xlate_tape_eq(t, type, e->type.name, e->type.len)) {
            s = sluice_xlate_tape_text(t, sluice_xlate_tape_get(t, d,
                                           e->key.name, e->key.len), &n);

            return sluice_xlate_stream_text(st, e->kind, s, n);
        }
    }

    return 0;
}


static int
sluice_xlate_messages_fast_block_stop(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m)
{
    (void) t;
    (void) m;

    if (st->up_skip) {
        st->up_skip = 0;
        return 0;
    }

    return sluice_xlate_messages_fast_simple(st, SLUICE_XLATE_EV_BLOCK_STOP);
}


static int
sluice_xlate_messages_fast_stop(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m)
{
    int                 d;
    size_t              n;
    sluice_xlate_ev_t   ev;

    d = m[SLUICE_XLATE_MF_DELTA];

    sluice_xlate_messages_fast_usage(t, m[SLUICE_XLATE_MF_USAGE], &st->usage);

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = SLUICE_XLATE_EV_MESSAGE_DELTA;
    ev.stop = sluice_xlate_messages_stop_decode(sluice_xlate_tape_cstr(t,
                  sluice_xlate_tape_get(t, d, "stop_reason", 11), &n));
    ev.stop_seq = sluice_xlate_tape_cstr(t, sluice_xlate_tape_get(t, d,
                      "stop_sequence", 13), &n);

    return sluice_xlate_stream_event(st, &ev);
}


static int
sluice_xlate_messages_fast_end(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m)
{
    (void) t;
    (void) m;

    return sluice_xlate_messages_fast_simple(st, SLUICE_XLATE_EV_STOP);
}


static int
sluice_xlate_messages_fast_ping(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t, const int *m)
{
    (void) t;
    (void) m;

    return sluice_xlate_messages_fast_simple(st, SLUICE_XLATE_EV_PING);
}


/* sluice_xlate_usage_messages */
static void
sluice_xlate_messages_fast_usage(sluice_xlate_tape_t *t, int k,
    sluice_usage_t *u)
{
    int      m[4];
    int64_t  in, read, write, out;

    static const sluice_xlate_key_t  keys[] = {
        sluice_xlate_key("input_tokens"),
        sluice_xlate_key("cache_read_input_tokens"),
        sluice_xlate_key("cache_creation_input_tokens"),
        sluice_xlate_key("output_tokens")
    };

    sluice_xlate_tape_find(t, k, keys, m, 4);

    in = sluice_xlate_tape_count(t, m[0]);
    read = sluice_xlate_tape_count(t, m[1]);
    write = sluice_xlate_tape_count(t, m[2]);
    out = sluice_xlate_tape_count(t, m[3]);

    if (in >= 0) {
        u->in = in + (read > 0 ? read : 0) + (write > 0 ? write : 0);
    }

    if (read >= 0) {
        u->cached = read;
    }

    if (out >= 0) {
        u->out = out;
    }
}


static int
sluice_xlate_messages_fast_simple(sluice_xlate_stream_t *st, int type)
{
    sluice_xlate_ev_t  ev;

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = type;

    return sluice_xlate_stream_event(st, &ev);
}
