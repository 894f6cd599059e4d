/*
 * Col2Im and MaxUnpool (reference: ir/ops/col2im.c). Col2Im: zero, then
 * one accumulation per column value through the constant offset table.
 * MaxUnpool: zero, then one store per input element at its index, remapped
 * digit by digit when the output shape is larger than the unpooled one.
 */
#include "codegen.h"
#include "opparams.h"

Status cg_col2im_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const UnfoldParams *p = n->priv;
    const char *ct = cg_ctype(n->out[0]->dtype), *Y = cg_out(e, 0);
    const char *tab = cg_const_array(e, "c2i", DT_I32, p->dst, p->K * p->L);
    long long KL = p->K * p->L;
    cg_line(e, "for (int64_t i = 0; i < %lld; i++) %s[i] = (%s)0;",
            (long long)ir_tensor_numel(n->out[0]), Y, ct);
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", (long long)p->NC);
    cg_line(e, "const %s *x = %s + c * %lld;", ct, cg_in(e, 0), KL);
    cg_line(e, "%s *y = %s + c * %lld;", ct, Y, (long long)p->plane);
    cg_line(e, "for (int64_t k = 0; k < %lld; k++) if (%s[k] >= 0) y[%s[k]] += x[k];", KL, tab,
            tab);
    cg_close(e);
    return WR_OK;
}

Status cg_maxunpool_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const UnfoldParams *p = n->priv;
    const char *ct = cg_ctype(n->out[0]->dtype), *Y = cg_out(e, 0), *I = cg_in(e, 1);
    long long total = (long long)ir_shape_numel(p->nd, p->inf);
    cg_line(e, "for (int64_t i = 0; i < %lld; i++) %s[i] = (%s)0;",
            (long long)ir_tensor_numel(n->out[0]), Y, ct);
    cg_open(e, "for (int64_t q = 0; q < %lld; q++)", (long long)p->count);
    cg_line(e, "int64_t i = %s[q], off = 0;", I);
    cg_line(e, "if (i < 0 || i >= %lld) continue;", total);
    long long st = 1;
    for (int k = p->nd - 1; k >= 0; k--) {
        cg_line(e, "off += (i %% %lld) * %lld;", (long long)p->inf[k], st);
        cg_line(e, "i /= %lld;", (long long)p->inf[k]);
        st *= p->outd[k];
    }
    cg_line(e, "%s[off] = %s[q];", Y, cg_in(e, 0));
    cg_close(e);
    return WR_OK;
}
