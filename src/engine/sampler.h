/* sampler.h - choosing the next token from one row of logits.
 *
 * A dc_sampler applies a fixed chain to the n_vocab logits of one position,
 * in llama.cpp's default order:
 *
 *   penalties -> top-k -> top-p -> min-p -> temperature -> draw from softmax
 *
 *   penalties    over the tokens accepted in the last penalty_last_n steps
 *                (dc_sampler_accept): with c = occurrences of a token there,
 *                if c > 0: logit = logit > 0 ? logit / repeat_penalty
 *                                            : logit * repeat_penalty   (llama.cpp)
 *                          logit -= presence_penalty + c * frequency_penalty (OpenAI)
 *   top-k        keeps the top_k largest logits (top_k <= 0: all).
 *   top-p        softmax (temperature 1) over what is left, sorted by
 *                probability; keeps the shortest prefix whose cumulative
 *                probability reaches top_p (1: off).
 *   min-p        keeps tokens with p >= min_p * p_max (0: off).
 *   temperature  divides the logits by temp, then one token is drawn from
 *                their softmax with the sampler's own PRNG.
 *
 * temp == 0 is greedy decoding: the argmax of the penalised logits (the
 * lowest id on ties), no randomness. Every ordering ties on equal logits by
 * the lower token id, so results never depend on sort stability. Logits must
 * be finite or -inf; a row that is all -inf yields its lowest id.
 *
 * Reproducibility: the PRNG (xoshiro256**) is per sampler and seeded from
 * params.seed, so the same seed, logits and accepted tokens give the same
 * tokens. There is no global state; samplers may live on different threads.
 *
 * Memory: dc_sampler_create allocates everything (candidate scratch and
 * per-token counts sized n_vocab, the penalty ring sized penalty_last_n);
 * sampling and accepting never allocate. The sampler does not keep the
 * logits pointer; dc_sampler_free releases all of it.
 */
#ifndef DC_SAMPLER_H
#define DC_SAMPLER_H

#include <stdint.h>

#include "../base/err.h"
#include "../gguf/gguf.h"
#include "deepc.h"

/* The parameters are the public deepc_sampling (include/deepc.h), field for
 * field. */
typedef deepc_sampling dc_sampler_params;

#define DC_SAMPLER_DEFAULT_SEED 0x5eedull

/* temp 0.8, top_k 40, top_p 0.95, min_p 0.05, repeat_penalty 1 (off),
 * penalty_last_n 64, presence/frequency 0, seed DC_SAMPLER_DEFAULT_SEED. */
dc_sampler_params dc_sampler_default_params(void);

/* Overrides fields of *p with the model's recommended values where f has
 * them: general.sampling.{temp, top_k, top_p, min_p, penalty_repeat,
 * penalty_last_n}. Absent keys leave the field as it is. Returns 0, or -1 and
 * a message when a key has the wrong type or an out-of-range value (*p may
 * then be partly updated). Values are not validated here; dc_sampler_create
 * does that. */
int dc_sampler_params_from_gguf(dc_sampler_params *p, const dc_gguf_file *f, char err[DC_ERR_LEN]);

/* 0 when p is usable, else -1 and a one-line message naming the field. */
int dc_sampler_params_check(const dc_sampler_params *p, char err[DC_ERR_LEN]);

typedef struct dc_sampler dc_sampler;

/* Copies *p. NULL + message on invalid params, n_vocab < 1 or out of memory. */
dc_sampler *dc_sampler_create(const dc_sampler_params *p, int32_t n_vocab, char err[DC_ERR_LEN]);
void dc_sampler_free(dc_sampler *s);

/* Picks a token id in [0, n_vocab) from logits (n_vocab floats, read only).
 * Does not record it: call dc_sampler_accept with the token actually used. */
int32_t dc_sampler_sample(dc_sampler *s, const float *logits);

/* Records a token of the sequence for the penalties (sampled, or prompt
 * tokens the caller wants penalised). Ids outside [0, n_vocab) are ignored. */
void dc_sampler_accept(dc_sampler *s, int32_t token);

/* Forgets the accepted tokens and reseeds the PRNG from params.seed: the
 * sampler behaves as if just created. */
void dc_sampler_reset(dc_sampler *s);

#endif
