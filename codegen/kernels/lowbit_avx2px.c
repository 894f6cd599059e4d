/*
 * AVX2 bit-serial and xnor QConv kernels: one output pixel x NB vectors of 4 output
 * channels (int64 lanes) at a time, NB as large as keeps 8 byte counters (1-bit: 8
 * vectors, 32 channels; 2x2 bits, P and N: 2), the activation word broadcast once
 * per pixel and word and shared by the NB vectors. No vector popcount on AVX2: each
 * byte is counted through a nibble table (vpshufb) into byte counters, one per
 * vector and shift, reduced by vpsadbw into int64 lanes only before a byte could
 * pass 255 (+8 per word and pair of planes), so across taps: between taps, or
 * inside a tap when it has more words than a counter takes. The weight planes are
 * stored split into nibbles (w & 0x0f and (w >> 4) & 0x0f per byte), so the
 * activation word is split once per word, not once per vector: per vector and
 * word two vpand (weights from memory), two vpshufb, two vpaddb:
 *   pop8(A & W) = lut[A_lo & W_lo] + lut[A_hi & W_hi], the same for xor.
 * (Harley-Seal carry-save adders take 5 ops per word and vector plus a split and
 * a table per 2^k words: no fewer than these 6.)
 *   bit-serial: counters cp (cn) per vector and shift s = i + j gain
 *     pop(A_i & P_j) (pop(A_i & N_j)). Binary weights (+-1, P only):
 *     2 pop(A & P) - pop(A), pop(A) a scalar popcount per word, shared by the
 *     vectors.
 *   xnor: dis += pop(A xor P), acc = nv Cg - 2 dis with nv the taps inside the
 *     image (tail bits are 0 on both sides).
 * Intrinsics only, no helper functions: the code counted with -fno-inline-functions
 * (bench/lowbit_insns.py) is the code that runs. Several pixels per micro-kernel
 * spilled (the register-blocked AVX2 bit-serial micro-kernel measured slower on
 * Zen 3). Lanes past the end of a group have zero weights and are not stored.
 */
#include "lowbit.h"

#include <stdlib.h>

/* The kernel's shape. */
typedef struct Px {
    int NB, L, S;     /* vectors per pixel, lanes per block (4 NB), shifts */
    bool bin, xnor;   /* P only: binary weights (pop(A) too) or xnor */
    int F;            /* words the counters take before a byte could pass 255 */
    unsigned used;    /* magnitude planes j that hold a bit */
    const char *P, *N;
} Px;

/* Planes [g][blk][tap][j][CW][nibble][L]: each row of L lanes split into its low
 * nibbles (w & 0x0f..) and high ones ((w >> 4) & 0x0f..). */
static const char *split_planes(Emitter *e, const char *name, const uint64_t *w,
                                int64_t total, int L)
{
    const uint64_t m = 0x0f0f0f0f0f0f0f0full;
    uint64_t *s = malloc((size_t)(2 * total + 1) * 8);
    WR_ASSERT(s);
    for (int64_t i = 0; i < total; i++) {
        int64_t r = i / L, l = i % L;
        s[(2 * r) * L + l] = w[i] & m;
        s[(2 * r + 1) * L + l] = (w[i] >> 4) & m;
    }
    const char *arr = cg_const_array(e, name, DT_U64, s, 2 * total);
    free(s);
    return arr;
}

/* Declares the counters (zero), or reduces them into acc<v> and zeroes them. */
static void px_counters(Emitter *e, const Px *k, bool flush)
{
    const char *z = "_mm256_setzero_si256()";
    for (int v = 0; v < k->NB; v++)
        for (int s = 0; s < k->S; s++) {
            bool two = !k->bin && !k->xnor;
            if (!flush) {
                cg_line(e, "__m256i cp%d_%d = %s;", v, s, z);
                if (two)
                    cg_line(e, "__m256i cn%d_%d = %s;", v, s, z);
                continue;
            }
            if (two)
                cg_line(e, "acc%d = _mm256_add_epi64(acc%d, _mm256_slli_epi64(_mm256_sub_epi64("
                           "_mm256_sad_epu8(cp%d_%d, %s), _mm256_sad_epu8(cn%d_%d, %s)), %d));",
                        v, v, v, s, z, v, s, z, s);
            else
                cg_line(e, "acc%d = _mm256_add_epi64(acc%d, _mm256_slli_epi64(_mm256_sad_epu8("
                           "cp%d_%d, %s), %d));", v, v, v, s, z, k->bin ? s + 1 : s);
            cg_line(e, "cp%d_%d = %s;", v, s, z);
            if (two)
                cg_line(e, "cn%d_%d = %s;", v, s, z);
        }
}

