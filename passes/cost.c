/*
 * cost.c: the cost model behind `wrpnc info` and the variant reports:
 * multiply-accumulates and parameter counts per node.
 */
#include "passes.h"
#include "opparams.h"
#include "quant.h"

#include <string.h>

/* Gemm / MatMul: each output element is one dot product over K, A's last dim (first
 * under Gemm's transA). */
static int64_t matmul_macs(const Node *n)
{
    const Tensor *a = n->in[0], *y = n->out[0];
    const Attr *ta = ir_attr_find(n, "transA");
    bool gemm = n->op == OP_GEMM, trans = gemm && ta && ta->i;
    if (!a || !y || a->ndim < 1 || y->ndim < 0)
        return 0;
    int64_t K = trans || a->ndim == 1 ? a->dim[0] : a->dim[a->ndim - 1];
    return ir_tensor_numel(y) * K;
}

int64_t cost_node_macs(const Node *n)
{
    if (n->op == OP_CONV) {
        const ConvParams *p = n->priv;
        const Spatial *s = &p->sp;
        return p->N * p->M * s->out[0] * s->out[1] * s->out[2] * (p->C / p->group) * s->k[0] *
               s->k[1] * s->k[2];
    }
    if (n->op == OP_QCONV && n->priv) { /* 2-D: spatial axes 1 and 2 */
        const QConvParams *q = n->priv;
        const Spatial *s = &q->cv.sp;
        return q->cv.N * q->cv.M * s->out[1] * s->out[2] * q->Cg * s->k[1] * s->k[2];
    }
    if (n->op == OP_GEMM || n->op == OP_MATMUL)
        return matmul_macs(n);
    if (n->op == OP_MATMUL_NBITS && n->priv) {
        const MatMulNBitsParams *p = n->priv;
        return p->M * p->N * p->K;
    }
    return 0;
}

int64_t cost_node_params(const Node *n)
{
    int64_t p = 0;
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && n->in[i]->data)
            p += ir_tensor_numel(n->in[i]);
    return p;
}
