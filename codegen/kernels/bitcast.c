/* BitCast (reference: ir/ops/bitcast.c): a byte copy. */
#include "codegen.h"

Status cg_bitcast_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    long long b = (long long)ir_tensor_bytes(n->out[0]);
    if (b)
        cg_line(e, "memcpy(%s, %s, %lld);", cg_out(e, 0), cg_in(e, 0), b);
    return WR_OK;
}
