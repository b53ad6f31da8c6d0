/* fuzz_template.c - libFuzzer target for the chat-template interpreter.
 *
 * The input is template source. It is parsed; when that succeeds it is
 * rendered with a small fixed set of variables shaped like a chat (messages
 * with tool calls and None content, tools, flags, special tokens), so the
 * common paths of real templates are reachable. Failures must come with a
 * one-line message; successes with a NUL-terminated output of the stated
 * length. Hostile inputs must end by the interpreter's own limits (steps,
 * iterations, recursion, output size) well inside libFuzzer's timeout, and
 * ASan/UBSan/LeakSanitizer flag any memory error or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chat/template.h"

static const char vars_json[] =
    "{\"messages\": ["
    "{\"role\": \"system\", \"content\": \"Be brief.\"},"
    "{\"role\": \"user\", \"content\": \"Hi <think>x</think> \\u00e9\\ud83d\\ude00\"},"
    "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"type\": \"function\", \"function\": "
    "{\"name\": \"f\", \"arguments\": {\"a\": [1, 2.5, true, null]}}}]},"
    "{\"role\": \"tool\", \"content\": \"42\"},"
    "{\"role\": \"assistant\", \"content\": \"<think>r</think>\\n\\nDone.\", \"reasoning_content\": \"r\"}],"
    "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {\"type\": \"object\"}}}],"
    "\"add_generation_prompt\": true, \"enable_thinking\": false, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\","
    "\"documents\": null}";

static void check_message(const char *err) {
    if (!err[0] || strchr(err, '\n')) __builtin_trap(); /* failures carry a one-line message */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static cJSON *vars;
    if (!vars && !(vars = cJSON_Parse(vars_json))) __builtin_trap();
    char err[DC_ERR_LEN];
    dc_template *t = dc_template_parse((const char *)data, size, err);
    if (!t) {
        check_message(err);
        return 0;
    }
    char *out = NULL;
    size_t len = 0;
    if (dc_template_render(t, vars, &out, &len, err) == 0) {
        if (!out || out[len] != '\0') __builtin_trap();
    } else {
        if (out) __builtin_trap();
        check_message(err);
    }
    free(out);
    dc_template_free(t);
    return 0;
}
