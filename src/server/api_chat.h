/* api_chat.h - POST /v1/chat/completions and POST /v1/completions.
 *
 * Runs on the connection's thread with the whole body: validates it
 * (api_parse), builds the prompt tokens (chat: the model's template, then the
 * tokenizer; completions: the prompt text or ids), submits one engine request
 * and answers either with one JSON response once the request is done, or
 * with a server-sent-events stream fed from the request's event queue.
 * Client disconnects, the --timeout deadline and server shutdown cancel the
 * engine request.
 */
#ifndef DC_SERVER_API_CHAT_H
#define DC_SERVER_API_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "srv.h"

/* chat: /v1/chat/completions, else /v1/completions. body[0, len) is the
 * request body (owned by the caller, only read during the call). */
enum MHD_Result api_generate(srv_state *s, struct MHD_Connection *c, bool chat, const char *body, size_t len);

/* Generation requests not yet fully answered (a graceful shutdown waits for them). */
int api_calls_active(void);

#endif
