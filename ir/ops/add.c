/*
 * Add: C = A + B with numpy broadcasting, float32.
 */
#include "ir.h"

Status op_add_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    const Tensor *A = n->in[0], *B = n->in[1];
    if (A->dtype != DT_F32 || B->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 is supported");
    int nd;
    int64_t dim[IR_MAX_DIMS];
    WR_TRY(ir_broadcast_shape(n, A->ndim, A->dim, B->ndim, B->dim, &nd, dim, d));
    ir_tensor_set_shape(n->out[0], DT_F32, nd, dim);
    return WR_OK;
}

/* Index into a broadcast operand of shape (nd, dim) for flat output index i. */
static int64_t bcast_index(const Tensor *y, const Tensor *x, int64_t i)
{
    int64_t idx = 0, stride = 1;
    for (int k = y->ndim - 1, kx = x->ndim - 1; k >= 0; k--, kx--) {
        int64_t c = i % y->dim[k];
        i /= y->dim[k];
        if (kx >= 0) {
            if (x->dim[kx] != 1)
                idx += c * stride;
            stride *= x->dim[kx];
        }
    }
    return idx;
}

Status op_add_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const float *A = in[0], *B = in[1];
    float *C = out[0];
    const Tensor *y = n->out[0];
    for (int64_t i = 0, N = ir_tensor_numel(y); i < N; i++)
        C[i] = A[bcast_index(y, n->in[0], i)] + B[bcast_index(y, n->in[1], i)];
    return WR_OK;
}
