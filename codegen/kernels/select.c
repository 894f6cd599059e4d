/*
 * Select: a copy of A or B, chosen by the condition at run time (the
 * reference eval and the shapes are in ir/ops/select.c).
 */
#include "codegen.h"

Status cg_select_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const char *C = cg_in(e, 0);
    cg_line(e, "memcpy(%s, %s[0] ? %s : %s, %lld);", cg_out(e, 0), C, cg_in(e, 1), cg_in(e, 2),
            (long long)ir_tensor_bytes(n->out[0]));
    return WR_OK;
}
