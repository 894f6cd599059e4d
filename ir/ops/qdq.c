/*
 * QuantizeLinear / DequantizeLinear (ONNX QDQ), float32 <-> integer types.
 *   QuantizeLinear   x (any shape, float32), y_scale, y_zero_point? -> y (same shape, int)
 *     y = saturate(rint(x / y_scale) + y_zero_point), rint = half to even
 *   DequantizeLinear x (int8/uint8/int16/uint16/int32/int4/uint4/int2/uint2), x_scale,
 *     x_zero_point? -> y = (x - x_zero_point) * x_scale (float32)
 * Narrow float codes (float8*, float4e2m1) as in onnx's reference: Q rounds
 * x / y_scale (+ zero point for float4) to the type, saturating float8 unless
 * saturate=0; DQ computes (x - zero point) * scale, the float8 zero point
 * being zero by the spec and ignored.
 * Scale and zero point: per tensor, per axis (1-D along `axis`) or per block
 * (`block_size` along `axis`). Emitters: codegen/kernels/qdq.c.
 */
#include "ir.h"
#include "quant.h"

/* The narrow float types Q and DQ take: float8 and float4, not float16. */
static bool q_float(DType t)
{
    return dtype_is_narrow_float(t) && t != DT_F16 && t != DT_BF16 && t != DT_F8E8M0;
}

/* Integer range of a quantized output type; false when the type is not one. */
static bool q_range(DType t, int32_t *lo, int32_t *hi)
{
    switch (t) {
    case DT_U8: *lo = 0, *hi = 255; return true;
    case DT_I8: *lo = -128, *hi = 127; return true;
    case DT_U16: *lo = 0, *hi = 65535; return true;
    case DT_I16: *lo = -32768, *hi = 32767; return true;
    case DT_U4: *lo = 0, *hi = 15; return true;
    case DT_I4: *lo = -8, *hi = 7; return true;
    case DT_U2: *lo = 0, *hi = 3; return true;
    case DT_I2: *lo = -2, *hi = 1; return true;
    case DT_I32: *lo = INT32_MIN, *hi = INT32_MAX; return true;
    case DT_F32:
    DT_NARROW_FLOAT_CASES:
    case DT_I64:
    case DT_BOOL:
    case DT_F64:
    case DT_U32:
    case DT_U64:
    case DT_UNDEF:
    case DT_COUNT: break;
    }
    return false;
}

/* Fills the (outer, A, inner) view and checks the scale's shape. */
static Status layout(Node *n, const Tensor *x, const Tensor *s, QdqParams *p, Diag *d)
{
    int axis = 0;
    p->block = ir_attr_int(n, "block_size", 0);
    p->nscale = ir_tensor_numel(s);
    p->outer = p->A = p->inner = 1;
    int64_t ax = ir_attr_int(n, "axis", 1);
    /* per tensor: axis is ignored (it may not even fit the rank) */
    if (x->ndim > 0 && !(p->nscale == 1 && s->ndim <= 1 && !p->block))
        WR_TRY(ir_norm_axis(n, ax, x->ndim, &axis, d));
    for (int i = 0; i < x->ndim; i++)
        *(i < axis ? &p->outer : i == axis ? &p->A : &p->inner) *= x->dim[i];
    if (s->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "scale must be float32, not %s",
                         dtype_info[s->dtype].name);
    if (p->block < 0)
        return diag_node(d, WR_EPARSE, n, "block_size %lld < 0", (long long)p->block);
    if (p->block) {
        bool ok = s->ndim == x->ndim;
        for (int i = 0; ok && i < x->ndim; i++)
            ok = s->dim[i] == (i == axis ? (x->dim[i] + p->block - 1) / p->block : x->dim[i]);
        if (!ok)
            return diag_node(d, WR_ESHAPE, n, "scale shape does not match block_size %lld",
                             (long long)p->block);
        return WR_OK;
    }
    if (p->nscale == 1 && s->ndim <= 1)
        return WR_OK;
    if (s->ndim != 1 || x->ndim == 0 || s->dim[0] != p->A)
        return diag_node(d, WR_ESHAPE, n, "scale must be a scalar or 1-D of size %lld",
                         (long long)p->A);
    return WR_OK;
}

static Status check_zp(Node *n, const Tensor *s, DType want, Diag *d)
{
    const Tensor *z = n->nin > 2 ? n->in[2] : NULL;
    if (!z)
        return WR_OK;
    if (z->dtype != want)
        return diag_node(d, WR_EUNSUPPORTED, n, "zero point is %s, expected %s",
                         dtype_info[z->dtype].name, dtype_info[want].name);
    if (ir_tensor_numel(z) != ir_tensor_numel(s))
        return diag_node(d, WR_ESHAPE, n, "zero point and scale differ in size");
    return WR_OK;
}

