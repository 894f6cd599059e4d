/*
 * EyeLike always folds; if ever emitted, the value is copied from a constant.
 */
#include "move.h"

Status cg_eyelike_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_value_emit(e, n, d);
}
