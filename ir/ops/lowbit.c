/*
 * The internal low-bit ops (domain "wrpnc"), made by passes/quantize.c:
 *   ActQuant  X (any, float32) -> codes (uint8) [, values (float32)]   attr bits
 *     codes = rint((2^bits - 1) * clip(X, 0, 1)), values = codes / (2^bits - 1);
 *     bipolar = 1 (QONNX BipolarQuant): codes = X >= 0, values = codes ? scale : -scale
 *   PackAct   codes (N, C, H, W) uint8 -> packed per-group NHWC (layout in quant.h)
 *   QConv     packed codes, Wq (M, C/group, kH, kW) int8 codes, scale (M)?, B (M)?
 *             -> Y (N, M, oH, oW) float32 = acc * scale + B, or int32 acc (out_acc=1),
 *             or uint8 codes of a folded quantizer (out_bits), optionally written in
 *             PackAct's layout (out_layout, out_group: passes/pack_outputs.c)
 * The evals are naive integer loops over the unpacked codes: the oracle for the
 * kernels that codegen/kernels/lowbit.c emits.
 */
#include "opparams.h"
#include "quant.h"
#include "wrpnc_pack.h"

#include <string.h>

static Status get_kind_attr(Node *n, const char *attr, QKernel *k, Diag *d)
{
    const char *s = ir_attr_str(n, attr, "bitserial");
    if (strcmp(s, "bitserial") == 0)
        *k = QK_BITSERIAL;
    else if (strcmp(s, "int8") == 0)
        *k = QK_INT8;
    else if (strcmp(s, "xnor") == 0)
        *k = QK_XNOR;
    else
        return diag_node(d, WR_EPARSE, n, "%s '%s' (bitserial, int8 or xnor)", attr, s);
    return WR_OK;
}

static Status get_kind(Node *n, QKernel *k, Diag *d) { return get_kind_attr(n, "layout", k, d); }

static Status get_bits(Node *n, const char *name, int lo, int *bits, Diag *d)
{
    int64_t b = ir_attr_int(n, name, 0);
    if (b < lo || b > 8)
        return diag_node(d, WR_EUNSUPPORTED, n, "%s = %lld (%d to 8 supported)", name,
                         (long long)b, lo);
    *bits = (int)b;
    return WR_OK;
}

/* ActQuant's parameters: WRPN (scale 0) or IntQuant(scale, zp 0, unsigned); with
 * out_layout (passes/pack_outputs.c) the codes go out in PackAct's layout. */
typedef struct ActQuantParams {
    int bits, narrow, bipolar;
    float scale;
    QRound round;
    bool packed;
    PackActParams pk; /* the packing, when packed */
} ActQuantParams;

/* out_layout / out_group: codes written as PackAct(bits, group, layout) would. */
static Status act_quant_packed(Node *n, ActQuantParams *p, Diag *d)
{
    const Tensor *x = n->in[0];
    PackActParams *k = &p->pk;
    WR_TRY(get_kind_attr(n, "out_layout", &k->kind, d));
    if (x->ndim != 4)
        return diag_node(d, WR_EUNSUPPORTED, n, "packed codes need X (N, C, H, W)");
    p->packed = true;
    k->bits = p->bits;
    k->N = x->dim[0], k->C = x->dim[1], k->H = x->dim[2], k->W = x->dim[3];
    k->G = ir_attr_int(n, "out_group", 1);
    if (k->G < 1 || k->C % k->G)
        return diag_node(d, WR_ESHAPE, n, "out_group %lld does not divide C", (long long)k->G);
    k->Cg = k->C / k->G;
    k->CW = WRPNC_PLANE_WORDS(k->Cg);
    k->C4 = (k->Cg + 3) / 4 * 4;
    int64_t dim[6] = {k->N, k->G, k->H, k->W, k->bits, k->CW};
    if (k->kind != QK_INT8)
        ir_tensor_set_shape(n->out[0], DT_U64, 6, dim);
    else {
        dim[4] = k->C4;
        ir_tensor_set_shape(n->out[0], DT_U8, 5, dim);
    }
    return WR_OK;
}

