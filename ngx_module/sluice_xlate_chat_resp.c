/*
 * sluice_xlate_chat_resp: whole Chat Completions answers to and from the
 * canonical answer, with the chat words for stop reasons and usage.
 */

#include <string.h>
#include <time.h>
#include "sluice_xlate_int.h"


typedef struct {
    const char          *word;
    int                  stop;
} sluice_xlate_stop_word_t;


static int sluice_xlate_chat_message_decode(json_t *msg, json_t *content);
static json_t *sluice_xlate_chat_message_encode(json_t *c);
static json_t *sluice_xlate_chat_text_of(json_t *content, const char *type);


/* the first word of a stop reason is what encoders send */
static const sluice_xlate_stop_word_t  sluice_xlate_chat_stops[] = {
    { "stop", SLUICE_XLATE_STOP_END },
    { "length", SLUICE_XLATE_STOP_LENGTH },
    { "tool_calls", SLUICE_XLATE_STOP_TOOL },
    { "stop", SLUICE_XLATE_STOP_SEQUENCE },
    { "content_filter", SLUICE_XLATE_STOP_FILTER },
    { "function_call", SLUICE_XLATE_STOP_TOOL },
    { NULL, 0 }
};


int
sluice_xlate_chat_stop_decode(const char *reason)
{
    const sluice_xlate_stop_word_t  *w;

    for (w = sluice_xlate_chat_stops; reason && w->word; w++) {
        if (strcmp(w->word, reason) == 0) {
            return w->stop;
        }
    }

    return SLUICE_XLATE_STOP_END;
}


const char *
sluice_xlate_chat_stop_encode(int stop)
{
    const sluice_xlate_stop_word_t  *w;

    for (w = sluice_xlate_chat_stops; w->word; w++) {
        if (w->stop == stop) {
            return w->word;
        }
    }

    return "stop";
}


json_t *
sluice_xlate_chat_resp_decode(json_t *in, sluice_usage_t *u)
{
    json_t  *choice, *c;

    choice = json_array_get(json_object_get(in, "choices"), 0);

    if (!json_is_object(json_object_get(choice, "message"))) {
        return NULL;
    }

    c = json_pack("{s:O*, s:O*, s:O*, s:[], s:i}", "id",
                  json_object_get(in, "id"), "model",
                  json_object_get(in, "model"), "created",
                  json_object_get(in, "created"), "content", "stop",
                  sluice_xlate_chat_stop_decode(json_string_value(
                      json_object_get(choice, "finish_reason"))));

    if (c == NULL
        || sluice_xlate_chat_message_decode(json_object_get(choice,
               "message"), json_object_get(c, "content")) != 0)
    {
        json_decref(c);
        return NULL;
    }

    sluice_xlate_usage_chat(json_object_get(in, "usage"), u);

    return c;
}


static int
sluice_xlate_chat_message_decode(json_t *msg, json_t *content)
{
    size_t   i;
    json_t  *v, *call, *fn;

    v = json_object_get(msg, "reasoning_content");

    if (!json_is_string(v)) {
        v = json_object_get(msg, "reasoning");
    }

    if (json_is_string(v) && json_string_length(v)) {
        json_array_append_new(content, json_pack("{s:s, s:O}", "type",
                                                  "thinking", "text", v));
    }

    v = json_object_get(msg, "content");

    if (!json_is_string(v) || json_string_length(v) == 0) {
        v = json_object_get(msg, "refusal");
    }

    if (json_is_string(v) && json_string_length(v)) {
        json_array_append_new(content, sluice_xlate_part_text(
            json_string_value(v), json_string_length(v)));
    }

    json_array_foreach(json_object_get(msg, "tool_calls"), i, call) {
        fn = json_object_get(call, "function");
        v = json_object_get(fn, "arguments");

        json_array_append_new(content, json_pack("{s:s, s:O, s:O, s:s}",
            "type", "tool_call", "id", json_object_get(call, "id"), "name",
            json_object_get(fn, "name"), "arguments",
            json_is_string(v) ? json_string_value(v) : "{}"));
    }

    return 0;
}


