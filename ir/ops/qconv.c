/*
 * QConv (domain "wrpnc"): integer convolution of activation codes with constant
 * weight codes, then a float epilogue (quant.h, QConvParams, for the formula):
 *   inputs   0 X codes (N, C, H, W) or (N, C), in the layout of the kernel family
 *            (attribute kernel: bitserial, int8, xnor; layouts in quant.c qkernel_info)
 *            1 W int8 (M, C/group, kH, kW) constant codes within wbits
 *            2 S, 3 B float32 (M)    y = acc * S + B; or B int32 (M): y = (acc + B) * S
 *                                    (ONNX Runtime's QLinearConv adds its bias to acc)
 *            4 BN float64 (M, 3)     a folded BatchNormalization (mean, gain, beta)
 *            5 side (N, M, ...)      a residual operand, float32 or codes
 *   attrs    kernel, wbits, abits (must match X's codes), group, conv geometry,
 *            fc = 1: the 1x1 output image as (N, M), as the Gemm / MatMul it replaces,
 *            out_acc (int32 accumulators out), out_* (a quantizer spec: codes out,
 *            in out_layout / out_group); out_bits = k is short for the WRPN
 *            activation quantizer of k bits.
 * The eval is the oracle: an int64 loop over the codes through the layout table,
 * then quant_qconv_epilogue and the quantizer's reference. Thresholds (a quantizer
 * out, no float side input) are found here once, by binary search over acc with
 * that same reference, and are what the generated kernels use: bit-exact, ties
 * included, because every step of the epilogue is monotone in acc.
 */
#include "opparams.h"
#include "quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { THRESH_BUDGET = 16 << 20 }; /* bytes of thresholds per layer before the float epilogue */

static Status kernel_attr(Node *n, QKernel *k, Diag *d)
{
    const char *s = ir_attr_str(n, "kernel", ir_attr_str(n, "layout", "bitserial"));
    int i = qkernel_lookup(s);
    if (i < 0)
        return diag_node(d, WR_EPARSE, n, "kernel '%s' (bitserial, int8 or xnor)", s);
    *k = (QKernel)i;
    return WR_OK;
}

static Status bits_attr(Node *n, const char *name, int64_t def, int *bits, Diag *d)
{
    int64_t b = ir_attr_int(n, name, def);
    if (b < 1 || b > 8)
        return diag_node(d, WR_EUNSUPPORTED, n, "%s = %lld (1 to 8 supported)", name,
                         (long long)b);
    *bits = (int)b;
    return WR_OK;
}

/* Weights: constant int8 (M, C/group, kH, kW) on the wbits grid: |w| <= 2^(wbits-1) - 1,
 * or |w| <= 1 for wbits 1 (sign-magnitude planes of one bit), exactly +-1 for xnor. */
static Status check_weights(const Node *n, int wbits, bool pm1, Diag *d)
{
    const Tensor *w = n->in[1];
    if (w->dtype != DT_I8 || w->ndim != 4 || !w->data)
        return diag_node(d, WR_EUNSUPPORTED, n, "weights must be constant int8 (M, C/g, kH, kW)");
    const int8_t *W = w->data;
    int lim = wbits > 1 ? (1 << (wbits - 1)) - 1 : 1;
    for (int64_t i = 0, N = ir_tensor_numel(w); i < N; i++)
        if (W[i] < -lim || W[i] > lim || (pm1 && W[i] == 0))
            return diag_node(d, WR_EUNSUPPORTED, n, "weight code %d at %lld is outside the "
                             "%d-bit grid%s", W[i], (long long)i, wbits,
                             pm1 ? " of +-1 (kernel xnor)" : "");
    return WR_OK;
}

/* X: codes of at most 8 bits in the layout and groups the kernel reads. */
static Status check_input(const Node *n, QKernel k, int64_t group, int abits, Diag *d)
{
    const Tensor *x = n->in[0], *w = n->in[1];
    const QKernelInfo *ki = &qkernel_info[k];
    if (!x->q)
        return diag_node(d, WR_EUNSUPPORTED, n, "input '%s' holds no codes", x->name);
    if (x->layout != ki->layout || x->group != group)
        return diag_node(d, WR_EUNSUPPORTED, n, "kernel %s reads codes in layout %s with %lld "
                         "groups; '%s' is %s with %lld", ki->name, layout_info[ki->layout].name,
                         (long long)group, x->name, layout_info[x->layout].name,
                         (long long)x->group);
    if (x->q->bits != abits || (ki->bipolar && !x->q->bipolar))
        return diag_node(d, WR_EUNSUPPORTED, n, "abits %d / kernel %s, but '%s' holds %d-bit%s "
                         "codes", abits, ki->name, x->name, x->q->bits,
                         x->q->bipolar ? " bipolar" : "");
    if (x->q->nscale != 1)
        return diag_node(d, WR_EUNSUPPORTED, n, "activation scale per channel");
    if ((x->ndim != 4 && x->ndim != 2) || w->ndim != 4 || group < 1 ||
        x->dim[1] != w->dim[1] * group || w->dim[0] % group ||
        (x->ndim == 2 && (w->dim[2] != 1 || w->dim[3] != 1)))
        return diag_node(d, WR_ESHAPE, n, "input '%s' (%lld channels) does not match weights "
                         "(%lld x %lld per group) and %lld groups", x->name,
                         (long long)(x->ndim >= 2 ? x->dim[1] : 0), (long long)w->dim[0],
                         (long long)w->dim[1], (long long)group);
    return WR_OK;
}

