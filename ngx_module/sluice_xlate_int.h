/*
 * sluice_xlate internals: the canonical (pivot) forms and what the
 * per-dialect decoders and encoders share.  Not for the module.
 */

#ifndef SLUICE_XLATE_INT_H
#define SLUICE_XLATE_INT_H

#include <jansson.h>
#include "sluice_sse.h"
#include "sluice_xlate.h"


/*
 * The canonical request is a jansson object (keys absent when unset):
 *
 *   messages     [{role: "system"|"user"|"assistant"|"tool",
 *                  content: [part, ...]}]
 *   tools        [{name, description?, parameters?, strict?, custom?,
 *                  ns?, orig?}]
 *   tool_choice  {mode: "auto"|"none"|"required"|"tool", name?}
 *   parallel     bool          max_tokens  int      stream  bool
 *   temperature  number        top_p       number   stop    [string]
 *   effort       "minimal"|"low"|"medium"|"high"|"xhigh"
 *   budget       int (thinking tokens)     thinking_off  true
 *   user         string
 *   format       {type: "json_object"} | {type: "json_schema", name?,
 *                 schema, strict?}
 *
 * A tool's name is the one the target sees.  A responses caller's
 * freeform tool has custom: true (its one parameter is the string
 * "input"); a tool of a namespace has ns and its own name in orig, and
 * is called "<ns>__<orig>" (sluice_xlate_flat_name).  Those are what
 * sluice_xlate_names_make() keeps for the answer.
 *
 * parts:  {type: "text", text}
 *         {type: "image", url, detail?}      (base64 travels as data: URL)
 *         {type: "thinking", text, signature?}
 *         {type: "tool_call", id, name, arguments (JSON text)}
 *         {type: "tool_result", id, content: [text|image parts],
 *          is_error?}                        (only in "tool" messages)
 *
 * The canonical answer is an object:
 *   id?, model?, created?, content [text|thinking|tool_call parts],
 *   stop (SLUICE_XLATE_STOP_*), stop_sequence?, usage {in,out,cached,
 *   reasoning} (each present when known).
 * sluice_xlate_names_apply() gives its tool_call parts the caller's
 * name back, with ns? and, for a freeform tool, custom: true and input.
 */

/* canonical stop reasons */
#define SLUICE_XLATE_STOP_NONE      0
#define SLUICE_XLATE_STOP_END       1
#define SLUICE_XLATE_STOP_LENGTH    2
#define SLUICE_XLATE_STOP_TOOL      3
#define SLUICE_XLATE_STOP_SEQUENCE  4
#define SLUICE_XLATE_STOP_FILTER    5

/* canonical error kinds, in the order of sluice_xlate_error_kinds[] */
#define SLUICE_XLATE_E_INVALID      0
#define SLUICE_XLATE_E_AUTH         1
#define SLUICE_XLATE_E_PERMISSION   2
#define SLUICE_XLATE_E_NOT_FOUND    3
#define SLUICE_XLATE_E_TOO_LARGE    4
#define SLUICE_XLATE_E_RATE_LIMIT   5
#define SLUICE_XLATE_E_SERVER       6
#define SLUICE_XLATE_E_OVERLOADED   7
#define SLUICE_XLATE_E_TIMEOUT      8
#define SLUICE_XLATE_E_MAX          9

/* canonical stream events */
#define SLUICE_XLATE_EV_START          1
#define SLUICE_XLATE_EV_BLOCK_START    2
#define SLUICE_XLATE_EV_DELTA          3
#define SLUICE_XLATE_EV_BLOCK_STOP     4
#define SLUICE_XLATE_EV_MESSAGE_DELTA  5
#define SLUICE_XLATE_EV_STOP           6
#define SLUICE_XLATE_EV_ERROR          7
#define SLUICE_XLATE_EV_PING           8

