/*
 * QuantizeLinear / DequantizeLinear: one loop nest over x viewed as
 * (outer, A, inner) around the axis; the scale index is 0 (per tensor), a (per
 * axis) or the block's index. Same float32 operation order as quant.c; narrow
 * float codes convert through runtime/wrpnc_float.h.
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

/* The zero point's parameter name, or NULL when absent or unread (float8 zero
 * points are zero by the spec and ignored, as by onnx's reference). */
static const char *zero_point(Emitter *e, const Node *n, const QdqParams *p)
{
    if (n->nin <= 2 || !n->in[2])
        return NULL;
    if (dtype_is_narrow_float(p->qtype) && p->qtype != DT_F4E2M1)
        return NULL;
    return cg_in(e, 2);
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
    const char *Z = zero_point(e, n, p);
    open_loops(e, p);
    if (dtype_is_narrow_float(p->qtype)) {
        int ot = dtype_info[p->qtype].onnx;
        cg_helper(e, "wrpnc_float.h", cg_runtime_file("wrpnc_float.h"));
        cg_line(e, "float v = %s[i] / %s[k];", X, S);
        if (Z)
            cg_line(e, "v += wrpnc_narrow_to_f32(%s[k], %d);", Z, ot);
        cg_line(e, "%s[i] = (%s)wrpnc_narrow_from_f64(v, %d, %d, 0);", Y, cg_ctype(p->qtype), ot,
                p->sat);
        close_loops(e);
        return WR_OK;
    }
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
    const char *Z = zero_point(e, n, p);
    open_loops(e, p);
    if (dtype_is_narrow_float(p->qtype)) {
        int ot = dtype_info[p->qtype].onnx;
        cg_helper(e, "wrpnc_float.h", cg_runtime_file("wrpnc_float.h"));
        if (Z)
            cg_line(e, "%s[i] = (wrpnc_narrow_to_f32(%s[i], %d) - wrpnc_narrow_to_f32(%s[k], %d)) "
                       "* %s[k];", Y, X, ot, Z, ot, S);
        else
            cg_line(e, "%s[i] = (wrpnc_narrow_to_f32(%s[i], %d) - 0.0f) * %s[k];", Y, X, ot, S);
    } else if (Z)
        cg_line(e, "%s[i] = ((float)%s[i] - (float)%s[k]) * %s[k];", Y, X, Z, S);
    else
        cg_line(e, "%s[i] = ((float)%s[i] - 0.0f) * %s[k];", Y, X, S);
    close_loops(e);
    return WR_OK;
}
