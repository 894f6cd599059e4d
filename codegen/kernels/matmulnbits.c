/*
 * com.microsoft::MatMulNBits (reference: ir/ops/matmulnbits.c). The weight
 * codes stay packed as the model gives them (never expanded in rodata); each
 * block of codes is unpacked once per tile of rows, not once per row.
 *   int8 compute (accuracy_level 4): every row of A is quantized per block into
 *     the scratch, in the order the unpacked codes come out (below). Tiles of MT
 *     rows x NC columns (MT * NC = 4 accumulators; one row: four columns); per
 *     block, an int32 dot product of the A codes with (code - o), then acc +=
 *     dot * (a_scale * b_scale) in float lanes, plus the zero-point term
 *     (a_scale * sum(A codes)) * (b_scale * (o - zp)), the first factor computed
 *     with the codes, the second once per column and block.
 *   fp32 compute (other levels): per column and block the codes are dequantized
 *     into a float buffer on the stack, (code - zp) * scale, once for a tile of
 *     8 rows; each row accumulates its dot product in a float vector (generic C:
 *     eight partial sums, vectorizable).
 * Codes of a vector: a chunk of G = VB * bits / 8 bytes of the block gives VB
 * codes, plane p (shift p * bits) of byte l at position p * G + l, so a vector
 * is unpacked by shifts and masks only; the A codes are stored in that order:
 *   code i of the block -> (i / VB) * VB + (i % (8 / bits)) * G + (i % VB) / (8 / bits)
 * What varies by target (VB, the vector types, the unpacking and dot-product
 * instructions, the offset o the codes carry into the product, the fp32 FMA and
 * dequantization) is one NbIsa row: generic C, AVX2 (vpmaddubsw + vpmaddwd),
 * AVX-512 (vpdpbusd on 256-bit vectors: VNNI-VL), NEON (vdotq_s32, or vmull_s8).
 */
#include "codegen.h"
#include "opparams.h"

typedef struct NbIsa NbIsa;
/* Emitters of one row of the table; `w` is the vector of unpacked codes. */
typedef void (*NbCodesFn)(Emitter *e, const MatMulNBitsParams *p, const char *src);
typedef void (*NbDotFn)(Emitter *e, const MatMulNBitsParams *p, const char *acc,
                        const char *qa);
struct NbIsa {
    const char *what;
    int VB;                      /* codes per vector; block_size % VB == 0 */
    int (*offset)(int64_t bits); /* o: the product takes code - o */
    const char *ti, *zi;         /* int32 lanes: type, zero */
    const char *tf, *zf;         /* float lanes: type, zero */
    const char *fma;             /* float lanes: int lanes %s converted, times scale %s, plus %s */
    const char *hsum;            /* a float expression: the sum of lanes %s */
    const char *helper;          /* the helper hsum calls (text, key wrpnc_nb_hsum), or NULL */
    void (*consts)(Emitter *e, const MatMulNBitsParams *p);
    NbCodesFn codes;
    NbDotFn dot;
    /* fp32 compute: float lanes per vector (1: the generic loops), and a float
     * expression of acc + a * w, the lanes of float pointers %s (a), %s (w) and %s (acc) */
    int VF;
    const char *ffma;
    /* dequantizes the block into w[] (float sb, float z defined), or returns false for
     * the generic loop */
    bool (*fdeq)(Emitter *e, const MatMulNBitsParams *p);
};

enum { NB_MT_INT8 = 4, NB_MT_FP32 = 8 }; /* rows of A per tile */

static Arena *arena(Emitter *e) { return &((Graph *)e->g)->arena; }

static int off_zero(int64_t bits) { return (void)bits, 0; }
static int off_signed(int64_t bits) { return 1 << (bits - 1); }
static int off_avx2(int64_t bits) { return bits == 8 ? 128 : 0; }

/* Chunk bytes per vector. */
static long long chunk(const NbIsa *isa, const MatMulNBitsParams *p)
{
    return (long long)isa->VB * p->bits / 8;
}

