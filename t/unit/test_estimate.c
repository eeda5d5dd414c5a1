/*
 * Unit tests (TAP) for sluice_estimate: exact small cases, text that
 * scales, images and documents at a flat price whatever their base64
 * size, tools, tool calls and results, output settings that count
 * nothing, every dialect, invalid and truncated bodies (the same verdict
 * as sluice_json_scan), valid JSON that is no request (main members of
 * the wrong type or given twice, and what is said about them), and the
 * captured client bodies.
 */

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <jansson.h>
#include "sluice_json.h"
#include "sluice_estimate.h"
#include "tap.h"


#define CHAT       0
#define RESPONSES  1
#define MESSAGES   2

/* what the captured bodies gave */
typedef struct {
    int                  checked;
    int                  bad;
    int                  largest_dialect;
    char                *largest;         /* its body, json_dumps'd */
    size_t               largest_len;
} fixtures_t;

/* tokens of n text bytes on top of the request and one message */
#define ONE_MSG(n)  (SLUICE_ESTIMATE_REQUEST + SLUICE_ESTIMATE_MESSAGE  \
                     + ((n) + 3) / 4)


static int64_t est(int dialect, const char *s);
static int scan_ok(const char *s, size_t len);
static char *fill(const char *fmt, char c, size_t n);
static int64_t est_fill(int dialect, const char *fmt, char c, size_t n);
static void test_exact(void);
static void test_scaling(void);
static void test_output_side(void);
static void test_images(void);
static void test_documents(void);
static void test_tools(void);
static void test_tool_calls(void);
static void test_dialects(void);
static void test_not_text(void);
static void test_invalid(void);
static void test_depth(void);
static void test_truncated(void);
static void test_types(void);
static void test_types_kept(void);
static void test_types_why(void);
static int fixture_dialect(const char *path);
static size_t text_bytes(json_t *v, const char *key, int top);
static long mock_input_tokens(json_t *mock);
static void fixture_one(fixtures_t *fx, const char *name, size_t k,
    json_t *req);
static void time_one(int dialect, const char *body, size_t len);
static void test_fixtures(const char *dir);


static int64_t
est(int dialect, const char *s)
{
    return sluice_estimate_tokens(dialect, s, strlen(s));
}


static int
scan_ok(const char *s, size_t len)
{
    size_t               open;
    sluice_json_error_t  err;

    return sluice_json_scan((const uint8_t *) s, len, NULL, 0, &open, &err)
           == 0;
}


/* fmt with its one %s replaced by n copies of c (malloc'd) */
static char *
fill(const char *fmt, char c, size_t n)
{
    char  *run, *out;

    run = malloc(n + 1);
    out = malloc(strlen(fmt) + n + 1);

    if (run == NULL || out == NULL) {
        perror("malloc");
        exit(2);
    }

    memset(run, c, n);
    run[n] = '\0';
    sprintf(out, fmt, run);
    free(run);

    return out;
}


static int64_t
est_fill(int dialect, const char *fmt, char c, size_t n)
{
    char     *s;
    int64_t   v;

    s = fill(fmt, c, n);
    v = est(dialect, s);
    free(s);

    return v;
}


static void
test_exact(void)
{
    int  d;

    ok(est(CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                 "\"content\":\"abcd\"}]}") == ONE_MSG(4),
       "chat: request + message + 4 bytes = 8");
    ok(est(MESSAGES, "{\"model\":\"m\",\"max_tokens\":10,\"messages\":"
                     "[{\"role\":\"user\",\"content\":\"abcde\"}]}")
       == ONE_MSG(5), "messages: 5 bytes round up to 2 tokens");
    ok(est(RESPONSES, "{\"model\":\"m\",\"input\":\"abcd\"}") == ONE_MSG(4),
       "responses: input as a string is one message");

    for (d = 0; d < 3; d++) {
        ok(est(d, "{}") == SLUICE_ESTIMATE_REQUEST
           && est(d, " {\"model\":\"m\",\"messages\":[],\"input\":[]} \n")
              == SLUICE_ESTIMATE_REQUEST,
           d == 0 ? "chat: empty body and empty list: request cost only"
           : d == 1 ? "responses: empty: request cost only"
           : "messages: empty: request cost only");
    }

    ok(est(MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":[]},"
                     "{\"role\":\"assistant\",\"content\":\"\"}]}")
       == SLUICE_ESTIMATE_REQUEST + 2 * SLUICE_ESTIMATE_MESSAGE,
       "empty messages cost the message overhead only");
}


