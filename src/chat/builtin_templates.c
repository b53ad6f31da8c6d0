/* builtin_templates.c - fallback chat templates, written in the template
 * language itself, for models whose files carry no chat_template.
 *
 * Each reproduces the plain-conversation behaviour of its family's real
 * template (system, user and assistant turns, add_generation_prompt,
 * bos_token when it is defined); tool calls are not rendered. Content that is
 * not a string (null on a tool-call turn) renders as empty.
 *
 *   chatml   Qwen / ChatML:
 *            <|im_start|>ROLE\nCONTENT<|im_end|>\n ... [<|im_start|>assistant\n]
 *   deepseek DeepSeek-V3 / R1: BOS, then all system prompts joined by blank
 *            lines, <｜User｜>CONTENT, <｜Assistant｜>CONTENT<｜end▁of▁sentence｜>
 *            (reasoning before </think> dropped from history), [<｜Assistant｜>]
 *   llama3   Llama-3 Instruct: BOS on the first turn,
 *            <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT(trimmed)<|eot_id|>
 *            [<|start_header_id|>assistant<|end_header_id|>\n\n]
 */
#include <string.h>

#include "template.h"

static const char chatml[] =
    "{%- for message in messages -%}\n"
    "{{- '<|im_start|>' + message['role'] + '\\n' + (message['content'] if message['content'] is string else '') + '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}\n";

static const char deepseek[] =
    "{%- set ns = namespace(system='') -%}\n"
    "{%- for message in messages if message['role'] == 'system' -%}\n"
    "{%- set ns.system = ns.system + ('\\n\\n' if not loop.first else '') + message['content'] -%}\n"
    "{%- endfor -%}\n"
    "{{- bos_token if bos_token is defined else '' -}}{{- ns.system -}}\n"
    "{%- for message in messages -%}\n"
    "{%- set content = message['content'] if message['content'] is string else '' -%}\n"
    "{%- if message['role'] == 'user' -%}{{- '<｜User｜>' + content -}}\n"
    "{%- elif message['role'] == 'assistant' -%}\n"
    "{%- if '</think>' in content -%}{%- set content = content.split('</think>')[-1] -%}{%- endif -%}\n"
    "{{- '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' -}}\n"
    "{%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<｜Assistant｜>' -}}{%- endif -%}\n";

static const char llama3[] =
    "{%- for message in messages -%}\n"
    "{%- set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
    "(message['content'] if message['content'] is string else '') | trim + '<|eot_id|>' -%}\n"
    "{%- if loop.first and bos_token is defined -%}{%- set content = bos_token + content -%}{%- endif -%}\n"
    "{{- content -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}\n";

static const char *const names[] = {"chatml", "deepseek", "llama3", NULL};
static const char *const sources[] = {chatml, deepseek, llama3};

const char *dc_template_builtin(const char *name) {
    for (size_t i = 0; name && names[i]; i++)
        if (!strcmp(name, names[i])) return sources[i];
    return NULL;
}

const char *const *dc_template_builtin_names(void) { return names; }
