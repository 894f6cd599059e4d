/*
 * opparams.h: parsed attributes that an op's infer stores in node->priv and
 * that its reference eval (ir/ops/) and emitter (codegen/kernels/) both read.
 */
#ifndef WRPNC_OPPARAMS_H
#define WRPNC_OPPARAMS_H

#include "ir.h"

/* Sliding-window geometry, normalized to 3 spatial dims (leading dims 1):
 * 1-D, 2-D and 3-D convolutions and pools share one code path. */
typedef struct Spatial {
    int nsp;                    /* spatial rank in the model: 1, 2 or 3 */
    int64_t in[3], k[3], out[3];
    int64_t stride[3], dil[3], pad0[3], pad1[3];
    int ceil_mode;
} Spatial;

/* Reads kernel_shape/strides/dilations/pads/auto_pad (and ceil_mode when
 * allow_ceil) for input spatial dims x_sp[0..nsp). kernel may come from the
 * weight shape (conv) or the attribute (pools; kernel == NULL). */
Status ir_spatial_parse(Node *n, int nsp, const int64_t *x_sp, const int64_t *kernel,
                        bool allow_ceil, Spatial *sp, Diag *d);

typedef struct ConvParams {
    Spatial sp;
    int64_t N, C, M, group; /* batch, input channels, output channels, groups */
} ConvParams;

/* Gemm: Y (M x N) = alpha * A' (M x K) . B' (K x N) + beta * C, C
 * unidirectionally broadcast from (cM x cN) (each 1 or full; absent: 0 x 0). */
typedef struct GemmParams {
    int64_t M, N, K, cM, cN;
    int transA, transB;
    float alpha, beta;
} GemmParams;

/* MatMul with numpy semantics: nbatch products Y[b] (M x N) = A[aidx[b]] (M x K)
 * . B[bidx[b]] (K x N); aidx/bidx index the matrices of the broadcast batch. */
typedef struct MatMulParams {
    int64_t M, N, K, nbatch, na, nb; /* na, nb: matrices in A and in B */
    int64_t *aidx, *bidx;
} MatMulParams;

/* ---- act.c ---- */

/* The node's fused activation (n->act, act_lo, act_hi) applied to one value. */
float ir_act_apply(const Node *n, float v);

#endif
