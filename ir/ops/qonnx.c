/*
 * QONNX quantizers (domain qonnx.custom_op.general; finn.custom_op.general and
 * onnx.brevitas map here), float32 in and out, same shape as X:
 *   Quant / IntQuant (X, scale, zeropt, bitwidth)  attrs signed=1 narrow=0 rounding_mode=ROUND
 *     Y = (clamp(round(X / scale + zeropt), min, max) - zeropt) * scale
 *   BipolarQuant (X, scale): Y = (X >= 0 ? +1 : -1) * scale
 *   Trunc v1 (X, scale, zeropt, in_bw, out_bw), v2 (X, scale, zeropt, in_bw, out_scale,
 *     out_zeropt, out_bw): drops low bits of an integer grid (rounding_mode=FLOOR)
 * scale and zeropt broadcast against X; bit widths must be constants; Trunc's
 * scalars too. Reference math in ir/quant.c; emitters in codegen/kernels/qonnx.c.
 */
#include "ir.h"
#include "quant.h"

#include <math.h>

/* Element index into x (broadcast against y) of flat output index i. */
static int64_t bidx(const Tensor *y, const Tensor *x, int64_t i)
{
    int64_t idx = 0, stride = 1;
    for (int dy = y->ndim - 1, dx = x->ndim - 1; dy >= 0 && dx >= 0; dy--, dx--) {
        int64_t c = i % y->dim[dy];
        i /= y->dim[dy];
        if (x->dim[dx] != 1)
            idx += c * stride;
        stride *= x->dim[dx];
    }
    return idx;
}

/* Input i is numeric (exporters write float16, int8 ...: read as double, then float32)
 * and broadcasts to X's shape without growing it. */
static Status check_bcast(Node *n, int i, Diag *d)
{
    const Tensor *x = n->in[0], *t = n->in[i];
    int nd;
    int64_t dim[IR_MAX_DIMS];
    if (t->dtype == DT_BOOL || t->dtype == DT_UNDEF)
        return diag_node(d, WR_EUNSUPPORTED, n, "input %d must be numeric, not %s", i,
                         dtype_info[t->dtype].name);
    if (t->ndim > x->ndim)
        return diag_node(d, WR_ESHAPE, n, "input %d has a higher rank than X", i);
    WR_TRY(ir_broadcast_shape(n, x->ndim, x->dim, t->ndim, t->dim, &nd, dim, d));
    for (int k = 0; k < nd; k++)
        if (dim[k] != x->dim[k])
            return diag_node(d, WR_ESHAPE, n, "input %d does not broadcast to X", i);
    return WR_OK;
}

/* The single value of constant input i. */
static Status const_scalar(const Node *n, int i, float *v, Diag *d)
{
    const void *p;
    WR_TRY(ir_const_input(n, i, &p, d));
    if (ir_tensor_numel(n->in[i]) != 1)
        return diag_node(d, WR_EUNSUPPORTED, n, "input %d must be a scalar", i);
    *v = (float)dtype_get_f64(n->in[i]->dtype, p, 0);
    return WR_OK;
}

static Status parse_round(Node *n, const char *def, QonnxParams *p, Diag *d)
{
    const char *rm = ir_attr_str(n, "rounding_mode", def);
    int r = quant_round_mode(rm);
    if (r < 0)
        return diag_node(d, WR_EUNSUPPORTED, n, "rounding_mode '%s'", rm);
    p->round = (QRound)r;
    return WR_OK;
}

Status op_quant_infer(Graph *g, Node *n, Diag *d)
{
    QonnxParams *p = arena_alloc(&g->arena, sizeof *p);
    float bw;
    if (n->in[0]->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 X is supported");
    WR_TRY(check_bcast(n, 1, d));
    WR_TRY(check_bcast(n, 2, d));
    WR_TRY(const_scalar(n, 3, &bw, d));
    if (bw != floorf(bw) || bw < 1 || bw > 24)
        return diag_node(d, WR_EUNSUPPORTED, n, "bit width %g (integers 1 to 24)", (double)bw);
    p->bits = (int)bw;
    p->is_signed = (int)ir_attr_int(n, "signed", 1);
    p->narrow = (int)ir_attr_int(n, "narrow", 0);
    WR_TRY(parse_round(n, "ROUND", p, d));
    ir_tensor_set_shape(n->out[0], DT_F32, n->in[0]->ndim, n->in[0]->dim);
    n->priv = p;
    return WR_OK;
}

Status op_quant_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const QonnxParams *p = n->priv;
    const float *X = in[0];
    float *Y = out[0];
    const Tensor *y = n->out[0], *s = n->in[1], *z = n->in[2];
    for (int64_t i = 0, N = ir_tensor_numel(y); i < N; i++)
        Y[i] = quant_int_ref(X[i], (float)dtype_get_f64(s->dtype, in[1], bidx(y, s, i)),
                             (float)dtype_get_f64(z->dtype, in[2], bidx(y, z, i)), p->bits,
                             p->is_signed, p->narrow, p->round);
    return WR_OK;
}

