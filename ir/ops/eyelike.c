/*
 * EyeLike: input (2-D, any dtype; only its shape matters) -> ones on the k-th
 * diagonal (k attribute, default 0), zeros elsewhere; dtype attribute or the
 * input's. Depends on shapes only (OPF_SHAPE_ONLY): it always folds;
 * codegen/kernels/eyelike.c copies the value if ever emitted.
 */
#include "ir.h"

#include <string.h>

Status op_eyelike_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    const Tensor *X = n->in[0];
    if (X->ndim != 2)
        return diag_node(d, WR_ESHAPE, n, "input must be 2-D");
    DType t = X->dtype;
    if (ir_attr_find(n, "dtype")) {
        t = dtype_from_onnx((int)ir_attr_int(n, "dtype", 1));
        if (t == DT_UNDEF)
            return diag_node(d, WR_EUNSUPPORTED, n, "the requested dtype is not supported");
    }
    int64_t *k = arena_alloc(&g->arena, sizeof *k);
    *k = ir_attr_int(n, "k", 0);
    n->priv = k;
    ir_tensor_set_shape(n->out[0], t, 2, X->dim);
    return WR_OK;
}

Status op_eyelike_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)in;
    (void)d;
    const Tensor *Y = n->out[0];
    int64_t k = *(const int64_t *)n->priv;
    memset(out[0], 0, (size_t)ir_tensor_bytes(Y));
    for (int64_t i = 0; i < Y->dim[0]; i++)
        if (i + k >= 0 && i + k < Y->dim[1])
            dtype_set_f64(Y->dtype, out[0], i * Y->dim[1] + i + k, 1.0);
    return WR_OK;
}
