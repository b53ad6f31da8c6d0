/* deepc.h - the public interface of libdeepc; the deepc command and its
 * server are built on it alone.
 *
 * What it offers, top to bottom:
 *   - models and contexts: load a GGUF model, create a context (KV cache +
 *     scratch), feed it batches of tokens, read the logits. A batch may mix
 *     tokens of several sequences, each with its own KV slot;
 *   - the version, model metadata, `deepc info`'s file summary;
 *   - sampling: the sampler chain and the model's recommended settings;
 *   - the tokenizer (encode, decode, streaming decode, end-of-generation set);
 *   - chat templates (the model's own Jinja template, rendered as
 *     transformers does, with kwargs such as enable_thinking);
 *   - the engine: generation requests and the scheduler that runs many of
 *     them at once with continuous batching and a prefix cache, delivering
 *     text as events.
 *
 * Memory: a deepc_model owns the mapping of the file and must outlive
 * everything made from it; each object is freed by its own _free function;
 * strings and arrays returned through `char **out` / `int32_t **ids` are
 * malloc'ed and the caller's. Pointers inside events are valid only during
 * the callback.
 *
 * Errors: functions that can fail take `char err[DEEPC_ERR_LEN]`, return
 * NULL / nonzero / 0 ids on failure as each says, and write one line (no
 * newline) into err. The library never prints and never exits.
 *
 * Threads: a context is used by one thread at a time (its forward pass uses
 * n_threads workers internally; results do not depend on n_threads). Models,
 * tokenizers and templates are immutable after loading and may be shared.
 * The engine's thread rules are in its section below.
 */
#ifndef DEEPC_H
#define DEEPC_H

#include <stdbool.h>
#include <stddef.h>
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

/* Copies positions 0..n-1 of sequence src into sequence dst (which then
 * holds exactly those n positions). n <= src's length; src != dst. Used to
 * share a cached prompt prefix between sequences. */
void deepc_seq_copy(deepc_context *ctx, int32_t src, int32_t dst, int32_t n);

/* ---- version ---------------------------------------------------------- */

#define DEEPC_VERSION "0.2.0"
/* The library's version string (DEEPC_VERSION of the build). */
const char *deepc_version(void);

/* Logical CPUs of this machine (the default thread count). */
int deepc_n_cpus(void);
/* Weight bytes read by matrix multiplications so far, in this process: a
 * benchmark's measure of memory traffic per token. */
int64_t deepc_weight_bytes_read(void);

/* Decodes one JSON string literal starting at s[0] (a '"') within s[0, n)
 * into malloc'ed bytes (NUL-terminated, *len excludes it; unlike cJSON,
 * "\u0000" survives) and sets *end just past the closing quote. Strict RFC
 * 8259. NULL + message on a malformed literal. */
char *deepc_json_string_decode(const char *s, size_t n, size_t *len, size_t *end, char err[DEEPC_ERR_LEN]);

/* ---- model metadata ---------------------------------------------------- */

/* Hyperparameters of a loaded model, as the forward pass uses them. */
typedef struct {
    const char *arch;        /* "llama", "qwen2", ... */
    char name[128];          /* general.name (escaped, truncated), or "" */
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
    int32_t n_expert, n_expert_used;
    int32_t n_ctx_train;
    int64_t n_params;        /* elements of all tensors */
    int64_t file_bytes;
} deepc_model_desc;

void deepc_model_describe(const deepc_model *model, deepc_model_desc *out);

/* `deepc info`: a readable summary of a GGUF file (metadata, hyperparameters,
 * tokenizer, tensors by type, whether deepc can run it, KV bytes per token),
 * as malloc'ed text; every string from the file escaped. NULL + message when
 * the file is not valid GGUF. */
char *deepc_file_describe(const char *path, char err[DEEPC_ERR_LEN]);

/* ---- sampling ---------------------------------------------------------- */

/* The sampler chain, in llama.cpp's order: penalties -> top-k -> top-p ->
 * min-p -> temperature -> draw (temp 0: greedy argmax, lowest id on ties). */
typedef struct {
    float temp;              /* >= 0; 0 = greedy */
    int32_t top_k;           /* <= 0: off */
    float top_p;             /* (0, 1]; 1 = off */
    float min_p;             /* [0, 1]; 0 = off */
    float repeat_penalty;    /* > 0; 1 = off (llama.cpp's) */
    int32_t penalty_last_n;  /* tokens looked back: 0 = no penalties, -1 = all */
    float presence_penalty;  /* OpenAI's, 0 = off */
    float frequency_penalty; /* OpenAI's, 0 = off */
    uint64_t seed;
} deepc_sampling;

/* Library defaults overridden by the model file's recommended values
 * (general.sampling.*). 0, or -1 + message for a malformed key. */
