/*
 * MatMul: numpy matmul, float32.
 *   A (..., M, K) or (K)   B (..., K, N) or (K)   ->  Y (broadcast(...), M, N)
 * A 1-D A is a (1, K) row and a 1-D B a (K, 1) column whose unit dim is then
 * dropped from Y. Batch dims broadcast. The emitter is
 * codegen/kernels/matmul.c (packed GEMM per batch matrix).
 */
#include "opparams.h"

#include <string.h>

/* Row-major index of batch b of the output batch shape ob[0..nd) in an operand
 * batch shape x[0..nd) (right-aligned, size-1 dims broadcast). */
static int64_t batch_index(int64_t b, int nd, const int64_t *ob, const int64_t *x)
{
    int64_t idx = 0, stride = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int64_t c = b % ob[i];
        b /= ob[i];
        idx += (x[i] == 1 ? 0 : c) * stride;
        stride *= x[i];
    }
    return idx;
}

/* Batch dims of t as a rank-nd shape padded with leading 1s. */
static void batch_dims(const Tensor *t, int nd, int64_t *out)
{
    int tb = t->ndim > 2 ? t->ndim - 2 : 0;
    for (int i = 0; i < nd; i++)
        out[i] = i < nd - tb ? 1 : t->dim[i - (nd - tb)];
}

static Status set_output(Graph *g, Node *n, const Tensor *A, const Tensor *B, DType ty,
                         MatMulParams *p, Diag *d)
{
    int na = A->ndim > 2 ? A->ndim - 2 : 0, nb = B->ndim > 2 ? B->ndim - 2 : 0, nd;
    int64_t ab[IR_MAX_DIMS] = {0}, bb[IR_MAX_DIMS] = {0}, ob[IR_MAX_DIMS] = {0}, dim[IR_MAX_DIMS];
    WR_TRY(ir_broadcast_shape(n, na, A->dim, nb, B->dim, &nd, ob, d));
    WR_ASSERT(nd <= IR_MAX_DIMS - 2); /* both operands have rank <= IR_MAX_DIMS */
    batch_dims(A, nd, ab);
    batch_dims(B, nd, bb);
    p->nbatch = ir_shape_numel(nd, ob);
    p->na = ir_shape_numel(nd, ab);
    p->nb = ir_shape_numel(nd, bb);
    int r = nd;
    memcpy(dim, ob, sizeof(int64_t) * (size_t)nd);
    if (A->ndim > 1)
        dim[r++] = p->M;
    if (B->ndim > 1)
        dim[r++] = p->N;
    /* before the per-batch tables below: an empty output may still have many batches */
    WR_TRY(ir_check_out_shape(n, r, dim, d));
    if (p->nbatch < 0 || p->nbatch > (INT64_C(1) << 32))
        return diag_node(d, WR_EUNSUPPORTED, n, "more than 2^32 batches");
    p->aidx = arena_alloc(&g->arena, sizeof(int64_t) * (size_t)(p->nbatch + 1));
    p->bidx = arena_alloc(&g->arena, sizeof(int64_t) * (size_t)(p->nbatch + 1));
    for (int64_t b = 0; b < p->nbatch; b++) {
        p->aidx[b] = batch_index(b, nd, ob, ab);
        p->bidx[b] = batch_index(b, nd, ob, bb);
    }
    ir_tensor_set_shape(n->out[0], ty, r, dim);
    return WR_OK;
}

Status matmul_params(Graph *g, Node *n, const Tensor *A, const Tensor *B, DType ty,
                     MatMulParams **out, Diag *d)
{
    if (A->ndim < 1 || B->ndim < 1)
        return diag_node(d, WR_ESHAPE, n, "operands must have rank >= 1");
    MatMulParams *p = arena_alloc(&g->arena, sizeof *p);
    p->M = A->ndim > 1 ? A->dim[A->ndim - 2] : 1;
    p->K = A->dim[A->ndim - 1];
    p->N = B->ndim > 1 ? B->dim[B->ndim - 1] : 1;
    int64_t kb = B->ndim > 1 ? B->dim[B->ndim - 2] : B->dim[0];
    if (kb != p->K)
        return diag_node(d, WR_ESHAPE, n, "inner dimensions differ: %lld and %lld",
                         (long long)p->K, (long long)kb);
    WR_TRY(set_output(g, n, A, B, ty, p, d));
    *out = p;
    return WR_OK;
}

Status op_matmul_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *A = n->in[0], *B = n->in[1];
    if (A->dtype != DT_F32 || B->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 is supported");
    MatMulParams *p;
    WR_TRY(matmul_params(g, n, A, B, DT_F32, &p, d));
    n->priv = p;
    return WR_OK;
}

Status op_matmul_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    const MatMulParams *p = n->priv;
    const float *A = in[0], *B = in[1];
    float *Y = out[0];
    for (int64_t b = 0; b < p->nbatch; b++) {
        const float *a = A + p->aidx[b] * p->M * p->K, *bm = B + p->bidx[b] * p->K * p->N;
        for (int64_t m = 0; m < p->M; m++)
            for (int64_t j = 0; j < p->N; j++) {
                double acc = 0;
                for (int64_t k = 0; k < p->K; k++)
                    acc += (double)a[m * p->K + k] * bm[k * p->N + j];
                Y[(b * p->M + m) * p->N + j] = ir_act_apply(n, (float)acc);
            }
    }
    (void)d;
    return WR_OK;
}
