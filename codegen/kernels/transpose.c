/*
 * Transpose: nested loops over the output (innermost contiguous on the output)
 * reading the input with permuted strides; dims contiguous in both merge, and a
 * contiguous innermost run becomes a memcpy (codegen/kernels/copyplan.c).
 */
#include "move.h"

Status cg_transpose_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}
