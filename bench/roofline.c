/*
 * roofline.c: this CPU's per-core peak for the instruction mixes wrpnc's kernels
 * are built from, so that every benchmark line can be read as a fraction of it.
 * Built once per target with that target's flags (`wrpnc cflags --target T`), run by
 * bench/roofline.py. Each test keeps enough independent accumulators in registers
 * to reach the instruction throughput limit (not latency), loops over data that
 * never leaves registers, and reports the best of several timed runs:
 *   fp32    vfmadd231ps (avx2: ymm x 12 accumulators, avx512: zmm x 24), generic:
 *           mul + add on 4-float vectors; MAC = one multiply-add of one lane
 *   int8    avx2: vpmaddubsw + vpmaddwd(1) + vpaddd (the kernels' u8 x s8 dot, 32 MAC
 *           per ymm triple); avx512: vpdpbusd (64 MAC per zmm); generic: pmaddwd
 *           (SSE2, 8 MAC) or scalar C
 *   bin     1-bit MACs: AND (or XOR) + popcount + add; avx2: vpshufb nibble table
 *           into byte counters, vpsadbw every 32 steps; avx512: vpopcntq; generic:
 *           64-bit popcount (what the compiler makes of __builtin_popcountll)
 *   bs22    2x2-bit bit-serial: the 1-bit step on 2 activation x 2 weight planes
 *           (the MACs are a quarter of the 1-bit ones)
 * No performance counters in a VM: rates are GMAC/s (and G instructions/s), wall time
 * on one core. Output: one JSON object on stdout.
 *   roofline [SECONDS_PER_TEST]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__AVX2__) || defined(__SSE2__)
#include <immintrin.h>
#endif

/* Keeps the compiler from treating v as a loop invariant (costs no instruction). */
#define OPAQUE(v) __asm__ volatile("" : "+x"(v))
/* Accumulator arrays stay in registers only when their loops are unrolled. */
#define UNROLL _Pragma("GCC unroll 32")
#define OPAQUE_R(v) __asm__ volatile("" : "+r"(v))

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* CPU time: waiting for a core does not count */
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef uint64_t (*Kernel)(long iters);

typedef struct Test {
    const char *key, *what;
    Kernel fn;
    double macs_per_iter, instr_per_iter;
} Test;

static volatile uint64_t sink;

#if defined(__AVX512F__)
#define TARGET "avx512"
enum { FMA_ACC = 24, DOT_ACC = 16, POP_ACC = 12 };

static uint64_t k_fp32(long iters)
{
    __m512 acc[FMA_ACC], a = _mm512_set1_ps(1.0001f), b = _mm512_set1_ps(0.9999f);
    UNROLL for (int j = 0; j < FMA_ACC; j++) acc[j] = _mm512_set1_ps((float)j);
    for (long i = 0; i < iters; i++) {
        OPAQUE(a);
        UNROLL for (int j = 0; j < FMA_ACC; j++) acc[j] = _mm512_fmadd_ps(a, b, acc[j]);
    }
    UNROLL for (int j = 1; j < FMA_ACC; j++) acc[0] = _mm512_add_ps(acc[0], acc[j]);
    return (uint64_t)_mm512_reduce_add_ps(acc[0]);
}

static uint64_t k_int8(long iters)
{
    __m512i acc[DOT_ACC], a = _mm512_set1_epi8(3), w = _mm512_set1_epi8(-5);
    UNROLL for (int j = 0; j < DOT_ACC; j++) acc[j] = _mm512_setzero_si512();
    for (long i = 0; i < iters; i++) {
        OPAQUE(a);
        UNROLL for (int j = 0; j < DOT_ACC; j++) acc[j] = _mm512_dpbusd_epi32(acc[j], a, w);
    }
    UNROLL for (int j = 1; j < DOT_ACC; j++) acc[0] = _mm512_add_epi32(acc[0], acc[j]);
    return (uint64_t)_mm512_reduce_add_epi32(acc[0]);
}

