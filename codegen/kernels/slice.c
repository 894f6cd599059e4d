/*
 * Slice: one strided copy with compile-time starts and steps; unit-step
 * innermost runs are memcpy (codegen/kernels/copyplan.c).
 */
#include "move.h"

Status cg_slice_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}
