/*
 * sluice_estimate: estimates the input tokens a provider will bill for a
 * request body, cheaply enough to run on every request before admission
 * (rate limits, budgets) and to answer /v1/messages/count_tokens.  Pure
 * C, no nginx types; never allocates, never blocks, one pass over the
 * body.
 *
 * The approximation.  One validating pass over the raw JSON knows, for
 * every value, the key (or list) that holds it, and counts:
 *
 *   - text: decoded string bytes of message content, system, instructions
 *     and developer text, tool results, tool call arguments, thinking
 *     text; a non-ASCII character counts one byte more than its UTF-8
 *     length (a 3-byte CJK character is then about one token);
 *   - tool definitions, JSON tool inputs and output schemas: the length
 *     of their compact JSON (keys, strings, numbers, punctuation);
 *   - text bytes / SLUICE_ESTIMATE_BYTES_PER_TOKEN, rounded up;
 *   - plus fixed costs: per request, per message, per tool definition,
 *     the tool-use prompt once when tools are defined, and each image and
 *     document block at a flat price.
 *
 * Not counted: output settings (max_tokens, temperature, stream,
 * metadata, thinking budgets...), model, ids, roles (in the per-message
 * cost), URLs, base64 "data" of images, documents and audio, data: URLs
 * in image_url / file_data, signatures and encrypted reasoning.
 *
 * Known error.  English prose runs about 4 bytes a token on OpenAI's
 * o200k and 3.5 on Claude's tokenizer: within about 15%, lower for
 * Claude.  Source code, JSON and logs run 2.5 to 3.5 bytes a token (up to
 * 40% low); digits, hashes and random strings up to 2x low.  An image
 * really costs 85 (OpenAI low detail) to about 1600 tokens (Anthropic at
 * 1.15 megapixels; gpt-4o-mini multiplies its image tokens), a PDF 1500
 * to 3000 tokens a page: a long PDF is undercounted.  Invisible here:
 * server-side state (previous_response_id, conversation, stored prompts),
 * the hidden definitions of provider-side tools (web search, computer
 * use), reasoning carried in encrypted_content, audio.  Thinking text of
 * earlier turns is counted though Anthropic drops it (overcount).
 */

#ifndef SLUICE_ESTIMATE_H
#define SLUICE_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

/* "1 token is about 4 characters of English" (OpenAI's rule of thumb) */
#define SLUICE_ESTIMATE_BYTES_PER_TOKEN   4

/* the reply priming every request gets (OpenAI cookbook: 3) */
#define SLUICE_ESTIMATE_REQUEST           3

/* role and separators around each message (OpenAI cookbook: 3 + name) */
#define SLUICE_ESTIMATE_MESSAGE           4

/* wrapper around each tool definition (OpenAI cookbook: func_init 7) */
#define SLUICE_ESTIMATE_TOOL              8

/*
 * once when tools are defined: OpenAI's func_end (12); Anthropic's
 * documented tool-use system prompt (Claude 4, tool_choice auto: 346)
 */
#define SLUICE_ESTIMATE_TOOLS_OPENAI     12
#define SLUICE_ESTIMATE_TOOLS_ANTHROPIC 346

/*
 * an image block: Anthropic's (w * h) / 750 at its 1.15 MP maximum
 * (1092 x 1092 = 1590); above OpenAI's high detail for gpt-4o (<= 1105)
 */
#define SLUICE_ESTIMATE_IMAGE          1600

/* a document / file block: Anthropic's upper bound for one PDF page */
#define SLUICE_ESTIMATE_DOCUMENT       3000

/*
 * Estimates the prompt tokens of a request body in the caller's dialect
 * (SLUICE_XLATE_CHAT 0, SLUICE_XLATE_RESPONSES 1, SLUICE_XLATE_MESSAGES
 * 2; a count_tokens body is a messages body).  Returns the estimate (at
 * least SLUICE_ESTIMATE_REQUEST); or -1 when the dialect is unknown or
 * the body is not a valid JSON object: exactly the bodies sluice_json_scan
 * refuses (same grammar, UTF-8 check and depth limit); or
 * SLUICE_ESTIMATE_REFUSED for a valid object that is no request of the
 * dialect: a main member of the wrong type (messages not an array, a
 * message's content neither a string nor an array, system or
 * instructions neither, input neither, tools not an array; OpenAI's
 * members may be null, Anthropic's only system), or a top-level member
 * it reads given twice.  Both mean a 400.  Never allocates (under 1 KB
 * of stack); time is linear in len, about 2 GB/s.
 */
#define SLUICE_ESTIMATE_REFUSED  -2

int64_t sluice_estimate_tokens(int dialect, const char *body, size_t len);

/*
 * The same; when the answer is negative and why is not NULL, *why is a
 * static sentence for the caller saying what is wrong, naming the
 * member ("duplicate key \"messages\"", "\"messages\" must be an
 * array"; "not a valid JSON object" for -1), never quoting the body.
 */
int64_t sluice_estimate_tokens_why(int dialect, const char *body,
    size_t len, const char **why);

#endif