/* One AND (or XOR) + vpopcntq + vpaddq per accumulator and step. */
static inline uint64_t k_pop(long iters, int use_xor)
{
    __m512i acc[POP_ACC], w[POP_ACC], a = _mm512_set1_epi64(0x5555aaaa3333cccc);
    UNROLL for (int j = 0; j < POP_ACC; j++) {
        acc[j] = _mm512_setzero_si512();
        w[j] = _mm512_set1_epi64(0x0f0f00ff12345678 + j); /* distinct: no common subexpression */
    }
    for (long i = 0; i < iters; i++) {
        OPAQUE(a);
        UNROLL for (int j = 0; j < POP_ACC; j++) {
            __m512i x = use_xor ? _mm512_xor_si512(a, w[j]) : _mm512_and_si512(a, w[j]);
            acc[j] = _mm512_add_epi64(acc[j], _mm512_popcnt_epi64(x));
        }
    }
    UNROLL for (int j = 1; j < POP_ACC; j++) acc[0] = _mm512_add_epi64(acc[0], acc[j]);
    return (uint64_t)_mm512_reduce_add_epi64(acc[0]);
}

/* 2 activation planes x 2 weight planes, 3 output-channel blocks: 12 counters. */
static uint64_t k_bs22(long iters)
{
    __m512i acc[12], w[6], a0 = _mm512_set1_epi64(0x5555aaaa3333cccc), a1 = _mm512_set1_epi64(77);
    UNROLL for (int j = 0; j < 6; j++) w[j] = _mm512_set1_epi64(0x0f0f00ff12345678 >> j);
    UNROLL for (int j = 0; j < 12; j++) acc[j] = _mm512_setzero_si512();
    for (long i = 0; i < iters; i++) {
        OPAQUE(a0);
        OPAQUE(a1);
        UNROLL for (int j = 0; j < 6; j++) {
            acc[2 * j] =
                _mm512_add_epi64(acc[2 * j], _mm512_popcnt_epi64(_mm512_and_si512(a0, w[j])));
            acc[2 * j + 1] =
                _mm512_add_epi64(acc[2 * j + 1], _mm512_popcnt_epi64(_mm512_and_si512(a1, w[j])));
        }
    }
    UNROLL for (int j = 1; j < 12; j++) acc[0] = _mm512_add_epi64(acc[0], acc[j]);
    return (uint64_t)_mm512_reduce_add_epi64(acc[0]);
}

static uint64_t k_and(long iters) { return k_pop(iters, 0); }
static uint64_t k_xor(long iters) { return k_pop(iters, 1); }

static const Test tests[] = {
    {"fp32", "vfmadd231ps zmm, 24 accumulators", k_fp32, 16.0 * FMA_ACC, FMA_ACC},
    {"int8", "vpdpbusd zmm (u8 x s8), 16 accumulators", k_int8, 64.0 * DOT_ACC, DOT_ACC},
    {"bin_and", "vpandq + vpopcntq + vpaddq zmm, 12 accumulators", k_and, 512.0 * POP_ACC,
     3 * POP_ACC},
    {"bin_xor", "vpxorq + vpopcntq + vpaddq zmm, 12 accumulators", k_xor, 512.0 * POP_ACC,
     3 * POP_ACC},
    {"bs22", "2x2-bit planes: vpandq + vpopcntq + vpaddq zmm", k_bs22, 512.0 * 12 / 4, 36},
};

#elif defined(__AVX2__)
#define TARGET "avx2"
enum { FMA_ACC = 12, DOT_ACC = 6, POP_ACC = 4, POP_STEPS = 32 };

static uint64_t k_fp32(long iters)
{
    __m256 acc[FMA_ACC], a = _mm256_set1_ps(1.0001f), b = _mm256_set1_ps(0.9999f);
    UNROLL for (int j = 0; j < FMA_ACC; j++) acc[j] = _mm256_set1_ps((float)j);
    for (long i = 0; i < iters; i++) {
        OPAQUE(a);
        UNROLL for (int j = 0; j < FMA_ACC; j++) acc[j] = _mm256_fmadd_ps(a, b, acc[j]);
    }
    float t[8];
    UNROLL for (int j = 1; j < FMA_ACC; j++) acc[0] = _mm256_add_ps(acc[0], acc[j]);
    _mm256_storeu_ps(t, acc[0]);
    return (uint64_t)t[0];
}

