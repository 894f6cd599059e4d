/*
 * DFT and STFT (reference: ir/ops/signal.c): the plain O(n^2) transform per
 * signal, with the cosines and sines of 2 pi j / n in a constant table
 * indexed by (k * j) mod n. The windows and MelWeightMatrix depend on
 * constants only: their values are computed here by the reference and
 * copied from a constant array (they are folded before codegen unless
 * larger than the fold limit).
 */
#include "codegen.h"
#include "opparams.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Emits the table twc/tws of cos/sin(2 pi j / n), j < n; names into c, s. */
static void twiddles(Emitter *e, int64_t n, const char **c, const char **s)
{
    double *t = malloc(sizeof *t * (size_t)(2 * n));
    if (!t)
        wr_die(__FILE__, __LINE__, "out of memory");
    for (int64_t j = 0; j < n; j++) {
        t[j] = cos(2.0 * 3.14159265358979323846 * (double)j / (double)n);
        t[n + j] = sin(2.0 * 3.14159265358979323846 * (double)j / (double)n);
    }
    *c = cg_const_array(e, "twc", DT_F64, t, n);
    *s = cg_const_array(e, "tws", DT_F64, t + n, n);
    free(t);
}

/* The transform of x (stride xs, cin values) into y (stride ys), both pointers
 * declared by the caller; frame weights w[j] when win is set. */
static void transform(Emitter *e, const SignalParams *p, const char *ct, const char *win)
{
    const char *c, *s;
    twiddles(e, p->n, &c, &s);
    int64_t m = p->L < p->n ? p->L : p->n;
    if (p->inverse && p->onesided && m > p->n / 2 + 1)
        m = p->n / 2 + 1;
    long long n = p->n;
    cg_open(e, "for (int64_t k = 0; k < %lld; k++)", (long long)p->nout);
    cg_line(e, "double re = 0.0, im = 0.0;");
    cg_open(e, "for (int64_t j = 0; j < %lld; j++)", (long long)m);
    cg_line(e, "const double w = %s;", win ? win : "1.0");
    cg_line(e, "const double xr = (double)x[j * xs] * w;");
    cg_line(e, "const double xi = %s;", p->cin == 2 ? "(double)x[j * xs + 1] * w" : "0.0");
    cg_line(e, "const double c = %s[(k * j) %% %lld], s = %s[(k * j) %% %lld];", c, n, s, n);
    if (p->inverse && p->onesided) /* Hermitian extension of the one-sided input */
        cg_line(e, "re += (j == 0 || j == %lld ? 1.0 : 2.0) * (xr * c - xi * s);",
                n % 2 == 0 ? n / 2 : -1LL);
    else if (p->inverse)
        cg_line(e, "re += xr * c - xi * s, im += xi * c + xr * s;");
    else
        cg_line(e, "re += xr * c + xi * s, im += xi * c - xr * s;");
    cg_close(e);
    if (p->inverse)
        cg_line(e, "re /= %lld.0, im /= %lld.0;", n, n);
    if (p->cout == 1)
        cg_line(e, "(void)im;");
    cg_line(e, "y[k * ys] = (%s)re;", ct);
    if (p->cout == 2)
        cg_line(e, "y[k * ys + 1] = (%s)im;", ct);
    cg_close(e);
}

Status cg_dft_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const SignalParams *p = n->priv;
    const char *ct = cg_ctype(n->out[0]->dtype);
    long long I = p->inner;
    cg_open(e, "for (int64_t o = 0; o < %lld; o++)", (long long)p->outer);
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", I);
    cg_line(e, "const %s *x = %s + (o * %lld + i) * %lld;", ct, cg_in(e, 0), p->L * I,
            (long long)p->cin);
    cg_line(e, "%s *y = %s + (o * %lld + i) * %lld;", ct, cg_out(e, 0), p->nout * I,
            (long long)p->cout);
    cg_line(e, "const int64_t xs = %lld, ys = %lld;", I * p->cin, I * p->cout);
    transform(e, p, ct, NULL);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}

Status cg_stft_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const SignalParams *p = n->priv;
    const char *ct = cg_ctype(n->out[0]->dtype);
    SignalParams q = *p;
    q.L = p->n;
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)p->outer);
    cg_open(e, "for (int64_t f = 0; f < %lld; f++)", (long long)p->frames);
    cg_line(e, "const %s *x = %s + (b * %lld + f * %lld) * %lld;", ct, cg_in(e, 0),
            (long long)p->L, (long long)p->step, (long long)p->cin);
    cg_line(e, "%s *y = %s + (b * %lld + f) * %lld;", ct, cg_out(e, 0), (long long)p->frames,
            (long long)(p->nout * 2));
    cg_line(e, "const int64_t xs = %lld, ys = 2;", (long long)p->cin);
    const char *win = p->window ? arena_printf(&((Graph *)e->g)->arena, "(double)%s[j]",
                                               cg_in(e, 2)) : NULL;
    transform(e, &q, ct, win);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}

/* A node whose inputs are all constants: its reference result, copied. */
static Status constant_result(Emitter *e, const Node *n, Diag *d)
{
    void *in[8] = {NULL}, *out[1];
    for (int i = 0; i < n->nin && i < 8; i++) {
        if (n->in[i] && !n->in[i]->data)
            return diag_node(d, WR_EUNSUPPORTED, n, "input %d must be a constant", i);
        in[i] = n->in[i] ? n->in[i]->data : NULL;
    }
    int64_t bytes = ir_tensor_bytes(n->out[0]);
    out[0] = calloc(1, (size_t)(bytes ? bytes : 1));
    if (!out[0])
        wr_die(__FILE__, __LINE__, "out of memory");
    Status s = op_info[n->op].eval(n, in, out, d);
    if (s == WR_OK) {
        const char *v = cg_const_array(e, "val", n->out[0]->dtype, out[0],
                                       ir_tensor_numel(n->out[0]));
        cg_line(e, "memcpy(%s, %s, %lld);", cg_out(e, 0), v, (long long)bytes);
    }
    free(out[0]);
    return s;
}

Status cg_window_emit(Emitter *e, const Node *n, Diag *d) { return constant_result(e, n, d); }

Status cg_melweight_emit(Emitter *e, const Node *n, Diag *d) { return constant_result(e, n, d); }
