/*
 * sluice_xlate_stream: the incremental stream translator.  Upstream SSE
 * is split by sluice_sse, each event is decoded into canonical events,
 * and each canonical event is encoded into the caller's frames at once.
 *
 * The fast path (on unless SLUICE_XLATE_NO_FAST): an event is read into
 * a tape (sluice_xlate_tape.c) and decoded from it by the dialect's
 * fast decoder (sluice_xlate_*_fast.c), and frames are written by hand
 * (sluice_xlate_frame.c); what the tape or a fast decoder declines is
 * parsed by jansson and decoded by the dialect's jansson decoder, as
 * before.  Both ways give the same canonical events and the same bytes.
 *
 * The core keeps the canonical order sane whatever the upstream sends:
 *
 *   RUNNING:  START  ->  ( BLOCK_START  DELTA*  BLOCK_STOP )*
 *                    ->  MESSAGE_DELTA  ->  STOP            => DONE
 *             ERROR at any point                             => FAILED
 *
 * A delta without an open block of its kind opens one (closing the open
 * one), a block start closes the open block, MESSAGE_DELTA closes the
 * open block, STOP without MESSAGE_DELTA gets one, and anything before
 * START gets a START first.  After DONE or FAILED nothing goes out.
 *
 * For a responses caller an upstream's BLOCK_STOP is held until the next
 * event: when that is MESSAGE_DELTA the stop reason is known as the
 * block closes, so an item cut by max tokens is done as "incomplete".
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sluice_xlate_int.h"


#define SLUICE_XLATE_HELD_FACTOR  16
#define SLUICE_XLATE_EVENT_MAX    (1024 * 1024)


typedef int (*sluice_xlate_sse_decode_pt)(sluice_xlate_stream_t *st,
    const sluice_sse_event_t *ev, json_t *data);
typedef int (*sluice_xlate_sse_encode_pt)(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
typedef int (*sluice_xlate_sse_fast_pt)(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);


static int sluice_xlate_stream_enter(sluice_xlate_stream_t *st,
    sluice_xlate_emit_pt emit, void *data);
static int sluice_xlate_stream_sse(void *data, const sluice_sse_event_t *ev);
static int sluice_xlate_stream_tape(sluice_xlate_stream_t *st,
    const sluice_sse_event_t *ev);
static int sluice_xlate_stream_encode(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
static int sluice_xlate_stream_simple(sluice_xlate_stream_t *st, int type,
    int kind);
static int sluice_xlate_stream_block(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
static int sluice_xlate_stream_delta(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
static int sluice_xlate_stream_message_delta(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
static int sluice_xlate_stream_end(sluice_xlate_stream_t *st);


/* indexed by dialect */
static const sluice_xlate_sse_decode_pt  sluice_xlate_sse_decoders[] = {
    sluice_xlate_chat_sse_decode,
    sluice_xlate_responses_sse_decode,
    sluice_xlate_messages_sse_decode
};

static const sluice_xlate_sse_fast_pt  sluice_xlate_sse_fast[] = {
    sluice_xlate_chat_sse_fast,
    sluice_xlate_responses_sse_fast,
    sluice_xlate_messages_sse_fast
};

/*
 * The deepest value each fast decoder reads: a chat call's arguments
 * (choices[0].delta.tool_calls[i].function.arguments), a responses
 * usage's cached_tokens (response.usage.input_tokens_details), a
 * messages usage's counts (message.usage) and a block's input members.
 */
static const unsigned  sluice_xlate_sse_depth[] = { 7, 4, 3 };

static const sluice_xlate_sse_encode_pt  sluice_xlate_sse_encoders[] = {
    sluice_xlate_chat_sse_encode,
    sluice_xlate_responses_sse_encode,
    sluice_xlate_messages_sse_encode
};

static const char  *sluice_xlate_id_prefixes[] = {
    "chatcmpl-", "resp_", "msg_"
};


sluice_xlate_stream_t *
sluice_xlate_stream_create(int from, int to, unsigned flags, size_t max)
{
    return sluice_xlate_stream_create_ex(from, to, flags, max, NULL);
}