/* ---- generic C: 16 codes per "vector", plain loops ---- */

static void gen_consts(Emitter *e, const MatMulNBitsParams *p) { (void)e, (void)p; }

/* The chunk's bytes; the dot product unpacks them in its loop. */
static void gen_codes(Emitter *e, const MatMulNBitsParams *p, const char *src)
{
    (void)p;
    cg_line(e, "const uint8_t *w = %s;", src);
}

/* One loop over the chunk's G bytes, every plane of a byte against its A code: the
 * int32 sum vectorizes. */
static void gen_dot(Emitter *e, const MatMulNBitsParams *p, const char *acc, const char *qa)
{
    long long G = 16 * p->bits / 8;
    cg_open(e, "for (int32_t l = 0; l < %lld; l++)", G);
    for (int64_t pl = 0; pl < 8 / p->bits; pl++)
        cg_line(e, "%s += (%s)[%lld + l] * ((w[l] >> %lld) & %d);", acc, qa, (long long)pl * G,
                (long long)(pl * p->bits), (1 << p->bits) - 1);
    cg_close(e);
}

/* ---- AVX2 and AVX-512 (256-bit vectors, 32 codes) ---- */

static void x86_consts(Emitter *e, const MatMulNBitsParams *p)
{
    if (p->bits == 4)
        cg_line(e, "const __m256i sh = _mm256_setr_epi64x(0, 0, 4, 4);");
    if (p->bits == 2)
        cg_line(e, "const __m256i sh = _mm256_setr_epi64x(0, 2, 4, 6);");
    cg_line(e, "const __m256i mask = _mm256_set1_epi8((char)%d);", (1 << p->bits) - 1);
    cg_line(e, "const __m256i ones = _mm256_set1_epi16(1);");
    cg_line(e, "(void)mask, (void)ones;");
}

/* w: unsigned codes; 4 bits: 16 bytes in both halves shifted by 0 / 4; 2 bits: 8
 * bytes in every 64-bit lane shifted by 0, 2, 4, 6. */
static void x86_codes(Emitter *e, const MatMulNBitsParams *p, const char *src)
{
    if (p->bits == 8)
        cg_line(e, "const __m256i w = _mm256_loadu_si256((const void *)(%s));", src);
    else if (p->bits == 4)
        cg_line(e, "const __m256i w = _mm256_and_si256(_mm256_srlv_epi64("
                   "_mm256_broadcastsi128_si256(_mm_loadu_si128((const void *)(%s))), sh), "
                   "mask);", src);
    else {
        cg_line(e, "int64_t w8;");
        cg_line(e, "memcpy(&w8, %s, 8);", src);
        cg_line(e, "const __m256i w = _mm256_and_si256(_mm256_srlv_epi64("
                   "_mm256_set1_epi64x((long long)w8), sh), mask);");
    }
}

/* vpmaddubsw: unsigned codes times int8 A, pairs within 2 * 15 * 127; 8-bit codes
 * go in as code - 128 by the sign trick (|c| times A with c's sign: 2 * 128 * 127). */
static void avx2_dot(Emitter *e, const MatMulNBitsParams *p, const char *acc, const char *qa)
{
    const char *q = arena_printf(arena(e), "_mm256_loadu_si256((const void *)(%s))", qa);
    if (p->bits == 8)
        cg_line(e, "%s = _mm256_add_epi32(%s, _mm256_madd_epi16(_mm256_maddubs_epi16("
                   "_mm256_abs_epi8(wx), _mm256_sign_epi8(%s, wx)), ones));", acc, acc, q);
    else
        cg_line(e, "%s = _mm256_add_epi32(%s, _mm256_madd_epi16(_mm256_maddubs_epi16(w, %s), "
                   "ones));", acc, acc, q);
}

static void avx2_codes(Emitter *e, const MatMulNBitsParams *p, const char *src)
{
    x86_codes(e, p, src);
    if (p->bits == 8)
        cg_line(e, "const __m256i wx = _mm256_xor_si256(w, _mm256_set1_epi8((char)0x80));");
}