/* block kinds (BLOCK_START) and delta kinds (DELTA) */
#define SLUICE_XLATE_TEXT           1
#define SLUICE_XLATE_TOOL           2
#define SLUICE_XLATE_THINKING       3
#define SLUICE_XLATE_SIGNATURE      4   /* delta only, of a thinking block */

/* the upstream's message is cut to this many bytes in errors */
#define SLUICE_XLATE_MSG_MAX        512

/* a caller's tool or namespace name longer than this is refused */
#define SLUICE_XLATE_NAME_LEN       128

/* a flattened tool name: ^[a-zA-Z0-9_-]{1,64}$ */
#define SLUICE_XLATE_FLAT_LEN       64


/* one caller tool the target knows by another name */
typedef struct {
    const char          *name;      /* the caller's name */
    const char          *ns;        /* its namespace, or NULL */
    int                  custom;    /* freeform: its call carries "input" */
} sluice_xlate_tool_t;


/*
 * The input of a freeform call, decoded as its arguments stream in
 * ({"input": "..."}: the string is unescaped as far as it has come).
 */
typedef struct {
    int                  state;
    size_t               pos;       /* bytes of the arguments consumed */
} sluice_xlate_freeform_t;


/* one canonical stream event; pointers valid during the call only */
typedef struct {
    int                  type;      /* SLUICE_XLATE_EV_* */
    int                  kind;      /* block or delta kind */
    const char          *id;        /* tool call id (BLOCK_START) */
    const char          *name;      /* tool name (BLOCK_START) */
    const char          *text;      /* DELTA bytes, ERROR message */
    size_t               len;
    int                  stop;      /* MESSAGE_DELTA: SLUICE_XLATE_STOP_* */
    const char          *stop_seq;  /* MESSAGE_DELTA, may be NULL */
    int                  error;     /* ERROR: SLUICE_XLATE_E_* */
} sluice_xlate_ev_t;


/* what a request decoder or encoder needs to know */
typedef struct {
    int                  from;
    int                  to;
    unsigned             flags;
    const char          *model;     /* the target's model id */
    sluice_xlate_err_t  *err;
} sluice_xlate_ctx_t;

/* how the translators serialise: compact, reals without float noise */
#define SLUICE_XLATE_DUMP  (JSON_COMPACT | JSON_REAL_PRECISION(15))


/* one scalar copied between a dialect and the canonical form */
typedef struct {
    const char          *key;       /* the dialect's name */
    const char          *canon;     /* the canonical name */
    int                  type;      /* SLUICE_XLATE_F_* */
} sluice_xlate_field_t;

#define SLUICE_XLATE_F_NUM   1
#define SLUICE_XLATE_F_INT   2      /* a whole number >= 0 */
#define SLUICE_XLATE_F_BOOL  3
#define SLUICE_XLATE_F_STR   4


/*
 * A member a request decoder reads, checked before it is read: a caller
 * member of the wrong type or out of its documented range is refused,
 * never dropped, so the target is never sent another request than the
 * caller's.  path is "max_tokens", or "thinking.budget_tokens" for a
 * member of an object (checked when that object is there).
 */
typedef struct {
    const char          *path;
    unsigned             types;     /* SLUICE_XLATE_T_* it may be */
    double               min;       /* SLUICE_XLATE_T_NUM: its range */
    double               max;
    const char          *expect;    /* "a non-negative integer" */
} sluice_xlate_check_t;

#define SLUICE_XLATE_T_NULL  0x01   /* allowed, and taken as absent */
#define SLUICE_XLATE_T_BOOL  0x02
#define SLUICE_XLATE_T_INT   0x04   /* a whole number >= 0 */
#define SLUICE_XLATE_T_NUM   0x08   /* a number from min to max */
#define SLUICE_XLATE_T_STR   0x10
#define SLUICE_XLATE_T_ARR   0x20
#define SLUICE_XLATE_T_OBJ   0x40
#define SLUICE_XLATE_T_STRS  0x80   /* an array of strings */


