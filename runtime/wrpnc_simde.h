/*
 * wrpnc_simde.h: builds code generated for --target avx512 on a CPU without
 * AVX-512, through SIMDe ("SIMD Everywhere", Debian libsimde-dev, header only).
 * Included after <immintrin.h> (the emulation's compiler wrapper puts first on
 * the include path an <immintrin.h> that includes the compiler's own, then this
 * file) or force-included (-include wrpnc_simde.h), with the avx2 flags in place
 * of the -mavx512* ones: the AVX-512 intrinsics become SIMDe functions from AVX2,
 * so the code computes what the intrinsics specify (results to check, speeds to
 * ignore). The AVX-512 feature macros are defined after SIMDe (which would take
 * them for native support) so that the generated file's ISA guard passes.
 * `wrpnc run/verify --target avx512` use it where the CPU lacks AVX-512.
 */
#ifndef WRPNC_SIMDE_H
#define WRPNC_SIMDE_H

#if defined(__AVX512F__)
#error "wrpnc_simde.h emulates AVX-512: build without -mavx512* flags"
#endif
/* SIMDe includes libc headers: first, the POSIX level the harness asks for (same value) */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <immintrin.h>
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#define __AVX512F__ 1
#define __AVX512BW__ 1
#define __AVX512VL__ 1
#define __AVX512DQ__ 1
#define __AVX512VPOPCNTDQ__ 1
#define __AVX512VNNI__ 1

#endif
