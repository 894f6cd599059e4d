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

#endif