int deepc_model_default_sampling(const deepc_model *model, deepc_sampling *out, char err[DEEPC_ERR_LEN]);
/* 0 when s is usable, else -1 and a one-line message naming the field. */
int deepc_sampling_check(const deepc_sampling *s, char err[DEEPC_ERR_LEN]);

typedef struct deepc_sampler deepc_sampler;
deepc_sampler *deepc_sampler_create(const deepc_sampling *s, int32_t n_vocab, char err[DEEPC_ERR_LEN]);
void deepc_sampler_free(deepc_sampler *smp);
/* Picks a token from n_vocab logits; does not record it. */
int32_t deepc_sampler_sample(deepc_sampler *smp, const float *logits);
/* Records a token of the sequence for the penalties. */
void deepc_sampler_accept(deepc_sampler *smp, int32_t token);

/* ---- tokenizer --------------------------------------------------------- */

/* A byte-level BPE tokenizer identical to Hugging Face tokenizers. Immutable
 * once loaded: any number of threads may use one at once. */
typedef struct deepc_tokenizer deepc_tokenizer;

/* From a GGUF file, a tokenizer.json, or a folder holding one. */
deepc_tokenizer *deepc_tokenizer_load(const char *path, char err[DEEPC_ERR_LEN]);
/* The tokenizer of a loaded model (tokenizer.ggml.*). */
deepc_tokenizer *deepc_tokenizer_from_model(const deepc_model *model, char err[DEEPC_ERR_LEN]);
void deepc_tokenizer_free(deepc_tokenizer *tok);

enum {
    DEEPC_TOKENIZE_ADD_SPECIAL = 1,   /* add BOS / EOS as the tokenizer is configured */
    DEEPC_TOKENIZE_PARSE_SPECIAL = 2, /* special tokens in the text are matched (chat prompts) */
};
/* Encodes text[0, len) (any bytes). Returns the number of ids and a
 * malloc'ed *ids (caller frees), or -1 + message (out of memory). */
int64_t deepc_tokenize(const deepc_tokenizer *tok, const char *text, size_t len, unsigned flags, int32_t **ids,
                       char err[DEEPC_ERR_LEN]);
/* Decodes ids to a malloc'ed, NUL-terminated, valid UTF-8 string (invalid
 * byte sequences become U+FFFD). special: include special tokens' text.
 * NULL + message for an id out of range. */
char *deepc_detokenize(const deepc_tokenizer *tok, const int32_t *ids, size_t n, bool special, size_t *len,
                       char err[DEEPC_ERR_LEN]);
/* The raw bytes of one token (not NUL-terminated, may be partial UTF-8), or
 * NULL for an id out of range. Valid while the tokenizer lives. */
const char *deepc_token_bytes(const deepc_tokenizer *tok, int32_t id, size_t *len);
int32_t deepc_tokenizer_n_vocab(const deepc_tokenizer *tok);
int32_t deepc_token_bos(const deepc_tokenizer *tok); /* -1: none */
int32_t deepc_token_eos(const deepc_tokenizer *tok); /* -1: none */
/* End-of-generation tokens (EOS, EOT, <|im_end|>, ...). */
bool deepc_token_is_eog(const deepc_tokenizer *tok, int32_t id);
size_t deepc_token_eog_ids(const deepc_tokenizer *tok, const int32_t **ids);

/* Streaming detokenizer: feed ids one by one, get bytes that are always
 * whole UTF-8 characters (a partial character waits for the next piece;
 * flush turns a leftover into U+FFFD). */
typedef struct deepc_detokenizer deepc_detokenizer;
deepc_detokenizer *deepc_detokenizer_create(const deepc_tokenizer *tok, bool special);
/* Bytes valid until the next call; false + message for an id out of range. */
bool deepc_detokenizer_feed(deepc_detokenizer *d, int32_t id, const char **bytes, size_t *len,
                            char err[DEEPC_ERR_LEN]);
const char *deepc_detokenizer_flush(deepc_detokenizer *d, size_t *len);
void deepc_detokenizer_free(deepc_detokenizer *d);

/* ---- chat templates ---------------------------------------------------- */

/* A chat template (a Jinja subset, rendered exactly as transformers does).
 * Immutable once loaded; may be rendered from several threads. */
typedef struct deepc_chat_template deepc_chat_template;

/* The model's own template (tokenizer.chat_template) or, when the file has
 * none, the built-in one of its tokenizer family. */
deepc_chat_template *deepc_chat_template_from_model(const deepc_model *model, const deepc_tokenizer *tok,
                                                    char err[DEEPC_ERR_LEN]);
