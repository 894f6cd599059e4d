/*
 * GatherElements and ScatterElements: nested loops over the indices' dims;
 * the data offset uses the loaded index on the axis and the loop counters
 * elsewhere. Indices are wrapped once; still out of range, a gather writes 0
 * and a scatter skips the element.
 */
#include "move.h"

#include <stdio.h>

/* Opens loops over I's dims and declares v (the checked index) and s (the
 * data offset); leaves an open "if (v in range)" block; returns the loop count. */
static int open_index(Emitter *e, const Node *n, const char *it)
{
    const AxisParams *p = n->priv;
    const Tensor *X = n->in[0], *I = n->in[1];
    int64_t xs[IR_MAX_DIMS];
    move_strides(X->ndim, X->dim, xs);
    char expr[1024];
    size_t k = (size_t)snprintf(expr, sizeof expr, "0");
    for (int i = 0; i < I->ndim; i++) {
        char var[16];
        if (i == p->axis)
            snprintf(var, sizeof var, "v");
        else
            snprintf(var, sizeof var, "i%d", i);
        k += (size_t)snprintf(expr + k, sizeof expr - k, " + %s * %lld", var, (long long)xs[i]);
    }
    cg_line(e, "%s at = 0;", it);
    for (int i = 0; i < I->ndim; i++)
        cg_open(e, "for (%s i%d = 0; i%d < %lld; i%d++)", it, i, i, (long long)I->dim[i], i);
    cg_line(e, "int64_t v = (int64_t)%s[at];", cg_in(e, 1));
    cg_line(e, "v += v < 0 ? %lld : 0;", (long long)X->dim[p->axis]);
    cg_line(e, "const int64_t s = %s;", expr);
    return I->ndim;
}

Status cg_gatherelements_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const AxisParams *p = n->priv;
    if (ir_tensor_numel(n->out[0]) == 0)
        return WR_OK;
    int64_t nx = ir_tensor_numel(n->in[0]), ny = ir_tensor_numel(n->out[0]);
    const char *it = cg_index_type(nx > ny ? nx : ny), *Y = cg_out(e, 0), *X = cg_in(e, 0);
    int nl = open_index(e, n, it);
    cg_line(e, "%s[at] = v >= 0 && v < %lld ? %s[s] : 0;", Y, (long long)n->in[0]->dim[p->axis],
            X);
    cg_line(e, "at++;");
    for (int i = 0; i < nl; i++)
        cg_close(e);
    return WR_OK;
}

Status cg_scatterelements_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const AxisParams *p = n->priv;
    int64_t nx = ir_tensor_numel(n->in[0]);
    const char *Y = cg_out(e, 0), *U;
    if (nx)
        cg_line(e, "memcpy(%s, %s, %lld);", Y, cg_in(e, 0), (long long)ir_tensor_bytes(n->out[0]));
    if (ir_tensor_numel(n->in[1]) == 0 || nx == 0)
        return WR_OK;
    const char *it = cg_index_type(nx > ir_tensor_numel(n->in[1]) ? nx : ir_tensor_numel(n->in[1]));
    int nl = open_index(e, n, it);
    U = cg_in(e, 2);
    cg_open(e, "if (v >= 0 && v < %lld)", (long long)n->in[0]->dim[p->axis]);
    switch (p->reduction) {
    case 1: cg_line(e, "%s[s] += %s[at];", Y, U); break;
    case 2: cg_line(e, "%s[s] *= %s[at];", Y, U); break;
    case 3: cg_line(e, "if (%s[at] > %s[s]) %s[s] = %s[at];", U, Y, Y, U); break;
    case 4: cg_line(e, "if (%s[at] < %s[s]) %s[s] = %s[at];", U, Y, Y, U); break;
    default: cg_line(e, "%s[s] = %s[at];", Y, U); break;
    }
    cg_close(e);
    cg_line(e, "at++;");
    for (int i = 0; i < nl; i++)
        cg_close(e);
    return WR_OK;
}

Status cg_scatter_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_scatterelements_emit(e, n, d);
}
