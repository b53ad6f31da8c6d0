/* fuzz_tokenizer.c - libFuzzer target for the tokenizer.
 *
 * Loads the Qwen3 tokenizer.json (NFC, one regex stage, added tokens) and the
 * DeepSeek-V3 one (three regex stages, 818 added tokens) once, from
 * $DEEPC_FIXTURES/tokenizers or ../shared/fixtures/tokenizers. The first
 * input byte picks the tokenizer, the rest is the text: arbitrary bytes,
 * invalid UTF-8 and NUL included. It is encoded with special tokens parsed,
 * as plain text and with BOS added; every encode must succeed with ids in
 * range, and the streaming detokenizer fed one id at a time must give the
 * same bytes as whole decoding, in chunks that are complete UTF-8 only.
 * Invariant violations trap; ASan/UBSan catch the rest. The tokenizers stay
 * loaded for the whole run (reachable, so not reported as leaks).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

static dc_tokenizer *toks[2];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    static const char *const families[2] = {"qwen3", "deepseek-v3"};
    const char *fixtures = getenv("DEEPC_FIXTURES");
    char path[4096], err[DC_ERR_LEN];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/tokenizers/%s", fixtures && *fixtures ? fixtures : "../shared/fixtures",
                 families[i]);
        toks[i] = dc_tok_load(path, err);
        if (!toks[i]) {
            fprintf(stderr, "fuzz_tokenizer: %s\n", err);
            exit(1);
        }
    }
    return 0;
}

/* Complete UTF-8 sequences only (what the stream promises). */
static bool complete_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x80                ? 1
                     : c >= 0xC2 && c < 0xE0 ? 2
                     : c >= 0xE0 && c < 0xF0 ? 3
                     : c >= 0xF0 && c < 0xF5 ? 4
                                             : 0;
        if (len == 0 || len > n - i) return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

static void check_stream(const dc_tokenizer *t, const dc_tok_ids *ids) {
    char err[DC_ERR_LEN];
    size_t whole_len, done = 0, len;
    char *whole = dc_tok_decode(t, ids->ids, ids->n, true, &whole_len, err);
    if (!whole) __builtin_trap();
    dc_detok d;
    dc_detok_init(&d, t, true);
    for (size_t i = 0; i <= ids->n; i++) {
        const char *chunk;
        if (i < ids->n && !dc_detok_feed(&d, ids->ids[i], &chunk, &len, err)) __builtin_trap();
        if (i == ids->n) chunk = dc_detok_flush(&d, &len);
        if (!complete_utf8((const unsigned char *)chunk, len) || len > whole_len - done ||
            memcmp(whole + done, chunk, len))
            __builtin_trap();
        done += len;
    }
    if (done != whole_len) __builtin_trap();
    dc_detok_free(&d);
    free(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const dc_tokenizer *t = toks[data[0] & 1];
    static const unsigned modes[] = {DC_TOK_PARSE_SPECIAL, 0, DC_TOK_ADD_SPECIAL | DC_TOK_PARSE_SPECIAL};
    dc_tok_ids ids = {0};
    char err[DC_ERR_LEN];
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        if (!dc_tok_encode(t, (const char *)data + 1, size - 1, modes[m], &ids, err)) __builtin_trap();
        for (size_t i = 0; i < ids.n; i++)
            if (ids.ids[i] < 0 || ids.ids[i] >= dc_tok_n_vocab(t)) __builtin_trap();
        check_stream(t, &ids);
    }
    dc_tok_ids_free(&ids);
    return 0;
}
