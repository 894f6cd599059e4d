/*
 * CumSum: running sums along axis (a constant int32/int64 scalar input).
 *   x (viewed as outer, len, inner), axis -> y, same shape and dtype
 * exclusive = 1 leaves the current element out; reverse = 1 sums from the
 * end. Sums accumulate in the element type, as numpy's cumsum does.
 * codegen/kernels/cumsum.c emits the loops.
 */
#include "opparams.h"

Status op_cumsum_infer(Graph *g, Node *n, Diag *d)
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
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    n->priv = p;
    return WR_OK;
}

Status op_cumsum_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const AxisParams *p = n->priv;
    DType t = n->out[0]->dtype;
    bool fl = dtype_is_float(t);
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t k = 0; k < p->inner; k++) {
            double accf = 0;
            int64_t acci = 0;
            for (int64_t j = 0; j < p->len; j++) {
                int64_t jj = p->flag_b ? p->len - 1 - j : j;
                int64_t e = (o * p->len + jj) * p->inner + k;
                if (p->flag_a)
                    dtype_set_f64(t, out[0], e, fl ? accf : (double)acci);
                accf += dtype_get_f64(t, in[0], e);
                if (t == DT_F32) /* round like a float accumulator */
                    accf = (double)(float)accf;
                acci += dtype_get_i64(t, in[0], e);
                if (!p->flag_a)
                    dtype_set_f64(t, out[0], e, fl ? accf : (double)acci);
            }
        }
    return WR_OK;
}
