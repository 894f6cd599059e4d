/*
 * Pools: MaxPool (optional Indices output), AveragePool, LpPool and their
 * Global forms, 1 to 3 spatial dims.
 *   X (N, C, D.., H, W) -> Y (N, C, oD.., oH, oW) [, Indices int64 like Y]
 * Window geometry comes from ir/ops/spatial.c. The reference eval visits
 * every window tap; codegen/kernels/pool.c emits the specialized loops.
 */
#include "opparams.h"

#include <math.h>
#include <string.h>

static bool is_global(int op)
{
    return op == OP_GLOBAL_AVERAGE_POOL || op == OP_GLOBAL_MAX_POOL || op == OP_GLOBAL_LP_POOL;
}

static bool is_max(int op) { return op == OP_MAX_POOL || op == OP_GLOBAL_MAX_POOL; }
static bool is_lp(int op) { return op == OP_LP_POOL || op == OP_GLOBAL_LP_POOL; }

/* Global pools: one window covering the whole input. */
static void global_geometry(const Tensor *X, Spatial *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->nsp = X->ndim - 2;
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - sp->nsp);
        sp->in[i] = sp->k[i] = j >= 0 ? X->dim[2 + j] : 1;
        sp->out[i] = sp->stride[i] = sp->dil[i] = 1;
    }
}

static Status check_types(Node *n, DType t, Diag *d)
{
    bool ok = t == DT_F32 || t == DT_F64 || (is_max(n->op) && (t == DT_U8 || t == DT_I8));
    if (!ok)
        return diag_node(d, WR_EUNSUPPORTED, n, "type %s is not supported", dtype_info[t].name);
    if (n->nout > 1 && n->out[1] && !is_max(n->op))
        return diag_node(d, WR_EPARSE, n, "only MaxPool has an Indices output");
    return WR_OK;
}

Status op_pool_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    WR_TRY(check_types(n, X->dtype, d));
    if (X->ndim < 3 || X->ndim > 5)
        return diag_node(d, WR_EUNSUPPORTED, n, "X has rank %d (3 to 5 supported)", X->ndim);
    PoolParams *p = arena_alloc(&g->arena, sizeof *p);
    p->NC = X->dim[0] * X->dim[1];
    if (is_global(n->op))
        global_geometry(X, &p->sp);
    else
        WR_TRY(ir_spatial_parse(n, X->ndim - 2, X->dim + 2, NULL, true, &p->sp, d));
    p->count_include_pad = (int)ir_attr_int(n, "count_include_pad", 0);
    p->p = is_lp(n->op) ? ir_attr_int(n, "p", 2) : 0;
    p->storage_order = (int)ir_attr_int(n, "storage_order", 0);
    if (is_lp(n->op) && p->p < 1)
        return diag_node(d, WR_EPARSE, n, "p must be >= 1");
    int64_t dim[5] = {X->dim[0], X->dim[1]};
    for (int i = 0; i < p->sp.nsp; i++)
        dim[2 + i] = p->sp.out[3 - p->sp.nsp + i];
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, dim);
    if (n->nout > 1 && n->out[1])
        ir_tensor_set_shape(n->out[1], DT_I64, X->ndim, dim);
    n->priv = p;
    return WR_OK;
}

/* The input index of tap t of window o along spatial dim i, or -1 when
 * it falls in the padding. *inpad counts taps inside the padded extent. */
static int64_t tap(const Spatial *s, int i, int64_t o, int64_t t, int64_t *inpad)
{
    int64_t x = o * s->stride[i] - s->pad0[i] + t * s->dil[i];
    if (x < s->in[i] + s->pad1[i])
        (*inpad)++;
    return x >= 0 && x < s->in[i] ? x : -1;
}

/* One output element of plane c at window (od, oh, ow); *arg gets the
 * max's flat index in the plane (row-major D, H, W). */
static double window_ref(const Node *n, const PoolParams *p, const void *X, int64_t c,
                         const int64_t o[3], int64_t *arg)
{
    const Spatial *s = &p->sp;
    DType t = n->in[0]->dtype;
    double acc = is_max(n->op) ? -INFINITY : 0.0;
    int64_t cnt = 0, padcnt = 0, plane = s->in[0] * s->in[1] * s->in[2];
    for (int64_t a = 0; a < s->k[0]; a++)
        for (int64_t b = 0; b < s->k[1]; b++)
            for (int64_t e = 0; e < s->k[2]; e++) {
                int64_t in0 = 0, in1 = 0, in2 = 0;
                int64_t z = tap(s, 0, o[0], a, &in0), y = tap(s, 1, o[1], b, &in1),
                        x = tap(s, 2, o[2], e, &in2);
                padcnt += in0 && in1 && in2;
                if (z < 0 || y < 0 || x < 0)
                    continue;
                int64_t idx = (z * s->in[1] + y) * s->in[2] + x;
                double v = dtype_get_f64(t, X, c * plane + idx);
                cnt++;
                if (is_max(n->op) && v > acc) {
                    acc = v;
                    *arg = idx;
                } else if (is_lp(n->op))
                    acc += pow(fabs(v), (double)p->p);
                else if (!is_max(n->op))
                    acc += v;
            }
    if (is_lp(n->op))
        return pow(acc, 1.0 / (double)p->p);
    if (!is_max(n->op))
        return acc / (double)(p->count_include_pad ? padcnt : cnt);
    return acc;
}

/* ONNX Indices: flat over (N, C, D, H, W), or column-major spatially. */
static int64_t onnx_index(const PoolParams *p, int64_t c, int64_t idx)
{
    const Spatial *s = &p->sp;
    int64_t plane = s->in[0] * s->in[1] * s->in[2];
    if (p->storage_order) {
        int64_t x = idx % s->in[2], y = idx / s->in[2] % s->in[1], z = idx / (s->in[1] * s->in[2]);
        idx = (x * s->in[1] + y) * s->in[0] + z;
    }
    return c * plane + idx;
}

Status op_pool_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const PoolParams *p = n->priv;
    const Spatial *s = &p->sp;
    int64_t *I = n->nout > 1 && n->out[1] ? out[1] : NULL, j = 0;
    for (int64_t c = 0; c < p->NC; c++)
        for (int64_t a = 0; a < s->out[0]; a++)
            for (int64_t b = 0; b < s->out[1]; b++)
                for (int64_t e = 0; e < s->out[2]; e++, j++) {
                    int64_t o[3] = {a, b, e}, arg = 0;
                    double v = window_ref(n, p, in[0], c, o, &arg);
                    dtype_set_f64(n->out[0]->dtype, out[0], j, v);
                    if (I)
                        I[j] = onnx_index(p, c, arg);
                }
    return WR_OK;
}
