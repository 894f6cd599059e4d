/*
 * DepthToSpace and SpaceToDepth: one 6-d strided copy each, written in output
 * order (codegen/kernels/copyplan.c).
 */
#include "move.h"

Status cg_depthtospace_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}

Status cg_spacetodepth_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}
