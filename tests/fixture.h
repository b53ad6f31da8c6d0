/* fixture.h - reading the shared reference fixtures from tests.
 *
 * Paths are relative to fixtures_dir() (check.h): DEEPC_FIXTURES or
 * ../shared/fixtures. JSON is parsed with cJSON; callers free with
 * cJSON_Delete. Strings returned by fixture_path live in a static buffer.
 */
#ifndef DC_FIXTURE_H
#define DC_FIXTURE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* fixtures_dir()/rel (static buffer, valid until the next call). */
const char *fixture_path(const char *rel);
/* Parses a JSON file; NULL (message printed) on failure. */
cJSON *fixture_json(const char *path);
/* Sorted names (without directory) of models/NAME.gguf matching the POSIX
 * extended regex; returns the count, *names malloc'ed (free with
 * fixture_free_names). */
int fixture_models(const char *regex, char ***names);
void fixture_free_names(char **names, int n);
/* Copies a JSON array of integers into a malloc'ed int32 array. */
int32_t *fixture_ints(const cJSON *arr, int *n);
/* Whole file contents (malloc'ed, *size set), NULL on failure. */
void *fixture_read_file(const char *path, size_t *size);

#endif
