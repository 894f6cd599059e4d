/*
 * Ops whose output is known at compile time (they always fold):
 *   Constant         value | value_float(s) | value_int(s) attribute -> the value
 *   ConstantOfShape  input (constant int64 shape), value (one element, default
 *                    float32 0) -> that shape filled with value
 *   Range            start, limit, delta (constant scalars) -> 1-D,
 *                    max(ceil((limit - start) / delta), 0) elements start + i * delta
 * codegen/kernels/constant.c copies the values (or fills) if ever emitted.
 */
#include "opparams.h"

#include <math.h>
#include <string.h>

Status op_constant_infer(Graph *g, Node *n, Diag *d)
{
    Tensor *v = arena_alloc(&g->arena, sizeof *v);
    const int64_t *ints;
    const float *floats;
    int cnt;
    if (ir_attr_find(n, "sparse_value") || ir_attr_find(n, "value_string") ||
        ir_attr_find(n, "value_strings"))
        return diag_node(d, WR_EUNSUPPORTED, n, "sparse and string constants are not supported");
    if (ir_attr_find(n, "value")) {
        Tensor *t = ir_attr_tensor(n, "value");
        if (!t)
            return diag_node(d, WR_EPARSE, n, "attribute 'value' must be a tensor");
        *v = *t;
    } else if (ir_attr_find(n, "value_float")) {
        float *p = arena_alloc(&g->arena, sizeof *p);
        *p = ir_attr_float(n, "value_float", 0);
        ir_tensor_set_shape(v, DT_F32, 0, NULL);
        v->data = p;
    } else if (ir_attr_find(n, "value_int")) {
        int64_t *p = arena_alloc(&g->arena, sizeof *p);
        *p = ir_attr_int(n, "value_int", 0);
        ir_tensor_set_shape(v, DT_I64, 0, NULL);
        v->data = p;
    } else if ((cnt = ir_attr_floats(n, "value_floats", &floats)) >= 0) {
        int64_t len = cnt;
        ir_tensor_set_shape(v, DT_F32, 1, &len);
        v->data = (void *)floats;
    } else if ((cnt = ir_attr_ints(n, "value_ints", &ints)) >= 0) {
        int64_t len = cnt;
        ir_tensor_set_shape(v, DT_I64, 1, &len);
        v->data = (void *)ints;
    } else
        return diag_node(d, WR_EPARSE, n, "no value attribute");
    ir_tensor_set_shape(n->out[0], v->dtype, v->ndim, v->dim);
    n->priv = v;
    return WR_OK;
}

Status op_constant_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)in;
    (void)d;
    const Tensor *v = n->priv;
    memcpy(out[0], v->data, (size_t)ir_tensor_bytes(v));
    return WR_OK;
}

Status op_constantofshape_infer(Graph *g, Node *n, Diag *d)
{
    const void *data;
    WR_TRY(ir_const_input(n, 0, &data, d));
    const Tensor *S = n->in[0];
    if (S->dtype != DT_I64 || S->ndim != 1 || S->dim[0] > IR_MAX_DIMS)
        return diag_node(d, WR_EPARSE, n, "input must be a short 1-D int64 tensor");
    const int64_t *dim = data;
    for (int k = 0; k < S->dim[0]; k++)
        if (dim[k] < 0)
            return diag_node(d, WR_ESHAPE, n, "shape[%d] is negative", k);
    static const float zero = 0;
    const Tensor *v = ir_attr_find(n, "value") ? ir_attr_tensor(n, "value") : NULL;
    if (v && ir_tensor_numel(v) != 1)
        return diag_node(d, WR_EPARSE, n, "value must hold one element");
    ir_tensor_set_shape(n->out[0], v ? v->dtype : DT_F32, (int)S->dim[0], dim);
    MoveParams *p = move_params_new(g, n, 0);
    p->fill[0] = v ? v->data : &zero;
    return WR_OK;
}

Status op_constantofshape_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}

Status op_range_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    const void *v[3];
    DType t = n->in[0]->dtype;
    for (int i = 0; i < 3; i++) {
        WR_TRY(ir_const_input(n, i, &v[i], d));
        if (n->in[i]->dtype != t || ir_tensor_numel(n->in[i]) != 1)
            return diag_node(d, WR_EPARSE, n, "start, limit, delta must be scalars of one type");
    }
    if (t != DT_F32 && t != DT_F64 && t != DT_I16 && t != DT_I32 && t != DT_I64)
        return diag_node(d, WR_EUNSUPPORTED, n, "dtype %s is not supported",
                         dtype_info[t].name);
    int64_t len;
    if (dtype_is_float(t)) {
        double s = dtype_get_f64(t, v[0], 0), l = dtype_get_f64(t, v[1], 0),
               dl = dtype_get_f64(t, v[2], 0);
        double c = dl != 0 ? ceil((l - s) / dl) : -1;
        if (!(c < 1e12))
            return diag_node(d, WR_ESHAPE, n, "delta is 0 or the range is too long");
        len = c > 0 ? (int64_t)c : 0;
    } else {
        int64_t s = dtype_get_i64(t, v[0], 0), l = dtype_get_i64(t, v[1], 0),
                dl = dtype_get_i64(t, v[2], 0);
        if (dl == 0)
            return diag_node(d, WR_ESHAPE, n, "delta is 0");
        int64_t span = l - s;
        if (dl > 0)
            len = span > 0 ? (span - 1) / dl + 1 : 0;
        else
            len = span < 0 ? (-span - 1) / -dl + 1 : 0;
    }
    ir_tensor_set_shape(n->out[0], t, 1, &len);
    return WR_OK;
}

Status op_range_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    DType t = n->in[0]->dtype;
    int64_t N = ir_tensor_numel(n->out[0]);
    if (dtype_is_float(t)) {
        double s = dtype_get_f64(t, in[0], 0), dl = dtype_get_f64(t, in[2], 0);
        for (int64_t i = 0; i < N; i++)
            dtype_set_f64(t, out[0], i, s + (double)i * dl);
        return WR_OK;
    }
    int64_t s = dtype_get_i64(t, in[0], 0), dl = dtype_get_i64(t, in[2], 0);
    for (int64_t i = 0; i < N; i++) {
        int64_t x = s + i * dl;
        if (t == DT_I64)
            ((int64_t *)out[0])[i] = x;
        else if (t == DT_I32)
            ((int32_t *)out[0])[i] = (int32_t)x;
        else
            ((int16_t *)out[0])[i] = (int16_t)x;
    }
    return WR_OK;
}