/* Code v of element i (NCHW order) into the packed layout k (zeroed before). */
static void pack_put(const PackActParams *k, void *Y, int64_t i, unsigned v)
{
    int64_t HW = k->H * k->W, y = i % HW, c = i / HW % k->C, b = i / HW / k->C;
    int64_t g = c / k->Cg, cg = c % k->Cg;
    int64_t pix = (b * k->G + g) * HW + y;
    if (k->kind == QK_INT8) {
        ((uint8_t *)Y)[pix * k->C4 + cg] = (uint8_t)v;
        return;
    }
    uint64_t *w = (uint64_t *)Y + pix * k->bits * k->CW + cg / 64;
    for (int j = 0; j < k->bits; j++)
        w[j * k->CW] |= (uint64_t)((v >> j) & 1u) << (cg % 64);
}

Status op_act_quant_infer(Graph *g, Node *n, Diag *d)
{
    ActQuantParams *p = arena_alloc(&g->arena, sizeof *p);
    WR_TRY(get_bits(n, "bits", 1, &p->bits, d));
    p->scale = ir_attr_float(n, "scale", 0.0f);
    p->narrow = (int)ir_attr_int(n, "narrow", 0);
    p->bipolar = ir_attr_int(n, "bipolar", 0) != 0;
    if (p->bipolar && (p->bits != 1 || p->scale <= 0))
        return diag_node(d, WR_EUNSUPPORTED, n, "bipolar needs bits = 1 and a scale > 0");
    const char *rm = ir_attr_str(n, "rounding_mode", "ROUND");
    int r = quant_round_mode(rm);
    if (r < 0 || p->scale < 0)
        return diag_node(d, WR_EUNSUPPORTED, n, "rounding_mode '%s' or scale %g", rm,
                         (double)p->scale);
    p->round = (QRound)r;
    n->priv = p;
    if (n->in[0]->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 X is supported");
    ir_tensor_set_shape(n->out[0], DT_U8, n->in[0]->ndim, n->in[0]->dim);
    if (n->nout > 1 && n->out[1])
        ir_tensor_set_shape(n->out[1], DT_F32, n->in[0]->ndim, n->in[0]->dim);
    if (ir_attr_find(n, "out_layout"))
        return act_quant_packed(n, p, d);
    return WR_OK;
}

Status op_act_quant_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const ActQuantParams *p = n->priv;
    const float *X = in[0];
    uint8_t *Q = out[0];
    float *V = n->nout > 1 ? out[1] : NULL;
    if (p->packed)
        memset(Q, 0, (size_t)ir_tensor_bytes(n->out[0]));
    for (int64_t i = 0, N = ir_tensor_numel(n->in[0]); i < N; i++) {
        unsigned code;
        if (p->bipolar) {
            code = X[i] >= 0;
            if (V)
                V[i] = quant_bipolar_ref(X[i], p->scale);
        } else if (p->scale == 0) {
            code = (unsigned)quant_wrpn_act_code_ref(X[i], p->bits);
            if (V)
                V[i] = quant_wrpn_act_ref(X[i], p->bits);
        } else {
            float q = quant_int_code_ref(X[i], p->scale, 0.0f, p->bits, 0, p->narrow, p->round);
            q = q != q ? 0.0f : q; /* NaN gives code 0 */
            code = (unsigned)q;
            if (V)
                V[i] = (q - 0.0f) * p->scale;
        }
        if (p->packed)
            pack_put(&p->pk, Q, i, code);
        else
            Q[i] = (uint8_t)code;
    }
    return WR_OK;
}

Status op_pack_act_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *x = n->in[0];
    PackActParams *p = arena_alloc(&g->arena, sizeof *p);
    WR_TRY(get_kind(n, &p->kind, d));
    WR_TRY(get_bits(n, "bits", 1, &p->bits, d));
    if (x->dtype != DT_U8 || x->ndim != 4)
        return diag_node(d, WR_EUNSUPPORTED, n, "codes must be uint8 (N, C, H, W)");
    p->N = x->dim[0], p->C = x->dim[1], p->H = x->dim[2], p->W = x->dim[3];
    p->G = ir_attr_int(n, "group", 1);
    if (p->G < 1 || p->C % p->G)
        return diag_node(d, WR_ESHAPE, n, "group %lld does not divide C = %lld",
                         (long long)p->G, (long long)p->C);
    p->Cg = p->C / p->G;
    p->CW = WRPNC_PLANE_WORDS(p->Cg);
    p->C4 = (p->Cg + 3) / 4 * 4;
    if (p->kind == QK_XNOR && p->bits != 1)
        return diag_node(d, WR_EUNSUPPORTED, n, "layout xnor packs 1-bit codes");
    if (p->kind != QK_INT8) {
        int64_t dim[6] = {p->N, p->G, p->H, p->W, p->bits, p->CW};
        ir_tensor_set_shape(n->out[0], DT_U64, 6, dim);
    } else {
        int64_t dim[5] = {p->N, p->G, p->H, p->W, p->C4};
        ir_tensor_set_shape(n->out[0], DT_U8, 5, dim);
    }
    n->priv = p;
    return WR_OK;
}

