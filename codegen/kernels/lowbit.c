/*
 * Emitters of the internal low-bit ops (reference evals: ir/ops/lowbit.c):
 * ActQuant and PackAct as flat loops, and the generic-C QConv kernels:
 *   bit-serial: acc = sum_i sum_j 2^(i+j) (pop(A_i & P_j) - pop(A_i & N_j)) over the
 *     taps inside the image and the channel words (weights packed here, at compile
 *     time, as sign-magnitude planes; planes no filter uses are left out);
 *   int8: acc = sum a * w over bytes of the per-group NHWC codes;
 *   xnor (+-1 activations and weights): acc = nv * Cg - 2 sum pop(A xor B), nv the taps
 *     inside the image (padding is 0 in the float conv, not -1: those taps are left out).
 * AVX2 / AVX-512 variants are in lowbit_simd.c, NEON in lowbit_neon.c; every variant
 * computes the same exact int32 accumulator, then Y = acc * scale[m] + B[m] (or acc itself,
 * or the folded quantizer's codes, as uint8 NCHW or already packed for the next QConvs).
 */
#include "lowbit.h"
#include "wrpnc_pack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ActQuant's packed output (out_layout, out_group): loops over (b, c, y) define the
 * element index i; the planes are zeroed first. Returns the loops opened. */
static int act_quant_loops(Emitter *e, const Node *n, bool packed)
{
    const Tensor *x = n->in[0];
    if (!packed) {
        cg_open(e, "for (int64_t i = 0; i < %lld; i++)", (long long)ir_tensor_numel(x));
        return 1;
    }
    cg_line(e, "memset(%s, 0, %lld);", cg_out(e, 0), (long long)ir_tensor_bytes(n->out[0]));
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)x->dim[0]);
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", (long long)x->dim[1]);
    cg_open(e, "for (int64_t y = 0; y < %lld; y++)", (long long)(x->dim[2] * x->dim[3]));
    cg_line(e, "const int64_t i = (b * %lld + c) * %lld + y;", (long long)x->dim[1],
            (long long)(x->dim[2] * x->dim[3]));
    return 3;
}

/* Stores code q of element i: uint8 NCHW, or into PackAct's layout. */
static void act_quant_store(Emitter *e, const Node *n, const char *Q)
{
    if (!ir_attr_find(n, "out_layout")) {
        cg_line(e, "%s[i] = (uint8_t)q;", Q);
        return;
    }
    const Tensor *x = n->in[0];
    bool int8 = strcmp(ir_attr_str((Node *)n, "out_layout", "bitserial"), "int8") == 0;
    int bits = (int)ir_attr_int((Node *)n, "bits", 1);
    long long G = (long long)ir_attr_int((Node *)n, "out_group", 1), HW = x->dim[2] * x->dim[3];
    long long Cg = (long long)x->dim[1] / G, CW = (Cg + 63) / 64, C4 = (Cg + 3) / 4 * 4;
    cg_line(e, "const int64_t pix = (b * %lld + c / %lld) * %lld + y, cg = c %% %lld;", G, Cg,
            HW, Cg);
    if (int8) {
        cg_line(e, "%s[pix * %lld + cg] = (uint8_t)q;", Q, C4);
        return;
    }
    cg_line(e, "uint64_t *pw = %s + pix * %lld + cg / 64;", Q, bits * CW);
    for (int j = 0; j < bits; j++)
        cg_line(e, "pw[%lld] |= (uint64_t)(((unsigned)q >> %d) & 1u) << (cg %% 64);", j * CW, j);
}

/* ActQuant in IntQuant mode (scale, zero point 0, unsigned): quant_int_code_ref's order. */
static void act_quant_scaled(Emitter *e, const Node *n, int bits, float scale, const char *Q,
                             const char *V)
{
    double lo, hi;
    quant_int_range(bits, 0, (int)ir_attr_int((Node *)n, "narrow", 0), &lo, &hi);
    int r = quant_round_mode(ir_attr_str((Node *)n, "rounding_mode", "ROUND"));
    char v[64], expr[128];
    snprintf(v, sizeof v, "(x / %af + 0.0f)", (double)scale);
    snprintf(expr, sizeof expr, quant_round_cfmt((QRound)(r < 0 ? 0 : r)), v);
    cg_line(e, "float q = %s;", expr);
    cg_line(e, "q = q != q ? 0.0f : q < %.1f ? (float)%.1f : q > %.1f ? (float)%.1f : q;", lo, lo,
            hi, hi);
    act_quant_store(e, n, Q);
    if (V)
        cg_line(e, "%s[i] = (q - 0.0f) * %af;", V, (double)scale);
}

