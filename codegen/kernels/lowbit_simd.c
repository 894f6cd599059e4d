/*
 * AVX2 and AVX-512 QConv micro-kernels for the register-blocked driver (lowbit.c,
 * lowbit_emit_blocked): P consecutive output pixels x NB vectors of output channels
 * in the lanes, the activation word or 4 bytes of each pixel broadcast, weights
 * interleaved here, at compile time; no horizontal reduction (cpu-limits.md).
 *   bit-serial, AVX-512 (L = 8): vpopcntq into int64 accumulators per shift.
 *     Binary weights (+-1, P only): 2 pop(A & P) - pop(A), pop(A) a scalar popcount.
 *   xnor, AVX-512: +-1 activations (bit 1 = +1) times +-1 weights = 2 raw - w, raw the binary
 *     bit-serial sum of the codes {0, 1}: the same kernel, corrected by the tap sums of
 *     the taps inside the image (padding contributes 0, as in the float conv).
 *   int8, AVX2 (L = 8 int32 lanes, 4 codes per lane): vpmaddubsw of u8 codes and s8
 *     weights, its int16 pairs summed in int16 for as many steps as cannot overflow
 *     (F = 32767 / (2 max|u| max|w|)), then vpmaddwd by 1 into int32. Signed codes
 *     go in as code + 2^(k-1) (unsigned), corrected by the tap sums; when a pair of
 *     products could pass 32767 (8-bit codes and weights), the sign trick:
 *     |s| times (w with s's sign), s = code (signed) or code - 128 (unsigned).
 *   int8, AVX-512 (L = 16): vpdpbusd (no intermediate saturation); signed codes go in
 *     as code + 128, corrected by the tap sums.
 * What varies by ISA (lanes, register budgets, the popcount and dot-product emitters)
 * is one SimdIsa row each (AVX2, AVX512); emit_bitserial and emit_int8 read only it.
 * Channels past the end of a group get zero weights; their lanes are not stored.
 * AVX2 bit-serial and xnor: one pixel at a time, lowbit_avx2px.c (faster on Zen 3).
 * NEON: lowbit_neon.c (one pixel at a time). Generic C and the reference: lowbit.c,
 * ir/ops/qconv.c.
 */
#include "lowbit.h"

#include <stdlib.h>
#include <string.h>

static Arena *arena(Emitter *e) { return &((Graph *)e->g)->arena; }

/* gcc 12 copies and spills register-blocked vpdpbusd accumulators (cpu-limits.md); a
 * tied "+v" operand keeps them in place. SIMDe (AVX-512 emulated) takes the intrinsic. */
static const char avx512_helpers[] =
    "#if defined(__GNUC__) && !defined(__clang__) && !defined(SIMDE_VERSION)\n"
    "WRPNC_INLINE __m512i wrpnc_dpbusd(__m512i acc, __m512i a, __m512i w)\n{\n"
    "    __asm__(\"vpdpbusd %2, %1, %0\" : \"+v\"(acc) : \"v\"(a), \"v\"(w));\n"
    "    return acc;\n}\n"
    "#else\n"
    "WRPNC_INLINE __m512i wrpnc_dpbusd(__m512i acc, __m512i a, __m512i w)\n{\n"
    "    return _mm512_dpbusd_epi32(acc, a, w);\n}\n"
    "#endif\n";

/* Largest |weight code|. */
static int max_weight(const Node *n)
{
    const int8_t *W = n->in[1]->data;
    int mx = 0;
    for (int64_t i = 0, N = ir_tensor_numel(n->in[1]); i < N; i++)
        mx = abs(W[i]) > mx ? abs(W[i]) : mx;
    return mx;
}

/* Emits "T name<p>_<nb> = zero;" for every pixel and vector, or with S > 0, one per
 * shift s too: "name<p>_<nb>_<s>". */