json_t *
sluice_xlate_chat_resp_encode(json_t *c)
{
    char             id[64];
    json_t          *msg;
    sluice_usage_t   u;

    msg = sluice_xlate_chat_message_encode(c);
    if (msg == NULL) {
        return NULL;
    }

    sluice_xlate_rand_id(id, sizeof(id), "chatcmpl-");
    sluice_xlate_usage_from_canon(json_object_get(c, "usage"), &u);

    return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s}], s:o}",
        "id", id, "object", "chat.completion", "created",
        json_is_integer(json_object_get(c, "created"))
        ? json_integer_value(json_object_get(c, "created"))
        : (json_int_t) time(NULL),
        "model", json_string_value(json_object_get(c, "model"))
        ? json_string_value(json_object_get(c, "model")) : "",
        "choices", "index", 0, "message", msg, "logprobs", "finish_reason",
        sluice_xlate_chat_stop_encode(json_integer_value(
            json_object_get(c, "stop"))),
        "usage", sluice_xlate_chat_usage_encode(&u));
}


static json_t *
sluice_xlate_chat_message_encode(json_t *c)
{
    size_t       i;
    json_t      *msg, *calls, *p, *content, *think;
    const char  *type;

    content = json_object_get(c, "content");
    calls = json_array();
    think = sluice_xlate_chat_text_of(content, "thinking");

    msg = json_pack("{s:s, s:o}", "role", "assistant", "content",
                    sluice_xlate_chat_text_of(content, "text"));

    if (msg == NULL || calls == NULL) {
        json_decref(think);
        json_decref(calls);
        json_decref(msg);
        return NULL;
    }

    if (!json_is_null(think)) {
        json_object_set(msg, "reasoning_content", think);
    }

    json_decref(think);

    json_array_foreach(content, i, p) {
        type = json_string_value(json_object_get(p, "type"));

        if (strcmp(type, "tool_call") == 0) {
            json_array_append_new(calls, json_pack(
                "{s:O, s:s, s:{s:O, s:O}}", "id", json_object_get(p, "id"),
                "type", "function", "function", "name",
                json_object_get(p, "name"), "arguments",
                json_object_get(p, "arguments")));
        }
    }

    if (json_array_size(calls)) {
        json_object_set_new(msg, "tool_calls", calls);

    } else {
        json_decref(calls);
    }

    return msg;
}


/* the parts of one type joined; null when there are none */
static json_t *
sluice_xlate_chat_text_of(json_t *content, const char *type)
{
    size_t        i, n;
    json_t       *p, *s, *text;
    sluice_buf_t  b;

    sluice_buf_init(&b);
    n = 0;

    json_array_foreach(content, i, p) {
        if (strcmp(json_string_value(json_object_get(p, "type")), type)
            != 0)
        {
            continue;
        }

        n++;
        text = json_object_get(p, "text");

        if (sluice_buf_append(&b, json_string_value(text),
                              json_string_length(text)) != 0)
        {
            sluice_buf_free(&b);
            return NULL;
        }
    }

    s = n ? json_stringn(b.data ? b.data : "", b.len) : json_null();
    sluice_buf_free(&b);

    return s;
}


json_t *
sluice_xlate_chat_usage_encode(const sluice_usage_t *u)
{
    int64_t  in, out;

    in = u->in > 0 ? u->in : 0;
    out = u->out > 0 ? u->out : 0;

    return json_pack("{s:I, s:I, s:I, s:{s:I}, s:{s:I}}",
                     "prompt_tokens", (json_int_t) in,
                     "completion_tokens", (json_int_t) out,
                     "total_tokens", (json_int_t) (in + out),
                     "prompt_tokens_details", "cached_tokens",
                     (json_int_t) (u->cached > 0 ? u->cached : 0),
                     "completion_tokens_details", "reasoning_tokens",
                     (json_int_t) (u->reasoning > 0 ? u->reasoning : 0));
}


void
sluice_xlate_usage_chat(json_t *usage, sluice_usage_t *u)
{
    int64_t  n;

    if ((n = sluice_xlate_count(json_object_get(usage, "prompt_tokens")))
        >= 0)
    {
        u->in = n;
    }

    if ((n = sluice_xlate_count(json_object_get(usage,
                                                "completion_tokens"))) >= 0)
    {
        u->out = n;
    }

    n = sluice_xlate_count(json_object_get(json_object_get(usage,
                               "prompt_tokens_details"), "cached_tokens"));
    if (n >= 0) {
        u->cached = n;
    }

    n = sluice_xlate_count(json_object_get(json_object_get(usage,
                               "completion_tokens_details"),
                               "reasoning_tokens"));
    if (n >= 0) {
        u->reasoning = n;
    }
}
