/*
 * sluice_usage_json: reads token usage out of one provider JSON object
 * (a whole response or one SSE event's data) with the allocation-free
 * scanner.  Pure C, no nginx types; never allocates.
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
    int64_t              in;         /* every prompt token, cached too */
    int64_t              out;        /* completion / output tokens */
    int64_t              cached;     /* prompt tokens read from a cache */
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
 * Where the hint's pattern ("usage", blanks, ':', blanks, '{') first
 * begins in the text, or len.  No piece of the text that ends by there
 * holds the pattern, so one search over a stream buffer answers for
 * every event lying in it before the match.
 */
size_t sluice_usage_hint_find(const uint8_t *p, size_t len);

/*
 * Parses the text and looks for the usage object at "usage" (chat and
 * responses bodies, chat chunks, messages bodies and message_delta),
 * "response.usage" (responses stream events) or "message.usage"
 * (messages message_start).  Counts mean the same whatever the dialect:
 * in counts every prompt token, cached ones included (for the Anthropic
 * shape in = input_tokens + cache_read_input_tokens +
 * cache_creation_input_tokens; OpenAI's prompt_tokens and input_tokens
 * already hold the cached ones), cached the tokens read from a cache
 * (cache_read_input_tokens, or *_tokens_details.cached_tokens), out and
 * reasoning the output and reasoning tokens.  Counts an object holds
 * replace those in *u, absent ones are left alone, so the events of one
 * stream merge without counting twice what an Anthropic message_delta
 * repeats from message_start.  When usage_only is not NULL (a stream
 * event, which the caller may cut from the stream) the text is validated
 * and usage_only is set to 1 for a chat chunk whose "choices" is an
 * empty array (the include_usage chunk), else 0; a whole answer is only
 * skimmed (sluice_json_skim), so a malformed one may still give counts.
 */
int sluice_usage_parse(const uint8_t *p, size_t len, sluice_usage_t *u,
    int *usage_only);

/*
 * The same without looking for a whole answer's usage from its end
 * first: every byte skimmed (tests and fuzzing compare the two).
 */
int sluice_usage_parse_skim(const uint8_t *p, size_t len, sluice_usage_t *u,
    int *usage_only);

/*
 * Both read the usage object they find with a fast reader made for it,
 * which hands the object to a generic one (a skim for each of its keys)
 * when it holds anything out of the plain shape: a key with a backslash,
 * a count's key given twice, bytes JSON does not allow between members.
 * The reference for tests and fuzzing: sluice_usage_parse (tail 1) or
 * sluice_usage_parse_skim (tail 0) with only the generic reader, which
 * the fast one must match on any text.
 */
int sluice_usage_parse_ref(const uint8_t *p, size_t len, sluice_usage_t *u,
    int *usage_only, int tail);

/*
 * Tests and fuzzing: the fast reader alone on the usage object at p[0]
 * ('{'), its counts merged into u as the parse would merge them.
 * Returns the offset after its closing brace, or 0 when the reader
 * declines (u untouched).
 */
size_t sluice_usage_object(const uint8_t *p, size_t len, sluice_usage_t *u);

#endif
