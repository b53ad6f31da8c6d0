/* tokenizer_bench.c - single-threaded tokenizer throughput in MB/s.
 *
 * Builds a corpus of about 4 MiB from the fixture strings of
 * tokenizers/cases.jsonl (the prose, lang, code, web, contraction, digits,
 * punctuation, symbols and emoji cases: English, Chinese and other scripts,
 * source code), repeated and joined by newlines, then encodes it with each
 * family's tokenizer.json, one 1 KiB-ish document (a run of whole cases) per
 * dc_tok_encode call, special tokens parsed. No network, no threads. Time
 * is the process CPU time of the encode loop (stable on a busy machine).
 *
 * Build and run (bench/run.sh does both):
 *   cc -O2 -std=c17 -D_GNU_SOURCE -Isrc -Iinclude bench/tokenizer_bench.c BUILD/libdeepc.a \
 *      $(pkg-config --libs libpcre2-8 libcjson) -lm -lpthread -o BUILD/tokenizer_bench
 *   BUILD/tokenizer_bench [FIXTURES_DIR]      (default ../shared/fixtures)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenizer/json_str.h"
#include "tokenizer/tokenizer.h"

#define CORPUS_BYTES (4u << 20)
#define DOC_BYTES 1024

static const char *const CATEGORIES[] = {"prose",  "lang",  "code",    "web",   "contraction",
                                         "digits", "punct", "symbols", "emoji", NULL};

static char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0', *size = (size_t)n;
    return buf;
}

static bool wanted(const char *line) {
    const char *name = strstr(line, "\"name\":\"");
    if (!name || !strstr(line, "\"family\":\"qwen3\"")) return false; /* each text once */
    name += 8;
    for (const char *const *c = CATEGORIES; *c; c++)
        if (!strncmp(name, *c, strlen(*c)) && name[strlen(*c)] == '-') return true;
    return false;
}

/* Appends the chosen case texts, newline-separated, to corpus until full.
 * all is split into lines in place. */
static size_t build_corpus(char *all, size_t size, char *corpus) {
    for (char *p = all; (p = memchr(p, '\n', size - (size_t)(p - all))); p++) *p = '\0';
    size_t n = 0;
    while (n < CORPUS_BYTES) {
        size_t before = n;
        for (char *line = all; line < all + size && n < CORPUS_BYTES; line += strlen(line) + 1) {
            const char *text = wanted(line) ? strstr(line, "\"text\":") : NULL;
            size_t len, end;
            char err[DC_ERR_LEN];
            char *s = text ? dc_json_str_decode(text + 7, strlen(text + 7), &len, &end, err) : NULL;
            if (s && n + len + 1 <= CORPUS_BYTES) {
                memcpy(corpus + n, s, len);
                n += len;
                corpus[n++] = '\n';
            }
            free(s);
        }
        if (n == before) break;
    }
    return n;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Encodes corpus in documents ending at a newline after DOC_BYTES; returns MB/s. */
static double bench_family(const dc_tokenizer *t, const char *corpus, size_t n, size_t *n_ids) {
    dc_tok_ids ids = {0};
    char err[DC_ERR_LEN];
    *n_ids = 0;
    double start = now();
    for (size_t pos = 0; pos < n;) {
        const char *nl = n - pos > DOC_BYTES ? memchr(corpus + pos + DOC_BYTES, '\n', n - pos - DOC_BYTES) : NULL;
        size_t len = nl ? (size_t)(nl + 1 - (corpus + pos)) : n - pos;
        if (!dc_tok_encode(t, corpus + pos, len, DC_TOK_PARSE_SPECIAL, &ids, err)) {
            fprintf(stderr, "encode: %s\n", err);
            break;
        }
        *n_ids += ids.n;
        pos += len;
    }
    double secs = now() - start;
    dc_tok_ids_free(&ids);
    return (double)n / 1e6 / secs;
}

int main(int argc, char **argv) {
    const char *fixtures = argc > 1 ? argv[1] : "../shared/fixtures";
    static const char *const families[] = {"qwen3", "qwen2.5", "deepseek-v3", "llama3"};
    char path[4096], err[DC_ERR_LEN];
    size_t size;
    snprintf(path, sizeof path, "%s/tokenizers/cases.jsonl", fixtures);
    char *all = read_all(path, &size), *corpus = malloc(CORPUS_BYTES);
    if (!all || !corpus) return fprintf(stderr, "cannot read %s\n", path), 1;
    size_t n = build_corpus(all, size, corpus);
    printf("corpus: %.2f MB from %s\n", (double)n / 1e6, path);
    int status = 0;
    for (int f = 0; f < 4; f++) {
        snprintf(path, sizeof path, "%s/tokenizers/%s", fixtures, families[f]);
        dc_tokenizer *t = dc_tok_load(path, err);
        if (!t) {
            fprintf(stderr, "%s\n", err);
            status = 1;
            continue;
        }
        size_t n_ids;
        double mbs = bench_family(t, corpus, n, &n_ids);
        printf("%-12s %7.1f MB/s (CPU time)  (%zu tokens, %.2f bytes/token)\n", families[f], mbs, n_ids,
               (double)n / (double)n_ids);
        dc_tok_free(t);
    }
    free(corpus);
    free(all);
    return status;
}
