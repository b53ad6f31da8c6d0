/* serve.c - `deepc serve MODEL.gguf`: options, startup, the engine thread,
 * signals and shutdown.
 *
 * Startup binds the socket first and starts the HTTP daemon, prints the one
 * "listening" line, and only then loads the model, on the engine thread:
 * until it is loaded every endpoint but /health answers 503. Once loaded,
 * the engine thread publishes the model fields of srv_state (srv.h) and runs
 * deepc_engine_run; it alone touches the model, the KV cache and the batch.
 *
 * Signals: SIGINT, SIGTERM (and SIGUSR1, which the engine thread raises when
 * loading fails) are blocked in every thread and taken by sigwait in the main
 * thread, so no handler runs in an arbitrary thread. Shutdown sets
 * `stopping` (handlers cancel their requests and end their responses: a
 * stream with an error event and [DONE]), stops the HTTP daemon (no new
 * connections, a few seconds for those responses, then every connection is
 * closed and its thread joined), then stops the engine, whose run loop ends
 * every request left with DONE, and frees everything. SIGPIPE is ignored: a vanished client is an error on
 * its socket, not a signal.
 *
 * Security defaults: loopback only; a non-loopback --host needs an API key
 * (or an explicit --insecure-no-auth); bodies over --max-body are refused.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "srv.h"

#define USAGE                                                                                                       \
    "usage: deepc serve MODEL.gguf [--host 127.0.0.1] [--port 8080] [--api-key K | --api-key-file F] "              \
    "[--insecure-no-auth] [--parallel N] [-c N] [--max-queue N] [--alias NAME] [--timeout S] [-t N] "                \
    "[--kv-type f16|f32] [--max-body BYTES]"

typedef struct {
    const char *model_path, *host, *alias, *api_key_file;
    char *api_key;
    long port, parallel, n_ctx, max_queue, timeout, n_threads, max_body;
    deepc_kv_type kv_type;
    bool insecure;
} options;

/* The engine thread's inputs and what it owns. */
typedef struct {
    srv_state *s;
    const options *o;
    pthread_mutex_t mu;      /* guards engine publication against shutdown */
    deepc_model *model;
    deepc_engine *engine;
    deepc_chat_template *tmpl;
} loader;

static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("deepc serve: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

static bool parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* The first line of path, without surrounding whitespace (malloc'ed). */
static char *read_key_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *line = NULL;
    size_t cap = 0;
    const ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n <= 0) {
        free(line);
        return NULL;
    }
    size_t b = 0, e = (size_t)n;
    while (e > 0 && strchr(" \t\r\n", line[e - 1])) e--;
    while (b < e && strchr(" \t", line[b])) b++;
    memmove(line, line + b, e - b);
    line[e - b] = '\0';
    return line;
}

static int parse_options(int argc, char **argv, options *o) {
    *o = (options){.host = "127.0.0.1", .port = 8080, .parallel = 4, .max_queue = 64, .timeout = 600,
                   .max_body = 4L << 20, .kv_type = DEEPC_KV_F16};
    static const struct {
        const char *name;
        long lo, hi;
        size_t off;
    } nums[] = {
        {"--port", 0, 65535, offsetof(options, port)},       {"--parallel", 1, 256, offsetof(options, parallel)},
        {"-c", 0, 1 << 24, offsetof(options, n_ctx)},         {"--max-queue", 1, 1 << 20, offsetof(options, max_queue)},
        {"--timeout", 1, 1L << 30, offsetof(options, timeout)}, {"-t", 0, 4096, offsetof(options, n_threads)},
        {"--max-body", 1, 1L << 40, offsetof(options, max_body)},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t k = 0;
        while (k < sizeof nums / sizeof nums[0] && strcmp(a, nums[k].name)) k++;
        if (k < sizeof nums / sizeof nums[0]) {
            if (!v || !parse_long(v, nums[k].lo, nums[k].hi, (long *)((char *)o + nums[k].off)))
                return fail(2, "%s: expected a number in [%ld, %ld]", a, nums[k].lo, nums[k].hi);
            i++;
        } else if (!strcmp(a, "--insecure-no-auth")) {
            o->insecure = true;
        } else if (v && (!strcmp(a, "--host") || !strcmp(a, "--alias") || !strcmp(a, "--api-key") ||
                         !strcmp(a, "--api-key-file") || !strcmp(a, "--kv-type"))) {
            i++;
            if (!strcmp(a, "--host")) o->host = v;
            else if (!strcmp(a, "--alias")) o->alias = v;
            else if (!strcmp(a, "--api-key-file")) o->api_key_file = v;
            else if (!strcmp(a, "--api-key")) {
                free(o->api_key);
                o->api_key = strdup(v);
            } else if (!strcmp(v, "f16") || !strcmp(v, "f32")) o->kv_type = v[1] == '1' ? DEEPC_KV_F16 : DEEPC_KV_F32;
            else return fail(2, "--kv-type: expected f16 or f32");
        } else if (a[0] != '-' && !o->model_path) {
            o->model_path = a;
        } else {
            return fail(2, "unknown or incomplete option '%s'\n%s", a, USAGE);
        }
    }
    if (!o->model_path) return fail(2, "%s", USAGE);
    if (o->api_key && o->api_key_file) return fail(2, "give --api-key or --api-key-file, not both");
    if (o->api_key_file && !(o->api_key = read_key_file(o->api_key_file)))
        return fail(1, "cannot read an API key from %s", o->api_key_file);
    if (o->api_key && !o->api_key[0]) return fail(2, "the API key is empty");
    if (o->alias && !o->alias[0]) return fail(2, "--alias: empty name");
    return 0;
}