static void
test_scaling(void)
{
    int64_t      a, b;
    const char  *chat, *resp, *msg;

    chat = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
           "\"content\":\"%s\"}]}";
    resp = "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":"
           "[{\"type\":\"input_text\",\"text\":\"%s\"}]}]}";
    msg = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
          "[{\"type\":\"text\",\"text\":\"%s\"}]}]}";

    a = est_fill(CHAT, chat, 'a', 400);
    b = est_fill(CHAT, chat, 'a', 4000);
    ok(a == ONE_MSG(400) && b - a == 900, "chat: 400 -> 4000 bytes adds 900");

    a = est_fill(RESPONSES, resp, 'a', 400);
    b = est_fill(RESPONSES, resp, 'a', 40000);
    ok(a == ONE_MSG(400) && b - a == 9900,
       "responses: input_text scales with its length");

    a = est_fill(MESSAGES, msg, 'a', 400);
    b = est_fill(MESSAGES, msg, 'a', 1000000);
    ok(a == ONE_MSG(400) && b - a == 249900,
       "messages: a 1 MB text block is 250k tokens");

    a = est(CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":"
                  "\"\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\"}]}");
    ok(a == ONE_MSG(16), "CJK: 3-byte characters count 4 bytes each");

    a = est(CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":"
                  "\"a\\nb\\\"c\\u4e2d\"}]}");
    ok(a == ONE_MSG(8), "escapes count decoded (\\n 1, \\u 3)");
}


static void
test_output_side(void)
{
    int64_t  a, b, c;

    a = est(MESSAGES, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                      "\"content\":\"hello there\"}]}");
    b = est_fill(MESSAGES, "{\"model\":\"claude-something-long\","
                 "\"max_tokens\":64000,\"temperature\":0.7,\"top_p\":1,"
                 "\"stream\":true,\"metadata\":{\"user_id\":\"%s\"},"
                 "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},"
                 "\"stop_sequences\":[\"x\"],\"tool_choice\":{\"type\":"
                 "\"auto\"},\"context_management\":{\"edits\":[]},"
                 "\"messages\":[{\"role\":\"user\",\"content\":"
                 "\"hello there\"}]}", 'u', 5000);
    ok(a == b, "messages: output settings and metadata count nothing");

    c = est_fill(CHAT, "{\"model\":\"m\",\"stream\":true,\"stream_options\":"
                 "{\"include_usage\":true},\"max_completion_tokens\":9,"
                 "\"user\":\"%s\",\"n\":1,\"seed\":4,\"logit_bias\":{},"
                 "\"messages\":[{\"role\":\"user\","
                 "\"content\":\"hello there\"}]}", 'u', 5000);
    ok(c == a, "chat: output settings and user count nothing");

    c = est_fill(RESPONSES, "{\"model\":\"m\",\"store\":false,"
                 "\"reasoning\":{\"effort\":\"high\"},\"include\":"
                 "[\"reasoning.encrypted_content\"],\"prompt_cache_key\":"
                 "\"%s\",\"max_output_tokens\":5,\"input\":\"hello there\"}",
                 'k', 5000);
    ok(c == a, "responses: output settings and cache keys count nothing");
}


static void
test_images(void)
{
    int64_t      text, a, b;
    const char  *fmt;

    text = est(MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":"
                         "[{\"type\":\"text\",\"text\":\"What is this?\"}]}]}");

    fmt = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\","
          "\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\","
          "\"data\":\"%s\"}},{\"type\":\"text\",\"text\":\"What is this?\"}]}"
          "]}";
    a = est_fill(MESSAGES, fmt, 'Q', 100);
    b = est_fill(MESSAGES, fmt, 'Q', 4 * 1024 * 1024);
    ok(a == text + SLUICE_ESTIMATE_IMAGE && b == a,
       "messages: a 4 MB base64 image costs what a tiny one does");

    fmt = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"source\":"
          "{\"data\":\"%s\",\"media_type\":\"image/png\",\"type\":"
          "\"base64\"},\"type\":\"image\"},{\"type\":\"text\",\"text\":"
          "\"What is this?\"}]}]}";
    ok(est_fill(MESSAGES, fmt, '/', 1000000) == a,
       "messages: data before its type is not counted either");

    a = est(MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":[{"
                      "\"type\":\"image\",\"source\":{\"type\":\"url\","
                      "\"url\":\"https://example.com/a/long/path/cat.png\"}},"
                      "{\"type\":\"text\",\"text\":\"What is this?\"}]}]}");
    ok(a == text + SLUICE_ESTIMATE_IMAGE, "messages: URL image, flat price");

    text = est(CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":"
                     "[{\"type\":\"text\",\"text\":\"What is this?\"}]}]}");
    fmt = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
          "\"text\",\"text\":\"What is this?\"},{\"type\":\"image_url\","
          "\"image_url\":"
          "{\"url\":\"data:image/jpeg;base64,%s\",\"detail\":\"high\"}}]}]}";
    a = est_fill(CHAT, fmt, 'z', 10);
    b = est_fill(CHAT, fmt, 'z', 2 * 1024 * 1024);
    ok(a == text + SLUICE_ESTIMATE_IMAGE && b == a,
       "chat: a data: URL image costs a flat price whatever its size");

    fmt = "{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
          "\"input_text\",\"text\":\"What is this?\"},{\"type\":"
          "\"input_image\",\"image_url\":\"data:image/png;base64,%s\","
          "\"detail\":\"auto\"}]}]}";
    a = est_fill(RESPONSES, fmt, 'z', 10);
    b = est_fill(RESPONSES, fmt, 'z', 2 * 1024 * 1024);
    ok(a == text + SLUICE_ESTIMATE_IMAGE && b == a,
       "responses: an input_image data: URL costs a flat price");

    a = est(MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":[{"
                      "\"type\":\"tool_result\",\"tool_use_id\":\"t\","
                      "\"content\":[{\"type\":\"image\",\"source\":{"
                      "\"type\":\"base64\",\"media_type\":\"image/png\","
                      "\"data\":\"iVBOR\"}},{\"type\":\"image\",\"source\":{"
                      "\"type\":\"base64\",\"media_type\":\"image/png\","
                      "\"data\":\"iVBOR\"}}]}]}]}");
    ok(a == SLUICE_ESTIMATE_REQUEST + SLUICE_ESTIMATE_MESSAGE
            + 2 * SLUICE_ESTIMATE_IMAGE,
       "messages: images inside a tool result count each");
}


