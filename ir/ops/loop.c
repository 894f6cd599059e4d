/*
 * Loop: the body runs M times, or while its condition holds.
 *   M (int64 scalar, optional), cond (bool scalar, optional), v_initial[N]
 *     -> v_final[N], scan[K] (each iteration's value, stacked on a new axis 0)
 *   body: (iteration_num, cond_in, v_in[N]) -> (cond_out, v_out[N], scan_t[K])
 *
 * Unrolled when shape inference reaches the node (OPF_EXPAND): one instance
 * of the body per iteration, the loop-carried values wired from one to the
 * next, the scan values stacked by Unsqueeze + Concat. Unrolled rather than
 * kept as a run-time loop, and at inference rather than at load time, because
 * the trip count is often computed (Range's expansion derives it from its
 * inputs) and the body's shapes follow the carried values': both are known
 * only there. The iterations are plain nodes, so constant folding, the
 * existing kernels, the memory plan and dead-code removal apply to them and
 * the generated code needs nothing new. The price is code size, trip count
 * times body (capped at SUBGRAPH_MAX_NODES). Hence the limits: M must be a
 * constant, and the body's condition the loop's passed through or a constant
 * true (a loop that stops on a computed value has a run-time length).
 */
#include "subgraph.h"

#include <stdint.h>
#include <string.h>

/* Whether name holds a constant true: a body initializer, a Constant node of
 * the body, or a constant of the enclosing graph. */
static bool const_true(Graph *g, const SubGraph *body, const char *name)
{
    const Tensor *t = NULL;
    bool inside = false;
    for (int i = 0; i < body->ninit; i++)
        if (strcmp(body->init[i]->name, name) == 0)
            t = body->init[i], inside = true;
    for (int i = 0; i < body->nnode; i++) {
        const SubNode *s = &body->node[i];
        for (int j = 0; j < s->nout; j++)
            inside |= strcmp(s->out[j], name) == 0;
        const Attr *v = s->op == OP_CONSTANT && s->nout == 1 && strcmp(s->out[0], name) == 0 &&
                                s->nattr == 1 && strcmp(s->attr[0].name, "value") == 0
                            ? &s->attr[0]
                            : NULL;
        if (v && v->type == ATTR_TENSOR)
            t = v->t;
    }
    if (!inside)
        t = ir_tensor_get(g, name, false);
    return t && t->data && ir_tensor_numel(t) == 1 && dtype_get_i64(t->dtype, t->data, 0) != 0;
}

/* Whether the body's cond_out equals its cond_in (through Identity nodes) or
 * is a constant true: then the loop's condition never changes. */
static bool cond_stays(Graph *g, const SubGraph *body)
{
    const char *name = body->output[0];
    for (int step = 0; step <= body->nnode; step++) {
        if (body->ninput > 1 && strcmp(name, body->input[1]) == 0)
            return true;
        const SubNode *p = NULL;
        for (int i = 0; i < body->nnode; i++)
            for (int j = 0; j < body->node[i].nout; j++)
                if (strcmp(body->node[i].out[j], name) == 0)
                    p = &body->node[i];
        if (!p || p->op != OP_IDENTITY || p->nin < 1)
            return const_true(g, body, name);
        name = p->in[0];
    }
    return false;
}

/* Iterations the loop runs; an error when that is not known at compile time. */
static Status trip_count(Graph *g, const Node *n, const SubGraph *body, int64_t *trips, Diag *d)
{
    const void *p;
    int64_t M = -1; /* none */
    bool cond = true;
    if (n->nin > 0 && n->in[0]) {
        WR_TRY(ir_const_input(n, 0, &p, d));
        if (ir_tensor_numel(n->in[0]) != 1 || dtype_is_float(n->in[0]->dtype))
            return diag_node(d, WR_EPARSE, n, "M must be one integer");
        M = dtype_get_i64(n->in[0]->dtype, p, 0);
        M = M < 0 ? 0 : M;
    }
    if (n->nin > 1 && n->in[1]) {
        WR_TRY(ir_const_input(n, 1, &p, d));
        if (ir_tensor_numel(n->in[1]) != 1)
            return diag_node(d, WR_EPARSE, n, "cond must be one value");
        cond = dtype_get_i64(n->in[1]->dtype, p, 0) != 0;
    }
    *trips = cond ? M : 0;
    if (cond && !cond_stays(g, body))
        return diag_node(d, WR_EUNSUPPORTED, n, "the body's condition output '%s' is computed: "
                         "only a loop whose condition stays as given (passed through or a "
                         "constant true) has a length known at compile time", body->output[0]);
    if (*trips < 0)
        return diag_node(d, WR_EUNSUPPORTED, n, "no trip count M, and the condition never "
                         "turns false: the loop would not end");
    int64_t per = body->nnode + 2;
    if (*trips > (SUBGRAPH_MAX_NODES - g->nnode) / per)
        return diag_node(d, WR_EUNSUPPORTED, n, "unrolling %lld iterations of a %d-node body "
                         "takes the graph past %d nodes", (long long)*trips, body->nnode,
                         SUBGRAPH_MAX_NODES);
    return WR_OK;
}

