/*
 * Select (domain wrpnc): Y = cond ? A : B, whole tensors.
 *   cond (one bool), A, B (same type and shape) -> Y (that type and shape)
 * What an If whose condition is known only at run time becomes (if.c): one
 * Select per output, after both branches. codegen/kernels/select.c emits a
 * copy of the chosen input.
 */
#include "ir.h"

#include <string.h>

Status op_select_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    const Tensor *C = n->in[0], *A = n->in[1], *B = n->in[2];
    char sa[128], sb[128];
    if (ir_tensor_numel(C) != 1)
        return diag_node(d, WR_ESHAPE, n, "the condition must be one value");
    bool same = A->dtype == B->dtype && A->ndim == B->ndim;
    for (int k = 0; same && k < A->ndim; k++)
        same = A->dim[k] == B->dim[k];
    if (!same)
        return diag_node(d, WR_EUNSUPPORTED, n, "the branches give %s %s and %s %s: with a "
                         "condition known only at run time both must give the same type and "
                         "shape", dtype_info[A->dtype].name, ir_shape_str(A, sa, sizeof sa),
                         dtype_info[B->dtype].name, ir_shape_str(B, sb, sizeof sb));
    ir_tensor_set_shape(n->out[0], A->dtype, A->ndim, A->dim);
    return WR_OK;
}

Status op_select_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    bool c = dtype_get_i64(n->in[0]->dtype, in[0], 0) != 0;
    memcpy(out[0], c ? in[1] : in[2], (size_t)ir_tensor_bytes(n->out[0]));
    return WR_OK;
}
