/* fuzz_request.c - libFuzzer target for the server's request validation.
 *
 * The input is a request body; its first byte picks the endpoint (even: chat,
 * odd: completions). api_parse must accept or refuse it without reading past
 * the end; a refusal carries a 4xx status and a one-line message, an
 * acceptance a normalized messages array that is valid JSON again (chat) or a
 * prompt (completions), never more than DEEPC_MAX_STOP stop strings, and
 * nothing leaks (LeakSanitizer) once api_request_free has run.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "server/api_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const bool chat = !(data[0] & 1);
    /* a copy of exactly the body, so reading past it is caught */
    char *body = malloc(size - 1 ? size - 1 : 1);
    if (!body) return 0;
    memcpy(body, data + 1, size - 1);
    api_request r;
    api_error e;
    const int rc = (chat ? api_parse_chat : api_parse_completion)(body, size - 1, &r, &e);
    if (rc == 0) {
        if (r.n_stop > DEEPC_MAX_STOP) __builtin_trap();
        if (chat) {
            cJSON *m = cJSON_Parse(r.messages_json);
            if (!cJSON_IsArray(m) || !m->child) __builtin_trap();
            cJSON_Delete(m);
        } else if (!r.prompt && r.n_prompt_ids < 1) {
            __builtin_trap();
        }
    } else if (e.status < 400 || e.status > 599 || !e.message[0] || strchr(e.message, '\n')) {
        __builtin_trap();
    }
    api_request_free(&r);
    free(body);
    return 0;
}
