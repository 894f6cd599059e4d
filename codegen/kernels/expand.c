/*
 * Expand and Tile: strided copies with stride 0 along repeated dims
 * (codegen/kernels/copyplan.c).
 */
#include "move.h"

Status cg_expand_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}

Status cg_tile_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}