static void
test_documents(void)
{
    int64_t      a, b;
    const char  *fmt;

    fmt = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
          "\"document\",\"source\":{\"type\":\"base64\",\"media_type\":"
          "\"application/pdf\",\"data\":\"%s\"}}]}]}";
    a = est_fill(MESSAGES, fmt, 'J', 100);
    b = est_fill(MESSAGES, fmt, 'J', 3 * 1024 * 1024);
    ok(a == SLUICE_ESTIMATE_REQUEST + SLUICE_ESTIMATE_MESSAGE
            + SLUICE_ESTIMATE_DOCUMENT && b == a,
       "messages: a base64 PDF costs a flat price");

    fmt = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
          "\"document\",\"source\":{\"type\":\"text\",\"media_type\":"
          "\"text/plain\",\"data\":\"%s\"}}]}]}";
    a = est_fill(MESSAGES, fmt, 'x', 4000);
    ok(a == ONE_MSG(4000) + SLUICE_ESTIMATE_DOCUMENT,
       "messages: a plain-text document's data is text");

    fmt = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"source\":"
          "{\"data\":\"%s\",\"media_type\":\"text/plain\",\"type\":\"text\"},"
          "\"type\":\"document\"}]}]}";
    b = est_fill(MESSAGES, fmt, 'x', 4000);
    ok(b == a, "messages: ... also when its type comes after the data");

    a = est_fill(CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[{"
                 "\"type\":\"file\",\"file\":{\"filename\":\"a.pdf\","
                 "\"file_data\":\"data:application/pdf;base64,%s\"}}]}]}",
                 'J', 100000);
    ok(a == ONE_MSG(5) + SLUICE_ESTIMATE_DOCUMENT,
       "chat: a file part costs a flat price plus its name");

    a = est_fill(RESPONSES, "{\"input\":[{\"role\":\"user\",\"content\":[{"
                 "\"type\":\"input_file\",\"file_data\":\"%s\"}]}]}",
                 'J', 100000);
    ok(a == SLUICE_ESTIMATE_REQUEST + SLUICE_ESTIMATE_MESSAGE
            + SLUICE_ESTIMATE_DOCUMENT,
       "responses: an input_file costs a flat price");

    a = est_fill(CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[{"
                 "\"type\":\"input_audio\",\"input_audio\":{\"data\":\"%s\","
                 "\"format\":\"wav\"}}]}]}", 'U', 100000);
    ok(a == SLUICE_ESTIMATE_REQUEST + SLUICE_ESTIMATE_MESSAGE,
       "chat: base64 audio is not text");
}


static void
test_tools(void)
{
    size_t       t;
    int64_t      a, b;
    const char  *tool;
    char         body[1024];

    tool = "{\"name\":\"get_weather\",\"description\":\"Get the current "
           "weather in a given city\",\"input_schema\":{\"type\":\"object\","
           "\"properties\":{\"city\":{\"type\":\"string\",\"description\":"
           "\"City name\"},\"days\":{\"type\":\"integer\",\"minimum\":1}},"
           "\"required\":[\"city\"]}}";
    t = strlen(tool);

    a = est(MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":"
                      "\"abcd\"}]}");
    snprintf(body, sizeof(body), "{\"tools\":[%s],\"messages\":[{\"role\":"
             "\"user\",\"content\":\"abcd\"}]}", tool);
    b = est(MESSAGES, body);
    ok(b == a - 1 + SLUICE_ESTIMATE_TOOLS_ANTHROPIC + SLUICE_ESTIMATE_TOOL
            + (int64_t) (4 + t + 3) / 4,
       "messages: a tool costs its compact JSON, a wrapper and the "
       "tool-use prompt");

    snprintf(body, sizeof(body), "{\"tools\":[%s,%s],\"messages\":[{\"role\":"
             "\"user\",\"content\":\"abcd\"}]}", tool, tool);
    ok(est(MESSAGES, body) == a - 1 + SLUICE_ESTIMATE_TOOLS_ANTHROPIC
                              + 2 * SLUICE_ESTIMATE_TOOL
                              + (int64_t) (4 + 2 * t + 3) / 4,
       "messages: the tool-use prompt is counted once");

    tool = "{\"type\":\"function\",\"function\":{\"name\":\"run_shell\","
           "\"description\":\"Run a shell command and return its output\","
           "\"parameters\":{\"type\":\"object\",\"properties\":{\"command\":"
           "{\"type\":\"string\"}},\"required\":[\"command\"],"
           "\"additionalProperties\":false},\"strict\":true}}";
    t = strlen(tool);
    snprintf(body, sizeof(body), "{\"messages\":[{\"role\":\"user\","
             "\"content\":\"abcd\"}],\"tool_choice\":\"auto\",\"tools\":[%s]}",
             tool);
    ok(est(CHAT, body) == a - 1 + SLUICE_ESTIMATE_TOOLS_OPENAI
                          + SLUICE_ESTIMATE_TOOL + (int64_t) (4 + t + 3) / 4,
       "chat: a function tool costs its compact JSON and the wrappers");

    snprintf(body, sizeof(body), "{\"input\":\"abcd\",\"tools\":[{\"type\":"
             "\"function\",\"name\":\"f\",\"description\":\"%s\","
             "\"parameters\":{}}]}", "Does f.");
    ok(est(RESPONSES, body) > a + SLUICE_ESTIMATE_TOOLS_OPENAI
                              + SLUICE_ESTIMATE_TOOL,
       "responses: a function tool counts");

    ok(est(MESSAGES, "{\"tools\":[],\"messages\":[]}")
       == SLUICE_ESTIMATE_REQUEST, "an empty tool list costs nothing");

    a = est_fill(CHAT, "{\"messages\":[],\"response_format\":{\"type\":"
                 "\"json_schema\",\"json_schema\":{\"name\":\"n\",\"schema\":"
                 "{\"description\":\"%s\"}}}}", 'd', 4000);
    ok(a > SLUICE_ESTIMATE_REQUEST + 1000, "chat: an output schema counts");
}


static void
test_tool_calls(void)
{
    int64_t  base, a;

    base = est(CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":"
                     "\"abcd\"}]}");

    a = est_fill(CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":"
                 "\"abcd\"},{\"role\":\"assistant\",\"content\":null,"
                 "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
                 "\"function\":{\"name\":\"f\",\"arguments\":\"%s\"}}]}]}",
                 'a', 3999);
    ok(a == base + SLUICE_ESTIMATE_MESSAGE + 1000,
       "chat: tool call name and arguments count");

    a = est_fill(CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":"
                 "\"abcd\"},{\"role\":\"tool\",\"tool_call_id\":\"call_1\","
                 "\"content\":\"%s\"}]}", 'r', 4000);
    ok(a == base + SLUICE_ESTIMATE_MESSAGE + 1000,
       "chat: tool results count");

    a = est_fill(MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":"
                 "\"abcd\"},{\"role\":\"assistant\",\"content\":[{\"type\":"
                 "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"bash\","
                 "\"input\":{\"command\":\"%s\"}}]},{\"role\":\"user\","
                 "\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
                 "\"toolu_1\",\"content\":\"done\"}]}]}", 'c', 1);
    ok(a > base + 2 * SLUICE_ESTIMATE_MESSAGE,
       "messages: tool_use and tool_result count");

    a = est_fill(MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":"
                 "\"abcd\"},{\"role\":\"assistant\",\"content\":[{\"type\":"
                 "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"b\","
                 "\"input\":{\"command\":\"%s\"}}]}]}", 'c', 3985);
    ok(a == base + SLUICE_ESTIMATE_MESSAGE + 1000,
       "messages: tool_use input counts as compact JSON");

    a = est_fill(RESPONSES, "{\"input\":[{\"role\":\"user\",\"content\":"
                 "\"abcd\"},{\"type\":\"function_call\",\"id\":\"fc_1\","
                 "\"call_id\":\"call_1\",\"name\":\"f\",\"arguments\":\"%s\","
                 "\"status\":\"completed\"},{\"type\":\"function_call_output\","
                 "\"call_id\":\"call_1\",\"output\":\"0123\"}]}", 'a', 3995);
    ok(a == base + 2 * SLUICE_ESTIMATE_MESSAGE + 1000,
       "responses: function_call and its output count");
}


static void
test_dialects(void)
{
    int64_t  a;

    a = est(MESSAGES, "{\"system\":\"abcd\",\"messages\":[{\"role\":\"user\","
                      "\"content\":\"abcd\"}]}");
    ok(a == ONE_MSG(8) + SLUICE_ESTIMATE_MESSAGE,
       "messages: a system string is one more message");

    a = est(MESSAGES, "{\"system\":[{\"type\":\"text\",\"text\":\"abcd\","
                      "\"cache_control\":{\"type\":\"ephemeral\"}}],"
                      "\"messages\":[{\"role\":\"user\",\"content\":"
                      "\"abcd\"}]}");
    ok(a == ONE_MSG(8) + SLUICE_ESTIMATE_MESSAGE,
       "messages: system blocks count their text only");

    a = est(RESPONSES, "{\"instructions\":\"abcd\",\"input\":\"abcd\"}");
    ok(a == ONE_MSG(8) + SLUICE_ESTIMATE_MESSAGE,
       "responses: instructions are one more message");

    a = est(RESPONSES, "{\"input\":[{\"type\":\"message\",\"role\":"
                       "\"developer\",\"content\":[{\"type\":\"input_text\","
                       "\"text\":\"abcd\"}]},{\"role\":\"user\",\"content\":"
                       "\"abcd\"}]}");
    ok(a == ONE_MSG(8) + SLUICE_ESTIMATE_MESSAGE,
       "responses: developer messages count");

    a = est(CHAT, "{\"messages\":[{\"role\":\"developer\",\"content\":"
                  "\"abcd\"},{\"role\":\"system\",\"content\":\"abcd\"},"
                  "{\"role\":\"user\",\"name\":\"ab\",\"content\":\"ab\"}]}");
    ok(a == ONE_MSG(12) + 2 * SLUICE_ESTIMATE_MESSAGE,
       "chat: developer, system and named messages count");

    ok(est(CHAT, "{\"input\":\"abcdefgh\"}") == SLUICE_ESTIMATE_REQUEST
       && est(RESPONSES, "{\"messages\":[{\"content\":\"abcdefgh\"}],"
                         "\"system\":\"abcdefgh\"}")
          == SLUICE_ESTIMATE_REQUEST,
       "each dialect reads its own members only");

    ok(est(3, "{}") == -1 && est(-1, "{}") == -1, "unknown dialect: -1");
}


static void
test_not_text(void)
{
    int64_t  a, b;

    a = est(MESSAGES, "{\"messages\":[{\"role\":\"assistant\",\"content\":["
                      "{\"type\":\"thinking\",\"thinking\":\"abcd\","
                      "\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDYZKq"
                      "0123456789012345678901234567890123456789\"}]}]}");
    ok(a == ONE_MSG(4), "thinking text counts, its signature does not");

    a = est_fill(MESSAGES, "{\"messages\":[{\"role\":\"assistant\","
                 "\"content\":[{\"type\":\"redacted_thinking\",\"data\":"
                 "\"%s\"}]}]}", 'E', 10000);
    ok(a == SLUICE_ESTIMATE_REQUEST + SLUICE_ESTIMATE_MESSAGE,
       "redacted thinking data does not count");

    a = est(RESPONSES, "{\"input\":[{\"type\":\"reasoning\",\"id\":\"rs_1\","
                       "\"summary\":[],\"encrypted_content\":\"gAAAAABo"
                       "0123456789012345678901234567890123456789\"}]}");
    ok(a == SLUICE_ESTIMATE_REQUEST + SLUICE_ESTIMATE_MESSAGE,
       "encrypted reasoning does not count");

    a = est(MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":[{"
                      "\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01A0"
                      "9q90qw90lq917835lq9\",\"content\":\"abcd\"}]}]}");
    ok(a == ONE_MSG(4), "ids do not count");

    a = est(MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":"
                      "\"abcd\"}]}");
    b = est(MESSAGES, "{\"m\\u0065ssages\":[{\"r\\u006fle\":\"user\","
                      "\"\\u0063ontent\":\"abcd\"}]}");
    ok(a == b, "escaped keys are recognised (no way around admission)");

    b = est_fill(MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":["
                 "{\"type\":\"document\",\"source\":{\"t\\u0079pe\":"
                 "\"t\\u0065xt\",\"data\":\"%s\"}}]}]}", 'x', 4000);
    ok(b == ONE_MSG(4000) + SLUICE_ESTIMATE_DOCUMENT,
       "an escaped \"text\" type still makes data text");
}


static void
test_invalid(void)
{
    int          d, agree, all;
    size_t       k;
    const char  *bad[] = {
        "", " ", "[]", "\"x\"", "1", "null", "{", "}", "{\"a\"", "{\"a\":}",
        "{\"a\":1,}", "{\"a\":1}x", "{\"a\":1}{}", "{\"a\":01}",
        "{\"a\":-}", "{\"a\":1.}", "{\"a\":1e}", "{\"a\":tru}",
        "{\"a\":nul}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}",
        "{\"a\":\"\x01\"}", "{\"a\":\"\xc3\x28\"}", "{\"a\":\"\xc0\xaf\"}",
        "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
        "{'a':1}", "{\"a\" 1}", "{\"a\":[1 2]}", "{\"a\":[1,]}",
        "{\"a\":{\"b\"}}", "{1:2}", "{\"messages\":[{\"content\":\"x}]}",
        "{\"a\":\"\\u12\"}", "{\"a\":\"\\"
    };
    const char  *good[] = {
        " {} ", "{\"a\":-0.5e+3}", "{\"a\":[[],{}],\"b\":{\"c\":[{}]}}",
        "{\"a\":\"\\u00e9\\/\\b\\f\\n\\r\\t\\\"\\\\\"}",
        "{\"a\":\"\xf0\x9f\x98\x80\x7f\"}", "{\"a\":[true,false,null,0]}",
        "\t\r\n{\"\":\"\"}\n"
    };

    all = 1;
    agree = 1;

    for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        for (d = 0; d < 3; d++) {
            if (est(d, bad[k]) != -1) {
                printf("# accepted: %s\n", bad[k]);
                all = 0;
            }
        }
        agree &= !scan_ok(bad[k], strlen(bad[k]));
    }

    ok(all, "invalid JSON and non-objects give -1 in every dialect");
    ok(agree, "... and sluice_json_scan refuses them too");

    all = 1;
    agree = 1;

    for (k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
        for (d = 0; d < 3; d++) {
            all &= (est(d, good[k]) == SLUICE_ESTIMATE_REQUEST);
        }
        agree &= scan_ok(good[k], strlen(good[k]));
    }

    ok(all && agree, "odd but valid objects are accepted by both");

    ok(sluice_estimate_tokens(CHAT, "{\"a\":1}\0", 8) == -1,
       "a NUL after the object is trailing data");
    ok(sluice_estimate_tokens(CHAT, NULL, 0) == -1, "empty body: -1");
}


static void
test_depth(void)
{
    size_t  n, k;
    char   *s;
    int     as, bs;

    for (n = SLUICE_JSON_MAX_DEPTH; n <= SLUICE_JSON_MAX_DEPTH + 1; n++) {
        s = malloc(2 * n + 16);
        if (s == NULL) {
            exit(2);
        }

        strcpy(s, "{\"input\":");
        for (k = 0; k < n; k++) {
            strcat(s, "[");
        }
        for (k = 0; k < n; k++) {
            strcat(s, "]");
        }
        strcat(s, "}");

        as = sluice_estimate_tokens(RESPONSES, s, strlen(s)) >= 0;
        bs = scan_ok(s, strlen(s));
        ok(as == bs && as == (n == SLUICE_JSON_MAX_DEPTH),
           n == SLUICE_JSON_MAX_DEPTH ? "depth limit: 256 nested accepted"
                                      : "depth limit: 257 nested refused");
        free(s);
    }
}


static void
test_truncated(void)
{
    int          all, agree;
    size_t       k, len;
    int64_t      v;
    const char  *s;

    s = "{\"model\":\"m\",\"system\":[{\"type\":\"text\",\"text\":\"Be "
        "brief \\u00e9 \xe4\xb8\xad\"}],\"tools\":[{\"name\":\"b\","
        "\"input_schema\":{\"type\":\"object\",\"properties\":{}}}],"
        "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\","
        "\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\","
        "\"data\":\"iVBORw0KGgo=\"}},{\"type\":\"text\",\"text\":\"hi\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
        "\"id\":\"t\",\"name\":\"b\",\"input\":{\"n\":-1.5e3,\"ok\":true,"
        "\"z\":null}}]}],\"max_tokens\":1024}";
    len = strlen(s);

    all = 1;
    agree = 1;

    for (k = 0; k < len; k++) {
        v = sluice_estimate_tokens(MESSAGES, s, k);
        all &= (v == -1);
        agree &= !scan_ok(s, k);
    }

    v = sluice_estimate_tokens(MESSAGES, s, len);
    printf("# full body: %lld tokens\n", (long long) v);

    ok(all && agree && v > SLUICE_ESTIMATE_IMAGE
       + SLUICE_ESTIMATE_TOOLS_ANTHROPIC,
       "every truncation of a body is -1; the whole body is not");
}


/*
 * Valid JSON whose main members have types no provider takes: refused
 * (SLUICE_ESTIMATE_REFUSED), though sluice_json_scan accepts them; and
 * only once the whole body has been read: broken JSON is still -1.
 */
static void
test_types(void)
{
    int          all, scanned;
    size_t       k;
    const char  *s;

    static const struct {
        int          dialect;
        const char  *body;
    }  bad[] = {
        { MESSAGES, "{\"messages\":\"hi\"}" },
        { MESSAGES, "{\"messages\":{\"role\":\"user\",\"content\":\"hi\"}}" },
        { MESSAGES, "{\"messages\":null}" },
        { MESSAGES, "{\"messages\":5}" },
        { MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}" },
        { MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":{}}]}" },
        { MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":null}]}" },
        { MESSAGES, "{\"messages\":[{\"content\":true,\"role\":\"user\"}]}" },
        { MESSAGES, "{\"messages\":[{\"role\":\"user\","
                    "\"c\\u006fntent\":5}]}" },
        { MESSAGES, "{\"system\":5,\"messages\":[]}" },
        { MESSAGES, "{\"system\":{\"text\":\"x\"},\"messages\":[]}" },
        { MESSAGES, "{\"tools\":\"bash\",\"messages\":[]}" },
        { MESSAGES, "{\"tools\":null,\"messages\":[]}" },
        { MESSAGES, "{\"messages\":[],\"messages\":[]}" },
        { MESSAGES, "{\"messages\":[],\"m\\u0065ssages\":[]}" },
        { MESSAGES, "{\"system\":\"a\",\"messages\":[],\"system\":\"b\"}" },
        { CHAT, "{\"messages\":\"hi\"}" },
        { CHAT, "{\"messages\":null}" },
        { CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}" },
        { CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":false}]}" },
        { CHAT, "{\"messages\":[],\"tools\":{}}" },
        { CHAT, "{\"messages\":[],\"functions\":\"f\"}" },
        { CHAT, "{\"messages\":[],\"tools\":[],\"tools\":[]}" },
        { RESPONSES, "{\"input\":5}" },
        { RESPONSES, "{\"input\":{\"role\":\"user\",\"content\":\"hi\"}}" },
        { RESPONSES, "{\"input\":null}" },
        { RESPONSES, "{\"input\":[{\"role\":\"user\",\"content\":5}]}" },
        { RESPONSES, "{\"input\":\"a\",\"instructions\":5}" },
        { RESPONSES, "{\"input\":\"a\",\"instructions\":{}}" },
        { RESPONSES, "{\"input\":\"a\",\"tools\":\"bash\"}" },
        { RESPONSES, "{\"input\":\"a\",\"i\\u006eput\":5}" },
        { RESPONSES, "{\"input\":\"a\",\"input\":\"b\"}" }
    };

    all = 1;
    scanned = 1;

    for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        s = bad[k].body;

        if (est(bad[k].dialect, s) != SLUICE_ESTIMATE_REFUSED) {
            printf("# not refused (%d): %s\n", bad[k].dialect, s);
            all = 0;
        }

        scanned &= scan_ok(s, strlen(s));
    }

    ok(all, "main members of the wrong type, or twice: refused");
    ok(scanned, "... though they are valid JSON objects");

    ok(est(MESSAGES, "{\"messages\":\"hi\",") == -1
       && est(CHAT, "{\"messages\":5,\"a\":tru}") == -1
       && est(RESPONSES, "{\"input\":5}}") == -1,
       "broken JSON after a wrong type is still invalid JSON (-1)");
}


/* what stays accepted: each dialect's own types, nulls it allows */
static void
test_types_kept(void)
{
    int          all;
    size_t       k;
    const char  *s;

    static const struct {
        int          dialect;
        const char  *body;
    }  good[] = {
        { MESSAGES, "{\"system\":null,\"messages\":[]}" },
        { MESSAGES, "{\"system\":[],\"messages\":[{\"role\":\"user\","
                    "\"content\":[]}],\"tools\":[]}" },
        { MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":[{"
                    "\"type\":\"tool_result\",\"tool_use_id\":\"t\","
                    "\"content\":5}]}]}" },
        { MESSAGES, "{\"messages\":[\"hi\", 5]}" },
        { MESSAGES, "{\"model\":\"a\",\"zz\":1,\"zz\":2,\"messages\":[]}" },
        { MESSAGES, "{\"metadata\":5,\"thinking\":\"x\",\"messages\":[]}" },
        { CHAT, "{\"messages\":[{\"role\":\"assistant\",\"content\":null,"
                "\"tool_calls\":[]}],\"tools\":null,\"functions\":null}" },
        { CHAT, "{\"input\":5,\"system\":5}" },
        { RESPONSES, "{\"input\":[{\"type\":\"reasoning\",\"content\":null,"
                     "\"summary\":[]},{\"type\":\"function_call_output\","
                     "\"call_id\":\"c\",\"output\":\"x\"}],"
                     "\"instructions\":null,\"tools\":null}" },
        { RESPONSES, "{\"instructions\":[{\"role\":\"developer\","
                     "\"content\":\"x\"}],\"input\":[]}" },
        { RESPONSES, "{\"messages\":5}" }
    };

    all = 1;

    for (k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
        s = good[k].body;

        if (est(good[k].dialect, s) < SLUICE_ESTIMATE_REQUEST) {
            printf("# refused (%d): %s\n", good[k].dialect, s);
            all = 0;
        }
    }

    ok(all, "the types each dialect takes, and members not read, pass");
}


/* what the estimator says about a body it refuses, and when it is silent */
static void
test_types_why(void)
{
    char         name[128];
    size_t       k;
    int64_t      n;
    const char  *why;

    static const struct {
        int          dialect;
        const char  *body;
        const char  *why;
    }  cases[] = {
        { MESSAGES, "{\"messages\":\"hi\"}",
          "\"messages\" must be an array" },
        { MESSAGES, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}",
          "a message's \"content\" must be a string or an array" },
        { MESSAGES, "{\"system\":5,\"messages\":\"x\"}",
          "\"system\" must be a string or an array" },
        { MESSAGES, "{\"messages\":[],\"messages\":[]}",
          "duplicate key \"messages\"" },
        { CHAT, "{\"messages\":[{\"content\":{}}]}",
          "a message's \"content\" must be a string, an array or null" },
        { RESPONSES, "{\"input\":\"x\",\"instructions\":5}",
          "\"instructions\" must be a string or an array" },
        { RESPONSES, "{\"input\":\"x\",\"tools\":\"t\"}",
          "\"tools\" must be an array" },
        { CHAT, "{\"messages\":\"x\"", "not a valid JSON object" },
        { 7, "{}", "unknown dialect" }
    };

    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        why = NULL;
        n = sluice_estimate_tokens_why(cases[k].dialect, cases[k].body,
                                       strlen(cases[k].body), &why);
        snprintf(name, sizeof(name), "why: %s", cases[k].why);
        ok(n < 0 && why != NULL && strcmp(why, cases[k].why) == 0, name);
    }

    why = "x";
    n = sluice_estimate_tokens_why(MESSAGES, "{\"messages\":[]}", 15, &why);
    ok(n == SLUICE_ESTIMATE_REQUEST && why == NULL,
       "why: NULL for an estimate");
}


