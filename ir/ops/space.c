/*
 * DepthToSpace and SpaceToDepth: NCHW block rearrangements, each one CopyPlan
 * over the output viewed as 6 dims (codegen/kernels/space.c emits it).
 *   DepthToSpace X (N, C, H, W) -> Y (N, C/b², H*b, W*b), Y viewed as
 *     (n, c, h, i, w, j); mode DCR reads channel (i*b + j)*C/b² + c,
 *     mode CRD reads channel c*b² + i*b + j.
 *   SpaceToDepth X (N, C, H, W) -> Y (N, C*b², H/b, W/b); Y viewed as
 *     (n, i, j, c, h, w) for DCR (the default) or (n, c, i, j, h, w) for CRD,
 *     reading X[n, c, h*b + i, w*b + j].
 */
#include "opparams.h"

#include <string.h>

/* Checks rank 4 and the blocksize; reads mode (true = CRD). */
static Status space_args(Node *n, int64_t *b, bool *crd, Diag *d)
{
    const Tensor *X = n->in[0];
    if (X->ndim != 4)
        return diag_node(d, WR_ESHAPE, n, "input must have rank 4");
    *b = ir_attr_int(n, "blocksize", 0);
    if (*b < 1)
        return diag_node(d, WR_EPARSE, n, "blocksize must be >= 1");
    const char *m = ir_attr_str(n, "mode", "DCR");
    if (strcmp(m, "DCR") != 0 && strcmp(m, "CRD") != 0)
        return diag_node(d, WR_EPARSE, n, "mode '%s' is neither DCR nor CRD", m);
    *crd = m[0] == 'C';
    return WR_OK;
}

/* Sets dim k of plan c: count, source stride (destination strides come later). */
static void dim_set(CopyPlan *c, int k, int64_t count, int64_t sstride)
{
    c->count[k] = count;
    c->sstride[k] = sstride;
}

static void finish(Graph *g, Node *n, const CopyPlan *c, const int64_t *ydim)
{
    ir_tensor_set_shape(n->out[0], n->in[0]->dtype, 4, ydim);
    MoveParams *p = move_params_new(g, n, 1);
    p->plan[0] = *c;
    move_strides(6, c->count, p->plan[0].dstride);
    move_plan_simplify(&p->plan[0]);
}

Status op_depthtospace_infer(Graph *g, Node *n, Diag *d)
{
    const int64_t *x = n->in[0]->dim;
    int64_t b, N = x[0], C = x[1], H = x[2], W = x[3];
    bool crd;
    WR_TRY(space_args(n, &b, &crd, d));
    if (C % (b * b))
        return diag_node(d, WR_ESHAPE, n, "channels %lld not divisible by blocksize²",
                         (long long)C);
    int64_t Co = C / (b * b), HW = H * W, ydim[4] = {N, Co, H * b, W * b};
    CopyPlan c = {.ndim = 6};
    dim_set(&c, 0, N, C * HW);
    dim_set(&c, 1, Co, crd ? b * b * HW : HW);
    dim_set(&c, 2, H, W);
    dim_set(&c, 3, b, crd ? b * HW : b * Co * HW);
    dim_set(&c, 4, W, 1);
    dim_set(&c, 5, b, crd ? HW : Co * HW);
    finish(g, n, &c, ydim);
    return WR_OK;
}

Status op_depthtospace_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}

Status op_spacetodepth_infer(Graph *g, Node *n, Diag *d)
{
    const int64_t *x = n->in[0]->dim;
    int64_t b, N = x[0], C = x[1], H = x[2], W = x[3];
    bool crd;
    WR_TRY(space_args(n, &b, &crd, d));
    if (H % b || W % b)
        return diag_node(d, WR_ESHAPE, n, "H and W must be divisible by blocksize");
    int64_t ydim[4] = {N, C * b * b, H / b, W / b};
    CopyPlan c = {.ndim = 6};
    int ci = crd ? 1 : 3, ii = crd ? 2 : 1, ji = crd ? 3 : 2;
    dim_set(&c, 0, N, C * H * W);
    dim_set(&c, ci, C, H * W);
    dim_set(&c, ii, b, W);
    dim_set(&c, ji, b, 1);
    dim_set(&c, 4, H / b, b * W);
    dim_set(&c, 5, W / b, b);
    finish(g, n, &c, ydim);
    return WR_OK;
}

Status op_spacetodepth_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}
