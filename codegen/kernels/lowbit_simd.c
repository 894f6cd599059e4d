/*
 * AVX2 and AVX-512 QConv kernels: output channels in the SIMD lanes
 * (cpu-limits.md), the activation word or bytes broadcast, no horizontal
 * reduction. Weights are interleaved here, at compile time:
 *   bit-serial: P/N planes [block of L channels][tap][j][word][L]     (uint64 lanes)
 *     acc_l += (pop(A_i & P_j,l) - pop(A_i & N_j,l)) << (i + j)    (int64 lanes)
 *     AVX2: L = 4, popcount by vpshufb nibble table, byte counters reduced by vpsadbw
 *       (emit_bitserial_bytes); AVX-512: L = 8, vpopcntq
 *   int8: [block of L channels][tap][group of R channels][L][R]      (int32 lanes)
 *     AVX2, activations <= 7 bits: R = 4, vpmaddubsw + vpmaddwd (exact: a pair of
 *       products stays below 2 * 127 * 127 < 2^15); 8-bit activations: R = 2, widened
 *       to 16 bits, vpmaddwd; AVX-512: R = 4, vpdpbusd (no intermediate saturation).
 *   xnor: the P plane as above; dis_l += pop(A xor P_l) (int64 lanes), then
 *     acc_l = nv * Cg - 2 dis_l with nv the taps inside the image.
 * Channels past the end of a group get zero weights; their lanes are not stored.
 * NEON: lowbit_neon.c (same layouts, L = 4). Generic C and the reference: lowbit.c,
 * ir/ops/lowbit.c.
 */
#include "lowbit.h"
#include "wrpnc_pack.h"

#include <stdlib.h>
#include <string.h>

typedef struct Isa {
    const char *name, *V;  /* target name, vector type */
    int bytes;             /* vector width in bytes */
    const char *zero, *set1_64, *set1_32, *load, *store, *and_, *xor_, *add64, *sub64;
    const char *sll64;     /* shift of each 64-bit lane by a count in an __m128i */
    const char *pop64;     /* per-64-bit-lane popcount */
    const char *dot4, *dot2; /* acc + u8 x s8 (4 per lane) / s16 x s16 (2 per lane); NULL: none */
    const char *dot4s;       /* acc + s8 x s8 (4 per lane), or NULL */
} Isa;

static const Isa AVX2 = {
    "avx2", "__m256i", 32, "_mm256_setzero_si256()", "_mm256_set1_epi64x", "_mm256_set1_epi32",
    "_mm256_loadu_si256", "_mm256_storeu_si256", "_mm256_and_si256", "_mm256_xor_si256",
    "_mm256_add_epi64",
    "_mm256_sub_epi64", "_mm256_sll_epi64", "wrpnc_avx2_pop64", "wrpnc_avx2_dot4",
    "wrpnc_avx2_dot2", "wrpnc_avx2_dot4s"};

static const Isa AVX512 = {
    "avx512", "__m512i", 64, "_mm512_setzero_si512()", "_mm512_set1_epi64", "_mm512_set1_epi32",
    "_mm512_loadu_si512", "_mm512_storeu_si512", "_mm512_and_si512", "_mm512_xor_si512",
    "_mm512_add_epi64",
    "_mm512_sub_epi64", "_mm512_sll_epi64", "_mm512_popcnt_epi64", "_mm512_dpbusd_epi32", NULL,
    NULL};

