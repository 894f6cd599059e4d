/*
 * CumSum and CumProd: running sums (products) along axis (a constant
 * int32/int64 scalar input).
 *   x (viewed as outer, len, inner), axis -> y, same shape and dtype
 * exclusive = 1 leaves the current element out (the first output is 0, or 1
 * for products); reverse = 1 runs from the end. Accumulation is in the
 * element type, as numpy's cumsum / cumprod do.
 * codegen/kernels/cumsum.c emits the loops.
 */
#include "opparams.h"

static Status cum_infer(Graph *g, Node *n, bool prod, Diag *d)
{
    const Tensor *X = n->in[0], *A = n->in[1];
    if (X->dtype == DT_BOOL)
        return diag_node(d, WR_EUNSUPPORTED, n, "bool is not supported");
    const void *a;
    WR_TRY(ir_const_input(n, 1, &a, d));
    if ((A->dtype != DT_I32 && A->dtype != DT_I64) || ir_tensor_numel(A) != 1)
        return diag_node(d, WR_EPARSE, n, "axis must be an int32 or int64 scalar");
    int axis;
    WR_TRY(ir_norm_axis(n, dtype_get_i64(A->dtype, a, 0), X->ndim, &axis, d));
    AxisParams *p = arena_alloc(&g->arena, sizeof *p);
    axis_split(p, X->ndim, X->dim, axis);
    p->flag_a = ir_attr_int(n, "exclusive", 0) != 0;
    p->flag_b = ir_attr_int(n, "reverse", 0) != 0;
    p->reduction = prod ? 2 : 1;
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    n->priv = p;
    return WR_OK;
}

Status op_cumsum_infer(Graph *g, Node *n, Diag *d) { return cum_infer(g, n, false, d); }
Status op_cumprod_infer(Graph *g, Node *n, Diag *d) { return cum_infer(g, n, true, d); }

Status op_cumsum_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const AxisParams *p = n->priv;
    bool prod = p->reduction == 2;
    DType t = n->out[0]->dtype;
    bool fl = dtype_is_float(t);
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t k = 0; k < p->inner; k++) {
            double accf = prod;
            int64_t acci = prod;
            for (int64_t j = 0; j < p->len; j++) {
                int64_t jj = p->flag_b ? p->len - 1 - j : j;
                int64_t e = (o * p->len + jj) * p->inner + k;
                if (p->flag_a)
                    dtype_set_f64(t, out[0], e, fl ? accf : (double)acci);
                double x = dtype_get_f64(t, in[0], e);
                accf = prod ? accf * x : accf + x;
                if (t == DT_F32) /* round like a float accumulator */
                    accf = (double)(float)accf;
                int64_t xi = dtype_get_i64(t, in[0], e);
                acci = prod ? (int64_t)((uint64_t)acci * (uint64_t)xi) : acci + xi;
                if (!p->flag_a)
                    dtype_set_f64(t, out[0], e, fl ? accf : (double)acci);
            }
        }
    return WR_OK;
}

Status op_cumprod_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return op_cumsum_eval(n, in, out, d);
}
