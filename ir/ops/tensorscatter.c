/*
 * TensorScatter (opset 24): a KV-cache update. present = past_cache with
 * update's rows written along axis at write_indices[b] + s (per batch b;
 * 0 when absent), wrapping around the cache in circular mode. Rows that
 * fall outside the cache in linear mode are dropped. Parameters:
 * ScatterParams (ir/opparams.h); emitter codegen/kernels/tensorscatter.c.
 */
#include "opparams.h"

#include <string.h>

Status op_tensorscatter_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *P = n->in[0], *U = n->in[1], *W = n->nin > 2 ? n->in[2] : NULL;
    if (P->dtype != U->dtype || P->ndim != U->ndim || P->ndim < 2)
        return diag_node(d, WR_ESHAPE, n, "past_cache and update must match in type and rank");
    int axis;
    WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", -2), P->ndim, &axis, d));
    if (axis == 0)
        return diag_node(d, WR_EPARSE, n, "axis must not be the batch axis");
    ScatterParams *p = arena_alloc(&g->arena, sizeof *p);
    p->B = P->dim[0], p->pre = p->inner = 1, p->max = P->dim[axis], p->seq = U->dim[axis];
    for (int i = 0; i < P->ndim; i++) {
        if (i != axis && P->dim[i] != U->dim[i])
            return diag_node(d, WR_ESHAPE, n, "update differs from past_cache in dim %d", i);
        if (i > 0 && i < axis)
            p->pre *= P->dim[i];
        if (i > axis)
            p->inner *= P->dim[i];
    }
    if (p->seq > p->max)
        return diag_node(d, WR_ESHAPE, n, "update is longer than the cache");
    if (W && (W->dtype != DT_I64 || ir_tensor_numel(W) != p->B))
        return diag_node(d, WR_ESHAPE, n, "write_indices must be int64 of shape (batch)");
    const char *mode = ir_attr_str(n, "mode", "linear");
    if (strcmp(mode, "linear") != 0 && strcmp(mode, "circular") != 0)
        return diag_node(d, WR_EPARSE, n, "mode must be linear or circular, not '%s'", mode);
    p->circular = strcmp(mode, "circular") == 0;
    ir_tensor_set_shape(n->out[0], P->dtype, P->ndim, P->dim);
    n->priv = p;
    return WR_OK;
}

Status op_tensorscatter_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const ScatterParams *p = n->priv;
    const int64_t *wi = n->nin > 2 && n->in[2] ? in[2] : NULL;
    size_t row = (size_t)(p->inner * dtype_info[n->out[0]->dtype].bytes);
    memcpy(out[0], in[0], (size_t)ir_tensor_bytes(n->out[0]));
    for (int64_t b = 0; b < p->B; b++)
        for (int64_t q = 0; q < p->pre; q++)
            for (int64_t s = 0; s < p->seq; s++) {
                int64_t t = (wi ? wi[b] : 0) + s;
                if (p->circular)
                    t = ((t % p->max) + p->max) % p->max;
                if (t < 0 || t >= p->max)
                    continue;
                memcpy((char *)out[0] + (size_t)((b * p->pre + q) * p->max + t) * row,
                       (const char *)in[1] + (size_t)((b * p->pre + q) * p->seq + s) * row, row);
            }
    return WR_OK;
}
