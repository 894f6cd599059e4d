/*
 * ArgMax and ArgMin: index of the largest (smallest) element along axis.
 *   data (viewed as outer, len, inner) -> int64 (outer, inner), with the axis
 *   kept as 1 when keepdims = 1 (default)
 * Ties give the first index, or the last with select_last_index = 1.
 * codegen/kernels/argmax.c emits the loops.
 */
#include "opparams.h"

static Status arg_infer(Graph *g, Node *n, bool is_min, Diag *d)
{
    const Tensor *X = n->in[0];
    int axis;
    WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", 0), X->ndim, &axis, d));
    if (X->dim[axis] == 0)
        return diag_node(d, WR_ESHAPE, n, "the reduced axis is empty");
    AxisParams *p = arena_alloc(&g->arena, sizeof *p);
    axis_split(p, X->ndim, X->dim, axis);
    p->flag_a = ir_attr_int(n, "select_last_index", 0) != 0;
    p->flag_b = is_min;
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    int64_t dim[IR_MAX_DIMS];
    int nd = 0;
    for (int k = 0; k < X->ndim; k++)
        if (k != axis || keep)
            dim[nd++] = k == axis ? 1 : X->dim[k];
    ir_tensor_set_shape(n->out[0], DT_I64, nd, dim);
    n->priv = p;
    return WR_OK;
}

static Status arg_eval(const Node *n, void *const *in, void *const *out)
{
    const AxisParams *p = n->priv;
    DType t = n->in[0]->dtype;
    int64_t *Y = out[0];
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t k = 0; k < p->inner; k++) {
            int64_t base = o * p->len * p->inner + k, best = 0;
            double bv = dtype_get_f64(t, in[0], base);
            for (int64_t j = 1; j < p->len; j++) {
                double v = dtype_get_f64(t, in[0], base + j * p->inner);
                bool better = p->flag_b ? (p->flag_a ? v <= bv : v < bv)
                                        : (p->flag_a ? v >= bv : v > bv);
                if (better) {
                    bv = v;
                    best = j;
                }
            }
            Y[o * p->inner + k] = best;
        }
    return WR_OK;
}

Status op_argmax_infer(Graph *g, Node *n, Diag *d) { return arg_infer(g, n, false, d); }
Status op_argmin_infer(Graph *g, Node *n, Diag *d) { return arg_infer(g, n, true, d); }

Status op_argmax_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    return arg_eval(n, in, out);
}

Status op_argmin_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    return arg_eval(n, in, out);
}
