/*
 * wrpnc_float.h: the narrow float formats of ONNX (float16, bfloat16, the four
 * float8 variants, float8e8m0, float4e2m1) and the sub-byte integer wrap,
 * converted to and from float with integer bit manipulation only (C99 has no
 * _Float16). Shared by the compiler (reference eval, constant folding, file
 * I/O) and by generated code (emitters paste this file into NAME.c), so both
 * round alike. Every symbol is prefixed wrpnc_ / WRPNC_, every function static.
 *
 * Storage: one code per uint16_t (float16, bfloat16) or uint8_t (the rest; the
 * float4 code in the low 4 bits, packed two per byte only in ONNX files).
 * Semantics follow onnx's reference (ml_dtypes casts, numpy_helper's
 * saturate_cast and to_float8e8m0):
 *   - rounding to nearest, ties to even, from the exact double value;
 *   - IEEE-like formats (float16, bfloat16, float8e5m2) overflow to infinity;
 *     float8e4m3fn and the *fnuz formats have no infinity and overflow to NaN;
 *     with saturate (Cast's attribute, float8 only) overflow and infinities
 *     clamp to the largest finite value; float4e2m1 always clamps;
 *   - *fnuz formats have no negative zero (NaN is the code 0x80);
 *   - float8e8m0 holds 2^(code - 127), code 0xFF is NaN; it is made from the
 *     float32 exponent with round_mode up / down / nearest as numpy_helper.
 */
#ifndef WRPNC_FLOAT_H
#define WRPNC_FLOAT_H

#include <stdint.h>

#ifndef WRPNC_INLINE
#if defined(__GNUC__) || defined(__clang__)
#define WRPNC_INLINE static inline __attribute__((unused))
#else
#define WRPNC_INLINE static inline
#endif
#endif

/* Kinds of special values a minifloat format has. */
enum {
    WRPNC_MF_IEEE = 0, /* all-ones exponent: infinities and NaNs */
    WRPNC_MF_FN = 1,   /* no infinity; only all-ones magnitude is NaN (e4m3fn) */
    WRPNC_MF_UZ = 2,   /* no infinity, no -0; NaN is the sign bit alone (fnuz) */
    WRPNC_MF_NONE = 3  /* no infinity, no NaN (e2m1) */
};
/* float8e8m0 rounding modes (Cast's round_mode) */
enum { WRPNC_E8M0_UP = 0, WRPNC_E8M0_DOWN = 1, WRPNC_E8M0_NEAREST = 2 };

WRPNC_INLINE int wrpnc_mf_bias(int E, int kind)
{
    return (1 << (E - 1)) - (kind == WRPNC_MF_UZ ? 0 : 1);
}

/* largest finite magnitude code */
WRPNC_INLINE uint32_t wrpnc_mf_max(int E, int M, int kind)
{
    if (kind == WRPNC_MF_IEEE)
        return (((1u << E) - 1u) << M) - 1u;
    return (1u << (E + M)) - (kind == WRPNC_MF_FN ? 2u : 1u);
}

WRPNC_INLINE uint32_t wrpnc_mf_nan(int E, int M, int kind, uint32_t sign, uint64_t mant52)
{
    if (kind == WRPNC_MF_IEEE) /* quiet, payload kept as numpy does */
        return sign | (((1u << E) - 1u) << M) | (1u << (M - 1)) | (uint32_t)(mant52 >> (52 - M));
    if (kind == WRPNC_MF_FN)
        return sign | ((1u << (E + M)) - 1u);
    if (kind == WRPNC_MF_UZ)
        return 1u << (E + M);
    return sign ^ (1u << (E + M)); /* no NaN: a zero, signed as ml_dtypes' float4_e2m1fn does */
}

/* magnitude code of |x| (finite, nonzero normal double bits a), rounded to
 * nearest even; codes past the largest finite one mean overflow */
WRPNC_INLINE uint32_t wrpnc_mf_round(uint64_t a, int E, int M, int kind)
{
    int e = (int)(a >> 52) - 1023, emin = 1 - wrpnc_mf_bias(E, kind);
    if (e - emin >= (1 << E))
        return 1u << (E + M); /* far past any finite value */
    uint64_t sig = (a & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1) << 52);
    int shift = 52 - M + (e < emin ? emin - e : 0);
    if (shift > 54)
        return 0;
    uint64_t q = sig >> shift, rem = sig & ((UINT64_C(1) << shift) - 1);
    uint64_t half = UINT64_C(1) << (shift - 1);
    if (rem > half || (rem == half && (q & 1)))
        q++;
    return e < emin ? (uint32_t)q : ((uint32_t)(e - emin) << M) + (uint32_t)q;
}

