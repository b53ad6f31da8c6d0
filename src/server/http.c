/* http.c - libmicrohttpd glue: the daemon, routing, auth, limits, CORS and
 * the small read-only endpoints (see http.h for the order of the checks).
 *
 * libmicrohttpd calls on_request several times per request: first with the
 * headers (*con_cls is still NULL), then once per piece of body, then once
 * more with no data. Everything that does not need the body is decided on
 * the first call (judge -> a verdict). Only a body announced larger than
 * --max-body is answered right then (413; libmicrohttpd closes the connection
 * instead of reading the body). Every other answer waits for the last call,
 * since a response queued before the body is read costs the keep-alive
 * connection: bodies of requests that are refused anyway are read and
 * dropped (still bounded by --max-body), POST endpoints get theirs whole. A
 * request's state (http_req) is freed by the request-completed callback.
 *
 * Threads: one per connection (libmicrohttpd's thread-per-connection mode),
 * so handlers may block: api_chat.c waits on the engine there. Keep-alive,
 * pipelining (answered in order) and chunked encoding of streamed responses
 * are libmicrohttpd's.
 */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "api_chat.h"
#include "api_json.h"
#include "metrics.h"
#include "webui.h"

#define CONNECTION_LIMIT 1000 /* a thread each; slow clients must not lock others out */
#define IDLE_TIMEOUT_S 30
/* A new connection must start its request within this many silent seconds:
 * libmicrohttpd reads a request line holding a NUL byte as an empty line
 * and would otherwise wait out IDLE_TIMEOUT_S on such garbage. */
#define FIRST_REQUEST_TIMEOUT_S 3
#define CONNECTION_MEMORY (64 * 1024) /* headers + URI + buffers of one connection */

enum route_id { R_WEBUI, R_HEALTH, R_MODELS, R_MODEL, R_CHAT, R_COMPLETIONS, R_METRICS };

static const struct route {
    const char *path;
    bool prefix; /* path is a prefix ("/v1/models/" + id) */
    bool post;   /* POST, else GET (and HEAD) */
    enum route_id id;
} routes[] = {
    {"/", false, false, R_WEBUI},
    {"/health", false, false, R_HEALTH},
    {"/v1/models", false, false, R_MODELS},
    {"/v1/models/", true, false, R_MODEL},
    {"/v1/chat/completions", false, true, R_CHAT},
    {"/v1/completions", false, true, R_COMPLETIONS},
    {"/metrics", false, false, R_METRICS},
};

enum verdict { V_HANDLE, V_PREFLIGHT, V_UNAUTHORIZED, V_NOT_FOUND, V_BAD_METHOD, V_LOADING };

typedef struct {
    const struct route *route;
    enum verdict verdict;
    char *body;            /* the body of a request to handle (POST) */
    size_t len, cap, received;
    bool too_large;
} http_req;

/* ---- answering ---- */

enum MHD_Result http_respond(struct MHD_Connection *c, unsigned status, struct MHD_Response *r) {
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    metrics_count(status);
    const enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static struct MHD_Response *text_response(char *body, size_t len, const char *type) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return NULL;
    }
    MHD_add_response_header(r, "Content-Type", type);
    return r;
}

/* The JSON response of e, to which callers may add headers; NULL when out of memory. */
static struct MHD_Response *error_response(const api_error *e) {
    char *json = api_error_json(e);
    return json ? text_response(json, strlen(json), "application/json") : NULL;
}

enum MHD_Result http_respond_error(struct MHD_Connection *c, const api_error *e) {
    return http_respond(c, (unsigned)e->status, error_response(e));
}

static enum MHD_Result respond_fail(struct MHD_Connection *c, int status, const char *type, const char *code,
                                    const char *message) {
    api_error e;
    api_fail(&e, status, type, code, NULL, "%s", message);
    return http_respond_error(c, &e);
}

enum MHD_Result http_respond_json(struct MHD_Connection *c, unsigned status, char *json) {
    if (!json) return respond_fail(c, 500, "server_error", NULL, "out of memory");
    return http_respond(c, status, text_response(json, strlen(json), "application/json"));
}

void http_hold_timeout(struct MHD_Connection *c, bool hold) {
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, hold ? 0u : (unsigned)IDLE_TIMEOUT_S);
}

bool http_client_gone(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return true;
    char b;
    const ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* ---- the read-only endpoints ---- */

static cJSON *model_object(const srv_state *s) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", s->model_id);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", (double)s->created);
    cJSON_AddStringToObject(m, "owned_by", "deepc");
    return m;
}

