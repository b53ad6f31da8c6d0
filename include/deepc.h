/* deepc.h - the public interface of libdeepc.
 *
 * Load a GGUF model, create a context (KV cache + scratch for a batch), feed
 * it batches of tokens, read the logits. A batch may mix tokens of several
 * sequences: each token carries its own position and sequence id, and each
 * sequence has its own slot of the KV cache, so a server can advance every
 * active conversation in one forward call.
 *
 * Memory: a deepc_model owns the mapping of the file; a deepc_context owns its
 * KV cache and scratch and must be freed before its model. Pointers returned
 * by deepc_get_logits stay valid until the next deepc_decode on that context.
 *
 * Errors: functions that can fail take `char err[DEEPC_ERR_LEN]`, return
 * NULL / nonzero on failure and write one line (no newline) into err. The
 * library never prints and never exits.
 *
 * Threads: one context must be used by one thread at a time; its forward
 * pass uses n_threads worker threads internally. Results do not depend on
 * n_threads.
 */
#ifndef DEEPC_H
#define DEEPC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DEEPC_ERR_LEN 512

typedef struct deepc_model deepc_model;
typedef struct deepc_context deepc_context;

/* Opens and validates a GGUF model. NULL + message on failure. */
deepc_model *deepc_model_load(const char *path, char err[DEEPC_ERR_LEN]);
void deepc_model_free(deepc_model *model);

int32_t deepc_model_n_vocab(const deepc_model *model);
int32_t deepc_model_n_ctx_train(const deepc_model *model);
/* End-of-sequence token id (tokenizer.ggml.eos_token_id), or -1. */
int32_t deepc_model_token_eos(const deepc_model *model);
/* Floats the KV cache holds per token of context, over all layers: for
 * grouped-query attention n_layer * n_head_kv * (head_dim + head_dim_v), for
 * DeepSeek's latent attention n_layer * (kv_lora_rank + rope_dim). The cache
 * stores F32, so bytes = 4 x this. */
int64_t deepc_model_kv_floats_per_token(const deepc_model *model);
/* Size of the model file in bytes. */
int64_t deepc_model_file_bytes(const deepc_model *model);
/* "llama", "qwen2", ... */
const char *deepc_model_arch(const deepc_model *model);

/* How the KV cache stores keys and values. */
typedef enum {
    DEEPC_KV_F16 = 0, /* half precision, attention as llama.cpp's flash attention computes it (default) */
    DEEPC_KV_F32 = 1, /* single precision, plain softmax: the exact configuration */
} deepc_kv_type;

typedef struct {
    int32_t n_ctx;       /* positions per sequence (0: min(model's training context, 4096)) */
    int32_t n_seq_max;   /* sequences (KV-cache slots), >= 1 */
    int32_t n_batch;     /* most tokens per deepc_decode call */
    int32_t n_threads;   /* worker threads (0: all cores) */
    deepc_kv_type kv_type;
} deepc_context_params;

deepc_context_params deepc_context_default_params(void);
deepc_context *deepc_context_create(deepc_model *model, const deepc_context_params *params,
                                    char err[DEEPC_ERR_LEN]);
void deepc_context_free(deepc_context *ctx);

/* One forward step over n_tokens tokens. For token i: tokens[i] is the id,
 * pos[i] its position in sequence seq[i] (0 <= seq < n_seq_max), and
 * logits[i] != 0 asks for its output logits. Within a sequence the positions
 * of a batch must continue the sequence: the first is the sequence's current
 * length and they increase by one (a sequence's cache holds positions
 * 0..len-1). pos may be NULL: positions then continue each sequence; logits
 * may be NULL: only the last token's logits are computed. Returns 0, or -1 and
 * a message; on error the KV cache and the sequences are unchanged (the
 * previous batch's logits are no longer available). */
typedef struct {
    int32_t n_tokens;
    const int32_t *tokens;
    const int32_t *pos;
    const int32_t *seq;
    const int8_t *logits;
} deepc_batch;

int deepc_decode(deepc_context *ctx, const deepc_batch *batch, char err[DEEPC_ERR_LEN]);

/* Logits of token i of the last batch (n_vocab floats), or NULL if they were
 * not requested. */
const float *deepc_get_logits(const deepc_context *ctx, int32_t i);

/* Bytes allocated for the context's KV cache (all layers, sequences and
 * positions). */
int64_t deepc_context_kv_bytes(const deepc_context *ctx);

/* Positions per sequence. */
int32_t deepc_context_n_ctx(const deepc_context *ctx);
/* Number of positions held for a sequence. */
int32_t deepc_seq_len(const deepc_context *ctx, int32_t seq);
/* Drops a sequence's positions from n on (0: clears it); the next batch for
 * the sequence continues at position min(n, its length). */
void deepc_seq_truncate(deepc_context *ctx, int32_t seq, int32_t n);

#ifdef __cplusplus
}
#endif
#endif