/* Largest |acc|; the accumulators must fit int32 (quant_acc_bound). */
static Status acc_bounds(Node *n, QConvParams *p, Diag *d)
{
    int64_t K = p->Cg * p->cv.sp.k[1] * p->cv.sp.k[2];
    const char *why = quant_acc_bound(n->in[0]->q, p->wbits, K, &p->acc_bound);
    return why ? diag_node(d, WR_EUNSUPPORTED, n, "%s", why) : WR_OK;
}

static Status vec_input(const Node *n, int i, DType t, int64_t len, Diag *d)
{
    const Tensor *v = n->nin > i ? n->in[i] : NULL;
    if (v && (v->dtype != t || ir_tensor_numel(v) != len || !v->data))
        return diag_node(d, WR_ESHAPE, n, "input %d must be constant %s of %lld values", i,
                         dtype_info[t].name, (long long)len);
    return WR_OK;
}

/* The side input: the output's shape, float32 or codes with one scale or one per channel. */
static Status side_input(const Node *n, int ndim, const int64_t *dim, Diag *d)
{
    const Tensor *s = n->nin > 5 ? n->in[5] : NULL;
    if (!s)
        return WR_OK;
    bool same = s->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = s->dim[i] == dim[i];
    if (!same || (!s->q && s->dtype != DT_F32))
        return diag_node(d, WR_ESHAPE, n, "side input '%s' must be float32 or codes of the "
                         "output's shape", s->name);
    return WR_OK;
}

/* The quantizer that ends the epilogue: out_* attributes, or out_bits (WRPN). */
static Status out_spec(Graph *g, Node *n, QConvParams *p, Diag *d)
{
    WR_TRY(quant_spec_read(g, n, "out_", &p->out, &p->has_out, d));
    int64_t k = ir_attr_int(n, "out_bits", 0);
    if (p->has_out || !k)
        return WR_OK;
    if (k < 1 || k > 8)
        return diag_node(d, WR_EUNSUPPORTED, n, "out_bits %lld (1 to 8)", (long long)k);
    float N = (float)((1 << k) - 1), s = 1.0f / N;
    p->has_out = true;
    p->out.form = QF_WRPN;
    p->out.t = qtype_with_divisor(g, qtype_new(g, 0, (int32_t)N, false, 0, 1, &s), &N);
    return WR_OK;
}

float quant_qconv_epilogue(const Node *n, const QConvParams *p, int64_t m, int64_t acc,
                           float sv)
{
    const float *S = n->in[2]->data, *B = NULL;
    const double *bn = n->nin > 4 && n->in[4] ? n->in[4]->data : NULL;
    (void)p;
    if (n->nin > 3 && n->in[3] && n->in[3]->dtype == DT_I32)
        acc += ((const int32_t *)n->in[3]->data)[m]; /* an integer bias joins acc */
    else if (n->nin > 3 && n->in[3])
        B = n->in[3]->data;
    float y = (float)acc * S[m];
    y = y + (B ? B[m] : 0.0f);
    if (bn)
        y = (float)(((double)y - bn[3 * m]) * bn[3 * m + 1] + bn[3 * m + 2]);
    if (n->nin > 5 && n->in[5])
        y = y + sv;
    return ir_act_apply(n, y);
}

/* The value side code v stands for, in channel m. */
static float side_value(const Node *n, int64_t m, int32_t v)
{
    return qtype_value(n->in[5]->q, m, v);
}

static int32_t code_of(const Node *n, const QConvParams *p, int64_t m, int64_t acc, float sv)
{
    return quant_spec_code(&p->out, m, quant_qconv_epilogue(n, p, m, acc, sv));
}