static void zero_vars(Emitter *e, const QBlock *k, const char *T, const char *name, int S,
                      const char *zero)
{
    for (int q = 0; q < k->P; q++)
        for (int v = 0; v < k->NB; v++)
            for (int s = 0; s < (S ? S : 1); s++)
                cg_line(e, "%s %s%d_%d%s = %s;", T, name, q, v,
                        S ? arena_printf(arena(e), "_%d", s) : "", zero);
}

/* Sign of activation plane i: the top plane of two's complement codes weighs -2^i. */
static int plane_sign(const QConvParams *p, int i)
{
    return p->asigned && i == p->abits - 1 ? -1 : 1;
}

/* Binary weights (every code +-1) take P only; so do xnor's. */
static bool binary_weights(const Node *n)
{
    const QConvParams *p = n->priv;
    return p->wbits == 1 && lowbit_all_pm1(n);
}

/* Block parameters of the popcount kernels: counters (AVX2) or accumulators
 * (AVX-512) per pixel and vector, and the fix of raw. */
static void bitserial_block(const Node *n, QBlock *k, bool bin)
{
    const QConvParams *p = n->priv;
    k->bytes = false;
    k->pad = 0;
    k->fix = lowbit_fix(p, 0);
    if (p->kind == QK_XNOR) /* acc = sum (2 code - 1) w = 2 raw - (tap sums inside) */
        k->fix = (LaneFix){true, 2, -1};
    k->arg[0] = bin;
    k->arg[2] = (int)lowbit_used_planes(n);
    k->arg[3] = bin ? p->abits : p->abits + lowbit_mbits(p) - 1;
    k->acc_t = "int64_t";
}

/* ---- bit-serial and xnor, AVX-512: vpopcntq ----
 * arg: [0] binary weights, [2] planes used, [3] shifts S (one accumulator each). */

static void bs5_init(Emitter *e, const Node *n, const QBlock *k)
{
    (void)n;
    zero_vars(e, k, "__m512i", "c", k->arg[3], "_mm512_setzero_si512()");
    if (k->arg[0])
        for (int q = 0; q < k->P; q++)
            cg_line(e, "int64_t sa%d = 0; /* sum of 2^i pop(A_i) */", q);
}

static void bs5_tap(Emitter *e, const Node *n, const QBlock *k)
{
    const QConvParams *p = n->priv;
    int mb = lowbit_mbits(p), nsign = k->arg[0] ? 1 : 2;
    long long CW = (long long)p->CW;
    cg_open(e, "for (int32_t w = 0; w < %lld; w++)", CW);
    cg_line(e, "const uint64_t *ww = wt + (int64_t)w * %d;", mb * nsign * k->NB * 8);
    cg_line(e, "(void)ww;");
    for (int q = 0; q < k->P; q++)
        for (int i = 0; i < p->abits; i++) {
            cg_line(e, "const uint64_t v%d_%d = a%d[%lld + w];", q, i, q, i * CW);
            cg_line(e, "const __m512i x%d_%d = _mm512_set1_epi64((long long)v%d_%d);", q, i, q,
                    i);
            if (k->arg[0])
                cg_line(e, "sa%d %s= (int64_t)wrpnc_popcount64(v%d_%d) << %d;", q,
                        plane_sign(p, i) < 0 ? "-" : "+", q, i, i);
        }
    for (int j = 0; j < mb; j++) {
        if (!((k->arg[2] >> j) & 1))
            continue;
        for (int sg = 0; sg < nsign; sg++)
            for (int v = 0; v < k->NB; v++) {
                cg_open(e, "%s", "");
                cg_line(e, "const __m512i wv = _mm512_loadu_si512((const void *)(ww + %d));",
                        ((j * nsign + sg) * k->NB + v) * 8);
                for (int q = 0; q < k->P; q++)
                    for (int i = 0; i < p->abits; i++) {
                        bool plus = k->arg[0] || (sg == 0) == (plane_sign(p, i) > 0);
                        cg_line(e, "c%d_%d_%d = _mm512_%s_epi64(c%d_%d_%d, _mm512_popcnt_epi64("
                                   "_mm512_and_si512(x%d_%d, wv)));", q, v, i + j,
                                plus ? "add" : "sub", q, v, i + j, q, i);
                    }
                cg_close(e);
            }
    }
    for (int q = 0; q < k->P; q++)
        for (int i = 0; i < p->abits; i++)
            cg_line(e, "(void)x%d_%d;", q, i);
    cg_close(e);
}

