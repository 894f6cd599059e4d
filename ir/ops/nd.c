/*
 * GatherND and ScatterND: indexing by tuples of k coordinates (last dim of
 * indices, int64); negative coordinates count from the end.
 *   GatherND  data (r dims), indices (..., k), batch_dims b
 *             -> indices.shape[:-1] + data.shape[b+k:], each tuple copying a slice
 *   ScatterND data, indices (..., k), updates (indices.shape[:-1] + data.shape[k:])
 *             -> data with each slice replaced (or reduced: add, mul, max, min)
 * A tuple out of range gives a zero slice (gather) or is skipped (scatter).
 * codegen/kernels/nd.c emits both.
 */
#include "opparams.h"

#include <string.h>

static Status nd_params(Graph *g, Node *n, int64_t b, NdParams **out, Diag *d)
{
    const Tensor *X = n->in[0], *I = n->in[1];
    if (I->dtype != DT_I64 || I->ndim < 1)
        return diag_node(d, WR_EPARSE, n, "indices must be int64 with rank >= 1");
    int64_t k = I->dim[I->ndim - 1];
    if (b < 0 || b >= I->ndim || b + k > X->ndim || k < 1)
        return diag_node(d, WR_ESHAPE, n, "indices tuples of %lld do not fit data of rank %d",
                         (long long)k, X->ndim);
    for (int j = 0; j < b; j++)
        if (I->dim[j] != X->dim[j])
            return diag_node(d, WR_ESHAPE, n, "batch dim %d differs", j);
    NdParams *p = arena_alloc(&g->arena, sizeof *p);
    int64_t xs[IR_MAX_DIMS];
    move_strides(X->ndim, X->dim, xs);
    p->k = k;
    p->batch = ir_shape_numel((int)b, X->dim);
    p->dbatch = b > 0 ? xs[b - 1] : ir_tensor_numel(X);
    p->slice = ir_shape_numel(X->ndim - (int)(b + k), X->dim + b + k);
    p->q = ir_shape_numel(I->ndim - 1 - (int)b, I->dim + b);
    for (int j = 0; j < k; j++) {
        p->stride[j] = xs[b + j];
        p->dim[j] = X->dim[b + j];
    }
    *out = p;
    n->priv = p;
    return WR_OK;
}

/* Data offset of tuple t (k int64 coordinates) in batch bi; -1 if out of range. */
static int64_t nd_offset(const NdParams *p, const int64_t *t, int64_t bi)
{
    int64_t off = bi * p->dbatch;
    for (int j = 0; j < p->k; j++) {
        int64_t v = t[j] + (t[j] < 0 ? p->dim[j] : 0);
        if (v < 0 || v >= p->dim[j])
            return -1;
        off += v * p->stride[j];
    }
    return off;
}

Status op_gathernd_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *I = n->in[1];
    NdParams *p;
    int64_t b = ir_attr_int(n, "batch_dims", 0), dim[IR_MAX_DIMS];
    WR_TRY(nd_params(g, n, b, &p, d));
    int nd = 0;
    for (int j = 0; j < I->ndim - 1; j++)
        dim[nd++] = I->dim[j];
    for (int j = (int)(b + p->k); j < X->ndim; j++) {
        if (nd == IR_MAX_DIMS)
            return diag_node(d, WR_EUNSUPPORTED, n, "output rank above %d", IR_MAX_DIMS);
        dim[nd++] = X->dim[j];
    }
    ir_tensor_set_shape(n->out[0], X->dtype, nd, dim);
    return WR_OK;
}

Status op_gathernd_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const NdParams *p = n->priv;
    size_t es = (size_t)dtype_info[n->out[0]->dtype].bytes, row = (size_t)p->slice * es;
    const int64_t *I = in[1];
    for (int64_t bi = 0, t = 0; bi < p->batch; bi++)
        for (int64_t q = 0; q < p->q; q++, t++) {
            int64_t off = nd_offset(p, I + t * p->k, bi);
            unsigned char *y = (unsigned char *)out[0] + (size_t)t * row;
            if (off < 0)
                memset(y, 0, row);
            else
                memcpy(y, (const unsigned char *)in[0] + (size_t)off * es, row);
        }
    return WR_OK;
}

Status op_scatternd_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *U = n->in[2];
    NdParams *p;
    WR_TRY(nd_params(g, n, 0, &p, d));
    if (U->dtype != X->dtype || ir_tensor_numel(U) != p->q * p->slice)
        return diag_node(d, WR_ESHAPE, n, "updates do not match indices and data");
    static const char *names[] = {"none", "add", "mul", "max", "min"};
    const char *r = ir_attr_str(n, "reduction", "none");
    p->reduction = -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(r, names[i]) == 0)
            p->reduction = i;
    if (p->reduction < 0 || (X->dtype == DT_BOOL && p->reduction > 0))
        return diag_node(d, WR_EUNSUPPORTED, n, "reduction '%s' is not supported here", r);
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    return WR_OK;
}

Status op_scatternd_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const NdParams *p = n->priv;
    DType t = n->out[0]->dtype;
    memcpy(out[0], in[0], (size_t)ir_tensor_bytes(n->out[0]));
    for (int64_t q = 0; q < p->q; q++) {
        int64_t off = nd_offset(p, (const int64_t *)in[1] + q * p->k, 0);
        for (int64_t s = 0; off >= 0 && s < p->slice; s++) {
            double y = dtype_get_f64(t, out[0], off + s);
            double u = dtype_get_f64(t, in[2], q * p->slice + s);
            switch (p->reduction) {
            case 1: y += u; break;
            case 2: y *= u; break;
            case 3: y = u > y ? u : y; break;
            case 4: y = u < y ? u : y; break;
            default: y = u; break;
            }
            dtype_set_f64(t, out[0], off + s, y);
        }
    }
    return WR_OK;
}
