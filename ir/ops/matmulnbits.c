/*
 * com.microsoft::MatMulNBits (ONNX Runtime contrib op): weight-only
 * quantized matmul as quantized LLM exports write it.
 *   A (.., K) float32, B (N, kblocks, blob) uint8, scales (N * kblocks),
 *   [zero_points: packed uint8 or float], [g_idx: not supported], [bias (N)]
 *   -> Y (.., N) = A . ((code - zp) * scale)^T + bias
 * Per block the codes are summed against A as small integers, then scaled
 * once. Parameters: MatMulNBitsParams (ir/opparams.h); emitter
 * codegen/kernels/matmulnbits.c.
 */
#include "opparams.h"

static Status zero_points(const Node *n, MatMulNBitsParams *p, Diag *d)
{
    const Tensor *z = n->nin > 3 ? n->in[3] : NULL;
    p->zp_kind = 0;
    if (!z)
        return WR_OK;
    int64_t packed = p->N * ((p->kblocks * p->bits + 7) / 8);
    if (z->dtype == DT_U8 && ir_tensor_numel(z) == packed)
        p->zp_kind = 1;
    else if (z->dtype == DT_F32 && ir_tensor_numel(z) == p->N * p->kblocks)
        p->zp_kind = 2;
    else
        return diag_node(d, WR_ESHAPE, n, "zero_points must be packed uint8 (%lld bytes) or "
                                          "float32 (%lld)", (long long)packed,
                         (long long)(p->N * p->kblocks));
    return WR_OK;
}

Status op_matmulnbits_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *A = n->in[0], *B = n->in[1], *S = n->in[2];
    MatMulNBitsParams *p = arena_alloc(&g->arena, sizeof *p);
    p->K = ir_attr_int(n, "K", 0), p->N = ir_attr_int(n, "N", 0);
    p->bits = ir_attr_int(n, "bits", 4), p->block = ir_attr_int(n, "block_size", 0);
    if (p->bits != 2 && p->bits != 4 && p->bits != 8)
        return diag_node(d, WR_EUNSUPPORTED, n, "bits = %lld (2, 4 or 8 are supported)",
                         (long long)p->bits);
    if (p->K < 1 || p->N < 1 || p->block < 16 || (p->block & (p->block - 1)))
        return diag_node(d, WR_EPARSE, n, "K, N must be positive and block_size a power of "
                                          "2 >= 16");
    if (A->dtype != DT_F32 || S->dtype != DT_F32 || B->dtype != DT_U8)
        return diag_node(d, WR_EUNSUPPORTED, n, "A and scales must be float32, B uint8");
    if (n->nin > 4 && n->in[4])
        return diag_node(d, WR_EUNSUPPORTED, n, "g_idx is not supported");
    p->kblocks = (p->K + p->block - 1) / p->block;
    p->blob = p->block * p->bits / 8;
    if (A->ndim < 1 || A->dim[A->ndim - 1] != p->K)
        return diag_node(d, WR_ESHAPE, n, "A's last dim must be K = %lld", (long long)p->K);
    if (ir_tensor_numel(B) != p->N * p->kblocks * p->blob ||
        ir_tensor_numel(S) != p->N * p->kblocks)
        return diag_node(d, WR_ESHAPE, n, "B or scales do not match N, K and block_size");
    WR_TRY(zero_points(n, p, d));
    const Tensor *bias = n->nin > 5 ? n->in[5] : NULL;
    if (bias && (bias->dtype != DT_F32 || ir_tensor_numel(bias) != p->N))
        return diag_node(d, WR_ESHAPE, n, "bias must be float32 of %lld", (long long)p->N);
    p->bias = bias != NULL;
    p->M = ir_tensor_numel(A) / p->K;
    int64_t dim[IR_MAX_DIMS];
    for (int i = 0; i < A->ndim - 1; i++)
        dim[i] = A->dim[i];
    dim[A->ndim - 1] = p->N;
    ir_tensor_set_shape(n->out[0], DT_F32, A->ndim, dim);
    n->priv = p;
    return WR_OK;
}

/* Code j (bits wide, low bits first) of the packed bytes at b. */
static int32_t code(const uint8_t *b, int64_t j, int64_t bits)
{
    int64_t bit = j * bits;
    return (b[bit / 8] >> (bit % 8)) & ((1 << bits) - 1);
}

/* The zero point of (row n, block k). */
static float zp_ref(const MatMulNBitsParams *p, const void *z, int64_t n, int64_t k)
{
    if (p->zp_kind == 1)
        return (float)code((const uint8_t *)z + n * ((p->kblocks * p->bits + 7) / 8), k, p->bits);
    if (p->zp_kind == 2)
        return ((const float *)z)[n * p->kblocks + k];
    return (float)(1 << (p->bits - 1));
}

Status op_matmulnbits_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const MatMulNBitsParams *p = n->priv;
    const float *A = in[0], *S = in[2], *bias = p->bias ? in[5] : NULL;
    const uint8_t *B = in[1];
    float *Y = out[0];
    for (int64_t m = 0; m < p->M; m++)
        for (int64_t j = 0; j < p->N; j++) {
            double acc = 0.0;
            for (int64_t k = 0; k < p->kblocks; k++) {
                const uint8_t *blob = B + (j * p->kblocks + k) * p->blob;
                float z = zp_ref(p, p->zp_kind ? in[3] : NULL, j, k);
                double s = 0.0;
                for (int64_t i = 0; i < p->block && k * p->block + i < p->K; i++)
                    s += (double)A[m * p->K + k * p->block + i] *
                         ((double)code(blob, i, p->bits) - (double)z);
                acc += s * S[j * p->kblocks + k];
            }
            Y[m * p->N + j] = (float)(acc + (bias ? bias[j] : 0.0));
        }
    return WR_OK;
}