/* vpdpbusd (AVX-512 VNNI, 256-bit form): unsigned codes times int8 A, no saturation. */
static void avx512_dot(Emitter *e, const MatMulNBitsParams *p, const char *acc, const char *qa)
{
    (void)p;
    cg_line(e, "%s = _mm256_dpbusd_epi32(%s, w, _mm256_loadu_si256((const void *)(%s)));", acc,
            acc, qa);
}

/* fp32: 4 and 8-bit codes of a block (a multiple of 32) into w[], in K order: nibbles
 * interleaved back by unpacklo/hi, 8 codes per vpmovzxbd. */
static bool x86_dequant(Emitter *e, const MatMulNBitsParams *p)
{
    if (p->bits == 2 || p->block % 32)
        return false;
    cg_line(e, "const __m256 vs = _mm256_set1_ps(sb), vz = _mm256_set1_ps(z);");
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", (long long)p->block / 32);
    if (p->bits == 4) {
        cg_line(e, "const __m128i b = _mm_loadu_si128((const void *)(blk + c * 16));");
        cg_line(e, "const __m128i lo = _mm_and_si128(b, _mm_set1_epi8(15));");
        cg_line(e, "const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(15));");
        cg_line(e, "const __m128i n[2] = {_mm_unpacklo_epi8(lo, hi), _mm_unpackhi_epi8(lo, hi)};");
    } else
        cg_line(e, "const __m128i n[2] = {_mm_loadu_si128((const void *)(blk + c * 32)), "
                   "_mm_loadu_si128((const void *)(blk + c * 32 + 16))};");
    for (int h = 0; h < 4; h++)
        cg_line(e, "_mm256_storeu_ps(w + c * 32 + %d, _mm256_mul_ps(_mm256_sub_ps("
                   "_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(%s)), vz), vs));", h * 8,
                h % 2 ? arena_printf(arena(e), "_mm_srli_si128(n[%d], 8)", h / 2)
                      : arena_printf(arena(e), "n[%d]", h / 2));
    cg_close(e);
    return true;
}

/* ---- NEON: 16 codes, signed (code - 2^(bits-1)); vdotq_s32 or vmull_s8 ---- */

static void neon_consts(Emitter *e, const MatMulNBitsParams *p)
{
    if (p->bits == 2)
        cg_line(e, "const int32x4_t sh = {0, -2, -4, -6};");
    cg_line(e, "const uint8x16_t mask = vdupq_n_u8(%d);", (1 << p->bits) - 1);
    cg_line(e, "const uint8x16_t half = vdupq_n_u8(%d);", 1 << (p->bits - 1));
    cg_line(e, "(void)mask;");
}

static void neon_codes(Emitter *e, const MatMulNBitsParams *p, const char *src)
{
    if (p->bits == 8)
        cg_line(e, "const uint8x16_t u = vld1q_u8(%s);", src);
    else if (p->bits == 4) {
        cg_line(e, "const uint8x8_t b8 = vld1_u8(%s);", src);
        cg_line(e, "const uint8x16_t u = vandq_u8(vcombine_u8(b8, vshr_n_u8(b8, 4)), mask);");
    } else {
        cg_line(e, "uint32_t w4;");
        cg_line(e, "memcpy(&w4, %s, 4);", src);
        cg_line(e, "const uint8x16_t u = vandq_u8(vreinterpretq_u8_u32(vshlq_u32("
                   "vdupq_n_u32(w4), sh)), mask);");
    }
    cg_line(e, "const int8x16_t w = vreinterpretq_s8_u8(vsubq_u8(u, half));");
}