Status op_pack_act_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const PackActParams *p = n->priv;
    const uint8_t *X = in[0];
    int64_t per = p->kind != QK_INT8 ? p->bits * p->CW : p->C4;
    memset(out[0], 0, (size_t)ir_tensor_bytes(n->out[0]));
    for (int64_t b = 0; b < p->N; b++)
        for (int64_t c = 0; c < p->C; c++)
            for (int64_t y = 0; y < p->H * p->W; y++) {
                int64_t g = c / p->Cg, cg = c % p->Cg;
                int64_t pix = ((b * p->G + g) * p->H * p->W + y) * per;
                unsigned v = X[(b * p->C + c) * p->H * p->W + y];
                if (p->kind == QK_INT8)
                    ((uint8_t *)out[0])[pix + cg] = (uint8_t)v;
                else
                    for (int i = 0; i < p->bits; i++)
                        ((uint64_t *)out[0])[pix + i * p->CW + cg / 64] |=
                            (uint64_t)((v >> i) & 1u) << (cg % 64);
            }
    return WR_OK;
}

/* The packed input's (N, G, H, W) must agree with the weights and groups. */
static Status qconv_input(Node *n, QConvParams *p, int64_t *hw, Diag *d)
{
    const Tensor *x = n->in[0], *w = n->in[1];
    bool bs = p->kind != QK_INT8;
    if (x->dtype != (bs ? DT_U64 : DT_U8) || x->ndim != (bs ? 6 : 5))
        return diag_node(d, WR_EUNSUPPORTED, n, "input must come from PackAct (layout %s)",
                         ir_attr_str(n, "layout", "bitserial"));
    if (w->dtype != DT_I8 || w->ndim != 4 || !w->data)
        return diag_node(d, WR_EUNSUPPORTED, n, "weights must be constant int8 (M, C/g, kH, kW)");
    p->cv.group = ir_attr_int(n, "group", 1);
    p->Cg = w->dim[1];
    p->CW = WRPNC_PLANE_WORDS(p->Cg);
    p->C4 = (p->Cg + 3) / 4 * 4;
    p->cv.N = x->dim[0], p->cv.M = w->dim[0], p->cv.C = p->Cg * p->cv.group;
    if (x->dim[1] != p->cv.group || p->cv.M % p->cv.group ||
        (bs ? x->dim[4] != p->abits || x->dim[5] != p->CW : x->dim[4] != p->C4))
        return diag_node(d, WR_ESHAPE, n, "packed input does not match weights and groups");
    hw[0] = x->dim[2], hw[1] = x->dim[3];
    return WR_OK;
}

static Status qconv_vec(Node *n, int i, Diag *d)
{
    const Tensor *t = n->nin > i ? n->in[i] : NULL;
    if (t && (t->dtype != DT_F32 || ir_tensor_numel(t) != n->in[1]->dim[0]))
        return diag_node(d, WR_ESHAPE, n, "input %d must be float32 of size M", i);
    return WR_OK;
}

/* Largest |acc| the layer can produce. */
static int64_t acc_bound(const QConvParams *p)
{
    int64_t wmax = p->wbits > 1 ? (1 << (p->wbits - 1)) - 1 : 1;
    return p->Cg * p->cv.sp.k[1] * p->cv.sp.k[2] * ((1 << p->abits) - 1) * wmax;
}

/* T[m][t-1] = the smallest acc with code >= t (scale >= 0), or the largest (scale < 0),
 * by binary search over integers with the reference expression; beyond the bound when
 * no acc reaches t. The code is monotone in acc because every float step is. */
