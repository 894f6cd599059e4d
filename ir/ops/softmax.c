/*
 * Softmax, LogSoftmax, Hardmax: X viewed as (outer, len, inner).
 * Opset < 13: X is coerced to 2-D at `axis` (default 1): len is the product
 * of dims axis..n-1, inner 1. Opset >= 13: one axis (default -1).
 * Y has X's shape. Emitter: codegen/kernels/softmax.c.
 */
#include "opparams.h"

#include <math.h>

Status op_softmax_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    if (X->dtype != DT_F32 && X->dtype != DT_F64)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 and float64 are supported");
    bool v13 = n->opset >= 13;
    int axis;
    WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", v13 ? -1 : 1), X->ndim ? X->ndim : 1, &axis,
                        d));
    SoftmaxParams *p = arena_alloc(&g->arena, sizeof *p);
    p->outer = p->len = p->inner = 1;
    for (int i = 0; i < X->ndim; i++) {
        if (i < axis)
            p->outer *= X->dim[i];
        else if (i == axis || !v13)
            p->len *= X->dim[i];
        else
            p->inner *= X->dim[i];
    }
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    n->priv = p;
    return WR_OK;
}

/* One softmax row of len elements at stride st, in double. */
static void row_ref(int op, DType t, const void *X, void *Y, int64_t base, int64_t len, int64_t st)
{
    double m = -INFINITY, s = 0.0;
    int64_t arg = 0;
    for (int64_t j = 0; j < len; j++) {
        double x = dtype_get_f64(t, X, base + j * st);
        if (x > m) {
            m = x;
            arg = j;
        }
    }
    for (int64_t j = 0; j < len; j++)
        s += exp(dtype_get_f64(t, X, base + j * st) - m);
    for (int64_t j = 0; j < len; j++) {
        double x = dtype_get_f64(t, X, base + j * st), y;
        if (op == OP_SOFTMAX)
            y = exp(x - m) / s;
        else if (op == OP_LOG_SOFTMAX)
            y = x - m - log(s);
        else
            y = j == arg;
        dtype_set_f64(t, Y, base + j * st, y);
    }
}

Status op_softmax_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const SoftmaxParams *p = n->priv;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t i = 0; i < p->inner; i++)
            row_ref(n->op, n->in[0]->dtype, in[0], out[0], o * p->len * p->inner + i, p->len,
                    p->inner);
    return WR_OK;
}
