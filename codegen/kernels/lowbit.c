/*
 * The QConv emitter (reference: ir/ops/qconv.c): what every kernel variant shares,
 * and the generic-C kernels.
 *   bit-serial: raw = sum_i sum_j s_i 2^(i+j) (pop(A_i & P_j) - pop(A_i & N_j)) over the
 *     taps inside the image and the channel words (weights packed here, at compile time,
 *     as sign-magnitude planes; planes no filter uses are left out); s_i = -1 for the
 *     top plane of signed (two's complement) codes, else 1;
 *   int8: raw = sum a * w over bytes of the per-group codes (int8 for signed codes);
 *   xnor (+-1 activations and weights): acc = nv * Cg - 2 sum pop(A xor B), nv the taps
 *     inside the image (padding is 0 in the float conv, not -1: those taps are left out).
 * Codes stand for a = alpha * code + beta (bipolar: 2 code - 1; a zero point: code - zp),
 * so acc = alpha * raw + beta * ts, ts the sum of the weights of the taps inside the
 * image (tap sums packed at compile time). AVX2 / AVX-512 variants are in lowbit_simd.c,
 * NEON in lowbit_neon.c; every variant computes the same exact int32 accumulator, then
 * the epilogue (lowbit_store): the accumulator itself, the float epilogue, or the codes
 * of the quantizer it ends in, through integer thresholds, in any layout.
 */
#include "lowbit.h"
#include "wrpnc_pack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Arena *arena(Emitter *e) { return &((Graph *)e->g)->arena; }

int lowbit_mbits(const QConvParams *p) { return p->wbits > 1 ? p->wbits - 1 : 1; }

bool lowbit_corrected(const QConvParams *p)
{
    return p->kind != QK_XNOR && (p->alpha != 1 || p->beta != 0);
}

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

int32_t *lowbit_tap_sums(const Node *n)
{
    const QConvParams *p = n->priv;
    const int8_t *W = n->in[1]->data;
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2];
    int32_t *ts = calloc((size_t)(p->cv.M * taps) + 1, sizeof *ts);
    WR_ASSERT(ts);
    for (int64_t m = 0; m < p->cv.M; m++)
        for (int64_t c = 0; c < p->Cg; c++)
            for (int64_t t = 0; t < taps; t++)
                ts[m * taps + t] += W[(m * p->Cg + c) * taps + t];
    return ts;
}

void lowbit_open_pixels(Emitter *e, const QConvParams *p)
{
    const Spatial *s = &p->cv.sp;
    /* 64-bit indices: a tensor may pass 2^31 elements */
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)p->cv.N);
    cg_open(e, "for (int64_t oh = 0; oh < %lld; oh++)", (long long)s->out[1]);
    cg_open(e, "for (int64_t ow = 0; ow < %lld; ow++)", (long long)s->out[2]);
    cg_line(e, "const int64_t ih0 = oh * %lld - %lld, iw0 = ow * %lld - %lld;",
            (long long)s->stride[1], (long long)s->pad0[1], (long long)s->stride[2],
            (long long)s->pad0[2]);
}

void lowbit_open_taps(Emitter *e, const QConvParams *p)
{
    const Spatial *s = &p->cv.sp;
    cg_open(e, "for (int32_t kh = 0; kh < %lld; kh++)", (long long)s->k[1]);
    cg_line(e, "const int64_t ih = ih0 + kh * %lld;", (long long)s->dil[1]);
    cg_line(e, "if (ih < 0 || ih >= %lld) continue;", (long long)s->in[1]);
    cg_open(e, "for (int32_t kw = 0; kw < %lld; kw++)", (long long)s->k[2]);
    cg_line(e, "const int64_t iw = iw0 + kw * %lld;", (long long)s->dil[2]);
    cg_line(e, "if (iw < 0 || iw >= %lld) continue; /* zero padding: value 0 */",
            (long long)s->in[2]);
}

/* ---- the epilogue ---- */

