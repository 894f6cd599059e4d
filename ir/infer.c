/*
 * infer.c: static shape inference, one sweep in topological order. Nodes whose
 * inputs are all constant are evaluated on the spot by their reference eval,
 * so shape-computing subgraphs (Shape -> Gather -> Concat -> Reshape) become
 * constants before the nodes that need them are inferred. Folded nodes are
 * dropped at the end; their outputs stay as constant tensors.
 */
#include "ir.h"
#include "opparams.h"

#include <stdlib.h>
#include <string.h>

Status ir_broadcast_shape(const Node *n, int na, const int64_t *a, int nb, const int64_t *b,
                          int *nout, int64_t *out, Diag *d)
{
    int r = na > nb ? na : nb;
    for (int i = 0; i < r; i++) {
        int64_t x = i < r - na ? 1 : a[i - (r - na)];
        int64_t y = i < r - nb ? 1 : b[i - (r - nb)];
        if (x != y && x != 1 && y != 1)
            return diag_node(d, WR_ESHAPE, n, "shapes cannot broadcast (dim %d: %lld vs %lld)", i,
                             (long long)x, (long long)y);
        out[i] = x == 1 ? y : x;
    }
    *nout = r;
    return WR_OK;
}

Status ir_norm_axis(const Node *n, int64_t axis, int rank, int *out, Diag *d)
{
    if (axis < -rank || axis >= (rank ? rank : 1))
        return diag_node(d, WR_ESHAPE, n, "axis %lld out of range for rank %d", (long long)axis,
                         rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return WR_OK;
}

Status ir_const_input(const Node *n, int i, const void **data, Diag *d)
{
    if (i >= n->nin || !n->in[i])
        return diag_node(d, WR_EPARSE, n, "input %d is missing", i);
    *data = n->in[i]->data;
    const Tensor *t = n->in[i];
    /* name the tensor the model has, not a float32 copy made by promote.c */
    while (t->producer && t->producer->op == OP_CAST && t->dtype == DT_F32 &&
           dtype_is_narrow_float(t->producer->in[0]->dtype))
        t = t->producer->in[0];
    if (!*data)
        return diag_node(d, WR_EUNSUPPORTED, n,
                         "input %d ('%s') must be a constant (computed at run time here)", i,
                         t->name);
    return WR_OK;
}

/* 1 when an earlier inference gave n (an OPF_SCRATCH op) its scratch output
 * (ir/scratch.c), past the ONNX outputs; a model's own extra output is no scratch. */
static int has_scratch(const Node *n)
{
    const OpInfo *oi = &op_info[n->op];
    return oi->flags & OPF_SCRATCH && n->nout == oi->max_out + 1 && n->out[oi->max_out] &&
           n->out[oi->max_out]->scratch;
}

static Status check_inputs(const Node *n, Diag *d)
{
    const OpInfo *oi = &op_info[n->op];
    if (n->nin < oi->min_in || n->nin > oi->max_in)
        return diag_node(d, WR_EPARSE, n, "has %d inputs, expected %d to %d", n->nin, oi->min_in,
                         oi->max_in);
    if (n->nout < oi->min_out || n->nout > oi->max_out + has_scratch(n))
        return diag_node(d, WR_EPARSE, n, "has %d outputs, expected %d to %d", n->nout,
                         oi->min_out, oi->max_out);
    for (int i = 0; i < oi->min_in; i++)
        if (!n->in[i])
            return diag_node(d, WR_EPARSE, n, "required input %d is missing", i);
    for (int i = 0; i < oi->min_out; i++)
        if (!n->out[i]) /* op infer functions write their required outputs */
            return diag_node(d, WR_EPARSE, n, "required output %d has no name", i);
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && n->in[i]->ndim < 0)
            return diag_node(d, WR_ESHAPE, n, "input '%s' has no known shape", n->in[i]->name);
    return WR_OK;
}

Status ir_check_out_shape(const Node *n, int ndim, const int64_t *dim, Diag *d)
{
    int64_t numel = ir_shape_numel(ndim, dim);
    if (numel < 0 || numel > IR_MAX_NUMEL)
        return diag_node(d, WR_ESHAPE, n, "output is too large or has a negative dim");
    return WR_OK;
}

static Status check_outputs(const Node *n, Diag *d)
{
    if (n->bad_attr)
        return diag_node(d, WR_EPARSE, n, "attribute '%s' has the wrong type (expected %s)",
                         n->bad_attr, ir_attr_type_name(n->bad_attr_want));
    for (int i = 0; i < n->nout; i++) {
        const Tensor *t = n->out[i];
        if (!t)
            continue;
        if (t->ndim < 0 || t->dtype == DT_UNDEF)
            return diag_node(d, WR_EVERIFY, n, "output %d has no inferred shape", i);
        int64_t numel = ir_tensor_numel(t);
        if (numel < 0 || numel > IR_MAX_NUMEL)
            return diag_node(d, WR_ESHAPE, n, "output '%s' is too large or has a negative dim",
                             t->name);
    }
    return WR_OK;
}

