/* metrics.c - per-status request counters and GET /metrics.
 *
 * One atomic counter per HTTP status code (100..599), so counting is a single
 * relaxed increment on any connection thread. Rendering walks the counters
 * that are non-zero and appends the engine's counters and gauges, in
 * Prometheus text format with HELP and TYPE lines.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_ullong by_status[600];

void metrics_count(unsigned status) {
    if (status >= 100 && status < 600) atomic_fetch_add_explicit(&by_status[status], 1, memory_order_relaxed);
}

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        const int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->buf && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        const size_t cap = (t->cap ? t->cap : 1024) * 2 + (size_t)n;
        char *p = realloc(t->buf, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->buf = p;
        t->cap = cap;
    }
}

static void metric(text *t, const char *name, const char *type, const char *help, double v) {
    put(t, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

char *metrics_render(srv_state *s, size_t *len) {
    deepc_engine_stats st;
    deepc_engine_get_stats(s->engine, &st);
    text t = {0};
    put(&t, "# HELP deepc_requests_total HTTP requests answered, by status.\n"
            "# TYPE deepc_requests_total counter\n");
    for (unsigned c = 100; c < 600; c++) {
        const unsigned long long n = atomic_load_explicit(&by_status[c], memory_order_relaxed);
        if (n) put(&t, "deepc_requests_total{status=\"%u\"} %llu\n", c, n);
    }
    metric(&t, "deepc_prompt_tokens_total", "counter", "Prompt tokens of finished requests.", (double)st.prompt_tokens);
    metric(&t, "deepc_generated_tokens_total", "counter", "Tokens generated.", (double)st.generated_tokens);
    metric(&t, "deepc_prefix_cache_hits_total", "counter", "Requests that reused a cached prompt prefix.",
           (double)st.prefix_hits);
    metric(&t, "deepc_cached_prompt_tokens_total", "counter", "Prompt tokens taken from the prefix cache.",
           (double)st.cached_tokens);
    metric(&t, "deepc_queue_depth", "gauge", "Requests waiting for a slot.", st.queued);
    metric(&t, "deepc_slots_active", "gauge", "Slots decoding a request.", st.active_slots);
    metric(&t, "deepc_slots_total", "gauge", "Slots (requests decoded at once).", st.n_slots);
    metric(&t, "deepc_kv_cache_used_ratio", "gauge", "Share of KV-cache positions in use.",
           st.kv_total_tokens ? (double)st.kv_used_tokens / (double)st.kv_total_tokens : 0.0);
    metric(&t, "deepc_tokens_per_second", "gauge", "Generated tokens per second of decoding, since the start.",
           st.decode_seconds > 0 ? (double)st.generated_tokens / st.decode_seconds : 0.0);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    *len = t.len;
    return t.buf;
}
