/*
 * wrpnc_pack.h: the packed low-bit layouts, shared by the compiler and by
 * generated code (wrpnc embeds this file; emitters paste it into NAME.c, so
 * the two sides cannot drift apart). C99, no dependencies beyond <stdint.h>,
 * every function static inline, every symbol prefixed wrpnc_ / WRPNC_.
 *
 * Three layouts live here:
 *   1. activation bit planes (unsigned k-bit codes, k = 1..8),
 *   2. sign-magnitude weight planes P_j / N_j (signed codes, |q| < 2^(k-1)),
 *   3. the ONNX sub-byte container (int4/uint4, int2/uint2 tensors in files).
 */
#ifndef WRPNC_PACK_H
#define WRPNC_PACK_H

#include <stdint.h>

/* every helper is static inline; unused ones must not warn in generated code */
#if defined(__GNUC__) || defined(__clang__)
#define WRPNC_INLINE static inline __attribute__((unused))
#else
#define WRPNC_INLINE static inline
#endif

/* ---- bit-field macros (after Lua's MASK1 / getarg / setarg) ---- */

/* n low bits set, 0 <= n <= 64 */
#define WRPNC_MASK64(n) ((n) >= 64 ? ~UINT64_C(0) : ((UINT64_C(1) << (n)) - 1))
/* the n-bit field of w starting at bit pos */
#define WRPNC_GETBITS(w, pos, n) (((w) >> (pos)) & WRPNC_MASK64(n))
/* w with its n-bit field at pos replaced by v (v is masked to n bits) */
#define WRPNC_SETBITS(w, v, pos, n)                                                                \
    (((w) & ~(WRPNC_MASK64(n) << (pos))) | (((uint64_t)(v) & WRPNC_MASK64(n)) << (pos)))
/* 64-bit words per bit plane of K elements */
#define WRPNC_PLANE_WORDS(K) (((K) + 63) / 64)

WRPNC_INLINE int wrpnc_popcount64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_popcountll(x);
#else
    x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
    x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
    x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
    return (int)((x * UINT64_C(0x0101010101010101)) >> 56);
#endif
}

/* ---- 1. activation bit planes ----
 *
 * K unsigned codes a[0..K) of k bits become k planes of W = WRPNC_PLANE_WORDS(K)
 * words each; plane i holds bit i of every code, element e at bit e%64 of word e/64:
 *
 *   word    |  63  62  ...   1   0  |
 *   A_i[w]  | a63 a62 ...  a1  a0   |   bit b = bit i of a[64w + b]
 *
 *   planes[i * W + w] = A_i[w],  i = 0..k-1 (plane 0 = least significant bit)
 *
 * Tail bits past K are zero, so zero padding (code 0) and the tail cost nothing
 * in AND+popcount sums. */
WRPNC_INLINE void wrpnc_pack_planes_u8(const uint8_t *a, int64_t K, int k, uint64_t *planes)
{
    int64_t W = WRPNC_PLANE_WORDS(K);
    for (int64_t j = 0; j < (int64_t)k * W; j++)
        planes[j] = 0;
    for (int64_t e = 0; e < K; e++)
        for (int i = 0; i < k; i++)
            planes[i * W + e / 64] |= (uint64_t)((a[e] >> i) & 1u) << (e % 64);
}

WRPNC_INLINE void wrpnc_unpack_planes_u8(const uint64_t *planes, int64_t K, int k, uint8_t *a)
{
    int64_t W = WRPNC_PLANE_WORDS(K);
    for (int64_t e = 0; e < K; e++) {
        unsigned v = 0;
        for (int i = 0; i < k; i++)
            v |= (unsigned)WRPNC_GETBITS(planes[i * W + e / 64], e % 64, 1) << i;
        a[e] = (uint8_t)v;
    }
}

/* One code of a pixel's planes (layouts.def PLANES): px points at the pixel's first
 * word, CW words per plane; channel c; signed codes are two's complement. */
WRPNC_INLINE int32_t wrpnc_planes_get(const uint64_t *px, int64_t CW, int bits, int64_t c,
                                      int is_signed)
{
    uint32_t v = 0;
    for (int i = 0; i < bits; i++)
        v |= (uint32_t)WRPNC_GETBITS(px[i * CW + c / 64], c % 64, 1) << i;
    if (is_signed && ((v >> (bits - 1)) & 1u))
        v |= ~0u << bits;
    return (int32_t)v;
}