static int32_t threshold(const QConvParams *p, const float *S, const float *B, int64_t m, int t)
{
    int64_t A = acc_bound(p), lo = -A, hi = A + 1;
    bool up = S[m] >= 0;
    while (lo < hi) { /* up: first acc with code >= t; down: first acc with code < t */
        int64_t mid = lo + (hi - lo) / 2;
        bool reach = quant_qconv_code_ref(p, S, B, m, mid) >= t;
        if (up ? reach : !reach)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (int32_t)(up ? lo : lo - 1);
}

static Status thresholds(Graph *g, Node *n, QConvParams *p, Diag *d)
{
    const void *S, *B = NULL;
    WR_TRY(ir_const_input(n, 2, &S, d));
    if (n->nin > 3 && n->in[3])
        WR_TRY(ir_const_input(n, 3, &B, d));
    if (p->out_bits < 1 || p->out_bits > 8 || acc_bound(p) >= INT32_MAX / 2)
        return diag_node(d, WR_EUNSUPPORTED, n, "out_bits %d", p->out_bits);
    int T = (1 << p->out_bits) - 1;
    p->thresh = arena_alloc(&g->arena, sizeof(int32_t) * (size_t)(p->cv.M * T));
    for (int64_t m = 0; m < p->cv.M; m++)
        for (int t = 1; t <= T; t++)
            p->thresh[m * T + t - 1] = threshold(p, S, B, m, t);
    return WR_OK;
}

/* out_layout / out_group: the codes go out already packed for the next QConvs
 * (shape as op_pack_act_infer gives for the same bits, group and layout). */
static Status packed_output(Node *n, QConvParams *p, int64_t *dim, Diag *d)
{
    WR_TRY(get_kind_attr(n, "out_layout", &p->out_kind, d));
    p->out_packed = true;
    p->out_G = ir_attr_int(n, "out_group", 1);
    if (!p->out_bits || p->out_G < 1 || p->cv.M % p->out_G)
        return diag_node(d, WR_ESHAPE, n, "out_layout needs out_bits and out_group dividing M");
    p->out_Cg = p->cv.M / p->out_G;
    p->out_CW = WRPNC_PLANE_WORDS(p->out_Cg);
    p->out_C4 = (p->out_Cg + 3) / 4 * 4;
    int64_t pk[6] = {p->cv.N, p->out_G, dim[2], dim[3], p->out_bits, p->out_CW};
    if (p->out_kind != QK_INT8)
        ir_tensor_set_shape(n->out[0], DT_U64, 6, pk);
    else {
        pk[4] = p->out_C4;
        ir_tensor_set_shape(n->out[0], DT_U8, 5, pk);
    }
    return WR_OK;
}

/* XNOR: one activation plane and weights that are all +1 or -1. */
static Status xnor_check(Node *n, const QConvParams *p, Diag *d)
{
    if (p->kind != QK_XNOR)
        return WR_OK;
    const int8_t *w = n->in[1]->data;
    for (int64_t i = 0, N = ir_tensor_numel(n->in[1]); i < N; i++)
        if (w[i] != 1 && w[i] != -1)
            return diag_node(d, WR_EUNSUPPORTED, n, "layout xnor needs weights of +-1");
    if (p->abits != 1 || p->wbits != 1)
        return diag_node(d, WR_EUNSUPPORTED, n, "layout xnor needs abits = wbits = 1");
    return WR_OK;
}

Status op_qconv_infer(Graph *g, Node *n, Diag *d)
{
    QConvParams *p = arena_alloc(&g->arena, sizeof *p);
    int64_t hw[2];
    WR_TRY(get_kind(n, &p->kind, d));
    WR_TRY(get_bits(n, "abits", 1, &p->abits, d));
    WR_TRY(get_bits(n, "wbits", 1, &p->wbits, d));
    p->out_acc = ir_attr_int(n, "out_acc", 0) != 0;
    WR_TRY(qconv_input(n, p, hw, d));
    WR_TRY(xnor_check(n, p, d));
    WR_TRY(qconv_vec(n, 2, d));
    WR_TRY(qconv_vec(n, 3, d));
    if (!p->out_acc && (n->nin < 3 || !n->in[2]))
        return diag_node(d, WR_EPARSE, n, "a float output needs the scale input");
    WR_TRY(ir_spatial_parse(n, 2, hw, n->in[1]->dim + 2, false, &p->cv.sp, d));
    p->out_bits = (int)ir_attr_int(n, "out_bits", 0);
    if (p->out_bits)
        WR_TRY(thresholds(g, n, p, d));
    int64_t dim[4] = {p->cv.N, p->cv.M, p->cv.sp.out[1], p->cv.sp.out[2]};
    n->priv = p;
    if (ir_attr_find(n, "out_layout"))
        return packed_output(n, p, dim, d);
    DType dt = p->out_bits ? DT_U8 : p->out_acc ? DT_I32 : DT_F32;
    ir_tensor_set_shape(n->out[0], dt, 4, dim);
    return WR_OK;
}

/* Activation code of channel c (within group g) at pixel (ih, iw) of image b. */
static unsigned code_at(const QConvParams *p, const void *X, int64_t b, int64_t g, int64_t ih,
                        int64_t iw, int64_t c)
{
    const Spatial *s = &p->cv.sp;
    int64_t pix = ((b * p->cv.group + g) * s->in[1] + ih) * s->in[2] + iw;
    if (p->kind == QK_INT8)
        return ((const uint8_t *)X)[pix * p->C4 + c];
    const uint64_t *w = (const uint64_t *)X + pix * p->abits * p->CW;
    unsigned v = 0;
    for (int i = 0; i < p->abits; i++)
        v |= (unsigned)WRPNC_GETBITS(w[i * p->CW + c / 64], c % 64, 1) << i;
    return v;
}

/* The exact integer accumulator of one output, in int64. */
static int64_t qconv_acc(const QConvParams *p, const void *X, const int8_t *Wq, int64_t b,
                         int64_t m, int64_t oh, int64_t ow)
{
    const Spatial *s = &p->cv.sp;
    int64_t g = m / (p->cv.M / p->cv.group), acc = 0;
    for (int64_t c = 0; c < p->Cg; c++)
        for (int64_t kh = 0; kh < s->k[1]; kh++)
            for (int64_t kw = 0; kw < s->k[2]; kw++) {
                int64_t ih = oh * s->stride[1] - s->pad0[1] + kh * s->dil[1];
                int64_t iw = ow * s->stride[2] - s->pad0[2] + kw * s->dil[2];
                if (ih < 0 || ih >= s->in[1] || iw < 0 || iw >= s->in[2])
                    continue; /* zero padding is code 0 */
                int64_t a = code_at(p, X, b, g, ih, iw, c);
                if (p->kind == QK_XNOR)
                    a = 2 * a - 1; /* bipolar: bit 1 is +1, bit 0 is -1 */
                acc += a * Wq[((m * p->Cg + c) * s->k[1] + kh) * s->k[2] + kw];
            }
    return acc;
}

/* Code q of channel m at output pixel pix of image b, into the packed layout. */
static void put_packed(const QConvParams *p, void *Y, int64_t b, int64_t m, int64_t pix,
                       unsigned q)
{
    int64_t g = m / p->out_Cg, c = m % p->out_Cg;
    int64_t at = (b * p->out_G + g) * p->cv.sp.out[1] * p->cv.sp.out[2] + pix;
    if (p->out_kind == QK_INT8) {
        ((uint8_t *)Y)[at * p->out_C4 + c] = (uint8_t)q;
        return;
    }
    uint64_t *w = (uint64_t *)Y + at * p->out_bits * p->out_CW + c / 64;
    for (int i = 0; i < p->out_bits; i++)
        w[i * p->out_CW] |= (uint64_t)((q >> i) & 1u) << (c % 64);
}

Status op_qconv_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    const float *S = n->nin > 2 ? in[2] : NULL, *B = n->nin > 3 ? in[3] : NULL;
    /* locals: the stores through out[0] below cannot change them */
    const bool packed = p->out_packed, codes = p->out_bits != 0, accs = p->out_acc;
    if (packed)
        memset(out[0], 0, (size_t)ir_tensor_bytes(n->out[0]));
    WR_ASSERT(codes || accs || S); /* float outputs are scaled (infer checked) */
    int64_t i = 0, ohw = s->out[1] * s->out[2];
    for (int64_t b = 0; b < p->cv.N; b++)
        for (int64_t m = 0; m < p->cv.M; m++)
            for (int64_t oh = 0; oh < s->out[1]; oh++)
                for (int64_t ow = 0; ow < s->out[2]; ow++, i++) {
                    int64_t acc = qconv_acc(p, in[0], in[1], b, m, oh, ow);
                    if (packed)
                        put_packed(p, out[0], b, m, i % ohw,
                                   (unsigned)quant_qconv_code_ref(p, S, B, m, acc));
                    else if (codes)
                        ((uint8_t *)out[0])[i] = (uint8_t)quant_qconv_code_ref(p, S, B, m, acc);
                    else if (accs)
                        ((int32_t *)out[0])[i] = (int32_t)acc;
                    else
                        ((float *)out[0])[i] = (float)acc * S[m] + (B ? B[m] : 0.0f);
                }
    return WR_OK;
}