/* the dialect of a captured request path, or -1 */
static int
fixture_dialect(const char *path)
{
    if (strcmp(path, "/v1/chat/completions") == 0) {
        return CHAT;
    }

    if (strcmp(path, "/v1/responses") == 0) {
        return RESPONSES;
    }

    if (strcmp(path, "/v1/messages") == 0
        || strcmp(path, "/v1/messages/count_tokens") == 0)
    {
        return MESSAGES;
    }

    return -1;
}


/*
 * A crude independent measure of the prompt text: the bytes of every
 * string under the input members, but data: URLs and "data" blobs.
 */
static size_t
text_bytes(json_t *v, const char *key, int top)
{
    size_t       n, k;
    json_t      *m;
    const char  *s, *name;

    static const char  *input[] = { "messages", "system", "input",
                                    "instructions", "tools", NULL };

    if (json_is_string(v)) {
        s = json_string_value(v);
        if (strncmp(s, "data:", 5) == 0 || strcmp(key, "data") == 0) {
            return 0;
        }
        return json_string_length(v);
    }

    n = 0;

    if (json_is_array(v)) {
        json_array_foreach(v, k, m) {
            n += text_bytes(m, key, 0);
        }
        return n;
    }

    json_object_foreach(v, name, m) {
        for (k = 0; top && input[k] != NULL; k++) {
            if (strcmp(name, input[k]) == 0) {
                break;
            }
        }

        if (!top || input[k] != NULL) {
            n += text_bytes(m, name, 0);
        }
    }

    return n;
}


