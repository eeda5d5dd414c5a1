/*
 * sluice_usage_json: reads token usage out of one provider JSON object
 * (a whole response or one SSE event's data) with jansson.  Pure C, no
 * nginx types; allocates only inside a call and frees before returning.
 */

#ifndef SLUICE_USAGE_JSON_H
#define SLUICE_USAGE_JSON_H

#include <stddef.h>
#include <stdint.h>

#define SLUICE_USAGE_INVALID  -1    /* not JSON */
#define SLUICE_USAGE_NONE      0    /* JSON without a usage object */
#define SLUICE_USAGE_FOUND     1

/* token counts; -1 when the provider did not say */
typedef struct {
    int64_t              in;         /* prompt / input tokens */
    int64_t              out;        /* completion / output tokens */
    int64_t              cached;     /* cached input tokens */
    int64_t              reasoning;  /* reasoning output tokens */
} sluice_usage_t;

/* Sets every count to -1. */
void sluice_usage_init(sluice_usage_t *u);

/*
 * Cheap pre-check without parsing: returns 1 when the text has a
 * "usage" key whose value opens an object, else 0.  Chat chunks carry
 * "usage":null in every event; only the last one needs a parse.
 */
int sluice_usage_hint(const uint8_t *p, size_t len);

/*
 * Parses the text and looks for the usage object at "usage" (chat and
 * responses bodies, chat chunks, messages bodies and message_delta),
 * "response.usage" (responses stream events) or "message.usage"
 * (messages message_start).  Counts present there overwrite those in *u,
 * absent ones are left alone, so the events of one stream can be merged.
 * Shapes: prompt_tokens/completion_tokens (+ _details), input_tokens/
 * output_tokens (+ _details), cache_read_input_tokens.  When usage_only
 * is not NULL it is set to 1 for a chat chunk whose "choices" is an empty
 * array (the include_usage chunk), else 0.
 */
int sluice_usage_parse(const uint8_t *p, size_t len, sluice_usage_t *u,
    int *usage_only);

#endif
