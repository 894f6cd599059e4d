/*
 * AVX2 and AVX-512 QConv kernels (generic C and the reference evals:
 * lowbit.c, ir/ops/lowbit.c).
 */
#include "lowbit.h"

Status lowbit_emit_avx2(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    return lowbit_emit_generic(e, n);
}

Status lowbit_emit_avx512(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    return lowbit_emit_generic(e, n);
}
