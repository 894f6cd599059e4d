/*
 * Trilu: keeps the upper (upper = 1, default) or lower triangle of the last
 * two dims, zeroing the rest.
 *   input (..., N, M), k (optional constant int64 scalar, default 0) -> same shape
 * Element (i, j) is kept when j - i >= k (upper) or j - i <= k (lower).
 * codegen/kernels/trilu.c emits the loops.
 */
#include "opparams.h"

#include <string.h>

Status op_trilu_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    if (X->ndim < 2)
        return diag_node(d, WR_ESHAPE, n, "input must have rank >= 2");
    TriluParams *p = arena_alloc(&g->arena, sizeof *p);
    p->upper = ir_attr_int(n, "upper", 1) != 0;
    if (n->nin > 1 && n->in[1]) {
        const void *k;
        WR_TRY(ir_const_input(n, 1, &k, d));
        if (ir_tensor_numel(n->in[1]) != 1 || n->in[1]->dtype != DT_I64)
            return diag_node(d, WR_EPARSE, n, "k must be an int64 scalar");
        p->k = *(const int64_t *)k;
    }
    p->N = X->dim[X->ndim - 2];
    p->M = X->dim[X->ndim - 1];
    p->batch = p->N * p->M != 0 ? ir_tensor_numel(X) / (p->N * p->M) : 0;
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    n->priv = p;
    return WR_OK;
}

Status op_trilu_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const TriluParams *p = n->priv;
    size_t es = (size_t)dtype_info[n->out[0]->dtype].bytes;
    const unsigned char *X = in[0];
    unsigned char *Y = out[0];
    for (int64_t b = 0, e = 0; b < p->batch; b++)
        for (int64_t i = 0; i < p->N; i++)
            for (int64_t j = 0; j < p->M; j++, e++) {
                bool keep = p->upper ? j - i >= p->k : j - i <= p->k;
                if (keep)
                    memcpy(Y + (size_t)e * es, X + (size_t)e * es, es);
                else
                    memset(Y + (size_t)e * es, 0, es);
            }
    return WR_OK;
}
