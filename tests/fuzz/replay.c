/* replay.c — a main() for fuzz targets without libFuzzer: runs the target
 * once on each file named on the command line. Built with sanitizers, it
 * is how the regression inputs in regressions/<target>/ are replayed in the
 * ordinary test suite (tests/test_fuzz_regressions.py). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, used = 0;
    uint8_t *data = malloc(cap);
    size_t n;
    while (data != NULL && (n = fread(data + used, 1, cap - used, f)) > 0) {
        used += n;
        if (used == cap) {
            uint8_t *grown = realloc(data, cap *= 2);
            if (grown == NULL)
                free(data);
            data = grown;
        }
    }
    fclose(f);
    *len = used;
    return data;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        size_t len = 0;
        uint8_t *data = slurp(argv[i], &len);
        if (data == NULL) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 2;
        }
        LLVMFuzzerTestOneInput(data, len);
        free(data);
    }
    printf("replayed %d inputs\n", argc - 1);
    return 0;
}