/* The flat pixel of the output element being stored. */
static const char *out_pixel(Emitter *e, const QConvParams *p)
{
    return arena_printf(arena(e), "(oh * %lld + ow)", (long long)p->cv.sp.out[2]);
}

/* The side operand's value of channel `mexpr` at the pixel (a float expression). */
static const char *side_value(Emitter *e, const Node *n, const char *mexpr, const char *idx)
{
    const Tensor *s = n->in[5];
    const char *X = cg_in(e, 5);
    if (!s->q)
        return arena_printf(arena(e), "%s[%s]", X, idx);
    const char *code = cg_layout_get(e, s, X, "b", mexpr, out_pixel(e, n->priv));
    return cg_qtype_value(e, s->q, mexpr, code);
}

/* Codes through thresholds: lo + the thresholds reached (up) or not passed (down). */
static void store_thresholds(Emitter *e, const Node *n, const char *mexpr, const char *acc)
{
    const QConvParams *p = n->priv;
    int64_t cnt = p->cv.M * p->nside;
    const char *T = cg_const_array(e, "thresh", DT_I32, p->thresh, cnt * p->nthresh);
    const char *U = cg_const_array(e, "up", DT_U8, p->up, cnt);
    const char *v = "0";
    if (p->nside > 1) {
        const Tensor *s = n->in[5];
        v = arena_printf(arena(e), "(%s - %d)",
                         cg_layout_get(e, s, cg_in(e, 5), "b", mexpr, out_pixel(e, p)),
                         s->q->lo);
    }
    cg_line(e, "const int32_t qa = %s, k = (%s) * %d + %s;", acc, mexpr, p->nside, v);
    cg_line(e, "const int32_t *th = %s + k * %d;", T, p->nthresh);
    cg_line(e, "int32_t q = %d;", p->out.t->lo);
    cg_open(e, "for (int32_t t = 0; t < %d; t++)", p->nthresh);
    cg_line(e, "q += %s[k] ? qa >= th[t] : qa <= th[t];", U);
    cg_close(e);
    cg_layout_put(e, n->out[0], cg_out(e, 0), "b", mexpr, out_pixel(e, p), "q");
}

/* The float epilogue, step by step as quant_qconv_epilogue computes it: each rounding
 * goes through a volatile, so that no compiler fuses a multiply and an add. */
static void store_float(Emitter *e, const Node *n, const char *mexpr, const char *acc,
                        const char *idx)
{
    const QConvParams *p = n->priv;
    const char *B = n->nin > 3 && n->in[3] ? cg_in(e, 3) : NULL;
    cg_line(e, "volatile float y0 = (float)(%s) * %s[%s];", acc, cg_in(e, 2), mexpr);
    cg_line(e, "volatile float y = y0 + %s;",
            B ? arena_printf(arena(e), "%s[%s]", B, mexpr) : "0.0f");
    if (n->nin > 4 && n->in[4]) {
        const char *BN = cg_in(e, 4);
        cg_line(e, "volatile double t0 = ((double)y - %s[3 * (%s)]) * %s[3 * (%s) + 1];", BN,
                mexpr, BN, mexpr);
        cg_line(e, "y = (float)(t0 + %s[3 * (%s) + 2]);", BN, mexpr);
    }
    if (n->nin > 5 && n->in[5])
        cg_line(e, "y = y + %s;", side_value(e, n, mexpr, idx));
    if (n->act == ACT_RELU)
        cg_line(e, "y = y > 0.0f ? y : 0.0f;");
    else if (n->act == ACT_CLIP)
        cg_line(e, "y = y < %af ? %af : y > %af ? %af : y;", (double)n->act_lo,
                (double)n->act_lo, (double)n->act_hi, (double)n->act_hi);
    cg_line(e, "const float yv = y;");
    if (!p->has_out) {
        cg_line(e, "%s[%s] = yv;", cg_out(e, 0), idx);
        return;
    }
    cg_line(e, "int32_t q;");
    cg_quant_code(e, &p->out, mexpr, "yv", "q");
    cg_layout_put(e, n->out[0], cg_out(e, 0), "b", mexpr, out_pixel(e, p), "q");
}

