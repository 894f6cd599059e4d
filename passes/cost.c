/*
 * cost.c: the cost model behind `wrpnc info` and the variant reports:
 * multiply-accumulates and parameter counts per node.
 */
#include "passes.h"
#include "opparams.h"

int64_t cost_node_macs(const Node *n)
{
    if (n->op == OP_CONV) {
        const ConvParams *p = n->priv;
        const Spatial *s = &p->sp;
        return p->N * p->M * s->out[0] * s->out[1] * s->out[2] * (p->C / p->group) * s->k[0] *
               s->k[1] * s->k[2];
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
