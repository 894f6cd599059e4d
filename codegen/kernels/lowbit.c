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

/* True when every weight code is +1 or -1 (binary weights without zeros). */
bool lowbit_all_pm1(const Node *n)
{
    const int8_t *W = n->in[1]->data;
    for (int64_t i = 0, N = ir_tensor_numel(n->in[1]); i < N; i++)
        if (W[i] != 1 && W[i] != -1)
            return false;
    return true;
}

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
    if (B && n->in[3]->dtype == DT_I32) { /* an integer bias joins acc */
        acc = arena_printf(arena(e), "(int64_t)(%s) + %s[%s]", acc, B, mexpr);
        B = NULL;
    }
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

/* ---- the register-blocked SIMD driver (lowbit.h) ---- */

LaneFix lowbit_fix(const QConvParams *p, int32_t offset)
{
    LaneFix f = {lowbit_corrected(p) || offset != 0, p->alpha, p->beta};
    f.beta -= offset * f.alpha; /* raw sums (code + offset) * w */
    return f;
}

int lowbit_block_pixels(const QConvParams *p, int Pmax)
{
    int64_t OW = p->cv.sp.out[2], best = 0, cost = INT64_MAX;
    for (int64_t P = 1; P <= Pmax; P++) {
        int64_t c = (OW + P - 1) / P * (P + 1);
        if (c <= cost)
            cost = c, best = P;
    }
    return (int)best;
}

int lowbit_block_vectors(const QConvParams *p, int L, int NBmax)
{
    int64_t nv = (p->cv.M / p->cv.group + L - 1) / L;
    return nv < NBmax ? (int)nv : NBmax;
}

/* Sign-magnitude planes of filter m, tap t: P then N, mb planes of CW words each. */
static void filter_planes(const Node *n, int64_t m, int64_t t, uint64_t *P, uint64_t *N)
{
    const QConvParams *p = n->priv;
    int8_t *v = malloc((size_t)p->Cg + 1);
    WR_ASSERT(v);
    lowbit_filter_tap(n, m, t, v);
    wrpnc_pack_signmag_i8(v, p->Cg, lowbit_mbits(p), P, N);
    free(v);
}

const char *lowbit_planes_block(Emitter *e, const Node *n, int L, int NB, int nsign)
{
    const QConvParams *p = n->priv;
    int mb = lowbit_mbits(p);
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2], Mg = p->cv.M / p->cv.group, CH = (int64_t)L * NB;
    int64_t ncb = (Mg + CH - 1) / CH, wtap = p->CW * mb * nsign * CH;
    int64_t total = p->cv.group * ncb * taps * wtap;
    uint64_t *w = calloc((size_t)total + 1, 8), *pn = calloc((size_t)(2 * (int64_t)mb * p->CW), 8);
    WR_ASSERT(w && pn);
    for (int64_t m = 0; m < p->cv.M; m++)
        for (int64_t t = 0; t < taps; t++) {
            int64_t g = m / Mg, mi = m % Mg, nb = mi % CH / L, l = mi % L;
            filter_planes(n, m, t, pn, pn + mb * p->CW);
            for (int64_t k = 0; k < p->CW * mb * nsign; k++) {
                int64_t wd = k / ((int64_t)mb * nsign), j = k / nsign % mb, sg = k % nsign;
                uint64_t v = pn[(sg * mb + j) * p->CW + wd];
                w[((g * ncb + mi / CH) * taps + t) * wtap + (k * NB + nb) * L + l] = v;
            }
        }
    const char *name = cg_const_array(e, "wplanes", DT_U64, w, total);
    free(w), free(pn);
    return name;
}

const char *lowbit_bytes_block(Emitter *e, const Node *n, int L, int NB)
{
    const QConvParams *p = n->priv;
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2], Mg = p->cv.M / p->cv.group, CH = (int64_t)L * NB;
    int64_t ncb = (Mg + CH - 1) / CH, total = p->cv.group * ncb * taps * p->C4 * CH;
    int8_t *w = calloc((size_t)total + 1, 1), *v = malloc((size_t)p->Cg + 1);
    WR_ASSERT(w && v);
    for (int64_t m = 0; m < p->cv.M; m++)
        for (int64_t t = 0; t < taps; t++) {
            int64_t g = m / Mg, mi = m % Mg;
            lowbit_filter_tap(n, m, t, v);
            int64_t base = ((g * ncb + mi / CH) * taps + t) * p->C4 * CH + mi % CH * 4;
            for (int64_t c = 0; c < p->Cg; c++)
                w[base + c / 4 * CH * 4 + c % 4] = v[c];
        }
    const char *name = cg_const_array(e, "wbytes", DT_I8, w, total);
    free(w), free(v);
    return name;
}

