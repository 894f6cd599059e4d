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

#endif