/* Two products per int16 lane stay within 2 * 128 * 127. */
static void neon_dot(Emitter *e, const MatMulNBitsParams *p, const char *acc, const char *qa)
{
    (void)p;
    cg_line(e, "#if defined(__ARM_FEATURE_DOTPROD)");
    cg_line(e, "%s = vdotq_s32(%s, w, vld1q_s8(%s));", acc, acc, qa);
    cg_line(e, "#else");
    cg_open(e, "%s", "");
    cg_line(e, "const int8x16_t x = vld1q_s8(%s);", qa);
    cg_line(e, "%s = vpadalq_s16(%s, vmlal_high_s8(vmull_s8(vget_low_s8(w), vget_low_s8(x)), "
               "w, x));", acc, acc);
    cg_close(e);
    cg_line(e, "#endif");
}

static const char hsum8[] =
    "WRPNC_INLINE float wrpnc_nb_hsum8(__m256 v)\n{\n"
    "    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));\n"
    "    s = _mm_add_ps(s, _mm_movehl_ps(s, s));\n"
    "    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));\n}\n";

/* clang-format off */
static const NbIsa GENERIC = {
    "generic C", 16, off_zero, "int32_t", "0", "float", "0.0f",
    "(float)%s * (%s) + %s", "%s", NULL, gen_consts, gen_codes, gen_dot, 1, NULL, NULL};
/* The two x86 rows differ in the name, offset, code unpacking and dot product; both
 * use 256-bit lanes, FMA and the same dequantization. */
#define NB_X86(what, off, codes, dot) {                                                    \
    what, 32, off, "__m256i", "_mm256_setzero_si256()", "__m256", "_mm256_setzero_ps()", \
    "_mm256_fmadd_ps(_mm256_cvtepi32_ps(%s), _mm256_set1_ps(%s), %s)",                   \
    "wrpnc_nb_hsum8(%s)", hsum8, x86_consts, codes, dot,                                 \
    8, "_mm256_fmadd_ps(_mm256_loadu_ps(%s), _mm256_loadu_ps(%s), %s)", x86_dequant}
static const NbIsa AVX2 = NB_X86("avx2: vpmaddubsw + vpmaddwd", off_avx2, avx2_codes, avx2_dot);
static const NbIsa AVX512 = NB_X86("avx512: vpdpbusd (256-bit)", off_zero, x86_codes,
                                   avx512_dot);
#undef NB_X86
static const NbIsa NEON = {
    "neon: vdotq_s32, else vmull_s8", 16, off_signed, "int32x4_t", "vdupq_n_s32(0)",
    "float32x4_t", "vdupq_n_f32(0.0f)",
    "vaddq_f32(vmulq_n_f32(vcvtq_f32_s32(%s), %s), %s)", "vaddvq_f32(%s)", NULL,
    neon_consts, neon_codes, neon_dot,
    4, "vaddq_f32(vmulq_f32(vld1q_f32(%s), vld1q_f32(%s)), %s)", NULL};
/* clang-format on */

static const NbIsa *const nb_isa[TARGET_COUNT] = {
    [TARGET_GENERIC] = &GENERIC, [TARGET_AVX2] = &AVX2, [TARGET_AVX512] = &AVX512,
    [TARGET_NEON] = &NEON};


/* The int8 kernel's target: block_size must be a multiple of the row's VB. */
static const NbIsa *pick_isa(const Emitter *e, const MatMulNBitsParams *p)
{
    const NbIsa *isa = nb_isa[e->opt->target];
    return p->block % isa->VB == 0 ? isa : &GENERIC;
}

/* The zero point of (column j, block k) as an int32 expression (integer zero points). */
static const char *zp_int(Emitter *e, const MatMulNBitsParams *p, const char *j)
{
    long long zrow = (p->kblocks * p->bits + 7) / 8, bits = p->bits;
    if (p->zp_kind == 1)
        return arena_printf(arena(e), "(int32_t)((%s[%s * %lld + k * %lld / 8] >> (k * %lld %% 8)) "
                                      "& %d)", cg_in(e, 3), j, zrow, bits, bits, (1 << bits) - 1);
    return arena_printf(arena(e), "%d", 1 << (p->bits - 1));
}

