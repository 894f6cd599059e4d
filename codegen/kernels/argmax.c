/*
 * ArgMax and ArgMin: one scan along the axis per (outer, inner) position,
 * comparing in the element type.
 */
#include "move.h"

static Status arg_emit(Emitter *e, const Node *n)
{
    const AxisParams *p = n->priv;
    if (ir_tensor_numel(n->out[0]) == 0)
        return WR_OK;
    const char *it = cg_index_type(ir_tensor_numel(n->in[0]));
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0), *T = cg_ctype(n->in[0]->dtype);
    const char *cmp = p->flag_b ? (p->flag_a ? "<=" : "<") : (p->flag_a ? ">=" : ">");
    long long len = (long long)p->len, inner = (long long)p->inner;
    cg_open(e, "for (%s o = 0; o < %lld; o++)", it, (long long)p->outer);
    cg_open(e, "for (%s k = 0; k < %lld; k++)", it, inner);
    cg_line(e, "const %s *x = %s + o * %lld + k;", T, X, len * inner);
    cg_line(e, "%s best = x[0];", T);
    cg_line(e, "int64_t at = 0;");
    cg_open(e, "for (%s j = 1; j < %lld; j++)", it, len);
    cg_open(e, "if (x[j * %lld] %s best)", inner, cmp);
    cg_line(e, "best = x[j * %lld];", inner);
    cg_line(e, "at = j;");
    cg_close(e);
    cg_close(e);
    cg_line(e, "%s[o * %lld + k] = at;", Y, inner);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}

Status cg_argmax_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    return arg_emit(e, n);
}

Status cg_argmin_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    return arg_emit(e, n);
}
