/* prompt.h - turning a conversation into the prompt text a model expects:
 * the model's own chat template (GGUF `tokenizer.chat_template`), or a
 * built-in one for its tokenizer family when the file has none, rendered
 * with the variables transformers passes (messages, add_generation_prompt,
 * bos_token, eos_token, and tools / enable_thinking when given).
 *
 * Memory: a dc_chat_format owns its parsed template and token strings; the
 * messages and tools (cJSON) stay the caller's. Rendering does not modify the
 * format, so one format may serve several threads.
 */
#ifndef DC_PROMPT_H
#define DC_PROMPT_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "../base/err.h"
#include "../gguf/gguf.h"
#include "../tokenizer/tokenizer.h"
#include "template.h"

typedef struct {
    dc_template *tpl;
    const char *source;   /* "model" or the built-in template's name */
    char *bos_token;      /* text of the BOS / EOS tokens ("" when none) */
    char *eos_token;
} dc_chat_format;

/* Loads the template of the model file f (tokenizer t supplies the special
 * token texts and, for files without a template, the family). false + message
 * when the file's template does not parse. */
bool dc_chat_format_load(dc_chat_format *cf, const dc_gguf_file *f, const dc_tokenizer *t, char err[DC_ERR_LEN]);
void dc_chat_format_free(dc_chat_format *cf);

/* Renders messages (a JSON array of {role, content, ...}). enable_thinking:
 * -1 leaves the variable undefined, 0/1 pass false/true. tools may be NULL.
 * 0 + malloc'ed *out, or -1 + message (template error). */
int dc_chat_format_render(const dc_chat_format *cf, const cJSON *messages, bool add_generation_prompt,
                          int enable_thinking, const cJSON *tools, char **out, size_t *out_len, char err[DC_ERR_LEN]);

#endif