/* The AVX2 kernels' dot4: vpmaddubsw, vpmaddwd with ones, vpaddd. */
static uint64_t k_int8(long iters)
{
    __m256i acc[DOT_ACC], w[DOT_ACC], a = _mm256_set1_epi8(3);
    const __m256i one = _mm256_set1_epi16(1);
    UNROLL for (int j = 0; j < DOT_ACC; j++) {
        acc[j] = _mm256_setzero_si256();
        w[j] = _mm256_set1_epi8((char)(-5 - j)); /* distinct: no common subexpression */
    }
    for (long i = 0; i < iters; i++) {
        OPAQUE(a);
        UNROLL for (int j = 0; j < DOT_ACC; j++) acc[j] =
            _mm256_add_epi32(acc[j], _mm256_madd_epi16(_mm256_maddubs_epi16(a, w[j]), one));
    }
    UNROLL for (int j = 1; j < DOT_ACC; j++) acc[0] = _mm256_add_epi32(acc[0], acc[j]);
    return (uint64_t)_mm256_extract_epi32(acc[0], 0);
}

/* Popcount of each byte by two nibble-table lookups, added to byte counters. */
static inline __m256i cnt8(__m256i acc, __m256i x, __m256i lut, __m256i low)
{
    __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(x, low));
    __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(x, 4), low));
    return _mm256_add_epi8(acc, _mm256_add_epi8(lo, hi));
}

#define LUT4                                                                                   \
    _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, \
                     2, 2, 3, 2, 3, 3, 4)

/* POP_STEPS steps of AND (or XOR) + nibble popcount into byte counters (at most 8
 * per byte and step, 32 steps: no overflow), then vpsadbw into 64-bit lanes. Per
 * accumulator and step: op, vpsrlw, 2 vpand, 2 vpshufb, 2 vpaddb; per block of
 * steps: vpsadbw + vpaddq. */
static inline uint64_t k_pop(long iters, int use_xor)
{
    const __m256i lut = LUT4, low = _mm256_set1_epi8(0x0f), z = _mm256_setzero_si256();
    __m256i a = _mm256_set1_epi64x(0x5555aaaa3333cccc), w[POP_ACC], tot = z;
    UNROLL for (int j = 0; j < POP_ACC; j++) w[j] = _mm256_set1_epi64x(0x0f0f00ff12345678 + j);
    for (long i = 0; i < iters; i++) {
        __m256i c[POP_ACC];
        UNROLL for (int j = 0; j < POP_ACC; j++) c[j] = z;
        for (int s = 0; s < POP_STEPS; s++) {
            OPAQUE(a);
            UNROLL for (int j = 0; j < POP_ACC; j++) {
                __m256i x = use_xor ? _mm256_xor_si256(a, w[j]) : _mm256_and_si256(a, w[j]);
                c[j] = cnt8(c[j], x, lut, low);
            }
        }
        UNROLL for (int j = 0; j < POP_ACC; j++)
            tot = _mm256_add_epi64(tot, _mm256_sad_epu8(c[j], z));
    }
    return (uint64_t)_mm256_extract_epi64(tot, 0);
}

/* 2 activation planes x 2 weight planes, 2 output-channel blocks: 8 byte counters,
 * reduced every 16 steps and weighted by 2^(i + j). */