/* x into the E-exponent, M-mantissa format of the given kind */
WRPNC_INLINE uint32_t wrpnc_mf_encode(double x, int E, int M, int kind, int saturate)
{
    union { double d; uint64_t u; } v;
    v.d = x;
    uint32_t sign = (uint32_t)(v.u >> 63) << (E + M);
    uint64_t a = v.u & ~(UINT64_C(1) << 63);
    uint32_t maxc = wrpnc_mf_max(E, M, kind), code;
    if (a > UINT64_C(0x7ff0000000000000))
        return wrpnc_mf_nan(E, M, kind, sign, a & ((UINT64_C(1) << 52) - 1));
    if (a == UINT64_C(0x7ff0000000000000))
        code = maxc + 1;
    else if (a < UINT64_C(0x0010000000000000)) /* zero, or far below any format */
        code = 0;
    else
        code = wrpnc_mf_round(a, E, M, kind);
    if (code > maxc) {
        if (saturate || kind == WRPNC_MF_NONE)
            code = maxc;
        else if (kind == WRPNC_MF_IEEE)
            code = maxc + 1;
        else
            return wrpnc_mf_nan(E, M, kind, sign, 0);
    }
    if (code == 0 && kind == WRPNC_MF_UZ)
        return 0;
    return sign | code;
}

WRPNC_INLINE float wrpnc_mf_decode(uint32_t c, int E, int M, int kind)
{
    uint32_t sign = (c >> (E + M)) & 1u, mag = c & ((1u << (E + M)) - 1u);
    uint32_t ex = mag >> M, man = mag & ((1u << M) - 1u);
    int bias = wrpnc_mf_bias(E, kind);
    union { float f; uint32_t u; } v;
    if ((kind == WRPNC_MF_UZ && c == (1u << (E + M))) ||
        (kind == WRPNC_MF_FN && mag == (1u << (E + M)) - 1u))
        v.u = 0x7fc00000u;
    else if (kind == WRPNC_MF_IEEE && ex == (1u << E) - 1u)
        v.u = 0x7f800000u | (man << (23 - M));
    else if (ex == 0) { /* subnormal: man * 2^(1 - bias - M), exact in float */
        v.u = (uint32_t)(127 + 1 - bias - M) << 23;
        v.f *= (float)man;
    } else
        v.u = ((uint32_t)((int)ex - bias + 127) << 23) | (man << (23 - M));
    v.u |= sign << 31;
    return v.f;
}

/* ---- the ONNX formats ---- */

WRPNC_INLINE uint16_t wrpnc_f16_from_f64(double x)
{
    return (uint16_t)wrpnc_mf_encode(x, 5, 10, WRPNC_MF_IEEE, 0);
}
WRPNC_INLINE float wrpnc_f16_to_f32(uint16_t c) { return wrpnc_mf_decode(c, 5, 10, WRPNC_MF_IEEE); }

WRPNC_INLINE uint16_t wrpnc_bf16_from_f64(double x)
{
    return (uint16_t)wrpnc_mf_encode(x, 8, 7, WRPNC_MF_IEEE, 0);
}
/* bfloat16 is the top half of a float32 (its subnormals are float32's) */
WRPNC_INLINE float wrpnc_bf16_to_f32(uint16_t c)
{
    union { float f; uint32_t u; } v;
    v.u = (uint32_t)c << 16;
    return v.f;
}

WRPNC_INLINE uint8_t wrpnc_e4m3fn_from_f64(double x, int sat)
{
    return (uint8_t)wrpnc_mf_encode(x, 4, 3, WRPNC_MF_FN, sat);
}
WRPNC_INLINE float wrpnc_e4m3fn_to_f32(uint8_t c) { return wrpnc_mf_decode(c, 4, 3, WRPNC_MF_FN); }

WRPNC_INLINE uint8_t wrpnc_e4m3fnuz_from_f64(double x, int sat)
{
    return (uint8_t)wrpnc_mf_encode(x, 4, 3, WRPNC_MF_UZ, sat);
}
WRPNC_INLINE float wrpnc_e4m3fnuz_to_f32(uint8_t c)
{
    return wrpnc_mf_decode(c, 4, 3, WRPNC_MF_UZ);
}

WRPNC_INLINE uint8_t wrpnc_e5m2_from_f64(double x, int sat)
{
    return (uint8_t)wrpnc_mf_encode(x, 5, 2, WRPNC_MF_IEEE, sat);
}
WRPNC_INLINE float wrpnc_e5m2_to_f32(uint8_t c) { return wrpnc_mf_decode(c, 5, 2, WRPNC_MF_IEEE); }