/*
 * The fast paths' view of one upstream event or of a request body
 * (sluice_xlate_tape.c): a token per value, in text order; an object
 * holds key and value tokens in turn, and every token knows the index
 * of the token after it and all it holds.  Values nested deeper than
 * the depth a parse is asked to keep (the top-level object is depth 0)
 * are checked but not recorded: a container at that depth looks empty,
 * so each decoder asks for the depth of the deepest value it reads.
 */
#define SLUICE_XLATE_TAPE_MAX    512
#define SLUICE_XLATE_TAPE_NEST   64     /* deeper: declined */

#define SLUICE_XLATE_J_NONE      0
#define SLUICE_XLATE_J_OBJECT    1
#define SLUICE_XLATE_J_ARRAY     2
#define SLUICE_XLATE_J_STRING    3
#define SLUICE_XLATE_J_NUMBER    4
#define SLUICE_XLATE_J_TRUE      5
#define SLUICE_XLATE_J_FALSE     6
#define SLUICE_XLATE_J_NULL      7
#define SLUICE_XLATE_J_KEY       8

#define SLUICE_XLATE_TOK_ESC     0x01   /* a string holding escapes */
#define SLUICE_XLATE_TOK_INT     0x02   /* a number that is an integer */

typedef struct {
    uint32_t             start;     /* offset of the first byte */
    uint32_t             end;       /* offset just after the value */
    uint32_t             next;      /* the token after it and its own */
    uint8_t              type;      /* SLUICE_XLATE_J_* */
    uint8_t              flags;     /* SLUICE_XLATE_TOK_* */
    uint16_t             n;         /* tokens directly inside */
} sluice_xlate_tok_t;

typedef struct {
    const uint8_t       *p;         /* the event's data, not owned */
    size_t               len;
    unsigned             n;         /* tokens recorded */
    char                *scratch;   /* decoded strings of this event */
    size_t               cap;
    size_t               used;
    sluice_xlate_tok_t  *tok;       /* max of them */
    unsigned             max;
    unsigned             grow;      /* more tokens may be allocated */
} sluice_xlate_tape_t;

/* a member the fast decoders look up (sluice_xlate_tape_find) */
typedef struct {
    const char          *name;
    size_t               len;
} sluice_xlate_key_t;

#define sluice_xlate_key(s)  { s, sizeof(s) - 1 }

/* a fast decoder's answer: jansson must decode this event */
#define SLUICE_XLATE_DECLINED  -2


/*
 * The stream state.  The core (sluice_xlate_stream.c) keeps the event
 * order sane, so encoders always see
 *   START (BLOCK_START DELTA* BLOCK_STOP)* MESSAGE_DELTA STOP
 * possibly cut short by one ERROR, with PINGs anywhere.
 */
struct sluice_xlate_stream_s {
    int                    from;
    int                    to;
    unsigned               flags;
    int                    state;       /* SLUICE_XLATE_RUNNING etc. */
    int                    rc;          /* 0, or why feed must fail */
    size_t                 max_held;

    sluice_sse_t           sse;
    sluice_xlate_emit_pt   emit;
    void                  *emit_data;
    sluice_buf_t           frame;       /* the frame being built */
    sluice_buf_t           head;        /* chat: a text chunk's start */
    sluice_usage_t         usage;

    /* canonical progress, kept by the core */
    unsigned               started:1;
    unsigned               block_open:1;
    unsigned               block_held:1; /* responses: its stop waits */
    unsigned               stopped:1;   /* MESSAGE_DELTA went out */
    int                    block_kind;
    unsigned               nblocks;     /* blocks opened so far */
    int                    stop;
    char                   stop_seq[128];
    char                   model[128];
    char                   id[64];      /* the caller's message id */
    int64_t                created;

