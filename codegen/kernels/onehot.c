/*
 * OneHot: fill the output with values[0] (off), then store values[1] (on) at
 * each valid index; indices outside [-depth, depth) store nothing.
 */
#include "move.h"

Status cg_onehot_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const AxisParams *p = n->priv;
    int64_t N = ir_tensor_numel(n->out[0]);
    if (N == 0)
        return WR_OK;
    const char *it = cg_index_type(N), *Y = cg_out(e, 0), *V = cg_in(e, 2), *I = cg_in(e, 0);
    long long len = (long long)p->len, inner = (long long)p->inner;
    cg_open(e, "for (%s i = 0; i < %lld; i++)", it, (long long)N);
    cg_line(e, "%s[i] = %s[0];", Y, V);
    cg_close(e);
    cg_open(e, "for (%s o = 0; o < %lld; o++)", it, (long long)p->outer);
    cg_open(e, "for (%s k = 0; k < %lld; k++)", it, inner);
    cg_line(e, "int64_t v = (int64_t)%s[o * %lld + k];", I, inner);
    cg_line(e, "v += v < 0 ? %lld : 0;", len);
    cg_open(e, "if (v >= 0 && v < %lld)", len);
    cg_line(e, "%s[(o * %lld + v) * %lld + k] = %s[1];", Y, len, inner, V);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}
