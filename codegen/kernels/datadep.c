/*
 * NonZero, Unique, NonMaxSuppression (ir/ops/datadep.c): their inputs are
 * constants and infer computed the results; they are normally folded away.
 * When a result was too large to fold, it is copied from a constant array.
 */
#include "codegen.h"
#include "opparams.h"

static Status copy_results(Emitter *e, const Node *n)
{
    const ConstResult *r = n->priv;
    for (int k = 0; k < r->n && k < n->nout; k++) {
        if (!n->out[k] || !r->bytes[k])
            continue;
        const char *v = cg_const_array(e, "res", n->out[k]->dtype, r->data[k],
                                       ir_tensor_numel(n->out[k]));
        cg_line(e, "memcpy(%s, %s, %lld);", cg_out(e, k), v, (long long)r->bytes[k]);
    }
    return WR_OK;
}

Status cg_nonzero_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    return copy_results(e, n);
}

Status cg_unique_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    return copy_results(e, n);
}

Status cg_nms_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    return copy_results(e, n);
}
