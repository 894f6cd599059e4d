/*
 * scratch.c: workspace for kernels that need temporary buffers (attention
 * scores, transposed einsum operands, recurrent gates...). Generated code has
 * no malloc, so a kernel's temporaries are one more output of its node: a
 * tensor that nobody reads, which memplan places in the workspace for the
 * node's lifetime only. Op infer functions add it; reference evals ignore it.
 *
 * The scratch always sits in slot max_out of an OPF_SCRATCH op, past every
 * ONNX output (absent ones are NULL): a second inference (after --width, for
 * --calibrate, a pass's ir_infer_node) finds it there and resizes it, instead
 * of taking it for an ONNX output or appending another.
 */
#include "opparams.h"

#include <string.h>

Tensor *ir_node_add_scratch(Graph *g, Node *n, DType t, int64_t count)
{
    int slot = op_info[n->op].max_out;
    WR_ASSERT(op_info[n->op].flags & OPF_SCRATCH && n->nout <= slot + 1);
    if (n->nout <= slot || !n->out[slot]) {
        Tensor **out = arena_alloc(&g->arena, sizeof(Tensor *) * (size_t)(slot + 1));
        memcpy(out, n->out, sizeof(Tensor *) * (size_t)(n->nout < slot ? n->nout : slot));
        out[slot] = ir_tensor_fresh(g, arena_printf(&g->arena, "%s_scratch", n->name));
        out[slot]->producer = n;
        out[slot]->scratch = true;
        n->out = out;
        n->nout = slot + 1;
    }
    int64_t dim[1] = {count > 0 ? count : 1};
    ir_tensor_set_shape(n->out[slot], t, 1, dim);
    return n->out[slot];
}
