/*
 * AVX2 bit-serial and xnor QConv kernels, one output pixel x 4 output channels at a
 * time (lowbit_lanes.c's layouts): on Zen 3 these beat the register-blocked AVX2
 * bit-serial micro-kernel (bench_lowbit.py), whose byte counters, broadcast words
 * and nibble tables do not fit 16 ymm registers at several pixels.
 *   bit-serial: byte counters cp<s> (cn<s>) per shift s = i + j gain
 *     pop(A_i & P_j) (pop(A_i & N_j)) per byte (vpshufb nibble table), reduced by
 *     vpsadbw into int64 lanes after each tap, or after every word when a tap could
 *     pass 255. Binary weights (+-1, P only): 2 pop(A & P) - pop(A).
 *   xnor: dis += pop(A xor P) per int64 lane, acc = nv Cg - 2 dis with nv the taps
 *     inside the image.
 */
#include "lowbit.h"

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
    "                           _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low)));\n}\n";

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
    bool bin = p->wbits == 1 && lowbit_all_pm1(n) && !p->asigned;
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

static Status emit_xnor(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    int L = 4;
    long long taps = (long long)(s->k[1] * s->k[2]), CW = (long long)p->CW;
    long long Mg = (long long)(p->cv.M / p->cv.group), nblk = (Mg + L - 1) / L;
    const char *P, *X = cg_in(e, 0);
    lowbit_planes_lanes(e, n, L, &P, NULL);
    cg_line(e, "/* xnor, %s: %d output channels per vector */", "avx2", L);
    lowbit_open_blocks(e, p, L);
    cg_line(e, "%s dis = %s;", "__m256i", "_mm256_setzero_si256()");
    cg_line(e, "int64_t nv = 0; /* taps inside the image */");
    lowbit_open_taps(e, p);
    cg_line(e, "const uint64_t *a = %s + (((b * %lld + g) * %lld + ih) * %lld + iw) * %lld;", X,
            (long long)p->cv.group, (long long)s->in[1], (long long)s->in[2], CW);
    cg_line(e, "const int64_t wo = (((int64_t)g * %lld + blk) * %lld + kh * %lld + kw) * %lld;",
            nblk, taps, (long long)s->k[2], CW * L);
    cg_line(e, "nv++;");
    cg_open(e, "for (int32_t w = 0; w < %lld; w++) /* tail bits are 0 on both sides */", CW);
    cg_line(e, "const %s av = %s((long long)a[w]);", "__m256i", "_mm256_set1_epi64x");
    cg_line(e, "const %s pp = %s((const void *)(%s + wo + w * %d));", "__m256i", "_mm256_loadu_si256", P, L);
    cg_line(e, "dis = %s(dis, %s(%s(av, pp)));", "_mm256_add_epi64", "wrpnc_avx2_pop64", "_mm256_xor_si256");
    cg_close(e);
    cg_close(e);
    cg_close(e);
    cg_line(e, "int64_t accs[%d];", L);
    cg_line(e, "%s((void *)accs, dis);", "_mm256_storeu_si256");
    cg_open(e, "for (int32_t l = 0; l < %d; l++)", L);
    cg_line(e, "accs[l] = nv * %lld - 2 * accs[l];", (long long)p->Cg);
    cg_close(e);
    LaneFix none = {false, 1, 0}; /* accs hold the sums themselves */
    lowbit_store_lanes(e, n, "int64_t", &none);
    for (int i = 0; i < 5; i++)
        cg_close(e);
    return WR_OK;
}

Status lowbit_emit_avx2_px(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    cg_helper(e, "wrpnc_avx2_px", avx2_helpers);
    return p->kind == QK_XNOR ? emit_xnor(e, n) : emit_bitserial_bytes(e, n);
}