/* Rows of A into the scratch (layout: ir/ops/matmulnbits.c), per block: scale
 * max|a| / 127, codes a * (127 / max|a|) rounded to nearest even, zero past K,
 * stored in the unpacked codes' order (VB, G); scale times the sum of the codes. */
static void emit_quantize_a(Emitter *e, const MatMulNBitsParams *p, const NbIsa *isa)
{
    long long K = p->K, BS = p->block, KB = p->kblocks, VB = isa->VB, G = chunk(isa, p);
    long long cpb = 8 / p->bits;
    cg_open(e, "for (int64_t m = 0; m < %lld; m++)", (long long)p->M);
    cg_line(e, "const float *a = %s + m * %lld;", cg_in(e, 0), K);
    cg_open(e, "for (int64_t k = 0; k < %lld; k++)", KB);
    cg_line(e, "const int64_t k0 = k * %lld, len = %lld - k0 < %lld ? %lld - k0 : %lld;", BS, K,
            BS, K, BS);
    cg_line(e, "int8_t *q = qa + m * %lld + k0;", KB * BS);
    cg_line(e, "float mx = 0.0f;");
    cg_open(e, "for (int64_t i = 0; i < len; i++)");
    cg_line(e, "const float v = a[k0 + i] < 0.0f ? -a[k0 + i] : a[k0 + i];");
    cg_line(e, "mx = v > mx ? v : mx;");
    cg_close(e);
    cg_line(e, "const float inv = mx != 0.0f ? 127.0f / mx : 0.0f;");
    cg_line(e, "int32_t sum = 0;");
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", BS);
    cg_line(e, "const int32_t c = i < len ? (int32_t)nearbyintf(a[k0 + i] * inv) : 0;");
    cg_line(e, "q[i / %lld * %lld + i %% %lld * %lld + i %% %lld / %lld] = (int8_t)c;", VB, VB,
            cpb, G, VB, cpb);
    cg_line(e, "sum += c;");
    cg_close(e);
    cg_line(e, "as[m * %lld + k] = mx / 127.0f;", KB);
    cg_line(e, "sq[m * %lld + k] = mx / 127.0f * (float)sum;", KB);
    cg_close(e);
    cg_close(e);
}

/* Row pointers of the MT rows of the tile at m0 (rows past M repeat row M - 1: they
 * are computed, not stored). */
static void int8_tile_rows(Emitter *e, const MatMulNBitsParams *p, int MT)
{
    long long KB = p->kblocks, KP = p->kblocks * p->block, M = p->M;
    for (int r = 0; r < MT; r++) {
        cg_line(e, "const int64_t r%d = m0 + %d < %lld ? m0 + %d : %lld;", r, r, M, r, M - 1);
        cg_line(e, "const int8_t *q%d = qa + r%d * %lld;", r, r, KP);
        cg_line(e, "const float *as%d = as + r%d * %lld;", r, r, KB);
        cg_line(e, "const float *sq%d = sq + r%d * %lld;", r, r, KB);
    }
}

/* Block k of the NC columns j<c> for the MT rows: dot products (the codes of a
 * column unpacked once for all rows), then the scaled sums. */
