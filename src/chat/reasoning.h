/* reasoning.h - splitting a thinking model's streamed output into
 * "reasoning" and "content".
 *
 * DeepSeek-R1, the R1-Distill models, QwQ and Qwen3 think inside
 * `<think>` ... `</think>` before answering. A dc_reasoning takes the decoded
 * text of the output piece by piece (usually one token each), in order, and
 * passes every byte on through a callback as reasoning or content, the way
 * llama.cpp's chat parser splits a whole message (common/chat-parser.cpp,
 * try_parse_reasoning, reasoning format "deepseek"):
 *
 *  - Output that starts (after optional whitespace) with `<think>` opens the
 *    reasoning; the whitespace before it is content. Otherwise, unless the
 *    prompt opened the block, all output is content: text without tags, and
 *    Qwen3 with enable_thinking=false (its prompt ends with an empty
 *    `<think>\n\n</think>\n\n`).
 *  - starts_in_reasoning (the prompt ended with `<think>`, as R1-Distill's and
 *    QwQ's generation prompts do; see dc_reasoning_prompt_opens): the output
 *    is reasoning from its first byte, closed by `</think>`. A `<think>` the
 *    model repeats at the very start is swallowed; whitespace before it is
 *    dropped (llama.cpp would keep it as content).
 *  - The reasoning is trimmed: whitespace after the opening tag and before
 *    `</think>` (or before the end of output) is dropped. Whitespace after
 *    `</think>` is dropped; the content starts at the next other byte.
 *  - Only the first `</think>` closes; after it everything is content. Tags
 *    are never content: a `<think>` or `</think>` the model writes after it
 *    stopped thinking (or a `</think>` before any other output) is dropped
 *    and the text around it stays content (llama.cpp would keep them, or
 *    re-open on a `<think>` directly after `</think>`).
 *  - Tags may arrive split across pieces ("</th" + "ink>"): bytes that could
 *    still be the start of a tag are held back and never emitted as partial
 *    tag text. When they turn out not to be a tag (`<thinking>`, or `<thin`
 *    at the end of output) they are emitted as ordinary text; at
 *    dc_reasoning_finish a held prefix of `</think>` is emitted as reasoning
 *    (llama.cpp drops it).
 * The result does not depend on how the text is cut into pieces.
 *
 * Whitespace inside the reasoning is held until the next other byte shows it
 * is not trailing. At most DC_REASONING_WS_HOLD bytes are held: a longer run
 * is passed on as reasoning even if `</think>` follows it.
 *
 * Reasoning budget: dc_reasoning_set_budget(r, n) limits the reasoning to n
 * pieces (each dc_reasoning_feed call counts as one token when the splitter
 * is inside the reasoning after it). Before sampling each token the caller
 * asks dc_reasoning_over_budget(); when it says true, the caller does not
 * sample but injects DC_REASONING_CLOSE_TEXT instead: it tokenizes that text,
 * decodes those tokens as if the model had produced them (so the model sees
 * its thinking closed) and feeds the same text to dc_reasoning_feed, which
 * closes the reasoning. Generation then continues with the answer.
 *
 * Memory: dc_reasoning is a plain caller-owned struct with fixed-size
 * buffers; nothing is allocated, so there is nothing to free. The callback
 * receives pointers valid only during the call. Text is handed over in
 * runs; consecutive calls may carry the same kind.
 */
#ifndef DC_REASONING_H
#define DC_REASONING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the caller injects when the budget is spent. */
#define DC_REASONING_CLOSE_TEXT "\n</think>\n\n"

#define DC_REASONING_WS_HOLD 128
#define DC_REASONING_OUT_CAP 256

typedef enum { DC_TEXT_CONTENT = 0, DC_TEXT_REASONING = 1 } dc_text_kind;

typedef void (*dc_reasoning_emit)(void *user, dc_text_kind kind, const char *text, size_t len);

/* All fields are private to reasoning.c. */
typedef struct {
    int state;
    bool block_empty;  /* nothing emitted yet in the current reasoning */
    bool may_open;     /* a leading `<think>` may still be swallowed */
    size_t ws_len, tag_len, out_len;
    char ws[DC_REASONING_WS_HOLD]; /* held whitespace inside the reasoning */
    char tag[16];                  /* held bytes that may start a tag */
    char out[DC_REASONING_OUT_CAP];/* text waiting to be passed on */
    dc_text_kind out_kind;
    int64_t budget;    /* -1: none */
    int64_t n_reasoning;
    dc_reasoning_emit emit;
    void *user;
} dc_reasoning;

/* Starts a splitter for one output. emit(user, kind, text, len) receives the
 * text; starts_in_reasoning: the prompt already opened `<think>`. */
void dc_reasoning_init(dc_reasoning *r, bool starts_in_reasoning, dc_reasoning_emit emit, void *user);

/* Consumes the next piece of output (any bytes, may be empty). */
void dc_reasoning_feed(dc_reasoning *r, const char *piece, size_t len);

/* End of output: passes on what was held back (see above). The splitter must
 * be re-initialised before another output. */
void dc_reasoning_finish(dc_reasoning *r);

/* true while the output is inside the reasoning. */
bool dc_reasoning_active(const dc_reasoning *r);

/* Reasoning budget in tokens (pieces); -1 (the default) means none. */
void dc_reasoning_set_budget(dc_reasoning *r, int64_t max_tokens);
/* true when the reasoning is still open and has used its budget: inject
 * DC_REASONING_CLOSE_TEXT instead of sampling. */
bool dc_reasoning_over_budget(const dc_reasoning *r);

/* Whether a rendered prompt leaves a `<think>` open: its last text other
 * than whitespace is `<think>`. Use as starts_in_reasoning. */
bool dc_reasoning_prompt_opens(const char *prompt, size_t len);

#endif
