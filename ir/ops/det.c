/*
 * Det: determinants of the (.., M, M) matrices of X -> (..), by LU
 * decomposition with partial pivoting in double. Emitter: codegen/kernels/det.c
 * (the same elimination on a copy of each matrix in the node's scratch).
 */
#include "opparams.h"

#include <math.h>
#include <stdlib.h>

Status op_det_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    if (X->dtype != DT_F32 && X->dtype != DT_F64)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 and float64 are supported");
    if (X->ndim < 2 || X->dim[X->ndim - 1] != X->dim[X->ndim - 2])
        return diag_node(d, WR_ESHAPE, n, "X must end in square matrices");
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim - 2, X->dim);
    int64_t M = X->dim[X->ndim - 1];
    ir_node_add_scratch(g, n, DT_F64, M * M);
    return WR_OK;
}

/* det of the M x M matrix a (overwritten). */
static double lu_det(double *a, int64_t M)
{
    double det = 1.0;
    for (int64_t k = 0; k < M; k++) {
        int64_t piv = k;
        for (int64_t i = k + 1; i < M; i++)
            if (fabs(a[i * M + k]) > fabs(a[piv * M + k]))
                piv = i;
        if (a[piv * M + k] == 0.0)
            return 0.0;
        if (piv != k) {
            for (int64_t j = 0; j < M; j++) {
                double t = a[k * M + j];
                a[k * M + j] = a[piv * M + j];
                a[piv * M + j] = t;
            }
            det = -det;
        }
        det *= a[k * M + k];
        for (int64_t i = k + 1; i < M; i++) {
            double f = a[i * M + k] / a[k * M + k];
            for (int64_t j = k; j < M; j++)
                a[i * M + j] -= f * a[k * M + j];
        }
    }
    return det;
}

Status op_det_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    DType t = n->in[0]->dtype;
    int64_t M = n->in[0]->dim[n->in[0]->ndim - 1], cnt = ir_tensor_numel(n->out[0]);
    double *a = calloc((size_t)(M * M + 1), sizeof *a);
    if (!a)
        return diag_node(d, WR_ENOMEM, n, "out of memory");
    for (int64_t b = 0; b < cnt; b++) {
        for (int64_t i = 0; i < M * M; i++)
            a[i] = dtype_get_f64(t, in[0], b * M * M + i);
        dtype_set_f64(t, out[0], b, lu_det(a, M));
    }
    free(a);
    return WR_OK;
}
