/*
 * Pad: constant mode is a fill then one strided copy (copyplan.c); edge,
 * reflect and wrap loop over the output with a constant table of input
 * coordinates per padded dim (unpadded dims index directly).
 */
#include "move.h"

#include <stdio.h>

Status cg_pad_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const PadParams *pp = n->priv;
    if (pp->move) {
        cg_move_emit_params(e, n, pp->move);
        return WR_OK;
    }
    const Tensor *X = n->in[0], *Y = n->out[0];
    int r = Y->ndim;
    int64_t N = ir_tensor_numel(Y), xs[IR_MAX_DIMS];
    if (N == 0)
        return WR_OK;
    move_strides(r, X->dim, xs);
    const char *it = cg_index_type(N > ir_tensor_numel(X) ? N : ir_tensor_numel(X));
    char expr[1024];
    size_t k = (size_t)snprintf(expr, sizeof expr, "0");
    for (int i = 0; i < r; i++) {
        if (pp->src[i]) {
            const char *t = cg_const_array(e, "padmap", DT_I32, pp->src[i], Y->dim[i]);
            k += (size_t)snprintf(expr + k, sizeof expr - k, " + %s[i%d] * %lld", t, i,
                                  (long long)xs[i]);
        } else
            k += (size_t)snprintf(expr + k, sizeof expr - k, " + i%d * %lld", i,
                                  (long long)xs[i]);
    }
    const char *Xn = cg_in(e, 0), *Yn = cg_out(e, 0);
    cg_line(e, "%s o = 0;", it);
    for (int i = 0; i < r; i++)
        cg_open(e, "for (%s i%d = 0; i%d < %lld; i%d++)", it, i, i, (long long)Y->dim[i], i);
    cg_line(e, "%s[o++] = %s[%s];", Yn, Xn, expr);
    for (int i = 0; i < r; i++)
        cg_close(e);
    return WR_OK;
}