Status op_bipolar_quant_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    if (n->in[0]->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 X is supported");
    WR_TRY(check_bcast(n, 1, d));
    ir_tensor_set_shape(n->out[0], DT_F32, n->in[0]->ndim, n->in[0]->dim);
    return WR_OK;
}

Status op_bipolar_quant_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const float *X = in[0];
    float *Y = out[0];
    const Tensor *s = n->in[1];
    for (int64_t i = 0, N = ir_tensor_numel(n->out[0]); i < N; i++)
        Y[i] = quant_bipolar_ref(X[i], (float)dtype_get_f64(s->dtype, in[1],
                                                            bidx(n->out[0], s, i)));
    return WR_OK;
}

/* Trunc's scalars: v1 trunc_scale = 2^(in_bw - out_bw); v2 = 2^round(log2(out_scale/scale)). */
static Status trunc_consts(Node *n, QonnxParams *p, Diag *d)
{
    float in_bw, out_bw, out_zp;
    WR_TRY(const_scalar(n, 1, &p->scale, d));
    WR_TRY(const_scalar(n, 2, &p->zp, d));
    WR_TRY(const_scalar(n, 3, &in_bw, d));
    p->version = n->nin == 7 ? 2 : 1;
    if (p->version == 1) {
        WR_TRY(const_scalar(n, 4, &out_bw, d));
        p->trunc_scale = (float)ldexp(1.0, (int)(in_bw - out_bw));
        return WR_OK;
    }
    WR_TRY(const_scalar(n, 4, &p->out_scale, d));
    WR_TRY(const_scalar(n, 5, &out_zp, d));
    WR_TRY(const_scalar(n, 6, &out_bw, d));
    p->trunc_scale = (float)ldexp(1.0, (int)nearbyint(log2((double)p->out_scale / p->scale)));
    double lo, hi;
    quant_int_range((int)out_bw, p->is_signed, p->narrow, &lo, &hi);
    p->lo = (float)lo;
    p->hi = (float)hi;
    return WR_OK;
}

Status op_trunc_infer(Graph *g, Node *n, Diag *d)
{
    QonnxParams *p = arena_alloc(&g->arena, sizeof *p);
    if (n->nin != 5 && n->nin != 7)
        return diag_node(d, WR_EPARSE, n, "Trunc takes 5 (v1) or 7 (v2) inputs, not %d", n->nin);
    if (n->in[0]->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 X is supported");
    p->is_signed = (int)ir_attr_int(n, "signed", 1);
    p->narrow = (int)ir_attr_int(n, "narrow", 0);
    WR_TRY(parse_round(n, "FLOOR", p, d));
    WR_TRY(trunc_consts(n, p, d));
    ir_tensor_set_shape(n->out[0], DT_F32, n->in[0]->ndim, n->in[0]->dim);
    n->priv = p;
    return WR_OK;
}

/* One element of Trunc, in the reference's float32 operation order. */
static float trunc_one(const QonnxParams *p, float x)
{
    float y = nearbyintf(x / p->scale + p->zp) / p->trunc_scale;
    if (p->version == 1)
        return (quant_round_ref(y, p->round) - p->zp) * p->scale;
    y = y > p->hi ? p->hi : y;
    y = y < p->lo ? p->lo : y;
    return (quant_round_ref(y, p->round) - p->zp / p->trunc_scale) * p->out_scale;
}

Status op_trunc_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const float *X = in[0];
    float *Y = out[0];
    for (int64_t i = 0, N = ir_tensor_numel(n->out[0]); i < N; i++)
        Y[i] = trunc_one(n->priv, X[i]);
    return WR_OK;
}