/* the stream keeps its own copy of names: one small block */
sluice_xlate_stream_t *
sluice_xlate_stream_create_ex(int from, int to, unsigned flags, size_t max,
    const sluice_xlate_names_t *names)
{
    sluice_xlate_stream_t  *st;

    if (from < 0 || from > SLUICE_XLATE_MESSAGES || to < 0
        || to > SLUICE_XLATE_MESSAGES)
    {
        return NULL;
    }

    st = calloc(1, sizeof(sluice_xlate_stream_t));
    if (st == NULL) {
        return NULL;
    }

    if (names && to == SLUICE_XLATE_RESPONSES) {
        st->names = sluice_xlate_names_copy(names);

        if (st->names == NULL) {
            free(st);
            return NULL;
        }
    }

    if (max == 0) {
        max = SLUICE_XLATE_EVENT_MAX;
    }

    st->from = from;
    st->to = to;
    st->flags = flags;
    st->max_held = max * SLUICE_XLATE_HELD_FACTOR;
    st->created = (int64_t) time(NULL);

    sluice_sse_init(&st->sse, max, sluice_xlate_stream_sse, st);
    sluice_usage_init(&st->usage);
    sluice_buf_init(&st->frame);
    sluice_buf_init(&st->head);
    sluice_buf_init(&st->tool_id);
    sluice_buf_init(&st->tool_name);
    sluice_buf_init(&st->tool_ns);
    sluice_buf_init(&st->input);
    sluice_buf_init(&st->acc);
    sluice_buf_init(&st->quoted);
    sluice_buf_init(&st->items);
    sluice_buf_init(&st->up_id);
    sluice_xlate_rand_id(st->id, sizeof(st->id),
                         sluice_xlate_id_prefixes[to]);

    return st;
}


/*
 * The common start of feed, finish, abort and ping: 1 when the stream
 * still runs (the emitter is then set), 0 when it failed or has ended.
 */
static int
sluice_xlate_stream_enter(sluice_xlate_stream_t *st,
    sluice_xlate_emit_pt emit, void *data)
{
    if (st->rc || st->state != SLUICE_XLATE_RUNNING) {
        return 0;
    }

    st->emit = emit;
    st->emit_data = data;

    return 1;
}


int
sluice_xlate_stream_feed(sluice_xlate_stream_t *st, const char *p,
    size_t len, sluice_xlate_emit_pt emit, void *data)
{
    int  rc;

    if (!sluice_xlate_stream_enter(st, emit, data)) {
        return st->rc ? SLUICE_XLATE_ERROR : SLUICE_XLATE_OK;
    }

    rc = sluice_sse_feed(&st->sse, (const uint8_t *) p, len);

    if (rc == SLUICE_SSE_TOO_BIG && st->rc == 0) {
        sluice_xlate_stream_error(st, SLUICE_XLATE_E_SERVER,
                                  "an upstream event was too large");

    } else if (rc != SLUICE_SSE_OK && st->rc == 0
               && st->state == SLUICE_XLATE_RUNNING)
    {
        st->rc = -1;
    }

    return st->rc ? SLUICE_XLATE_ERROR : SLUICE_XLATE_OK;
}


int
sluice_xlate_stream_finish(sluice_xlate_stream_t *st,
    sluice_xlate_emit_pt emit, void *data)
{
    if (!sluice_xlate_stream_enter(st, emit, data)) {
        return st->rc ? SLUICE_XLATE_ERROR : SLUICE_XLATE_OK;
    }

    /* a chat upstream that said finish_reason said enough */
    if (st->from == SLUICE_XLATE_CHAT && st->up_finish) {
        sluice_xlate_chat_sse_decode(st, NULL, NULL);

    } else {
        sluice_xlate_stream_error(st, SLUICE_XLATE_E_SERVER,
            "the upstream stream ended before it was complete");
    }

    return st->rc ? SLUICE_XLATE_ERROR : SLUICE_XLATE_OK;
}


