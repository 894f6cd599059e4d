/*
 * frontend.h: ONNX in and out. onnx_load.c builds a Graph from a ModelProto
 * (inlining local functions), onnx_tensor.c decodes TensorProtos (every
 * encoding, external data confined to the model's folder), onnx_write.c
 * writes TensorProto and ModelProto files.
 */
#ifndef WRPNC_FRONTEND_H
#define WRPNC_FRONTEND_H

#include "ir.h"

enum { FE_MAX_SHAPES = 32 };

typedef struct InputShape {
    char name[256]; /* graph input name, or "" for "the first input" */
    int ndim;
    int64_t dim[IR_MAX_DIMS];
} InputShape;

typedef struct FrontendOptions {
    int nshape;
    InputShape shape[FE_MAX_SHAPES];
} FrontendOptions;

/* "input=1x3x224x224" or "1x3x224x224" into *s; WR_EUSAGE on bad syntax. */
Status fe_parse_input_shape(const char *arg, InputShape *s, Diag *d);

/* ---- onnx_load.c ---- */

/* Loads and validates path into a new graph (shapes of graph inputs set, not
 * yet inferred). On error returns non-OK with a message naming file/node/op. */
Status fe_onnx_load(const char *path, const FrontendOptions *opt, Graph **out, Diag *d);
/* The same from len bytes in memory; path names the model (its folder holds
 * any external data). */
Status fe_onnx_load_mem(const uint8_t *buf, size_t len, const char *path,
                        const FrontendOptions *opt, Graph **out, Diag *d);
Status fe_read_file(const char *path, unsigned char **buf, size_t *len, Diag *d);

/* ---- onnx_tensor.c ---- */

/* A tensor read from a TensorProto file (test-data inputs and outputs). */
typedef struct HostTensor {
    char *name;
    DType dtype;
    int ndim;
    int64_t dim[IR_MAX_DIMS];
    void *data; /* malloc'ed */
    size_t bytes;
} HostTensor;

Status fe_tensor_read_pb(const char *path, HostTensor *t, Diag *d);
void fe_host_tensor_free(HostTensor *t);

/* ---- onnx_write.c ---- */

Status fe_tensor_write_pb(const char *path, const char *name, DType dtype, int ndim,
                          const int64_t *dim, const void *data, Diag *d);

/* ---- onnx_save.c ---- */

/* Writes g as an ONNX model (un-lowered ops, constants as raw_data initializers). */
Status fe_onnx_save(const Graph *g, const char *path, Diag *d);

#endif
