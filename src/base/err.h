/* err.h - one-line error messages passed from the library to its callers.
 *
 * The library never prints and never exits. A function that can fail takes a
 * `char err[DC_ERR_LEN]` buffer, returns a failure status (NULL, false or a
 * negative number, as its declaration says) and writes a single line (no
 * trailing newline) into the buffer that names the file / field / value at
 * fault. Only src/cli turns that into a message on stderr and an exit code.
 */
#ifndef DC_ERR_H
#define DC_ERR_H

#include <stddef.h>

#define DC_ERR_LEN 512

#if defined(__GNUC__)
#define DC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define DC_PRINTF(f, a)
#endif

/* Formats a message into err (if err is not NULL). Newlines in the result are
 * replaced by spaces so the message stays one line. Always returns 0 / false
 * so callers can write `return dc_err(err, ...);` in functions returning int
 * status 0 = failure... see each caller. */
int dc_err(char *err, const char *fmt, ...) DC_PRINTF(2, 3);

#endif