Status cg_act_quant_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    int bits = (int)ir_attr_int((Node *)n, "bits", 1), N = (1 << bits) - 1;
    float scale = ir_attr_float((Node *)n, "scale", 0.0f);
    const char *X = cg_in(e, 0), *Q = cg_out(e, 0);
    const char *V = n->nout > 1 && n->out[1] ? cg_out(e, 1) : NULL;
    int loops = act_quant_loops(e, n, ir_attr_find(n, "out_layout") != NULL);
    cg_line(e, "const float x = %s[i];", X);
    if (ir_attr_int((Node *)n, "bipolar", 0)) { /* quant_bipolar_ref */
        cg_line(e, "const float q = x >= 0.0f ? 1.0f : 0.0f;");
        act_quant_store(e, n, Q);
        if (V)
            cg_line(e, "%s[i] = x >= 0.0f ? %af : -%af;", V, (double)scale, (double)scale);
    } else if (scale > 0)
        act_quant_scaled(e, n, bits, scale, Q, V);
    else {
        cg_line(e, "const float cx = x != x ? 0.0f : x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x;");
        cg_line(e, "const float q = nearbyintf(%d.0f * cx);", N);
        act_quant_store(e, n, Q);
        if (V)
            cg_line(e, "%s[i] = q / %d.0f;", V, N);
    }
    while (loops--)
        cg_close(e);
    return WR_OK;
}

Status cg_pack_act_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const PackActParams *p = n->priv;
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    long long HW = (long long)(p->H * p->W), per = p->kind != QK_INT8 ? p->bits * p->CW : p->C4;
    cg_line(e, "memset(%s, 0, %lld);", Y, (long long)ir_tensor_bytes(n->out[0]));
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)p->N);
    cg_open(e, "for (int64_t g = 0; g < %lld; g++)", (long long)p->G);
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", (long long)p->Cg);
    cg_line(e, "const uint8_t *src = %s + ((b * %lld + g * %lld + c) * %lld);", X,
            (long long)p->C, (long long)p->Cg, HW);
    cg_open(e, "for (int64_t y = 0; y < %lld; y++)", HW);
    cg_line(e, "%s *dst = %s + ((b * %lld + g) * %lld + y) * %lld;", cg_ctype(n->out[0]->dtype),
            Y, (long long)p->G, HW, per);
    if (p->kind == QK_INT8)
        cg_line(e, "dst[c] = src[y];");
    else
        for (int i = 0; i < p->bits; i++)
            cg_line(e, "dst[%lld + c / 64] |= (uint64_t)((src[y] >> %d) & 1u) << (c %% 64);",
                    (long long)(i * p->CW), i);
    for (int i = 0; i < 4; i++)
        cg_close(e);
    return WR_OK;
}

/* ---- shared by every QConv variant ---- */

int lowbit_mbits(const QConvParams *p) { return p->wbits > 1 ? p->wbits - 1 : 1; }

void lowbit_filter_tap(const Node *n, int64_t m, int64_t t, int8_t *v)
{
    const QConvParams *p = n->priv;
    const int8_t *W = n->in[1]->data;
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2];
    for (int64_t c = 0; c < p->Cg; c++)
        v[c] = W[(m * p->Cg + c) * taps + t];
}

unsigned lowbit_used_planes(const Node *n)
{
    const int8_t *W = n->in[1]->data;
    unsigned used = 0;
    for (int64_t i = 0, N = ir_tensor_numel(n->in[1]); i < N; i++)
        used |= (unsigned)(W[i] < 0 ? -W[i] : W[i]);
    return used;
}

void lowbit_open_pixels(Emitter *e, const QConvParams *p)
{
    const Spatial *s = &p->cv.sp;
    cg_open(e, "for (int32_t b = 0; b < %lld; b++)", (long long)p->cv.N);
    cg_open(e, "for (int32_t oh = 0; oh < %lld; oh++)", (long long)s->out[1]);
    cg_open(e, "for (int32_t ow = 0; ow < %lld; ow++)", (long long)s->out[2]);
    cg_line(e, "const int32_t ih0 = oh * %lld - %lld, iw0 = ow * %lld - %lld;",
            (long long)s->stride[1], (long long)s->pad0[1], (long long)s->stride[2],
            (long long)s->pad0[2]);
}

