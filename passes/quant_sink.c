/*
 * quant_sink.c: Dequant moves after the ops that only move or select elements
 * (OPF_CODES: MaxPool, Reshape, Flatten, Squeeze, Unsqueeze, Identity, Transpose,
 * Concat), which then run on the codes: op(Dequant(c)) = Dequant(op(c)). Exact:
 * these ops copy elements, and max commutes with the dequantization, a monotone
 * increasing map of codes (every scale is positive). Afterwards a Conv, Gemm or
 * MatMul whose input is quantized reads a Dequant directly, whatever pooling or
 * flattening the model put between the quantizer and the layer.
 * Runs to a fixed point (one sweep per op of a chain).
 */
#include "rewrite.h"

/* Whether n reads every data input from a Dequant; codes[i]: what those read. */
static bool dequant_inputs(const Node *n, Tensor **codes)
{
    int ndata = n->op == OP_CONCAT ? n->nin : 1;
    if (ndata > 64 || !(op_info[n->op].flags & OPF_CODES))
        return false;
    for (int i = 0; i < ndata; i++) {
        const Node *p = n->in[i] ? n->in[i]->producer : NULL;
        if (!p || p->op != OP_DEQUANT)
            return false;
        codes[i] = p->in[0];
    }
    for (int i = ndata; i < n->nin; i++)
        codes[i] = n->in[i];
    return ir_codes_through(n, codes);
}

static bool sink_once(Rewrite *r)
{
    bool changed = false;
    for (int i = 0; i < r->n0; i++) {
        Node *n = r->g->node[i];
        Tensor *codes[64];
        if (!dequant_inputs(n, codes))
            continue;
        Node *c = rw_clone(r, n, n, "codes");
        for (int k = 0; k < n->nin; k++)
            c->in[k] = codes[k];
        c->nout = 1;
        c->out[0] = rw_fresh(r, n, "codes");
        Node *dq = rw_node(r, n, OP_DEQUANT, "dequant", 1, 1);
        dq->in[0] = c->out[0];
        dq->out[0] = n->out[0];
        rw_drop(r, n);
        changed = true;
    }
    return changed;
}

Status pass_quant_sink(Graph *g, const PassOptions *opt, Diag *d)
{
    (void)opt;
    for (bool more = true; more;) {
        Rewrite r;
        rw_init(&r, g);
        more = sink_once(&r);
        WR_TRY(rw_finish(&r, d));
    }
    return WR_OK;
}
