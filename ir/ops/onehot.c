/*
 * OneHot: indices (any numeric), depth (constant scalar), values ([off, on])
 *   -> output of values' dtype, indices' shape with depth inserted at axis
 *   (default -1, the end): on where the coordinate equals the index, else off.
 * Negative indices count from depth; indices still outside [0, depth) give a
 * row of off values. Viewed as (outer, depth, inner) over the output.
 * codegen/kernels/onehot.c emits a fill with off, then one store per index.
 */
#include "opparams.h"

#include <math.h>
#include <string.h>

Status op_onehot_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *I = n->in[0], *V = n->in[2];
    const void *dep;
    WR_TRY(ir_const_input(n, 1, &dep, d));
    if (ir_tensor_numel(n->in[1]) != 1 || ir_tensor_numel(V) != 2)
        return diag_node(d, WR_EPARSE, n, "depth must be a scalar and values hold 2 elements");
    double df = dtype_get_f64(n->in[1]->dtype, dep, 0);
    if (!(df >= 1 && df < 1e9))
        return diag_node(d, WR_ESHAPE, n, "depth %g is invalid", df);
    int64_t depth = (int64_t)floor(df), dim[IR_MAX_DIMS];
    int rank = I->ndim + 1, axis;
    if (rank > IR_MAX_DIMS)
        return diag_node(d, WR_EUNSUPPORTED, n, "rank %d is above %d", rank, IR_MAX_DIMS);
    WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", -1), rank, &axis, d));
    for (int k = 0, j = 0; k < rank; k++)
        dim[k] = k == axis ? depth : I->dim[j++];
    AxisParams *p = arena_alloc(&g->arena, sizeof *p);
    axis_split(p, rank, dim, axis);
    ir_tensor_set_shape(n->out[0], V->dtype, rank, dim);
    n->priv = p;
    return WR_OK;
}

Status op_onehot_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const AxisParams *p = n->priv;
    size_t es = (size_t)dtype_info[n->out[0]->dtype].bytes;
    const unsigned char *V = in[2];
    unsigned char *Y = out[0];
    for (int64_t e = 0, N = ir_tensor_numel(n->out[0]); e < N; e++)
        memcpy(Y + (size_t)e * es, V, es);
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t k = 0; k < p->inner; k++) {
            int64_t v = (int64_t)dtype_get_f64(n->in[0]->dtype, in[0], o * p->inner + k);
            v += v < 0 ? p->len : 0;
            if (v >= 0 && v < p->len)
                memcpy(Y + (size_t)((o * p->len + v) * p->inner + k) * es, V + es, es);
        }
    return WR_OK;
}