WRPNC_INLINE uint8_t wrpnc_e5m2fnuz_from_f64(double x, int sat)
{
    return (uint8_t)wrpnc_mf_encode(x, 5, 2, WRPNC_MF_UZ, sat);
}
WRPNC_INLINE float wrpnc_e5m2fnuz_to_f32(uint8_t c)
{
    return wrpnc_mf_decode(c, 5, 2, WRPNC_MF_UZ);
}

WRPNC_INLINE uint8_t wrpnc_f4e2m1_from_f64(double x)
{
    return (uint8_t)wrpnc_mf_encode(x, 2, 1, WRPNC_MF_NONE, 1);
}
WRPNC_INLINE float wrpnc_f4e2m1_to_f32(uint8_t c)
{
    return wrpnc_mf_decode(c & 15u, 2, 1, WRPNC_MF_NONE);
}

/* from the float32 value's exponent, as onnx.numpy_helper.to_float8e8m0 */
WRPNC_INLINE uint8_t wrpnc_e8m0_from_f32(float x, int sat, int mode)
{
    union { float f; uint32_t u; } v;
    v.f = x;
    uint32_t ex = (v.u >> 23) & 0xffu, up = 0;
    if (ex == 0xffu)
        return 0xff;
    if (mode == WRPNC_E8M0_NEAREST)
        up = (v.u & 0x400000u) && ((v.u & 0x200000u) || (v.u & 0x1fffffu) || ex > 0);
    else if (mode == WRPNC_E8M0_UP)
        up = (v.u & 0x7fffffu) != 0;
    if (sat && ex == 0xfeu)
        up = 0;
    return (uint8_t)(ex + up);
}
WRPNC_INLINE float wrpnc_e8m0_to_f32(uint8_t c)
{
    union { float f; uint32_t u; } v;
    v.u = c == 0xff ? 0x7fc00000u : c == 0 ? 0x00400000u : (uint32_t)c << 23;
    return v.f;
}

/* ---- by TensorProto.DataType number (constant in generated code, so folded) ---- */

WRPNC_INLINE float wrpnc_narrow_to_f32(uint32_t c, int onnx_type)
{
    switch (onnx_type) {
    case 10: return wrpnc_f16_to_f32((uint16_t)c);
    case 16: return wrpnc_bf16_to_f32((uint16_t)c);
    case 17: return wrpnc_e4m3fn_to_f32((uint8_t)c);
    case 18: return wrpnc_e4m3fnuz_to_f32((uint8_t)c);
    case 19: return wrpnc_e5m2_to_f32((uint8_t)c);
    case 20: return wrpnc_e5m2fnuz_to_f32((uint8_t)c);
    case 23: return wrpnc_f4e2m1_to_f32((uint8_t)c);
    default: return wrpnc_e8m0_to_f32((uint8_t)c); /* 24 */
    }
}

WRPNC_INLINE uint32_t wrpnc_narrow_from_f64(double x, int onnx_type, int sat, int mode)
{
    switch (onnx_type) {
    case 10: return wrpnc_f16_from_f64(x);
    case 16: return wrpnc_bf16_from_f64(x);
    case 17: return wrpnc_e4m3fn_from_f64(x, sat);
    case 18: return wrpnc_e4m3fnuz_from_f64(x, sat);
    case 19: return wrpnc_e5m2_from_f64(x, sat);
    case 20: return wrpnc_e5m2fnuz_from_f64(x, sat);
    case 23: return wrpnc_f4e2m1_from_f64(x);
    default: return wrpnc_e8m0_from_f32((float)x, sat, mode); /* 24 */
    }
}

/* ---- integers ---- */

/* double to int64 truncating, as a C cast, but defined for NaN and huge values
 * (0 and the wrapped-around value numpy gives on x86) */
WRPNC_INLINE int64_t wrpnc_f64_to_i64(double x)
{
    if (x != x || x >= 9223372036854775808.0 || x < -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)x;
}

/* v wrapped to a bits-wide integer (two's complement), sign-extended if signed */
WRPNC_INLINE int32_t wrpnc_wrap_int(int64_t v, int bits, int is_signed)
{
    uint32_t u = (uint32_t)((uint64_t)v & ((UINT64_C(1) << bits) - 1));
    if (is_signed && (u >> (bits - 1)))
        return (int32_t)u - (int32_t)(1u << bits);
    return (int32_t)u;
}

#endif