static const char avx2_helpers[] =
    "/* popcount of each 64-bit lane: nibble table lookups, then byte sums */\n"
    "WRPNC_INLINE __m256i wrpnc_avx2_pop64(__m256i v)\n{\n"
    "    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,\n"
    "                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);\n"
    "    const __m256i low = _mm256_set1_epi8(0x0f);\n"
    "    __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(v, low));\n"
    "    __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low));\n"
    "    return _mm256_sad_epu8(_mm256_add_epi8(lo, hi), _mm256_setzero_si256());\n}\n"
    "/* popcount of each byte (0..8): sums of these are reduced by vpsadbw later */\n"
    "WRPNC_INLINE __m256i wrpnc_avx2_cnt8(__m256i v)\n{\n"
    "    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,\n"
    "                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);\n"
    "    const __m256i low = _mm256_set1_epi8(0x0f);\n"
    "    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_and_si256(v, low)),\n"
    "                           _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low)));\n}\n"
    "/* acc + sum of 4 u8 x s8 products per 32-bit lane; exact while a <= 127, |w| <= 127 */\n"
    "WRPNC_INLINE __m256i wrpnc_avx2_dot4(__m256i acc, __m256i a, __m256i w)\n{\n"
    "    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, w),\n"
    "                                                   _mm256_set1_epi16(1)));\n}\n"
    "/* acc + sum of 4 s8 x s8 products per 32-bit lane: |a| times w with a's sign;\n"
    " * exact while |w| <= 127 (a pair of products stays below 2 * 128 * 127 < 2^15) */\n"
    "WRPNC_INLINE __m256i wrpnc_avx2_dot4s(__m256i acc, __m256i a, __m256i w)\n{\n"
    "    return wrpnc_avx2_dot4(acc, _mm256_abs_epi8(a), _mm256_sign_epi8(w, a));\n}\n"
    "/* acc + sum of 2 s16 x s16 products per 32-bit lane (8-bit activations) */\n"
    "WRPNC_INLINE __m256i wrpnc_avx2_dot2(__m256i acc, __m256i a, __m256i w)\n{\n"
    "    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, w));\n}\n";

/* ---- bit-serial ---- */

/* Interleaved planes: [g][blk][tap][j][CW][L]; returns the array names (N: NULL for
 * binary weights without zeros, where N = ~P inside K is not read). */
void lowbit_planes_lanes(Emitter *e, const Node *n, int L, const char **P, const char **N)
{
    const QConvParams *p = n->priv;
    int mb = lowbit_mbits(p);
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2], Mg = p->cv.M / p->cv.group;
    int64_t nblk = (Mg + L - 1) / L, per = mb * p->CW;
    int64_t total = p->cv.group * nblk * taps * per * L;
    uint64_t *wp = calloc((size_t)total + 1, 8), *wn = calloc((size_t)total + 1, 8);
    uint64_t *tp = calloc((size_t)per + 1, 8), *tn = calloc((size_t)per + 1, 8);
    int8_t *v = malloc((size_t)p->Cg + 1);
    WR_ASSERT(wp && wn && tp && tn && v);
    for (int64_t g = 0; g < p->cv.group; g++)
        for (int64_t mi = 0; mi < Mg; mi++)
            for (int64_t t = 0; t < taps; t++) {
                lowbit_filter_tap(n, g * Mg + mi, t, v);
                wrpnc_pack_signmag_i8(v, p->Cg, mb, tp, tn);
                int64_t base = ((g * nblk + mi / L) * taps + t) * per * L + mi % L;
                for (int64_t k = 0; k < per; k++) {
                    wp[base + k * L] = tp[k];
                    wn[base + k * L] = tn[k];
                }
            }
    *P = cg_const_array(e, "wpos", DT_U64, wp, total);
    if (N)
        *N = cg_const_array(e, "wneg", DT_U64, wn, total);
    free(wp), free(wn), free(tp), free(tn), free(v);
}

/* Loops over (b, g, blk, oh, ow); defines m0 (first channel of the block). */
void lowbit_open_blocks(Emitter *e, const QConvParams *p, int L)
{
    int64_t Mg = p->cv.M / p->cv.group;
    cg_open(e, "for (int32_t g = 0; g < %lld; g++)", (long long)p->cv.group);
    cg_open(e, "for (int32_t blk = 0; blk < %lld; blk++)", (long long)((Mg + L - 1) / L));
    cg_line(e, "const int32_t m0 = g * %lld + blk * %d;", (long long)Mg, L);
    cg_line(e, "const int32_t nl = %lld - blk * %d < %d ? %lld - blk * %d : %d;", (long long)Mg,
            L, L, (long long)Mg, L, L);
    lowbit_open_pixels(e, p);
}