/* The counts of one word w: cp<v>_<i+j> (cn) gain the byte counts of pair (i, j). */
static void px_word(Emitter *e, const QConvParams *p, const Px *k)
{
    long long CW = (long long)p->CW;
    int mb = lowbit_mbits(p);
    const char *op = k->xnor ? "_mm256_xor_si256" : "_mm256_and_si256";
    for (int i = 0; i < p->abits; i++) {
        cg_line(e, "const __m256i av%d = _mm256_set1_epi64x((long long)a[%lld + w]);", i, i * CW);
        cg_line(e, "const __m256i lo%d = _mm256_and_si256(av%d, low), hi%d = _mm256_and_si256("
                   "_mm256_srli_epi16(av%d, 4), low);", i, i, i, i);
        if (k->bin)
            cg_line(e, "sa += (int64_t)_mm_popcnt_u64(a[%lld + w]) << %d;", i * CW, i);
    }
    if (!k->used && !k->bin && !k->xnor)
        for (int i = 0; i < p->abits; i++)
            cg_line(e, "(void)lo%d, (void)hi%d, (void)wo, (void)lut; /* every filter is zero */",
                    i, i);
    for (int j = 0; j < mb; j++) {
        if (!((k->used >> j) & 1u) && !k->bin && !k->xnor)
            continue;
        for (int sg = 0; sg < (k->bin || k->xnor ? 1 : 2); sg++)
            for (int v = 0; v < k->NB; v++) {
                const char *W = sg ? k->N : k->P;
                long long o = (j * CW * 2) * k->L + (long long)v * 4; /* + w * 2L; hi: + L */
                for (int i = 0; i < p->abits; i++) {
                    /* the top plane of two's complement codes weighs -2^i: P, N swap */
                    bool neg = p->asigned && i == p->abits - 1;
                    char c = (sg != neg) ? 'n' : 'p';
                    cg_line(e, "c%c%d_%d = _mm256_add_epi8(c%c%d_%d, _mm256_add_epi8("
                               "_mm256_shuffle_epi8(lut, %s(lo%d, _mm256_loadu_si256((const "
                               "void *)(%s + wo + w * %d + %lld)))), _mm256_shuffle_epi8(lut, "
                               "%s(hi%d, _mm256_loadu_si256((const void *)(%s + wo + w * %d + "
                               "%lld))))));", c, v, i + j, c, v, i + j, op, i, W, 2 * k->L, o,
                            op, i, W, 2 * k->L, o + k->L);
                }
            }
    }
}

/* One tap: the words of the pixel's codes, the counters reduced before a byte could
 * pass 255 (between taps, or inside a tap when it has more than F words). */
static void px_tap(Emitter *e, const Node *n, const Px *k)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    long long taps = (long long)(s->k[1] * s->k[2]), CW = (long long)p->CW;
    long long nblk = (long long)((p->cv.M / p->cv.group + k->L - 1) / k->L);
    int mb = lowbit_mbits(p);
    cg_line(e, "const uint64_t *a = %s + (((b * %lld + g) * %lld + ih) * %lld + iw) * %lld;",
            cg_in(e, 0), (long long)p->cv.group, (long long)s->in[1], (long long)s->in[2],
            p->abits * CW);
    cg_line(e, "const int64_t wo = (((int64_t)g * %lld + blk) * %lld + kh * %lld + kw) * %lld;",
            nblk, taps, (long long)s->k[2], mb * CW * 2 * k->L);
    if (k->xnor)
        cg_line(e, "nv++;");
    if (CW > k->F) { /* chunks of F words, reduced after each */
        cg_open(e, "for (int32_t w0 = 0; w0 < %lld; w0 += %d)", CW, k->F);
        cg_open(e, "for (int32_t w = w0; w < (w0 + %d < %lld ? w0 + %d : %lld); w++)", k->F, CW,
                k->F, CW);
    } else {
        if (taps * CW > k->F) {
            cg_open(e, "if (nw > %lld)", k->F - CW);
            px_counters(e, k, true);
            cg_line(e, "nw = 0;");
            cg_close(e);
            cg_line(e, "nw += %lld;", CW);
        }
        cg_open(e, "for (int32_t w = 0; w < %lld; w++)", CW);
    }
    px_word(e, p, k);
    cg_close(e);
    if (CW > k->F) {
        px_counters(e, k, true);
        cg_close(e);
    }
}

/* Vectors per pixel: 8 byte counters at most (16 ymm registers hold them, their
 * int64 sums, the broadcast word's nibbles, the table and the weights). */
