/*
 * target.c: instruction-set targets. Each has the compiler flags generated
 * code needs, a run-time check of whether this CPU executes it, so tests
 * skip (never pass) what the machine cannot run, and the cost model's crossover
 * between the low-bit kernel families: the largest k_a x k_w a layer runs
 * bit-serial (k_a k_w AND + popcount passes) rather than as int8 dot products.
 * AVX2 has no vector popcount: measured on Zen 3 (bench_lowbit.py --variants),
 * 2x2 bits and 3x1 run faster as int8, 1x2 and 1x1 bit-serial. AVX-512
 * (vpopcntq), NEON (cnt) and generic C (popcnt against pmaddwd) keep 5, the ratio
 * of their 1-bit and int8 peaks.
 */
#include "codegen.h"

#include <string.h>

static const struct {
    const char *name, *cflags;
    int bitserial_max;
} targets[TARGET_COUNT] = {
    [TARGET_GENERIC] = {"generic", "", 5},
    [TARGET_AVX2] = {"avx2", "-mavx2 -mfma -mbmi2 -mpopcnt", 2},
    [TARGET_AVX512] = {"avx512", "-mavx2 -mfma -mbmi2 -mpopcnt -mavx512f -mavx512bw -mavx512vl "
                                 "-mavx512dq -mavx512vpopcntdq -mavx512vnni", 5},
    [TARGET_NEON] = {"neon", "", 5},
};

const char *target_name(Target t) { return targets[t].name; }
const char *target_cflags(Target t) { return targets[t].cflags; }
int target_bitserial_max(Target t) { return targets[t].bitserial_max; }

bool target_runs_here(Target t)
{
    switch (t) {
    case TARGET_GENERIC: return true;
#if defined(__x86_64__) || defined(__i386__)
    case TARGET_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
    case TARGET_AVX512:
        return target_runs_here(TARGET_AVX2) && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vpopcntdq") &&
               __builtin_cpu_supports("avx512vnni");
    case TARGET_NEON: return false;
#else
    case TARGET_AVX2:
    case TARGET_AVX512: return false;
#if defined(__aarch64__)
    case TARGET_NEON: return true;
#else
    case TARGET_NEON: return false;
#endif
#endif
    case TARGET_COUNT: break;
    }
    return false;
}

Target target_native(void)
{
    if (target_runs_here(TARGET_AVX512))
        return TARGET_AVX512;
    if (target_runs_here(TARGET_AVX2))
        return TARGET_AVX2;
    if (target_runs_here(TARGET_NEON))
        return TARGET_NEON;
    return TARGET_GENERIC;
}

Status target_parse(const char *s, Target *t, Diag *d)
{
    if (strcmp(s, "native") == 0) {
        *t = target_native();
        return WR_OK;
    }
    for (int i = 0; i < TARGET_COUNT; i++)
        if (strcmp(s, targets[i].name) == 0) {
            *t = (Target)i;
            return WR_OK;
        }
    return diag_error(d, WR_EUSAGE, "unknown target '%s' (generic, avx2, avx512, neon, native)", s);
}