/* the (fake) input tokens the mock provider reported, or -1 */
static long
mock_input_tokens(json_t *mock)
{
    const char  *raw, *p;

    raw = json_string_value(json_object_get(mock, "raw"));
    if (raw == NULL) {
        return -1;
    }

    p = strstr(raw, "\"input_tokens\":");
    if (p == NULL) {
        p = strstr(raw, "\"prompt_tokens\":");
    }

    if (p == NULL || (p = strchr(p, ':')) == NULL) {
        return -1;
    }

    p++;
    p += strspn(p, " ");

    return (*p >= '0' && *p <= '9') ? strtol(p, NULL, 10) : -1;
}


static void
fixture_one(fixtures_t *fx, const char *name, size_t k, json_t *req)
{
    int          d;
    char        *body;
    long         mock;
    size_t       len, text;
    int64_t      v, lo, hi;
    json_t      *b;
    const char  *path;

    path = json_string_value(json_object_get(req, "path"));
    b = json_object_get(req, "body");

    if (path == NULL || !json_is_object(b)
        || (d = fixture_dialect(path)) < 0)
    {
        return;
    }

    body = json_dumps(b, JSON_COMPACT);
    if (body == NULL) {
        return;
    }

    len = strlen(body);
    v = sluice_estimate_tokens(d, body, len);
    text = text_bytes(b, "", 1);

    /* text at 2 to 8 bytes a token, plus room for media and overheads */
    lo = (int64_t) (text / 8);
    hi = (int64_t) (text / 2) + 4 * SLUICE_ESTIMATE_IMAGE;

    mock = mock_input_tokens(json_object_get(req, "mock_response"));

    printf("# %s #%zu: %lld tokens for %zu bytes (text %zu, /4 = %zu)",
           name, k + 1, (long long) v, len, text, (text + 3) / 4);
    if (mock >= 0) {
        printf(", mock reported %ld", mock);
    }
    printf("\n");

    fx->checked++;

    if (v <= 0 || v < lo || v > hi) {
        printf("# out of range [%lld, %lld]\n", (long long) lo,
               (long long) hi);
        fx->bad++;
    }

    if (len > fx->largest_len) {
        free(fx->largest);
        fx->largest = body;
        fx->largest_len = len;
        fx->largest_dialect = d;
        return;
    }

    free(body);
}