static void bs5_finish(Emitter *e, const Node *n, const QBlock *k)
{
    const QConvParams *p = n->priv;
    bool bin = k->arg[0];
    for (int q = 0; q < k->P; q++)
        for (int v = 0; v < k->NB; v++) {
            cg_line(e, "__m512i r%d_%d = %s;", q, v,
                    bin ? arena_printf(arena(e), "_mm512_set1_epi64((long long)-sa%d)", q)
                        : "_mm512_setzero_si512()");
            for (int s = 0; s < k->arg[3]; s++) /* binary: 2 pop(A & P) - pop(A) */
                cg_line(e, "r%d_%d = _mm512_%s_epi64(r%d_%d, _mm512_slli_epi64(c%d_%d_%d, %d));",
                        q, v, bin && plane_sign(p, s) < 0 ? "sub" : "add", q, v, q, v, s,
                        s + bin);
            cg_line(e, "_mm512_storeu_si512((void *)(accs[%d] + %d), r%d_%d);", q, v * 8, q, v);
        }
}

/* ---- int8 ----
 * arg: [0] code transform before the product: 0 none, 1 + arg[3] (bytewise add),
 *      2 xor 0x80; [1] steps summed in int16 before vpmaddwd (AVX2; 1: none);
 *      [2] the sign trick (AVX2). */

/* The broadcast codes x<p> of pixel p, step q, after the transform. */
static void int8_pixel(Emitter *e, const QBlock *k, int q, const char *set1, const char *V,
                       const char *add8, const char *xor_)
{
    cg_line(e, "int32_t v%d;", q);
    cg_line(e, "memcpy(&v%d, a%d + 4 * q, 4);", q, q);
    if (k->arg[0] == 1)
        cg_line(e, "const %s x%d = %s(%s(v%d), off);", V, q, add8, set1, q);
    else if (k->arg[0] == 2)
        cg_line(e, "const %s x%d = %s(%s(v%d), flip);", V, q, xor_, set1, q);
    else
        cg_line(e, "const %s x%d = %s(v%d);", V, q, set1, q);
}

static void i8a2_flush(Emitter *e, const Node *n, const QBlock *k)
{
    (void)n;
    for (int q = 0; q < k->P; q++)
        for (int v = 0; v < k->NB; v++) {
            cg_line(e, "c%d_%d = _mm256_add_epi32(c%d_%d, _mm256_madd_epi16(s%d_%d, ones));", q,
                    v, q, v, q, v);
            cg_line(e, "s%d_%d = _mm256_setzero_si256();", q, v);
        }
}

static void i8a2_init(Emitter *e, const Node *n, const QBlock *k)
{
    (void)n;
    cg_line(e, "const __m256i ones = _mm256_set1_epi16(1);");
    if (k->arg[0] == 1)
        cg_line(e, "const __m256i off = _mm256_set1_epi8(%d);", k->arg[3]);
    if (k->arg[0] == 2)
        cg_line(e, "const __m256i flip = _mm256_set1_epi8((char)0x80);");
    zero_vars(e, k, "__m256i", "c", 0, "_mm256_setzero_si256()");
    if (k->arg[1] > 1)
        zero_vars(e, k, "__m256i", "s", 0, "_mm256_setzero_si256()");
    cg_line(e, "int32_t nacc = 0; /* steps in the int16 sums */");
    cg_line(e, "(void)nacc;");
}

