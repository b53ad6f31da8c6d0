/* template.h - chat templates: a Jinja subset interpreter (the dialect Hugging
 * Face transformers uses for `chat_template`) and built-in fallback templates.
 *
 * The environment mirrors transformers' chat-template compiler: jinja2's
 * ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and the
 * loopcontrols extension (break/continue), keep_trailing_newline off, plain
 * Undefined, `tojson` = Python json.dumps(ensure_ascii=False), globals
 * raise_exception(msg) and strftime_now(fmt). Values follow Python: printing
 * None gives "None", floats print like repr(), strings index by code point.
 *
 * A template is parsed once (dc_template_parse) and can be rendered any number
 * of times, also from several threads at once (rendering never writes to the
 * template). Variables come as a cJSON object: a key that is absent is
 * undefined, JSON null is None. A JSON number is an int when it has no
 * fraction and fits in 64 bits; a cJSON_Raw node holding a JSON number literal
 * keeps Python's distinction (`1.0` is a float, `1` an int) exactly.
 *
 * Known differences from jinja2 (all outside what chat templates do): ints
 * are 64-bit (overflow is an error, not a big int); generator results of
 * map/select/unique/... print as "<generator object>" and can be iterated
 * more than once; str.upper/lower/title map only Latin, Greek and Cyrillic
 * letters; unknown filters/tests fail when evaluated; `extends`, `include`,
 * `import` and `block` are not supported.
 *
 * Errors (syntax and runtime) are one line "LINE:COL: message" in err (see
 * base/err.h). Hostile templates are stopped with an error, never a hang or
 * crash: parse nesting, render recursion, total loop iterations, evaluation
 * steps (each byte copied counts a fraction of a step), container size and
 * output size are all bounded by the limits below.
 */
#ifndef DC_CHAT_TEMPLATE_H
#define DC_CHAT_TEMPLATE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "../base/err.h"

#define DC_TPL_MAX_NESTING 200           /* syntactic nesting (parentheses, blocks, unary chains) */
#define DC_TPL_MAX_DEPTH 600             /* render recursion: nested evaluation incl. macro calls */
#define DC_TPL_MAX_ITERATIONS 1000000    /* for-loop iterations per render, all loops together */
#define DC_TPL_MAX_STEPS 10000000        /* evaluation steps per render */
#define DC_TPL_MAX_OUTPUT (64u << 20)    /* bytes of output, and of any one string value */
#define DC_TPL_MAX_ITEMS 1000000         /* elements of any one list or dict */
#define DC_TPL_MAX_VALUE_NESTING 1000    /* lists/dicts inside lists/dicts */

typedef struct dc_template dc_template;

/* Parses template source (UTF-8, need not be NUL-terminated). NULL + message
 * on a syntax error. */
dc_template *dc_template_parse(const char *src, size_t len, char err[DC_ERR_LEN]);
void dc_template_free(dc_template *t);

/* Renders with the variables of the object `vars` (NULL: none). Returns 0 and
 * a malloc'ed, NUL-terminated *out (length *out_len, caller frees), or -1 and
 * a message (*out NULL). */
int dc_template_render(const dc_template *t, const cJSON *vars, char **out, size_t *out_len, char err[DC_ERR_LEN]);

/* Source of a built-in fallback template for models that ship none, or NULL
 * for an unknown name. Names (see builtin_templates.c for the exact formats):
 *   "chatml"   <|im_start|>role\ncontent<|im_end|>\n  (Qwen and other ChatML models)
 *   "deepseek" <｜User｜>...<｜Assistant｜>...<｜end▁of▁sentence｜>  (DeepSeek-V3 / R1)
 *   "llama3"   <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
 * Each honours messages, add_generation_prompt and bos_token like the real
 * template of that family. */
const char *dc_template_builtin(const char *name);
/* NULL-terminated list of the names dc_template_builtin accepts. */
const char *const *dc_template_builtin_names(void);

#endif
