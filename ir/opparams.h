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

/* Reductions (ReduceSum ...): kept dims form the outer loops, reduced dims
 * the inner ones; output elements come out in order whatever keepdims is. */
typedef struct ReduceParams {
    int ndim;
    int64_t dim[IR_MAX_DIMS];
    bool red[IR_MAX_DIMS]; /* dim is reduced */
    bool noop;             /* empty axes with noop_with_empty_axes: a copy */
    int64_t count;         /* elements per reduction */
} ReduceParams;

/* Softmax / LogSoftmax / Hardmax over X viewed as (outer, len, inner). */
typedef struct SoftmaxParams {
    int64_t outer, len, inner;
} SoftmaxParams;

/* Pools: X (N, C, spatial..) viewed as (N*C, D, H, W). Global pools use a
 * window equal to the input. */
typedef struct PoolParams {
    Spatial sp;
    int64_t NC;
    int count_include_pad; /* AveragePool */
    int64_t p;             /* LpPool norm */
    int storage_order;     /* MaxPool Indices: 1 = column-major spatial index */
} PoolParams;

/* Normalizations over X viewed as (outer, C, inner): BatchNorm and
 * InstanceNorm have per-channel C; LayerNorm has C = 1, inner = the
 * normalized size. */
typedef struct NormParams {
    int64_t outer, C, inner;
    float eps;
    int64_t nscale, nbias; /* LayerNorm: Scale/B element counts (suffix broadcast) */
    float alpha, beta, bias; /* LRN */
    int64_t size;            /* LRN */
} NormParams;

/* ConvTranspose: sp.in is X's spatial shape, sp.out Y's; pad0 the begin pads. */
typedef struct ConvTransposeParams {
    Spatial sp;
    int64_t N, C, M, group; /* X channels C, Y channels M */
} ConvTransposeParams;

/* Resize / Upsample, separable: output coordinate o along dim k reads
 * taps input indices idx[k][o*ntap[k] + t] with weights w[k][...]; out[k][o]
 * marks coordinates outside the crop (tf_crop_and_resize): extrapolation. */
typedef struct ResizeParams {
    int ndim;
    int64_t in[IR_MAX_DIMS], out[IR_MAX_DIMS];
    int ntap[IR_MAX_DIMS];
    int32_t *idx[IR_MAX_DIMS];
    double *w[IR_MAX_DIMS];
    uint8_t *outside[IR_MAX_DIMS];
    bool any_outside;
    float extrapolation;
} ResizeParams;

#endif