    /* decoder state (upstream side) */
    int                    up_index;    /* upstream index of open block */
    int                    up_sub;      /* responses: part / summary index */
    unsigned               up_skip:1;   /* messages: block not translated */
    unsigned               up_delta:1;  /* a delta went out for it */
    unsigned               up_finish:1; /* chat: finish_reason seen */
    unsigned               up_tool:1;   /* responses: a call was made */
    int                    up_tools;    /* chat: tool indexes seen */
    int                    up_stop;     /* chat: finish_reason's stop */
    sluice_buf_t           up_id;       /* chat: the open call's id */

    /* encoder state (caller side) */
    unsigned               ntools;      /* chat: tool calls sent */
    uint64_t               seq;         /* responses: sequence_number */
    char                   item_id[64]; /* responses: the open item */
    sluice_buf_t           tool_id;     /* responses: open call's ids */
    sluice_buf_t           tool_name;
    sluice_buf_t           tool_ns;     /* responses: its namespace */
    unsigned               tool_custom:1; /* responses: a freeform call */
    sluice_xlate_freeform_t  ff;        /* responses: its input so far */
    sluice_buf_t           input;
    sluice_xlate_names_t  *names;       /* the caller's tools (a copy) */
    sluice_buf_t           acc;         /* responses: open item's text */
    sluice_buf_t           quoted;      /* responses: acc as a JSON
                                           string, for its done events */
    sluice_buf_t           items;       /* responses: items done, as
                                           JSON text joined by commas */
    size_t                 held;        /* bytes in items and acc */

    sluice_xlate_tape_t   *tape;        /* the fast path's, made lazily */
    unsigned               jansson;     /* events jansson decoded: the
                                           fast path declined (tests) */
};


