/* srv.h - the state every part of the server shares.
 *
 * serve.c fills the configuration before the socket opens; the engine thread
 * fills the model fields and then sets `ready` (release), after which
 * connection threads read them (acquire) without locks: they never change
 * again until shutdown, which first stops every connection. `stopping` tells
 * waiting handlers to give up. Owned by serve.c.
 */
#ifndef DC_SERVER_SRV_H
#define DC_SERVER_SRV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deepc.h"

typedef struct {
    /* configuration (read-only while serving) */
    const char *model_id;        /* --alias or the file name without .gguf */
    const char *api_key;         /* NULL: no authentication */
    size_t max_body;             /* bytes */
    int timeout_s;               /* most seconds a request may run */
    long long created;           /* start time (the model's "created") */
    /* the model, valid once `ready` */
    deepc_engine *engine;
    const deepc_tokenizer *tok;
    deepc_chat_template *tmpl;
    deepc_sampling sampling;     /* the model's defaults */
    int32_t n_ctx, n_vocab;
    atomic_bool ready, stopping;
} srv_state;

#endif