void lowbit_open_taps(Emitter *e, const QConvParams *p)
{
    const Spatial *s = &p->cv.sp;
    cg_open(e, "for (int32_t kh = 0; kh < %lld; kh++)", (long long)s->k[1]);
    cg_line(e, "const int32_t ih = ih0 + kh * %lld;", (long long)s->dil[1]);
    cg_line(e, "if (ih < 0 || ih >= %lld) continue;", (long long)s->in[1]);
    cg_open(e, "for (int32_t kw = 0; kw < %lld; kw++)", (long long)s->k[2]);
    cg_line(e, "const int32_t iw = iw0 + kw * %lld;", (long long)s->dil[2]);
    cg_line(e, "if (iw < 0 || iw >= %lld) continue; /* zero padding: code 0 */",
            (long long)s->in[2]);
}

/* Code q of channel `mexpr` at the pixel, into PackAct's layout (planes start zeroed). */
static void store_packed(Emitter *e, const QConvParams *p, const char *mexpr)
{
    const Spatial *s = &p->cv.sp;
    long long Cg = (long long)p->out_Cg, CW = (long long)p->out_CW;
    cg_line(e, "const int32_t pc = (%s) %% %lld, pg = (%s) / %lld;", mexpr, Cg, mexpr, Cg);
    cg_line(e, "const int64_t px = ((int64_t)b * %lld + pg) * %lld + oh * %lld + ow;",
            (long long)p->out_G, (long long)(s->out[1] * s->out[2]), (long long)s->out[2]);
    if (p->out_kind == QK_INT8) {
        cg_line(e, "%s[px * %lld + pc] = (uint8_t)q;", cg_out(e, 0), (long long)p->out_C4);
        return;
    }
    cg_line(e, "uint64_t *pw = %s + px * %lld + pc / 64;", cg_out(e, 0), p->out_bits * CW);
    cg_open(e, "for (int32_t pi = 0; pi < %d; pi++)", p->out_bits);
    cg_line(e, "pw[pi * %lld] |= (uint64_t)((q >> pi) & 1) << (pc %% 64);", CW);
    cg_close(e);
}

void lowbit_store(Emitter *e, const Node *n, const char *mexpr, const char *acc)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    const char *Y = cg_out(e, 0);
    char idx[256];
    snprintf(idx, sizeof idx, "((b * %lld + (%s)) * %lld + oh) * %lld + ow", (long long)p->cv.M,
             mexpr, (long long)s->out[1], (long long)s->out[2]);
    if (p->out_bits) { /* folded quantizer: count the thresholds reached */
        int T = (1 << p->out_bits) - 1;
        const char *Th = cg_const_array(e, "thresh", DT_I32, p->thresh, p->cv.M * T);
        cg_line(e, "const int32_t qa = %s;", acc);
        cg_line(e, "const int32_t *th = %s + (%s) * %d;", Th, mexpr, T);
        cg_line(e, "int32_t q = 0;");
        cg_open(e, "for (int32_t t = 0; t < %d; t++)", T);
        cg_line(e, "q += %s[%s] >= 0.0f ? qa >= th[t] : qa <= th[t];", cg_in(e, 2), mexpr);
        cg_close(e);
        if (p->out_packed)
            store_packed(e, p, mexpr);
        else
            cg_line(e, "%s[%s] = (uint8_t)q;", Y, idx);
        return;
    }
    if (p->out_acc) {
        cg_line(e, "%s[%s] = %s;", Y, idx, acc);
        return;
    }
    const char *S = cg_in(e, 2), *B = n->nin > 3 && n->in[3] ? cg_in(e, 3) : NULL;
    if (B)
        cg_line(e, "%s[%s] = (float)(%s) * %s[%s] + %s[%s];", Y, idx, acc, S, mexpr, B, mexpr);
    else
        cg_line(e, "%s[%s] = (float)(%s) * %s[%s] + 0.0f;", Y, idx, acc, S, mexpr);
}

/* ---- generic C ---- */

