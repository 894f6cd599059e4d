/*
 * Reshape, Flatten, Squeeze, Unsqueeze: views, so usually no code at all; when
 * the memory plan cannot share storage (e.g. the output is a graph output)
 * they are one memcpy (the plan made in ir/ops/reshape.c).
 */
#include "move.h"

Status cg_reshape_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}

Status cg_flatten_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}

Status cg_squeeze_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}

Status cg_unsqueeze_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}
