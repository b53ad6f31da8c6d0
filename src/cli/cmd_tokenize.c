/* cmd_tokenize.c - `deepc tokenize`: text to token ids as JSON.
 *
 *   deepc tokenize TOKENIZER [--] "text" [--plain] [--add-special]
 *   deepc tokenize TOKENIZER --jsonl [--plain] [--add-special]  < lines
 *
 * TOKENIZER is a GGUF model, a tokenizer.json or a folder holding one. The
 * ids are printed as one JSON array per input ([1,2,3], no spaces). With
 * --jsonl every stdin line (ended by \n) holds one JSON string literal; it
 * is decoded with deepc_json_string_decode (not cJSON, whose NUL-terminated
 * strings would lose "\u0000"), so any text, raw U+2028 included, works.
 * --plain treats special tokens as plain text; no BOS/EOS unless
 * --add-special. "--" ends the options (for a text starting with '-'). Errors: one "deepc tokenize: ..." line, exit 1;
 * usage errors exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CMD "tokenize"

typedef struct {
    const char *tokenizer, *text;
    bool jsonl;
    unsigned flags;
} tokenize_opts;

static int usage(void) {
    return cli_fail(CMD, 2, "usage: deepc tokenize TOKENIZER (\"text\" | --jsonl) [--plain] [--add-special]");
}

/* 0 ok, otherwise the exit status (message printed). */
static int parse_args(int argc, char **argv, tokenize_opts *o) {
    *o = (tokenize_opts){.flags = DEEPC_TOKENIZE_PARSE_SPECIAL};
    bool options = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options || a[0] != '-' || a[1] == '\0') {
            if (!o->tokenizer)
                o->tokenizer = a;
            else if (!o->text)
                o->text = a;
            else
                return cli_fail(CMD, 2, "unexpected argument '%.60s'", a);
        } else if (!strcmp(a, "--"))
            options = false;
        else if (!strcmp(a, "--plain"))
            o->flags &= ~(unsigned)DEEPC_TOKENIZE_PARSE_SPECIAL;
        else if (!strcmp(a, "--add-special"))
            o->flags |= DEEPC_TOKENIZE_ADD_SPECIAL;
        else if (!strcmp(a, "--jsonl"))
            o->jsonl = true;
        else
            return cli_fail(CMD, 2, "unknown option '%.60s'", a);
    }
    if (!o->tokenizer || (o->jsonl == (o->text != NULL))) return usage();
    return 0;
}

/* Prints ids as a JSON array line; false on a write error. */
static bool print_ids(const int32_t *ids, int64_t n) {
    char num[16];
    putchar('[');
    for (int64_t i = 0; i < n; i++) {
        int len = snprintf(num, sizeof num, i ? ",%d" : "%d", ids[i]);
        fwrite(num, 1, (size_t)len, stdout);
    }
    return fputs("]\n", stdout) != EOF;
}

static int tokenize_one(const deepc_tokenizer *t, const char *text, size_t len, unsigned flags, const char *where) {
    char err[DEEPC_ERR_LEN];
    int32_t *ids;
    const int64_t n = deepc_tokenize(t, text, len, flags, &ids, err);
    if (n < 0) return cli_fail(CMD, 1, "%s%s", where, err);
    const bool written = print_ids(ids, n);
    free(ids);
    return written ? 0 : cli_fail(CMD, 1, "cannot write the output");
}

/* Decodes one JSONL line: a JSON string literal, whitespace around it allowed. */
static char *line_string(const char *line, size_t n, size_t *len, char err[DEEPC_ERR_LEN]) {
    size_t start = strspn(line, " \t\r"), end;
    char *s = start < n ? deepc_json_string_decode(line + start, n - start, len, &end, err) : NULL;
    if (start >= n) snprintf(err, DEEPC_ERR_LEN, "expected a JSON string, got an empty line");
    if (s && start + end + strspn(line + start + end, " \t\r") < n) {
        free(s);
        s = NULL;
        snprintf(err, DEEPC_ERR_LEN, "unexpected text after the JSON string");
    }
    return s;
}

static int tokenize_jsonl(const deepc_tokenizer *t, unsigned flags) {
    char *line = NULL, err[DEEPC_ERR_LEN], where[48];
    size_t cap = 0;
    int status = 0;
    ssize_t got;
    for (unsigned long lineno = 1; status == 0 && (got = getline(&line, &cap, stdin)) >= 0; lineno++) {
        size_t n = (size_t)got;
        if (n && line[n - 1] == '\n') n--;
        size_t len;
        char *text = line_string(line, n, &len, err);
        snprintf(where, sizeof where, "stdin line %lu: ", lineno);
        status = text ? tokenize_one(t, text, len, flags, where) : cli_fail(CMD, 1, "%s%s", where, err);
        free(text);
    }
    free(line);
    if (status == 0 && ferror(stdin)) status = cli_fail(CMD, 1, "cannot read stdin");
    return status;
}

int cmd_tokenize(int argc, char **argv) {
    tokenize_opts o;
    int status = parse_args(argc, argv, &o);
    if (status) return status;
    char err[DEEPC_ERR_LEN];
    deepc_tokenizer *t = deepc_tokenizer_load(o.tokenizer, err);
    if (!t) return cli_fail(CMD, 1, "%s", err);
    status = o.jsonl ? tokenize_jsonl(t, o.flags) : tokenize_one(t, o.text, strlen(o.text), o.flags, "");
    if (status == 0 && fflush(stdout) != 0) status = cli_fail(CMD, 1, "cannot write the output");
    deepc_tokenizer_free(t);
    return status;
}
