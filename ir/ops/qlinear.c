/*
 * ONNX Runtime's QOperator format: QLinearConv, ConvInteger, QLinearMatMul,
 * MatMulInteger (integer accumulators, then ONNX Runtime's float32
 * requantization with rounding half to even; see QLinearParams in
 * ir/opparams.h) and DynamicQuantizeLinear (uint8, scale and zero point from
 * the data's range as ONNX Runtime computes them).
 *   QLinearConv   x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp [, B int32] -> y
 *   ConvInteger   x, w [, x_zp [, w_zp]] -> y int32
 *   QLinearMatMul a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp -> y
 *   MatMulInteger A, B [, a_zp [, b_zp]] -> Y int32
 *   DynamicQuantizeLinear x float -> y uint8, y_scale (scalar), y_zp uint8 (scalar)
 * Emitter: codegen/kernels/qlinear.c (plain integer loops).
 */
#include "opparams.h"

#include <math.h>

static bool is_q8(DType t) { return t == DT_U8 || t == DT_I8; }

/* Values of a scale or zero point input as float / int32, into the arena. */
static const float *const_floats(Graph *g, const Tensor *t)
{
    if (!t || !t->data)
        return NULL;
    int64_t n = ir_tensor_numel(t);
    float *v = arena_alloc(&g->arena, sizeof *v * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)dtype_get_f64(t->dtype, t->data, i);
    return v;
}

