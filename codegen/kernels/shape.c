/*
 * Shape and Size always fold; if ever emitted, the value is copied from a
 * constant computed now.
 */
#include "move.h"

Status cg_shape_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_value_emit(e, n, d);
}

Status cg_size_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_value_emit(e, n, d);
}
