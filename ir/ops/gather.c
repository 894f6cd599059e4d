/*
 * Gather: Y = X indexed along axis by indices (int32 or int64, negative
 * counts from the end).
 *   X (d0..d{r-1}), indices (q dims) -> Y (d0..d{axis-1}, q dims, d{axis+1}..)
 * Viewed as X (outer, axis_dim, inner): Y[o, j, :] = X[o, idx[j], :].
 * Constant indices are checked here. Indices known only at run time that are
 * out of range produce a row of zeros (generated code never reads outside
 * X). codegen/kernels/gather.c emits the row copies.
 */
#include "opparams.h"

#include <string.h>

Status op_gather_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *I = n->in[1];
    int axis;
    if (I->dtype != DT_I32 && I->dtype != DT_I64)
        return diag_node(d, WR_EPARSE, n, "indices must be int32 or int64");
    if (X->ndim < 1)
        return diag_node(d, WR_ESHAPE, n, "data must have rank >= 1");
    WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", 0), X->ndim, &axis, d));
    int rank = X->ndim - 1 + I->ndim;
    if (rank > IR_MAX_DIMS)
        return diag_node(d, WR_EUNSUPPORTED, n, "rank %d is above %d", rank, IR_MAX_DIMS);
    GatherParams *p = arena_alloc(&g->arena, sizeof *p);
    p->outer = p->inner = 1;
    int64_t dim[IR_MAX_DIMS];
    int nd = 0;
    for (int k = 0; k < axis; k++)
        p->outer *= dim[nd++] = X->dim[k];
    for (int k = 0; k < I->ndim; k++)
        dim[nd++] = I->dim[k];
    for (int k = axis + 1; k < X->ndim; k++)
        p->inner *= dim[nd++] = X->dim[k];
    p->axis_dim = X->dim[axis];
    p->nidx = ir_tensor_numel(I);
    for (int64_t j = 0; I->data && j < p->nidx; j++) {
        int64_t v = dtype_get_i64(I->dtype, I->data, j);
        if (v < -p->axis_dim || v >= p->axis_dim)
            return diag_node(d, WR_ESHAPE, n, "index %lld is out of range for a dim of %lld",
                             (long long)v, (long long)p->axis_dim);
    }
    ir_tensor_set_shape(n->out[0], X->dtype, nd, dim);
    n->priv = p;
    return WR_OK;
}

Status op_gather_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const GatherParams *p = n->priv;
    const Tensor *I = n->in[1];
    size_t row = (size_t)(p->inner * dtype_info[n->out[0]->dtype].bytes);
    const unsigned char *X = in[0];
    unsigned char *Y = out[0];
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t j = 0; j < p->nidx; j++) {
            int64_t v = dtype_get_i64(I->dtype, in[1], j);
            unsigned char *y = Y + (size_t)(o * p->nidx + j) * row;
            if (v < 0)
                v += p->axis_dim;
            if (v < 0 || v >= p->axis_dim)
                memset(y, 0, row);
            else
                memcpy(y, X + (size_t)(o * p->axis_dim + v) * row, row);
        }
    return WR_OK;
}