int
sluice_xlate_stream_abort(sluice_xlate_stream_t *st, const char *message,
    sluice_xlate_emit_pt emit, void *data)
{
    if (!sluice_xlate_stream_enter(st, emit, data)) {
        return st->rc ? SLUICE_XLATE_ERROR : SLUICE_XLATE_OK;
    }

    sluice_xlate_stream_error(st, SLUICE_XLATE_E_SERVER, message);

    return st->rc ? SLUICE_XLATE_ERROR : SLUICE_XLATE_OK;
}


int
sluice_xlate_stream_ping(sluice_xlate_stream_t *st,
    sluice_xlate_emit_pt emit, void *data)
{
    if (!sluice_xlate_stream_enter(st, emit, data)) {
        return st->rc ? SLUICE_XLATE_ERROR : SLUICE_XLATE_OK;
    }

    return sluice_xlate_stream_raw(st, ": ping\n\n", 8) ? SLUICE_XLATE_ERROR
                                                        : SLUICE_XLATE_OK;
}


int
sluice_xlate_stream_state(const sluice_xlate_stream_t *st)
{
    return st->state;
}


const sluice_usage_t *
sluice_xlate_stream_usage(const sluice_xlate_stream_t *st)
{
    return &st->usage;
}


void
sluice_xlate_stream_destroy(sluice_xlate_stream_t *st)
{
    if (st == NULL) {
        return;
    }

    sluice_sse_free(&st->sse);
    sluice_buf_free(&st->frame);
    sluice_buf_free(&st->head);
    sluice_buf_free(&st->tool_id);
    sluice_buf_free(&st->tool_name);
    sluice_buf_free(&st->tool_ns);
    sluice_buf_free(&st->input);
    sluice_buf_free(&st->acc);
    sluice_buf_free(&st->quoted);
    sluice_buf_free(&st->items);
    sluice_buf_free(&st->up_id);
    sluice_xlate_tape_destroy(st->tape);
    sluice_xlate_names_free(st->names);
    free(st);
}


/* one upstream event: parse its data and hand it to the decoder */
static int
sluice_xlate_stream_sse(void *data, const sluice_sse_event_t *ev)
{
    json_t                 *json;
    json_error_t            jerr;
    sluice_xlate_stream_t  *st;

    st = data;

    if (st->state != SLUICE_XLATE_RUNNING || ev->data_len == 0) {
        return st->rc;
    }

    if (st->from == SLUICE_XLATE_CHAT && ev->data_len == 6
        && memcmp(ev->data, "[DONE]", 6) == 0)
    {
        sluice_xlate_chat_sse_decode(st, ev, NULL);
        return st->rc;
    }

    if (sluice_xlate_fast(st)
        && sluice_xlate_stream_tape(st, ev) != SLUICE_XLATE_DECLINED)
    {
        return st->rc;
    }

    st->jansson++;
    json = json_loadb((const char *) ev->data, ev->data_len, 0, &jerr);

    if (!json_is_object(json)) {
        json_decref(json);
        sluice_xlate_stream_error(st, SLUICE_XLATE_E_SERVER,
                                  "the upstream sent an event that is not "
                                  "a JSON object");
        return st->rc;
    }

    sluice_xlate_sse_decoders[st->from](st, ev, json);
    json_decref(json);

    return st->rc;
}


/*
 * The common events of a stream, read from the tape; SLUICE_XLATE_DECLINED
 * hands the event to jansson untouched (nothing went out for it).
 */
static int
sluice_xlate_stream_tape(sluice_xlate_stream_t *st,
    const sluice_sse_event_t *ev)
{
    if (st->tape == NULL) {
        st->tape = sluice_xlate_tape_create();

        if (st->tape == NULL) {
            return SLUICE_XLATE_DECLINED;
        }
    }

    if (sluice_xlate_tape_parse(st->tape, ev->data, ev->data_len,
                                sluice_xlate_sse_depth[st->from])
        != 0)
    {
        return SLUICE_XLATE_DECLINED;
    }

    return sluice_xlate_sse_fast[st->from](st, st->tape);
}


