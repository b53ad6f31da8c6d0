/* tokenizer.h - byte-level BPE tokenizers that reproduce Hugging Face
 * `tokenizers` ids exactly (Qwen2 / Qwen2.5 / Qwen3, Llama-3, DeepSeek-V3 and
 * friends), loaded from a GGUF model or from a tokenizer.json.
 *
 * Loading
 *   dc_tok_load_gguf(): from an open dc_gguf_file (`tokenizer.ggml.*`): model
 *     must be "gpt2"; `tokenizer.ggml.pre` picks the pre-tokenizer (qwen2,
 *     deepseek-r1-qwen, llama-bpe, llama3, deepseek-v3, deepseek-llm; anything
 *     else is an error). Token types follow llama.cpp: CONTROL (3) and
 *     UNKNOWN (2) tokens are "special" added tokens, USER_DEFINED (4) tokens
 *     are non-special added tokens, UNUSED (5) tokens never come out of encode.
 *   dc_tok_load_hf(): from a tokenizer.json (BPE model, NFC / no normalizer,
 *     Split + ByteLevel pre-tokenizers, ByteLevel decoder) plus the
 *     tokenizer_config.json beside it when present (bos/eos tokens,
 *     add_bos_token / add_eos_token).
 *   dc_tok_load(): a GGUF file, a tokenizer.json, or a folder holding one.
 * Ownership: the dc_tokenizer owns copies of everything it uses (the dc_gguf_file
 * may be closed right after loading). Free it with dc_tok_free().
 * Threads: a loaded tokenizer is never modified; encode / decode / piece calls
 * may run concurrently on one tokenizer. A dc_detok belongs to one caller.
 *
 * Encoding (Hugging Face order): added tokens are found first in the raw text
 * (leftmost-longest, never inside one another); only the text between them
 * is normalized (NFC when the tokenizer asks for it), split by the
 * pre-tokenizer regexes (PCRE2, Unicode properties) and BPE-merged by merge
 * rank. Without DC_TOK_PARSE_SPECIAL, "special" added tokens (HF
 * `"special": true`, GGUF CONTROL) are treated as plain text while the other
 * added tokens are still matched (HF encode_special_tokens / llama.cpp
 * parse_special = false). DC_TOK_ADD_SPECIAL adds the BOS / EOS the tokenizer
 * asks for. Input may be any bytes: NUL is an ordinary character and bytes
 * that are not valid UTF-8 are never matched by the regexes, so each such run
 * becomes its own piece and is encoded byte-wise (valid UTF-8 text gives
 * exactly the Hugging Face ids).
 *
 * Decoding gives bytes. Whole-sequence decoding (dc_tok_decode) returns valid
 * UTF-8: invalid sequences become U+FFFD exactly like Rust's
 * String::from_utf8_lossy (what HF decode does). The streaming detokenizer
 * emits the same bytes, but only ever complete UTF-8 characters: it holds
 * back a partial character until the next piece completes it or
 * dc_detok_flush() turns it into U+FFFD.
 */
#ifndef DC_TOKENIZER_H
#define DC_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "../gguf/gguf.h"

typedef struct dc_tokenizer dc_tokenizer;

/* dc_tok_encode flags */
enum {
    DC_TOK_ADD_SPECIAL = 1u,   /* prepend BOS / append EOS as the tokenizer is configured */
    DC_TOK_PARSE_SPECIAL = 2u, /* match "special" added tokens in the text (HF default) */
};

/* A growable id list; the caller owns ids (dc_tok_ids_free). Zero-initialise before first use. */
typedef struct {
    int32_t *ids;
    size_t n, cap;
} dc_tok_ids;

dc_tokenizer *dc_tok_load(const char *path, char err[DC_ERR_LEN]);
dc_tokenizer *dc_tok_load_gguf(const dc_gguf_file *f, char err[DC_ERR_LEN]);
dc_tokenizer *dc_tok_load_hf(const char *tokenizer_json_path, char err[DC_ERR_LEN]);
void dc_tok_free(dc_tokenizer *t);

/* Replaces out's contents with the ids of text[0, len). false + message only
 * when memory runs out or the regex engine fails. */
bool dc_tok_encode(const dc_tokenizer *t, const char *text, size_t len, unsigned flags, dc_tok_ids *out,
                   char err[DC_ERR_LEN]);
void dc_tok_ids_free(dc_tok_ids *ids);

int32_t dc_tok_n_vocab(const dc_tokenizer *t);
/* The bytes of one token (pointer into the tokenizer, not NUL-terminated).
 * With special == false, special tokens give 0 bytes. NULL for an id out of
 * range. */
const char *dc_tok_piece(const dc_tokenizer *t, int32_t id, bool special, size_t *len);
/* Decodes ids into a malloc'ed NUL-terminated valid UTF-8 string (*len bytes,
 * invalid UTF-8 replaced by U+FFFD). NULL + message for an id out of range. */
char *dc_tok_decode(const dc_tokenizer *t, const int32_t *ids, size_t n, bool special, size_t *len,
                    char err[DC_ERR_LEN]);
/* Id of the token whose text is exactly text[0, len) (added tokens first), -1 if none. */
int32_t dc_tok_find(const dc_tokenizer *t, const char *text, size_t len);

/* Special ids; -1 when the tokenizer has none. */
int32_t dc_tok_bos(const dc_tokenizer *t);
int32_t dc_tok_eos(const dc_tokenizer *t);
int32_t dc_tok_eot(const dc_tokenizer *t);
/* Whether encode with DC_TOK_ADD_SPECIAL prepends BOS. */
bool dc_tok_add_bos(const dc_tokenizer *t);
/* End of generation: eos, eot, eom and the tokens llama.cpp treats as such by
 * their text (<|im_end|>, <|endoftext|>, <|eot_id|>, <|eom_id|>,
 * <|end_of_text|>, <|fim_pad|>, <|repo_name|>, <|file_sep|>, ...). */
bool dc_tok_is_eog(const dc_tokenizer *t, int32_t id);
size_t dc_tok_eog_ids(const dc_tokenizer *t, const int32_t **ids);

/* Streaming detokenizer. Usage: dc_detok d; dc_detok_init(&d, t, true);
 * for each id: dc_detok_feed(&d, id, &s, &n, err) then write s[0, n);
 * at the end dc_detok_flush(&d, &n); dc_detok_free(&d). The returned bytes
 * stay valid until the next call on d. */
typedef struct {
    const dc_tokenizer *t;
    bool special;
    unsigned char pend[4]; /* start of a UTF-8 sequence not yet complete */
    size_t n_pend;
    char *out;
    size_t out_cap;
} dc_detok;

void dc_detok_init(dc_detok *d, const dc_tokenizer *t, bool special);
bool dc_detok_feed(dc_detok *d, int32_t id, const char **bytes, size_t *len, char err[DC_ERR_LEN]);
const char *dc_detok_flush(dc_detok *d, size_t *len);
void dc_detok_free(dc_detok *d);

#endif