static void int8_block(Emitter *e, const MatMulNBitsParams *p, const NbIsa *isa, int MT, int NC)
{
    long long BS = p->block, VB = isa->VB, G = chunk(isa, p), KB = p->kblocks;
    int o = isa->offset(p->bits);
    for (int c = 0; c < NC; c++) {
        const char *j = arena_printf(arena(e), "j%d", c);
        cg_line(e, "const float sb%d = %s[%s * %lld + k];", c, cg_in(e, 2), j, KB);
        cg_line(e, "const float bz%d = sb%d * (float)(%d - %s);", c, c, o, zp_int(e, p, j));
        for (int r = 0; r < MT; r++)
            cg_line(e, "%s i%d_%d = %s;", isa->ti, r, c, isa->zi);
    }
    cg_open(e, "for (int64_t h = 0; h < %lld; h++)", BS / VB);
    for (int c = 0; c < NC; c++) {
        cg_open(e, "%s", "");
        isa->codes(e, p, arena_printf(arena(e), "bj%d + k * %lld + h * %lld", c,
                                      (long long)p->blob, G));
        for (int r = 0; r < MT; r++)
            isa->dot(e, p, arena_printf(arena(e), "i%d_%d", r, c),
                     arena_printf(arena(e), "q%d + k * %lld + h * %lld", r, BS, VB));
        cg_close(e);
    }
    cg_close(e);
    for (int r = 0; r < MT; r++)
        for (int c = 0; c < NC; c++) {
            const char *acc = arena_printf(arena(e), "f%d_%d", r, c);
            cg_line(e, "%s = %s;", acc,
                    arena_printf(arena(e), isa->fma, arena_printf(arena(e), "i%d_%d", r, c),
                                 arena_printf(arena(e), "as%d[k] * sb%d", r, c), acc));
            cg_line(e, "c%d_%d += sq%d[k] * bz%d;", r, c, r, c);
        }
}

/* The MT x NC outputs of the tile, those inside Y. */
static void int8_store(Emitter *e, const MatMulNBitsParams *p, const NbIsa *isa, int MT, int NC)
{
    for (int r = 0; r < MT; r++)
        for (int c = 0; c < NC; c++) {
            cg_line(e, "if (m0 + %d < %lld && jt + %d < %lld)", r, (long long)p->M, c,
                    (long long)p->N);
            cg_line(e, "    %s[(m0 + %d) * %lld + j%d] = %s + c%d_%d%s;", cg_out(e, 0), r,
                    (long long)p->N, c,
                    arena_printf(arena(e), isa->hsum, arena_printf(arena(e), "f%d_%d", r, c)),
                    r, c, p->bias ? arena_printf(arena(e), " + %s[j%d]", cg_in(e, 5), c) : "");
        }
}

/* accuracy_level 4: quantize A, then per tile of MT rows x NC columns, per block.
 * MT * NC = 4 accumulators (AVX2 has 16 vector registers). */
static void emit_int8(Emitter *e, const MatMulNBitsParams *p, const NbIsa *isa)
{
    long long KB = p->kblocks, KP = KB * p->block, M = p->M, N = p->N;
    int MT = M < NB_MT_INT8 ? (int)M : NB_MT_INT8, NC = NB_MT_INT8 / MT;
    cg_line(e, "int8_t *qa = (int8_t *)%s;", cg_out(e, 1));
    cg_line(e, "float *as = (float *)(void *)(%s + %lld);", cg_out(e, 1), M * KP);
    cg_line(e, "float *sq = (float *)(void *)(%s + %lld);", cg_out(e, 1), M * KP + 4 * M * KB);
    emit_quantize_a(e, p, isa);
    isa->consts(e, p);
    cg_open(e, "for (int64_t m0 = 0; m0 < %lld; m0 += %d)", M, MT);
    int8_tile_rows(e, p, MT);
    cg_open(e, "for (int64_t jt = 0; jt < %lld; jt += %d)", N, NC);
    for (int c = 0; c < NC; c++) {
        cg_line(e, "const int64_t j%d = jt + %d < %lld ? jt + %d : %lld;", c, c, N, c, N - 1);
        cg_line(e, "const uint8_t *bj%d = %s + j%d * %lld;", c, cg_in(e, 1), c, KB * p->blob);
        for (int r = 0; r < MT; r++) {
            cg_line(e, "%s f%d_%d = %s;", isa->tf, r, c, isa->zf);
            cg_line(e, "float c%d_%d = 0.0f;", r, c);
        }
    }
    cg_open(e, "for (int64_t k = 0; k < %lld; k++)", KB);
    int8_block(e, p, isa, MT, NC);
    cg_close(e);
    int8_store(e, p, isa, MT, NC);
    cg_close(e);
    cg_close(e);
}

