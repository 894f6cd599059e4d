/*
 * Gather: one row copy (memcpy for rows of 8+ elements) per (outer, index).
 * Constant indices are normalized at compile time into a constant array;
 * run-time indices are wrapped once and, if still out of range, give a row
 * of zeros instead of an out-of-bounds read.
 */
#include "move.h"

#include <stdlib.h>

static const char *const_indices(Emitter *e, const Node *n, const GatherParams *p)
{
    const Tensor *I = n->in[1];
    int64_t *v = malloc(sizeof *v * (size_t)p->nidx);
    if (!v)
        wr_die(__FILE__, __LINE__, "out of memory");
    for (int64_t j = 0; j < p->nidx; j++) {
        v[j] = dtype_get_i64(I->dtype, I->data, j);
        v[j] += v[j] < 0 ? p->axis_dim : 0;
    }
    const char *name = cg_const_array(e, "gidx", DT_I64, v, p->nidx);
    free(v);
    return name;
}

static void copy_row(Emitter *e, const Node *n, const GatherParams *p, const char *it)
{
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    long long inner = (long long)p->inner, nidx = (long long)p->nidx,
              ad = (long long)p->axis_dim;
    if (p->inner >= 8) {
        cg_line(e, "memcpy(%s + (o * %lld + j) * %lld, %s + (o * %lld + v) * %lld, %lld);", Y,
                nidx, inner, X, ad, inner, inner * dtype_info[n->out[0]->dtype].bytes);
        return;
    }
    if (p->inner == 1) {
        cg_line(e, "%s[o * %lld + j] = %s[o * %lld + v];", Y, nidx, X, ad);
        return;
    }
    cg_open(e, "for (%s k = 0; k < %lld; k++)", it, inner);
    cg_line(e, "%s[(o * %lld + j) * %lld + k] = %s[(o * %lld + v) * %lld + k];", Y, nidx, inner,
            X, ad, inner);
    cg_close(e);
}

Status cg_gather_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const GatherParams *p = n->priv;
    const Tensor *I = n->in[1];
    if (ir_tensor_numel(n->out[0]) == 0)
        return WR_OK;
    int64_t nx = ir_tensor_numel(n->in[0]), ny = ir_tensor_numel(n->out[0]);
    const char *it = cg_index_type(nx > ny ? nx : ny);
    const char *idx = I->data ? const_indices(e, n, p) : NULL;
    cg_open(e, "for (%s o = 0; o < %lld; o++)", it, (long long)p->outer);
    cg_open(e, "for (%s j = 0; j < %lld; j++)", it, (long long)p->nidx);
    if (idx)
        cg_line(e, "const %s v = (%s)%s[j];", it, it, idx);
    else {
        cg_line(e, "int64_t v = (int64_t)%s[j];", cg_in(e, 1));
        cg_line(e, "v += v < 0 ? %lld : 0;", (long long)p->axis_dim);
        cg_open(e, "if (v < 0 || v >= %lld)", (long long)p->axis_dim);
        cg_line(e, "memset(%s + (o * %lld + j) * %lld, 0, %lld);", cg_out(e, 0),
                (long long)p->nidx, (long long)p->inner,
                (long long)(p->inner * dtype_info[n->out[0]->dtype].bytes));
        cg_line(e, "continue;");
        cg_close(e);
    }
    copy_row(e, n, p, it);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}
