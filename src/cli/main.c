/* main.c - the deepc command: dispatches to one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../server/server.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"run", cmd_run, "run MODEL -p TEXT [-n N]              complete a prompt, streaming the text\n"
                     "  run MODEL --tokens 1,2,3 -n N --temp 0 --ignore-eos --print-ids   ids in, ids out (JSON)"},
    {"chat", cmd_chat, "chat MODEL [--system TEXT] [--hide-think] [--think on|off] [--reasoning-budget N]\n"
                       "                                        interactive chat with the model's template"},
    {"info", cmd_info, "info MODEL.gguf                       describe a model file"},
    {"tokenize", cmd_tokenize, "tokenize TOKENIZER \"text\" [--plain] [--add-special] | --jsonl\n"
                               "                                        token ids as JSON (TOKENIZER: GGUF, tokenizer.json or folder)"},
    {"template", cmd_template, "template TEMPLATE < vars.json         render a chat template (.jinja, GGUF, tokenizer_config.json)"},
    {"logits", cmd_logits, "logits MODEL --tokens 1,2,3           logits of every position as JSON"},
    {"bench", cmd_bench, "bench MODEL [-p 512] [-n 128] [-r 3] [-t N] [-o md|json] [--streams 1,4,16]\n"
                         "                                        prompt and generation speed (lists: 1,2,4)"},
    {"serve", cmd_serve, "serve MODEL [--host H] [--port P] [--api-key K | --api-key-file F] [--parallel N]\n"
                         "                                        OpenAI-compatible HTTP server (docs/server-api.md)"},
};

static int usage(FILE *out) {
    fprintf(out, "usage: deepc COMMAND [ARGS]   (deepc --version)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) fprintf(out, "  %s\n", commands[i].help);
    fprintf(out, "\ncommon options: -t N (threads, default all cores), -c N (context size),\n"
                 "  --kv-type f16|f32 (KV cache: f16 as llama.cpp's default, f32 exact)\n"
                 "sampling (run, chat): --temp T (0: greedy) --top-k N --top-p P --min-p P --repeat-penalty R\n"
                 "  --repeat-last-n N --presence-penalty P --frequency-penalty F --seed S (defaults: the model file's)\n");
    return out == stdout ? 0 : 2;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) return usage(stdout);
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) return printf("deepc %s\n", deepc_version()) < 0;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "deepc: unknown command '%s' (try deepc --help)\n", argv[1]);
    return 2;
}
