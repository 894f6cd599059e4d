/*
 * copyplan.c: the strided-copy plans (CopyPlan, MoveParams in opparams.h)
 * that every data-movement op reduces to, and their reference eval. Ops are
 * dtype-agnostic: elements are copied as bytes of the output's element size.
 * codegen/kernels/copyplan.c emits the same plans as specialized loops.
 */
#include "opparams.h"

#include <string.h>

MoveParams *move_params_new(Graph *g, Node *n, int nplan)
{
    MoveParams *p = arena_alloc(&g->arena, sizeof *p);
    p->nplan = nplan;
    p->plan = arena_alloc(&g->arena, sizeof(CopyPlan) * (size_t)(nplan ? nplan : 1));
    p->fill = arena_alloc(&g->arena, sizeof(void *) * (size_t)(n->nout ? n->nout : 1));
    n->priv = p;
    return p;
}

void move_strides(int ndim, const int64_t *dim, int64_t *stride)
{
    int64_t s = 1;
    for (int k = ndim - 1; k >= 0; k--) {
        stride[k] = s;
        s *= dim[k];
    }
}

void move_plan_dense(CopyPlan *p, int src, int dst, int ndim, const int64_t *dim)
{
    memset(p, 0, sizeof *p);
    p->src = src;
    p->dst = dst;
    p->ndim = ndim;
    memcpy(p->count, dim, sizeof(int64_t) * (size_t)ndim);
    move_strides(ndim, dim, p->dstride);
    memcpy(p->sstride, p->dstride, sizeof(int64_t) * (size_t)ndim);
}

int64_t move_plan_numel(const CopyPlan *p)
{
    int64_t n = 1;
    for (int k = 0; k < p->ndim; k++)
        n *= p->count[k];
    return n;
}

void move_plan_simplify(CopyPlan *p)
{
    if (move_plan_numel(p) == 0) {
        p->ndim = 1;
        p->count[0] = 0;
        return;
    }
    int k = 0;
    for (int i = 0; i < p->ndim; i++) {
        if (p->count[i] == 1)
            continue;
        /* dim i continues dim k-1 when stepping k-1 by one equals a full run of i */
        if (k > 0 && p->sstride[k - 1] == p->sstride[i] * p->count[i] &&
            p->dstride[k - 1] == p->dstride[i] * p->count[i]) {
            p->count[k - 1] *= p->count[i];
            p->sstride[k - 1] = p->sstride[i];
            p->dstride[k - 1] = p->dstride[i];
            continue;
        }
        p->count[k] = p->count[i];
        p->sstride[k] = p->sstride[i];
        p->dstride[k] = p->dstride[i];
        k++;
    }
    if (k == 0) { /* a single element */
        p->count[0] = 1;
        p->sstride[0] = p->dstride[0] = 1;
        k = 1;
    }
    p->ndim = k;
}

static void run_plan(const CopyPlan *p, size_t es, const unsigned char *src, unsigned char *dst)
{
    int64_t idx[MOVE_MAX_DIMS] = {0};
    int64_t total = move_plan_numel(p);
    int last = p->ndim - 1;
    bool run = p->sstride[last] == 1 && p->dstride[last] == 1;
    int64_t step = run ? p->count[last] : 1;
    for (int64_t done = 0; done < total; done += step) {
        int64_t so = p->soff, dof = p->doff;
        for (int k = 0; k < p->ndim; k++) {
            so += idx[k] * p->sstride[k];
            dof += idx[k] * p->dstride[k];
        }
        memcpy(dst + (size_t)dof * es, src + (size_t)so * es, (size_t)step * es);
        for (int k = run ? last - 1 : last; k >= 0; k--) {
            if (++idx[k] < p->count[k])
                break;
            idx[k] = 0;
        }
    }
}

Status move_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    move_run(n, n->priv, in, out);
    return WR_OK;
}

void move_run(const Node *n, const MoveParams *p, void *const *in, void *const *out)
{
    for (int o = 0; o < n->nout; o++) {
        if (!n->out[o] || !p->fill[o])
            continue;
        size_t es = (size_t)dtype_info[n->out[o]->dtype].bytes;
        for (int64_t i = 0, N = ir_tensor_numel(n->out[o]); i < N; i++)
            memcpy((unsigned char *)out[o] + (size_t)i * es, p->fill[o], es);
    }
    for (int i = 0; i < p->nplan; i++) {
        const CopyPlan *c = &p->plan[i];
        if (!n->out[c->dst] || move_plan_numel(c) == 0)
            continue;
        size_t es = (size_t)dtype_info[n->out[c->dst]->dtype].bytes;
        run_plan(c, es, in[c->src], out[c->dst]);
    }
}

void move_set_view(Graph *g, Node *n, int ndim, const int64_t *dim)
{
    const Tensor *X = n->in[0];
    ir_tensor_set_shape(n->out[0], X->dtype, ndim, dim);
    MoveParams *p = move_params_new(g, n, 1);
    int64_t numel = ir_tensor_numel(X);
    move_plan_dense(&p->plan[0], 0, 0, 1, &numel);
    move_plan_simplify(&p->plan[0]);
}

void axis_split(AxisParams *p, int ndim, const int64_t *dim, int axis)
{
    p->axis = axis;
    p->outer = p->inner = 1;
    for (int k = 0; k < axis; k++)
        p->outer *= dim[k];
    for (int k = axis + 1; k < ndim; k++)
        p->inner *= dim[k];
    p->len = axis < ndim ? dim[axis] : 1;
}
