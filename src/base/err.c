/* err.c - see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int dc_err(char *err, const char *fmt, ...) {
    if (!err) return 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, DC_ERR_LEN, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return 0;
}