/* Constant weight planes P and N (N: unless NULL), layout [m][tap][j][CW] (j < mbits). */
static void weight_planes(Emitter *e, const Node *n, const char **P, const char **N)
{
    const QConvParams *p = n->priv;
    int mb = lowbit_mbits(p);
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2], per = mb * p->CW;
    int64_t total = p->cv.M * taps * per;
    uint64_t *wp = calloc((size_t)total + 1, 8), *wn = calloc((size_t)total + 1, 8);
    int8_t *v = malloc((size_t)p->Cg + 1);
    WR_ASSERT(wp && wn && v);
    for (int64_t m = 0; m < p->cv.M; m++)
        for (int64_t t = 0; t < taps; t++) {
            lowbit_filter_tap(n, m, t, v);
            wrpnc_pack_signmag_i8(v, p->Cg, mb, wp + (m * taps + t) * per,
                                  wn + (m * taps + t) * per);
        }
    *P = cg_const_array(e, "wpos", DT_U64, wp, total);
    if (N)
        *N = cg_const_array(e, "wneg", DT_U64, wn, total);
    free(wp);
    free(wn);
    free(v);
}

/* +-1 codes times +-1 weights (weights: plane P, bit 1 = +1). */
static Status emit_xnor(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    long long taps = (long long)(s->k[1] * s->k[2]), CW = (long long)p->CW;
    const char *P, *X = cg_in(e, 0);
    weight_planes(e, n, &P, NULL);
    cg_helper(e, "wrpnc_pack.h", cg_runtime_file("wrpnc_pack.h"));
    cg_line(e, "/* xnor, generic C: %lld words per pixel */", CW);
    cg_open(e, "for (int32_t m = 0; m < %lld; m++)", (long long)p->cv.M);
    cg_line(e, "const int32_t g = m / %lld;", (long long)(p->cv.M / p->cv.group));
    lowbit_open_pixels(e, p);
    cg_line(e, "int32_t dis = 0, nv = 0; /* differing bits, taps inside the image */");
    lowbit_open_taps(e, p);
    cg_line(e, "const uint64_t *a = %s + (((b * %lld + g) * %lld + ih) * %lld + iw) * %lld;", X,
            (long long)p->cv.group, (long long)s->in[1], (long long)s->in[2], CW);
    cg_line(e, "const uint64_t *wb = %s + (m * %lld + kh * %lld + kw) * %lld;", P, taps,
            (long long)s->k[2], CW);
    cg_line(e, "nv++;");
    cg_open(e, "for (int32_t w = 0; w < %lld; w++) /* tail bits are 0 on both sides */", CW);
    cg_line(e, "dis += wrpnc_popcount64(a[w] ^ wb[w]);");
    cg_close(e);
    cg_close(e);
    cg_close(e);
    cg_line(e, "const int32_t acc = nv * %lld - 2 * dis;", (long long)p->Cg);
    lowbit_store(e, n, "m", "acc");
    for (int i = 0; i < 4; i++)
        cg_close(e);
    return WR_OK;
}

