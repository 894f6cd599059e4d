/*
 * pack_outputs.c: activations stay packed between consecutive quantized convs.
 *
 * After quantize, a QConv with a folded quantizer (out_bits) and an ActQuant (the
 * quantizer of a float tensor: the network input side, the sum of a residual add, a
 * concat) write uint8 NCHW codes that PackAct nodes repack (bit planes or per-group
 * NHWC bytes) for the next QConvs. When every reader of those codes is a PackAct of
 * the same bits, layout and group, the producer writes that packed tensor itself
 * (attributes out_layout, out_group) and the PackActs go: no uint8 code tensor, no
 * repacking. Readers that disagree, or any other reader (a graph output), keep the
 * uint8 codes. Float tensors stay float: QConv outputs read by Add / Concat, and the
 * values (codes / N) an ActQuant passes to a residual add.
 */
#include "opparams.h"
#include "passes.h"
#include "quant.h"

#include <stdlib.h>
#include <string.h>

static void attr_set(Graph *g, Node *n, const char *name, AttrType t, int64_t i, const char *s)
{
    Attr *a = arena_alloc(&g->arena, sizeof *a * (size_t)(n->nattr + 1));
    if (n->nattr)
        memcpy(a, n->attr, sizeof *a * (size_t)n->nattr);
    n->attr = a;
    a += n->nattr++;
    memset(a, 0, sizeof *a);
    a->name = arena_strdup(&g->arena, name);
    a->type = t;
    if (t == ATTR_STRING)
        a->s = arena_strdup(&g->arena, s);
    else
        a->i = i;
}

/* The PackAct readers of t (after node i) when all of them agree with each other and
 * with bits; their count, or 0 when t must stay uint8 codes. */
static int pack_readers(Graph *g, const Tensor *t, int i, int bits, Node **out)
{
    int n = 0;
    if (t->output_index >= 0 || t->nuse < 1)
        return 0;
    for (int j = i + 1; j < g->nnode; j++) {
        Node *r = g->node[j];
        bool reads = false;
        for (int k = 0; k < r->nin; k++)
            reads |= r->in[k] == t;
        if (!reads)
            continue;
        const PackActParams *p = r->priv, *p0 = n ? out[0]->priv : NULL;
        if (r->op != OP_PACK_ACT || !p || p->bits != bits ||
            (p0 && (p->kind != p0->kind || p->G != p0->G)))
            return 0;
        out[n++] = r;
    }
    return n == t->nuse ? n : 0;
}

/* Bits of the uint8 codes node n writes as out[0] (a QConv with a folded quantizer,
 * an ActQuant), or 0. */
static int codes_bits(const Node *n)
{
    if (ir_attr_find(n, "out_layout"))
        return 0; /* packed already */
    if (n->op == OP_QCONV) {
        const QConvParams *p = n->priv;
        return p ? p->out_bits : 0;
    }
    if (n->op == OP_ACT_QUANT && n->in[0]->ndim == 4)
        return (int)ir_attr_int((Node *)n, "bits", 0);
    return 0;
}

static const char *layout_name(QKernel k)
{
    switch (k) {
    case QK_BITSERIAL: return "bitserial";
    case QK_INT8: return "int8";
    case QK_XNOR: return "xnor";
    }
    return "bitserial";
}

/* Node n (QConv or ActQuant) takes over the packing of readers r[0..nr): writes r[0]'s output. */
static Status take_over(Graph *g, Node *n, Node **r, int nr, bool *drop, Diag *d)
{
    const PackActParams *p = r[0]->priv;
    attr_set(g, n, "out_layout", ATTR_STRING, 0, layout_name(p->kind));
    attr_set(g, n, "out_group", ATTR_INT, p->G, NULL);
    n->out[0] = r[0]->out[0];
    for (int k = 0; k < nr; k++) {
        if (k > 0) /* same packing twice: readers share the first copy */
            ir_graph_replace_uses(g, r[k]->out[0], r[0]->out[0]);
        drop[r[k]->id] = true;
    }
    return op_info[n->op].infer(g, n, d);
}

static void remove_dropped(Graph *g, const bool *drop)
{
    int k = 0;
    for (int i = 0; i < g->nnode; i++)
        if (!drop[i])
            g->node[k++] = g->node[i];
    g->nnode = k;
    ir_graph_relink(g);
}

Status pass_pack_outputs(Graph *g, const PassOptions *opt, Diag *d)
{
    if (opt && opt->no_pack)
        return WR_OK;
    bool *drop = calloc((size_t)g->nnode + 1, sizeof *drop);
    Node **r = calloc((size_t)g->nnode + 1, sizeof(Node *));
    WR_ASSERT(drop && r);
    Status s = WR_OK;
    for (int i = 0; i < g->nnode && s == WR_OK; i++) {
        Node *n = g->node[i];
        int bits = codes_bits(n);
        if (!bits || drop[i])
            continue;
        int nr = pack_readers(g, n->out[0], i, bits, r);
        if (nr > 0)
            s = take_over(g, n, r, nr, drop, d);
    }
    remove_dropped(g, drop);
    free(drop);
    free(r);
    return s;
}
