/*
 * QuantizeLinear / DequantizeLinear: one loop nest over x viewed as
 * (outer, A, inner) around the axis; the scale index is 0 (per tensor), a (per
 * axis) or the block's index. Same float32 operation order as quant.c.
 * Reference evals: ir/ops/qdq.c.
 */
#include "codegen.h"
#include "quant.h"

/* Opens the three loops and defines i (flat index) and k (scale index). */
static void open_loops(Emitter *e, const QdqParams *p)
{
    const char *it = p->outer * p->A * p->inner < INT32_MAX ? "int32_t" : "int64_t";
    cg_open(e, "for (%s o = 0; o < %lld; o++)", it, (long long)p->outer);
    cg_open(e, "for (%s a = 0; a < %lld; a++)", it, (long long)p->A);
    cg_open(e, "for (%s r = 0; r < %lld; r++)", it, (long long)p->inner);
    cg_line(e, "const %s i = (o * %lld + a) * %lld + r;", it, (long long)p->A,
            (long long)p->inner);
    if (p->nscale == 1)
        cg_line(e, "const %s k = 0;", it);
    else if (!p->block)
        cg_line(e, "const %s k = a;", it);
    else
        cg_line(e, "const %s k = (o * %lld + a / %lld) * %lld + r;", it,
                (long long)((p->A + p->block - 1) / p->block), (long long)p->block,
                (long long)p->inner);
    cg_line(e, "(void)k;");
}

static void close_loops(Emitter *e)
{
    for (int i = 0; i < 3; i++)
        cg_close(e);
}

Status cg_quantize_linear_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const QdqParams *p = n->priv;
    const char *X = cg_in(e, 0), *S = cg_in(e, 1), *Y = cg_out(e, 0);
    const char *Z = n->nin > 2 && n->in[2] ? cg_in(e, 2) : NULL;
    open_loops(e, p);
    cg_line(e, "const float v = nearbyintf(%s[i] / %s[k]) + %s%s%s;", X, S, Z ? "(float)" : "0.0f",
            Z ? Z : "", Z ? "[k]" : "");
    /* NaN fails both tests and saturates to the low end */
    cg_line(e, "%s[i] = (%s)(v >= %ld.0f ? (v <= %ld.0f ? v : %ld.0f) : %ld.0f);", Y,
            cg_ctype(p->qtype), (long)p->lo, (long)p->hi, (long)p->hi, (long)p->lo);
    close_loops(e);
    return WR_OK;
}

Status cg_dequantize_linear_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const QdqParams *p = n->priv;
    const char *X = cg_in(e, 0), *S = cg_in(e, 1), *Y = cg_out(e, 0);
    const char *Z = n->nin > 2 && n->in[2] ? cg_in(e, 2) : NULL;
    open_loops(e, p);
    if (Z)
        cg_line(e, "%s[i] = ((float)%s[i] - (float)%s[k]) * %s[k];", Y, X, Z, S);
    else
        cg_line(e, "%s[i] = ((float)%s[i] - 0.0f) * %s[k];", Y, X, S);
    close_loops(e);
    return WR_OK;
}