static const int32_t *const_ints(Graph *g, const Tensor *t)
{
    if (!t || !t->data)
        return NULL;
    int64_t n = ir_tensor_numel(t);
    int32_t *v = arena_alloc(&g->arena, sizeof *v * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        v[i] = (int32_t)dtype_get_i64(t->dtype, t->data, i);
    return v;
}

static const Tensor *slot(const Node *n, int k) { return k >= 0 && k < n->nin ? n->in[k] : NULL; }

/* A scale (float32) or zero point (type want) input: count 1 or `per` elements. */
static Status qparam(const Node *n, int k, DType want, int64_t per, int64_t *count, Diag *d)
{
    const Tensor *t = slot(n, k);
    *count = 1;
    if (!t)
        return WR_OK;
    if (t->dtype != want)
        return diag_node(d, WR_EUNSUPPORTED, n, "input %d has type %s, expected %s", k,
                         dtype_info[t->dtype].name, dtype_info[want].name);
    *count = ir_tensor_numel(t);
    if (*count != 1 && *count != per)
        return diag_node(d, WR_ESHAPE, n, "input %d must have 1 or %lld elements", k,
                         (long long)per);
    return WR_OK;
}

/* Types, quantization inputs and their constant values; per = channels of W. */
static Status quant_inputs(Graph *g, Node *n, QLinearParams *p, int64_t rows, int64_t per,
                           Diag *d)
{
    p->tx = n->in[p->x]->dtype, p->tw = n->in[p->w]->dtype;
    if (!is_q8(p->tx) || !is_q8(p->tw))
        return diag_node(d, WR_EUNSUPPORTED, n, "inputs must be int8 or uint8");
    int64_t c;
    WR_TRY(qparam(n, p->xzp, p->tx, rows, &p->nxzp, d));
    WR_TRY(qparam(n, p->wzp, p->tw, per, &p->nwzp, d));
    if (p->requant) {
        p->ty = n->in[p->yzp]->dtype;
        WR_TRY(qparam(n, p->xs, DT_F32, 1, &c, d));
        WR_TRY(qparam(n, p->ws, DT_F32, per, &p->nws, d));
        WR_TRY(qparam(n, p->ys, DT_F32, 1, &c, d));
        WR_TRY(qparam(n, p->yzp, p->ty, 1, &c, d));
        if (!is_q8(p->ty))
            return diag_node(d, WR_EUNSUPPORTED, n, "y_zero_point must be int8 or uint8");
        const Tensor *b = slot(n, p->bias);
        if (b && (b->dtype != DT_I32 || ir_tensor_numel(b) != per))
            return diag_node(d, WR_ESHAPE, n, "B must be int32 with %lld elements",
                             (long long)per);
        p->xs_c = const_floats(g, slot(n, p->xs));
        p->ws_c = const_floats(g, slot(n, p->ws));
        p->ys_c = const_floats(g, slot(n, p->ys));
        const int32_t *yz = const_ints(g, slot(n, p->yzp));
        p->yzp_c = yz ? yz[0] : 0;
    } else {
        p->ty = DT_I32;
    }
    p->xzp_c = const_ints(g, slot(n, p->xzp));
    p->wzp_c = const_ints(g, slot(n, p->wzp));
    return WR_OK;
}

static Status conv_setup(Graph *g, Node *n, QLinearParams *p, Diag *d)
{
    const Tensor *X = n->in[p->x], *W = n->in[p->w];
    p->conv = true;
    p->axis = 0;
    int64_t dim[5];
    WR_TRY(conv_geometry(n, X, W, NULL, &p->geom, dim, d));
    WR_TRY(quant_inputs(g, n, p, 1, p->geom.M, d));
    ir_tensor_set_shape(n->out[0], p->ty, X->ndim, dim);
    n->priv = p;
    return WR_OK;
}

static Status matmul_setup(Graph *g, Node *n, QLinearParams *p, Diag *d)
{
    const Tensor *A = n->in[p->x], *B = n->in[p->w];
    p->axis = B->ndim - 1;
    WR_TRY(matmul_params(g, n, A, B, DT_I32, &p->mm, d));
    WR_TRY(quant_inputs(g, n, p, p->mm->M, p->mm->N, d));
    if (p->requant && p->nxzp != 1)
        return diag_node(d, WR_EUNSUPPORTED, n, "a_zero_point must be per tensor");
    n->out[0]->dtype = p->ty;
    n->priv = p;
    return WR_OK;
}

static QLinearParams *params(Graph *g, bool requant)
{
    QLinearParams *p = arena_alloc(&g->arena, sizeof *p);
    p->requant = requant;
    p->xs = p->ws = p->ys = p->yzp = p->bias = -1;
    return p;
}

Status op_qlinear_conv_infer(Graph *g, Node *n, Diag *d)
{
    QLinearParams *p = params(g, true);
    p->x = 0, p->xs = 1, p->xzp = 2, p->w = 3, p->ws = 4, p->wzp = 5, p->ys = 6, p->yzp = 7;
    p->bias = 8;
    return conv_setup(g, n, p, d);
}

Status op_conv_integer_infer(Graph *g, Node *n, Diag *d)
{
    QLinearParams *p = params(g, false);
    p->x = 0, p->w = 1, p->xzp = 2, p->wzp = 3;
    return conv_setup(g, n, p, d);
}

Status op_qlinear_matmul_infer(Graph *g, Node *n, Diag *d)
{
    QLinearParams *p = params(g, true);
    p->x = 0, p->xs = 1, p->xzp = 2, p->w = 3, p->ws = 4, p->wzp = 5, p->ys = 6, p->yzp = 7;
    return matmul_setup(g, n, p, d);
}

Status op_matmul_integer_infer(Graph *g, Node *n, Diag *d)
{
    QLinearParams *p = params(g, false);
    p->x = 0, p->w = 1, p->xzp = 2, p->wzp = 3;
    return matmul_setup(g, n, p, d);
}

/* ---- reference ---- */

/* Element i of a zero point / scale input (absent: 0 / unused). */
static int32_t zp_at(const Node *n, void *const *in, int k, int64_t count, int64_t i)
{
    const Tensor *t = slot(n, k);
    return t ? (int32_t)dtype_get_i64(t->dtype, in[k], count > 1 ? i : 0) : 0;
}

/* ONNX Runtime's requantization of acc for channel c (MLAS: multiply in
 * float32, clamp to the output range around the zero point, round half to even). */
static int32_t requant(const Node *n, const QLinearParams *p, void *const *in, int32_t acc,
                       int64_t c)
{
    float xs = ((const float *)in[p->xs])[0], ys = ((const float *)in[p->ys])[0];
    float mult = xs * ((const float *)in[p->ws])[p->nws > 1 ? c : 0] / ys;
    int32_t zp = zp_at(n, in, p->yzp, 1, 0);
    int32_t qmin = p->ty == DT_U8 ? 0 : -128, qmax = p->ty == DT_U8 ? 255 : 127;
    float v = (float)acc * mult, lo = (float)(qmin - zp), hi = (float)(qmax - zp);
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int32_t)rintf(v) + zp;
}

static void store(const Node *n, const QLinearParams *p, void *const *in, void *y, int64_t i,
                  int32_t acc, int64_t c)
{
    if (p->requant)
        dtype_set_f64(p->ty, y, i, requant(n, p, in, acc, c));
    else
        ((int32_t *)y)[i] = acc;
}

