/*
 * Resize / Upsample: the per-dim tap tables built by ir/ops/resize.c
 * become constant arrays (input index and weight per output coordinate and
 * tap); the kernel loops over output coordinates and sums the products of
 * the taps' weights. Dims left unchanged have a single tap of weight 1.
 */
#include "codegen.h"
#include "opparams.h"

#include <stdio.h>

/* Emits dim k's tables; names go into ix / wx / ox. */
static void tables(Emitter *e, const ResizeParams *p, int k, const char **ix, const char **wx,
                   const char **ox)
{
    int64_t cnt = p->out[k] * p->ntap[k];
    *ix = cg_const_array(e, "rs_idx", DT_I32, p->idx[k], cnt);
    *wx = cg_const_array(e, "rs_w", DT_F64, p->w[k], cnt);
    *ox = p->any_outside ? cg_const_array(e, "rs_out", DT_U8, p->outside[k], p->out[k]) : NULL;
}

Status cg_resize_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const ResizeParams *p = n->priv;
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    const char *ix[IR_MAX_DIMS], *wx[IR_MAX_DIMS], *ox[IR_MAX_DIMS];
    for (int k = 0; k < p->ndim; k++)
        tables(e, p, k, &ix[k], &wx[k], &ox[k]);
    cg_line(e, "int64_t j = 0;");
    for (int k = 0; k < p->ndim; k++)
        cg_open(e, "for (int64_t o%d = 0; o%d < %lld; o%d++)", k, k, (long long)p->out[k], k);
    if (p->any_outside) {
        cg_line(e, "if (0");
        for (int k = 0; k < p->ndim; k++)
            cg_line(e, "    || %s[o%d]", ox[k], k);
        cg_line(e, ") { %s[j++] = (float)%.9g; continue; }", Y, (double)p->extrapolation);
    }
    cg_line(e, "double acc = 0.0;");
    for (int k = 0; k < p->ndim; k++) {
        cg_open(e, "for (int64_t t%d = o%d * %d; t%d < o%d * %d + %d; t%d++)", k, k, p->ntap[k],
                k, k, p->ntap[k], p->ntap[k], k);
        if (k == 0) {
            cg_line(e, "const double w0 = %s[t0];", wx[0]);
            cg_line(e, "const int64_t x0 = %s[t0];", ix[0]);
            continue;
        }
        cg_line(e, "const double w%d = w%d * %s[t%d];", k, k - 1, wx[k], k);
        cg_line(e, "const int64_t x%d = x%d * %lld + %s[t%d];", k, k - 1, (long long)p->in[k],
                ix[k], k);
    }
    cg_line(e, "acc += w%d * (double)%s[x%d];", p->ndim - 1, X, p->ndim - 1);
    for (int k = 0; k < p->ndim; k++)
        cg_close(e);
    cg_line(e, "%s[j++] = (float)acc;", Y);
    for (int k = 0; k < p->ndim; k++)
        cg_close(e);
    return WR_OK;
}
