/*
 * fuzz_model.h: fuzz input bytes -> a small ONNX model plus compile options.
 * Shared by fuzz_compile.c (libFuzzer: load, passes, code generator) and
 * fuzz_gen.c (writes the model and its options for the differential run,
 * tests/fuzz/fuzz_diff.py). The byte format is in fuzz_model.c.
 */
#ifndef WRPNC_FUZZ_MODEL_H
#define WRPNC_FUZZ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct FzOptions {
    int wbits, abits;   /* --wbits / --abits, 0: not given */
    bool quantize_all;  /* --quantize-all */
    bool no_pack;       /* --no-pack */
    bool no_fuse;       /* --no-fuse */
    int kernel;         /* --kernel: 0 auto, 1 bitserial, 2 int8 */
    int target;         /* codegen Target: generic, avx2, avx512, neon */
    int width;          /* --width, 1 or 2 (with --init random) */
} FzOptions;

typedef struct FzModel {
    uint8_t *bytes; /* a serialized ModelProto, malloc'ed */
    size_t len;
    FzOptions opt;
} FzModel;

/* Decodes data (any bytes: missing ones read as zero) into m. */
void fz_model_build(const uint8_t *data, size_t size, FzModel *m);
void fz_model_free(FzModel *m);
/* The options as wrpnc command-line words ("--wbits 2 --abits 2 --target avx2"). */
void fz_options_args(const FzOptions *o, char *buf, size_t n);

/* Seed descriptions: count, and the bytes of seed i (named *name). */
int fz_seed_count(void);
const uint8_t *fz_seed(int i, size_t *len, const char **name);

#endif