/* sluice_xlate_canon.c: errors, tables, canonical builders */
int sluice_xlate_fail(sluice_xlate_err_t *err, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int sluice_xlate_refuse(sluice_xlate_ctx_t *x, const char *what,
    const char *name);
int sluice_xlate_invalid(sluice_xlate_ctx_t *x, const char *what);
int sluice_xlate_nomem(sluice_xlate_err_t *err);
const char *sluice_xlate_dialect_name(int dialect);
void sluice_xlate_copy_fields(json_t *from, json_t *to,
    const sluice_xlate_field_t *f, int to_canon);
json_t *sluice_xlate_part_text(const char *s, size_t len);
json_t *sluice_xlate_message(json_t *c, const char *role, int merge);
int sluice_xlate_add_part(json_t *msg, json_t *part);
int sluice_xlate_join_text(json_t *parts, const char *sep, sluice_buf_t *b);
int sluice_xlate_has_images(json_t *parts);
json_t *sluice_xlate_schema(json_t *schema);
int sluice_xlate_data_url(const char *url, const char **type,
    size_t *type_len, const char **data);
void sluice_xlate_rand_id(char *buf, size_t size, const char *prefix);
int sluice_xlate_error_kind(int status, const char *type);
const char *sluice_xlate_error_type(int dialect, int kind);
void sluice_xlate_usage_canon(json_t *u, const sluice_usage_t *usage);
int sluice_xlate_cut_message(const char *s, size_t len, sluice_buf_t *b);
int sluice_xlate_dump(json_t *v, sluice_buf_t *out);
int64_t sluice_xlate_count(json_t *v);
void sluice_xlate_effort_set(json_t *c, const char *effort);
const char *sluice_xlate_effort_get(json_t *c);
json_int_t sluice_xlate_budget_get(json_t *c);
json_int_t sluice_xlate_effort_budget(const char *effort);
const char *sluice_xlate_effort_canon(const char *effort);

/* sluice_xlate_names.c: the caller's tool names behind the target's */
void sluice_xlate_flat_name(const char *ns, const char *name, char *out);
int sluice_xlate_names_make(json_t *tools, sluice_xlate_names_t **names);
sluice_xlate_names_t *sluice_xlate_names_copy(
    const sluice_xlate_names_t *names);
int sluice_xlate_names_find(const sluice_xlate_names_t *names,
    const char *flat, sluice_xlate_tool_t *tool);
int sluice_xlate_names_apply(const sluice_xlate_names_t *names, json_t *c);

/* sluice_xlate_freeform.c: a freeform tool as a one-string function */
json_t *sluice_xlate_freeform_tool(json_t *t);
json_t *sluice_xlate_freeform_args(json_t *input);
json_t *sluice_xlate_freeform_input(const char *args, size_t len);
int sluice_xlate_freeform_feed(sluice_xlate_freeform_t *ff,
    const char *args, size_t len, sluice_buf_t *out);
int sluice_xlate_freeform_found(const sluice_xlate_freeform_t *ff);

/* sluice_xlate_response.c: error envelopes */
json_t *sluice_xlate_error_envelope(int dialect, int kind,
    const char *message, const char *code);

/* sluice_xlate_request.c: the members a decoder reads, checked */
int sluice_xlate_check(sluice_xlate_ctx_t *x, json_t *in,
    const sluice_xlate_check_t *ck);
int sluice_xlate_mode_ok(const char *mode);

/* per-dialect request decoders and encoders */
int sluice_xlate_chat_req_decode(sluice_xlate_ctx_t *x, json_t *in,
    json_t *c);
json_t *sluice_xlate_chat_req_encode(sluice_xlate_ctx_t *x, json_t *c);
int sluice_xlate_messages_req_decode(sluice_xlate_ctx_t *x, json_t *in,
    json_t *c);
json_t *sluice_xlate_messages_req_encode(sluice_xlate_ctx_t *x, json_t *c);
int sluice_xlate_responses_req_decode(sluice_xlate_ctx_t *x, json_t *in,
    json_t *c);
int sluice_xlate_responses_tools_decode(sluice_xlate_ctx_t *x,
    json_t *tools, json_t *c);
int sluice_xlate_responses_tools_check(sluice_xlate_ctx_t *x, json_t *c);
int sluice_xlate_responses_call_decode(sluice_xlate_ctx_t *x,
    json_t *item, json_t *c);
json_t *sluice_xlate_responses_call_name(sluice_xlate_ctx_t *x,
    json_t *item);
json_t *sluice_xlate_responses_req_encode(sluice_xlate_ctx_t *x,
    json_t *c);

/* per-dialect answer decoders (NULL: not an answer) and encoders */
json_t *sluice_xlate_chat_resp_decode(json_t *in, sluice_usage_t *u);
json_t *sluice_xlate_chat_resp_encode(json_t *c);
json_t *sluice_xlate_messages_resp_decode(json_t *in, sluice_usage_t *u);
json_t *sluice_xlate_messages_resp_encode(json_t *c);
json_t *sluice_xlate_responses_resp_decode(json_t *in, sluice_usage_t *u);
json_t *sluice_xlate_responses_resp_encode(json_t *c);

/* stop reasons to and from each dialect's words */
int sluice_xlate_chat_stop_decode(const char *reason);
const char *sluice_xlate_chat_stop_encode(int stop);
int sluice_xlate_messages_stop_decode(const char *reason);
const char *sluice_xlate_messages_stop_encode(int stop);
int sluice_xlate_responses_stop_decode(json_t *response, int tool);
const char *sluice_xlate_responses_reason_encode(int stop);

/* the caller's usage object made from a sluice_usage_t */
json_t *sluice_xlate_chat_usage_encode(const sluice_usage_t *u);
json_t *sluice_xlate_messages_usage_encode(const sluice_usage_t *u);
json_t *sluice_xlate_responses_usage_encode(const sluice_usage_t *u);
void sluice_xlate_usage_from_canon(json_t *cu, sluice_usage_t *u);

/* usage objects read into a sluice_usage_t (counts found overwrite) */
void sluice_xlate_usage_chat(json_t *usage, sluice_usage_t *u);
void sluice_xlate_usage_messages(json_t *usage, sluice_usage_t *u);
void sluice_xlate_usage_responses(json_t *usage, sluice_usage_t *u);

/* sluice_xlate_stream.c: the core the decoders and encoders call */
int sluice_xlate_stream_event(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
int sluice_xlate_stream_error(sluice_xlate_stream_t *st, int kind,
    const char *message);
int sluice_xlate_stream_frame(sluice_xlate_stream_t *st, const char *event,
    json_t *data);
int sluice_xlate_stream_raw(sluice_xlate_stream_t *st, const char *p,
    size_t len);
int sluice_xlate_stream_text(sluice_xlate_stream_t *st, int kind,
    const char *s, size_t len);

/* sluice_xlate_frame.c: frames written without jansson */
void sluice_xlate_stream_start(sluice_xlate_stream_t *st, const char *s);
void sluice_xlate_stream_cat(sluice_xlate_stream_t *st, const char *s);
void sluice_xlate_stream_catn(sluice_xlate_stream_t *st, const char *s,
    size_t n);
void sluice_xlate_stream_cat_json(sluice_xlate_stream_t *st, const char *s,
    size_t len);
void sluice_xlate_stream_cat_str(sluice_xlate_stream_t *st, const char *s,
    size_t len);
void sluice_xlate_stream_cat_id(sluice_xlate_stream_t *st, const char *id);
void sluice_xlate_stream_cat_int(sluice_xlate_stream_t *st, int64_t n);
int sluice_xlate_stream_end_frame(sluice_xlate_stream_t *st, const char *s);
int sluice_xlate_buf_str(sluice_buf_t *b, const char *s, size_t len);
int sluice_xlate_buf_esc(sluice_buf_t *b, const char *s, size_t len);
int sluice_xlate_buf_int(sluice_buf_t *b, int64_t n);

/* a string literal appended */
#define sluice_xlate_stream_lit(st, s)                                       \
    sluice_xlate_stream_catn(st, s, sizeof(s) - 1)

/* the frames are made by hand, not by jansson */
#define sluice_xlate_fast(st)                                                \
    (!((st)->flags & SLUICE_XLATE_NO_FAST))

/* sluice_xlate_tape.c: upstream events read without jansson */
sluice_xlate_tape_t *sluice_xlate_tape_create(void);
sluice_xlate_tape_t *sluice_xlate_tape_create_n(unsigned max,
    unsigned grow);
void sluice_xlate_tape_destroy(sluice_xlate_tape_t *t);
int sluice_xlate_tape_parse(sluice_xlate_tape_t *t, const uint8_t *p,
    size_t len, unsigned depth);
int sluice_xlate_tape_get(const sluice_xlate_tape_t *t, int k,
    const char *name, size_t nlen);
void sluice_xlate_tape_find(const sluice_xlate_tape_t *t, int k,
    const sluice_xlate_key_t *keys, int *idx, size_t n);
int sluice_xlate_tape_at(const sluice_xlate_tape_t *t, int k, unsigned n);
unsigned sluice_xlate_tape_size(const sluice_xlate_tape_t *t, int k);
int sluice_xlate_tape_type(const sluice_xlate_tape_t *t, int k);
int sluice_xlate_tape_eq(sluice_xlate_tape_t *t, int k, const char *s,
    size_t n);
const char *sluice_xlate_tape_text(sluice_xlate_tape_t *t, int k,
    size_t *len);
const char *sluice_xlate_tape_cstr(sluice_xlate_tape_t *t, int k,
    size_t *len);
int sluice_xlate_tape_int(const sluice_xlate_tape_t *t, int k, int64_t *v);
int64_t sluice_xlate_tape_count(const sluice_xlate_tape_t *t, int k);

/*
 * sluice_xlate_req_fast.c: a request translated on the tape, written
 * straight into out (see sluice_xlate_request_fast); rc turns -1 when
 * a writer ran out of memory or met what it declines.
 */
typedef struct {
    sluice_xlate_tape_t  *t;        /* the body */
    sluice_xlate_tape_t  *args;     /* a tool call's arguments, lazily */
    sluice_buf_t         *out;
    const char           *model;
    unsigned              flags;
    int                   rc;
} sluice_xlate_rq_t;

/*
 * The fast path of sluice_xlate_request_ex(): SLUICE_XLATE_OK with the
 * target's body appended to out (and *names set, NULL so far), or
 * SLUICE_XLATE_DECLINED with out as it was: jansson must translate
 * (errors, refusals and all it is not sure of).  Never ERROR.
 */
int sluice_xlate_request_fast(int from, int to, unsigned flags,
    const char *body, size_t len, const char *upstream_model,
    sluice_buf_t *out, sluice_xlate_names_t **names);

int sluice_xlate_rq_check(sluice_xlate_rq_t *r,
    const sluice_xlate_check_t *ck);
double sluice_xlate_rq_number(sluice_xlate_rq_t *r, sluice_xlate_tape_t *t,
    int k);
void sluice_xlate_rq_cat(sluice_xlate_rq_t *r, const char *s, size_t n);
void sluice_xlate_rq_str(sluice_xlate_rq_t *r, const char *s, size_t len);
void sluice_xlate_rq_string(sluice_xlate_rq_t *r, sluice_xlate_tape_t *t,
    int k);
void sluice_xlate_rq_esc(sluice_xlate_rq_t *r, sluice_xlate_tape_t *t,
    int k);
void sluice_xlate_rq_int(sluice_xlate_rq_t *r, int64_t n);
void sluice_xlate_rq_real(sluice_xlate_rq_t *r, double d);
void sluice_xlate_rq_value(sluice_xlate_rq_t *r, sluice_xlate_tape_t *t,
    int k, const char *skip);
int sluice_xlate_rq_parse_string(sluice_xlate_rq_t *r,
    sluice_xlate_tape_t *t, int k);
int sluice_xlate_rq_is(sluice_xlate_rq_t *r, int k, const char *s);

#define sluice_xlate_rq_lit(r, s)                                            \
    sluice_xlate_rq_cat(r, s, sizeof(s) - 1)

/* the directions: SLUICE_XLATE_OK or SLUICE_XLATE_DECLINED */
int sluice_xlate_chat2msg(sluice_xlate_rq_t *r);
int sluice_xlate_msg2chat(sluice_xlate_rq_t *r);

/* the decoders' tables of the members they read, for the fast path */
extern const sluice_xlate_check_t  sluice_xlate_chat_checks[];
extern const sluice_xlate_check_t  sluice_xlate_messages_checks[];

/* per-dialect stream decoders (one upstream event) and encoders */
int sluice_xlate_chat_sse_decode(sluice_xlate_stream_t *st,
    const sluice_sse_event_t *ev, json_t *data);
int sluice_xlate_chat_sse_encode(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
int sluice_xlate_messages_sse_decode(sluice_xlate_stream_t *st,
    const sluice_sse_event_t *ev, json_t *data);
int sluice_xlate_messages_sse_encode(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
int sluice_xlate_responses_sse_decode(sluice_xlate_stream_t *st,
    const sluice_sse_event_t *ev, json_t *data);
int sluice_xlate_responses_sse_encode(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);

/* sluice_xlate_responses_enc.c and _out.c: a responses caller's frames */
int sluice_xlate_responses_item_open(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev, const char **ns);
int sluice_xlate_responses_out_created(sluice_xlate_stream_t *st);
int sluice_xlate_responses_out_added(sluice_xlate_stream_t *st,
    const sluice_xlate_ev_t *ev);
int sluice_xlate_responses_out_done(sluice_xlate_stream_t *st,
    const char *text, size_t len, const char *status);
int sluice_xlate_responses_out_completed(sluice_xlate_stream_t *st);

/* the same decoders on the tape: SLUICE_XLATE_DECLINED, or 0 / -1 */
int sluice_xlate_chat_sse_fast(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);
int sluice_xlate_messages_sse_fast(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);
int sluice_xlate_responses_sse_fast(sluice_xlate_stream_t *st,
    sluice_xlate_tape_t *t);

#endif