static Status check_arity(const Node *n, const SubGraph *body, int N, int K, Diag *d)
{
    if (body->ninput != N + 2)
        return diag_node(d, WR_EPARSE, n, "the body takes %d inputs; with %d loop-carried "
                         "values it must take %d", body->ninput, N, N + 2);
    if (body->noutput < 1)
        return diag_node(d, WR_EPARSE, n, "the body has no condition output");
    if (K < 0 || n->nout > N + K)
        return diag_node(d, WR_EPARSE, n, "has %d outputs, the body gives %d after its "
                         "condition", n->nout, body->noutput - 1);
    return WR_OK;
}

/* The loop's outputs from the last carried values and each iteration's scan values. */
static Status outputs(Graph *g, const Node *n, int N, int K, int64_t trips, Tensor **carried,
                      Tensor **scan, Diag *d)
{
    for (int j = 0; j < N && j < n->nout; j++)
        if (n->out[j])
            ir_add_identity(g, arena_printf(&g->arena, "%s/v_final%d", n->name, j), carried[j],
                            n->out[j]);
    for (int k = 0; k < K && N + k < n->nout; k++) {
        if (!n->out[N + k])
            continue;
        if (trips == 0)
            return diag_node(d, WR_EUNSUPPORTED, n, "runs zero times, so scan output %d has no "
                             "element shape", k);
        ir_add_stack(g, arena_printf(&g->arena, "%s/scan%d", n->name, k), scan + k * trips,
                     (int)trips, 0, n->out[N + k]);
    }
    return WR_OK;
}

Status op_loop_infer(Graph *g, Node *n, Diag *d)
{
    const SubGraph *body;
    WR_TRY(ir_subgraph_attr(n, "body", &body, d));
    int N = n->nin > 2 ? n->nin - 2 : 0, K = body->noutput - 1 - N;
    WR_TRY(check_arity(n, body, N, K, d));
    int64_t trips = 0;
    WR_TRY(trip_count(g, n, body, &trips, d));
    int first = g->nnode;
    Tensor **bin = arena_alloc(&g->arena, sizeof(Tensor *) * (size_t)(N + 2));
    Tensor **bout = arena_alloc(&g->arena, sizeof(Tensor *) * (size_t)(N + K + 1));
    Tensor **scan = arena_alloc(&g->arena, sizeof(Tensor *) * (size_t)(K * trips + 1));
    memcpy(bin + 2, n->in + 2, sizeof(Tensor *) * (size_t)N);
    for (int64_t it = 0; it < trips; it++) {
        const char *prefix = arena_printf(&g->arena, "%s/%lld", n->name, (long long)it);
        bin[0] = ir_add_scalar(g, arena_printf(&g->arena, "%s/i", prefix), it, false);
        bin[1] = ir_add_scalar(g, arena_printf(&g->arena, "%s/cond", prefix), 1, true);
        WR_TRY(ir_subgraph_instance(g, n, body, prefix, bin, bout, d));
        memcpy(bin + 2, bout + 1, sizeof(Tensor *) * (size_t)N);
        for (int k = 0; k < K; k++)
            scan[k * trips + it] = bout[1 + N + k];
    }
    WR_TRY(outputs(g, n, N, K, trips, bin + 2, scan, d));
    ir_subgraph_splice(g, n, first);
    return WR_OK;
}

Status op_loop_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)in;
    (void)out;
    return diag_node(d, WR_EVERIFY, n, "control flow is unrolled by shape inference");
}
