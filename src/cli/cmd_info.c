/* cmd_info.c - `deepc info FILE`: prints deepc_file_describe's summary of a
 * GGUF model file. A file the reader rejects gives one line
 * "deepc info: <message>" on stderr and exit status 1 (2 for a usage error). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_info(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') return cli_fail("info", 2, "usage: deepc info MODEL.gguf");
    char err[DEEPC_ERR_LEN];
    char *text = deepc_file_describe(argv[1], err);
    if (!text) return cli_fail("info", 1, "%s", err);
    fputs(text, stdout);
    free(text);
    return 0;
}
