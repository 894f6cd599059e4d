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
bool lowbit_all_pm1(const Node *n);
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

/* How lane sums become accumulators: acc = alpha * raw + beta * cs, cs the tap sums
 * of the taps inside the image (corr), for codes standing for alpha * code + beta
 * and kernels that sum code + offset. */
typedef struct LaneFix {
    bool corr;
    int32_t alpha, beta;
} LaneFix;

LaneFix lowbit_fix(const QConvParams *p, int32_t offset);

/* ---- lowbit.c: the register-blocked SIMD driver ----
 * A micro-kernel computes P consecutive output pixels of one row times a block of
 * NB vectors of L output channels (cpu-limits.md: output channels in the lanes,
 * several pixels per block, weights loaded once per block of pixels). The driver
 * emits the loops, one activation pointer per pixel and tap (taps in the zero
 * padding, and pixels past the row's end, read `pad`, which adds nothing), the
 * correction by the tap sums of the taps inside the image, and the stores; the
 * family's three emitters emit the arithmetic. */
typedef struct QBlock QBlock;
typedef void (*QBlockFn)(Emitter *e, const Node *n, const QBlock *k);
struct QBlock {
    const char *what;     /* family and ISA, for the kernel's comment */
    int P, L, NB;         /* pixels, lanes per vector, vectors per channel block */
    bool bytes;           /* reads the bytes layout, else planes */
    uint8_t pad;          /* the byte a tap in the padding reads (bytes layout) */
    LaneFix fix;          /* acc = alpha * raw + beta * cs */
    const char *W, *wtype; /* weights [g][channel block][tap][wtap] and their C type */
    long long wtap;       /* elements of W per (channel block, tap) */
    const char *acc_t;    /* C type of the raw lane sums finish stores */
    /* init: declares and zeroes the accumulators (once per block of pixels);
     * tap: one tap, pixel p's codes at a<p> (uint64_t or uint8_t), weights at wt;
     * finish: the raw sums of pixel p, lanes 0..NB*L-1, into acc_t accs[p][...] */
    QBlockFn init, tap, finish;
    int arg[4];           /* the family's own parameters */
};
/* P <= Pmax for the row width: fewest pixels computed per row, a block's fixed
 * cost counted as one more pixel. */
int lowbit_block_pixels(const QConvParams *p, int Pmax);
/* NB <= NBmax, no more vectors than a group has channels. */
int lowbit_block_vectors(const QConvParams *p, int L, int NBmax);
/* Emits the kernel of micro-kernel k. */
void lowbit_emit_blocked(Emitter *e, const Node *n, const QBlock *k);
/* Words of the output, [g][cb][tap][word][j][sign][nb][L] (uint64): the
 * sign-magnitude planes P (sign 0) and N (sign 1; nsign = 1: P only) of L lanes. */
const char *lowbit_planes_block(Emitter *e, const Node *n, int L, int NB, int nsign);
/* Codes [g][cb][tap][C4 / 4][NB * L][4] (int8). */
const char *lowbit_bytes_block(Emitter *e, const Node *n, int L, int NB);
/* Opens a loop over V = 0..N-1 (per tap) in chunks; before a chunk that would take
 * the steps accumulated since the last flush (int32_t nacc, declared by init) past F,
 * emits flush and zeroes nacc. No chunks when a block's taps cannot pass F. Close
 * with two cg_close. */
void lowbit_open_chunks(Emitter *e, const Node *n, const QBlock *k, const char *V,
                        long long N, long long F, QBlockFn flush);

/* ---- lowbit_lanes.c: one output pixel at a time (NEON, the AVX2 bit-serial and xnor) ---- */

/* Sign-magnitude planes [g][blk of L channels][tap][j][CW][L] (uint64). */
int64_t lowbit_planes_interleave(const Node *n, int L, uint64_t **wp, uint64_t **wn);
void lowbit_planes_lanes(Emitter *e, const Node *n, int L, const char **P, const char **N);
/* Codes [g][blk of L channels][tap][C4 / R][L][R], int8 (R = 4) or int16 (R = 2). */
const char *lowbit_bytes_lanes(Emitter *e, const Node *n, int L, int R);
/* Loops over (g, blk, b, oh, ow); defines m0 (first channel) and nl (valid lanes). */
void lowbit_open_blocks(Emitter *e, const QConvParams *p, int L);
/* Opens the tap loops (lowbit_open_taps) and, with f->corr, sums the taps' weights
 * into cs[L] per block of L channels. */
void lowbit_lane_taps(Emitter *e, const Node *n, int L, const LaneFix *f);
/* Stores the nl valid lanes of the array accs[] of type T. */
void lowbit_store_lanes(Emitter *e, const Node *n, const char *T, const LaneFix *f);
/* lowbit_avx2px.c: the AVX2 bit-serial and xnor kernels. */
Status lowbit_emit_avx2_px(Emitter *e, const Node *n);

/* The generic-C kernel (the reference the SIMD variants are tested against). */
Status lowbit_emit_generic(Emitter *e, const Node *n, Diag *d);
Status lowbit_emit_avx2(Emitter *e, const Node *n, Diag *d);
Status lowbit_emit_avx512(Emitter *e, const Node *n, Diag *d);
Status lowbit_emit_neon(Emitter *e, const Node *n, Diag *d);

#endif