static void i8a2_tap(Emitter *e, const Node *n, const QBlock *k)
{
    const QConvParams *p = n->priv;
    long long Q = (long long)p->C4 / 4;
    if (k->arg[1] > 1)
        lowbit_open_chunks(e, n, k, "q", Q, k->arg[1], i8a2_flush);
    else {
        cg_open(e, "for (int32_t q = 0; q < %lld; q++)", Q);
        cg_open(e, "%s", "");
    }
    cg_line(e, "const int8_t *wq = wt + (int64_t)q * %d;", k->NB * 32);
    for (int v = 0; v < k->NB; v++)
        cg_line(e, "const __m256i w%d = _mm256_loadu_si256((const void *)(wq + %d));", v, v * 32);
    for (int q = 0; q < k->P; q++) {
        int8_pixel(e, k, q, "_mm256_set1_epi32", "__m256i", "_mm256_add_epi8",
                   "_mm256_xor_si256");
        if (k->arg[2]) /* |s| times w with s's sign: a pair stays within 2 * 128 * 127 */
            cg_line(e, "const __m256i ax%d = _mm256_abs_epi8(x%d);", q, q);
        for (int v = 0; v < k->NB; v++) {
            if (k->arg[2])
                cg_line(e, "c%d_%d = _mm256_add_epi32(c%d_%d, _mm256_madd_epi16("
                           "_mm256_maddubs_epi16(ax%d, _mm256_sign_epi8(w%d, x%d)), ones));",
                        q, v, q, v, q, v, q);
            else if (k->arg[1] > 1)
                cg_line(e, "s%d_%d = _mm256_add_epi16(s%d_%d, _mm256_maddubs_epi16(x%d, w%d));",
                        q, v, q, v, q, v);
            else
                cg_line(e, "c%d_%d = _mm256_add_epi32(c%d_%d, _mm256_madd_epi16("
                           "_mm256_maddubs_epi16(x%d, w%d), ones));", q, v, q, v, q, v);
        }
    }
    cg_close(e);
    cg_close(e);
}

static void i8a2_finish(Emitter *e, const Node *n, const QBlock *k)
{
    if (k->arg[1] > 1)
        i8a2_flush(e, n, k);
    for (int q = 0; q < k->P; q++)
        for (int v = 0; v < k->NB; v++)
            cg_line(e, "_mm256_storeu_si256((void *)(accs[%d] + %d), c%d_%d);", q, v * 8, q, v);
}

/* AVX2: codes u (after the transform) and weights w with 2 max|u| max|w| <= 32767 go
 * through vpmaddubsw unsaturated; else the sign trick. Returns the offset added to
 * the codes. */
static int i8a2_setup(const Node *n, QBlock *k)
{
    const QConvParams *p = n->priv;
    int wmax = max_weight(n), umax = (1 << p->abits) - 1;
    long long pair = 2LL * umax * (wmax ? wmax : 1);
    if (pair > 32767) { /* 8-bit codes: s = code (signed) or code - 128 (unsigned) */
        k->arg[2] = 1;
        k->arg[0] = p->asigned ? 0 : 2;
        k->arg[1] = 1;
        k->what = "int8 dot product, avx2: sign trick, vpmaddubsw + vpmaddwd";
        return p->asigned ? 0 : -128;
    }
    int offset = p->asigned ? 1 << (p->abits - 1) : 0;
    k->arg[0] = p->asigned ? 1 : 0;
    k->arg[3] = (int8_t)offset;
    k->arg[1] = (int)(32767 / pair);
    k->what = k->arg[1] > 1 ? "int8 dot product, avx2: vpmaddubsw, int16 sums, vpmaddwd"
                            : "int8 dot product, avx2: vpmaddubsw + vpmaddwd";
    return offset;
}

static void i8a5_init(Emitter *e, const Node *n, const QBlock *k)
{
    (void)n;
    if (k->arg[0] == 2)
        cg_line(e, "const __m512i flip = _mm512_set1_epi8((char)0x80);");
    zero_vars(e, k, "__m512i", "c", 0, "_mm512_setzero_si512()");
}