/* A template from source text; bos/eos token texts may be NULL. */
deepc_chat_template *deepc_chat_template_parse(const char *src, size_t len, const char *bos_token,
                                               const char *eos_token, char err[DEEPC_ERR_LEN]);
void deepc_chat_template_free(deepc_chat_template *t);
/* "model" or the built-in template's name ("chatml", "deepseek", "llama3"). */
const char *deepc_chat_template_source(const deepc_chat_template *t);

/* Renders messages_json (a JSON array of {role, content, ...}) with
 * add_generation_prompt, the template's bos/eos texts, tools_json (JSON
 * array or NULL) and kwargs_json (a JSON object whose members become extra
 * template variables, e.g. {"enable_thinking": false}; or NULL). Returns 0
 * and a malloc'ed NUL-terminated *out, or -1 + message. */
int deepc_chat_render(const deepc_chat_template *t, const char *messages_json, bool add_generation_prompt,
                      const char *tools_json, const char *kwargs_json, char **out, size_t *out_len,
                      char err[DEEPC_ERR_LEN]);
/* `deepc template`: renders the template named by spec - a .jinja file, a
 * GGUF model (tokenizer.chat_template), a tokenizer_config.json, or a
 * built-in name - with the variables of vars_json (NUL-terminated text of
 * vars_len bytes holding one JSON object; numbers
 * keep Python's int/float distinction; tools and documents default to None;
 * bos_token / eos_token come from the file when absent), exactly as
 * transformers' apply_chat_template does. 0 + malloc'ed *out, or -1 + message. */
int deepc_template_render_file(const char *spec, const char *vars_json, size_t vars_len, char **out, size_t *out_len,
                               char err[DEEPC_ERR_LEN]);
/* NULL-terminated names of the built-in templates. */
const char *const *deepc_template_builtin_names(void);

/* Whether a rendered prompt leaves a <think> block open (its last text
 * other than whitespace is "<think>"): the output then starts in reasoning. */
bool deepc_prompt_opens_reasoning(const char *prompt, size_t len);

/* ---- the engine: requests and the scheduler ---------------------------- */

/* An engine serves many generation requests on one model at once. It owns a
 * context with n_slots KV-cache sequences; one thread (the engine thread:
 * whoever calls deepc_engine_step / deepc_engine_run) owns the model, the
 * cache and the batch. Each step runs one deepc_decode that advances every
 * active request: a decoding request contributes its next token, and
 * requests still reading their prompt contribute chunks of it that share the
 * rest of the batch, so running streams keep flowing while a long prompt is
 * read.
 *
 * Prefix cache: a slot keeps the tokens of its last request after it ends.
 * A new request takes the free slot whose cache shares the longest prefix
 * with its prompt, or copies a longer prefix held by another slot, and
 * evaluates only the rest (reported as n_cached).
 *
 * Thread safety: deepc_engine_submit, deepc_engine_cancel, deepc_engine_stop
 * and deepc_engine_stats may be called from any thread at any time; events
 * are delivered on the engine thread, inside deepc_engine_step. */
typedef struct deepc_engine deepc_engine;

typedef struct {
    int32_t n_slots;      /* requests decoded at once (KV sequences), >= 1 */
    int32_t n_ctx;        /* positions per slot (0: min(training context, 4096)) */
    int32_t n_batch;      /* most tokens per step (0: 512) */
    int32_t n_threads;    /* 0: all cores */
    int32_t max_queue;    /* requests that may wait beyond the free slots before submit refuses (0: 64) */
    deepc_kv_type kv_type;
} deepc_engine_params;

deepc_engine_params deepc_engine_default_params(void);
/* Creates the context and loads the model's tokenizer. NULL + message. The
 * model must outlive the engine. */
deepc_engine *deepc_engine_create(deepc_model *model, const deepc_engine_params *p, char err[DEEPC_ERR_LEN]);
/* Frees the engine; requests still active get no further events. */
void deepc_engine_free(deepc_engine *e);
/* Borrowed: valid while the engine lives. NULL when the model file has no
 * vocabulary (random-weight benchmark models): requests then work on ids only. */
const deepc_tokenizer *deepc_engine_tokenizer(const deepc_engine *e);
int32_t deepc_engine_n_ctx(const deepc_engine *e);

typedef enum {
    DEEPC_FINISH_NONE = 0,
    DEEPC_FINISH_STOP,      /* end-of-generation token or a stop string */
    DEEPC_FINISH_LENGTH,    /* max_tokens, or the context is full */
    DEEPC_FINISH_CANCELLED, /* deepc_engine_cancel */
    DEEPC_FINISH_ERROR,     /* see the event's error */
} deepc_finish_reason;

typedef enum { DEEPC_EVENT_TOKEN = 1, DEEPC_EVENT_DONE = 2 } deepc_event_kind;

