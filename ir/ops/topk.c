/*
 * TopK: the k largest (largest = 1) or smallest values along axis, sorted,
 * and their int64 indices; equal values keep the lower index first.
 *   X (..), K (1 element, constant) -> Values, Indices (X's shape with k on axis)
 * Opset 1 takes k as an attribute. Parameters in TopKParams (ir/opparams.h);
 * emitter codegen/kernels/topk.c (insertion into the output rows).
 */
#include "opparams.h"

#include <stdlib.h>
#include <string.h>

Status op_topk_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    if (X->dtype == DT_BOOL || dtype_is_narrow_float(X->dtype) || dtype_subbyte_bits(X->dtype))
        return diag_node(d, WR_EUNSUPPORTED, n, "type %s is not supported",
                         dtype_info[X->dtype].name);
    if (X->ndim < 1)
        return diag_node(d, WR_ESHAPE, n, "X must have rank >= 1");
    int axis;
    WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", -1), X->ndim, &axis, d));
    TopKParams *p = arena_alloc(&g->arena, sizeof *p);
    AxisParams ap;
    axis_split(&ap, X->ndim, X->dim, axis);
    p->outer = ap.outer, p->len = ap.len, p->inner = ap.inner;
    p->largest = ir_attr_int(n, "largest", 1) != 0;
    if (n->nin > 1 && n->in[1]) {
        const void *k;
        WR_TRY(ir_const_input(n, 1, &k, d));
        if (ir_tensor_numel(n->in[1]) != 1 || n->in[1]->dtype != DT_I64)
            return diag_node(d, WR_EPARSE, n, "K must be one int64");
        p->k = *(const int64_t *)k;
    } else {
        p->k = ir_attr_int(n, "k", -1);
    }
    if (p->k < 0 || p->k > p->len)
        return diag_node(d, WR_ESHAPE, n, "k = %lld is outside [0, %lld]", (long long)p->k,
                         (long long)p->len);
    int64_t dim[IR_MAX_DIMS];
    for (int i = 0; i < X->ndim; i++)
        dim[i] = i == axis ? p->k : X->dim[i];
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, dim);
    if (n->nout > 1 && n->out[1])
        ir_tensor_set_shape(n->out[1], DT_I64, X->ndim, dim);
    n->priv = p;
    return WR_OK;
}

/* Whether value a (index ia) goes before b (index ib). */
static bool before(const TopKParams *p, double a, int64_t ia, double b, int64_t ib)
{
    if (a != b)
        return p->largest ? a > b : a < b;
    return ia < ib;
}

/* The selected indices of one row (base xb, stride inner) into sel[0..k). */
static void row_ref(const TopKParams *p, DType t, const void *X, int64_t xb, int64_t *sel)
{
    int64_t cnt = 0;
    for (int64_t j = 0; j < p->len; j++) {
        double v = dtype_get_f64(t, X, xb + j * p->inner);
        int64_t pos = cnt;
        while (pos > 0 &&
               before(p, v, j, dtype_get_f64(t, X, xb + sel[pos - 1] * p->inner), sel[pos - 1]))
            pos--;
        if (pos >= p->k)
            continue;
        for (int64_t q = cnt < p->k ? cnt : p->k - 1; q > pos; q--)
            sel[q] = sel[q - 1];
        sel[pos] = j;
        cnt += cnt < p->k;
    }
}

Status op_topk_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    const TopKParams *p = n->priv;
    DType t = n->in[0]->dtype;
    size_t es = (size_t)dtype_info[t].bytes;
    int64_t *idx = n->nout > 1 && out[1] ? out[1] : NULL;
    int64_t *sel = calloc((size_t)(p->k + 1), sizeof *sel);
    if (!sel)
        return diag_node(d, WR_ENOMEM, n, "out of memory");
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t i = 0; i < p->inner; i++) {
            int64_t xb = o * p->len * p->inner + i, yb = o * p->k * p->inner + i;
            row_ref(p, t, in[0], xb, sel);
            for (int64_t q = 0; q < p->k; q++) {
                int64_t src = xb + sel[q] * p->inner, dst = yb + q * p->inner;
                memcpy((char *)out[0] + (size_t)dst * es, (const char *)in[0] + (size_t)src * es,
                       es);
                if (idx)
                    idx[dst] = sel[q];
            }
        }
    free(sel);
    return WR_OK;
}
