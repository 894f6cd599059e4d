/*
 * Relu: Y = max(X, 0), elementwise, float32.
 */
#include "ir.h"

Status op_relu_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    const Tensor *X = n->in[0];
    if (X->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 is supported");
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    return WR_OK;
}

Status op_relu_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const float *X = in[0];
    float *Y = out[0];
    for (int64_t i = 0, N = ir_tensor_numel(n->out[0]); i < N; i++)
        Y[i] = X[i] > 0 ? X[i] : 0.0f;
    return WR_OK;
}
