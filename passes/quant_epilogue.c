/*
 * quant_epilogue.c: what follows a QConv's float output folds into its epilogue
 * (ir/ops/qconv.c), as long as the QConv's output has that one reader:
 *   BatchNormalization    -> input 4 (mean, gain, beta: the same double arithmetic
 *                            as the BatchNormalization it replaces, so no value moves)
 *   Add(y, other)         -> input 5, the residual operand: other's codes when other
 *                            is a Dequant's output (ResNet shortcuts stay in codes),
 *                            else other itself (float32)
 *   Relu / Clip           -> the epilogue's activation
 *   ActQuant              -> out_*: the QConv writes the quantizer's codes, through
 *                            integer thresholds (or its float epilogue when the
 *                            residual operand is float)
 * in the order the graph applies them (BN, Add, Relu, then the quantizer). A layer
 * whose output feeds a quantizer is never perturbed: nothing is folded into its
 * scale or weights, every step keeps its own rounding, and the thresholds are
 * found with exactly that arithmetic. --no-fuse keeps BN, Add and Relu separate.
 */
#include "opparams.h"
#include "quant.h"
#include "quant_match.h"
#include "rewrite.h"

#include <string.h>

static bool has_input(const Node *n, int i) { return n->nin > i && n->in[i]; }

/* Input slot i of n, growing its input array (slots in between stay absent). */
static void set_input(Graph *g, Node *n, int i, Tensor *t)
{
    if (n->nin <= i) {
        Tensor **in = arena_alloc(&g->arena, sizeof(Tensor *) * (size_t)(i + 1));
        memcpy(in, n->in, sizeof(Tensor *) * (size_t)n->nin);
        n->in = in;
        n->nin = i + 1;
    }
    ir_node_set_input(n, i, t);
}

/* n takes over the output of its reader r, which goes. n moves to r's place first
 * (r may read a tensor made after n; n's only reader is r). */
static void take_output(Graph *g, Node *n, Node *r)
{
    int from = n->id, to = r->id;
    memmove(g->node + from, g->node + from + 1, sizeof(Node *) * (size_t)(to - from));
    g->node[to - 1] = n;
    n->out[0] = r->out[0];
    pass_remove_node(g, r); /* relinks */
}

static bool fold_bn(Graph *g, Node *n, Node *r)
{
    int64_t M = n->in[1]->dim[0];
    double *mgb = arena_alloc(&g->arena, sizeof(double) * (size_t)(3 * M));
    if (has_input(n, 4) || has_input(n, 5) || n->act != ACT_NONE || !qm_bn(r, M, mgb))
        return false;
    int64_t dim[2] = {M, 3};
    set_input(g, n, 4, pass_const(g, "bn", DT_F64, 2, dim, mgb));
    return true;
}

/* Add(y, other): the residual operand, in codes when other is dequantized codes. */
static bool fold_add(Graph *g, Node *n, Node *r)
{
    if (r->op != OP_ADD || has_input(n, 5) || n->act != ACT_NONE || r->in[0] == r->in[1])
        return false;
    Tensor *other = r->in[0] == n->out[0] ? r->in[1] : r->in[0];
    const Node *p = other->producer;
    Tensor *side = p && p->op == OP_DEQUANT ? p->in[0] : other;
    bool same = other->ndim == n->out[0]->ndim && other->dtype == DT_F32;
    for (int i = 0; same && i < other->ndim; i++)
        same = other->dim[i] == n->out[0]->dim[i];
    if (!same)
        return false;
    set_input(g, n, 5, side);
    return true;
}

static bool fold_act(Node *n, Node *r)
{
    double lo, hi;
    if (n->act != ACT_NONE)
        return false;
    if (r->op == OP_RELU) {
        n->act = ACT_RELU;
        return true;
    }
    if (r->op != OP_CLIP || r->opset < 11 || !has_input(r, 1) || !has_input(r, 2) ||
        !pass_scalar(r->in[1], &lo) || !pass_scalar(r->in[2], &hi))
        return false;
    n->act = ACT_CLIP, n->act_lo = (float)lo, n->act_hi = (float)hi;
    return true;
}

static bool fold_quantizer(Graph *g, Node *n, Node *r)
{
    if (r->op != OP_ACT_QUANT || ir_attr_find(n, "out_form"))
        return false;
    quant_spec_write(g, n, "out_", r->priv);
    ir_attr_copy(g, n, r, "out_layout");
    ir_attr_copy(g, n, r, "out_group");
    return true;
}

/* Folds the sole reader of n's float output when it is one of the above. */
static bool fold_one(Graph *g, const PassOptions *opt, Node *n)
{
    Node *r = pass_sole_reader(g, n->out[0]);
    if (!r || n->out[0]->dtype != DT_F32 || ir_attr_int(n, "out_acc", 0))
        return false;
    bool fuse = !opt->no_fuse;
    if ((fuse && (fold_bn(g, n, r) || fold_add(g, n, r) || fold_act(n, r))) ||
        fold_quantizer(g, n, r)) {
        take_output(g, n, r);
        return true;
    }
    return false;
}

Status pass_quant_epilogue(Graph *g, const PassOptions *opt, Diag *d)
{
    PassOptions none = {0};
    opt = opt ? opt : &none;
    for (int i = 0; i < g->nnode; i++) {
        Node *n = g->node[i];
        if (n->op != OP_QCONV)
            continue;
        bool moved = false;
        while (fold_one(g, opt, n)) {
            WR_TRY(ir_infer_node(g, n, d));
            moved = true;
        }
        if (moved && n->id != i)
            i--; /* n moved past nodes not visited yet: they come next */
    }
    return WR_OK;
}
