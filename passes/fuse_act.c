/*
 * fuse_act.c: moves an activation into the epilogue of the Conv, Gemm or
 * MatMul that feeds it alone: Relu, Clip with constant bounds, LeakyRelu,
 * Sigmoid, HardSwish set n->act (act_lo / act_hi hold Clip's bounds and
 * LeakyRelu's alpha) and the activation node goes. The producer takes over
 * the activation's output tensor, so graph output names stay. Those ops'
 * reference evals and emitters apply n->act on their result.
 * Skipped with PassOptions.no_fuse.
 */
#include "passes.h"

#include <float.h>

static bool is_op(const Node *n, int op) { return n->op == op; }

static bool takes_epilogue(const Node *p)
{
    return p->act == ACT_NONE && p->nout == 1 && p->out[0]->dtype == DT_F32 &&
           (is_op(p, OP_CONV) || is_op(p, OP_GEMM) || is_op(p, OP_MATMUL));
}

/* Clip's bound: the attribute before opset 11, an optional constant input after. */
static bool clip_bound(Node *a, int slot, const char *attr, float def, float *v)
{
    if (a->opset < 11) {
        *v = ir_attr_float(a, attr, def);
        return true;
    }
    const Tensor *t = slot < a->nin ? a->in[slot] : NULL;
    if (!t) {
        *v = def;
        return true;
    }
    if (!t->data || t->dtype != DT_F32 || ir_tensor_numel(t) != 1)
        return false;
    *v = ((const float *)t->data)[0];
    return true;
}

/* The epilogue equivalent to activation node a, or ACT_NONE. */
static Act act_of(Node *a, float *lo, float *hi)
{
    *lo = *hi = 0.0f;
    if (is_op(a, OP_RELU))
        return ACT_RELU;
    if (is_op(a, OP_SIGMOID))
        return ACT_SIGMOID;
    if (is_op(a, OP_HARD_SWISH))
        return ACT_HARD_SWISH;
    if (is_op(a, OP_LEAKY_RELU)) {
        *lo = ir_attr_float(a, "alpha", 0.01f);
        return ACT_LEAKY_RELU;
    }
    if (is_op(a, OP_CLIP) && clip_bound(a, 1, "min", -FLT_MAX, lo) &&
        clip_bound(a, 2, "max", FLT_MAX, hi))
        return ACT_CLIP;
    return ACT_NONE;
}

static void try_fuse(Node *a)
{
    Tensor *x = a->nin ? a->in[0] : NULL, *y = a->nout == 1 ? a->out[0] : NULL;
    if (!x || !y || !x->producer || x->nuse != 1 || x->output_index >= 0 || x->data ||
        x->dtype != DT_F32 || !takes_epilogue(x->producer))
        return;
    float lo, hi;
    Act act = act_of(a, &lo, &hi);
    if (act == ACT_NONE || a->bad_attr)
        return;
    Node *p = x->producer;
    p->act = act;
    p->act_lo = lo;
    p->act_hi = hi;
    for (int j = 0; j < a->nin; j++)
        ir_node_set_input(a, j, NULL);
    a->out[0] = NULL;
    p->out[0] = y;
    y->producer = p;
    x->producer = NULL;
}

Status pass_fuse_act(Graph *g, const PassOptions *opt, Diag *d)
{
    (void)d;
    if (opt && opt->no_fuse)
        return WR_OK;
    for (int i = 0; i < g->nnode; i++)
        try_fuse(g->node[i]);
    ir_graph_remove_dead(g);
    return WR_OK;
}
