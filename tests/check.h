/* check.h - the few macros deepc's tests use.
 *
 * Each test is one executable (tests/test_*.c) that returns 0 when every
 * CHECK held. CHECK prints the failing expression with file:line and counts
 * it; tests keep going so one run shows every failure. Fixtures live in
 * ../shared/fixtures relative to the repo root, overridable with
 * DEEPC_FIXTURES (ctest sets it to an absolute path).
 */
#ifndef DC_CHECK_H
#define DC_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_failures __attribute__((unused));

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                    \
        }                                                                        \
    } while (0)

#define CHECKF(cond, ...)                                                        \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            check_failures++;                                                    \
        }                                                                        \
    } while (0)

static inline const char *fixtures_dir(void) {
    const char *d = getenv("DEEPC_FIXTURES");
    return d && *d ? d : "../shared/fixtures";
}

#define CHECK_DONE()                                                            \
    (check_failures ? (fprintf(stderr, "%d check(s) failed\n", check_failures), 1) : 0)

#endif