static int32_t conv_acc(const Node *n, const QLinearParams *p, void *const *in, int64_t b,
                        int64_t m, const int64_t *o)
{
    const ConvParams *q = &p->geom;
    const Spatial *s = &q->sp;
    int64_t Cg = q->C / q->group, g = m / (q->M / q->group);
    int32_t zx = zp_at(n, in, p->xzp, 1, 0), zw = zp_at(n, in, p->wzp, p->nwzp, m);
    int64_t acc = 0;
    for (int64_t c = 0; c < Cg; c++)
        for (int64_t kd = 0; kd < s->k[0]; kd++)
            for (int64_t kh = 0; kh < s->k[1]; kh++)
                for (int64_t kw = 0; kw < s->k[2]; kw++) {
                    int64_t id = o[0] * s->stride[0] - s->pad0[0] + kd * s->dil[0];
                    int64_t ih = o[1] * s->stride[1] - s->pad0[1] + kh * s->dil[1];
                    int64_t iw = o[2] * s->stride[2] - s->pad0[2] + kw * s->dil[2];
                    if (id < 0 || id >= s->in[0] || ih < 0 || ih >= s->in[1] || iw < 0 ||
                        iw >= s->in[2])
                        continue; /* padding holds x_zero_point: contributes 0 */
                    int64_t xi = (((b * q->C + g * Cg + c) * s->in[0] + id) * s->in[1] + ih) *
                                     s->in[2] + iw;
                    int64_t wi = (((m * Cg + c) * s->k[0] + kd) * s->k[1] + kh) * s->k[2] + kw;
                    acc += (int64_t)(dtype_get_i64(p->tx, in[p->x], xi) - zx) *
                           (dtype_get_i64(p->tw, in[p->w], wi) - zw);
                }
    if (slot(n, p->bias))
        acc += ((const int32_t *)in[p->bias])[m];
    return (int32_t)acc;
}

static Status conv_eval(const Node *n, void *const *in, void *const *out)
{
    const QLinearParams *p = n->priv;
    const ConvParams *q = &p->geom;
    const Spatial *s = &q->sp;
    int64_t i = 0, o[3];
    for (int64_t b = 0; b < q->N; b++)
        for (int64_t m = 0; m < q->M; m++)
            for (o[0] = 0; o[0] < s->out[0]; o[0]++)
                for (o[1] = 0; o[1] < s->out[1]; o[1]++)
                    for (o[2] = 0; o[2] < s->out[2]; o[2]++)
                        store(n, p, in, out[0], i++, conv_acc(n, p, in, b, m, o), m);
    return WR_OK;
}

static Status matmul_eval(const Node *n, void *const *in, void *const *out)
{
    const QLinearParams *p = n->priv;
    const MatMulParams *q = p->mm;
    for (int64_t b = 0; b < q->nbatch; b++)
        for (int64_t m = 0; m < q->M; m++) {
            int32_t za = zp_at(n, in, p->xzp, p->nxzp, m);
            for (int64_t j = 0; j < q->N; j++) {
                int32_t zb = zp_at(n, in, p->wzp, p->nwzp, j);
                int64_t acc = 0;
                for (int64_t k = 0; k < q->K; k++) {
                    int64_t a = dtype_get_i64(p->tx, in[p->x], (q->aidx[b] * q->M + m) * q->K + k);
                    int64_t w = dtype_get_i64(p->tw, in[p->w], (q->bidx[b] * q->K + k) * q->N + j);
                    acc += (a - za) * (w - zb);
                }
                store(n, p, in, out[0], (b * q->M + m) * q->N + j, (int32_t)acc, j);
            }
        }
    return WR_OK;
}

Status op_qlinear_conv_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    return conv_eval(n, in, out);
}

Status op_conv_integer_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    return conv_eval(n, in, out);
}

Status op_qlinear_matmul_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    return matmul_eval(n, in, out);
}

Status op_matmul_integer_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    return matmul_eval(n, in, out);
}

/* ---- DynamicQuantizeLinear ---- */

Status op_dynamic_quantize_linear_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    const Tensor *X = n->in[0];
    if (X->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 is supported");
    ir_tensor_set_shape(n->out[0], DT_U8, X->ndim, X->dim);
    ir_tensor_set_shape(n->out[1], DT_F32, 0, NULL);
    ir_tensor_set_shape(n->out[2], DT_U8, 0, NULL);
    return WR_OK;
}

Status op_dynamic_quantize_linear_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const float *x = in[0];
    int64_t N = ir_tensor_numel(n->in[0]);
    float mn = 0.0f, mx = 0.0f; /* the range always includes 0 */
    for (int64_t i = 0; i < N; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    float scale = mx == mn ? 1.0f : (mx - mn) / 255.0f;
    float z = 0.0f - mn / scale;
    z = rintf(z < 0.0f ? 0.0f : z > 255.0f ? 255.0f : z);
    uint8_t *y = out[0];
    for (int64_t i = 0; i < N; i++) {
        float v = rintf(x[i] / scale) + z;
        y[i] = (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
    }
    *(float *)out[1] = scale;
    *(uint8_t *)out[2] = (uint8_t)z;
    return WR_OK;
}