/* fp32: block k of column j dequantized into w[block] (zero past K). */
static void fp32_dequant(Emitter *e, const MatMulNBitsParams *p, bool fill)
{
    long long BS = p->block, bits = p->bits, cpb = 8 / bits;
    cg_line(e, "const uint8_t *blk = %s + (j * %lld + k) * %lld;", cg_in(e, 1),
            (long long)p->kblocks, (long long)p->blob);
    cg_line(e, "const float sb = %s[j * %lld + k];", cg_in(e, 2), (long long)p->kblocks);
    if (p->zp_kind == 2)
        cg_line(e, "const float z = %s[j * %lld + k];", cg_in(e, 3), (long long)p->kblocks);
    else
        cg_line(e, "const float z = (float)%s;", zp_int(e, p, "j"));
    const NbIsa *isa = nb_isa[e->opt->target];
    if (isa->fdeq && isa->fdeq(e, p))
        return;
    cg_open(e, "for (int64_t l = 0; l < %lld; l++)", (long long)p->blob);
    for (long long pl = 0; pl < cpb; pl++)
        cg_line(e, "w[l * %lld + %lld] = ((float)((blk[l] >> %lld) & %d) - z) * sb;", cpb, pl,
                pl * bits, (1 << bits) - 1);
    cg_close(e);
    if (fill && p->K % p->block)
        cg_line(e, "for (int64_t i = len; i < %lld; i++) w[i] = 0.0f;", BS);
}

/* fp32: the dot products of the block with the rows of the tile, eight partial
 * sums each (the block is read to its end; past K, only in the last block, A is
 * copied into a zero-padded buffer first). */
static void fp32_rows(Emitter *e, const MatMulNBitsParams *p)
{
    long long BS = p->block, K = p->K;
    cg_open(e, "for (int64_t r = 0; r < mt; r++)");
    cg_line(e, "const float *a = %s + (m0 + r) * %lld + k * %lld;", cg_in(e, 0), K, BS);
    if (K % BS) {
        cg_line(e, "float at[%lld];", BS);
        cg_open(e, "if (len < %lld)", BS);
        cg_line(e, "for (int64_t i = 0; i < %lld; i++) at[i] = i < len ? a[i] : 0.0f;", BS);
        cg_line(e, "a = at;");
        cg_close(e);
    }
    cg_line(e, "float s[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};");
    cg_line(e, "for (int64_t i = 0; i < %lld; i += 8)", BS);
    cg_line(e, "    for (int32_t l = 0; l < 8; l++) s[l] += a[i + l] * w[i + l];");
    cg_line(e, "acc[r] += ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));");
    cg_close(e);
}

/* Other accuracy levels: per tile of rows, column and block. */
static void emit_fp32(Emitter *e, const MatMulNBitsParams *p)
{
    long long M = p->M, N = p->N, K = p->K, BS = p->block;
    int MT = M < NB_MT_FP32 ? (int)M : NB_MT_FP32;
    cg_open(e, "for (int64_t m0 = 0; m0 < %lld; m0 += %d)", M, MT);
    cg_line(e, "const int64_t mt = %lld - m0 < %d ? %lld - m0 : %d;", M, MT, M, MT);
    cg_open(e, "for (int64_t j = 0; j < %lld; j++)", N);
    cg_line(e, "float acc[%d] = {0.0f};", MT);
    cg_open(e, "for (int64_t k = 0; k < %lld; k++)", (long long)p->kblocks);
    cg_line(e, "const int64_t len = %lld - k * %lld < %lld ? %lld - k * %lld : %lld;", K, BS, BS,
            K, BS, BS);
    cg_line(e, "float w[%lld];", BS);
    cg_line(e, "(void)len;");
    fp32_dequant(e, p, true);
    fp32_rows(e, p);
    cg_close(e);
    cg_line(e, "for (int64_t r = 0; r < mt; r++)");
    cg_line(e, "    %s[(m0 + r) * %lld + j] = acc[r]%s;", cg_out(e, 0), N,
            p->bias ? arena_printf(arena(e), " + %s[j]", cg_in(e, 5)) : "");
    cg_close(e);
    cg_close(e);
}

