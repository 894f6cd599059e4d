/*
 * GatherElements and ScatterElements: element-wise indexing along one axis.
 *   GatherElements  data, indices (same rank, int32/int64) -> output (indices' shape)
 *     output[i..] = data[i.. with i_axis replaced by indices[i..]]
 *   ScatterElements data, indices, updates (indices' shape) -> output (data's shape)
 *     output = data, then output[i.. with i_axis = indices[i..]] (op)= updates[i..]
 *     in index order; reduction none (=), add, mul, max, min
 * Negative indices count from the end. Indices out of range after that read
 * 0 (gather) or are skipped (scatter): generated code never leaves the data.
 * codegen/kernels/elements.c emits both.
 */
#include "opparams.h"

#include <string.h>

static Status elem_check(Graph *g, Node *n, const Tensor *I, Diag *d)
{
    const Tensor *X = n->in[0];
    if (I->dtype != DT_I32 && I->dtype != DT_I64)
        return diag_node(d, WR_EPARSE, n, "indices must be int32 or int64");
    if (I->ndim != X->ndim)
        return diag_node(d, WR_ESHAPE, n, "data and indices differ in rank");
    AxisParams *p = arena_alloc(&g->arena, sizeof *p);
    int axis;
    WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", 0), X->ndim, &axis, d));
    axis_split(p, X->ndim, X->dim, axis);
    n->priv = p;
    return WR_OK;
}

Status op_gatherelements_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *I = n->in[1];
    WR_TRY(elem_check(g, n, I, d));
    ir_tensor_set_shape(n->out[0], n->in[0]->dtype, I->ndim, I->dim);
    return WR_OK;
}

Status op_scatterelements_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *I = n->in[1], *U = n->in[2];
    WR_TRY(elem_check(g, n, I, d));
    if (U->ndim != I->ndim || memcmp(U->dim, I->dim, sizeof(int64_t) * (size_t)I->ndim) != 0 ||
        U->dtype != X->dtype)
        return diag_node(d, WR_ESHAPE, n, "updates must match indices' shape and data's dtype");
    static const char *names[] = {"none", "add", "mul", "max", "min"};
    const char *r = ir_attr_str(n, "reduction", "none");
    AxisParams *p = n->priv;
    p->reduction = -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(r, names[i]) == 0)
            p->reduction = i;
    if (p->reduction < 0)
        return diag_node(d, WR_EPARSE, n, "unknown reduction '%s'", r);
    if (X->dtype == DT_BOOL && p->reduction > 0)
        return diag_node(d, WR_EUNSUPPORTED, n, "reductions on bool are not supported");
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    return WR_OK;
}

/* Offset into data (shape X) of index position e of I, the axis coordinate
 * replaced by the index there; -1 when out of range. */
static int64_t elem_offset(const Tensor *X, const Tensor *I, const void *idx, int axis, int64_t e)
{
    int64_t v = dtype_get_i64(I->dtype, idx, e), off = 0, stride = 1;
    v += v < 0 ? X->dim[axis] : 0;
    if (v < 0 || v >= X->dim[axis])
        return -1;
    for (int k = I->ndim - 1; k >= 0; k--) {
        int64_t c = e % I->dim[k];
        e /= I->dim[k];
        off += (k == axis ? v : c) * stride;
        stride *= X->dim[k];
    }
    return off;
}

Status op_gatherelements_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const AxisParams *p = n->priv;
    size_t es = (size_t)dtype_info[n->out[0]->dtype].bytes;
    for (int64_t e = 0, N = ir_tensor_numel(n->out[0]); e < N; e++) {
        int64_t s = elem_offset(n->in[0], n->in[1], in[1], p->axis, e);
        unsigned char *y = (unsigned char *)out[0] + (size_t)e * es;
        if (s < 0)
            memset(y, 0, es);
        else
            memcpy(y, (const unsigned char *)in[0] + (size_t)s * es, es);
    }
    return WR_OK;
}

Status op_scatterelements_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const AxisParams *p = n->priv;
    DType t = n->out[0]->dtype;
    memcpy(out[0], in[0], (size_t)ir_tensor_bytes(n->out[0]));
    for (int64_t e = 0, N = ir_tensor_numel(n->in[1]); e < N; e++) {
        int64_t s = elem_offset(n->in[0], n->in[1], in[1], p->axis, e);
        if (s < 0)
            continue;
        double y = dtype_get_f64(t, out[0], s), u = dtype_get_f64(t, in[2], e);
        switch (p->reduction) {
        case 1: y += u; break;
        case 2: y *= u; break;
        case 3: y = u > y ? u : y; break;
        case 4: y = u < y ? u : y; break;
        default: y = u; break;
        }
        dtype_set_f64(t, out[0], s, y);
    }
    return WR_OK;
}

/* Scatter (deprecated in opset 11) is ScatterElements without reduction. */
Status op_scatter_infer(Graph *g, Node *n, Diag *d) { return op_scatterelements_infer(g, n, d); }

Status op_scatter_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return op_scatterelements_eval(n, in, out, d);
}
