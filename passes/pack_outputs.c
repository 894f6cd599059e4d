/*
 * pack_outputs.c: codes are written in the layout their readers want.
 *
 * quantize.c puts a PackAct in front of every QConv: the layout (layouts.def) and
 * channel groups its kernel family reads. A node that writes codes (ActQuant, a
 * QConv ending in a quantizer, a PackAct) can write any layout itself (through the
 * layout table), so when the PackActs among its readers want one layout and group,
 * it writes that one and those PackActs go: no uint8 code tensor, no repacking.
 * Readers that read any layout (Dequant, a QConv's residual operand) do not stand in
 * the way; PackActs that want another layout stay and repack from the packed
 * tensor; a reader that needs dense codes (a graph output, an op on dense codes)
 * keeps the whole tensor dense. Off with --no-pack.
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
    if (n->op == OP_ACT_QUANT || (n->op == OP_QCONV && n->out[0]->q))
        return *group = "out_group", "out_layout";
    return NULL;
}

/* How node r reads t: 1 in any layout, 2 a PackAct (wants its own layout), 0 only as t
 * is now (a QConv's main input, an op on dense codes, anything else). */
static int reads(const Node *r, const Tensor *t)
{
    if (r->op == OP_PACK_ACT)
        return 2;
    if (r->op == OP_DEQUANT)
        return 1;
    for (int k = 0; r->op == OP_QCONV && k < r->nin; k++)
        if (r->in[k] == t && k != 5)
            return 0;
    return r->op == OP_QCONV;
}

/* The first PackAct reading t when every reader can read a packed t, else NULL. */
static Node *first_packer(const Graph *g, const Tensor *t, Node **readers, int *nr)
{
    Node *first = NULL;
    *nr = 0;
    if (t->output_index >= 0 || t->layout != LAYOUT_DENSE)
        return NULL;
    for (int j = t->producer->id + 1; j < g->nnode; j++)
        for (int k = 0; k < g->node[j]->nin; k++) {
            Node *r = g->node[j];
            if (r->in[k] != t)
                continue;
            int how = reads(r, t);
            if (!how)
                return NULL;
            if (how == 2 && !first)
                first = r;
            readers[(*nr)++] = r;
            break;
        }
    return first;
}

/* n writes p's layout; the PackActs wanting exactly that go. */
static Status take_over(Graph *g, Node *n, Node *p, Node **readers, int nr, Diag *d)
{
    const char *ga, *la = layout_attr(n, &ga);
    const Tensor *y = p->out[0], *t = n->out[0];
    ir_attr_set_str(g, n, la, layout_info[y->layout].name);
    ir_attr_set_int(g, n, ga, y->group);
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

Status pass_pack_outputs(Graph *g, const PassOptions *opt, Diag *d)
{
    if (opt && opt->no_pack)
        return WR_OK;
    Node **readers = malloc(sizeof(Node *) * ((size_t)g->nnode + 1));
    WR_ASSERT(readers);
    Status s = WR_OK;
    for (int i = 0; i < g->nnode && s == WR_OK; i++) {
        Node *n = g->node[i], *p;
        const char *ga;
        int nr;
        if (n->nout < 1 || !n->out[0] || !n->out[0]->q || !layout_attr(n, &ga))
            continue;
        if ((p = first_packer(g, n->out[0], readers, &nr)))
            s = take_over(g, n, p, readers, nr, d);
    }
    free(readers);
    if (s == WR_OK)
        ir_graph_remove_dead(g); /* the PackActs nobody reads now */
    return s;
}
