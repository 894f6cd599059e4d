/*
 * onnx_internal.h: what the frontend's files share and nobody else sees:
 * the protobuf-c types generated from onnx.proto.
 */
#ifndef WRPNC_ONNX_INTERNAL_H
#define WRPNC_ONNX_INTERNAL_H

#include "frontend.h"
#include "onnx.pb-c.h"

/* Decodes tp into a malloc'ed buffer. model_dir resolves external data
 * ("" when the tensor came from a stand-alone file: external data refused).
 * what names the tensor in errors ("initializer 'w'"). */
Status fe_decode_tensor(const Onnx__TensorProto *tp, const char *model_dir, const char *what,
                        HostTensor *out, Diag *d);

/* What attribute conversion needs: the graph whose arena owns the result, the
 * model's folder (external data) and the model (opset imports of subgraph nodes). */
typedef struct AttrEnv {
    Graph *g;
    const char *dir;
    const Onnx__ModelProto *model;
} AttrEnv;

/* ---- onnx_attr.c ---- */

/* a into out (strings, lists, tensors, subgraphs in env->g's arena); node names
 * the node in errors. */
Status fe_convert_attr(const AttrEnv *env, const char *node, const Onnx__AttributeProto *a,
                       Attr *out, Diag *d);

/* Names the GRAPH attributes of np (nested ones too) read without defining
 * them: the node's implicit inputs, which its producers must precede. Owned
 * by the protobuf message (pointers into it), the array by A; *n entries. */
const char **fe_implicit_inputs(Arena *A, const Onnx__NodeProto *np, int *n);

/* ---- onnx_load.c ---- */

/* The model's opset version for domain ("" and "ai.onnx" alike), or -1. */
int64_t fe_opset_of(const Onnx__ModelProto *m, const char *domain);

#endif