static Px px_shape(const Node *n)
{
    const QConvParams *p = n->priv;
    Px k = {0};
    int mb = lowbit_mbits(p);
    k.xnor = p->kind == QK_XNOR;
    k.bin = !k.xnor && p->wbits == 1 && lowbit_all_pm1(n) && !p->asigned;
    k.S = k.xnor ? 1 : k.bin ? p->abits : p->abits + mb - 1;
    int per_s = k.xnor ? 1 : p->abits < mb ? p->abits : mb; /* most pairs on one shift */
    k.F = 31 / per_s;
    int cnt = k.S * (k.bin || k.xnor ? 1 : 2), NBmax = 8 / cnt;
    k.NB = lowbit_block_vectors(p, 4, NBmax < 1 ? 1 : NBmax);
    k.L = 4 * k.NB;
    k.used = lowbit_used_planes(n);
    return k;
}

/* The weights, nibble-split (N: not for binary weights and xnor). */
static void px_weights(Emitter *e, const Node *n, Px *k)
{
    uint64_t *wp, *wn;
    int64_t total = lowbit_planes_interleave(n, k->L, &wp, &wn);
    k->P = split_planes(e, "wpos", wp, total, k->L);
    k->N = k->bin || k->xnor ? NULL : split_planes(e, "wneg", wn, total, k->L);
    free(wp), free(wn);
}

/* After the taps: the int64 lane sums into accs[L], then the accumulators. */
static void px_finish(Emitter *e, const QConvParams *p, const Px *k)
{
    px_counters(e, k, true);
    for (int v = 0; v < k->NB; v++)
        if (k->bin)
            cg_line(e, "acc%d = _mm256_sub_epi64(acc%d, _mm256_set1_epi64x((long long)sa));", v,
                    v);
        else if (k->xnor)
            cg_line(e, "acc%d = _mm256_sub_epi64(_mm256_set1_epi64x((long long)(nv * %lld)), "
                       "_mm256_slli_epi64(acc%d, 1));", v, (long long)p->Cg, v);
}

/* ---- 1-bit codes out ----
 * A layer whose output is 1-bit planes through one threshold per channel (and side
 * code: a residual input of 1-bit planes) writes the 32 bits of a block at once:
 * code = acc >= T (up) or acc <= T, i.e. the sign bit of (acc - T') ^ F with
 * T' = T, F = -1 (up) or T' = T + 1, F = 0; vmovmskpd gathers the sign bits. */

/* A 1-bit unsigned planes tensor whose packing groups hold whole blocks of 32. */
static bool planes1(const Tensor *t)
{
    return t && t->q && t->layout == LAYOUT_PLANES && t->q->bits == 1 && !t->q->is_signed &&
           t->q->lo == 0 && layout_cg(t) % 32 == 0;
}

static bool bits_out(const Node *n, const Px *k, const LaneFix *f)
{
    const QConvParams *p = n->priv;
    const Tensor *side = n->nin > 5 ? n->in[5] : NULL;
    if (p->out_acc || !p->has_out || p->float_epilogue || f->corr || p->nthresh != 1)
        return false;
    if (k->L != 32 || (p->cv.M / p->cv.group) % 32 || p->out.t->lo != 0 || !planes1(n->out[0]))
        return false;
    return side ? p->nside == 2 && planes1(side) : p->nside == 1;
}

/* T' and F per (block of 32, side code v, lane): [M / 32][nside][32] (int64). */
static void bits_tables(Emitter *e, const QConvParams *p, const char **T, const char **F)
{
    int64_t ns = p->nside, cnt = p->cv.M * ns;
    int64_t *t = malloc((size_t)cnt * 8), *f = malloc((size_t)cnt * 8);
    WR_ASSERT(t && f);
    for (int64_t m = 0; m < p->cv.M; m++)
        for (int64_t v = 0; v < ns; v++) {
            int64_t i = ((m / 32) * ns + v) * 32 + m % 32, k = m * ns + v;
            t[i] = (int64_t)p->thresh[k] + (p->up[k] ? 0 : 1);
            f[i] = p->up[k] ? -1 : 0;
        }
    *T = cg_const_array(e, "tbit", DT_I64, t, cnt);
    *F = cg_const_array(e, "fbit", DT_I64, f, cnt);
    free(t), free(f);
}

/* The word of channel m0 at the pixel of a planes tensor, and the bit of m0 in it. */
static const char *bits_word(Emitter *e, const QConvParams *p, const Tensor *t, const char *X)
{
    long long Cg = (long long)layout_cg(t), CW = (long long)layout_plane_words(t);
    cg_line(e, "const int shift = (int)(m0 %% %lld %% 64);", Cg);
    return arena_printf(&((Graph *)e->g)->arena,
                        "%s[((b * %lld + m0 / %lld) * %lld + oh * %lld + ow) * %lld + m0 %% "
                        "%lld / 64]", X, (long long)t->group, Cg,
                        (long long)(p->cv.sp.out[1] * p->cv.sp.out[2]),
                        (long long)p->cv.sp.out[2], CW, Cg);
}

