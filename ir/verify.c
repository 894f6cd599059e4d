/*
 * verify.c: structural invariants checked between passes: every node input is
 * defined before use (a constant, a graph input or an earlier node's output),
 * use counts are current, shapes are known and sizes do not overflow, packed
 * tensors are codes stored as their layout says, and every QConv reads codes of
 * the type, layout and groups its kernel family and widths claim.
 */
#include "opparams.h"
#include "quant.h"

#include <stdlib.h>

static Status check_node(const Node *n, const bool *defined, Diag *d)
{
    for (int j = 0; j < n->nin; j++) {
        const Tensor *t = n->in[j];
        if (t && !defined[t->id])
            return diag_node(d, WR_EVERIFY, n, "input '%s' is used before it is defined",
                             t->name);
    }
    for (int j = 0; j < n->nout; j++) {
        const Tensor *t = n->out[j];
        if (!t)
            continue;
        if (t->producer != n)
            return diag_node(d, WR_EVERIFY, n, "output '%s' has another producer", t->name);
        if (t->ndim < 0 || ir_tensor_numel(t) < 0)
            return diag_node(d, WR_EVERIFY, n, "output '%s' has no valid shape", t->name);
        if (t->layout != LAYOUT_DENSE &&
            (!t->q || t->ndim < 2 || t->group < 1 || t->dim[1] % t->group ||
             t->dtype != layout_dtype(t->layout, t->q)))
            return diag_node(d, WR_EVERIFY, n, "output '%s' is stored %s but is not codes of "
                             "that layout", t->name, layout_info[t->layout].name);
    }
    return n->op == OP_QCONV ? quant_qconv_check(n, d) : WR_OK;
}

static Status check_uses(const Graph *g, Diag *d)
{
    int *uses = calloc((size_t)g->ntensor + 1, sizeof *uses);
    if (!uses)
        wr_die(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < g->nnode; i++)
        for (int j = 0; j < g->node[i]->nin; j++)
            if (g->node[i]->in[j])
                uses[g->node[i]->in[j]->id]++;
    Status s = WR_OK;
    for (int i = 0; i < g->ntensor && s == WR_OK; i++)
        if (uses[i] != g->tensor[i]->nuse)
            s = diag_error(d, WR_EVERIFY, "tensor '%s': use count %d, counted %d",
                           g->tensor[i]->name, g->tensor[i]->nuse, uses[i]);
    free(uses);
    return s;
}

Status ir_verify(const Graph *g, Diag *d)
{
    bool *defined = calloc((size_t)g->ntensor + 1, sizeof *defined);
    if (!defined)
        wr_die(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < g->ntensor; i++)
        defined[i] = g->tensor[i]->data != NULL || g->tensor[i]->input_index >= 0;
    Status s = WR_OK;
    for (int i = 0; i < g->nnode && s == WR_OK; i++) {
        s = check_node(g->node[i], defined, d);
        for (int j = 0; j < g->node[i]->nout; j++)
            if (g->node[i]->out[j])
                defined[g->node[i]->out[j]->id] = true;
    }
    for (int i = 0; i < g->noutput && s == WR_OK; i++)
        if (!defined[g->output[i]->id])
            s = diag_error(d, WR_EVERIFY, "graph output '%s' is never computed",
                           g->output[i]->name);
    free(defined);
    return s == WR_OK ? check_uses(g, d) : s;
}