/* The model id: --alias, else the file name without directories and .gguf (malloc'ed). */
static char *model_id(const options *o) {
    if (o->alias) return strdup(o->alias);
    const char *base = strrchr(o->model_path, '/');
    base = base ? base + 1 : o->model_path;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".gguf")) n -= 5;
    return strndup(base, n);
}

static bool is_loopback(const struct sockaddr *a) {
    if (a->sa_family == AF_INET) return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->sa_family != AF_INET6) return false;
    const struct in6_addr *v6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(v6) || (IN6_IS_ADDR_V4MAPPED(v6) && v6->s6_addr[12] == 127);
}

/* Resolves, checks and binds --host/--port: a listening socket, or -1 (printed). */
static int open_listener(const options *o, int *port) {
    char service[16];
    snprintf(service, sizeof service, "%ld", o->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
    const int g = getaddrinfo(o->host, service, &hints, &ai);
    if (g) return fail(-1, "--host %s: %s", o->host, gai_strerror(g));
    int fd = -1;
    if (!is_loopback(ai->ai_addr) && !o->api_key && !o->insecure) {
        fail(0, "refusing to listen on %s without --api-key or --api-key-file (add --insecure-no-auth to allow it)",
             o->host);
    } else if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0) {
        fail(0, "socket: %s", strerror(errno));
    } else {
        const int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_storage bound;
        socklen_t blen = sizeof bound;
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128) ||
            getsockname(fd, (struct sockaddr *)&bound, &blen)) {
            fail(0, "cannot listen on %s port %ld: %s", o->host, o->port, strerror(errno));
            close(fd);
            fd = -1;
        } else {
            *port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                      : ((struct sockaddr_in *)&bound)->sin_port);
        }
    }
    freeaddrinfo(ai);
    return fd;
}

/* The engine thread: load, publish, run. */
static void *engine_main(void *arg) {
    loader *l = arg;
    srv_state *s = l->s;
    char err[DEEPC_ERR_LEN];
    deepc_engine_params p = deepc_engine_default_params();
    p.n_slots = (int32_t)l->o->parallel;
    p.n_ctx = (int32_t)l->o->n_ctx;
    p.n_threads = (int32_t)l->o->n_threads;
    p.max_queue = (int32_t)l->o->max_queue;
    p.kv_type = l->o->kv_type;
    deepc_model *model = deepc_model_load(l->o->model_path, err);
    deepc_engine *e = model ? deepc_engine_create(model, &p, err) : NULL;
    deepc_chat_template *tmpl = e ? deepc_chat_template_from_model(model, deepc_engine_tokenizer(e), err) : NULL;
    if (!tmpl || deepc_model_default_sampling(model, &s->sampling, err)) {
        fail(0, "%s", err);
        deepc_chat_template_free(tmpl);
        deepc_engine_free(e);
        deepc_model_free(model);
        kill(getpid(), SIGUSR1);
        return NULL;
    }
    s->engine = e;
    s->tok = deepc_engine_tokenizer(e);
    s->tmpl = tmpl;
    s->n_ctx = deepc_engine_n_ctx(e);
    s->n_vocab = deepc_tokenizer_n_vocab(s->tok);
    pthread_mutex_lock(&l->mu);
    l->model = model;
    l->engine = e;
    l->tmpl = tmpl;
    atomic_store(&s->ready, true);
    if (atomic_load(&s->stopping)) deepc_engine_stop(e); /* a signal came while loading */
    pthread_mutex_unlock(&l->mu);
    deepc_engine_run(e);
    return NULL;
}

/* Serves until SIGINT/SIGTERM (0) or a failed load (1). */
static int serve(srv_state *s, const options *o, int listen_fd) {
    /* a descriptor per connection: allow as many as the hard limit lets */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max < 4096 ? nofile.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    struct MHD_Daemon *d = http_start(s, listen_fd);
    if (!d) {
        close(listen_fd);
        return fail(1, "cannot start the HTTP server");
    }
    loader l = {.s = s, .o = o};
    pthread_mutex_init(&l.mu, NULL);
    pthread_t engine_thread;
    int status = 0;
    if (pthread_create(&engine_thread, NULL, engine_main, &l)) {
        http_stop(d);
        return fail(1, "cannot start the engine thread");
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    int sig = 0;
    while (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGUSR1) status = 1;
    atomic_store(&s->stopping, true);
    http_stop(d); /* handlers see `stopping`, cancel their requests and return */
    pthread_mutex_lock(&l.mu);
    if (l.engine) deepc_engine_stop(l.engine);
    pthread_mutex_unlock(&l.mu);
    pthread_join(engine_thread, NULL);
    deepc_chat_template_free(l.tmpl);
    deepc_engine_free(l.engine);
    deepc_model_free(l.model);
    pthread_mutex_destroy(&l.mu);
    return status;
}

int cmd_serve(int argc, char **argv) {
    options o;
    int status = parse_options(argc, argv, &o);
    char *id = status ? NULL : model_id(&o);
    srv_state s = {.model_id = id, .api_key = o.api_key, .max_body = (size_t)o.max_body, .timeout_s = (int)o.timeout,
                   .created = (long long)time(NULL)};
    /* block the signals before any thread exists, so every thread inherits the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int port = 0, fd = -1;
    if (!status && !id) status = fail(1, "out of memory");
    if (!status && (fd = open_listener(&o, &port)) < 0) status = 1;
    if (!status) {
        const bool v6 = strchr(o.host, ':') != NULL;
        fprintf(stderr, "deepc serve: listening on http://%s%s%s:%d\n", v6 ? "[" : "", o.host, v6 ? "]" : "", port);
        fflush(stderr);
        status = serve(&s, &o, fd);
    }
    free(id);
    free(o.api_key);
    return status;
}
