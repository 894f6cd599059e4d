/*
 * Gemm: Y = alpha * A' . B' + beta * C, float32, all opsets.
 *   A (M, K) or (K, M) with transA   B (K, N) or (N, K) with transB
 *   C optional, unidirectionally broadcastable to (M, N)   ->  Y (M, N)
 * The reference eval is naive (double accumulation, then the fused
 * activation); the emitter is codegen/kernels/gemm.c (packed GEMM).
 */
#include "opparams.h"

static Status c_shape(const Node *n, const Tensor *C, GemmParams *p, Diag *d)
{
    p->cM = p->cN = 0;
    if (!C)
        return WR_OK;
    if (C->ndim > 2)
        return diag_node(d, WR_ESHAPE, n, "C has rank %d (at most 2)", C->ndim);
    p->cM = C->ndim == 2 ? C->dim[0] : 1;
    p->cN = C->ndim >= 1 ? C->dim[C->ndim - 1] : 1;
    if ((p->cM != 1 && p->cM != p->M) || (p->cN != 1 && p->cN != p->N))
        return diag_node(d, WR_ESHAPE, n, "C (%lld x %lld) does not broadcast to (%lld x %lld)",
                         (long long)p->cM, (long long)p->cN, (long long)p->M, (long long)p->N);
    return WR_OK;
}

Status op_gemm_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *A = n->in[0], *B = n->in[1], *C = n->nin > 2 ? n->in[2] : NULL;
    if (A->dtype != DT_F32 || B->dtype != DT_F32 || (C && C->dtype != DT_F32))
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 is supported");
    if (A->ndim != 2 || B->ndim != 2)
        return diag_node(d, WR_ESHAPE, n, "A and B must have rank 2 (got %d and %d)", A->ndim,
                         B->ndim);
    GemmParams *p = arena_alloc(&g->arena, sizeof *p);
    p->transA = ir_attr_int(n, "transA", 0) != 0;
    p->transB = ir_attr_int(n, "transB", 0) != 0;
    p->alpha = ir_attr_float(n, "alpha", 1.0f);
    p->beta = ir_attr_float(n, "beta", 1.0f);
    p->M = A->dim[p->transA];
    p->K = A->dim[!p->transA];
    p->N = B->dim[!p->transB];
    if (B->dim[p->transB] != p->K)
        return diag_node(d, WR_ESHAPE, n, "inner dimensions differ: %lld and %lld",
                         (long long)p->K, (long long)B->dim[p->transB]);
    WR_TRY(c_shape(n, C, p, d));
    int64_t dim[2] = {p->M, p->N};
    ir_tensor_set_shape(n->out[0], DT_F32, 2, dim);
    n->priv = p;
    return WR_OK;
}

Status op_gemm_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    const GemmParams *p = n->priv;
    const float *A = in[0], *B = in[1], *C = n->nin > 2 && n->in[2] ? in[2] : NULL;
    float *Y = out[0];
    for (int64_t m = 0; m < p->M; m++)
        for (int64_t j = 0; j < p->N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < p->K; k++) {
                float a = p->transA ? A[k * p->M + m] : A[m * p->K + k];
                float b = p->transB ? B[j * p->K + k] : B[k * p->N + j];
                acc += (double)a * b;
            }
            float v = p->alpha * (float)acc;
            if (C)
                v += p->beta * C[(p->cM > 1 ? m * p->cN : 0) + (p->cN > 1 ? j : 0)];
            Y[m * p->N + j] = ir_act_apply(n, v);
        }
    (void)d;
    return WR_OK;
}
