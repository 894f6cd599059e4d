/*
 * Scan: the body runs once per position along the scan axis.
 *   opset >= 9: state_initial[N], x[M] -> state_final[N], y[K]
 *     x[j] is sliced along scan_input_axes[j] (reversed where
 *     scan_input_directions[j] = 1); y[k] stacks the body's values along
 *     scan_output_axes[k] (in reverse order where scan_output_directions[k] = 1)
 *   opset 8: sequence_lens (optional), then the same with a leading batch dim
 *     on every input and output; the scan axis is 1, `directions` per input
 *   body: (state_in[N], x_t[M]) -> (state_out[N], y_t[K])
 *
 * Unrolled by shape inference like Loop (see loop.c for why): the sequence
 * length is a dim of the scan inputs, so it is known there. Each step takes
 * its slice with a Gather of a constant index; the outputs are stacked with
 * Unsqueeze + Concat. Opset 8 unrolls once per batch element and stacks the
 * results; its sequence_lens must be a constant equal to the full length.
 */
#include "subgraph.h"

#include <string.h>

typedef struct ScanSpec {
    int N, M, K;
    const int64_t *in_axis, *in_dir, *out_axis, *out_dir; /* NULL: all 0 */
} ScanSpec;

static int64_t at(const int64_t *v, int i) { return v ? v[i] : 0; }

/* The sequence length: the scan axis' dim, the same for every scan input
 * (shift: leading batch dims before the axis, opset 8). */
static Status seq_len(const Node *n, const ScanSpec *s, Tensor *const *x, int shift, int64_t *L,
                      Diag *d)
{
    *L = -1;
    for (int j = 0; j < s->M; j++) {
        int axis;
        if (!x[j] || x[j]->ndim < 1 + shift)
            return diag_node(d, WR_ESHAPE, n, "scan input %d is missing or a scalar", j);
        WR_TRY(ir_norm_axis(n, at(s->in_axis, j), x[j]->ndim - shift, &axis, d));
        axis += shift;
        if (*L >= 0 && x[j]->dim[axis] != *L)
            return diag_node(d, WR_ESHAPE, n, "scan input %d has %lld steps, input 0 has %lld",
                             j, (long long)x[j]->dim[axis], (long long)*L);
        *L = x[j]->dim[axis];
    }
    if (*L <= 0)
        return diag_node(d, WR_EUNSUPPORTED, n, "scans zero steps: its outputs have no shape");
    if (*L > SUBGRAPH_MAX_NODES)
        return diag_node(d, WR_EUNSUPPORTED, n, "%lld steps are too many to unroll",
                         (long long)*L);
    return WR_OK;
}

/* One unrolled scan of L steps: states and scan inputs in, final states and
 * stacked outputs into fin[N] and y[K] (NULL entries: not wanted). */
static Status unroll(Graph *g, const Node *n, const SubGraph *body, const ScanSpec *s,
                     int64_t L, const char *prefix, Tensor *const *state, Tensor *const *x,
                     Tensor **fin, Tensor **y, Diag *d)
{
    Arena *A = &g->arena;
    Tensor **bin = arena_alloc(A, sizeof(Tensor *) * (size_t)(s->N + s->M + 1));
    Tensor **bout = arena_alloc(A, sizeof(Tensor *) * (size_t)(s->N + s->K + 1));
    Tensor **part = arena_alloc(A, sizeof(Tensor *) * (size_t)(s->K * L + 1));
    memcpy(bin, state, sizeof(Tensor *) * (size_t)s->N);
    for (int64_t t = 0; t < L; t++) {
        const char *pre = arena_printf(A, "%s/%lld", prefix, (long long)t);
        for (int j = 0; j < s->M; j++) {
            int64_t idx = at(s->in_dir, j) ? L - 1 - t : t;
            int64_t axis = at(s->in_axis, j); /* normalized by seq_len when given */
            axis = axis < 0 ? axis + x[j]->ndim : axis;
            bin[s->N + j] = ir_add_take(g, arena_printf(A, "%s/x%d", pre, j), x[j], idx, axis);
        }
        WR_TRY(ir_subgraph_instance(g, n, body, pre, bin, bout, d));
        memcpy(bin, bout, sizeof(Tensor *) * (size_t)s->N);
        for (int k = 0; k < s->K; k++)
            part[k * L + (at(s->out_dir, k) ? L - 1 - t : t)] = bout[s->N + k];
    }
    for (int j = 0; j < s->N; j++)
        if (fin[j])
            ir_add_identity(g, arena_printf(A, "%s/state%d", prefix, j), bin[j], fin[j]);
    for (int k = 0; k < s->K; k++)
        if (y[k])
            ir_add_stack(g, arena_printf(A, "%s/y%d", prefix, k), part + k * L, (int)L,
                         at(s->out_axis, k), y[k]);
    return WR_OK;
}

/* A list attribute of count entries, or NULL when absent. */
static Status list_attr(Node *n, const char *name, int count, const int64_t **v, Diag *d)
{
    int got = ir_attr_ints(n, name, v);
    if (got >= 0 && got != count)
        return diag_node(d, WR_EPARSE, n, "attribute '%s' has %d entries, expected %d", name, got,
                         count);
    return WR_OK;
}