static void i8a5_tap(Emitter *e, const Node *n, const QBlock *k)
{
    const QConvParams *p = n->priv;
    cg_open(e, "for (int32_t q = 0; q < %lld; q++)", (long long)p->C4 / 4);
    cg_line(e, "const int8_t *wq = wt + (int64_t)q * %d;", k->NB * 64);
    for (int v = 0; v < k->NB; v++)
        cg_line(e, "const __m512i w%d = _mm512_loadu_si512((const void *)(wq + %d));", v, v * 64);
    for (int q = 0; q < k->P; q++) {
        int8_pixel(e, k, q, "_mm512_set1_epi32", "__m512i", NULL, "_mm512_xor_si512");
        for (int v = 0; v < k->NB; v++)
            cg_line(e, "c%d_%d = wrpnc_dpbusd(c%d_%d, x%d, w%d);", q, v, q, v, q, v);
    }
    cg_close(e);
}

static void i8a5_finish(Emitter *e, const Node *n, const QBlock *k)
{
    (void)n;
    for (int q = 0; q < k->P; q++)
        for (int v = 0; v < k->NB; v++)
            cg_line(e, "_mm512_storeu_si512((void *)(accs[%d] + %d), c%d_%d);", q, v * 16, q, v);
}

/* AVX-512: vpdpbusd takes unsigned codes: signed ones go in as code + 128. */
static int i8a5_setup(const Node *n, QBlock *k)
{
    const QConvParams *p = n->priv;
    k->arg[0] = p->asigned ? 2 : 0;
    k->what = "int8 dot product, avx512: vpdpbusd";
    return p->asigned ? 128 : 0;
}

/* ---- what varies by target: one row per ISA ---- */

typedef struct SimdIsa {
    const char *name, *popcount; /* target, how the bit-serial kernel counts */
    int L64, L32;       /* 64-bit and 32-bit lanes per vector */
    int bs_acc, bs_pmax; /* bit-serial: accumulators (pixels x vectors x shifts), pixels */
    int bs_nb1, bs_nb;  /* vectors per channel block with one shift, with several */
    int i8_acc, i8_pmax, i8_nb; /* int8: accumulators, pixels, vectors */
    int i8s_pmax, i8s_nb; /* pixels and vectors of the AVX2 sign trick */
    const char *i8_helper, *i8_text; /* helpers emitted (or NULL) */
    /* the bit-serial and xnor kernel when it is not the register-blocked one */
    Status (*bs_kernel)(Emitter *e, const Node *n);
    int (*i8_setup)(const Node *n, QBlock *k); /* returns the offset added to the codes */
    QBlockFn bs_init, bs_tap, bs_finish, i8_init, i8_tap, i8_finish;
} SimdIsa;

/* Register budgets: AVX2 has 16 ymm (the int8 kernel's int32 sums may spill, its int16
 * sums do not); AVX-512 has 32 zmm (up to 24 accumulators, the weight vectors and x
 * beside). AVX2 bit-serial and xnor: one pixel at a time (lowbit_avx2px.c).
 * The AVX2 sign trick: 2 pixels x 4 vectors (8 int32 sums, 4 weight vectors, x, |x|
 * and two constants: no spill). Every vector op takes a slot of the vector pipes
 * (vpbroadcastd from memory too): vpsignb, vpmaddubsw, vpmaddwd, vpaddd per vector
 * and step, and broadcast, xor and abs per pixel and step, shared by NB vectors;
 * 4 + 3 / NB slots per 32 MACs (the peak: 3), so NB = 4 over the 4-bit path's 2. */
static const SimdIsa AVX2 = {
    "avx2", "byte counters", 4, 8, 0, 0, 0, 0, 8, 6, 2, 2, 4,
    NULL, NULL, lowbit_emit_avx2_px, i8a2_setup,
    NULL, NULL, NULL, i8a2_init, i8a2_tap, i8a2_finish};
