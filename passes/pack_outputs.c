/*
 * pack_outputs.c: codes are written in the layout their readers want, or the
 * smallest one.
 *
 * quantize.c puts a PackAct in front of every QConv: the layout (layouts.def) and
 * channel groups its kernel family reads. A node that writes codes (ActQuant, a Conv
 * or QConv ending in a quantizer, a QPool, a PackAct) can write any layout itself
 * (through the layout table), and so can a QConcat, so:
 *   - when PackActs read its codes, it writes the first one's layout and group, and
 *     every PackAct wanting exactly that goes (no uint8 code tensor, no repacking);
 *     PackActs that want another layout stay and repack from the packed tensor;
 *   - when all its readers read any layout (Dequant, QPool, QConcat, a QConv's residual
 *     operand), it writes the layout that takes the fewest bytes;
 *   - a reader that needs the codes as they are (a graph output, a QConv's main input,
 *     an op on dense codes) keeps them dense.
 * Nodes are visited from the last back, so a QPool's output layout is settled before
 * its input's. Off with --no-pack.
 */
#include "opparams.h"
#include "quant.h"
#include "rewrite.h"

#include <stdlib.h>

/* The attributes naming the layout and group n writes, or NULL: n cannot choose. */
static const char *layout_attr(const Node *n, const char **group)
{
    if (n->op == OP_PACK_ACT)
        return *group = "group", "layout";
    if (n->op == OP_ACT_QUANT ||
        ((n->op == OP_QCONV || n->op == OP_QPOOL || n->op == OP_QCONCAT || n->op == OP_CONV) &&
         n->out[0]->q))
        return *group = "out_group", "out_layout";
    return NULL;
}

/* How node r reads t: 1 in any layout, 2 a PackAct (wants its own layout), 0 only as t
 * is now. */
static int reads(const Node *r, const Tensor *t)
{
    if (r->op == OP_PACK_ACT)
        return 2;
    if (r->op == OP_DEQUANT || r->op == OP_QPOOL || r->op == OP_QCONCAT)
        return 1;
    for (int k = 0; r->op == OP_QCONV && k < r->nin; k++)
        if (r->in[k] == t && k != 5)
            return 0;
    return r->op == OP_QCONV;
}

/* Every reader of t (into readers) can read it packed: true, and the first PackAct
 * among them (or NULL). */
static bool readers_of(const Graph *g, const Tensor *t, Node **readers, int *nr, Node **first)
{
    *nr = 0;
    *first = NULL;
    if (t->output_index >= 0 || t->layout != LAYOUT_DENSE || t->nuse == 0)
        return false;
    for (int j = t->producer->id + 1; j < g->nnode; j++)
        for (int k = 0; k < g->node[j]->nin; k++) {
            Node *r = g->node[j];
            if (r->in[k] != t)
                continue;
            int how = reads(r, t);
            if (!how)
                return false;
            if (how == 2 && !*first)
                *first = r;
            readers[(*nr)++] = r;
            break;
        }
    return true;
}

/* The layout (group 1) of t that takes the fewest bytes. */
static Layout smallest(Tensor *t)
{
    Tensor probe = *t;
    Layout best = LAYOUT_DENSE;
    int64_t bytes = ir_tensor_bytes(t);
    for (int l = 0; l < LAYOUT_COUNT; l++) {
        probe.layout = (Layout)l;
        probe.group = 1;
        if (probe.ndim >= 2 && ir_tensor_bytes(&probe) < bytes)
            bytes = ir_tensor_bytes(&probe), best = (Layout)l;
    }
    return best;
}

/* n writes layout l with group G; the PackActs reading exactly that go. */
static Status write_layout(Graph *g, Node *n, Layout l, int64_t G, Node **readers, int nr,
                           Diag *d)
{
    const char *ga = NULL, *la = layout_attr(n, &ga);
    const Tensor *t = n->out[0];
    ir_attr_set_str(g, n, la, layout_info[l].name);
    ir_attr_set_int(g, n, ga, G);
    WR_TRY(ir_infer_node(g, n, d));
    for (int i = 0; i < nr; i++) {
        Node *r = readers[i];
        const Tensor *ry = r->out[0];
        if (r->op == OP_PACK_ACT && ry->layout == t->layout && ry->group == t->group)
            ir_graph_replace_uses(g, r->out[0], n->out[0]);
        else
            WR_TRY(ir_infer_node(g, r, d));
    }
    return WR_OK;
}

static Status place(Graph *g, Node *n, Node **readers, Diag *d)
{
    const char *ga = NULL;
    Node *first;
    int nr;
    if (n->nout < 1 || !n->out[0] || !n->out[0]->q || !layout_attr(n, &ga) ||
        !readers_of(g, n->out[0], readers, &nr, &first))
        return WR_OK;
    if (first)
        return write_layout(g, n, first->out[0]->layout, first->out[0]->group, readers, nr, d);
    Layout l = smallest(n->out[0]);
    return l == LAYOUT_DENSE ? WR_OK : write_layout(g, n, l, 1, readers, nr, d);
}

Status pass_pack_outputs(Graph *g, const PassOptions *opt, Diag *d)
{
    if (opt && opt->no_pack)
        return WR_OK;
    Node **readers = malloc(sizeof(Node *) * ((size_t)g->nnode + 1));
    WR_ASSERT(readers);
    Status s = WR_OK;
    for (int i = g->nnode - 1; i >= 0 && s == WR_OK; i--) /* readers first */
        s = place(g, g->node[i], readers, d);
    free(readers);
    if (s == WR_OK)
        ir_graph_remove_dead(g); /* the PackActs nobody reads now */
    return s;
}