Status op_quantize_linear_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *x = n->in[0], *s = n->in[1], *z = n->nin > 2 ? n->in[2] : NULL;
    QdqParams *p = arena_alloc(&g->arena, sizeof *p);
    int64_t odt = ir_attr_int(n, "output_dtype", 0);
    p->qtype = z ? z->dtype : odt ? dtype_from_onnx((int)odt) : DT_U8;
    if (x->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "x must be float32, not %s",
                         dtype_info[x->dtype].name);
    if (z && odt && dtype_from_onnx((int)odt) != z->dtype)
        return diag_node(d, WR_EPARSE, n, "output_dtype %lld disagrees with the zero point",
                         (long long)odt);
    p->sat = ir_attr_int(n, "saturate", 1) != 0;
    if (!q_float(p->qtype) && (!q_range(p->qtype, &p->lo, &p->hi) || p->qtype == DT_I32))
        return diag_node(d, WR_EUNSUPPORTED, n, "output type %s is not supported",
                         p->qtype ? dtype_info[p->qtype].name : "(unknown)");
    WR_TRY(layout(n, x, s, p, d));
    WR_TRY(check_zp(n, s, p->qtype, d));
    ir_tensor_set_shape(n->out[0], p->qtype, x->ndim, x->dim);
    n->priv = p;
    return WR_OK;
}

Status op_quantize_linear_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const QdqParams *p = n->priv;
    const float *X = in[0], *S = in[1];
    const void *Z = n->nin > 2 ? in[2] : NULL;
    for (int64_t o = 0, i = 0; o < p->outer; o++)
        for (int64_t a = 0; a < p->A; a++)
            for (int64_t r = 0; r < p->inner; r++, i++) {
                int64_t k = qdq_index(p, o, a, r);
                if (q_float(p->qtype)) {
                    float v = X[i] / S[k];
                    if (Z && p->qtype == DT_F4E2M1)
                        v += (float)dtype_get_f64(p->qtype, Z, k);
                    dtype_narrow_set(p->qtype, out[0], i, v, p->sat, 0);
                    continue;
                }
                int32_t zp = Z ? (int32_t)dtype_get_i64(p->qtype, Z, k) : 0;
                int32_t q = quant_linear_ref(X[i], S[k], zp, p->lo, p->hi);
                dtype_set_f64(p->qtype, out[0], i, q);
            }
    return WR_OK;
}

Status op_dequantize_linear_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *x = n->in[0], *s = n->in[1];
    QdqParams *p = arena_alloc(&g->arena, sizeof *p);
    p->qtype = x->dtype;
    if (!q_float(p->qtype) && !q_range(p->qtype, &p->lo, &p->hi))
        return diag_node(d, WR_EUNSUPPORTED, n, "x type %s is not supported",
                         dtype_info[x->dtype].name);
    int64_t odt = ir_attr_int(n, "output_dtype", 0);
    if (odt && dtype_from_onnx((int)odt) != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "output_dtype %lld (only float32)",
                         (long long)odt);
    WR_TRY(layout(n, x, s, p, d));
    WR_TRY(check_zp(n, s, p->qtype, d));
    ir_tensor_set_shape(n->out[0], DT_F32, x->ndim, x->dim);
    n->priv = p;
    return WR_OK;
}

Status op_dequantize_linear_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const QdqParams *p = n->priv;
    const float *S = in[1];
    const void *Z = n->nin > 2 ? in[2] : NULL;
    float *Y = out[0];
    for (int64_t o = 0, i = 0; o < p->outer; o++)
        for (int64_t a = 0; a < p->A; a++)
            for (int64_t r = 0; r < p->inner; r++, i++) {
                int64_t k = qdq_index(p, o, a, r);
                if (q_float(p->qtype)) {
                    float z = Z && p->qtype == DT_F4E2M1 ? (float)dtype_get_f64(p->qtype, Z, k)
                                                         : 0.0f;
                    Y[i] = ((float)dtype_get_f64(p->qtype, in[0], i) - z) * S[k];
                    continue;
                }
                int32_t zp = Z ? (int32_t)dtype_get_i64(p->qtype, Z, k) : 0;
                Y[i] = dequant_linear_ref((int32_t)dtype_get_i64(p->qtype, in[0], i), S[k], zp);
            }
    return WR_OK;
}
