/*
 * remove_noop.c: removes nodes that forward their first input unchanged:
 * Identity, inference-mode Dropout whose mask nobody reads, Reshape / Flatten /
 * Squeeze / Unsqueeze / Expand to the same shape, Cast to the same type,
 * Transpose by the identity permutation, Concat of one input.
 * Graph output names are part of the generated API: when the removed node
 * writes a graph output, its producer is made to write that tensor instead,
 * and when that is impossible (the input is a graph input, a constant or
 * itself a graph output) the node stays. Ops are looked up by name, so ops
 * the build does not declare are simply never matched.
 * A removed node leaves a forwarding entry (its output stands for its input,
 * or the retargeted tensor for the graph output); uses are rewritten in one
 * sweep at the end, and each node's own inputs just before it is looked at,
 * so the pass is linear in the graph's size however many nodes go.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

static bool is_op(const Node *n, int op) { return n->op == op; }

static bool same_type_shape(const Tensor *a, const Tensor *b)
{
    return a->dtype == b->dtype && a->ndim == b->ndim && a->ndim >= 0 &&
           memcmp(a->dim, b->dim, sizeof(int64_t) * (size_t)a->ndim) == 0;
}

static bool tensor_read(const Tensor *t) { return t && (t->nuse > 0 || t->output_index >= 0); }

/* Dropout is the identity unless training_mode (opset >= 12) is true or
 * unknown, is_test (before opset 7) is 0, or its mask output is read. */
static bool dropout_noop(Node *n)
{
    if ((n->nout > 1 && tensor_read(n->out[1])) ||
        (n->opset < 7 && ir_attr_int(n, "is_test", 0) == 0))
        return false;
    if (n->nin < 3 || !n->in[2])
        return true;
    const Tensor *t = n->in[2];
    return t->data && t->dtype == DT_BOOL && ir_tensor_numel(t) == 1 &&
           !((const uint8_t *)t->data)[0];
}

static bool transpose_noop(Node *n)
{
    const int64_t *perm;
    int np = ir_attr_ints(n, "perm", &perm);
    if (np < 0)
        return n->in[0]->ndim <= 1; /* the default reverses the axes */
    for (int i = 0; i < np; i++)
        if (perm[i] != i)
            return false;
    return true;
}

/* True when n's output 0 equals its input 0, bit for bit. */
static bool is_noop(Node *n)
{
    if (n->nin < 1 || !n->in[0] || n->nout < 1 || !n->out[0] ||
        !same_type_shape(n->in[0], n->out[0]))
        return false;
    if (is_op(n, OP_IDENTITY) || is_op(n, OP_RESHAPE) || is_op(n, OP_FLATTEN) ||
        is_op(n, OP_SQUEEZE) || is_op(n, OP_UNSQUEEZE) || is_op(n, OP_EXPAND) || is_op(n, OP_CAST))
        return n->nout == 1;
    if (is_op(n, OP_DROPOUT))
        return dropout_noop(n);
    if (is_op(n, OP_TRANSPOSE))
        return transpose_noop(n);
    if (is_op(n, OP_CONCAT))
        return n->nin == 1;
    return false;
}

/* Disconnects n so that the next ir_graph_remove_dead drops it. */
static void detach(Node *n)
{
    for (int j = 0; j < n->nin; j++)
        ir_node_set_input(n, j, NULL);
    for (int j = 0; j < n->nout; j++)
        n->out[j] = NULL;
}

/* What t stands for once the forwarding entries are followed (shortened on the way). */
static Tensor *resolve(Tensor **fwd, Tensor *t)
{
    Tensor *r = t;
    while (r && fwd[r->id])
        r = fwd[r->id];
    while (t && fwd[t->id]) {
        Tensor *next = fwd[t->id];
        fwd[t->id] = r;
        t = next;
    }
    return r;
}

static void resolve_inputs(Tensor **fwd, Node *n)
{
    for (int j = 0; j < n->nin; j++) {
        Tensor *t = resolve(fwd, n->in[j]);
        if (t != n->in[j])
            ir_node_set_input(n, j, t);
    }
}

/* Makes x's producer write y directly, so y keeps its name; x's readers read y. */
static bool retarget_producer(Tensor **fwd, Node *n, Tensor *x, Tensor *y)
{
    Node *p = x->producer;
    if (!p || x->data || x->input_index >= 0 || x->output_index >= 0)
        return false;
    detach(n);
    fwd[x->id] = y;
    for (int j = 0; j < p->nout; j++)
        if (p->out[j] == x)
            p->out[j] = y;
    y->producer = p;
    x->producer = NULL;
    return true;
}

static bool bypass(Tensor **fwd, Node *n)
{
    Tensor *x = n->in[0], *y = n->out[0];
    if (y->output_index >= 0)
        return retarget_producer(fwd, n, x, y);
    detach(n);
    fwd[y->id] = x;
    return true;
}

Status pass_remove_noop(Graph *g, const PassOptions *opt, Diag *d)
{
    (void)opt;
    (void)d;
    Tensor **fwd = calloc((size_t)g->ntensor + 1, sizeof(Tensor *));
    if (!fwd)
        wr_die(__FILE__, __LINE__, "out of memory");
    int removed = 0;
    for (int i = 0; i < g->nnode; i++) {
        resolve_inputs(fwd, g->node[i]);
        if (is_noop(g->node[i]) && bypass(fwd, g->node[i]))
            removed++;
    }
    if (removed) {
        for (int i = 0; i < g->nnode; i++)
            resolve_inputs(fwd, g->node[i]);
        for (int i = 0; i < g->noutput; i++)
            g->output[i] = resolve(fwd, g->output[i]);
        ir_graph_remove_dead(g);
    }
    free(fwd);
    return WR_OK;
}