/* Thresholds of channel m at side value sv: T[t - 1] for codes lo + t, t = 1..nthresh. */
static void channel_thresholds(const Node *n, const QConvParams *p, int64_t m, float sv,
                               int32_t *T, uint8_t *up)
{
    int64_t A = p->acc_bound;
    int32_t lo = p->out.t->lo;
    *up = code_of(n, p, m, A, sv) >= code_of(n, p, m, -A, sv);
    for (int t = 1; t <= p->nthresh; t++) {
        int64_t a = -A, b = A + 1; /* first acc where the code passes (up) / falls below */
        while (a < b) {
            int64_t mid = a + (b - a) / 2;
            bool reach = code_of(n, p, m, mid, sv) >= lo + t;
            if (*up ? reach : !reach)
                b = mid;
            else
                a = mid + 1;
        }
        T[t - 1] = (int32_t)(*up ? a : a - 1);
    }
}

static Status thresholds(Graph *g, Node *n, QConvParams *p, Diag *d)
{
    const Tensor *side = n->nin > 5 ? n->in[5] : NULL;
    p->nthresh = p->out.t->hi - p->out.t->lo;
    p->nside = side ? side->q->hi - side->q->lo + 1 : 1;
    int64_t count = p->cv.M * p->nside;
    if (count * p->nthresh * 4 > THRESH_BUDGET) {
        p->float_epilogue = true; /* too many: the kernels run the float epilogue */
        return WR_OK;
    }
    for (int i = 2; i < 5; i++)
        if (n->nin > i && n->in[i] && !n->in[i]->data)
            return diag_node(d, WR_EUNSUPPORTED, n, "input %d must be constant", i);
    p->thresh = arena_alloc(&g->arena, sizeof(int32_t) * (size_t)(count * p->nthresh + 1));
    p->up = arena_alloc(&g->arena, (size_t)count + 1);
    for (int64_t m = 0; m < p->cv.M; m++)
        for (int v = 0; v < p->nside; v++) {
            float sv = side ? side_value(n, m, side->q->lo + v) : 0.0f;
            int64_t k = m * p->nside + v;
            channel_thresholds(n, p, m, sv, p->thresh + k * p->nthresh, p->up + k);
        }
    return WR_OK;
}

/* Kernel, widths, input and weights; fills p's geometry. */
static Status parse(Node *n, QConvParams *p, Diag *d)
{
    int64_t hw[2] = {1, 1};
    WR_TRY(kernel_attr(n, &p->kind, d));
    WR_TRY(bits_attr(n, "wbits", 0, &p->wbits, d));
    const QType *q = n->in[0]->q;
    WR_TRY(bits_attr(n, "abits", q ? q->bits : 0, &p->abits, d));
    p->cv.group = ir_attr_int(n, "group", 1);
    WR_TRY(check_input(n, p->kind, p->cv.group, p->abits, d));
    WR_TRY(check_weights(n, p->wbits, qkernel_info[p->kind].bipolar, d));
    const Tensor *x = n->in[0], *w = n->in[1];
    p->asigned = q->is_signed;
    p->alpha = q->bipolar ? 2 : 1; /* a = 2 code - 1 (xnor kernels compute it natively) */
    p->beta = q->bipolar ? -1 : -q->zp;
    p->Cg = w->dim[1];
    p->CW = (p->Cg + 63) / 64;
    p->C4 = (p->Cg + 3) / 4 * 4;
    p->cv.N = x->dim[0], p->cv.M = w->dim[0], p->cv.C = x->dim[1];
    if (x->ndim == 4)
        hw[0] = x->dim[2], hw[1] = x->dim[3];
    WR_TRY(ir_spatial_parse(n, 2, hw, w->dim + 2, false, &p->cv.sp, d));
    return acc_bounds(n, p, d);
}

/* Output: int32 accumulators, float32, or codes of the out spec in out_layout. */
static Status output(Node *n, QConvParams *p, Diag *d)
{
    const Spatial *s = &p->cv.sp;
    int64_t dim[4] = {p->cv.N, p->cv.M, s->out[1], s->out[2]};
    int nd = n->in[0]->ndim == 2 || ir_attr_int(n, "fc", 0) ? 2 : 4;
    if (nd == 2 && (s->out[1] != 1 || s->out[2] != 1))
        return diag_node(d, WR_ESHAPE, n, "a 2-D output (fc = 1 or a 2-D input) needs a 1x1 "
                                          "output image");
    WR_TRY(side_input(n, nd, dim, d));
    if (p->out_acc && (p->has_out || (n->nin > 5 && n->in[5])))
        return diag_node(d, WR_EPARSE, n, "out_acc excludes an epilogue");
    ir_tensor_set_shape(n->out[0], p->out_acc ? DT_I32 : DT_F32, nd, dim);
    if (!p->has_out)
        return WR_OK;
    if (p->out.t->nscale > 1 && p->out.t->nscale != p->cv.M)
        return diag_node(d, WR_ESHAPE, n, "out_scale must hold 1 or M values");
    return layout_set_output(n, "out_layout", "out_group", n->out[0], p->out.t, d);
}