void lowbit_store(Emitter *e, const Node *n, const char *mexpr, const char *acc)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    const char *idx = arena_printf(arena(e), "((b * %lld + (%s)) * %lld + oh) * %lld + ow",
                                   (long long)p->cv.M, mexpr, (long long)s->out[1],
                                   (long long)s->out[2]);
    cg_open(e, "%s", "");
    if (p->out_acc)
        cg_line(e, "%s[%s] = %s;", cg_out(e, 0), idx, acc);
    else if (p->has_out && !p->float_epilogue)
        store_thresholds(e, n, mexpr, acc);
    else
        store_float(e, n, mexpr, acc, idx);
    cg_close(e);
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

/* The per-pixel pointer to the activation codes of the tap (ih, iw) of group g. */
static void tap_pointer(Emitter *e, const QConvParams *p, const char *type, long long per)
{
    const Spatial *s = &p->cv.sp;
    cg_line(e, "const %s *a = %s + (((b * %lld + g) * %lld + ih) * %lld + iw) * %lld;", type,
            cg_in(e, 0), (long long)p->cv.group, (long long)s->in[1], (long long)s->in[2], per);
}

/* Generic kernels: the loop over output channels and pixels around body. */
static void open_generic(Emitter *e, const QConvParams *p, const char *acc_decl)
{
    cg_open(e, "for (int32_t m = 0; m < %lld; m++)", (long long)p->cv.M);
    cg_line(e, "const int32_t g = m / %lld;", (long long)(p->cv.M / p->cv.group));
    lowbit_open_pixels(e, p);
    cg_line(e, "%s", acc_decl);
    if (lowbit_corrected(p))
        cg_line(e, "int32_t ts = 0; /* weight sum of the taps inside the image */");
    lowbit_open_taps(e, p);
}

/* Adds the tap's weight sum, closes the tap loops, stores alpha * raw + beta * ts. */
static void close_generic(Emitter *e, const Node *n, const char *raw)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    if (lowbit_corrected(p)) {
        int32_t *ts = lowbit_tap_sums(n);
        long long taps = (long long)(s->k[1] * s->k[2]);
        const char *TS = cg_const_array(e, "tapsum", DT_I32, ts, p->cv.M * taps);
        free(ts);
        cg_line(e, "ts += %s[m * %lld + kh * %lld + kw];", TS, taps, (long long)s->k[2]);
    }
    cg_close(e);
    cg_close(e);
    const char *acc = raw;
    if (lowbit_corrected(p))
        acc = arena_printf(arena(e), "%d * %s + %d * ts", p->alpha, raw, p->beta);
    lowbit_store(e, n, "m", acc);
    for (int i = 0; i < 4; i++)
        cg_close(e);
}

/* +-1 codes times +-1 weights (weights: plane P, bit 1 = +1). */
static Status emit_xnor(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    long long taps = (long long)(s->k[1] * s->k[2]), CW = (long long)p->CW;
    const char *P;
    weight_planes(e, n, &P, NULL);
    cg_helper(e, "wrpnc_pack.h", cg_runtime_file("wrpnc_pack.h"));
    cg_line(e, "/* xnor, generic C: %lld words per pixel */", CW);
    open_generic(e, p, "int32_t dis = 0, nv = 0; /* differing bits, taps inside the image */");
    tap_pointer(e, p, "uint64_t", CW);
    cg_line(e, "const uint64_t *wb = %s + (m * %lld + kh * %lld + kw) * %lld;", P, taps,
            (long long)s->k[2], CW);
    cg_line(e, "nv++;");
    cg_open(e, "for (int32_t w = 0; w < %lld; w++) /* tail bits are 0 on both sides */", CW);
    cg_line(e, "dis += wrpnc_popcount64(a[w] ^ wb[w]);");
    cg_close(e);
    close_generic(e, n, arena_printf(arena(e), "(nv * %lld - 2 * dis)", (long long)p->Cg));
    return WR_OK;
}

