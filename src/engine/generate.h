/* generate.h - the generation loop shared by `deepc run`, `deepc chat` and
 * (later) the server: feed a prompt to one sequence of a context, then
 * sample token after token until an end-of-generation token, a token limit,
 * a full context, or a stop request.
 *
 * Prefix reuse: the sequence's cache keeps the tokens of earlier calls
 * (dc_gen_session remembers them). A new prompt that starts with the same
 * tokens only evaluates the part after the common prefix, so a multi-turn
 * chat re-rendered from scratch each turn costs only its new tokens.
 *
 * Memory: a dc_gen_session owns a growing copy of the sequence's tokens
 * (grown only when the cache grows) and the batch's sequence ids (allocated
 * once); free it with dc_gen_session_free. The context, tokenizer and sampler are
 * the caller's and must outlive the session's use.
 */
#ifndef DC_GENERATE_H
#define DC_GENERATE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../base/err.h"
#include "../tokenizer/tokenizer.h"
#include "deepc.h"
#include "sampler.h"

typedef struct {
    deepc_context *ctx;
    int32_t seq;
    int32_t n_batch;      /* prompt chunk size (<= the context's n_batch) */
    int32_t *tokens;      /* what the sequence's cache holds, in order */
    int32_t n_tokens, cap;
    int32_t last_batch;   /* size of the last decoded batch: its last token has the logits */
    int32_t *seq_ids;     /* [n_batch] copies of seq, the batch's sequence ids */
} dc_gen_session;

typedef struct {
    int32_t max_tokens;   /* < 0: no limit but the context */
    bool ignore_eos;      /* do not stop at end-of-generation tokens */
    volatile sig_atomic_t *stop; /* optional: generation stops when *stop becomes nonzero */
} dc_gen_params;

typedef struct {
    int32_t n_prompt_eval;  /* prompt tokens evaluated (after prefix reuse) */
    int32_t n_generated;
    double prompt_seconds, gen_seconds;
    bool hit_eog, hit_limit, context_full, stopped;
} dc_gen_stats;

/* Called with each generated token; return false to stop. Before the next
 * token is sampled, a callback may also ask to force tokens into the output
 * (the reasoning budget does): see force in dc_generate. */
typedef bool (*dc_gen_on_token)(void *user, int32_t token);
/* Called before each sample; may write up to max tokens to inject instead of
 * sampling (returns how many, 0 = sample normally). */
typedef int (*dc_gen_force)(void *user, int32_t *tokens, int max);

/* false when out of memory (s is then safe to free). */
bool dc_gen_session_init(dc_gen_session *s, deepc_context *ctx, int32_t seq, int32_t n_batch);
void dc_gen_session_free(dc_gen_session *s);
/* Forgets the cached tokens (clears the sequence). */
void dc_gen_session_reset(dc_gen_session *s);

/* Makes the sequence hold exactly prompt[0..n) (reusing the common prefix),
 * leaving the logits of its last token ready. 0, or -1 + message (prompt
 * longer than the context, decode failure). */
int dc_gen_prompt(dc_gen_session *s, const int32_t *prompt, int32_t n, dc_gen_stats *st, char err[DC_ERR_LEN]);

/* After dc_gen_prompt: samples and appends tokens as described above. tok may
 * be NULL (then only max_tokens / the context stop it). 0, or -1 + message. */
int dc_generate(dc_gen_session *s, dc_sampler *smp, const dc_tokenizer *tok, const dc_gen_params *p,
                dc_gen_on_token on_token, dc_gen_force force, void *user, dc_gen_stats *st, char err[DC_ERR_LEN]);

#endif