/* fp32, SIMD: MT rows (past M: row M - 1 again, not stored) in vector accumulators
 * over the full blocks; the last block, when K ends inside it, in scalar sums. */
static void emit_fp32_simd(Emitter *e, const MatMulNBitsParams *p, const NbIsa *isa)
{
    long long M = p->M, N = p->N, K = p->K, BS = p->block, KF = K / BS;
    int MT = M < NB_MT_FP32 ? (int)M : NB_MT_FP32;
    cg_open(e, "for (int64_t m0 = 0; m0 < %lld; m0 += %d)", M, MT);
    for (int r = 0; r < MT; r++)
        cg_line(e, "const float *a%d = %s + (m0 + %d < %lld ? m0 + %d : %lld) * %lld;", r,
                cg_in(e, 0), r, M, r, M - 1, K);
    cg_open(e, "for (int64_t j = 0; j < %lld; j++)", N);
    for (int r = 0; r < MT; r++) {
        cg_line(e, "%s f%d = %s;", isa->tf, r, isa->zf);
        cg_line(e, "float c%d = 0.0f;", r);
    }
    cg_line(e, "float w[%lld];", BS);
    cg_open(e, "for (int64_t k = 0; k < %lld; k++)", KF);
    fp32_dequant(e, p, false);
    cg_open(e, "for (int64_t i = 0; i < %lld; i += %d)", BS, isa->VF);
    for (int r = 0; r < MT; r++) {
        const char *a = arena_printf(arena(e), "a%d + k * %lld + i", r, BS);
        cg_line(e, "f%d = %s;", r,
                arena_printf(arena(e), isa->ffma, a, "w + i", arena_printf(arena(e), "f%d", r)));
    }
    cg_close(e);
    cg_close(e);
    if (K % BS) {
        cg_open(e, "%s", "");
        cg_line(e, "const int64_t k = %lld, len = %lld;", KF, K - KF * BS);
        fp32_dequant(e, p, false);
        for (int r = 0; r < MT; r++)
            cg_line(e, "for (int64_t i = 0; i < len; i++) c%d += a%d[k * %lld + i] * w[i];", r, r,
                    BS);
        cg_close(e);
    }
    for (int r = 0; r < MT; r++) {
        cg_line(e, "if (m0 + %d < %lld)", r, M);
        cg_line(e, "    %s[(m0 + %d) * %lld + j] = %s + c%d%s;", cg_out(e, 0), r, N,
                arena_printf(arena(e), isa->hsum, arena_printf(arena(e), "f%d", r)), r,
                p->bias ? arena_printf(arena(e), " + %s[j]", cg_in(e, 5)) : "");
    }
    cg_close(e);
    cg_close(e);
}

Status cg_matmulnbits_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const MatMulNBitsParams *p = n->priv;
    const NbIsa *isa = p->int8 ? pick_isa(e, p) : nb_isa[e->opt->target];
    cg_line(e, "/* MatMulNBits: A (%lld x %lld) . B^T (%lld x %lld), %lld-bit codes, blocks of "
               "%lld; %s */", (long long)p->M, (long long)p->K, (long long)p->N, (long long)p->K,
            (long long)p->bits, (long long)p->block,
            arena_printf(arena(e), "%s compute, %s", p->int8 ? "int8" : "fp32", isa->what));
    if (p->M == 0)
        return WR_OK; /* A has no rows: nothing to compute */
    if (isa->helper) {
        cg_helper(e, "wrpnc_pack.h", cg_runtime_file("wrpnc_pack.h")); /* WRPNC_INLINE */
        cg_helper(e, "wrpnc_nb_hsum", isa->helper);
    }
    if (p->int8)
        emit_int8(e, p, isa);
    else if (isa->VF > 1)
        emit_fp32_simd(e, p, isa);
    else
        emit_fp32(e, p);
    return WR_OK;
}
