/*
 * Identity: Y = X. A view: the memory plan lets Y share X's storage, so it
 * usually costs nothing; codegen/kernels/identity.c copies otherwise.
 */
#include "ir.h"

#include <string.h>

Status op_identity_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    (void)d;
    const Tensor *X = n->in[0];
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    return WR_OK;
}

Status op_identity_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    memcpy(out[0], in[0], (size_t)ir_tensor_bytes(n->out[0]));
    return WR_OK;
}
