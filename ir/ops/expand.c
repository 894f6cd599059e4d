/*
 * Expand and Tile: repeat the input without arithmetic, as one CopyPlan each.
 *   Expand  input, shape (constant int64)   -> broadcast(input.shape, shape);
 *           broadcast dims read with stride 0
 *   Tile    input, repeats (constant int64, one per dim) -> dim[k] * repeats[k];
 *           each dim k becomes two plan dims (repeat, dim) with strides (0, stride)
 * codegen/kernels/expand.c emits them.
 */
#include "opparams.h"

#include <string.h>

/* Constant 1-D int64 input i into *v, *count. */
static Status i64_input(const Node *n, int i, const int64_t **v, int *count, Diag *d)
{
    const void *data;
    WR_TRY(ir_const_input(n, i, &data, d));
    const Tensor *t = n->in[i];
    if (t->dtype != DT_I64 || t->ndim != 1)
        return diag_node(d, WR_EPARSE, n, "input %d ('%s') must be a 1-D int64 tensor", i,
                         t->name);
    *v = data;
    *count = (int)t->dim[0];
    return WR_OK;
}

Status op_expand_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    const int64_t *s;
    int ns, nd;
    WR_TRY(i64_input(n, 1, &s, &ns, d));
    if (ns > IR_MAX_DIMS)
        return diag_node(d, WR_EUNSUPPORTED, n, "rank %d is above %d", ns, IR_MAX_DIMS);
    int64_t dim[IR_MAX_DIMS], xs[IR_MAX_DIMS];
    WR_TRY(ir_broadcast_shape(n, X->ndim, X->dim, ns, s, &nd, dim, d));
    WR_TRY(ir_check_out_shape(n, nd, dim, d));
    ir_tensor_set_shape(n->out[0], X->dtype, nd, dim);
    MoveParams *p = move_params_new(g, n, 1);
    CopyPlan *c = &p->plan[0];
    move_plan_dense(c, 0, 0, nd, dim);
    move_strides(X->ndim, X->dim, xs);
    for (int k = 0; k < nd; k++) {
        int kx = k - (nd - X->ndim);
        c->sstride[k] = kx < 0 || X->dim[kx] == 1 ? 0 : xs[kx];
    }
    move_plan_simplify(c);
    return WR_OK;
}

Status op_expand_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}

Status op_tile_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    if (n->opset < 6)
        return diag_node(d, WR_EUNSUPPORTED, n, "Tile before opset 6 is not supported");
    const int64_t *r;
    int nr;
    WR_TRY(i64_input(n, 1, &r, &nr, d));
    if (nr != X->ndim)
        return diag_node(d, WR_ESHAPE, n, "repeats has %d entries for rank %d", nr, X->ndim);
    int64_t dim[IR_MAX_DIMS], xs[IR_MAX_DIMS], ys[IR_MAX_DIMS];
    for (int k = 0; k < X->ndim; k++) {
        if (r[k] < 0)
            return diag_node(d, WR_ESHAPE, n, "repeats[%d] is negative", k);
        if (X->dim[k] && r[k] > IR_MAX_NUMEL / X->dim[k])
            return diag_node(d, WR_ESHAPE, n, "output is too large (repeats[%d] = %lld)", k,
                             (long long)r[k]);
        dim[k] = X->dim[k] * r[k];
    }
    WR_TRY(ir_check_out_shape(n, X->ndim, dim, d));
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, dim);
    MoveParams *p = move_params_new(g, n, 1);
    CopyPlan *c = &p->plan[0];
    memset(c, 0, sizeof *c);
    move_strides(X->ndim, X->dim, xs);
    move_strides(X->ndim, dim, ys);
    c->ndim = 2 * X->ndim;
    for (int64_t k = 0; k < X->ndim; k++) { /* int64_t: 2 * k indexes */
        c->count[2 * k] = r[k];
        c->sstride[2 * k] = 0;
        c->dstride[2 * k] = X->dim[k] * ys[k];
        c->count[2 * k + 1] = X->dim[k];
        c->sstride[2 * k + 1] = xs[k];
        c->dstride[2 * k + 1] = ys[k];
    }
    move_plan_simplify(c);
    return WR_OK;
}

Status op_tile_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}
