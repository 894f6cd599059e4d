/*
 * BitCast (opset 26): the input's bytes reinterpreted as another element
 * type of the same width; shape unchanged. Emitter: codegen/kernels/bitcast.c.
 */
#include "opparams.h"

#include <string.h>

Status op_bitcast_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    const Tensor *X = n->in[0];
    DType to = dtype_from_onnx((int)ir_attr_int(n, "to", 0));
    if (to == DT_UNDEF || dtype_subbyte_bits(to) || dtype_subbyte_bits(X->dtype))
        return diag_node(d, WR_EUNSUPPORTED, n, "'to' is not a supported byte-sized type");
    if (dtype_info[to].bytes != dtype_info[X->dtype].bytes)
        return diag_node(d, WR_EPARSE, n, "%s and %s differ in width", dtype_info[X->dtype].name,
                         dtype_info[to].name);
    ir_tensor_set_shape(n->out[0], to, X->ndim, X->dim);
    return WR_OK;
}

Status op_bitcast_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    memcpy(out[0], in[0], (size_t)ir_tensor_bytes(n->out[0]));
    return WR_OK;
}