/* the decoders' entry: one canonical event, order kept sane */
int
sluice_xlate_stream_event(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    if (st->state != SLUICE_XLATE_RUNNING || st->rc) {
        return -1;
    }

    switch (ev->type) {

    case SLUICE_XLATE_EV_PING:
        return sluice_xlate_stream_raw(st, ": ping\n\n", 8);

    case SLUICE_XLATE_EV_ERROR:
        if (st->block_held
            && sluice_xlate_stream_simple(st, SLUICE_XLATE_EV_BLOCK_STOP, 0)
               != 0)
        {
            return -1;
        }

        st->state = SLUICE_XLATE_FAILED;
        return sluice_xlate_stream_encode(st, ev);

    case SLUICE_XLATE_EV_START:
        if (st->started) {
            return 0;
        }

        st->started = 1;
        return sluice_xlate_stream_encode(st, ev);
    }

    if (!st->started
        && sluice_xlate_stream_simple(st, SLUICE_XLATE_EV_START, 0) != 0)
    {
        return -1;
    }

    if (st->stopped && ev->type != SLUICE_XLATE_EV_STOP) {
        return 0;
    }

    if (st->block_held && ev->type != SLUICE_XLATE_EV_MESSAGE_DELTA
        && sluice_xlate_stream_simple(st, SLUICE_XLATE_EV_BLOCK_STOP, 0) != 0)
    {
        return -1;
    }

    switch (ev->type) {

    case SLUICE_XLATE_EV_BLOCK_START:
        return sluice_xlate_stream_block(st, ev);

    case SLUICE_XLATE_EV_DELTA:
        return sluice_xlate_stream_delta(st, ev);

    case SLUICE_XLATE_EV_BLOCK_STOP:
        if (!st->block_open) {
            return 0;
        }

        if (st->to == SLUICE_XLATE_RESPONSES) {
            st->block_held = 1;
            return 0;
        }

        st->block_open = 0;
        return sluice_xlate_stream_encode(st, ev);

    case SLUICE_XLATE_EV_MESSAGE_DELTA:
        return sluice_xlate_stream_message_delta(st, ev);

    default:
        return sluice_xlate_stream_end(st);
    }
}


/* a block start closes the open block */
static int
sluice_xlate_stream_block(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    if (st->block_open
        && sluice_xlate_stream_simple(st, SLUICE_XLATE_EV_BLOCK_STOP, 0) != 0)
    {
        return -1;
    }

    st->block_open = 1;
    st->block_kind = ev->kind;
    st->nblocks++;

    return sluice_xlate_stream_encode(st, ev);
}


static int
sluice_xlate_stream_delta(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    int  want;

    if (ev->len == 0) {
        return 0;
    }

    want = ev->kind == SLUICE_XLATE_SIGNATURE ? SLUICE_XLATE_THINKING
                                              : ev->kind;

    if (st->block_open && st->block_kind == want) {
        return sluice_xlate_stream_encode(st, ev);
    }

    /* arguments need their call, a signature its thinking */
    if (want == SLUICE_XLATE_TOOL || ev->kind == SLUICE_XLATE_SIGNATURE) {
        return 0;
    }

    if ((st->block_open
         && sluice_xlate_stream_simple(st, SLUICE_XLATE_EV_BLOCK_STOP, 0)
            != 0)
        || sluice_xlate_stream_simple(st, SLUICE_XLATE_EV_BLOCK_START, want)
           != 0)
    {
        return -1;
    }

    return sluice_xlate_stream_encode(st, ev);
}


static int
sluice_xlate_stream_message_delta(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    size_t  n;

    /* known before the open block closes (a responses item's status) */
    st->stop = ev->stop;

    if (st->block_open
        && sluice_xlate_stream_simple(st, SLUICE_XLATE_EV_BLOCK_STOP, 0)
           != 0)
    {
        return -1;
    }

    st->stopped = 1;
    st->stop_seq[0] = '\0';

    if (ev->stop_seq) {
        n = strlen(ev->stop_seq);
        n = n < sizeof(st->stop_seq) ? n : sizeof(st->stop_seq) - 1;
        memcpy(st->stop_seq, ev->stop_seq, n);
        st->stop_seq[n] = '\0';
    }

    return sluice_xlate_stream_encode(st, ev);
}


