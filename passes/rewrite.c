/*
 * rewrite.c: what graph-rewriting passes share. A Rewrite collects, per node of
 * the graph as it was, new nodes to put before it and whether it goes; finishing
 * puts every node in place in one sweep (linear in the graph), re-infers the new
 * nodes in order through ir_infer_node and drops what nobody reads any more.
 */
#include "rewrite.h"

#include <stdlib.h>
#include <string.h>

void rw_init(Rewrite *r, Graph *g)
{
    size_t n = (size_t)g->nnode + 1;
    r->g = g;
    r->n0 = g->nnode;
    r->before = calloc(n, sizeof *r->before);
    r->nbefore = calloc(n, sizeof *r->nbefore);
    r->drop = calloc(n, sizeof *r->drop);
    WR_ASSERT(r->before && r->nbefore && r->drop);
}

Node *rw_node(Rewrite *r, Node *at, int op, const char *suffix, int nin, int nout)
{
    Graph *g = r->g;
    Node *n = ir_node_new(g, op, arena_printf(&g->arena, "%s_%s", at->name, suffix), nin, nout);
    n->domain = op_info[op].domain;
    n->opset = op_info[op].domain[0] ? 1 : g->opset;
    int k = at->id;
    WR_ASSERT(k >= 0 && k < r->n0);
    r->before[k] = realloc(r->before[k], sizeof(Node *) * (size_t)(r->nbefore[k] + 1));
    WR_ASSERT(r->before[k]);
    r->before[k][r->nbefore[k]++] = n;
    return n;
}

Node *rw_clone(Rewrite *r, Node *at, const Node *src, const char *suffix)
{
    Node *n = rw_node(r, at, src->op, suffix, src->nin, src->nout);
    memcpy(n->in, src->in, sizeof(Tensor *) * (size_t)src->nin);
    n->attr = src->attr; /* attribute setters copy before they write */
    n->nattr = src->nattr;
    n->opset = src->opset;
    n->domain = src->domain;
    return n;
}

void rw_drop(Rewrite *r, const Node *n)
{
    WR_ASSERT(n->id >= 0 && n->id < r->n0);
    r->drop[n->id] = true;
}

bool rw_dropped(const Rewrite *r, const Node *n)
{
    return n->id >= 0 && n->id < r->n0 && r->drop[n->id];
}

Tensor *rw_fresh(Rewrite *r, const Node *at, const char *suffix)
{
    return ir_tensor_fresh(r->g, arena_printf(&r->g->arena, "%s_%s", at->name, suffix));
}

Tensor *rw_const(Rewrite *r, const char *hint, DType dt, int ndim, const int64_t *dim,
                 const void *data)
{
    return pass_const(r->g, hint, dt, ndim, dim, data);
}

Tensor *pass_const(Graph *g, const char *hint, DType dt, int ndim, const int64_t *dim,
                   const void *data)
{
    Tensor *t = ir_tensor_fresh(g, hint);
    ir_tensor_set_shape(t, dt, ndim, dim);
    memcpy(ir_tensor_alloc_data(g, t), data, (size_t)ir_tensor_bytes(t));
    return t;
}

static void rw_free(Rewrite *r)
{
    for (int i = 0; i < r->n0; i++)
        free(r->before[i]);
    free(r->before);
    free(r->nbefore);
    free(r->drop);
}

Status rw_finish(Rewrite *r, Diag *d)
{
    Graph *g = r->g;
    int total = g->nnode, k = 0;
    Node **old = calloc((size_t)total + 1, sizeof(Node *));
    WR_ASSERT(old);
    if (total > 0)
        memcpy(old, g->node, sizeof(Node *) * (size_t)total);
    for (int i = 0; i < r->n0; i++) {
        for (int j = 0; j < r->nbefore[i]; j++)
            g->node[k++] = r->before[i][j];
        if (!r->drop[i])
            g->node[k++] = old[i];
    }
    g->nnode = k;
    free(old);
    ir_graph_relink(g);
    Status s = WR_OK;
    for (int i = 0; i < r->n0 && s == WR_OK; i++) /* in graph order: inputs first */
        for (int j = 0; j < r->nbefore[i] && s == WR_OK; j++)
            s = ir_infer_node(g, r->before[i][j], d);
    rw_free(r);
    if (s == WR_OK)
        ir_graph_remove_dead(g);
    return s;
}

void rw_abort(Rewrite *r) { rw_free(r); }

Node *pass_sole_reader(const Graph *g, const Tensor *t)
{
    if (t->nuse != 1 || t->output_index >= 0)
        return NULL;
    const Node *p = t->producer;
    for (int j = p ? p->id + 1 : 0; j < g->nnode; j++)
        for (int k = 0; k < g->node[j]->nin; k++)
            if (g->node[j]->in[k] == t)
                return g->node[j];
    return NULL;
}

void pass_remove_node(Graph *g, Node *n)
{
    int i = n->id;
    WR_ASSERT(i >= 0 && i < g->nnode && g->node[i] == n);
    memmove(g->node + i, g->node + i + 1, sizeof(Node *) * (size_t)(g->nnode - i - 1));
    g->nnode--;
    ir_graph_relink(g);
}

bool pass_scalar(const Tensor *t, double *v)
{
    if (!t || !t->data || ir_tensor_numel(t) != 1)
        return false;
    *v = dtype_get_f64(t->dtype, t->data, 0);
    return true;
}
