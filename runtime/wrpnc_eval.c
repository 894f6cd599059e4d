/*
 * wrpnc_eval.c: the host program `wrpnc compare` builds around generated code
 * to run many samples in one process (timing is the harness's job). Each input
 * file holds N samples of that input back to back; each output file receives
 * N samples of that output.
 *
 *   eval [-b NAME.bin] N IN_0.bin ... OUT_0.bin ...
 *
 * Built like wrpnc_harness.c: -DWRPNC_HEADER='"NAME.h"' -DWRPNC_NAME=NAME
 * -DWRPNC_UNAME=UPPER, and -DWRPNC_WEIGHTS_BLOB for --weights blob.
 */
#define _POSIX_C_SOURCE 200809L
#include WRPNC_HEADER

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define M(x) CAT(WRPNC_UNAME, x)
#define F(x) CAT(WRPNC_NAME, x)

static const long long in_bytes[] = M(_INPUT_BYTES_LIST);
static const long long out_bytes[] = M(_OUTPUT_BYTES_LIST);

static void *aligned(size_t n)
{
    void *p = NULL;
    size_t sz = (n + 63) / 64 * 64;
    if (posix_memalign(&p, 64, sz ? sz : 64) != 0)
        return NULL;
    memset(p, 0, sz ? sz : 64);
    return p;
}

/* Reads exactly n bytes from f into buf. */
static int read_exact(FILE *f, void *buf, long long n, const char *path)
{
    if ((long long)fread(buf, 1, (size_t)n, f) != n)
        return fprintf(stderr, "eval: %s is too short\n", path), -1;
    return 0;
}

#ifdef WRPNC_WEIGHTS_BLOB
#define RUN(in, out, ws) F(_run_v)((const void *const *)(in), (out), (ws), weights)
#else
#define RUN(in, out, ws) F(_run_v)((const void *const *)(in), (out), (ws))
#endif

enum { NI = M(_NUM_INPUTS), NO = M(_NUM_OUTPUTS) };

/* Opens the NI input files for reading and the NO output files for writing. */
static int open_all(char **paths, FILE **f)
{
    for (int i = 0; i < NI + NO; i++)
        if (!(f[i] = fopen(paths[i], i < NI ? "rb" : "wb")))
            return fprintf(stderr, "eval: cannot open %s\n", paths[i]), -1;
    return 0;
}

int main(int argc, char **argv)
{
    int a = 1;
    const char *blob = NULL;
    if (a + 1 < argc && strcmp(argv[a], "-b") == 0) {
        blob = argv[a + 1];
        a += 2;
    }
#ifdef WRPNC_WEIGHTS_BLOB
    void *weights = aligned((size_t)M(_WEIGHTS_BYTES));
    FILE *bf = blob ? fopen(blob, "rb") : NULL;
    if (!weights || !bf || read_exact(bf, weights, M(_WEIGHTS_BYTES), blob))
        return fprintf(stderr, "%s: -b NAME.bin is required\n", argv[0]), 2;
    fclose(bf);
#else
    (void)blob;
#endif
    if (argc - a != 1 + NI + NO)
        return fprintf(stderr, "usage: %s N %d inputs %d outputs\n", argv[0], NI, NO), 2;
    long n = strtol(argv[a], NULL, 10);
    void *in[NI + 1], *out[NO + 1];
    FILE *f[NI + NO + 1];
    if (open_all(argv + a + 1, f))
        return 1;
    for (int i = 0; i < NI; i++)
        if (!(in[i] = aligned((size_t)in_bytes[i])))
            return 1;
    for (int i = 0; i < NO; i++)
        if (!(out[i] = aligned((size_t)out_bytes[i])))
            return 1;
    void *ws = aligned(M(_WORKSPACE_BYTES));
    for (long s = 0; ws && s < n; s++) {
        for (int i = 0; i < NI; i++)
            if (read_exact(f[i], in[i], in_bytes[i], argv[a + 1 + i]))
                return 1;
        RUN(in, out, ws);
        for (int i = 0; i < NO; i++)
            if (fwrite(out[i], 1, (size_t)out_bytes[i], f[NI + i]) != (size_t)out_bytes[i])
                return fprintf(stderr, "eval: cannot write %s\n", argv[a + 1 + NI + i]), 1;
    }
    for (int i = 0; i < NI + NO; i++)
        if (fclose(f[i]) != 0)
            return 1;
    return ws ? 0 : 1;
}
