/*
 * quant_float.c: an activation quantizer fuses into the float Conv before it, which
 * then writes the codes itself (ir/ops/conv.c, codegen/kernels/conv_codes.c): the
 * network's first layer, kept in float, never writes a float tensor of its output,
 * only a scratch of a few output channels at a time. Conditions: a 2-D Conv with
 * constant weights and one group whose only reader is an ActQuant (the Relu or Clip
 * before it already fused by fuse_act, BatchNormalization folded by fold_bn).
 */
#include "opparams.h"
#include "quant.h"
#include "rewrite.h"

static bool fusable(const Node *c)
{
    const ConvParams *p = c->priv;
    return c->op == OP_CONV && p && !p->qout && p->group == 1 && c->in[0]->ndim == 4 &&
           c->in[1]->data && (c->nin < 3 || !c->in[2] || c->in[2]->data);
}

Status pass_quant_float(Graph *g, const PassOptions *opt, Diag *d)
{
    (void)opt;
    for (int i = 0; i < g->nnode; i++) {
        Node *c = g->node[i], *q;
        if (!fusable(c) || !(q = pass_sole_reader(g, c->out[0])) || q->op != OP_ACT_QUANT)
            continue;
        quant_spec_write(g, c, "out_", q->priv);
        ir_attr_copy(g, c, q, "out_layout");
        ir_attr_copy(g, c, q, "out_group");
        Tensor *scratch = ir_tensor_fresh(g, arena_printf(&g->arena, "%s_scratch", c->name));
        Tensor **out = arena_alloc(&g->arena, sizeof(Tensor *) * 2);
        out[0] = q->out[0];
        out[1] = scratch;
        c->out = out;
        c->nout = 2;
        pass_remove_node(g, q); /* relinks: c produces both */
        WR_TRY(ir_infer_node(g, c, d));
    }
    return WR_OK;
}
