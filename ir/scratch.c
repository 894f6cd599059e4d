/*
 * scratch.c: workspace for kernels that need temporary buffers (attention
 * scores, transposed einsum operands...). Generated code has no malloc, so a
 * kernel's temporaries are one more output of its node: a tensor that nobody
 * reads, which memplan places in the workspace for the node's lifetime only.
 * Op infer functions add it after the node's ONNX outputs; reference evals
 * ignore it.
 */
#include "opparams.h"

#include <string.h>

Tensor *ir_node_add_scratch(Graph *g, Node *n, DType t, int64_t count)
{
    Tensor **out = arena_alloc(&g->arena, sizeof(Tensor *) * (size_t)(n->nout + 1));
    memcpy(out, n->out, sizeof(Tensor *) * (size_t)n->nout);
    Tensor *s = ir_tensor_fresh(g, arena_printf(&g->arena, "%s_scratch", n->name));
    int64_t dim[1] = {count > 0 ? count : 1};
    ir_tensor_set_shape(s, t, 1, dim);
    s->producer = n;
    out[n->nout] = s;
    n->out = out;
    n->nout++;
    return s;
}