static uint64_t k_bs22(long iters)
{
    const __m256i lut = LUT4, low = _mm256_set1_epi8(0x0f), z = _mm256_setzero_si256();
    __m256i a0 = _mm256_set1_epi64x(0x5555aaaa3333cccc), a1 = _mm256_set1_epi64x(77), w[4], tot = z;
    UNROLL for (int j = 0; j < 4; j++) w[j] = _mm256_set1_epi64x(0x0f0f00ff12345678 >> j);
    for (long i = 0; i < iters; i++) {
        __m256i c[8];
        UNROLL for (int j = 0; j < 8; j++) c[j] = z;
        for (int s = 0; s < POP_STEPS / 2; s++) {
            OPAQUE(a0);
            OPAQUE(a1);
            UNROLL for (int j = 0; j < 4; j++) {
                c[2 * j] = cnt8(c[2 * j], _mm256_and_si256(a0, w[j]), lut, low);
                c[2 * j + 1] = cnt8(c[2 * j + 1], _mm256_and_si256(a1, w[j]), lut, low);
            }
        }
        UNROLL for (int j = 0; j < 8; j++)
            tot = _mm256_add_epi64(tot, _mm256_slli_epi64(_mm256_sad_epu8(c[j], z), j & 3));
    }
    return (uint64_t)_mm256_extract_epi64(tot, 0);
}

static uint64_t k_and(long iters) { return k_pop(iters, 0); }
static uint64_t k_xor(long iters) { return k_pop(iters, 1); }

static const Test tests[] = {
    {"fp32", "vfmadd231ps ymm, 12 accumulators", k_fp32, 8.0 * FMA_ACC, FMA_ACC},
    {"int8", "vpmaddubsw + vpmaddwd + vpaddd ymm (u8 x s8), 6 accumulators", k_int8,
     32.0 * DOT_ACC, 3 * DOT_ACC},
    {"bin_and", "vpand + vpshufb nibble popcount ymm, vpsadbw per 32 steps", k_and,
     256.0 * POP_ACC * POP_STEPS, (8.0 * POP_STEPS + 2) * POP_ACC},
    {"bin_xor", "vpxor + vpshufb nibble popcount ymm, vpsadbw per 32 steps", k_xor,
     256.0 * POP_ACC * POP_STEPS, (8.0 * POP_STEPS + 2) * POP_ACC},
    {"bs22", "2x2-bit planes: vpand + vpshufb nibble popcount ymm", k_bs22,
     256.0 * 8 * (POP_STEPS / 2) / 4, (8.0 * (POP_STEPS / 2) + 3) * 8},
};

#else
#define TARGET "generic"
enum { FMA_ACC = 12, DOT_ACC = 6, POP_ACC = 8 };
typedef float v4f __attribute__((vector_size(16)));

/* Baseline x86-64 has no FMA: mulps + addps on 4 lanes. */
static uint64_t k_fp32(long iters)
{
    const v4f b = {0.9999f, 0.9999f, 0.9999f, 0.9999f};
    v4f acc[FMA_ACC], a = {1.0001f, 1.0001f, 1.0001f, 1.0001f};
    UNROLL for (int j = 0; j < FMA_ACC; j++) acc[j] = (v4f){(float)j, 0, 0, 0};
    for (long i = 0; i < iters; i++) {
        OPAQUE(a);
        UNROLL for (int j = 0; j < FMA_ACC; j++) acc[j] += a * b;
    }
    UNROLL for (int j = 1; j < FMA_ACC; j++) acc[0] += acc[j];
    return (uint64_t)acc[0][0];
}

#if defined(__SSE2__)
/* pmaddwd + paddd: 8 int16 MACs (int8 codes widened) per instruction pair. */
static uint64_t k_int8(long iters)
{
    __m128i acc[DOT_ACC], w[DOT_ACC], a = _mm_set1_epi16(3);
    UNROLL for (int j = 0; j < DOT_ACC; j++) {
        acc[j] = _mm_setzero_si128();
        w[j] = _mm_set1_epi16((short)(-5 - j));
    }
    for (long i = 0; i < iters; i++) {
        OPAQUE(a);
        UNROLL for (int j = 0; j < DOT_ACC; j++)
            acc[j] = _mm_add_epi32(acc[j], _mm_madd_epi16(a, w[j]));
    }
    UNROLL for (int j = 1; j < DOT_ACC; j++) acc[0] = _mm_add_epi32(acc[0], acc[j]);
    return (uint64_t)_mm_cvtsi128_si32(acc[0]);
}
#define INT8_MACS 8.0
#define INT8_WHAT "pmaddwd + paddd xmm (SSE2)"
#else
static uint64_t k_int8(long iters)
{
    int32_t acc[DOT_ACC] = {0}, a = 3;
    for (long i = 0; i < iters; i++) {
        OPAQUE_R(a);
        UNROLL for (int j = 0; j < DOT_ACC; j++) acc[j] += a * (int32_t)(-5 - j);
    }
    return (uint64_t)acc[0];
}
#define INT8_MACS 1.0
#define INT8_WHAT "scalar C multiply-add"
#endif