LaneFix lowbit_fix(const QConvParams *p, int32_t offset)
{
    LaneFix f = {lowbit_corrected(p) || offset != 0, p->alpha, p->beta};
    if (p->kind == QK_XNOR)
        f = (LaneFix){false, 1, 0};
    f.beta -= offset * f.alpha; /* raw sums (code + offset) * w */
    return f;
}

/* Tap sums of each block of L channels, [g][blk][tap][L] (int32). */
static const char *tap_sums_lanes(Emitter *e, const Node *n, int L)
{
    const QConvParams *p = n->priv;
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2], Mg = p->cv.M / p->cv.group;
    int64_t nblk = (Mg + L - 1) / L, total = p->cv.group * nblk * taps * L;
    int32_t *ts = lowbit_tap_sums(n), *v = calloc((size_t)total + 1, sizeof *v);
    WR_ASSERT(v);
    for (int64_t g = 0; g < p->cv.group; g++)
        for (int64_t mi = 0; mi < Mg; mi++)
            for (int64_t t = 0; t < taps; t++)
                v[((g * nblk + mi / L) * taps + t) * L + mi % L] = ts[(g * Mg + mi) * taps + t];
    const char *name = cg_const_array(e, "tapsum", DT_I32, v, total);
    free(ts), free(v);
    return name;
}

void lowbit_lane_taps(Emitter *e, const Node *n, int L, const LaneFix *f)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    long long taps = (long long)(s->k[1] * s->k[2]), Mg = (long long)(p->cv.M / p->cv.group);
    const char *TS = f->corr ? tap_sums_lanes(e, n, L) : NULL;
    if (TS)
        cg_line(e, "int32_t cs[%d] = {0}; /* tap sums of the taps inside the image */", L);
    lowbit_open_taps(e, p);
    if (TS)
        cg_line(e, "for (int32_t l = 0; l < %d; l++) cs[l] += %s[(((int64_t)g * %lld + blk) * "
                   "%lld + kh * %lld + kw) * %d + l];", L, TS, (Mg + L - 1) / L, taps,
                (long long)s->k[2], L);
}

/* Stores the nl valid lanes of the accumulator array accs[] (type T): alpha * raw +
 * beta * cs with the tap sums cs, or raw itself. */
void lowbit_store_lanes(Emitter *e, const Node *n, const char *T, const LaneFix *f)
{
    cg_open(e, "for (int32_t l = 0; l < nl; l++)");
    char v[128];
    if (f->corr)
        snprintf(v, sizeof v, "%d * (int32_t)((const %s *)accs)[l] + %d * cs[l]", f->alpha, T,
                 f->beta);
    else
        snprintf(v, sizeof v, "(int32_t)((const %s *)accs)[l]", T);
    lowbit_store(e, n, "m0 + l", v);
    cg_close(e);
}

