/*
 * AArch64 NEON QConv kernels, in lowbit_lanes.c's layouts with L = 4 output
 * channels per block (the activation word or 4 bytes broadcast, no horizontal
 * reduction across channels):
 *   bit-serial: planes [blk][tap][j][CW][4] as two uint64x2 per (j, word).
 *     pop(A_i & P_j) - pop(A_i & N_j) per byte (vcntq_u8, a difference in -8..8),
 *     pairwise sums to int16 (vpaddlq_s8), << j summed over j (|.| <= 16 * 127),
 *     pairwise to int32 (vpaddlq_s16), << i into int32x4 accumulators holding
 *     2 lanes per channel; one vpaddq_s32 at the end gives 4 channels.
 *   int8: codes [blk][tap][C4 / 4][4][4] int8, one 16-byte vector per 4 channels.
 *     With __ARM_FEATURE_DOTPROD (e.g. -march=armv8.2-a+dotprod): vdotq_s32.
 *     Baseline: vmull_s8 (products <= 127 * 128 < 2^15) + vpadalq_s16 into two
 *     accumulators, paired by vpaddq_s32. 8-bit activations do not fit int8 and
 *     are widened (vmovl_u8): u8 x s8 products stay within int16 (255 * 128).
 * Every variant computes the reference's exact int32 accumulator (lowbit.c).
 */
#include "lowbit.h"

#include <string.h>

/* ---- kernels ---- */

enum { L = 4 };

/* One plane pair for the channel pair at weight offset o: int16 sums << j. */
static void bitserial_pair(Emitter *e, const char *t, const char *P, const char *N, long long CW,
                           int o)
{
    cg_line(e, "%s = vaddq_s16(%s, vshlq_s16(vpaddlq_s8(vreinterpretq_s8_u8(vsubq_u8(", t, t);
    cg_line(e, "    vcntq_u8(vreinterpretq_u8_u64(vandq_u64(av, vld1q_u64(%s + wo + "
               "(j * %lld + w) * %d + %d)))),", P, CW, L, o);
    cg_line(e, "    vcntq_u8(vreinterpretq_u8_u64(vandq_u64(av, vld1q_u64(%s + wo + "
               "(j * %lld + w) * %d + %d))))))), vdupq_n_s16((int16_t)j)));", N, CW, L, o);
}

static Status emit_bitserial(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    int mb = lowbit_mbits(p);
    unsigned used = lowbit_used_planes(n);
    long long taps = (long long)(s->k[1] * s->k[2]), CW = (long long)p->CW;
    long long Mg = (long long)(p->cv.M / p->cv.group), nblk = (Mg + L - 1) / L;
    const char *P, *N, *X = cg_in(e, 0);
    lowbit_planes_lanes(e, n, L, &P, &N);
    cg_line(e, "/* bit-serial, neon: %d output channels per block, %d x %d planes */", L,
            p->abits, mb);
    LaneFix f = lowbit_fix(p, 0);
    lowbit_open_blocks(e, p, L);
    cg_line(e, "int32x4_t acc01 = vdupq_n_s32(0), acc23 = vdupq_n_s32(0);");
    lowbit_lane_taps(e, n, L, &f);
    cg_line(e, "const uint64_t *a = %s + (((b * %lld + g) * %lld + ih) * %lld + iw) * %lld;", X,
            (long long)p->cv.group, (long long)s->in[1], (long long)s->in[2], p->abits * CW);
    cg_line(e, "const int64_t wo = (((int64_t)g * %lld + blk) * %lld + kh * %lld + kw) * %lld;",
            nblk, taps, (long long)s->k[2], mb * CW * L);
    cg_open(e, "for (int32_t w = 0; w < %lld; w++)", CW);
    cg_open(e, "for (int32_t i = 0; i < %d; i++)", p->abits);
    cg_line(e, "const uint64x2_t av = vdupq_n_u64(a[i * %lld + w]);", CW);
    cg_line(e, "int16x8_t t01 = vdupq_n_s16(0), t23 = vdupq_n_s16(0);");
    /* the top plane of two's complement codes weighs -2^i: P and N change places */
    if (p->asigned)
        cg_line(e, "const uint64_t *Pi = i == %d ? %s : %s, *Ni = i == %d ? %s : %s;",
                p->abits - 1, N, P, p->abits - 1, P, N);
    else
        cg_line(e, "const uint64_t *Pi = %s, *Ni = %s;", P, N);
    cg_open(e, "for (int32_t j = 0; j < %d; j++)", mb);
    if (used != (1u << mb) - 1)
        cg_line(e, "if (!((0x%xu >> j) & 1u)) continue; /* no filter uses plane j */", used);
    bitserial_pair(e, "t01", "Pi", "Ni", CW, 0);
    bitserial_pair(e, "t23", "Pi", "Ni", CW, 2);
    cg_close(e);
    cg_line(e, "acc01 = vaddq_s32(acc01, vshlq_s32(vpaddlq_s16(t01), vdupq_n_s32(i)));");
    cg_line(e, "acc23 = vaddq_s32(acc23, vshlq_s32(vpaddlq_s16(t23), vdupq_n_s32(i)));");
    for (int i = 0; i < 4; i++)
        cg_close(e);
    cg_line(e, "int32_t accs[%d];", L);
    cg_line(e, "vst1q_s32(accs, vpaddq_s32(acc01, acc23));");
    lowbit_store_lanes(e, n, "int32_t", &f);
    for (int i = 0; i < 5; i++)
        cg_close(e);
    return WR_OK;
}