static void
time_one(int dialect, const char *body, size_t len)
{
    int              k, n;
    double           us;
    int64_t          v;
    struct timespec  t0, t1;

    n = 200;
    v = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (k = 0; k < n; k++) {
        v += sluice_estimate_tokens(dialect, body, len);
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);

    us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec))
         / 1e3 / n;

    printf("# largest body, %zu bytes: %.1f us an estimate (%.0f MB/s, "
           "%lld tokens)\n", len, us, len / us, (long long) (v / n));
}


static void
test_fixtures(const char *dir)
{
    char            path[1024];
    size_t          k, reqs;
    DIR            *d;
    json_t         *file, *list;
    fixtures_t      fx;
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        ok(1, "# SKIP no fixtures directory");
        return;
    }

    memset(&fx, 0, sizeof(fixtures_t));

    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".json") == NULL) {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        file = json_load_file(path, 0, NULL);
        if (file == NULL) {
            continue;
        }

        list = json_object_get(file, "requests");
        reqs = json_array_size(list);

        for (k = 0; k < reqs; k++) {
            fixture_one(&fx, de->d_name, k, json_array_get(list, k));
        }

        json_decref(file);
    }

    closedir(d);

    printf("# %d captured request bodies\n", fx.checked);
    ok(fx.checked > 0 && fx.bad == 0,
       "captured bodies: positive, within text/8 .. text/2 + media");

    if (fx.largest != NULL) {
        time_one(fx.largest_dialect, fx.largest, fx.largest_len);
        free(fx.largest);
    }
}


int
main(int argc, char **argv)
{
    test_exact();
    test_scaling();
    test_output_side();
    test_images();
    test_documents();
    test_tools();
    test_tool_calls();
    test_dialects();
    test_not_text();
    test_invalid();
    test_depth();
    test_truncated();
    test_types();
    test_types_kept();
    test_types_why();
    test_fixtures(argc > 1 ? argv[1] : "../shared/clients/fixtures");

    return tap_done();
}
