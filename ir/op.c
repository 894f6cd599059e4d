/*
 * op.c: the operator table, expanded from ops.def. The frontend finds ops by
 * (domain, ONNX name) here; every stage dispatches through op_info.
 */
#include "ir.h"

#include <string.h>

const OpInfo op_info[OP_COUNT] = {
#define OP(ID, fn, name, domain, imin, imax, omin, omax, flags)                                    \
    [OP_##ID] = {name, domain, imin, imax, omin, omax, flags, op_##fn##_infer, op_##fn##_eval},
#include "ops.def"
#undef OP
};

/* Custom-op domains that name the same operator set. */
static const char *canonical_domain(const char *d)
{
    if (!d || strcmp(d, "ai.onnx") == 0)
        return "";
    if (strcmp(d, "finn.custom_op.general") == 0 || strcmp(d, "onnx.brevitas") == 0)
        return "qonnx.custom_op.general";
    return d;
}

static int find(const char *dom, const char *op_type)
{
    for (int i = 0; i < OP_COUNT; i++)
        if (strcmp(op_info[i].name, op_type) == 0 && strcmp(op_info[i].domain, dom) == 0)
            return i;
    return -1;
}

int op_lookup(const char *domain, const char *op_type)
{
    const char *dom = canonical_domain(domain);
    int op = find(dom, op_type);
    /* early Brevitas exports wrote Quant / BipolarQuant / Trunc in the default domain */
    if (op < 0 && !*dom)
        op = find("qonnx.custom_op.general", op_type);
    /* ONNX Runtime's quantizer writes 4-bit QDQ below opset 21 as com.microsoft ops with
     * the default domain's semantics */
    if (op < 0 && strcmp(dom, "com.microsoft") == 0 &&
        (strcmp(op_type, "QuantizeLinear") == 0 || strcmp(op_type, "DequantizeLinear") == 0))
        op = find("", op_type);
    return op;
}

const char *op_name(const Node *n) { return op_info[n->op].name; }
