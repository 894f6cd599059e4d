/*
 * move.h: emitters shared by the data-movement ops (codegen/kernels/copyplan.c).
 */
#ifndef WRPNC_KERNELS_MOVE_H
#define WRPNC_KERNELS_MOVE_H

#include "codegen.h"
#include "opparams.h"

/* Emits the fills and copies of the node's MoveParams (n->priv). */
Status cg_move_emit(Emitter *e, const Node *n, Diag *d);
void cg_move_emit_params(Emitter *e, const Node *n, const MoveParams *p);
/* For ops whose outputs do not depend on run-time data (Shape, Constant...):
 * runs the op's eval now and copies the result from constant arrays. */
Status cg_value_emit(Emitter *e, const Node *n, Diag *d);
/* Index type for loops addressing tensors of up to numel elements. */
const char *cg_index_type(int64_t numel);
/* Emits out[o][i] = value for every i (memset when value is all zero bytes). */
void cg_move_fill(Emitter *e, const Node *n, int o, const void *value);

#endif
