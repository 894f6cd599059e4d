/*
 * CenterCropPad, Compress and ReverseSequence: data movement decided by
 * constant inputs, each a set of CopyPlans (codegen/kernels/crop.c).
 *   CenterCropPad  input, shape (constant int64), axes -> input centered in
 *                  `shape` along axes: cropped (start (dim - size) / 2) or
 *                  zero-padded (before (size - dim) / 2)
 *   Compress       input, condition (constant bool), axis (optional: else the
 *                  flattened input) -> the slices where condition is true;
 *                  one plan per run of true values
 *   ReverseSequence input, sequence_lens (constant), batch_axis, time_axis ->
 *                  per batch entry b, the first lens[b] time steps reversed
 */
#include "opparams.h"

#include <string.h>

static const int64_t zero8 = 0; /* a zero element of any dtype */

Status op_centercroppad_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *S = n->in[1];
    const void *sd;
    WR_TRY(ir_const_input(n, 1, &sd, d));
    const int64_t *ax;
    int na = ir_attr_ints(n, "axes", &ax), r = X->ndim;
    if (S->dtype != DT_I64 || ir_tensor_numel(S) != (na < 0 ? r : na))
        return diag_node(d, WR_ESHAPE, n, "shape must be int64 with one entry per axis");
    int64_t dim[IR_MAX_DIMS], xs[IR_MAX_DIMS];
    memcpy(dim, X->dim, sizeof dim);
    MoveParams *p = move_params_new(g, n, 1);
    CopyPlan *c = &p->plan[0];
    move_strides(r, X->dim, xs);
    for (int i = 0; i < (na < 0 ? r : na); i++) {
        int a;
        WR_TRY(ir_norm_axis(n, na < 0 ? i : ax[i], r, &a, d));
        dim[a] = ((const int64_t *)sd)[i];
        if (dim[a] < 0)
            return diag_node(d, WR_ESHAPE, n, "shape[%d] is negative", i);
    }
    ir_tensor_set_shape(n->out[0], X->dtype, r, dim);
    memset(c, 0, sizeof *c);
    c->ndim = r;
    move_strides(r, dim, c->dstride);
    for (int k = 0; k < r; k++) {
        c->sstride[k] = xs[k];
        c->count[k] = dim[k] < X->dim[k] ? dim[k] : X->dim[k];
        if (dim[k] < X->dim[k])
            c->soff += (X->dim[k] - dim[k]) / 2 * xs[k];
        else if (dim[k] > X->dim[k]) {
            c->doff += (dim[k] - X->dim[k]) / 2 * c->dstride[k];
            p->fill[0] = &zero8;
        }
    }
    move_plan_simplify(c);
    return WR_OK;
}

Status op_centercroppad_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}

/* Runs of true in cond[0..len): one plan each over (outer, run, inner). */
static void compress_plans(Graph *g, Node *n, const void *cond, int64_t len, int64_t outer,
                           int64_t inner, int64_t kept)
{
    DType ct = n->in[1]->dtype;
    int nrun = 0;
    for (int64_t j = 0; j < len; j++)
        nrun += dtype_get_i64(ct, cond, j) && (j == 0 || !dtype_get_i64(ct, cond, j - 1));
    MoveParams *p = move_params_new(g, n, nrun);
    int64_t at = 0;
    for (int64_t j = 0, r = 0; j < len; j++) {
        if (!dtype_get_i64(ct, cond, j))
            continue;
        int64_t e = j;
        while (e < len && dtype_get_i64(ct, cond, e))
            e++;
        CopyPlan *c = &p->plan[r++];
        int64_t cnt[3] = {outer, e - j, inner};
        move_plan_dense(c, 0, 0, 3, cnt);
        c->sstride[0] = len * inner;
        c->dstride[0] = kept * inner;
        c->soff = j * inner;
        c->doff = at * inner;
        move_plan_simplify(c);
        at += e - j;
        j = e - 1;
    }
}

Status op_compress_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *C = n->in[1];
    const void *cond;
    WR_TRY(ir_const_input(n, 1, &cond, d));
    if (C->ndim != 1)
        return diag_node(d, WR_ESHAPE, n, "condition must be 1-D");
    bool flat = !ir_attr_find(n, "axis");
    int axis = 0;
    int64_t outer = 1, inner = 1, len = ir_tensor_numel(X), kept = 0, dim[IR_MAX_DIMS];
    memcpy(dim, X->dim, sizeof dim);
    if (!flat) {
        WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", 0), X->ndim, &axis, d));
        for (int k = 0; k < X->ndim; k++)
            *(k < axis ? &outer : &inner) *= k == axis ? 1 : X->dim[k];
        len = X->dim[axis];
    }
    int64_t clen = C->dim[0] < len ? C->dim[0] : len; /* entries past the axis are ignored */
    for (int64_t j = 0; j < clen; j++)
        kept += dtype_get_i64(C->dtype, cond, j) != 0;
    dim[axis] = kept;
    ir_tensor_set_shape(n->out[0], X->dtype, flat ? 1 : X->ndim, dim);
    compress_plans(g, n, cond, clen, outer, inner, kept);
    return WR_OK;
}

Status op_compress_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}

Status op_reversesequence_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *L = n->in[1];
    const void *lens;
    WR_TRY(ir_const_input(n, 1, &lens, d));
    int ba = (int)ir_attr_int(n, "batch_axis", 1), ta = (int)ir_attr_int(n, "time_axis", 0);
    if (X->ndim < 2 || (ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta ||
        L->ndim != 1 || L->dim[0] != X->dim[ba])
        return diag_node(d, WR_ESHAPE, n, "bad batch_axis/time_axis or sequence_lens");
    int64_t B = X->dim[ba], T = X->dim[ta], xs[IR_MAX_DIMS];
    move_strides(X->ndim, X->dim, xs);
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    MoveParams *p = move_params_new(g, n, (int)(2 * B));
    for (int64_t b = 0; b < B; b++) {
        int64_t l = dtype_get_i64(L->dtype, lens, b);
        l = l < 0 ? 0 : l > T ? T : l;
        for (int part = 0; part < 2; part++) {
            CopyPlan *c = &p->plan[2 * b + part];
            int64_t cnt[IR_MAX_DIMS];
            memcpy(cnt, X->dim, sizeof cnt);
            cnt[ba] = 1;
            cnt[ta] = part ? T - l : l;
            move_plan_dense(c, 0, 0, X->ndim, cnt);
            memcpy(c->sstride, xs, sizeof xs);
            memcpy(c->dstride, xs, sizeof xs);
            c->doff = b * xs[ba] + (part ? l : 0) * xs[ta];
            c->soff = b * xs[ba] + (part ? l : l - 1) * xs[ta];
            if (!part)
                c->sstride[ta] = -xs[ta];
            move_plan_simplify(c);
        }
    }
    return WR_OK;
}

Status op_reversesequence_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}