static int
sluice_xlate_stream_end(sluice_xlate_stream_t *st)
{
    sluice_xlate_ev_t  ev;

    if (!st->stopped) {
        memset(&ev, 0, sizeof(sluice_xlate_ev_t));
        ev.type = SLUICE_XLATE_EV_MESSAGE_DELTA;
        ev.stop = SLUICE_XLATE_STOP_END;

        if (sluice_xlate_stream_message_delta(st, &ev) != 0) {
            return -1;
        }
    }

    st->state = SLUICE_XLATE_DONE;

    return sluice_xlate_stream_simple(st, SLUICE_XLATE_EV_STOP, 0);
}


/* an event with no payload, made by the core itself */
static int
sluice_xlate_stream_simple(sluice_xlate_stream_t *st, int type, int kind)
{
    sluice_xlate_ev_t  ev;

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = type;
    ev.kind = kind;
    ev.id = "";
    ev.name = "";

    if (type == SLUICE_XLATE_EV_START) {
        st->started = 1;

    } else if (type == SLUICE_XLATE_EV_BLOCK_START) {
        st->block_open = 1;
        st->block_kind = kind;
        st->nblocks++;

    } else if (type == SLUICE_XLATE_EV_BLOCK_STOP) {
        st->block_open = 0;
        st->block_held = 0;
    }

    return sluice_xlate_stream_encode(st, &ev);
}


static int
sluice_xlate_stream_encode(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev)
{
    if (st->rc == 0 && sluice_xlate_sse_encoders[st->to](st, ev) != 0
        && st->rc == 0)
    {
        st->rc = -1;
    }

    return st->rc;
}


/* ends the stream with an in-band error; message is cut and is ours */
int
sluice_xlate_stream_error(sluice_xlate_stream_t *st, int kind,
    const char *message)
{
    sluice_xlate_ev_t  ev;
    sluice_buf_t       b;

    if (st->state != SLUICE_XLATE_RUNNING || st->rc) {
        return -1;
    }

    sluice_buf_init(&b);

    if (sluice_xlate_cut_message(message, strlen(message), &b) != 0) {
        st->rc = -1;
        return -1;
    }

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = SLUICE_XLATE_EV_ERROR;
    ev.error = kind;
    ev.text = b.data ? b.data : "";
    ev.len = b.len;

    sluice_xlate_stream_event(st, &ev);
    sluice_buf_free(&b);

    return st->rc;
}


/* a delta of text, arguments, thinking or signature */
int
sluice_xlate_stream_text(sluice_xlate_stream_t *st, int kind, const char *s,
    size_t len)
{
    sluice_xlate_ev_t  ev;

    memset(&ev, 0, sizeof(sluice_xlate_ev_t));
    ev.type = SLUICE_XLATE_EV_DELTA;
    ev.kind = kind;
    ev.text = s;
    ev.len = len;

    return sluice_xlate_stream_event(st, &ev);
}


/* "event: <event>\ndata: <json>\n\n" (no event line when NULL); steals */
int
sluice_xlate_stream_frame(sluice_xlate_stream_t *st, const char *event,
    json_t *data)
{
    int            rc;
    sluice_buf_t  *f;

    f = &st->frame;
    sluice_buf_reset(f);

    rc = data == NULL
         || (event && (sluice_buf_append_str(f, "event: ") != 0
                       || sluice_buf_append_str(f, event) != 0
                       || sluice_buf_append_str(f, "\n") != 0))
         || sluice_buf_append_str(f, "data: ") != 0
         || sluice_xlate_dump(data, f) != 0
         || sluice_buf_append_str(f, "\n\n") != 0;

    json_decref(data);

    if (rc) {
        st->rc = -1;
        return -1;
    }

    return sluice_xlate_stream_raw(st, f->data, f->len);
}


int
sluice_xlate_stream_raw(sluice_xlate_stream_t *st, const char *p, size_t len)
{
    if (st->rc == 0 && st->emit(st->emit_data, p, len) != 0) {
        st->rc = -1;
    }

    return st->rc;
}