/* Tap sums of each block of CH channels, [g][cb][tap][CH] (int32). */
static const char *tap_sums_block(Emitter *e, const Node *n, int64_t CH)
{
    const QConvParams *p = n->priv;
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2], Mg = p->cv.M / p->cv.group;
    int64_t ncb = (Mg + CH - 1) / CH, total = p->cv.group * ncb * taps * CH;
    int32_t *ts = lowbit_tap_sums(n), *v = calloc((size_t)total + 1, sizeof *v);
    WR_ASSERT(v);
    for (int64_t m = 0; m < p->cv.M; m++)
        for (int64_t t = 0; t < taps; t++) {
            int64_t g = m / Mg, mi = m % Mg;
            v[((g * ncb + mi / CH) * taps + t) * CH + mi % CH] = ts[m * taps + t];
        }
    const char *name = cg_const_array(e, "tapsum", DT_I32, v, total);
    free(ts), free(v);
    return name;
}

void lowbit_open_chunks(Emitter *e, const Node *n, const QBlock *k, const char *V,
                        long long N, long long F, QBlockFn flush)
{
    const QConvParams *p = n->priv;
    if (F >= N * p->cv.sp.k[1] * p->cv.sp.k[2]) { /* a block's taps cannot pass F */
        cg_open(e, "for (int32_t %s = 0; %s < %lld; %s++)", V, V, N, V);
        cg_open(e, "%s", "");
        return;
    }
    long long C = F < N ? F : N;
    cg_open(e, "for (int32_t %s0 = 0; %s0 < %lld; %s0 += %lld)", V, V, N, V, C);
    cg_line(e, "const int32_t %s1 = %s0 + %lld < %lld ? %s0 + %lld : %lld;", V, V, C, N, V, C, N);
    cg_open(e, "if (nacc + (%s1 - %s0) > %lld)", V, V, F);
    flush(e, n, k);
    cg_line(e, "nacc = 0;");
    cg_close(e);
    cg_line(e, "nacc += %s1 - %s0;", V, V);
    cg_open(e, "for (int32_t %s = %s0; %s < %s1; %s++)", V, V, V, V, V);
}

/* The pad: what a tap in the zero padding reads, one pixel's worth. */
static const char *pad_pixel(Emitter *e, const Node *n, const QBlock *k, long long per)
{
    if (!k->bytes) {
        uint64_t *z = calloc((size_t)per, 8);
        WR_ASSERT(z);
        const char *name = cg_const_array(e, "pad", DT_U64, z, per);
        free(z);
        return name;
    }
    uint8_t *z = malloc((size_t)per);
    WR_ASSERT(z);
    memset(z, k->pad, (size_t)per);
    const char *name = cg_const_array(e, "pad", DT_U8, z, per);
    free(z);
    (void)n;
    return name;
}

/* Per channel block: m0, nl (valid lanes), the weights wcb and, corrected, the tap
 * sums tcb and their total over all taps tsall. */
static void open_channel_block(Emitter *e, const Node *n, const QBlock *k, const char *TS)
{
    const QConvParams *p = n->priv;
    long long CH = (long long)k->NB * k->L, Mg = (long long)(p->cv.M / p->cv.group);
    long long ncb = (Mg + CH - 1) / CH, taps = (long long)(p->cv.sp.k[1] * p->cv.sp.k[2]);
    cg_open(e, "for (int32_t g = 0; g < %lld; g++)", (long long)p->cv.group);
    cg_open(e, "for (int32_t cb = 0; cb < %lld; cb++)", ncb);
    cg_line(e, "const int32_t m0 = g * %lld + cb * %lld;", Mg, CH);
    cg_line(e, "const int32_t nl = %lld - cb * %lld < %lld ? %lld - cb * %lld : %lld;", Mg, CH,
            CH, Mg, CH, CH);
    cg_line(e, "const %s *wcb = %s + ((int64_t)g * %lld + cb) * %lld;", k->wtype, k->W, ncb,
            taps * k->wtap);
    if (!TS)
        return;
    cg_line(e, "const int32_t *tcb = %s + ((int64_t)g * %lld + cb) * %lld;", TS, ncb, taps * CH);
    cg_line(e, "int32_t tsall[%lld] = {0}; /* tap sums of all taps */", CH);
    cg_line(e, "for (int32_t t = 0; t < %lld; t++)", taps);
    cg_line(e, "    for (int32_t l = 0; l < %lld; l++) tsall[l] += tcb[t * %lld + l];", CH, CH);
}

/* Per output row: ih0, and the taps' rows inside the image kh0 <= kh < kh1. */
static void open_row(Emitter *e, const QConvParams *p)
{
    const Spatial *s = &p->cv.sp;
    long long KH = (long long)s->k[1], dh = (long long)s->dil[1];
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)p->cv.N);
    cg_open(e, "for (int64_t oh = 0; oh < %lld; oh++)", (long long)s->out[1]);
    cg_line(e, "const int64_t ih0 = oh * %lld - %lld;", (long long)s->stride[1],
            (long long)s->pad0[1]);
    cg_line(e, "int32_t kh0 = 0, kh1 = %lld;", KH);
    cg_line(e, "while (kh0 < %lld && ih0 + kh0 * %lld < 0) kh0++;", KH, dh);
    cg_line(e, "while (kh1 > kh0 && ih0 + (kh1 - 1) * %lld >= %lld) kh1--;", dh,
            (long long)s->in[1]);
}

