/*
 * Constant and Range: values computed now and copied from constant arrays;
 * ConstantOfShape: a fill loop (memset for zero).
 */
#include "move.h"

Status cg_constant_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_value_emit(e, n, d);
}

Status cg_range_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_value_emit(e, n, d);
}

Status cg_constantofshape_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}
