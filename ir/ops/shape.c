/*
 * Shape and Size: facts about the input's shape, never its data (OPF_SHAPE_ONLY,
 * so they always fold to constants).
 *   Shape  data, start/end (opset 15, clamped like Slice) -> int64 (end - start)
 *   Size   data -> int64 scalar, the element count
 * codegen/kernels/shape.c copies the value from a constant if ever emitted.
 */
#include "ir.h"

#include <string.h>

static void shape_range(Node *n, int rank, int64_t *start, int64_t *end)
{
    int64_t s = ir_attr_int(n, "start", 0), e = ir_attr_int(n, "end", rank);
    if (s < 0)
        s += rank;
    if (e < 0)
        e += rank;
    s = s < 0 ? 0 : s > rank ? rank : s;
    e = e < 0 ? 0 : e > rank ? rank : e;
    *start = s;
    *end = e > s ? e : s;
}

Status op_shape_infer(Graph *g, Node *n, Diag *d)
{
    (void)d;
    int64_t *r = arena_alloc(&g->arena, 2 * sizeof *r); /* start, end for the eval */
    shape_range(n, n->in[0]->ndim, &r[0], &r[1]);
    n->priv = r;
    int64_t len = r[1] - r[0];
    ir_tensor_set_shape(n->out[0], DT_I64, 1, &len);
    return WR_OK;
}

Status op_shape_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)in;
    (void)d;
    const int64_t *r = n->priv;
    memcpy(out[0], n->in[0]->dim + r[0], sizeof(int64_t) * (size_t)(r[1] - r[0]));
    return WR_OK;
}

Status op_size_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    (void)d;
    ir_tensor_set_shape(n->out[0], DT_I64, 0, NULL);
    return WR_OK;
}

Status op_size_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)in;
    (void)d;
    *(int64_t *)out[0] = ir_tensor_numel(n->in[0]);
    return WR_OK;
}