static Status emit_bitserial(Emitter *e, const Node *n, const Isa *isa)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    int L = isa->bytes / 8, mb = lowbit_mbits(p);
    unsigned used = lowbit_used_planes(n);
    long long taps = (long long)(s->k[1] * s->k[2]), CW = (long long)p->CW;
    long long Mg = (long long)(p->cv.M / p->cv.group), nblk = (Mg + L - 1) / L;
    const char *P, *N, *X = cg_in(e, 0);
    lowbit_planes_lanes(e, n, L, &P, &N);
    cg_line(e, "/* bit-serial, %s: %d output channels per vector, %d x %d planes */", isa->name,
            L, p->abits, mb);
    LaneFix f = lowbit_fix(p, 0);
    lowbit_open_blocks(e, p, L);
    cg_line(e, "%s acc = %s;", isa->V, isa->zero);
    lowbit_lane_taps(e, n, L, &f);
    cg_line(e, "const uint64_t *a = %s + (((b * %lld + g) * %lld + ih) * %lld + iw) * %lld;", X,
            (long long)p->cv.group, (long long)s->in[1], (long long)s->in[2], p->abits * CW);
    cg_line(e, "const int64_t wo = (((int64_t)g * %lld + blk) * %lld + kh * %lld + kw) * %lld;",
            nblk, taps, (long long)s->k[2], mb * CW * L);
    /* plane loops rather than unrolled text keep compile times low */
    cg_open(e, "for (int32_t w = 0; w < %lld; w++)", CW);
    cg_open(e, "for (int32_t i = 0; i < %d; i++)", p->abits);
    cg_line(e, "const %s av = %s((long long)a[i * %lld + w]);", isa->V, isa->set1_64, CW);
    /* the top plane of two's complement codes weighs -2^i: P and N change places */
    cg_line(e, "const uint64_t *Pi = %s, *Ni = %s;",
            p->asigned ? arena_printf(&((Graph *)e->g)->arena, "i == %d ? %s : %s", p->abits - 1, N, P) : P,
            p->asigned ? arena_printf(&((Graph *)e->g)->arena, "i == %d ? %s : %s", p->abits - 1, P, N) : N);
    cg_open(e, "for (int32_t j = 0; j < %d; j++)", mb);
    if (used != (1u << mb) - 1)
        cg_line(e, "if (!((0x%xu >> j) & 1u)) continue; /* no filter uses plane j */", used);
    cg_line(e, "const %s pp = %s((const void *)(Pi + wo + (j * %lld + w) * %d));", isa->V,
            isa->load, CW, L);
    cg_line(e, "const %s nn = %s((const void *)(Ni + wo + (j * %lld + w) * %d));", isa->V,
            isa->load, CW, L);
    cg_line(e, "acc = %s(acc, %s(%s(%s(%s(av, pp)), %s(%s(av, nn))), _mm_cvtsi32_si128(i + j)));",
            isa->add64, isa->sll64, isa->sub64, isa->pop64, isa->and_, isa->pop64, isa->and_);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    cg_line(e, "int64_t accs[%d];", L);
    cg_line(e, "%s((void *)accs, acc);", isa->store);
    lowbit_store_lanes(e, n, "int64_t", &f);
    for (int i = 0; i < 5; i++)
        cg_close(e);
    return WR_OK;
}

/* ---- bit-serial, AVX2 with byte counters ----
 * Per plane pair (i, j), the byte popcounts of A_i & P_j (and A_i & N_j) add up in
 * 8-bit lanes, one counter per shift s = i + j; a byte gains at most 8 per add, so a
 * counter is reduced by vpsadbw (and shifted by s) after at most 31 adds. Binary
 * weights with no zero (N = ~P inside K) need only P: sum_i 2^i (2 pop(A_i & P) -
 * pop(A_i)), pop(A_i) a scalar per pixel shared by every lane. Pairs of planes no
 * filter uses are not emitted. */

/* True when every weight code is +1 or -1 (binary weights without zeros). */
static bool all_pm1(const Node *n)
{
    const int8_t *W = n->in[1]->data;
    for (int64_t i = 0, N = ir_tensor_numel(n->in[1]); i < N; i++)
        if (W[i] != 1 && W[i] != -1)
            return false;
    return true;
}

/* The adds of one word: counters cp<s> (and cn<s>) gain the pairs' byte counts. */
static void bytes_word(Emitter *e, const QConvParams *p, unsigned used, bool bin,
                       const char *P, const char *N)
{
    long long CW = (long long)p->CW;
    int mb = lowbit_mbits(p);
    for (int i = 0; i < p->abits; i++) {
        /* the top plane of two's complement codes weighs -2^i: P and N change places */
        bool neg = p->asigned && i == p->abits - 1;
        const char *Pi = neg ? N : P, *Ni = neg ? P : N;
        cg_line(e, "const __m256i av%d = _mm256_set1_epi64x((long long)a[%lld + w]);", i, i * CW);
        if (bin)
            cg_line(e, "sa += (int64_t)wrpnc_popcount64(a[%lld + w]) << %d;", i * CW, i);
        if (!used && !bin)
            cg_line(e, "(void)av%d, (void)wo; /* every filter is zero */", i);
        for (int j = 0; j < mb; j++) {
            if (!((used >> j) & 1u) && !bin)
                continue;
            cg_line(e, "cp%d = _mm256_add_epi8(cp%d, wrpnc_avx2_cnt8(_mm256_and_si256(av%d, "
                       "_mm256_loadu_si256((const void *)(%s + wo + (%lld + w) * 4)))));",
                    i + j, i + j, i, Pi, j * CW);
            if (!bin)
                cg_line(e, "cn%d = _mm256_add_epi8(cn%d, wrpnc_avx2_cnt8(_mm256_and_si256(av%d, "
                           "_mm256_loadu_si256((const void *)(%s + wo + (%lld + w) * 4)))));",
                        i + j, i + j, i, Ni, j * CW);
        }
    }
}

