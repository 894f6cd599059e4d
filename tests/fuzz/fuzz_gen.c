/*
 * fuzz_gen.c: the model a fuzz_compile input describes, as files.
 *   fuzz_gen INPUT OUTDIR   writes OUTDIR/model.onnx and OUTDIR/args (the
 *                           wrpnc options of the description, one line)
 *   fuzz_gen --seeds DIR    writes the seed descriptions (fuzz_model.c) as DIR/<name>
 * Used by tests/fuzz/fuzz_diff.py (the differential run) and to turn a
 * finding into a regression model.
 */
#include "fuzz_model.h"

#include <stdio.h>
#include <stdlib.h>

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "fuzz_gen: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

static int seeds(const char *dir)
{
    char path[4096];
    for (int i = 0; i < fz_seed_count(); i++) {
        size_t n;
        const char *name;
        const uint8_t *b = fz_seed(i, &n, &name);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (write_file(path, b, n))
            return 1;
    }
    return 0;
}

static int generate(const char *input, const char *dir)
{
    FILE *f = fopen(input, "rb");
    static uint8_t buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (!f) {
        fprintf(stderr, "fuzz_gen: cannot read %s\n", input);
        return 1;
    }
    fclose(f);
    FzModel m;
    fz_model_build(buf, n, &m);
    char path[4096], args[512];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    int rc = write_file(path, m.bytes, m.len);
    fz_options_args(&m.opt, args, sizeof args - 1);
    snprintf(path, sizeof path, "%s/args", dir);
    size_t k = 0;
    while (args[k])
        k++;
    args[k++] = '\n';
    rc |= write_file(path, args, k);
    fz_model_free(&m);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && argv[1][0] == '-' && argv[1][1] == '-')
        return seeds(argv[2]);
    if (argc == 3)
        return generate(argv[1], argv[2]);
    fprintf(stderr, "usage: fuzz_gen INPUT OUTDIR | fuzz_gen --seeds DIR\n");
    return 2;
}
