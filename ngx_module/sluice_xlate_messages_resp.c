/*
 * sluice_xlate_messages_resp: whole Anthropic Messages answers to and
 * from the canonical answer, with the messages words for stop reasons
 * and usage.
 */

#include <stdlib.h>
#include <string.h>
#include "sluice_xlate_int.h"


typedef struct {
    const char          *word;
    int                  stop;
} sluice_xlate_stop_word_t;


static json_t *sluice_xlate_messages_content_decode(json_t *blocks);
static json_t *sluice_xlate_messages_content_encode(json_t *parts);


/* the first word of a stop reason is what encoders send */
static const sluice_xlate_stop_word_t  sluice_xlate_messages_stops[] = {
    { "end_turn", SLUICE_XLATE_STOP_END },
    { "max_tokens", SLUICE_XLATE_STOP_LENGTH },
    { "tool_use", SLUICE_XLATE_STOP_TOOL },
    { "stop_sequence", SLUICE_XLATE_STOP_SEQUENCE },
    { "refusal", SLUICE_XLATE_STOP_FILTER },
    { "pause_turn", SLUICE_XLATE_STOP_END },
    { "model_context_window_exceeded", SLUICE_XLATE_STOP_LENGTH },
    { NULL, 0 }
};


int
sluice_xlate_messages_stop_decode(const char *reason)
{
    const sluice_xlate_stop_word_t  *w;

    for (w = sluice_xlate_messages_stops; reason && w->word; w++) {
        if (strcmp(w->word, reason) == 0) {
            return w->stop;
        }
    }

    return SLUICE_XLATE_STOP_END;
}


const char *
sluice_xlate_messages_stop_encode(int stop)
{
    const sluice_xlate_stop_word_t  *w;

    for (w = sluice_xlate_messages_stops; w->word; w++) {
        if (w->stop == stop) {
            return w->word;
        }
    }

    return "end_turn";
}


json_t *
sluice_xlate_messages_resp_decode(json_t *in, sluice_usage_t *u)
{
    json_t      *content, *seq;
    const char  *type;

    type = json_string_value(json_object_get(in, "type"));

    if (type == NULL || strcmp(type, "message") != 0) {
        return NULL;
    }

    content = sluice_xlate_messages_content_decode(json_object_get(in,
                                                              "content"));
    if (content == NULL) {
        return NULL;
    }

    sluice_xlate_usage_messages(json_object_get(in, "usage"), u);

    seq = json_object_get(in, "stop_sequence");

    return json_pack("{s:O*, s:O*, s:o, s:i, s:O*}", "id",
                     json_object_get(in, "id"), "model",
                     json_object_get(in, "model"), "content", content,
                     "stop", sluice_xlate_messages_stop_decode(
                         json_string_value(json_object_get(in,
                                                           "stop_reason"))),
                     "stop_sequence", json_is_string(seq) ? seq : NULL);
}


/* text, thinking and tool_use; server-side blocks are left out */
static json_t *
sluice_xlate_messages_content_decode(json_t *blocks)
{
    size_t       i;
    char        *args;
    json_t      *parts, *b, *part;
    const char  *type;

    parts = json_array();

    json_array_foreach(blocks, i, b) {
        type = json_string_value(json_object_get(b, "type"));
        part = NULL;

        if (type && strcmp(type, "text") == 0) {
            part = json_pack("{s:s, s:O}", "type", "text", "text",
                             json_object_get(b, "text"));

        } else if (type && strcmp(type, "thinking") == 0) {
            part = json_pack("{s:s, s:O, s:O*}", "type", "thinking", "text",
                             json_object_get(b, "thinking"), "signature",
                             json_object_get(b, "signature"));

        } else if (type && strcmp(type, "tool_use") == 0) {
            args = json_object_get(b, "input")
                   ? json_dumps(json_object_get(b, "input"),
                                SLUICE_XLATE_DUMP | JSON_ENCODE_ANY)
                   : NULL;
            part = json_pack("{s:s, s:O, s:O, s:s}", "type", "tool_call",
                             "id", json_object_get(b, "id"), "name",
                             json_object_get(b, "name"), "arguments",
                             args ? args : "{}");
            free(args);
        }

        if (part) {
            json_array_append_new(parts, part);
        }
    }

    return parts;
}


json_t *
sluice_xlate_messages_resp_encode(json_t *c)
{
    char             id[64];
    json_t          *seq;
    const char      *model;
    sluice_usage_t   u;

    sluice_xlate_rand_id(id, sizeof(id), "msg_");
    sluice_xlate_usage_from_canon(json_object_get(c, "usage"), &u);

    model = json_string_value(json_object_get(c, "model"));
    seq = json_object_get(c, "stop_sequence");

    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:O?, s:o}",
        "id", id, "type", "message", "role", "assistant",
        "model", model ? model : "",
        "content", sluice_xlate_messages_content_encode(json_object_get(c,
                                                            "content")),
        "stop_reason", sluice_xlate_messages_stop_encode(
            json_integer_value(json_object_get(c, "stop"))),
        "stop_sequence", seq,
        "usage", sluice_xlate_messages_usage_encode(&u));
}


static json_t *
sluice_xlate_messages_content_encode(json_t *parts)
{
    size_t       i;
    json_t      *blocks, *p, *input;
    const char  *type, *args, *sig;

    blocks = json_array();

    json_array_foreach(parts, i, p) {
        type = json_string_value(json_object_get(p, "type"));

        if (strcmp(type, "text") == 0) {
            json_array_append_new(blocks, json_pack("{s:s, s:O}", "type",
                                  "text", "text",
                                  json_object_get(p, "text")));

        } else if (strcmp(type, "thinking") == 0) {
            sig = json_string_value(json_object_get(p, "signature"));
            json_array_append_new(blocks, json_pack("{s:s, s:O, s:s}",
                                  "type", "thinking", "thinking",
                                  json_object_get(p, "text"), "signature",
                                  sig ? sig : ""));

        } else if (strcmp(type, "tool_call") == 0) {
            args = json_string_value(json_object_get(p, "arguments"));
            input = json_loads(args ? args : "{}", 0, NULL);

            if (!json_is_object(input)) {
                json_decref(input);
                input = json_object();
            }

            json_array_append_new(blocks, json_pack("{s:s, s:O, s:O, s:o}",
                                  "type", "tool_use", "id",
                                  json_object_get(p, "id"), "name",
                                  json_object_get(p, "name"), "input",
                                  input));
        }
    }

    return blocks;
}


/* messages counts input without the cached part */
json_t *
sluice_xlate_messages_usage_encode(const sluice_usage_t *u)
{
    int64_t  in, cached;

    cached = u->cached > 0 ? u->cached : 0;
    in = u->in > cached ? u->in - cached : 0;

    return json_pack("{s:I, s:I, s:I, s:I}",
                     "input_tokens", (json_int_t) in,
                     "cache_creation_input_tokens", (json_int_t) 0,
                     "cache_read_input_tokens", (json_int_t) cached,
                     "output_tokens",
                     (json_int_t) (u->out > 0 ? u->out : 0));
}


/* in counts every prompt token: input + cache reads + cache writes */
void
sluice_xlate_usage_messages(json_t *usage, sluice_usage_t *u)
{
    int64_t  in, read, write, out;

    in = sluice_xlate_count(json_object_get(usage, "input_tokens"));
    read = sluice_xlate_count(json_object_get(usage,
                                              "cache_read_input_tokens"));
    write = sluice_xlate_count(json_object_get(usage,
                                               "cache_creation_input_tokens"));
    out = sluice_xlate_count(json_object_get(usage, "output_tokens"));

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
