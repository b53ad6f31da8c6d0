/* server.h - `deepc serve`, the OpenAI-compatible HTTP server (src/server/).
 *
 * The contract (endpoints, fields, errors, streaming) is docs/server-api.md.
 * The server sees only the public API (include/deepc.h), cJSON and
 * libmicrohttpd; it is linked into the deepc executable, not into libdeepc.
 */
#ifndef DC_SERVER_SERVER_H
#define DC_SERVER_SERVER_H

/* argv[0] is "serve". Runs until SIGINT/SIGTERM: 0; 1 when the server cannot
 * start or the model cannot be loaded; 2 for bad options. */
int cmd_serve(int argc, char **argv);

#endif