static Status spec(Node *n, const SubGraph *body, int nstate_in, ScanSpec *s, Diag *d)
{
    s->M = (int)ir_attr_int(n, "num_scan_inputs", -1);
    s->N = nstate_in - s->M;
    s->K = body->noutput - s->N;
    if (s->M < 1 || s->N < 0)
        return diag_node(d, WR_EPARSE, n, "num_scan_inputs must be 1 to %d", nstate_in);
    if (body->ninput != s->N + s->M || s->K < 0 || n->nout > s->N + s->K)
        return diag_node(d, WR_EPARSE, n, "the body's %d inputs and %d outputs do not match %d "
                         "states, %d scan inputs and %d outputs", body->ninput, body->noutput,
                         s->N, s->M, n->nout);
    bool v8 = n->opset < 9;
    for (int i = v8 ? 1 : 0; i < n->nin; i++)
        if (!n->in[i])
            return diag_node(d, WR_EPARSE, n, "input %d is missing", i);
    WR_TRY(list_attr(n, v8 ? "directions" : "scan_input_directions", s->M, &s->in_dir, d));
    if (v8)
        return WR_OK;
    WR_TRY(list_attr(n, "scan_input_axes", s->M, &s->in_axis, d));
    WR_TRY(list_attr(n, "scan_output_axes", s->K, &s->out_axis, d));
    return list_attr(n, "scan_output_directions", s->K, &s->out_dir, d);
}

static Tensor **outs(Graph *g, Node *n, int from, int count)
{
    Tensor **o = arena_alloc(&g->arena, sizeof(Tensor *) * (size_t)(count + 1));
    for (int i = 0; i < count && from + i < n->nout; i++)
        o[i] = n->out[from + i];
    return o;
}

/* Opset 8: sequence_lens, if given, must be the full length for every element. */
static Status full_lengths(const Node *n, int64_t B, int64_t L, Diag *d)
{
    const void *p;
    if (!n->in[0])
        return WR_OK;
    WR_TRY(ir_const_input(n, 0, &p, d));
    for (int64_t b = 0; b < ir_tensor_numel(n->in[0]) && b < B; b++)
        if (dtype_get_i64(n->in[0]->dtype, p, b) != L)
            return diag_node(d, WR_EUNSUPPORTED, n, "sequence_lens[%lld] is not the full "
                             "length %lld", (long long)b, (long long)L);
    return WR_OK;
}

/* Opset 8: one unrolled scan per batch element; every output stacked over the batch. */
static Status batched(Graph *g, Node *n, const SubGraph *body, ScanSpec *s, Diag *d)
{
    Arena *A = &g->arena;
    Tensor *const *in = n->in + 1;
    int64_t B = in[0] ? in[0]->dim[0] : 0;
    for (int i = 0; i < s->N + s->M; i++)
        if (!in[i] || in[i]->ndim < 2 || in[i]->dim[0] != B)
            return diag_node(d, WR_ESHAPE, n, "input %d needs the batch dim %lld", i + 1,
                             (long long)B);
    int64_t L;
    WR_TRY(seq_len(n, s, in + s->N, 1, &L, d));
    WR_TRY(full_lengths(n, B, L, d));
    int nout = s->N + s->K;
    Tensor **each = arena_alloc(A, sizeof(Tensor *) * (size_t)(nout * B + 1));
    Tensor **st = arena_alloc(A, sizeof(Tensor *) * (size_t)(s->N + s->M + 1));
    for (int64_t b = 0; b < B; b++) {
        const char *pre = arena_printf(A, "%s/b%lld", n->name, (long long)b);
        for (int i = 0; i < s->N + s->M; i++)
            st[i] = ir_add_take(g, arena_printf(A, "%s/in%d", pre, i), in[i], b, 0);
        Tensor **o = outs(g, n, 0, nout);
        for (int i = 0; i < nout; i++)
            each[i * B + b] = o[i] = o[i] ? ir_tensor_fresh(g, pre) : NULL;
        WR_TRY(unroll(g, n, body, s, L, pre, st, st + s->N, o, o + s->N, d));
    }
    for (int i = 0; i < nout && i < n->nout; i++)
        if (n->out[i])
            ir_add_stack(g, arena_printf(A, "%s/out%d", n->name, i), each + i * B, (int)B, 0,
                         n->out[i]);
    return WR_OK;
}

Status op_scan_infer(Graph *g, Node *n, Diag *d)
{
    const SubGraph *body;
    WR_TRY(ir_subgraph_attr(n, "body", &body, d));
    bool v8 = n->opset < 9;
    ScanSpec s = {0};
    WR_TRY(spec(n, body, n->nin - (v8 ? 1 : 0), &s, d));
    int first = g->nnode;
    int64_t L;
    if (v8)
        WR_TRY(batched(g, n, body, &s, d));
    else {
        WR_TRY(seq_len(n, &s, n->in + s.N, 0, &L, d));
        WR_TRY(unroll(g, n, body, &s, L, n->name, n->in, n->in + s.N, outs(g, n, 0, s.N),
                      outs(g, n, s.N, s.K), d));
    }
    ir_subgraph_splice(g, n, first);
    return WR_OK;
}

Status op_scan_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)in;
    (void)out;
    return diag_node(d, WR_EVERIFY, n, "control flow is unrolled by shape inference");
}
