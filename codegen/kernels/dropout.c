/*
 * Dropout at inference: a copy of the data and, if asked, a mask of ones.
 */
#include "move.h"

Status cg_dropout_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}
