/*
 * sluice_xlate: translates requests, JSON answers and SSE streams between
 * the OpenAI Chat Completions, OpenAI Responses and Anthropic Messages
 * dialects.  Pure C on jansson, no nginx types, never blocks.
 *
 * Every translation goes through one pivot: a source dialect is decoded
 * into a canonical form (a request, an answer, or a stream of canonical
 * events) and that form is encoded into the target dialect, so there are
 * three decoders and three encoders per kind instead of six of each.
 * Same-dialect traffic is never translated: the module passes it through.
 *
 * Memory: everything is malloc'd.  Output buffers belong to the caller
 * (sluice_buf_free); a stream owns its state until
 * sluice_xlate_stream_destroy(); jansson values live only inside a call.
 * json_set_alloc_funcs() is never called (it is process-global).  The
 * module should tie each stream to a pool cleanup.
 *
 * Nothing here blocks.  Ids we make up (chatcmpl-, resp_, msg_, fc_...)
 * come from a per-process generator: not for use from several threads.
 * Tool call ids always pass through, so tool results find their calls.
 */

#ifndef SLUICE_XLATE_H
#define SLUICE_XLATE_H

#include <stddef.h>
#include <stdint.h>
#include "sluice_buf.h"
#include "sluice_usage_json.h"


/* dialects: the same numbers as NGX_HTTP_SLUICE_CHAT etc. */
#define SLUICE_XLATE_CHAT         0
#define SLUICE_XLATE_RESPONSES    1
#define SLUICE_XLATE_MESSAGES     2

#define SLUICE_XLATE_OK           0
#define SLUICE_XLATE_ERROR       -1
#define SLUICE_XLATE_ENVELOPE     1     /* out holds an error envelope */

/*
 * sluice_xlate_request_flags(): the target takes no reasoning settings.
 * Without it a caller's thinking / reasoning effort is mapped (chat
 * reasoning_effort, responses reasoning.effort, messages thinking with
 * a budget), and models that reason not at all refuse those with a 400.
 */
#define SLUICE_XLATE_NO_REASONING  0x01

/* sluice_xlate_stream_create(): a chat caller asked include_usage */
#define SLUICE_XLATE_INCLUDE_USAGE 0x01

/*
 * sluice_xlate_stream_create() and sluice_xlate_request_flags() /
 * _ex(), for tests: every upstream event is read with jansson and every
 * frame made with it, and every request body is loaded, decoded and
 * encoded with jansson, never by the fast path (the output is the same
 * byte for byte, only slower).
 */
#define SLUICE_XLATE_NO_FAST       0x02

/* sluice_xlate_stream_state() */
#define SLUICE_XLATE_RUNNING      0
#define SLUICE_XLATE_DONE         1     /* terminal event sent */
#define SLUICE_XLATE_FAILED       2     /* in-band error event sent */


/*
 * Why a translation was refused.  The message names the construct (a
 * field, a tool type, an item type) and the target dialect, and never
 * quotes request or upstream content, so it can go to the caller as is.
 */
typedef struct {
    int                  status;    /* 400 refused / invalid, 502, 500 */
    const char          *code;      /* "invalid-request", "upstream-failed",
                                       "internal" (static strings) */
    char                 message[256];
} sluice_xlate_err_t;


/*
 * Translates a request body from the caller's dialect (from) into the
 * target's (to), setting "model" to upstream_model.  Unknown fields are
 * dropped; constructs that cannot be expressed in the target are refused
 * with a 400 naming them.  A chat target that streams gets
 * stream_options.include_usage; a messages target always gets max_tokens.
 * On success out holds the new body (appended; the caller frees it).
 * Returns SLUICE_XLATE_OK, or SLUICE_XLATE_ERROR with err filled.
 */
int sluice_xlate_request(int from, int to, const char *body, size_t len,
    const char *upstream_model, sluice_buf_t *out, sluice_xlate_err_t *err);

/* The same with SLUICE_XLATE_NO_REASONING and friends. */
int sluice_xlate_request_flags(int from, int to, unsigned flags,
    const char *body, size_t len, const char *upstream_model,
    sluice_buf_t *out, sluice_xlate_err_t *err);


/*
 * The caller's tool names the target never saw, so that the answer can
 * give them back.  A responses caller may offer "custom" (freeform)
 * tools and "namespace" tools; a target of another dialect gets each as
 * a plain function (a custom tool takes one string argument, "input";
 * a function in namespace ns is called "<ns>__<name>", made to fit
 * ^[a-zA-Z0-9_-]{1,64}$), and its calls of those functions must go back
 * to the caller as custom_tool_call items, or function_call items with
 * their namespace.  One malloc'd block of at most
 * SLUICE_XLATE_NAMES_MAX entries of bounded strings (a few KB for the
 * ~30 tools a coding agent offers); read-only once made, so one table
 * may serve several answers or streams at once.
 */
typedef struct sluice_xlate_names_s  sluice_xlate_names_t;

#define SLUICE_XLATE_NAMES_MAX    256

/*
 * sluice_xlate_request_flags() that also returns the names to map back
 * (names may be NULL when the caller does not want them).  *names is
 * NULL when nothing needs mapping (and on error); otherwise the caller
 * owns it (sluice_xlate_names_free) and hands it to
 * sluice_xlate_response_ex() or sluice_xlate_stream_create_ex() for
 * the answer to this request.
 */
