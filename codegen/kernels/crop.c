/*
 * CenterCropPad, Compress, ReverseSequence: fills and strided copies
 * (codegen/kernels/copyplan.c).
 */
#include "move.h"

Status cg_centercroppad_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}

Status cg_compress_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}

Status cg_reversesequence_emit(Emitter *e, const Node *n, Diag *d)
{
    return cg_move_emit(e, n, d);
}