static inline uint64_t k_pop(long iters, int use_xor)
{
    uint64_t acc[POP_ACC] = {0}, a = 0x5555aaaa3333ccccull;
    for (long i = 0; i < iters; i++) {
        OPAQUE_R(a);
        UNROLL for (int j = 0; j < POP_ACC; j++) {
            uint64_t w = 0x0f0f00ff12345678ull + (uint64_t)j;
            acc[j] += (uint64_t)__builtin_popcountll(use_xor ? a ^ w : a & w);
        }
    }
    return acc[0] + acc[POP_ACC - 1];
}

static uint64_t k_bs22(long iters)
{
    uint64_t acc[8] = {0}, a0 = 0x5555aaaa3333ccccull, a1 = 77;
    const uint64_t w[4] = {0x0f0f00ff12345678ull, 0x1234, 0xff00ff00, 0x77777};
    for (long i = 0; i < iters; i++) {
        OPAQUE_R(a0);
        OPAQUE_R(a1);
        UNROLL for (int j = 0; j < 4; j++) {
            acc[2 * j] += (uint64_t)__builtin_popcountll(a0 & w[j]);
            acc[2 * j + 1] += (uint64_t)__builtin_popcountll(a1 & w[j]);
        }
    }
    return acc[0] + acc[7];
}

static uint64_t k_and(long iters) { return k_pop(iters, 0); }
static uint64_t k_xor(long iters) { return k_pop(iters, 1); }

static const Test tests[] = {
    {"fp32", "mulps + addps xmm (no FMA in baseline x86-64), 12 accumulators", k_fp32,
     4.0 * FMA_ACC, 2 * FMA_ACC},
    {"int8", INT8_WHAT, k_int8, INT8_MACS * DOT_ACC, 2 * DOT_ACC},
    {"bin_and", "64-bit AND + __builtin_popcountll + add", k_and, 64.0 * POP_ACC, 3 * POP_ACC},
    {"bin_xor", "64-bit XOR + __builtin_popcountll + add", k_xor, 64.0 * POP_ACC, 3 * POP_ACC},
    {"bs22", "2x2-bit planes: 64-bit AND + popcount + add", k_bs22, 64.0 * 8 / 4, 24},
};
#endif

/* Seconds of the best of `runs` timed calls of fn(iters). */
static double best_time(Kernel fn, long iters, int runs)
{
    double best = 1e30;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        sink += fn(iters);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? strtod(argv[1], NULL) : 0.2; /* seconds per timed run */
    int n = (int)(sizeof tests / sizeof tests[0]);
    printf("{\"target\": \"%s\", \"tests\": [\n", TARGET);
    for (int i = 0; i < n; i++) {
        const Test *t = &tests[i];
        long iters = 1000;
        double s;
        while ((s = best_time(t->fn, iters, 1)) < budget / 8) /* calibrate */
            iters *= 2;
        iters = (long)((double)iters * budget / s) + 1;
        s = best_time(t->fn, iters, 5);
        double macs = t->macs_per_iter * (double)iters, ins = t->instr_per_iter * (double)iters;
        printf("  {\"key\": \"%s\", \"what\": \"%s\", \"gmac_s\": %.3f, \"ginstr_s\": %.3f}%s\n",
               t->key, t->what, macs / s * 1e-9, ins / s * 1e-9, i + 1 < n ? "," : "");
    }
    printf("]}\n");
    return 0;
}