static enum MHD_Result print_respond(struct MHD_Connection *c, unsigned status, cJSON *v) {
    char *json = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    return http_respond_json(c, status, json);
}

static enum MHD_Result get_endpoint(srv_state *s, struct MHD_Connection *c, enum route_id id, const char *url) {
    if (id == R_HEALTH) {
        const bool ready = atomic_load(&s->ready);
        cJSON *h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "status", ready ? "ok" : "loading");
        return print_respond(c, ready ? 200 : 503, h);
    }
    if (id == R_MODELS) {
        cJSON *list = cJSON_CreateObject();
        cJSON_AddStringToObject(list, "object", "list");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(list, "data"), model_object(s));
        return print_respond(c, 200, list);
    }
    if (id == R_MODEL) {
        if (!strcmp(url + strlen("/v1/models/"), s->model_id)) return print_respond(c, 200, model_object(s));
        api_error e;
        api_fail(&e, 404, "not_found_error", "model_not_found", "model", "the model '%.128s' does not exist",
                 url + strlen("/v1/models/"));
        return http_respond_error(c, &e);
    }
    if (id == R_METRICS) {
        size_t len = 0;
        char *text = metrics_render(s, &len);
        if (!text) return respond_fail(c, 500, "server_error", NULL, "out of memory");
        return http_respond(c, 200, text_response(text, len, "text/plain; version=0.0.4; charset=utf-8"));
    }
    return http_respond(c, 200, webui_response());
}

/* ---- the checks before a handler ---- */

static const struct route *find_route(const char *url) {
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const size_t n = strlen(routes[i].path);
        if (routes[i].prefix ? !strncmp(url, routes[i].path, n) && url[n] : !strcmp(url, routes[i].path))
            return &routes[i];
    }
    return NULL;
}

/* Compares the Authorization header with "Bearer KEY" in time independent of
 * where they differ. */
static bool authorized(const srv_state *s, struct MHD_Connection *c) {
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7)) return false;
    const char *given = h + 7, *key = s->api_key;
    const size_t gl = strlen(given), kl = strlen(key);
    unsigned diff = gl != kl;
    for (size_t i = 0; i < kl; i++) diff |= (unsigned char)key[i] ^ (unsigned char)(gl ? given[i % gl] : 0);
    return diff == 0;
}

static enum MHD_Result preflight(struct MHD_Connection *c, const struct route *rt) {
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Access-Control-Allow-Methods", rt->post ? "POST, OPTIONS" : "GET, HEAD, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
    return http_respond(c, 204, r);
}

/* Answers 413 and closes the connection (the rest of the body is not read). */
static enum MHD_Result too_large(const srv_state *s, struct MHD_Connection *c) {
    api_error e;
    api_fail(&e, 413, "invalid_request_error", "request_too_large", NULL, "the request body exceeds %zu bytes",
             s->max_body);
    struct MHD_Response *r = error_response(&e);
    if (r) MHD_add_response_header(r, "Connection", "close");
    return http_respond(c, 413, r);
}

typedef struct {
    const char *first;
    bool conflict;
} length_headers;

static enum MHD_Result note_length(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    length_headers *h = cls;
    if (strcasecmp(key, "Content-Length")) return MHD_YES;
    if (!h->first) h->first = value;
    else if (strcmp(h->first, value)) h->conflict = true;
    return MHD_YES;
}

/* Two Content-Length headers that disagree: the body's end is ambiguous
 * (request smuggling), so the request is refused and the connection closed. */
static enum MHD_Result conflicting_lengths(struct MHD_Connection *c, bool *refused) {
    length_headers h = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, note_length, &h);
    *refused = h.conflict;
    if (!h.conflict) return MHD_YES;
    api_error e;
    api_fail(&e, 400, "invalid_request_error", NULL, NULL, "conflicting Content-Length headers");
    struct MHD_Response *r = error_response(&e);
    if (r) MHD_add_response_header(r, "Connection", "close");
    return http_respond(c, 400, r);
}

