/*
 * quant_sink.c: Dequant moves after the ops that only move or select elements
 * (OPF_CODES: Reshape, Flatten, Squeeze, Unsqueeze, Identity, Transpose, Concat),
 * which then run on the codes: op(Dequant(c)) = Dequant(op(c)); and pools read codes
 * directly: MaxPool / GlobalMaxPool(Dequant(c)) = Dequant(QPool max(c)), AveragePool /
 * GlobalAveragePool(Dequant(c)) = QPool avg(c); a channel Concat becomes QConcat, which
 * reads and writes packed codes too. Exact: these ops copy elements, max
 * commutes with dequantization (a monotone increasing map: every scale is positive),
 * and QPool avg sums the dequantized values as AveragePool does. Afterwards a Conv,
 * Gemm or MatMul whose input is quantized reads a Dequant directly, whatever pooling
 * or flattening the model put between the quantizer and the layer, and pools read
 * packed codes. Runs to a fixed point (one sweep per op of a chain).
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

/* QPool's mode for a pool op ("max", "avg"), or NULL. */
static const char *pool_mode(const Node *n, bool *global)
{
    *global = n->op == OP_GLOBAL_MAX_POOL || n->op == OP_GLOBAL_AVERAGE_POOL;
    for (int i = 1; i < n->nout; i++) /* MaxPool's Indices */
        if (n->out[i] && (n->out[i]->nuse || n->out[i]->output_index >= 0))
            return NULL;
    if (n->op == OP_MAX_POOL || n->op == OP_GLOBAL_MAX_POOL)
        return "max";
    if (n->op == OP_AVERAGE_POOL || n->op == OP_GLOBAL_AVERAGE_POOL)
        return "avg";
    return NULL;
}

/* A pool of dequantized codes: QPool on the codes (max: then a Dequant). */
static bool sink_pool(Rewrite *r, Node *n)
{
    bool global;
    const char *mode = pool_mode(n, &global);
    const Node *p = n->in[0]->producer;
    if (!mode || !p || p->op != OP_DEQUANT || n->in[0]->ndim < 3)
        return false;
    Node *q = rw_clone(r, n, n, "codes");
    q->op = OP_QPOOL;
    q->domain = op_info[OP_QPOOL].domain;
    q->in[0] = p->in[0];
    q->nout = 1;
    ir_attr_set_str(r->g, q, "mode", mode);
    ir_attr_set_int(r->g, q, "global", global);
    if (*mode == 'a') {
        q->out[0] = n->out[0];
    } else {
        q->out[0] = rw_fresh(r, n, "codes");
        Node *dq = rw_node(r, n, OP_DEQUANT, "dequant", 1, 1);
        dq->in[0] = q->out[0];
        dq->out[0] = n->out[0];
    }
    rw_drop(r, n);
    return true;
}

/* A Concat along the channels of codes with one scale: QConcat reads and writes any
 * layout (per-channel scales stay on a dense Concat, which keeps them apart). */
static bool channel_concat(const Node *n, Tensor *const *codes)
{
    int axis;
    Diag d = {0};
    return n->op == OP_CONCAT && codes[0]->ndim >= 2 && codes[0]->q->nscale == 1 &&
           ir_norm_axis(n, ir_attr_int((Node *)n, "axis", 1), codes[0]->ndim, &axis, &d) ==
               WR_OK &&
           axis == 1;
}

static bool sink_once(Rewrite *r)
{
    bool changed = false;
    for (int i = 0; i < r->n0; i++) {
        Node *n = r->g->node[i];
        Tensor *codes[64];
        if (sink_pool(r, n)) {
            changed = true;
            continue;
        }
        if (!dequant_inputs(n, codes))
            continue;
        Node *c = rw_clone(r, n, n, "codes");
        for (int k = 0; k < n->nin; k++)
            c->in[k] = codes[k];
        if (channel_concat(n, codes)) { /* codes in any layout: QConcat */
            c->op = OP_QCONCAT;
            c->domain = op_info[OP_QCONCAT].domain;
            c->nattr = 0;
        }
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