/* ORs code into a pixel's planes (zeroed before). */
WRPNC_INLINE void wrpnc_planes_put(uint64_t *px, int64_t CW, int bits, int64_t c, int32_t code)
{
    for (int i = 0; i < bits; i++)
        px[i * CW + c / 64] |= (uint64_t)(((uint32_t)code >> i) & 1u) << (c % 64);
}

/* ---- 2. sign-magnitude weight planes ----
 *
 * K signed codes q[0..K) with |q| <= 2^m - 1 (m = k_w - 1 magnitude bits; for
 * binary weights m = 1 and q in {-1, +1}) become 2m planes of W words:
 *
 *   P_j[w] bit b = bit j of |q[64w+b]|  if q[64w+b] > 0, else 0
 *   N_j[w] bit b = bit j of |q[64w+b]|  if q[64w+b] < 0, else 0
 *
 *   P[j * W + w] = P_j[w],  N[j * W + w] = N_j[w],  j = 0..m-1
 *
 * so that sum_e a[e] q[e] = sum_i sum_j 2^(i+j) (pop(A_i & P_j) - pop(A_i & N_j)).
 * Zero weights set no bit; an all-zero filter has all-zero planes. */
WRPNC_INLINE void wrpnc_pack_signmag_i8(const int8_t *q, int64_t K, int m, uint64_t *P,
                                         uint64_t *N)
{
    int64_t W = WRPNC_PLANE_WORDS(K);
    for (int64_t j = 0; j < (int64_t)m * W; j++)
        P[j] = N[j] = 0;
    for (int64_t e = 0; e < K; e++) {
        unsigned mag = (unsigned)(q[e] < 0 ? -q[e] : q[e]);
        uint64_t *dst = q[e] < 0 ? N : P;
        for (int j = 0; j < m; j++)
            dst[j * W + e / 64] |= (uint64_t)((mag >> j) & 1u) << (e % 64);
    }
}

WRPNC_INLINE void wrpnc_unpack_signmag_i8(const uint64_t *P, const uint64_t *N, int64_t K, int m,
                                           int8_t *q)
{
    int64_t W = WRPNC_PLANE_WORDS(K);
    for (int64_t e = 0; e < K; e++) {
        int pos = 0, neg = 0;
        for (int j = 0; j < m; j++) {
            pos |= (int)WRPNC_GETBITS(P[j * W + e / 64], e % 64, 1) << j;
            neg |= (int)WRPNC_GETBITS(N[j * W + e / 64], e % 64, 1) << j;
        }
        q[e] = (int8_t)(pos - neg);
    }
}

/* ---- 3. ONNX sub-byte containers (TensorProto raw_data of int4/uint4/int2/uint2) ----
 *
 * Elements are packed low bits first; an odd tail leaves the high bits zero.
 *
 *   4-bit:  byte | 7 6 5 4 | 3 2 1 0 |       byte j = x[2j] | x[2j+1] << 4
 *                | x[2j+1] |  x[2j]  |
 *
 *   2-bit:  byte | 7 6 | 5 4 | 3 2 | 1 0 |   byte j = x0 | x1 << 2 | x2 << 4 | x3 << 6
 *                | x3  | x2  | x1  | x0  |   (x_t = x[4j + t])
 *
 * In memory (IR constants, generated-code tensors) wrpnc keeps these types one
 * element per byte, sign-extended for int4/int2; packing happens at file edges. */
#define WRPNC_SUBBYTE_BYTES(n, bits) (((n) * (bits) + 7) / 8)

/* x[0..n) (each in the low `bits` bits, any sign) into packed bytes */
WRPNC_INLINE void wrpnc_pack_subbyte(const uint8_t *x, int64_t n, int bits, uint8_t *out)
{
    int per = 8 / bits;
    for (int64_t j = 0; j < WRPNC_SUBBYTE_BYTES(n, bits); j++)
        out[j] = 0;
    for (int64_t e = 0; e < n; e++)
        out[e / per] = (uint8_t)WRPNC_SETBITS(out[e / per], x[e], (e % per) * bits, bits);
}

/* packed bytes into x[0..n); sign-extended when is_signed */
WRPNC_INLINE void wrpnc_unpack_subbyte(const uint8_t *in, int64_t n, int bits, int is_signed,
                                        uint8_t *x)
{
    int per = 8 / bits;
    for (int64_t e = 0; e < n; e++) {
        unsigned v = (unsigned)WRPNC_GETBITS((uint64_t)in[e / per], (e % per) * bits, bits);
        if (is_signed && (v >> (bits - 1)))
            v |= ~0u << bits;
        x[e] = (uint8_t)v;
    }
}

#endif