static Status emit_bitserial(Emitter *e, const Node *n)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    int mb = lowbit_mbits(p);
    unsigned used = lowbit_used_planes(n);
    long long taps = (long long)(s->k[1] * s->k[2]), CW = (long long)p->CW;
    const char *P, *N;
    weight_planes(e, n, &P, &N);
    cg_helper(e, "wrpnc_pack.h", cg_runtime_file("wrpnc_pack.h"));
    cg_line(e, "/* bit-serial, generic C: %d activation planes%s x %d weight planes, %lld "
               "words per pixel */", p->abits, p->asigned ? " (signed)" : "", mb, CW);
    open_generic(e, p, "int32_t raw = 0;");
    tap_pointer(e, p, "uint64_t", p->abits * CW);
    cg_line(e, "const uint64_t *wp = %s + (m * %lld + kh * %lld + kw) * %lld;", P, taps,
            (long long)s->k[2], mb * CW);
    cg_line(e, "const uint64_t *wn = %s + (m * %lld + kh * %lld + kw) * %lld;", N, taps,
            (long long)s->k[2], mb * CW);
    /* loops, not unrolled text: compilers expand the generic popcount into
     * bit tricks, and fully unrolled plane pairs made compile times explode */
    cg_open(e, "for (int32_t w = 0; w < %lld; w++)", CW);
    cg_open(e, "for (int32_t i = 0; i < %d; i++)", p->abits);
    cg_line(e, "const uint64_t av = a[i * %lld + w];", CW);
    cg_line(e, "const int32_t si = %s;", p->asigned ? arena_printf(arena(e), "i == %d ? -1 : 1",
                                                                  p->abits - 1) : "1");
    cg_open(e, "for (int32_t j = 0; j < %d; j++)", mb);
    if (used != (1u << mb) - 1)
        cg_line(e, "if (!((0x%xu >> j) & 1u)) continue; /* no filter uses plane j */", used);
    cg_line(e, "raw += si * (wrpnc_popcount64(av & wp[j * %lld + w]) - "
               "wrpnc_popcount64(av & wn[j * %lld + w])) * (1 << (i + j));", CW, CW);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    close_generic(e, n, "raw");
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
    const char *Wq = weight_bytes(e, n);
    cg_line(e, "/* int8 dot product, generic C: %lld bytes per pixel */", C4);
    open_generic(e, p, "int32_t raw = 0;");
    tap_pointer(e, p, p->asigned ? "int8_t" : "uint8_t", C4);
    cg_line(e, "const int8_t *w = %s + (m * %lld + kh * %lld + kw) * %lld;", Wq, taps,
            (long long)s->k[2], C4);
    cg_open(e, "for (int32_t c = 0; c < %lld; c++)", C4);
    cg_line(e, "raw += (int32_t)a[c] * w[c];");
    cg_close(e);
    close_generic(e, n, "raw");
    return WR_OK;
}

Status lowbit_emit_generic(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const QConvParams *p = n->priv;
    switch (p->kind) {
    case QK_BITSERIAL: return emit_bitserial(e, n);
    case QK_INT8: return emit_int8(e, n);
    case QK_XNOR: return emit_xnor(e, n);
    case QK_COUNT: break;
    }
    WR_UNREACHABLE();
}

/* Emitters per target (codegen/target.c order); NULL: the generic kernel. */
static const QConvEmitFn emitters[TARGET_COUNT] = {
    [TARGET_GENERIC] = lowbit_emit_generic,
    [TARGET_AVX2] = lowbit_emit_avx2,
    [TARGET_AVX512] = lowbit_emit_avx512,
    [TARGET_NEON] = lowbit_emit_neon,
};

Status cg_qconv_emit(Emitter *e, const Node *n, Diag *d)
{
    if (n->out[0]->layout != LAYOUT_DENSE) /* kernels OR the bits of codes into zeroed storage */
        cg_line(e, "memset(%s, 0, %lld);", cg_out(e, 0), (long long)ir_tensor_bytes(n->out[0]));
    return emitters[e->opt->target](e, n, d);
}
