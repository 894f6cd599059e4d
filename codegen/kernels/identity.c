/*
 * Identity: a copy, emitted only when the memory plan could not make Y a
 * view of X (for example when Y is a graph output).
 */
#include "codegen.h"

Status cg_identity_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    cg_line(e, "memcpy(%s, %s, %lld);", cg_out(e, 0), cg_in(e, 0),
            (long long)ir_tensor_bytes(n->out[0]));
    return WR_OK;
}