int sluice_xlate_request_ex(int from, int to, unsigned flags,
    const char *body, size_t len, const char *upstream_model,
    sluice_buf_t *out, sluice_xlate_names_t **names,
    sluice_xlate_err_t *err);

/* Frees a table from sluice_xlate_request_ex(); NULL is fine. */
void sluice_xlate_names_free(sluice_xlate_names_t *names);


/*
 * Translates a whole (non-stream) upstream answer in the target's
 * dialect (from) into the caller's (to).  status is the upstream HTTP
 * status.  From 400 on, or when the body is an error (an error envelope,
 * a failed response), out gets the caller's error envelope (OpenAI
 * {"error":{message,type,param,code}}, Anthropic
 * {"type":"error","error":{type,message}}) carrying only the upstream's
 * message and a code clients act on ("context_length_exceeded"), and
 * SLUICE_XLATE_ENVELOPE is returned with err->status set to the status
 * to answer (the upstream's, or 502 for an error sent with a 2xx).  Use
 * it for error answers to stream requests too.  usage (may be NULL)
 * receives the counts found ("in" counts every prompt token, cached ones
 * included, whatever the dialect).  Returns SLUICE_XLATE_OK,
 * SLUICE_XLATE_ENVELOPE, or SLUICE_XLATE_ERROR (502: the body is not JSON
 * or not an answer) with err filled.
 */
int sluice_xlate_response(int from, int to, int status, const char *body,
    size_t len, sluice_buf_t *out, sluice_usage_t *usage,
    sluice_xlate_err_t *err);

/*
 * The same, mapping the target's tool calls back to the caller's tools
 * with the names of the request (NULL: nothing to map).  names is only
 * read during the call.
 */
int sluice_xlate_response_ex(int from, int to, int status,
    const char *body, size_t len, const sluice_xlate_names_t *names,
    sluice_buf_t *out, sluice_usage_t *usage, sluice_xlate_err_t *err);


/*
 * Receives each complete SSE frame for the caller, in order, as soon as
 * it is made (one call per frame, so the module can flush per event).
 * The bytes are valid only during the call.  Returns 0 to go on,
 * anything else to make feed/finish fail with SLUICE_XLATE_ERROR.
 */
typedef int (*sluice_xlate_emit_pt)(void *data, const char *p, size_t len);

typedef struct sluice_xlate_stream_s  sluice_xlate_stream_t;

/*
 * A stream translator from the upstream dialect (from) to the caller's
 * (to).  max bounds the bytes held for one upstream event (0: 1 MiB); a
 * responses caller must get every item again in its done events and in
 * response.completed, so its items are held too, up to 16 * max in all.
 * Going over ends the stream with an in-band error.  Other callers hold
 * nothing but the partial upstream event.  Returns NULL when out of
 * memory or for an unknown dialect.
 */
sluice_xlate_stream_t *sluice_xlate_stream_create(int from, int to,
    unsigned flags, size_t max);

/*
 * The same, mapping tool calls back with names (NULL: nothing to map).
 * The stream keeps its own copy: names may be freed once this returns.
 */
sluice_xlate_stream_t *sluice_xlate_stream_create_ex(int from, int to,
    unsigned flags, size_t max, const sluice_xlate_names_t *names);

/*
 * Feeds upstream bytes cut anywhere.  Each complete upstream event is
 * decoded and the caller's frames are emitted at once.  Malformed or
 * error events end the stream with an in-band error in the caller's
 * dialect (state FAILED); bytes after the end are ignored.  Returns
 * SLUICE_XLATE_OK, or SLUICE_XLATE_ERROR when emit failed or memory ran
 * out (the stream is then unusable but must still be destroyed).
 */
int sluice_xlate_stream_feed(sluice_xlate_stream_t *st, const char *p,
    size_t len, sluice_xlate_emit_pt emit, void *data);

/*
 * Upstream EOF.  If the upstream never sent its terminal event, an
 * in-band error is emitted (state FAILED).  Same returns as feed.
 */
int sluice_xlate_stream_finish(sluice_xlate_stream_t *st,
    sluice_xlate_emit_pt emit, void *data);

/*
 * Ends a running stream with an in-band error carrying message (ours:
 * e.g. the upstream idle timeout).  No-op once the stream has ended.
 */
int sluice_xlate_stream_abort(sluice_xlate_stream_t *st,
    const char *message, sluice_xlate_emit_pt emit, void *data);

/* Emits the keepalive comment ": ping"; never an event. */
int sluice_xlate_stream_ping(sluice_xlate_stream_t *st,
    sluice_xlate_emit_pt emit, void *data);

/* RUNNING, DONE or FAILED. */
int sluice_xlate_stream_state(const sluice_xlate_stream_t *st);

/* Token counts seen so far (-1: not reported); owned by the stream. */
const sluice_usage_t *sluice_xlate_stream_usage(
    const sluice_xlate_stream_t *st);

/* Frees everything the stream holds; NULL is fine. */
void sluice_xlate_stream_destroy(sluice_xlate_stream_t *st);

#endif
