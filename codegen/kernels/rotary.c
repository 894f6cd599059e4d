/*
 * RotaryEmbedding (reference: ir/ops/rotary.c): one loop nest over batch,
 * position and head; the cache row is read (and clamped) once per position.
 */
#include "codegen.h"
#include "opparams.h"

Status cg_rotary_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const RotaryParams *p = n->priv;
    long long S = p->S, H = p->H, D = p->D, half = p->rd / 2, rows = p->rows;
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)p->B);
    cg_open(e, "for (int64_t s = 0; s < %lld; s++)", S);
    if (p->pos) {
        cg_line(e, "int64_t r = %s[b * %lld + s];", cg_in(e, 3), S);
        cg_line(e, "r = r < 0 ? 0 : r >= %lld ? %lld : r;", rows, rows - 1);
    } else {
        cg_line(e, "const int64_t r = b * %lld + s;", S);
    }
    cg_line(e, "const float *c = %s + r * %lld, *sn = %s + r * %lld;", cg_in(e, 1), half,
            cg_in(e, 2), half);
    cg_open(e, "for (int64_t h = 0; h < %lld; h++)", H);
    if (p->in3d)
        cg_line(e, "const int64_t o = ((b * %lld + s) * %lld + h) * %lld;", S, H, D);
    else
        cg_line(e, "const int64_t o = ((b * %lld + h) * %lld + s) * %lld;", H, S, D);
    cg_line(e, "const float *x = %s + o;", cg_in(e, 0));
    cg_line(e, "float *y = %s + o;", cg_out(e, 0));
    if (p->rd < p->D)
        cg_line(e, "for (int64_t i = %lld; i < %lld; i++) y[i] = x[i];", (long long)p->rd, D);
    cg_open(e, "for (int64_t k = 0; k < %lld; k++)", half);
    if (p->interleaved)
        cg_line(e, "const int64_t i1 = 2 * k, i2 = 2 * k + 1;");
    else
        cg_line(e, "const int64_t i1 = k, i2 = k + %lld;", half);
    cg_line(e, "const float x1 = x[i1], x2 = x[i2];");
    cg_line(e, "y[i1] = c[k] * x1 - sn[k] * x2;");
    cg_line(e, "y[i2] = sn[k] * x1 + c[k] * x2;");
    for (int i = 0; i < 4; i++)
        cg_close(e);
    return WR_OK;
}
