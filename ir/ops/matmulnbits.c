/*
 * com.microsoft::MatMulNBits (ONNX Runtime contrib op): weight-only
 * quantized matmul as quantized LLM exports write it.
 *   A (.., K) float32, B (N, kblocks, blob) uint8, scales (N * kblocks),
 *   [zero_points: packed uint8 or float], [g_idx: not supported], [bias (N)]
 *   -> Y (.., N) = A . ((code - zp) * scale)^T + bias
 * accuracy_level 4 (int8 compute, as ONNX Runtime's CompInt8): each row of A
 * is quantized per block of K to int8 at run time, symmetric, scale = max|a| /
 * 127, a * (127 / max|a|) rounded to nearest even; per block an int32 dot
 * product of those codes with (code - zp), times a_scale * scale, summed in
 * float. Other levels (and the cases ONNX Runtime computes in fp32 at level 4:
 * float zero points, 2-bit codes in blocks other than 32 to 128) compute in
 * fp32. The int8 kernel keeps the quantized A in the node's scratch:
 *   int8 codes [M][kblocks * block] | float scales [M][kblocks] |
 *   float scale * sum of the codes [M][kblocks]
 * Parameters: MatMulNBitsParams (ir/opparams.h); emitter
 * codegen/kernels/matmulnbits.c.
 */
#include "opparams.h"

#include <math.h>
#include <stdlib.h>

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

/* int8 compute at accuracy_level 4 where ONNX Runtime takes it, else fp32 and why. */
static void compute_type(MatMulNBitsParams *p, int64_t level)
{
    p->int8 = false;
    if (level != 4)
        p->why_fp32 = "accuracy_level < 4 (fp32 compute)";
    else if (p->zp_kind == 2)
        p->why_fp32 = "float zero points (ONNX Runtime computes them in fp32)";
    else if (p->bits == 2 && (p->block < 32 || p->block > 128))
        p->why_fp32 = "2-bit codes in blocks other than 32 to 128 (ONNX Runtime: fp32)";
    else
        p->int8 = true, p->why_fp32 = NULL;
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
    compute_type(p, ir_attr_int(n, "accuracy_level", 0));
    ir_node_add_scratch(g, n, DT_U8, p->int8 ? p->M * (p->kblocks * p->block + 8 * p->kblocks)
                                             : 0);
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

/* Row a (K) quantized per block as the int8 kernel does: codes q (kblocks * block,
 * zero past K), scales as (kblocks). */
static void quantize_row_ref(const MatMulNBitsParams *p, const float *a, int8_t *q, float *as)
{
    for (int64_t k = 0; k < p->kblocks; k++) {
        int64_t k0 = k * p->block, len = p->K - k0 < p->block ? p->K - k0 : p->block;
        float mx = 0.0f;
        for (int64_t i = 0; i < len; i++)
            mx = fabsf(a[k0 + i]) > mx ? fabsf(a[k0 + i]) : mx;
        float inv = mx != 0.0f ? 127.0f / mx : 0.0f;
        as[k] = mx / 127.0f;
        for (int64_t i = 0; i < p->block; i++)
            q[k0 + i] = (int8_t)(i < len ? nearbyintf(a[k0 + i] * inv) : 0.0f);
    }
}

/* Y[j] of one row (accuracy_level 4): int32 dot products per block, scaled in float. */
static float dot_int8_ref(const MatMulNBitsParams *p, const int8_t *q, const float *as,
                          const uint8_t *B, const float *S, const void *z, int64_t j)
{
    float acc = 0.0f;
    for (int64_t k = 0; k < p->kblocks; k++) {
        const uint8_t *blob = B + (j * p->kblocks + k) * p->blob;
        int32_t zp = (int32_t)zp_ref(p, z, j, k), s = 0;
        for (int64_t i = 0; i < p->block; i++)
            s += q[k * p->block + i] * (code(blob, i, p->bits) - zp);
        acc += (float)s * (as[k] * S[j * p->kblocks + k]);
    }
    return acc;
}

/* Y[j] of one row (fp32 compute). */
static float dot_fp32_ref(const MatMulNBitsParams *p, const float *a, const uint8_t *B,
                          const float *S, const void *z, int64_t j)
{
    double acc = 0.0;
    for (int64_t k = 0; k < p->kblocks; k++) {
        const uint8_t *blob = B + (j * p->kblocks + k) * p->blob;
        double zf = zp_ref(p, z, j, k), s = 0.0;
        for (int64_t i = 0; i < p->block && k * p->block + i < p->K; i++)
            s += (double)a[k * p->block + i] * ((double)code(blob, i, p->bits) - zf);
        acc += s * S[j * p->kblocks + k];
    }
    return (float)acc;
}

Status op_matmulnbits_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    const MatMulNBitsParams *p = n->priv;
    const float *A = in[0], *S = in[2], *bias = p->bias ? in[5] : NULL;
    const void *z = p->zp_kind ? in[3] : NULL;
    int8_t *q = p->int8 ? malloc((size_t)(p->kblocks * p->block)) : NULL;
    float *as = p->int8 ? malloc(sizeof(float) * (size_t)p->kblocks) : NULL;
    if (p->int8 && (!q || !as)) {
        free(q), free(as);
        return diag_node(d, WR_ENOMEM, n, "out of memory");
    }
    float *Y = out[0];
    for (int64_t m = 0; m < p->M; m++) {
        if (p->int8)
            quantize_row_ref(p, A + m * p->K, q, as);
        for (int64_t j = 0; j < p->N; j++)
            Y[m * p->N + j] = (p->int8 ? dot_int8_ref(p, q, as, in[1], S, z, j)
                                       : dot_fp32_ref(p, A + m * p->K, in[1], S, z, j)) +
                              (bias ? bias[j] : 0.0f);
    }
    free(q), free(as);
    return WR_OK;
}