/* Declares the counters (zero), or reduces them into acc. */
static void bytes_counters(Emitter *e, int S, bool bin, bool flush)
{
    const char *z = "_mm256_setzero_si256()";
    for (int s = 0; s < S; s++) {
        if (!flush) {
            if (bin)
                cg_line(e, "__m256i cp%d = %s;", s, z);
            else
                cg_line(e, "__m256i cp%d = %s, cn%d = %s;", s, z, s, z);
            continue;
        }
        if (bin)
            cg_line(e, "acc = _mm256_add_epi64(acc, _mm256_slli_epi64(_mm256_sad_epu8(cp%d, %s), "
                       "%d));", s, z, s + 1);
        else
            cg_line(e, "acc = _mm256_add_epi64(acc, _mm256_slli_epi64(_mm256_sub_epi64("
                       "_mm256_sad_epu8(cp%d, %s), _mm256_sad_epu8(cn%d, %s)), %d));",
                    s, z, s, z, s);
    }
}

/* One tap: counters over the channel words, reduced into acc after the tap (or after
 * every word when a tap could overflow a byte). */
static void bytes_tap(Emitter *e, const Node *n, bool bin, const char *P, const char *N)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    int mb = lowbit_mbits(p), S = p->abits + mb - 1;
    long long taps = (long long)(s->k[1] * s->k[2]), CW = (long long)p->CW;
    long long nblk = (long long)((p->cv.M / p->cv.group + 3) / 4);
    int per_s = p->abits < mb ? p->abits : mb; /* most pairs sharing one shift */
    bool per_tap = CW * per_s <= 31;             /* else reduce after every word */
    cg_line(e, "const uint64_t *a = %s + (((b * %lld + g) * %lld + ih) * %lld + iw) * %lld;",
            cg_in(e, 0), (long long)p->cv.group, (long long)s->in[1], (long long)s->in[2],
            p->abits * CW);
    cg_line(e, "const int64_t wo = (((int64_t)g * %lld + blk) * %lld + kh * %lld + kw) * %lld;",
            nblk, taps, (long long)s->k[2], mb * CW * 4);
    if (per_tap)
        bytes_counters(e, S, bin, false);
    cg_open(e, "for (int32_t w = 0; w < %lld; w++)", CW);
    if (!per_tap)
        bytes_counters(e, S, bin, false);
    bytes_word(e, p, lowbit_used_planes(n), bin, P, N);
    if (!per_tap)
        bytes_counters(e, S, bin, true);
    cg_close(e);
    if (per_tap)
        bytes_counters(e, S, bin, true);
}

static Status emit_bitserial_bytes(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    bool bin = p->wbits == 1 && all_pm1(n) && !p->asigned;
    const char *P, *N = NULL;
    LaneFix f = lowbit_fix(p, 0);
    lowbit_planes_lanes(e, n, 4, &P, bin ? NULL : &N);
    cg_line(e, "/* bit-serial, avx2: 4 output channels per vector, %d x %d planes, byte "
               "counters%s */", p->abits, lowbit_mbits(p), bin ? ", binary weights" : "");
    if (!bin && !lowbit_used_planes(n))
        cg_line(e, "(void)%s, (void)%s; /* every filter is zero */", P, N);
    lowbit_open_blocks(e, p, 4);
    cg_line(e, "__m256i acc = _mm256_setzero_si256();");
    cg_line(e, "int64_t sa = 0;");
    lowbit_lane_taps(e, n, 4, &f);
    bytes_tap(e, n, bin, P, N);
    cg_close(e);
    cg_close(e);
    if (bin)
        cg_line(e, "acc = _mm256_sub_epi64(acc, _mm256_set1_epi64x((long long)sa));");
    else
        cg_line(e, "(void)sa;");
    cg_line(e, "int64_t accs[4];");
    cg_line(e, "_mm256_storeu_si256((void *)accs, acc);");
    lowbit_store_lanes(e, n, "int64_t", &f);
    for (int i = 0; i < 5; i++)
        cg_close(e);
    return WR_OK;
}