static void bits_store(Emitter *e, const Node *n, const Px *k)
{
    const QConvParams *p = n->priv;
    const char *T, *F;
    long long ns = p->nside;
    bits_tables(e, p, &T, &F);
    cg_line(e, "/* 1-bit codes: the sign bits of (acc - T') ^ F */");
    cg_line(e, "uint32_t bits = 0;");
    cg_line(e, "(void)nl; /* every block is whole */");
    if (ns == 2) {
        cg_line(e, "const __m256i sel = _mm256_setr_epi64x(1, 2, 4, 8);");
        cg_open(e, "%s", "");
        const char *w = bits_word(e, p, n->in[5], cg_in(e, 5));
        cg_line(e, "const uint32_t sb = (uint32_t)(%s >> shift); /* side codes */", w);
    }
    for (int v = 0; v < k->NB; v++) {
        const char *o = arena_printf(&((Graph *)e->g)->arena, "m0 * %lld + %d", ns, 4 * v);
        cg_line(e, "__m256i t%d = _mm256_loadu_si256((const void *)(%s + %s)), f%d = "
                   "_mm256_loadu_si256((const void *)(%s + %s));", v, T, o, v, F, o);
        if (ns == 2) {
            cg_line(e, "const __m256i s%d = _mm256_cmpeq_epi64(_mm256_and_si256("
                       "_mm256_set1_epi64x((long long)(sb >> %d)), sel), sel);", v, 4 * v);
            cg_line(e, "t%d = _mm256_blendv_epi8(t%d, _mm256_loadu_si256((const void *)(%s + %s "
                       "+ 32)), s%d);", v, v, T, o, v);
            cg_line(e, "f%d = _mm256_blendv_epi8(f%d, _mm256_loadu_si256((const void *)(%s + %s "
                       "+ 32)), s%d);", v, v, F, o, v);
        }
        cg_line(e, "bits |= (uint32_t)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_xor_si256("
                   "_mm256_sub_epi64(acc%d, t%d), f%d))) << %d;", v, v, v, 4 * v);
    }
    if (ns == 2)
        cg_close(e);
    cg_open(e, "%s", "");
    const char *w = bits_word(e, p, n->out[0], cg_out(e, 0));
    cg_line(e, "%s |= (uint64_t)bits << shift;", w);
    cg_close(e);
}

/* The accumulators of the block's nl lanes through the epilogue. */
static void px_store(Emitter *e, const Node *n, const Px *k, const LaneFix *f)
{
    if (bits_out(n, k, f)) {
        bits_store(e, n, k);
        return;
    }
    cg_line(e, "int64_t accs[%d];", k->L);
    for (int v = 0; v < k->NB; v++)
        cg_line(e, "_mm256_storeu_si256((void *)(accs + %d), acc%d);", 4 * v, v);
    lowbit_store_lanes(e, n, "int64_t", f);
}

Status lowbit_emit_avx2_px(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    Px k = px_shape(n);
    /* xnor: the sums are the accumulators themselves */
    LaneFix f = k.xnor ? (LaneFix){false, 1, 0} : lowbit_fix(p, 0);
    px_weights(e, n, &k);
    cg_line(e, "/* %s, avx2: %d x 4 output channels per pixel, %d x %d planes, byte counters%s "
               "*/", k.xnor ? "xnor" : "bit-serial", k.NB, p->abits, lowbit_mbits(p),
            k.bin ? ", binary weights" : "");
    if (!k.bin && !k.xnor && !k.used)
        cg_line(e, "(void)%s, (void)%s; /* every filter is zero */", k.P, k.N);
    lowbit_open_blocks(e, p, k.L);
    cg_line(e, "const __m256i low = _mm256_set1_epi8(0x0f);");
    cg_line(e, "const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, "
               "3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4); /* pop of a nibble */");
    for (int v = 0; v < k.NB; v++)
        cg_line(e, "__m256i acc%d = _mm256_setzero_si256();", v);
    if (k.bin)
        cg_line(e, "int64_t sa = 0; /* sum of 2^i pop(A_i) */");
    if (k.xnor)
        cg_line(e, "int64_t nv = 0; /* taps inside the image */");
    if (p->CW <= k.F && s->k[1] * s->k[2] * p->CW > k.F)
        cg_line(e, "int32_t nw = 0; /* words since the counters were reduced */");
    px_counters(e, &k, false);
    lowbit_lane_taps(e, n, k.L, &f);
    px_tap(e, n, &k);
    cg_close(e);
    cg_close(e);
    px_finish(e, p, &k);
    px_store(e, n, &k, &f);
    for (int i = 0; i < 5; i++)
        cg_close(e);
    return WR_OK;
}
