/*
 * requantize.c: a model's own quantization, found and stripped. A model that
 * carries quantizers (QONNX, QDQ, WRPN fake-quant arithmetic) is lowered as
 * exported; --wbits, --calibrate and compare's wKaJ would replace that, so the
 * command line refuses them unless --requantize asks to strip the quantizers
 * first (tools/cli_build.c). Runs on the graph as loaded: before ir_infer folds
 * the weight quantizers into constants, so stripping gives back the float weights.
 */
#include "calibrate.h"

/* The Round of WRPN fake-quant arithmetic: Mul -> Round, read by a Div or a Mul. */
static bool fake_round(const Graph *g, const Node *n)
{
    if (n->op != OP_ROUND || !n->in[0] || !n->in[0]->producer ||
        n->in[0]->producer->op != OP_MUL)
        return false;
    for (int i = 0; i < g->nnode; i++) {
        const Node *r = g->node[i];
        if ((r->op == OP_DIV || r->op == OP_MUL) && r->nin > 0 && r->in[0] == n->out[0])
            return true;
    }
    return false;
}

static bool quantizer(const Graph *g, const Node *n)
{
    switch (n->op) {
    case OP_QUANT:
    case OP_INT_QUANT:
    case OP_BIPOLAR_QUANT:
    case OP_TRUNC:
    case OP_QUANTIZE_LINEAR:
    case OP_DEQUANTIZE_LINEAR: return true;
    default: return fake_round(g, n);
    }
}

const Node *quant_first(const Graph *g)
{
    for (int i = 0; i < g->nnode; i++)
        if (quantizer(g, g->node[i]))
            return g->node[i];
    return NULL;
}

/* The float tensor a quantizer's output stands for, or NULL when there is none (a
 * DequantizeLinear of stored integers, a QuantizeLinear read by something else). */
static Tensor *float_source(Node *n)
{
    if (n->op != OP_DEQUANTIZE_LINEAR)
        return n->op == OP_QUANTIZE_LINEAR ? NULL : n->in[0];
    Node *p = n->in[0] ? n->in[0]->producer : NULL;
    if (p && p->op == OP_CLIP && p->in[0])
        p = p->in[0]->producer;
    return p && p->op == OP_QUANTIZE_LINEAR ? p->in[0] : NULL;
}

int quant_strip(Graph *g)
{
    int n = 0;
    for (int i = 0; i < g->nnode; i++) {
        Node *q = g->node[i];
        Tensor *x = quantizer(g, q) ? float_source(q) : NULL;
        if (!x || !q->out[0] || q->out[0]->output_index >= 0)
            continue; /* a graph output keeps its name: its quantizer stays */
        ir_graph_replace_uses(g, q->out[0], x);
        n++;
    }
    ir_graph_remove_dead(g);
    return n;
}
