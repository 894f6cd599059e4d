/*
 * Relu: a flat loop; may run in place (out0 == in0).
 */
#include "codegen.h"

Status cg_relu_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    cg_open(e, "for (int32_t i = 0; i < %lld; i++)", (long long)ir_tensor_numel(n->out[0]));
    cg_line(e, "%s[i] = %s[i] > 0.0f ? %s[i] : 0.0f;", Y, X, X);
    cg_close(e);
    return WR_OK;
}
