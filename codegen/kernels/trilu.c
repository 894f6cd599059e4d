/*
 * Trilu: loops over (batch, row, column) with the triangle test on constants.
 */
#include "move.h"

Status cg_trilu_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const TriluParams *p = n->priv;
    if (ir_tensor_numel(n->out[0]) == 0)
        return WR_OK;
    const char *it = cg_index_type(ir_tensor_numel(n->out[0]));
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    cg_line(e, "%s o = 0;", it);
    cg_open(e, "for (%s b = 0; b < %lld; b++)", it, (long long)p->batch);
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", (long long)p->N);
    cg_open(e, "for (int64_t j = 0; j < %lld; j++, o++)", (long long)p->M);
    cg_line(e, "%s[o] = j - i %s INT64_C(%lld) ? %s[o] : 0;", Y, p->upper ? ">=" : "<=",
            (long long)p->k, X);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}
