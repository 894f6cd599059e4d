/*
 * Concat and Split along one axis; both are CopyPlans (one per input of
 * Concat, one per output of Split) of contiguous blocks.
 *   Concat  inputs... (same dims except axis)  -> concat_result
 *   Split   input, split (attribute < 13, constant input >= 13; else equal
 *           parts, num_outputs from 18: the last part may be smaller) -> outputs...
 * codegen/kernels/concat.c emits them.
 */
#include "opparams.h"

#include <string.h>

Status op_concat_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    if (!ir_attr_find(n, "axis") && n->opset >= 4)
        return diag_node(d, WR_EPARSE, n, "attribute 'axis' is required");
    int axis;
    WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", 1), X->ndim, &axis, d));
    int64_t dim[IR_MAX_DIMS];
    memcpy(dim, X->dim, sizeof dim);
    dim[axis] = 0;
    for (int i = 0; i < n->nin; i++) {
        const Tensor *t = n->in[i];
        if (!t || t->ndim != X->ndim || t->dtype != X->dtype)
            return diag_node(d, WR_ESHAPE, n, "input %d differs in rank or dtype", i);
        for (int k = 0; k < X->ndim; k++)
            if (k != axis && t->dim[k] != X->dim[k])
                return diag_node(d, WR_ESHAPE, n, "input %d has dim %d = %lld, expected %lld",
                                 i, k, (long long)t->dim[k], (long long)X->dim[k]);
        dim[axis] += t->dim[axis];
    }
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, dim);
    MoveParams *p = move_params_new(g, n, n->nin);
    int64_t ys[IR_MAX_DIMS], off = 0;
    move_strides(X->ndim, dim, ys);
    for (int i = 0; i < n->nin; i++) {
        CopyPlan *c = &p->plan[i];
        move_plan_dense(c, i, 0, X->ndim, n->in[i]->dim);
        memcpy(c->dstride, ys, sizeof ys);
        c->doff = off * ys[axis];
        off += n->in[i]->dim[axis];
        move_plan_simplify(c);
    }
    return WR_OK;
}

Status op_concat_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}

/* Equal parts of ceil(len / nout) (opset 18: the last may be smaller). */
static Status equal_parts(Node *n, int64_t len, int64_t *size, Diag *d)
{
    int64_t num = ir_attr_int(n, "num_outputs", n->nout), total = 0;
    if (num != n->nout)
        return diag_node(d, WR_ESHAPE, n, "num_outputs is %lld for %d outputs", (long long)num,
                         n->nout);
    int64_t part = n->opset >= 18 ? (len + num - 1) / num : len / num;
    if (n->opset < 18 && len % num)
        return diag_node(d, WR_ESHAPE, n, "axis of %lld does not split in %lld equal parts",
                         (long long)len, (long long)num);
    for (int i = 0; i < n->nout; i++) {
        size[i] = total + part <= len ? part : len - total;
        total += size[i];
    }
    return WR_OK;
}

/* The sizes of Split's parts along an axis of length len. */
static Status split_sizes(Node *n, int64_t len, int64_t *size, Diag *d)
{
    const int64_t *s = NULL;
    int ns = -1;
    if (n->opset < 13)
        ns = ir_attr_ints(n, "split", &s);
    else if (n->nin > 1 && n->in[1]) {
        const void *data;
        WR_TRY(ir_const_input(n, 1, &data, d));
        if (n->in[1]->dtype != DT_I64)
            return diag_node(d, WR_EPARSE, n, "split must be int64");
        s = data;
        ns = (int)ir_tensor_numel(n->in[1]);
    }
    if (ns < 0)
        return equal_parts(n, len, size, d);
    if (ns != n->nout)
        return diag_node(d, WR_ESHAPE, n, "split has %d entries for %d outputs", ns, n->nout);
    int64_t total = 0;
    for (int i = 0; i < ns; i++) {
        if (s[i] < 0)
            return diag_node(d, WR_ESHAPE, n, "split[%d] is negative", i);
        size[i] = s[i];
        total += s[i];
    }
    if (total != len)
        return diag_node(d, WR_ESHAPE, n, "split sums to %lld, the axis has %lld",
                         (long long)total, (long long)len);
    return WR_OK;
}

Status op_split_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    int axis;
    WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", 0), X->ndim, &axis, d));
    int64_t size[64] = {0}, xs[IR_MAX_DIMS], dim[IR_MAX_DIMS], off = 0;
    if (n->nout > 64)
        return diag_node(d, WR_EUNSUPPORTED, n, "more than 64 outputs");
    WR_TRY(split_sizes(n, X->dim[axis], size, d));
    MoveParams *p = move_params_new(g, n, n->nout);
    move_strides(X->ndim, X->dim, xs);
    memcpy(dim, X->dim, sizeof dim);
    for (int i = 0; i < n->nout; i++) {
        dim[axis] = size[i];
        CopyPlan *c = &p->plan[i];
        move_plan_dense(c, 0, i, X->ndim, dim);
        memcpy(c->sstride, xs, sizeof xs);
        c->soff = off * xs[axis];
        off += size[i];
        move_plan_simplify(c);
        if (n->out[i])
            ir_tensor_set_shape(n->out[i], X->dtype, X->ndim, dim);
    }
    return WR_OK;
}

Status op_split_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}
