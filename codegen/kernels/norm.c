/*
 * Normalizations over X viewed as (outer, C, inner), shapes constant:
 * BatchNorm folds scale/sqrt(var+eps) per channel; InstanceNorm and
 * LayerNorm take a two-pass mean / variance in double per row; LRN sums
 * squares over the channel window.
 */
#include "codegen.h"
#include "opparams.h"

#include <stdio.h>

Status cg_batchnorm_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    const char *ct = cg_ctype(n->out[0]->dtype), *X = cg_in(e, 0), *Y = cg_out(e, 0);
    cg_open(e, "for (int64_t o = 0; o < %lld; o++)", (long long)p->outer);
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", (long long)p->C);
    cg_line(e, "const double k = (double)%s[c] / sqrt((double)%s[c] + %.9g);", cg_in(e, 1),
            cg_in(e, 4), (double)p->eps);
    cg_line(e, "const double m = (double)%s[c], b = (double)%s[c];", cg_in(e, 3), cg_in(e, 2));
    cg_line(e, "const int64_t base = (o * %lld + c) * %lld;", (long long)p->C,
            (long long)p->inner);
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", (long long)p->inner);
    cg_line(e, "%s[base + i] = (%s)(((double)%s[base + i] - m) * k + b);", Y, ct, X);
    for (int i = 0; i < 3; i++)
        cg_close(e);
    return WR_OK;
}

/* Declares m and inv: mean and 1/sqrt(var + eps) of x[0..len). */
static void row_stats(Emitter *e, long long len, float eps)
{
    cg_line(e, "double m = 0.0, v = 0.0;");
    cg_line(e, "for (int64_t i = 0; i < %lld; i++) m += (double)x[i];", len);
    cg_line(e, "m /= %lld.0;", len ? len : 1);
    cg_line(e, "for (int64_t i = 0; i < %lld; i++) v += ((double)x[i] - m) * ((double)x[i] - m);",
            len);
    cg_line(e, "const double inv = 1.0 / sqrt(v / %lld.0 + %.9g);", len ? len : 1, (double)eps);
}

Status cg_instancenorm_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    const char *ct = cg_ctype(n->out[0]->dtype);
    long long L = (long long)p->inner;
    cg_open(e, "for (int64_t o = 0; o < %lld; o++)", (long long)p->outer);
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", (long long)p->C);
    cg_line(e, "const %s *x = %s + (o * %lld + c) * %lld;", ct, cg_in(e, 0), (long long)p->C, L);
    cg_line(e, "%s *y = %s + (o * %lld + c) * %lld;", ct, cg_out(e, 0), (long long)p->C, L);
    row_stats(e, L, p->eps);
    cg_line(e, "const double k = inv * (double)%s[c], b = (double)%s[c];", cg_in(e, 1),
            cg_in(e, 2));
    cg_line(e, "for (int64_t i = 0; i < %lld; i++) y[i] = (%s)(((double)x[i] - m) * k + b);", L,
            ct);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}

Status cg_layernorm_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    const char *ct = cg_ctype(n->out[0]->dtype);
    long long L = (long long)p->inner;
    cg_open(e, "for (int64_t o = 0; o < %lld; o++)", (long long)p->outer);
    cg_line(e, "const %s *x = %s + o * %lld;", ct, cg_in(e, 0), L);
    cg_line(e, "%s *y = %s + o * %lld;", ct, cg_out(e, 0), L);
    row_stats(e, L, p->eps);
    char bias[64] = "";
    if (p->nbias)
        snprintf(bias, sizeof bias, " + (double)%s[i %% %lld]", cg_in(e, 2), (long long)p->nbias);
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", L);
    cg_line(e, "y[i] = (%s)(((double)x[i] - m) * inv * (double)%s[i %% %lld]%s);", ct,
            cg_in(e, 1), (long long)p->nscale, bias);
    cg_close(e);
    if (n->nout > 1 && n->out[1])
        cg_line(e, "%s[o] = (%s)m;", cg_out(e, 1), cg_ctype(n->out[1]->dtype));
    if (n->nout > 2 && n->out[2])
        cg_line(e, "%s[o] = (%s)inv;", cg_out(e, 2), cg_ctype(n->out[2]->dtype));
    cg_close(e);
    return WR_OK;
}

Status cg_lrn_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    const char *ct = cg_ctype(n->out[0]->dtype), *X = cg_in(e, 0);
    long long C = (long long)p->C, I = (long long)p->inner;
    long long lo = (long long)(p->size - 1) / 2, hi = (long long)p->size - 1 - lo;
    cg_open(e, "for (int64_t o = 0; o < %lld; o++)", (long long)p->outer);
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", C);
    cg_line(e, "const int64_t k0 = c - %lld < 0 ? 0 : c - %lld;", lo, lo);
    cg_line(e, "const int64_t k1 = c + %lld >= %lld ? %lld : c + %lld + 1;", hi, C, C, hi);
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", I);
    cg_line(e, "double s = 0.0;");
    cg_line(e, "for (int64_t k = k0; k < k1; k++) s += (double)%s[(o * %lld + k) * %lld + i] * "
               "(double)%s[(o * %lld + k) * %lld + i];", X, C, I, X, C, I);
    cg_line(e, "const int64_t j = (o * %lld + c) * %lld + i;", C, I);
    cg_line(e, "%s[j] = (%s)((double)%s[j] / pow(%.9g + %.9g * s, %.9g));", cg_out(e, 0), ct, X,
            (double)p->bias, (double)p->alpha / (double)p->size, (double)p->beta);
    for (int i = 0; i < 3; i++)
        cg_close(e);
    return WR_OK;
}

