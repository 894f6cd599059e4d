/*
 * QONNX Quant / IntQuant, BipolarQuant, Trunc: one loop nest over X; scale
 * and zero point are indexed through their broadcast strides. The float32
 * operation order is that of ir/quant.c (the reference evals in
 * ir/ops/qonnx.c), so results agree bit for bit.
 */
#include "codegen.h"
#include "quant.h"

#include <stdio.h>

/* C expression of the index into x (broadcast to y) inside loops i0..i{n-1}. */
static const char *bidx_expr(Emitter *e, const Tensor *y, const Tensor *x)
{
    char buf[512];
    size_t k = (size_t)snprintf(buf, sizeof buf, "0");
    int64_t stride = 1;
    for (int dy = y->ndim - 1, dx = x->ndim - 1; dy >= 0 && dx >= 0; dy--, dx--) {
        if (x->dim[dx] != 1 && k < sizeof buf)
            k += (size_t)snprintf(buf + k, sizeof buf - k, " + i%d * %lld", dy, (long long)stride);
        stride *= x->dim[dx];
    }
    return arena_printf(&((Graph *)e->g)->arena, "%s", buf);
}

static void open_loops(Emitter *e, const Tensor *y)
{
    const char *it = ir_tensor_numel(y) < INT32_MAX ? "int32_t" : "int64_t";
    cg_line(e, "%s o = 0;", it);
    cg_open(e, "do");
    for (int k = 0; k < y->ndim; k++)
        cg_open(e, "for (%s i%d = 0; i%d < %lld; i%d++)", it, k, k, (long long)y->dim[k], k);
}

static void close_loops(Emitter *e, const Tensor *y)
{
    cg_line(e, "o++;");
    for (int k = 0; k < y->ndim; k++)
        cg_close(e);
    cg_close_with(e, " while (0);");
}

/* The C rounding of v for mode (same functions as quant_round_ref). */
static const char *round_fmt(QRound m)
{
    switch (m) {
    case QROUND_HALF_EVEN: return "nearbyintf(%s)";
    case QROUND_TO_ZERO: return "truncf(%s)";
    case QROUND_CEIL: return "ceilf(%s)";
    case QROUND_FLOOR: return "floorf(%s)";
    case QROUND_HALF_UP: return "floorf(%s + 0.5f)";
    case QROUND_HALF_DOWN: return "ceilf(%s - 0.5f)";
    }
    return "nearbyintf(%s)";
}

static void round_line(Emitter *e, QRound m, const char *lhs, const char *v)
{
    char expr[128];
    snprintf(expr, sizeof expr, round_fmt(m), v);
    cg_line(e, "%s = %s;", lhs, expr);
}

Status cg_quant_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const QonnxParams *p = n->priv;
    const Tensor *y = n->out[0];
    const char *X = cg_in(e, 0), *S = cg_in(e, 1), *Z = cg_in(e, 2), *Y = cg_out(e, 0);
    double lo, hi;
    quant_int_range(p->bits, p->is_signed, p->narrow, &lo, &hi);
    open_loops(e, y);
    cg_line(e, "const float s = %s[%s], z = %s[%s];", S, bidx_expr(e, y, n->in[1]), Z,
            bidx_expr(e, y, n->in[2]));
    cg_line(e, "float v = %s[o] / s + z;", X);
    round_line(e, p->round, "v", "v");
    /* compared in double, as the reference does with its double bounds */
    cg_line(e, "v = (double)v < %.1f ? (float)%.1f : (double)v > %.1f ? (float)%.1f : v;", lo, lo,
            hi, hi);
    cg_line(e, "%s[o] = (v - z) * s;", Y);
    close_loops(e, y);
    return WR_OK;
}

Status cg_bipolar_quant_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const Tensor *y = n->out[0];
    const char *X = cg_in(e, 0), *S = cg_in(e, 1), *Y = cg_out(e, 0);
    open_loops(e, y);
    cg_line(e, "const float s = %s[%s];", S, bidx_expr(e, y, n->in[1]));
    cg_line(e, "%s[o] = %s[o] >= 0.0f ? s : -s;", Y, X);
    close_loops(e, y);
    return WR_OK;
}

Status cg_trunc_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const QonnxParams *p = n->priv;
    const Tensor *y = n->out[0];
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    open_loops(e, y);
    cg_line(e, "float v = nearbyintf(%s[o] / %af + %af) / %af;", X, (double)p->scale,
            (double)p->zp, (double)p->trunc_scale);
    if (p->version == 2) {
        cg_line(e, "v = v > %af ? %af : v;", (double)p->hi, (double)p->hi);
        cg_line(e, "v = v < %af ? %af : v;", (double)p->lo, (double)p->lo);
    }
    round_line(e, p->round, "v", "v");
    float zp = p->version == 1 ? p->zp : p->zp / p->trunc_scale;
    float sc = p->version == 1 ? p->scale : p->out_scale;
    if (zp == 0.0f) /* v - 0 is v, sign of zero included: the subtraction goes */
        cg_line(e, "%s[o] = v * %af;", Y, (double)sc);
    else
        cg_line(e, "%s[o] = (v - %af) * %af;", Y, (double)zp, (double)sc);
    close_loops(e, y);
    return WR_OK;
}
