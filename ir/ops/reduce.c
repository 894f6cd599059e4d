/*
 * Reduce family: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd,
 * ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare.
 *   data (d0..dn-1), axes (attribute, or constant input from opset 13 for
 *   ReduceSum and 18 for the others) -> reduced (dims of axes 1 or dropped)
 * One table-driven reference in double; codegen/kernels/reduce.c emits it.
 */
#include "opparams.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static Status read_axes(Node *n, const int64_t **axes, int *nax, int64_t *buf, Diag *d)
{
    if (n->nin > 1 && n->in[1]) {
        const Tensor *A = n->in[1];
        const void *p;
        WR_TRY(ir_const_input(n, 1, &p, d));
        if (A->ndim != 1 || A->dim[0] > IR_MAX_DIMS || dtype_is_float(A->dtype))
            return diag_node(d, WR_EPARSE, n, "axes must be a 1-D integer tensor");
        for (int i = 0; i < (int)A->dim[0]; i++)
            buf[i] = dtype_get_i64(A->dtype, p, i);
        *nax = (int)A->dim[0];
        *axes = buf;
        return WR_OK;
    }
    *nax = ir_attr_ints(n, "axes", axes);
    if (*nax < 0)
        *nax = 0;
    return WR_OK;
}

static bool dtype_ok(const Node *n, DType t)
{
    bool minmax = n->op == OP_REDUCE_MAX || n->op == OP_REDUCE_MIN;
    return t == DT_F32 || t == DT_F64 || t == DT_I32 || t == DT_I64 || (minmax && t == DT_BOOL) ||
           (minmax && (t == DT_U8 || t == DT_I8));
}

Status op_reduce_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    if (!dtype_ok(n, X->dtype))
        return diag_node(d, WR_EUNSUPPORTED, n, "type %s is not supported",
                         dtype_info[X->dtype].name);
    ReduceParams *p = arena_alloc(&g->arena, sizeof *p);
    p->ndim = X->ndim;
    memcpy(p->dim, X->dim, sizeof p->dim);
    const int64_t *axes;
    int64_t buf[IR_MAX_DIMS];
    int nax = 0;
    WR_TRY(read_axes(n, &axes, &nax, buf, d));
    int64_t keep = ir_attr_int(n, "keepdims", 1);
    p->noop = nax == 0 && ir_attr_int(n, "noop_with_empty_axes", 0);
    for (int i = 0; i < nax; i++) {
        int a;
        WR_TRY(ir_norm_axis(n, axes[i], X->ndim, &a, d));
        p->red[a] = true;
    }
    int ndim = 0;
    int64_t dim[IR_MAX_DIMS];
    p->count = 1;
    for (int i = 0; i < X->ndim; i++) {
        if (nax == 0 && !p->noop)
            p->red[i] = true;
        if (p->red[i])
            p->count *= X->dim[i];
        if (!p->red[i] || keep)
            dim[ndim++] = p->red[i] ? 1 : X->dim[i];
    }
    ir_tensor_set_shape(n->out[0], X->dtype, ndim, dim);
    n->priv = p;
    return WR_OK;
}

/* Value of an empty reduction, also the start of the max / min scans. */
static double reduce_init(int op)
{
    switch (op) {
    case OP_REDUCE_MAX: return -INFINITY;
    case OP_REDUCE_MIN: return INFINITY;
    case OP_REDUCE_PROD: return 1.0;
    default: return 0.0;
    }
}

/* Reduction of xs[0..cnt) (gathered) for op. */
static double reduce_ref(int op, const double *xs, int64_t cnt)
{
    double acc = reduce_init(op), m = -INFINITY;
    if (op == OP_REDUCE_LOG_SUM_EXP)
        for (int64_t i = 0; i < cnt; i++)
            m = xs[i] > m ? xs[i] : m;
    for (int64_t i = 0; i < cnt; i++) {
        double x = xs[i];
        switch (op) {
        case OP_REDUCE_MAX: acc = x > acc ? x : acc; break;
        case OP_REDUCE_MIN: acc = x < acc ? x : acc; break;
        case OP_REDUCE_PROD: acc *= x; break;
        case OP_REDUCE_L1: acc += fabs(x); break;
        case OP_REDUCE_L2:
        case OP_REDUCE_SUM_SQUARE: acc += x * x; break;
        case OP_REDUCE_LOG_SUM_EXP: acc += exp(x - m); break;
        default: acc += x; break;
        }
    }
    switch (op) {
    case OP_REDUCE_MEAN: return acc / (double)cnt;
    case OP_REDUCE_L2: return sqrt(acc);
    case OP_REDUCE_LOG_SUM: return log(acc);
    case OP_REDUCE_LOG_SUM_EXP: return cnt ? m + log(acc) : -INFINITY;
    default: return acc;
    }
}

/* Flat offset of the idx-th element (row-major over the dims where red == want). */
static int64_t offset_of(const ReduceParams *p, bool want, int64_t idx)
{
    int64_t off = 0, stride = 1;
    for (int k = p->ndim - 1; k >= 0; k--) {
        if (p->red[k] == want) {
            off += idx % p->dim[k] * stride;
            idx /= p->dim[k];
        }
        stride *= p->dim[k];
    }
    return off;
}

Status op_reduce_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    const ReduceParams *p = n->priv;
    DType t = n->in[0]->dtype;
    int64_t total = ir_tensor_numel(n->out[0]);
    if (p->noop) {
        memcpy(out[0], in[0], (size_t)ir_tensor_bytes(n->out[0]));
        return WR_OK;
    }
    double *xs = p->count ? calloc((size_t)p->count, sizeof *xs) : NULL;
    if (p->count && !xs)
        return diag_node(d, WR_ENOMEM, n, "out of memory");
    for (int64_t o = 0; o < total; o++) {
        int64_t base = offset_of(p, false, o);
        for (int64_t r = 0; r < p->count; r++)
            xs[r] = dtype_get_f64(t, in[0], base + offset_of(p, true, r));
        double v = reduce_ref(n->op, xs, p->count);
        if (!dtype_is_float(t) && isinf(v)) /* empty max/min of integers: type limits */
            v = v > 0 ? (t == DT_BOOL ? 1 : INT32_MAX) : 0;
        dtype_set_f64(t, out[0], o, v);
    }
    free(xs);
    return WR_OK;
}