Status cg_rmsnorm_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    const char *ct = cg_ctype(n->out[0]->dtype);
    long long L = (long long)p->inner;
    cg_open(e, "for (int64_t o = 0; o < %lld; o++)", (long long)p->outer);
    cg_line(e, "const %s *x = %s + o * %lld;", ct, cg_in(e, 0), L);
    cg_line(e, "%s *y = %s + o * %lld;", ct, cg_out(e, 0), L);
    cg_line(e, "double ss = 0.0;");
    cg_line(e, "for (int64_t i = 0; i < %lld; i++) ss += (double)x[i] * (double)x[i];", L);
    cg_line(e, "const double inv = 1.0 / sqrt(ss / %lld.0 + %.9g);", L ? L : 1, (double)p->eps);
    cg_line(e, "for (int64_t i = 0; i < %lld; i++) y[i] = (%s)((double)x[i] * inv * "
               "(double)%s[i %% %lld]);", L, ct, cg_in(e, 1), (long long)p->nscale);
    cg_close(e);
    return WR_OK;
}

Status cg_groupnorm_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    const char *ct = cg_ctype(n->out[0]->dtype);
    long long G = (long long)p->size, CG = (long long)(p->C / p->size), I = (long long)p->inner;
    cg_open(e, "for (int64_t o = 0; o < %lld; o++)", (long long)p->outer);
    cg_open(e, "for (int64_t g = 0; g < %lld; g++)", G);
    cg_line(e, "const %s *x = %s + (o * %lld + g) * %lld;", ct, cg_in(e, 0), G, CG * I);
    cg_line(e, "%s *y = %s + (o * %lld + g) * %lld;", ct, cg_out(e, 0), G, CG * I);
    row_stats(e, CG * I, p->eps);
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", CG);
    /* scale and bias per channel (opset 21) or per group (opset 18) */
    if (p->nscale == p->C)
        cg_line(e, "const int64_t k = g * %lld + c;", CG);
    else
        cg_line(e, "const int64_t k = g;");
    cg_line(e, "const double sc = inv * (double)%s[k], b = (double)%s[k];", cg_in(e, 1),
            cg_in(e, 2));
    cg_line(e, "for (int64_t i = 0; i < %lld; i++) y[c * %lld + i] = (%s)(((double)x[c * %lld + "
               "i] - m) * sc + b);", I, I, ct, I);
    for (int i = 0; i < 3; i++)
        cg_close(e);
    return WR_OK;
}

Status cg_lpnorm_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    const char *ct = cg_ctype(n->out[0]->dtype);
    long long C = (long long)p->C, I = (long long)p->inner;
    cg_open(e, "for (int64_t o = 0; o < %lld; o++)", (long long)p->outer);
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", I);
    cg_line(e, "const %s *x = %s + o * %lld + i;", ct, cg_in(e, 0), C * I);
    cg_line(e, "%s *y = %s + o * %lld + i;", ct, cg_out(e, 0), C * I);
    cg_line(e, "double s = 0.0;");
    if (p->size == 1)
        cg_line(e, "for (int64_t c = 0; c < %lld; c++) s += fabs((double)x[c * %lld]);", C, I);
    else
        cg_line(e, "for (int64_t c = 0; c < %lld; c++) s += (double)x[c * %lld] * "
                   "(double)x[c * %lld];", C, I, I);
    cg_line(e, "const double nrm = %s;", p->size == 1 ? "s" : "sqrt(s)");
    cg_line(e, "for (int64_t c = 0; c < %lld; c++) y[c * %lld] = nrm == 0.0 ? (%s)0 : "
               "(%s)((double)x[c * %lld] / nrm);", C, I, ct, ct, I);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}

/* The group index expression of flat element i (dims not in axes). */
static void mvn_group_expr(Buf *b, const MvnParams *p)
{
    int64_t gs = 1, st = 1;
    buf_puts(b, "0");
    for (int k = p->ndim - 1; k >= 0; k--) {
        if (!p->red[k] && p->dim[k] > 1) {
            buf_printf(b, " + (i / %lld) %% %lld * %lld", (long long)st, (long long)p->dim[k],
                       (long long)gs);
            gs *= p->dim[k];
        }
        st *= p->dim[k];
    }
}

Status cg_mvn_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const MvnParams *p = n->priv;
    const char *ct = cg_ctype(n->out[0]->dtype), *X = cg_in(e, 0);
    long long N = (long long)ir_tensor_numel(n->in[0]), G = (long long)p->groups;
    long long per = G ? N / G : 0;
    Buf gx = {0};
    mvn_group_expr(&gx, p);
    cg_line(e, "double *s = %s;", cg_out(e, n->nout - 1));
    cg_line(e, "for (int64_t k = 0; k < %lld; k++) s[k] = 0.0;", 2 * G);
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", N);
    cg_line(e, "const int64_t g = %s;", gx.p);
    cg_line(e, "s[2 * g] += (double)%s[i];", X);
    cg_line(e, "s[2 * g + 1] += (double)%s[i] * (double)%s[i];", X, X);
    cg_close(e);
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", N);
    cg_line(e, "const int64_t g = %s;", gx.p);
    cg_line(e, "const double m = s[2 * g] / %lld.0, v = s[2 * g + 1] / %lld.0 - m * m;", per,
            per);
    cg_line(e, "%s[i] = (%s)(((double)%s[i] - m) / (sqrt(v) + 1e-9));", cg_out(e, 0), ct, X);
    cg_close(e);
    buf_free(&gx);
    return WR_OK;
}
