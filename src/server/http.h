/* http.h - the HTTP layer: libmicrohttpd daemon, routing, auth, limits.
 *
 * http_start runs a libmicrohttpd daemon on an already listening socket with
 * one thread per connection (up to 256 connections, 30 s of inactivity, a
 * bounded per-connection memory pool so oversized headers get a 4xx). A body
 * announced (Content-Length) larger than --max-body is refused at once with
 * 413 and the connection closed, before any body byte is read. Otherwise a
 * request is checked in this order: CORS preflight (OPTIONS) -> API key ->
 * route (404) -> method (405) -> loading (503); the answer, or the handler
 * with the whole body, comes once the body is read (a chunked body past the
 * limit gets 413 then).
 *
 * The http_respond* helpers are what handlers use to answer: they add the
 * CORS header, count the status for /metrics, queue the response and drop
 * the caller's reference to it.
 */
#ifndef DC_SERVER_HTTP_H
#define DC_SERVER_HTTP_H

#include <stdbool.h>

#include <microhttpd.h>

#include "api_parse.h"
#include "srv.h"

/* Serves on listen_fd (taken over). NULL when the daemon cannot start. */
struct MHD_Daemon *http_start(srv_state *s, int listen_fd);
/* Stops accepting, gives the generation requests under way up to 5 s to end
 * their responses (they see `stopping` and cancel), then closes every
 * connection and joins the threads. */
void http_stop(struct MHD_Daemon *d);

/* Queues r with status on c (r is released). */
enum MHD_Result http_respond(struct MHD_Connection *c, unsigned status, struct MHD_Response *r);
/* A JSON body (malloc'ed, taken over; NULL -> 500 out of memory). */
enum MHD_Result http_respond_json(struct MHD_Connection *c, unsigned status, char *json);
/* The OpenAI error object of e with e->status. */
enum MHD_Result http_respond_error(struct MHD_Connection *c, const api_error *e);

/* hold: suspends c's 30 s idle timeout while a handler waits on the engine
 * (a long prompt or queue would otherwise look like an idle client); !hold:
 * restores it, counting from now. */
void http_hold_timeout(struct MHD_Connection *c, bool hold);

/* Whether the client of c has closed or reset its connection (a peek at the
 * socket; data of a pipelined request does not count as gone). */
bool http_client_gone(struct MHD_Connection *c);

#endif
