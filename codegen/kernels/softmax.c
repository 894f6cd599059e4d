/*
 * Softmax, LogSoftmax, Hardmax over (outer, len, inner): per row, a max
 * scan (subtracted before exp so large inputs do not overflow), a sum of
 * exponentials in double, then the outputs. Hardmax marks the first max.
 */
#include "codegen.h"
#include "opparams.h"

Status cg_softmax_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const SoftmaxParams *p = n->priv;
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0), *ct = cg_ctype(n->out[0]->dtype);
    long long L = (long long)p->len, I = (long long)p->inner;
    cg_open(e, "for (int64_t o = 0; o < %lld; o++)", (long long)p->outer);
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", I);
    cg_line(e, "const %s *x = %s + o * %lld + i;", ct, X, L * I);
    cg_line(e, "%s *y = %s + o * %lld + i;", ct, Y, L * I);
    cg_line(e, "%s m = x[0];", ct);
    cg_line(e, "int64_t arg = 0;");
    cg_open(e, "for (int64_t j = 1; j < %lld; j++)", L);
    cg_line(e, "if (x[j * %lld] > m) { m = x[j * %lld]; arg = j; }", I, I);
    cg_close(e);
    if (n->op == OP_HARDMAX) {
        cg_open(e, "for (int64_t j = 0; j < %lld; j++)", L);
        cg_line(e, "y[j * %lld] = j == arg ? 1 : 0;", I);
        cg_close(e);
    } else {
        cg_line(e, "double s = 0.0;");
        cg_line(e, "(void)arg;");
        cg_open(e, "for (int64_t j = 0; j < %lld; j++)", L);
        if (n->op == OP_SOFTMAX) { /* keep the exponentials: one exp per element */
            cg_line(e, "const double v = exp((double)x[j * %lld] - (double)m);", I);
            cg_line(e, "y[j * %lld] = (%s)v;", I, ct);
            cg_line(e, "s += v;");
        } else
            cg_line(e, "s += exp((double)x[j * %lld] - (double)m);", I);
        cg_close(e);
        cg_open(e, "for (int64_t j = 0; j < %lld; j++)", L);
        if (n->op == OP_SOFTMAX)
            cg_line(e, "y[j * %lld] = (%s)((double)y[j * %lld] / s);", I, ct, I);
        else
            cg_line(e, "y[j * %lld] = (%s)((double)x[j * %lld] - (double)m - log(s));", I, ct,
                    I);
        cg_close(e);
    }
    cg_close(e);
    cg_close(e);
    return WR_OK;
}
