/* fixture.c - see fixture.h. */
#include "fixture.h"

#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

const char *fixture_path(const char *rel) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", fixtures_dir(), rel);
    return buf;
}

void *fixture_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *size = (size_t)n;
    }
    return buf;
}

cJSON *fixture_json(const char *path) {
    size_t n;
    char *text = fixture_read_file(path, &n);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", path);
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(text, n);
    free(text);
    if (!j) fprintf(stderr, "cannot parse %s\n", path);
    return j;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int fixture_models(const char *regex, char ***names) {
    regex_t re;
    *names = NULL;
    if (regcomp(&re, regex, REG_EXTENDED | REG_NOSUB) != 0) return 0;
    DIR *d = opendir(fixture_path("models"));
    int n = 0, cap = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".gguf")) continue;
        char *stem = strndup(e->d_name, len - 5);
        if (regexec(&re, stem, 0, NULL, 0)) {
            free(stem);
            continue;
        }
        if (n == cap) *names = realloc(*names, sizeof(char *) * (size_t)(cap = cap ? cap * 2 : 16));
        (*names)[n++] = stem;
    }
    if (d) closedir(d);
    regfree(&re);
    if (n) qsort(*names, (size_t)n, sizeof(char *), cmp_names);
    return n;
}

void fixture_free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

int32_t *fixture_ints(const cJSON *arr, int *n) {
    *n = cJSON_GetArraySize(arr);
    int32_t *v = malloc(sizeof(int32_t) * (size_t)(*n ? *n : 1));
    int i = 0;
    for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next) v[i++] = (int32_t)e->valuedouble;
    return v;
}