/* One tap of a block: pixel p's codes at a<p> (pad outside the image or the row),
 * the weights at wt. */
static void open_tap(Emitter *e, const Node *n, const QBlock *k, const char *pad, long long per)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    const char *T = k->bytes ? "uint8_t" : "uint64_t";
    long long sw = (long long)s->stride[2], W = (long long)s->in[2];
    cg_open(e, "for (int32_t kh = kh0; kh < kh1; kh++)");
    cg_line(e, "const %s *row = (const %s *)%s + ((b * %lld + g) * %lld + ih0 + kh * %lld) * "
               "%lld;", T, T, cg_in(e, 0), (long long)p->cv.group, (long long)s->in[1],
            (long long)s->dil[1], W * per);
    cg_open(e, "for (int32_t kw = 0; kw < %lld; kw++)", (long long)s->k[2]);
    cg_line(e, "const int64_t iw = ow0 * %lld - %lld + kw * %lld;", sw, (long long)s->pad0[2],
            (long long)s->dil[2]);
    for (int q = 0; q < k->P; q++)
        cg_line(e, "const %s *a%d = %s(uint64_t)(iw + %lld) < %lldu ? row + (iw + %lld) * %lld "
                   ": %s;", T, q, q ? arena_printf(arena(e), "%d < np && ", q) : "",
                (long long)q * sw, W, (long long)q * sw, per, pad);
    cg_line(e, "const %s *wt = wcb + (kh * %lld + kw) * %lld;", k->wtype, (long long)s->k[2],
            k->wtap);
}

/* cs[l]: the tap sums of pixel (oh, ow)'s taps inside the image. */
static void pixel_tap_sums(Emitter *e, const QConvParams *p, long long CH)
{
    const Spatial *s = &p->cv.sp;
    long long KW = (long long)s->k[2], dw = (long long)s->dil[2], W = (long long)s->in[2];
    cg_line(e, "const int64_t iwp = ow * %lld - %lld;", (long long)s->stride[2],
            (long long)s->pad0[2]);
    cg_line(e, "const int inside = kh0 == 0 && kh1 == %lld && iwp >= 0 && iwp + %lld < %lld;",
            (long long)s->k[1], (KW - 1) * dw, W);
    cg_line(e, "int32_t cs[%lld];", CH);
    cg_line(e, "for (int32_t l = 0; l < %lld; l++) cs[l] = inside ? tsall[l] : 0;", CH);
    cg_open(e, "if (!inside)");
    cg_line(e, "for (int32_t kh = kh0; kh < kh1; kh++)");
    cg_line(e, "    for (int32_t kw = 0; kw < %lld; kw++)", KW);
    cg_line(e, "        if ((uint64_t)(iwp + kw * %lld) < %lldu)", dw, W);
    cg_line(e, "            for (int32_t l = 0; l < %lld; l++) cs[l] += tcb[(kh * %lld + kw) * "
               "%lld + l];", CH, KW, CH);
    cg_close(e);
}

/* The stores of a block: the np pixels, nl lanes each. */
static void store_block(Emitter *e, const Node *n, const QBlock *k)
{
    const QConvParams *p = n->priv;
    long long CH = (long long)k->NB * k->L;
    cg_open(e, "for (int32_t px = 0; px < np; px++)");
    cg_line(e, "const int64_t ow = ow0 + px;");
    if (k->fix.corr)
        pixel_tap_sums(e, p, CH);
    cg_open(e, "for (int32_t l = 0; l < nl; l++)");
    const char *raw = arena_printf(arena(e), "(int32_t)accs[px][l]");
    lowbit_store(e, n, "m0 + l",
                 k->fix.corr ? arena_printf(arena(e), "%d * %s + %d * cs[l]", k->fix.alpha, raw,
                                            k->fix.beta) : raw);
    cg_close(e);
    cg_close(e);
}

void lowbit_emit_blocked(Emitter *e, const Node *n, const QBlock *k)
{
    const QConvParams *p = n->priv;
    long long per = k->bytes ? (long long)p->C4 : p->abits * (long long)p->CW;
    long long OW = (long long)p->cv.sp.out[2], CH = (long long)k->NB * k->L;
    const char *pad = pad_pixel(e, n, k, per);
    const char *TS = k->fix.corr ? tap_sums_block(e, n, CH) : NULL;
    cg_line(e, "/* %s: %d pixels x %lld output channels per micro-kernel */", k->what, k->P, CH);
    open_channel_block(e, n, k, TS);
    open_row(e, p);
    cg_open(e, "for (int64_t ow0 = 0; ow0 < %lld; ow0 += %d)", OW, k->P);
    cg_line(e, "const int32_t np = %lld - ow0 < %d ? (int32_t)(%lld - ow0) : %d;", OW, k->P, OW,
            k->P);
    k->init(e, n, k);
    open_tap(e, n, k, pad, per);
    k->tap(e, n, k);
    cg_close(e);
    cg_close(e);
    cg_line(e, "%s accs[%d][%lld];", k->acc_t, k->P, CH);
    k->finish(e, n, k);
    store_block(e, n, k);
    for (int i = 0; i < 5; i++)
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