static Status epilogue(Graph *g, Node *n, QConvParams *p, Diag *d)
{
    int64_t M = p->cv.M;
    if (p->out_acc)
        return WR_OK;
    if (n->nin < 3 || !n->in[2])
        return diag_node(d, WR_EPARSE, n, "a float or quantized output needs the scale input");
    WR_TRY(vec_input(n, 2, DT_F32, M, d));
    bool ib = n->nin > 3 && n->in[3] && n->in[3]->dtype == DT_I32;
    WR_TRY(vec_input(n, 3, ib ? DT_I32 : DT_F32, M, d));
    WR_TRY(vec_input(n, 4, DT_F64, 3 * M, d));
    if (n->act != ACT_NONE && n->act != ACT_RELU && n->act != ACT_CLIP)
        return diag_node(d, WR_EUNSUPPORTED, n, "only Relu or Clip in the epilogue");
    WR_TRY(out_spec(g, n, p, d));
    const Tensor *side = n->nin > 5 ? n->in[5] : NULL;
    /* thresholds need a quantizer at the end and no float residual operand; ONNX
     * Runtime's requantization (8-bit codes: 255 thresholds, a linear scan per output)
     * costs less as its one multiply, clamp and round (docs/quantization.md) */
    p->float_epilogue = !p->has_out || (side && !side->q) || p->out.form == QF_REQUANT;
    return p->float_epilogue ? WR_OK : thresholds(g, n, p, d);
}

Status op_qconv_infer(Graph *g, Node *n, Diag *d)
{
    QConvParams *p = arena_alloc(&g->arena, sizeof *p);
    WR_TRY(parse(n, p, d));
    p->out_acc = ir_attr_int(n, "out_acc", 0) != 0;
    WR_TRY(epilogue(g, n, p, d));
    WR_TRY(output(n, p, d));
    n->priv = p;
    return WR_OK;
}

Status quant_qconv_check(const Node *n, Diag *d)
{
    const QConvParams *p = n->priv;
    if (!p)
        return diag_node(d, WR_EVERIFY, n, "was not inferred");
    WR_TRY(check_input(n, p->kind, p->cv.group, p->abits, d));
    return check_weights(n, p->wbits, qkernel_info[p->kind].bipolar, d);
}

/* The exact accumulator of one output, in int64: taps inside the image only. */
static int64_t qconv_acc(const Node *n, const QConvParams *p, const void *X, int64_t b,
                         int64_t m, int64_t oh, int64_t ow)
{
    const Spatial *s = &p->cv.sp;
    const Tensor *x = n->in[0];
    const int8_t *Wq = n->in[1]->data;
    int64_t g = m / (p->cv.M / p->cv.group), acc = 0;
    for (int64_t c = 0; c < p->Cg; c++)
        for (int64_t kh = 0; kh < s->k[1]; kh++)
            for (int64_t kw = 0; kw < s->k[2]; kw++) {
                int64_t ih = oh * s->stride[1] - s->pad0[1] + kh * s->dil[1];
                int64_t iw = ow * s->stride[2] - s->pad0[2] + kw * s->dil[2];
                if (ih < 0 || ih >= s->in[1] || iw < 0 || iw >= s->in[2])
                    continue; /* zero padding: value 0 */
                int64_t code = layout_info[x->layout].get(x, X, b, g * p->Cg + c,
                                                          ih * s->in[2] + iw);
                acc += (p->alpha * code + p->beta) * Wq[((m * p->Cg + c) * s->k[1] + kh) * s->k[2] + kw];
            }
    return acc;
}

/* The side operand's value at output element (b, m, pix). */
static float side_at(const Node *n, const void *S, int64_t b, int64_t m, int64_t pix,
                     int64_t i)
{
    const Tensor *s = n->in[5];
    if (!s->q)
        return ((const float *)S)[i];
    return side_value(n, m, layout_info[s->layout].get(s, S, b, m, pix));
}

Status op_qconv_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    const Tensor *y = n->out[0];
    const bool side = n->nin > 5 && n->in[5], acc_out = p->out_acc, codes = p->has_out;
    int64_t i = 0, ohw = s->out[1] * s->out[2];
    for (int64_t b = 0; b < p->cv.N; b++)
        for (int64_t m = 0; m < p->cv.M; m++)
            for (int64_t pix = 0; pix < ohw; pix++, i++) {
                int64_t acc = qconv_acc(n, p, in[0], b, m, pix / s->out[2], pix % s->out[2]);
                float sv = side ? side_at(n, in[5], b, m, pix, i) : 0.0f;
                if (acc_out)
                    ((int32_t *)out[0])[i] = (int32_t)acc;
                else if (codes)
                    layout_info[y->layout].put(y, out[0], b, m, pix, code_of(n, p, m, acc, sv));
                else
                    ((float *)out[0])[i] = quant_qconv_epilogue(n, p, m, acc, sv);
            }
    return WR_OK;
}
