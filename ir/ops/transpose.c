/*
 * Transpose: Y = X with dims permuted, Y.dim[k] = X.dim[perm[k]] (perm
 * defaults to reversing the dims). One CopyPlan over Y's dims with X's
 * permuted strides; codegen/kernels/transpose.c emits it.
 */
#include "opparams.h"

#include <string.h>

Status op_transpose_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    const int64_t *perm;
    int np = ir_attr_ints(n, "perm", &perm);
    int64_t def[IR_MAX_DIMS], dim[IR_MAX_DIMS], xs[IR_MAX_DIMS];
    if (np < 0) {
        for (int k = 0; k < X->ndim; k++)
            def[k] = X->ndim - 1 - k;
        perm = def;
        np = X->ndim;
    }
    if (np != X->ndim)
        return diag_node(d, WR_ESHAPE, n, "perm has %d entries for rank %d", np, X->ndim);
    bool seen[IR_MAX_DIMS] = {0};
    for (int k = 0; k < np; k++) {
        if (perm[k] < 0 || perm[k] >= np || seen[perm[k]])
            return diag_node(d, WR_ESHAPE, n, "perm is not a permutation of 0..%d", np - 1);
        seen[perm[k]] = true;
        dim[k] = X->dim[perm[k]];
    }
    ir_tensor_set_shape(n->out[0], X->dtype, np, dim);
    MoveParams *p = move_params_new(g, n, 1);
    CopyPlan *c = &p->plan[0];
    move_plan_dense(c, 0, 0, np, dim);
    move_strides(X->ndim, X->dim, xs);
    for (int k = 0; k < np; k++)
        c->sstride[k] = xs[perm[k]];
    move_plan_simplify(c);
    return WR_OK;
}

Status op_transpose_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}