static bool is_get(const char *method) {
    return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

/* What the headers decide, carried out once the body has been read: a
 * response queued before that makes libmicrohttpd close the connection,
 * which only the 413 answer wants. */
static enum verdict judge(srv_state *s, struct MHD_Connection *c, const char *method, const struct route *rt) {
    if (!strcmp(method, "OPTIONS") && rt) return V_PREFLIGHT;
    /* the page and /health are open: a browser cannot send the key when it opens the page (which holds
     * no data); every API call the page makes sends it */
    const bool open = rt && (rt->id == R_HEALTH || rt->id == R_WEBUI) && is_get(method);
    if (s->api_key && !open && !authorized(s, c)) return V_UNAUTHORIZED;
    if (!rt) return V_NOT_FOUND;
    if (rt->post ? strcmp(method, "POST") != 0 : !is_get(method)) return V_BAD_METHOD;
    if (rt->id != R_HEALTH && !atomic_load(&s->ready)) return V_LOADING;
    return V_HANDLE;
}

static enum MHD_Result carry_out(srv_state *s, struct MHD_Connection *c, const char *url, const char *method,
                                 const http_req *q) {
    const struct route *rt = q->route;
    api_error e;
    struct MHD_Response *r;
    switch (q->verdict) {
    case V_PREFLIGHT:
        return preflight(c, rt);
    case V_UNAUTHORIZED:
        api_fail(&e, 401, "authentication_error", "invalid_api_key", NULL, "missing or invalid API key");
        if ((r = error_response(&e))) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
        return http_respond(c, 401, r);
    case V_NOT_FOUND:
        api_fail(&e, 404, "not_found_error", NULL, NULL, "no such endpoint: %.128s", url);
        return http_respond_error(c, &e);
    case V_BAD_METHOD:
        api_fail(&e, 405, "invalid_request_error", "method_not_allowed", NULL, "%.16s %.128s is not supported; use %s",
                 method, url, rt->post ? "POST" : "GET");
        if ((r = error_response(&e))) MHD_add_response_header(r, "Allow", rt->post ? "POST, OPTIONS" : "GET, HEAD, OPTIONS");
        return http_respond(c, 405, r);
    case V_LOADING:
        return respond_fail(c, 503, "server_error", "model_loading", "the model is loading");
    case V_HANDLE:
        break;
    }
    if (!rt->post) return get_endpoint(s, c, rt->id, url);
    return api_generate(s, c, rt->id == R_CHAT, q->body ? q->body : "", q->len);
}

/* Whether the Content-Length header announces more than --max-body. */
static bool announced_too_large(const srv_state *s, struct MHD_Connection *c) {
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (!cl) return false;
    char *end;
    errno = 0;
    const unsigned long long n = strtoull(cl, &end, 10);
    return errno || end == cl || *end || n > s->max_body;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    srv_state *s = cls;
    http_req *q = *con_cls;
    if (!q) { /* the headers */
        http_hold_timeout(c, false);
        if (!(q = calloc(1, sizeof *q))) return MHD_NO;
        *con_cls = q;
        q->route = find_route(url);
        q->verdict = judge(s, c, method, q->route);
        bool refused;
        const enum MHD_Result rc = conflicting_lengths(c, &refused);
        if (refused) return rc;
        return announced_too_large(s, c) ? too_large(s, c) : MHD_YES;
    }
    if (*upload_size) { /* a piece of the body */
        const size_t n = *upload_size;
        *upload_size = 0;
        q->received += n;
        if (q->received > s->max_body) {
            /* a chunked body past the limit: libmicrohttpd 0.9.75 refuses a response queued in the middle of
             * a body, so drop the rest and answer 413 at its end */
            q->too_large = true;
            free(q->body);
            q->body = NULL;
            q->len = q->cap = 0;
            return q->received / 16 > s->max_body ? MHD_NO : MHD_YES; /* a client that does not stop: hang up */
        }
        if (q->verdict != V_HANDLE || !q->route->post) return MHD_YES; /* not needed */
        if (q->len + n + 1 > q->cap) {
            size_t cap = q->cap ? q->cap : 4096;
            while (cap < q->len + n + 1) cap *= 2;
            char *p = realloc(q->body, cap);
            if (!p) return MHD_NO;
            q->body = p;
            q->cap = cap;
        }
        memcpy(q->body + q->len, upload, n);
        q->len += n;
        return MHD_YES;
    }
    return q->too_large ? too_large(s, c) : carry_out(s, c, url, method, q);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
    (void)cls, (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)FIRST_REQUEST_TIMEOUT_S);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls, (void)c, (void)toe;
    http_req *q = *con_cls;
    if (q) free(q->body);
    free(q);
    *con_cls = NULL;
}

struct MHD_Daemon *http_start(srv_state *s, int listen_fd) {
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC, 0, NULL, NULL,
                            on_request, s, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
                            on_connection, s, MHD_OPTION_END);
}

void http_stop(struct MHD_Daemon *d) {
    const MHD_socket listener = MHD_quiesce_daemon(d);
    for (int i = 0; i < 500 && api_calls_active() > 0; i++) nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    MHD_stop_daemon(d);
    if (listener != MHD_INVALID_SOCKET) close(listener);
}