static const SimdIsa AVX512 = {
    "avx512", "vpopcntq", 8, 16, 24, 8, 3, 2, 24, 8, 3, 0, 0,
    "wrpnc_avx512_lowbit", avx512_helpers, NULL, i8a5_setup,
    bs5_init, bs5_tap, bs5_finish, i8a5_init, i8a5_tap, i8a5_finish};

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void emit_bitserial(Emitter *e, const Node *n, const SimdIsa *isa)
{
    const QConvParams *p = n->priv;
    bool bin = binary_weights(n);
    QBlock k = {.L = isa->L64, .wtype = "uint64_t"};
    bitserial_block(n, &k, bin);
    int S = k.arg[3];
    k.NB = lowbit_block_vectors(p, k.L, S == 1 ? isa->bs_nb1 : isa->bs_nb);
    k.P = lowbit_block_pixels(p, clamp(isa->bs_acc / (k.NB * S), 1, isa->bs_pmax));
    k.W = lowbit_planes_block(e, n, k.L, k.NB, bin ? 1 : 2);
    k.wtap = (long long)p->CW * lowbit_mbits(p) * (bin ? 1 : 2) * k.NB * 8;
    k.what = arena_printf(arena(e), "%s, %s: %d x %d planes%s, %s",
                          p->kind == QK_XNOR ? "xnor" : "bit-serial", isa->name, p->abits,
                          lowbit_mbits(p), bin ? ", binary weights" : "", isa->popcount);
    k.init = isa->bs_init, k.tap = isa->bs_tap, k.finish = isa->bs_finish;
    lowbit_emit_blocked(e, n, &k);
}

static void emit_int8(Emitter *e, const Node *n, const SimdIsa *isa)
{
    const QConvParams *p = n->priv;
    QBlock k = {.L = isa->L32, .wtype = "int8_t", .bytes = true, .acc_t = "int32_t"};
    int offset = isa->i8_setup(n, &k);
    k.pad = (uint8_t)(-offset); /* a padded tap reads code -offset: adds 0 */
    k.fix = lowbit_fix(p, offset);
    if (k.arg[2]) { /* the sign trick */
        k.NB = lowbit_block_vectors(p, k.L, isa->i8s_nb);
        k.P = lowbit_block_pixels(p, isa->i8s_pmax);
    } else {
        k.NB = lowbit_block_vectors(p, k.L, isa->i8_nb);
        k.P = lowbit_block_pixels(p, clamp(isa->i8_acc / k.NB, 1, isa->i8_pmax));
    }
    k.W = lowbit_bytes_block(e, n, k.L, k.NB);
    k.wtap = (long long)p->C4 * k.NB * k.L;
    k.init = isa->i8_init, k.tap = isa->i8_tap, k.finish = isa->i8_finish;
    if (isa->i8_helper)
        cg_helper(e, isa->i8_helper, isa->i8_text);
    lowbit_emit_blocked(e, n, &k);
}

static Status emit_simd(Emitter *e, const Node *n, const SimdIsa *isa, Diag *d)
{
    const QConvParams *p = n->priv;
    (void)d;
    cg_helper(e, "wrpnc_pack.h", cg_runtime_file("wrpnc_pack.h")); /* WRPNC_INLINE */
    switch (p->kind) {
    case QK_BITSERIAL:
    case QK_XNOR:
        if (isa->bs_kernel)
            return isa->bs_kernel(e, n);
        emit_bitserial(e, n, isa);
        return WR_OK;
    case QK_INT8: emit_int8(e, n, isa); return WR_OK;
    case QK_COUNT: break;
    }
    WR_UNREACHABLE();
}

Status lowbit_emit_avx2(Emitter *e, const Node *n, Diag *d) { return emit_simd(e, n, &AVX2, d); }

Status lowbit_emit_avx512(Emitter *e, const Node *n, Diag *d)
{
    return emit_simd(e, n, &AVX512, d);
}