/* ---- xnor ---- */

static Status emit_xnor(Emitter *e, const Node *n, const Isa *isa)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    int L = isa->bytes / 8;
    long long taps = (long long)(s->k[1] * s->k[2]), CW = (long long)p->CW;
    long long Mg = (long long)(p->cv.M / p->cv.group), nblk = (Mg + L - 1) / L;
    const char *P, *X = cg_in(e, 0);
    lowbit_planes_lanes(e, n, L, &P, NULL);
    cg_line(e, "/* xnor, %s: %d output channels per vector */", isa->name, L);
    lowbit_open_blocks(e, p, L);
    cg_line(e, "%s dis = %s;", isa->V, isa->zero);
    cg_line(e, "int64_t nv = 0; /* taps inside the image */");
    lowbit_open_taps(e, p);
    cg_line(e, "const uint64_t *a = %s + (((b * %lld + g) * %lld + ih) * %lld + iw) * %lld;", X,
            (long long)p->cv.group, (long long)s->in[1], (long long)s->in[2], CW);
    cg_line(e, "const int64_t wo = (((int64_t)g * %lld + blk) * %lld + kh * %lld + kw) * %lld;",
            nblk, taps, (long long)s->k[2], CW * L);
    cg_line(e, "nv++;");
    cg_open(e, "for (int32_t w = 0; w < %lld; w++) /* tail bits are 0 on both sides */", CW);
    cg_line(e, "const %s av = %s((long long)a[w]);", isa->V, isa->set1_64);
    cg_line(e, "const %s pp = %s((const void *)(%s + wo + w * %d));", isa->V, isa->load, P, L);
    cg_line(e, "dis = %s(dis, %s(%s(av, pp)));", isa->add64, isa->pop64, isa->xor_);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    cg_line(e, "int64_t accs[%d];", L);
    cg_line(e, "%s((void *)accs, dis);", isa->store);
    cg_open(e, "for (int32_t l = 0; l < %d; l++)", L);
    cg_line(e, "accs[l] = nv * %lld - 2 * accs[l];", (long long)p->Cg);
    cg_close(e);
    LaneFix none = lowbit_fix(p, 0);
    lowbit_store_lanes(e, n, "int64_t", &none);
    for (int i = 0; i < 5; i++)
        cg_close(e);
    return WR_OK;
}

/* ---- int8 ---- */

/* Interleaved codes [g][blk][tap][C4 / R][L][R] as int8 (R = 4) or int16 (R = 2). */
const char *lowbit_bytes_lanes(Emitter *e, const Node *n, int L, int R)
{
    const QConvParams *p = n->priv;
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2], Mg = p->cv.M / p->cv.group;
    int64_t nblk = (Mg + L - 1) / L, Q = p->C4 / R;
    int64_t total = p->cv.group * nblk * taps * Q * L * R;
    int16_t *w = calloc((size_t)total + 1, 2);
    int8_t *v = malloc((size_t)p->Cg + 1);
    WR_ASSERT(w && v);
    for (int64_t g = 0; g < p->cv.group; g++)
        for (int64_t mi = 0; mi < Mg; mi++)
            for (int64_t t = 0; t < taps; t++) {
                lowbit_filter_tap(n, g * Mg + mi, t, v);
                int64_t base = ((g * nblk + mi / L) * taps + t) * Q * L * R + (mi % L) * R;
                for (int64_t c = 0; c < p->Cg; c++)
                    w[base + (c / R) * L * R + c % R] = v[c];
            }
    const char *name;
    if (R == 2)
        name = cg_const_array(e, "wq", DT_I16, w, total);
    else {
        int8_t *b = malloc((size_t)total + 1);
        WR_ASSERT(b);
        for (int64_t i = 0; i < total; i++)
            b[i] = (int8_t)w[i];
        name = cg_const_array(e, "wq", DT_I8, b, total);
        free(b);
    }
    free(w), free(v);
    return name;
}

