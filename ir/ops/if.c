/*
 * If: one of two bodies, chosen by a bool scalar.
 *   cond -> outputs (those of then_branch or else_branch; the bodies take no
 *   inputs and read the enclosing graph's values by name)
 *
 * Expanded by shape inference (OPF_EXPAND; loop.c says why there). A
 * constant condition, which exporters often leave after folding, keeps only
 * the branch taken: the other may not even be valid for these shapes. A
 * condition known only at run time instantiates both branches and chooses
 * each output with a Select (select.c), which requires the two branches to
 * agree on every output's type and shape.
 */
#include "subgraph.h"

Status op_if_infer(Graph *g, Node *n, Diag *d)
{
    const SubGraph *br[2]; /* else, then */
    WR_TRY(ir_subgraph_attr(n, "else_branch", &br[0], d));
    WR_TRY(ir_subgraph_attr(n, "then_branch", &br[1], d));
    const Tensor *cond = n->in[0];
    if (ir_tensor_numel(cond) != 1)
        return diag_node(d, WR_ESHAPE, n, "the condition must be one value, not %lld",
                         (long long)ir_tensor_numel(cond));
    for (int b = 0; b < 2; b++)
        if (br[b]->ninput != 0 || br[b]->noutput < n->nout)
            return diag_node(d, WR_EPARSE, n, "%s takes %d inputs and gives %d outputs; it "
                             "must take none and give %d", b ? "then_branch" : "else_branch",
                             br[b]->ninput, br[b]->noutput, n->nout);
    Arena *A = &g->arena;
    Tensor **res[2] = {arena_alloc(A, sizeof(Tensor *) * (size_t)(br[0]->noutput + 1)),
                       arena_alloc(A, sizeof(Tensor *) * (size_t)(br[1]->noutput + 1))};
    int first = g->nnode, taken = cond->data ? dtype_get_i64(cond->dtype, cond->data, 0) != 0
                                             : -1;
    for (int b = 0; b < 2; b++)
        if (taken < 0 || taken == b)
            WR_TRY(ir_subgraph_instance(g, n, br[b], arena_printf(A, "%s/%s", n->name,
                                                                  b ? "then" : "else"),
                                        NULL, res[b], d));
    for (int j = 0; j < n->nout; j++) {
        const char *name = arena_printf(A, "%s/out%d", n->name, j);
        if (!n->out[j])
            continue;
        if (taken >= 0) {
            ir_add_identity(g, name, res[taken][j], n->out[j]);
            continue;
        }
        Node *s = ir_node_new(g, OP_SELECT, name, 3, 1);
        ir_node_set_input(s, 0, n->in[0]);
        ir_node_set_input(s, 1, res[1][j]);
        ir_node_set_input(s, 2, res[0][j]);
        s->out[0] = n->out[j];
        n->out[j]->producer = s;
    }
    ir_subgraph_splice(g, n, first);
    return WR_OK;
}

Status op_if_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)in;
    (void)out;
    return diag_node(d, WR_EVERIFY, n, "control flow is expanded by shape inference");
}
