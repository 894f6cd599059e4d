/*
 * broadcast.c: numpy broadcasting as loop plans. An operand of shape (d0..dk)
 * aligns with the output's trailing dims; along a dim where it has size 1 its
 * stride is 0. The reference evals index with ir_bcast_index; emitters turn a
 * plan into nested loops with compile-time strides (codegen/kernels/eltwise.c).
 */
#include "ir.h"

#include <string.h>

/* Contiguous strides of operand x aligned to output rank ny, 0 on broadcast dims. */
static void operand_strides(const Tensor *x, int ny, const int64_t *ydim, int64_t *st)
{
    int64_t s = 1;
    for (int j = ny - 1; j >= 0; j--) {
        int jx = x ? j - (ny - x->ndim) : -1;
        int64_t dx = jx >= 0 ? x->dim[jx] : 1;
        st[j] = dx == 1 && ydim[j] != 1 ? 0 : s;
        s *= dx;
    }
}

/* Dims j and j+1 merge when every walk over them is one linear walk. */
static bool mergeable(const Bcast *b, int j)
{
    if (b->ystride[j] != b->ystride[j + 1] * b->dim[j + 1])
        return false;
    for (int k = 0; k < b->nop; k++)
        if (b->stride[k][j] != b->stride[k][j + 1] * b->dim[j + 1])
            return false;
    return true;
}

static void drop_dim(Bcast *b, int j)
{
    for (int i = j; i + 1 < b->ndim; i++) {
        b->dim[i] = b->dim[i + 1];
        b->ystride[i] = b->ystride[i + 1];
        for (int k = 0; k < b->nop; k++)
            b->stride[k][i] = b->stride[k][i + 1];
    }
    b->ndim--;
}

void ir_bcast_plan(Bcast *b, const Tensor *y, int nop, const Tensor *const *x)
{
    WR_ASSERT(nop <= IR_BCAST_MAX && y->ndim <= IR_MAX_DIMS);
    memset(b, 0, sizeof *b);
    b->ndim = y->ndim;
    b->nop = nop;
    memcpy(b->dim, y->dim, sizeof(int64_t) * (size_t)y->ndim);
    operand_strides(y, y->ndim, y->dim, b->ystride);
    for (int k = 0; k < nop; k++)
        operand_strides(x[k], y->ndim, y->dim, b->stride[k]);
    for (int j = b->ndim - 1; j >= 0; j--)
        if (b->dim[j] == 1)
            drop_dim(b, j);
    for (int j = b->ndim - 2; j >= 0; j--)
        if (mergeable(b, j)) {
            b->dim[j] *= b->dim[j + 1];
            b->ystride[j] = b->ystride[j + 1];
            for (int k = 0; k < nop; k++)
                b->stride[k][j] = b->stride[k][j + 1];
            drop_dim(b, j + 1);
        }
}

int64_t ir_bcast_index(const Bcast *b, int k, int64_t i)
{
    int64_t idx = 0;
    for (int j = b->ndim - 1; j >= 0; j--) {
        idx += (i % b->dim[j]) * b->stride[k][j];
        i /= b->dim[j];
    }
    return idx;
}