static Status emit_int8(Emitter *e, const Node *n, const Isa *isa)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    /* AVX2 with unsigned 8-bit codes: vpmaddubsw could saturate, so 16-bit products;
     * signed codes: |a| x (w with a's sign) (exact); AVX-512 vpdpbusd takes unsigned
     * activations: signed ones go in as code + 128, corrected by the tap sums */
    bool wide = p->abits > 7 && !p->asigned && isa->dot2;
    int32_t offset = p->asigned && !isa->dot4s ? 128 : 0;
    const char *dot = wide ? isa->dot2 : p->asigned && isa->dot4s ? isa->dot4s : isa->dot4;
    LaneFix f = lowbit_fix(p, offset);
    int L = isa->bytes / 4, R = wide ? 2 : 4;
    long long taps = (long long)(s->k[1] * s->k[2]), Q = (long long)(p->C4 / R);
    long long Mg = (long long)(p->cv.M / p->cv.group), nblk = (Mg + L - 1) / L;
    const char *Wq = lowbit_bytes_lanes(e, n, L, R), *X = cg_in(e, 0);
    cg_line(e, "/* int8 dot product, %s: %d output channels per vector, %d codes per lane%s */",
            isa->name, L, R, wide ? ", widened to 16 bits" : "");
    lowbit_open_blocks(e, p, L);
    cg_line(e, "%s acc = %s;", isa->V, isa->zero);
    lowbit_lane_taps(e, n, L, &f);
    cg_line(e, "const uint8_t *a = (const uint8_t *)%s + (((b * %lld + g) * %lld + ih) * %lld + "
               "iw) * %lld;", X,
            (long long)p->cv.group, (long long)s->in[1], (long long)s->in[2],
            (long long)p->C4);
    cg_line(e, "const %s *wv = %s + (((int64_t)g * %lld + blk) * %lld + kh * %lld + kw) * %lld;",
            wide ? "int16_t" : "int8_t", Wq, nblk, taps, (long long)s->k[2], Q * L * R);
    cg_open(e, "for (int32_t q = 0; q < %lld; q++)", Q);
    if (wide)
        cg_line(e, "const int32_t pair = (int32_t)((uint32_t)a[2 * q] | (uint32_t)a[2 * q + 1] "
                   "<< 16);");
    else {
        cg_line(e, "int32_t pair;");
        cg_line(e, "memcpy(&pair, a + 4 * q, 4);");
        if (offset)
            cg_line(e, "pair = (int32_t)((uint32_t)pair ^ 0x80808080u); /* code + 128 */");
    }
    cg_line(e, "acc = %s(acc, %s(pair), %s((const void *)(wv + q * %d)));", dot, isa->set1_32,
            isa->load, L * R);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    cg_line(e, "int32_t accs[%d];", L);
    cg_line(e, "%s((void *)accs, acc);", isa->store);
    lowbit_store_lanes(e, n, "int32_t", &f);
    for (int i = 0; i < 5; i++)
        cg_close(e);
    return WR_OK;
}

static Status emit_simd(Emitter *e, const Node *n, const Isa *isa, Diag *d)
{
    const QConvParams *p = n->priv;
    (void)d;
    cg_helper(e, "wrpnc_pack.h", cg_runtime_file("wrpnc_pack.h")); /* WRPNC_INLINE */
    if (isa == &AVX2)
        cg_helper(e, "wrpnc_avx2_lowbit", avx2_helpers);
    switch (p->kind) {
    case QK_BITSERIAL: return isa == &AVX2 ? emit_bitserial_bytes(e, n) : emit_bitserial(e, n, isa);
    case QK_INT8: return emit_int8(e, n, isa);
    case QK_XNOR: return emit_xnor(e, n, isa);
    case QK_COUNT: break;
    }
    WR_UNREACHABLE();
}

Status lowbit_emit_avx2(Emitter *e, const Node *n, Diag *d) { return emit_simd(e, n, &AVX2, d); }

Status lowbit_emit_avx512(Emitter *e, const Node *n, Diag *d)
{
    return emit_simd(e, n, &AVX512, d);
}