static Status emit_bitserial(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    int mb = lowbit_mbits(p);
    unsigned used = lowbit_used_planes(n);
    long long taps = (long long)(s->k[1] * s->k[2]), CW = (long long)p->CW;
    const char *P, *N, *X = cg_in(e, 0);
    weight_planes(e, n, &P, &N);
    cg_helper(e, "wrpnc_pack.h", cg_runtime_file("wrpnc_pack.h"));
    cg_line(e, "/* bit-serial, generic C: %d activation planes x %d weight planes, %lld words "
               "per pixel */", p->abits, mb, CW);
    cg_open(e, "for (int32_t m = 0; m < %lld; m++)", (long long)p->cv.M);
    cg_line(e, "const int32_t g = m / %lld;", (long long)(p->cv.M / p->cv.group));
    lowbit_open_pixels(e, p);
    cg_line(e, "int32_t acc = 0;");
    lowbit_open_taps(e, p);
    cg_line(e, "const uint64_t *a = %s + (((b * %lld + g) * %lld + ih) * %lld + iw) * %lld;", X,
            (long long)p->cv.group, (long long)s->in[1], (long long)s->in[2],
            (long long)(p->abits * CW));
    cg_line(e, "const uint64_t *wp = %s + (m * %lld + kh * %lld + kw) * %lld;", P, taps,
            (long long)s->k[2], mb * CW);
    cg_line(e, "const uint64_t *wn = %s + (m * %lld + kh * %lld + kw) * %lld;", N, taps,
            (long long)s->k[2], mb * CW);
    /* loops, not unrolled text: compilers expand the generic popcount into
     * bit tricks, and fully unrolled plane pairs made compile times explode */
    cg_open(e, "for (int32_t w = 0; w < %lld; w++)", CW);
    cg_open(e, "for (int32_t i = 0; i < %d; i++)", p->abits);
    cg_line(e, "const uint64_t av = a[i * %lld + w];", CW);
    cg_open(e, "for (int32_t j = 0; j < %d; j++)", mb);
    if (used != (1u << mb) - 1)
        cg_line(e, "if (!((0x%xu >> j) & 1u)) continue; /* no filter uses plane j */", used);
    cg_line(e, "acc += (wrpnc_popcount64(av & wp[j * %lld + w]) - "
               "wrpnc_popcount64(av & wn[j * %lld + w])) * (1 << (i + j));", CW, CW);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    lowbit_store(e, n, "m", "acc");
    for (int i = 0; i < 4; i++)
        cg_close(e);
    return WR_OK;
}

/* Constant int8 weights, layout [m][tap][C4], channels zero-padded. */
static const char *weight_bytes(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2], total = p->cv.M * taps * p->C4;
    int8_t *w = calloc((size_t)total + 1, 1);
    WR_ASSERT(w);
    for (int64_t m = 0; m < p->cv.M; m++)
        for (int64_t t = 0; t < taps; t++)
            lowbit_filter_tap(n, m, t, w + (m * taps + t) * p->C4);
    const char *name = cg_const_array(e, "wq", DT_I8, w, total);
    free(w);
    return name;
}

static Status emit_int8(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    long long taps = (long long)(s->k[1] * s->k[2]), C4 = (long long)p->C4;
    const char *Wq = weight_bytes(e, n), *X = cg_in(e, 0);
    cg_line(e, "/* int8 dot product, generic C: %lld bytes per pixel */", C4);
    cg_open(e, "for (int32_t m = 0; m < %lld; m++)", (long long)p->cv.M);
    cg_line(e, "const int32_t g = m / %lld;", (long long)(p->cv.M / p->cv.group));
    lowbit_open_pixels(e, p);
    cg_line(e, "int32_t acc = 0;");
    lowbit_open_taps(e, p);
    cg_line(e, "const uint8_t *a = %s + (((b * %lld + g) * %lld + ih) * %lld + iw) * %lld;", X,
            (long long)p->cv.group, (long long)s->in[1], (long long)s->in[2], C4);
    cg_line(e, "const int8_t *w = %s + (m * %lld + kh * %lld + kw) * %lld;", Wq, taps,
            (long long)s->k[2], C4);
    cg_open(e, "for (int32_t c = 0; c < %lld; c++)", C4);
    cg_line(e, "acc += (int32_t)a[c] * w[c];");
    cg_close(e);
    cg_close(e);
    cg_close(e);
    lowbit_store(e, n, "m", "acc");
    for (int i = 0; i < 4; i++)
        cg_close(e);
    return WR_OK;
}

Status lowbit_emit_generic(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    switch (p->kind) {
    case QK_BITSERIAL: return emit_bitserial(e, n);
    case QK_INT8: return emit_int8(e, n);
    case QK_XNOR: return emit_xnor(e, n);
    }
    return emit_int8(e, n);
}

Status cg_qconv_emit(Emitter *e, const Node *n, Diag *d)
{
    const QConvParams *p = n->priv;
    if (p->out_packed) /* kernels OR the bits of the codes into zeroed planes */
        cg_line(e, "memset(%s, 0, %lld);", cg_out(e, 0), (long long)ir_tensor_bytes(n->out[0]));
    switch (e->opt->target) {
    case TARGET_AVX2: return lowbit_emit_avx2(e, n, d);
    case TARGET_AVX512: return lowbit_emit_avx512(e, n, d);
    case TARGET_NEON: return lowbit_emit_neon(e, n, d);
    case TARGET_GENERIC:
    case TARGET_COUNT: break;
    }
    return lowbit_emit_generic(e, n);
}