bool ir_codes_through(const Node *n, Tensor *const *codes)
{
    const Tensor *x = codes[0], *y = n->out[0];
    int ndata = n->op == OP_CONCAT ? n->nin : 1;
    if (!(op_info[n->op].flags & OPF_CODES) || !x || !x->q || !y)
        return false;
    for (int i = 0; i < ndata; i++)
        if (!codes[i] || !qtype_equal(codes[i]->q, x->q) || codes[i]->layout != LAYOUT_DENSE)
            return false;
    for (int i = 1; i < n->nout; i++) /* MaxPool's Indices */
        if (n->out[i] && (n->out[i]->nuse || n->out[i]->output_index >= 0))
            return false;
    if (x->q->nscale > 1 && (n->op == OP_CONCAT || n->op == OP_TRANSPOSE || y->ndim < 2 ||
                             y->dim[0] != x->dim[0] || y->dim[1] != x->dim[1]))
        return false;
    return true;
}

/* OPF_CODES: dense codes in, the same codes out. */
static void propagate_codes(Node *n)
{
    if (n->nin > 0 && n->in[0] && n->in[0]->q && n->out[0] &&
        n->out[0]->dtype == n->in[0]->dtype && ir_codes_through(n, n->in))
        ir_tensor_set_codes(n->out[0], n->in[0]->q, LAYOUT_DENSE, 1);
}

Status ir_infer_node(Graph *g, Node *n, Diag *d)
{
    WR_TRY(check_inputs(n, d));
    n->bad_attr = NULL;
    WR_TRY(op_info[n->op].infer(g, n, d));
    WR_TRY(check_outputs(n, d));
    propagate_codes(n);
    return WR_OK;
}

/* A control-flow node (OPF_EXPAND): its infer puts the nodes of its bodies
 * where it stands; inference goes on with the first of them. Narrow floats
 * are not promoted around it: the bodies' nodes are, one by one. */
static Status expand(Graph *g, Node *n, Diag *d)
{
    WR_TRY(check_inputs(n, d));
    n->bad_attr = NULL;
    Status s = op_info[n->op].infer(g, n, d);
    if (s == WR_OK && n->bad_attr)
        return diag_node(d, WR_EPARSE, n, "attribute '%s' has the wrong type (expected %s)",
                         n->bad_attr, ir_attr_type_name(n->bad_attr_want));
    return s;
}

static bool foldable(const Node *n, const InferOptions *opt)
{
    unsigned fl = op_info[n->op].flags;
    if (fl & OPF_NOFOLD)
        return false;
    int need = fl & OPF_SHAPE_ONLY ? 0 : fl & OPF_DATA_IN0 ? 1 : n->nin;
    for (int i = 0; i < need && i < n->nin; i++)
        if (n->in[i] && !n->in[i]->data)
            return false;
    int64_t total = 0;
    for (int i = 0; i < n->nout; i++)
        if (n->out[i])
            total += ir_tensor_bytes(n->out[i]);
    return total <= opt->fold_limit_bytes;
}

static Status fold(Graph *g, Node *n, Diag *d)
{
    void *in[64], *out[64];
    if (n->nin > 64 || n->nout > 64)
        return WR_OK;
    for (int i = 0; i < n->nin; i++)
        in[i] = n->in[i] ? n->in[i]->data : NULL;
    for (int i = 0; i < n->nout; i++)
        out[i] = n->out[i] ? ir_tensor_alloc_data(g, n->out[i]) : NULL;
    Status s = op_info[n->op].eval(n, in, out, d);
    if (s != WR_OK)
        return s;
    for (int i = 0; i < n->nout; i++)
        if (n->out[i])
            n->out[i]->producer = NULL;
    return WR_OK;
}

static bool folded(const Node *n)
{
    for (int i = 0; i < n->nout; i++)
        if (n->out[i] && !n->out[i]->data)
            return false;
    return true;
}

Status ir_infer(Graph *g, const InferOptions *opt, Diag *d)
{
    InferOptions def = {64 << 20};
    if (!opt)
        opt = &def;
    Node *promoted = NULL; /* narrow floats compute in float32 (promote.c) */
    DType narrow = DT_UNDEF, t;
    for (int i = 0; i < g->nnode; i++) {
        Node *n = g->node[i];
        WR_ASSERT(n); /* promoted starts NULL: the comparison below does not test n */
        if (op_info[n->op].flags & OPF_EXPAND) {
            WR_TRY(expand(g, n, d));
            i--;
            continue;
        }
        if (n != promoted && ir_promote_inputs(g, i, &t) > 0) {
            promoted = n;
            narrow = t;
            i--; /* infer the inserted Casts first */
            continue;
        }
        WR_TRY(check_inputs(n, d));
        n->bad_attr = NULL;
        WR_TRY(op_info[n->op].infer(g, n, d));
        if (n == promoted)
            ir_promote_outputs(g, i, narrow);
        WR_TRY(check_outputs(n, d));
        propagate_codes(n);
        if (foldable(n, opt))
            WR_TRY(fold(g, n, d));
    }
    int k = 0;
    for (int i = 0; i < g->nnode; i++)
        if (!folded(g->node[i]))
            g->node[k++] = g->node[i];
    g->nnode = k;
    ir_graph_relink(g);
    return WR_OK;
}
