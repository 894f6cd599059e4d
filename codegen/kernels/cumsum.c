/*
 * CumSum and CumProd: for each (outer, inner) position a running sum
 * (product) along the axis in the element type, forwards or backwards,
 * inclusive or exclusive.
 */
#include "move.h"

Status cg_cumsum_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const AxisParams *p = n->priv;
    if (ir_tensor_numel(n->out[0]) == 0)
        return WR_OK;
    const char *it = cg_index_type(ir_tensor_numel(n->out[0]));
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0), *T = cg_ctype(n->out[0]->dtype);
    long long len = (long long)p->len, inner = (long long)p->inner;
    cg_open(e, "for (%s o = 0; o < %lld; o++)", it, (long long)p->outer);
    cg_open(e, "for (%s k = 0; k < %lld; k++)", it, inner);
    const char *op = p->reduction == 2 ? "*" : "+";
    cg_line(e, "%s acc = %d;", T, p->reduction == 2);
    cg_open(e, "for (%s j = 0; j < %lld; j++)", it, len);
    if (p->flag_b) /* reverse: from the end of the axis */
        cg_line(e, "const %s at = (o * %lld + %lld - j) * %lld + k;", it, len, len - 1, inner);
    else
        cg_line(e, "const %s at = (o * %lld + j) * %lld + k;", it, len, inner);
    if (p->flag_a) {
        cg_line(e, "%s[at] = acc;", Y);
        cg_line(e, "acc = (%s)(acc %s %s[at]);", T, op, X);
    } else {
        cg_line(e, "acc = (%s)(acc %s %s[at]);", T, op, X);
        cg_line(e, "%s[at] = acc;", Y);
    }
    cg_close(e);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}

Status cg_cumprod_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_cumsum_emit(e, n, d);
}
