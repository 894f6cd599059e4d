/*
 * lowbit.h: what the QConv emitters share (lowbit.c: the epilogue and the generic-C
 * kernels; lowbit_simd.c: the AVX2 and AVX-512 kernels; lowbit_neon.c: the AArch64
 * NEON ones). Every kernel computes the exact int32 accumulator of ir/ops/qconv.c.
 */
#ifndef WRPNC_LOWBIT_H
#define WRPNC_LOWBIT_H

#include "codegen.h"
#include "opparams.h"
#include "quant.h"

typedef Status (*QConvEmitFn)(Emitter *e, const Node *n, Diag *d);

/* Magnitude bits of the sign-magnitude weight planes (binary weights: 1). */
int lowbit_mbits(const QConvParams *p);
/* Codes stand for alpha * code + beta other than code itself (a tap-sum correction). */
bool lowbit_corrected(const QConvParams *p);
/* Weight codes of filter m, tap t = kh * kW + kw, channels 0..Cg-1, into v. */
void lowbit_filter_tap(const Node *n, int64_t m, int64_t t, int8_t *v);
/* Bit mask of the magnitude planes j that hold a bit in some filter. */
unsigned lowbit_used_planes(const Node *n);
/* Sum of the weights of each (filter m, tap t), M x taps (malloc'd). */
int32_t *lowbit_tap_sums(const Node *n);
/* Opens the loops over (b, oh, ow) and defines ih0/iw0 (window origin). */
void lowbit_open_pixels(Emitter *e, const QConvParams *p);
/* Tap loops: defines ih, iw and skips taps in the zero padding. */
void lowbit_open_taps(Emitter *e, const QConvParams *p);
/* The epilogue of output channel `mexpr` at the pixel, acc its exact accumulator
 * (an int32 expression). */
void lowbit_store(Emitter *e, const Node *n, const char *mexpr, const char *acc);

/* ---- lowbit_simd.c: channels-in-lanes layouts, shared with lowbit_neon.c ---- */

/* Sign-magnitude planes [g][blk of L channels][tap][j][CW][L] (uint64). */
void lowbit_planes_lanes(Emitter *e, const Node *n, int L, const char **P, const char **N);
/* Codes [g][blk of L channels][tap][C4 / R][L][R], int8 (R = 4) or int16 (R = 2). */
const char *lowbit_bytes_lanes(Emitter *e, const Node *n, int L, int R);
/* Loops over (g, blk, b, oh, ow); defines m0 (first channel) and nl (valid lanes). */
void lowbit_open_blocks(Emitter *e, const QConvParams *p, int L);
/* How lane sums become accumulators: acc = alpha * raw + beta * cs, cs the tap sums
 * of the taps inside the image (corr), for codes standing for alpha * code + beta
 * and kernels that sum code + offset. */
typedef struct LaneFix {
    bool corr;
    int32_t alpha, beta;
} LaneFix;

LaneFix lowbit_fix(const QConvParams *p, int32_t offset);
/* Opens the tap loops (lowbit_open_taps) and, with f->corr, sums the taps' weights
 * into cs[L] per block of L channels. */
void lowbit_lane_taps(Emitter *e, const Node *n, int L, const LaneFix *f);
/* Stores the nl valid lanes of the array accs[] of type T. */
void lowbit_store_lanes(Emitter *e, const Node *n, const char *T, const LaneFix *f);

/* The generic-C kernel (also the fallback of the SIMD variants). */
Status lowbit_emit_generic(Emitter *e, const Node *n, Diag *d);
Status lowbit_emit_avx2(Emitter *e, const Node *n, Diag *d);
Status lowbit_emit_avx512(Emitter *e, const Node *n, Diag *d);
Status lowbit_emit_neon(Emitter *e, const Node *n, Diag *d);

#endif
