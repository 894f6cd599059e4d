/*
 * Concat and Split: one block copy per input (Concat) or output (Split),
 * as memcpy of contiguous runs (codegen/kernels/copyplan.c).
 */
#include "move.h"

Status cg_concat_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}

Status cg_split_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}
