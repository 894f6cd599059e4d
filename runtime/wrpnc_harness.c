/*
 * wrpnc_harness.c: the host program `wrpnc run`, `verify`, `compare` and the
 * benchmarks build around generated code. Reads each input from a raw
 * little-endian file, runs the model WARMUP times untimed (at least once when
 * REPS > 1), then REPS timed times, prints the medians, writes raw outputs.
 *
 *   harness [-r REPS] [-w WARMUP] [-b NAME.bin] IN_0.bin ... OUT_0.bin ...
 *   harness -n N [-b NAME.bin] IN_0.bin ... OUT_0.bin ...
 *
 * With -n (`wrpnc compare` runs every sample in one process), each input file holds
 * N samples of that input back to back and each output file receives N samples of
 * that output; nothing is timed.
 *
 * The one timing method of the project: median_ns is the median over the REPS
 * runs of each run's process CPU time (CLOCK_PROCESS_CPUTIME_ID; the generated
 * code is single-threaded, so on an idle core it equals the latency, and time
 * spent waiting for a core on a loaded machine does not count); min_ns its
 * minimum; wall_median_ns the wall-clock median, for reference.
 *
 * Built with -DWRPNC_HEADER='"NAME.h"' -DWRPNC_NAME=NAME -DWRPNC_UNAME=UPPER,
 * and -DWRPNC_WEIGHTS_BLOB for code generated with --weights blob (then -b
 * names the weights file, loaded once at a 64-byte aligned address).
 */
#define _POSIX_C_SOURCE 200809L
#include WRPNC_HEADER

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static int read_raw(const char *path, void *buf, long long n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fprintf(stderr, "harness: cannot open %s\n", path), -1;
    long long got = (long long)fread(buf, 1, (size_t)n, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != n || extra)
        return fprintf(stderr, "harness: %s must hold exactly %lld bytes\n", path, n), -1;
    return 0;
}

static int write_raw(const char *path, const void *buf, long long n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
        if (f)
            fclose(f);
        return fprintf(stderr, "harness: cannot write %s\n", path), -1;
    }
    return fclose(f);
}

static double now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#ifdef WRPNC_WEIGHTS_BLOB
static void *weights;
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
            return fprintf(stderr, "harness: cannot open %s\n", paths[i]), -1;
    return 0;
}

/* -n N: runs N samples read back to back from the input files, untimed. */
static int run_samples(long n, char **paths, void **in, void **out, void *ws)
{
    FILE *f[NI + NO + 1];
    if (open_all(paths, f))
        return 1;
    for (long s = 0; s < n; s++) {
        for (int i = 0; i < NI; i++)
            if ((long long)fread(in[i], 1, (size_t)in_bytes[i], f[i]) != in_bytes[i])
                return fprintf(stderr, "harness: %s holds fewer than %ld samples\n", paths[i],
                               n), 1;
        RUN(in, out, ws);
        for (int i = 0; i < NO; i++)
            if (fwrite(out[i], 1, (size_t)out_bytes[i], f[NI + i]) != (size_t)out_bytes[i])
                return fprintf(stderr, "harness: cannot write %s\n", paths[NI + i]), 1;
    }
    int rc = 0;
    for (int i = 0; i < NI + NO; i++)
        rc |= fclose(f[i]) != 0;
    return rc;
}

/* Runs warm + reps times, prints the medians, writes the outputs. */
static int run_timed(int reps, int warm, char **paths, void **in, void **out, void *ws)
{
    double *t = malloc(sizeof(double) * 2 * (size_t)reps);
    if (!t)
        return 1;
    for (int i = 0; i < NI; i++)
        if (read_raw(paths[i], in[i], in_bytes[i])) {
            free(t);
            return 1;
        }
    double *wall = t + reps;
    if (reps > 1 && warm < 1)
        warm = 1; /* the first run pays the page faults of workspace and weights */
    for (int r = 0; r < warm; r++)
        RUN(in, out, ws);
    for (int r = 0; r < reps; r++) {
        double w0 = now_ns(CLOCK_MONOTONIC), t0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
        RUN(in, out, ws);
        t[r] = now_ns(CLOCK_PROCESS_CPUTIME_ID) - t0;
        wall[r] = now_ns(CLOCK_MONOTONIC) - w0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    qsort(wall, (size_t)reps, sizeof *wall, cmp_double);
    printf("median_ns %.0f\nmin_ns %.0f\nwall_median_ns %.0f\nreps %d\nwarmup %d\n", t[reps / 2],
           t[0], wall[reps / 2], reps, warm);
    free(t);
    for (int i = 0; i < NO; i++)
        if (write_raw(paths[NI + i], out[i], out_bytes[i]))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int reps = 1, warm = 0, a = 1;
    long n = 0;
    const char *blob = NULL;
    for (; a + 1 < argc && argv[a][0] == '-'; a += 2) {
        if (strcmp(argv[a], "-r") == 0)
            reps = (int)strtol(argv[a + 1], NULL, 10); /* wrpnc run checked it */
        else if (strcmp(argv[a], "-w") == 0)
            warm = (int)strtol(argv[a + 1], NULL, 10);
        else if (strcmp(argv[a], "-n") == 0)
            n = strtol(argv[a + 1], NULL, 10);
        else if (strcmp(argv[a], "-b") == 0)
            blob = argv[a + 1];
    }
#ifdef WRPNC_WEIGHTS_BLOB
    weights = aligned((size_t)M(_WEIGHTS_BYTES));
    if (!blob || !weights) {
        fprintf(stderr, "%s: -b NAME.bin is required\n", argv[0]);
        return 2;
    }
    if (read_raw(blob, weights, M(_WEIGHTS_BYTES)))
        return 1;
#else
    (void)blob;
#endif
    if (argc - a != NI + NO || reps < 1 || n < 0) {
        fprintf(stderr, "usage: %s [-r REPS] [-w WARMUP] [-n SAMPLES] %d inputs, %d outputs\n",
                argv[0], NI, NO);
        return 2;
    }
    void *in[NI + 1], *out[NO + 1];
    for (int i = 0; i < NI; i++)
        if (!(in[i] = aligned((size_t)in_bytes[i])))
            return 1;
    for (int i = 0; i < NO; i++)
        if (!(out[i] = aligned((size_t)out_bytes[i])))
            return 1;
    void *ws = aligned(M(_WORKSPACE_BYTES));
    int rc = !ws ? 1 : n ? run_samples(n, argv + a, in, out, ws)
                         : run_timed(reps, warm, argv + a, in, out, ws);
    for (int i = 0; i < NI; i++)
        free(in[i]);
    for (int i = 0; i < NO; i++)
        free(out[i]);
    free(ws);
#ifdef WRPNC_WEIGHTS_BLOB
    free(weights);
#endif
    return rc;
}