/* The body of the code-group loop: acc (dotprod) or lo/hi (baseline) += a . w. */
static void int8_step(Emitter *e, bool wide)
{
    cg_line(e, "uint32_t quad;");
    cg_line(e, "memcpy(&quad, a + 4 * q, 4);");
    cg_line(e, "const int8x16_t wq = vld1q_s8(wv + q * %d);", L * 4);
    if (wide) { /* 8-bit codes: widen both sides to int16 */
        cg_line(e, "const uint8x16_t au = vreinterpretq_u8_u32(vdupq_n_u32(quad));");
        cg_line(e, "lo = vpadalq_s16(lo, vmulq_s16(vreinterpretq_s16_u16(vmovl_u8(vget_low_u8("
                   "au))), vmovl_s8(vget_low_s8(wq))));");
        cg_line(e, "hi = vpadalq_s16(hi, vmulq_s16(vreinterpretq_s16_u16(vmovl_high_u8(au)), "
                   "vmovl_high_s8(wq)));");
        return;
    }
    cg_line(e, "const int8x16_t av = vreinterpretq_s8_u32(vdupq_n_u32(quad));");
    cg_line(e, "#if defined(__ARM_FEATURE_DOTPROD)");
    cg_line(e, "acc = vdotq_s32(acc, av, wq);");
    cg_line(e, "#else");
    cg_line(e, "lo = vpadalq_s16(lo, vmull_s8(vget_low_s8(av), vget_low_s8(wq)));");
    cg_line(e, "hi = vpadalq_s16(hi, vmull_high_s8(av, wq));");
    cg_line(e, "#endif");
}

static Status emit_int8(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    bool wide = p->abits > 7 && !p->asigned; /* signed 8-bit codes are int8 already */
    LaneFix f = lowbit_fix(p, 0);
    long long taps = (long long)(s->k[1] * s->k[2]), Q = (long long)(p->C4 / 4);
    long long Mg = (long long)(p->cv.M / p->cv.group), nblk = (Mg + L - 1) / L;
    const char *Wq = lowbit_bytes_lanes(e, n, L, 4), *X = cg_in(e, 0);
    cg_line(e, "/* int8 dot product, neon: %d output channels per vector, 4 codes per lane%s */",
            L, wide ? ", widened to 16 bits" : "");
    lowbit_open_blocks(e, p, L);
    cg_line(e, "int32x4_t acc = vdupq_n_s32(0), lo = acc, hi = acc;");
    cg_line(e, "(void)lo, (void)hi;");
    lowbit_lane_taps(e, n, L, &f);
    cg_line(e, "const uint8_t *a = (const uint8_t *)%s + (((b * %lld + g) * %lld + ih) * %lld + "
               "iw) * %lld;", X,
            (long long)p->cv.group, (long long)s->in[1], (long long)s->in[2],
            (long long)p->C4);
    cg_line(e, "const int8_t *wv = %s + (((int64_t)g * %lld + blk) * %lld + kh * %lld + kw) * "
               "%lld;", Wq, nblk, taps, (long long)s->k[2], Q * L * 4);
    cg_open(e, "for (int32_t q = 0; q < %lld; q++)", Q);
    int8_step(e, wide);
    for (int i = 0; i < 3; i++)
        cg_close(e);
    if (wide)
        cg_line(e, "acc = vpaddq_s32(lo, hi);");
    else {
        cg_line(e, "#if !defined(__ARM_FEATURE_DOTPROD)");
        cg_line(e, "acc = vpaddq_s32(lo, hi);");
        cg_line(e, "#endif");
    }
    cg_line(e, "int32_t accs[%d];", L);
    cg_line(e, "vst1q_s32(accs, acc);");
    lowbit_store_lanes(e, n, "int32_t", &f);
    for (int i = 0; i < 5; i++)
        cg_close(e);
    return WR_OK;
}

Status lowbit_emit_neon(Emitter *e, const Node *n, Diag *d)
{
    const QConvParams *p = n->priv;
    switch (p->kind) {
    case QK_BITSERIAL: return emit_bitserial(e, n);
    case QK_INT8: return emit_int8(e, n);
    case QK_XNOR: return lowbit_emit_generic(e, n, d); /* no NEON xnor kernel yet */
    case QK_COUNT: break;
    }
    WR_UNREACHABLE();
}