typedef struct {
    int32_t token;
    float logprob;
} deepc_token_logprob;

/* What the engine tells a request's owner. TOKEN: one generated token, the
 * text released by it (content and, when reasoning is split, reasoning;
 * either may be empty: text is held while it may still be part of a stop
 * string or of an incomplete UTF-8 character) and, when asked, its log
 * probability and the top alternatives. DONE: the last event of a request,
 * with the finish reason, any text still held, and the counters. Pointers are
 * valid only during the callback. */
typedef struct {
    deepc_event_kind kind;
    uint64_t id;
    int32_t token;                     /* TOKEN: the generated id; -1 for text the engine wrote
                                          itself (closing a spent reasoning budget) and for DONE */
    const char *content;               /* text for the answer */
    size_t content_len;
    const char *reasoning;             /* text inside <think> ... </think> */
    size_t reasoning_len;
    float logprob;                     /* TOKEN with logprobs: log p(token) */
    int32_t n_top;                     /* entries in top */
    const deepc_token_logprob *top;    /* best first */
    deepc_finish_reason finish;        /* DONE */
    const char *error;                 /* DONE with DEEPC_FINISH_ERROR */
    int32_t n_prompt;                  /* prompt tokens */
    int32_t n_cached;                  /* of which reused from the prefix cache */
    int32_t n_generated;               /* tokens generated so far */
    double t_first_token;              /* DONE: seconds from submit to the first token */
    double t_total;                    /* DONE: seconds from submit to the end */
} deepc_event;

typedef void (*deepc_event_fn)(void *user, const deepc_event *ev);

#define DEEPC_MAX_STOP 8
#define DEEPC_MAX_LOGIT_BIAS 1024

/* Added to a token's logit before sampling (OpenAI's logit_bias); -INFINITY
 * bans the token. Log probabilities are reported from the unbiased logits. */
typedef struct {
    int32_t token;
    float bias;
} deepc_logit_bias;
#define DEEPC_MAX_TOP_LOGPROBS 20

typedef struct {
    const int32_t *prompt;            /* copied at submit */
    int32_t n_prompt;
    deepc_sampling sampling;
    int32_t max_tokens;               /* < 0: until the context is full */
    bool ignore_eos;
    const char *const *stop;          /* stop strings (copied), never emitted */
    int32_t n_stop;                   /* <= DEEPC_MAX_STOP */
    bool split_reasoning;             /* separate <think> ... </think> from the content */
    bool starts_in_reasoning;         /* the prompt opened <think> (deepc_prompt_opens_reasoning) */
    int64_t reasoning_budget;         /* most reasoning tokens before </think> is forced (< 0: none) */
    bool logprobs;                    /* report each token's log probability */
    int32_t top_logprobs;             /* and this many alternatives (0..DEEPC_MAX_TOP_LOGPROBS) */
    const deepc_logit_bias *logit_bias; /* copied; token ids in the vocabulary */
    int32_t n_logit_bias;             /* 0..DEEPC_MAX_LOGIT_BIAS */
    deepc_event_fn on_event;
    void *user;
} deepc_request;

/* Queues a request. Returns its id (> 0), or 0 + message: invalid
 * parameters, a prompt that does not fit the context, or a full queue
 * (*queue_full set, when given). */
uint64_t deepc_engine_submit(deepc_engine *e, const deepc_request *r, bool *queue_full, char err[DEEPC_ERR_LEN]);
/* Asks a request to end: at the next step it gets DONE with
 * DEEPC_FINISH_CANCELLED and frees its slot. Unknown ids are ignored. */
void deepc_engine_cancel(deepc_engine *e, uint64_t id);

/* One scheduler step: admits queued requests, runs one decode for every
 * active request and delivers their events. Returns the number of requests
 * still active or queued, or -1 + message when the decode failed (the active
 * requests then end with DEEPC_FINISH_ERROR). */
int deepc_engine_step(deepc_engine *e, char err[DEEPC_ERR_LEN]);
/* Steps until deepc_engine_stop; sleeps while there is nothing to do. */
void deepc_engine_run(deepc_engine *e);
void deepc_engine_stop(deepc_engine *e);

typedef struct {
    int32_t n_slots, active_slots, queued;
    int64_t kv_used_tokens, kv_total_tokens; /* cache positions in use by slots / all */
    uint64_t requests_done, prompt_tokens, cached_tokens, generated_tokens;
    uint64_t prefix_hits;     /* requests that reused a cached prefix */
    double decode_seconds;    /* time spent in deepc_decode */
} deepc_engine_stats;
void deepc_engine_get_stats(deepc_engine *e, deepc_engine_stats *out);

#ifdef __cplusplus
}
#endif
#endif
