/*
 * Normalizations, X viewed as (outer, C, inner):
 *   BatchNormalization (inference): X (N, C, ..), scale, B, mean, var (C)
 *   InstanceNormalization: X (N, C, ..), scale, B (C); stats per (n, c)
 *   LayerNormalization: X, Scale [, B] over dims axis.. ; Mean, InvStdDev
 *     optional outputs of shape X with dims axis.. set to 1
 *   LRN: X (N, C, ..), cross-channel window of `size`
 *   RMSNormalization: X, Scale over dims axis..
 *   GroupNormalization: X (N, C, ..), scale, bias; stats per (n, group)
 *   LpNormalization: X over one axis, p = 1 or 2
 *   MeanVarianceNormalization: X over axes (default 0, 2, 3)
 * References in double; codegen/kernels/norm.c emits the loops.
 */
#include "opparams.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static Status float_only(Node *n, Diag *d)
{
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && n->in[i]->dtype != DT_F32 && n->in[i]->dtype != DT_F64)
            return diag_node(d, WR_EUNSUPPORTED, n, "only float32 and float64 are supported");
    return WR_OK;
}

/* (outer, C, inner) of X split at axis (C = dim axis; 1 when axis == rank). */
static NormParams *norm_params(Graph *g, const Tensor *X, int axis)
{
    NormParams *p = arena_alloc(&g->arena, sizeof *p);
    p->outer = p->C = p->inner = 1;
    for (int i = 0; i < X->ndim; i++) {
        if (i < axis)
            p->outer *= X->dim[i];
        else if (i == axis)
            p->C = X->dim[i];
        else
            p->inner *= X->dim[i];
    }
    return p;
}

static Status per_channel(Node *n, int first, int last, int64_t C, Diag *d)
{
    for (int i = first; i <= last; i++)
        if (ir_tensor_numel(n->in[i]) != C)
            return diag_node(d, WR_ESHAPE, n, "input %d must have %lld elements", i,
                             (long long)C);
    return WR_OK;
}

Status op_batchnorm_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    WR_TRY(float_only(n, d));
    bool extra = (n->nout > 1 && n->out[1]) || (n->nout > 2 && n->out[2]);
    if (ir_attr_int(n, "training_mode", 0) || extra)
        return diag_node(d, WR_EUNSUPPORTED, n,
                         "training mode (running mean/var outputs) is not supported");
    if (X->ndim < 2)
        return diag_node(d, WR_ESHAPE, n, "X must have rank >= 2");
    NormParams *p = norm_params(g, X, 1);
    WR_TRY(per_channel(n, 1, 4, p->C, d));
    p->eps = ir_attr_float(n, "epsilon", 1e-5f);
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    n->priv = p;
    return WR_OK;
}

Status op_batchnorm_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    DType t = n->in[0]->dtype;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t c = 0; c < p->C; c++) {
            double sc = dtype_get_f64(n->in[1]->dtype, in[1], c);
            double b = dtype_get_f64(n->in[2]->dtype, in[2], c);
            double m = dtype_get_f64(n->in[3]->dtype, in[3], c);
            double v = dtype_get_f64(n->in[4]->dtype, in[4], c);
            double k = sc / sqrt(v + (double)p->eps);
            for (int64_t i = 0, base = (o * p->C + c) * p->inner; i < p->inner; i++)
                dtype_set_f64(t, out[0], base + i, (dtype_get_f64(t, in[0], base + i) - m) * k + b);
        }
    return WR_OK;
}

Status op_instancenorm_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    WR_TRY(float_only(n, d));
    if (X->ndim < 3)
        return diag_node(d, WR_ESHAPE, n, "X must have rank >= 3");
    NormParams *p = norm_params(g, X, 1);
    WR_TRY(per_channel(n, 1, 2, p->C, d));
    p->eps = ir_attr_float(n, "epsilon", 1e-5f);
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    n->priv = p;
    return WR_OK;
}

/* Mean and 1/sqrt(var + eps) of x[base + i], i < len, in double. */
static void stats_ref(DType t, const void *x, int64_t base, int64_t len, double eps, double *mean,
                      double *inv)
{
    double s = 0.0, ss = 0.0;
    for (int64_t i = 0; i < len; i++)
        s += dtype_get_f64(t, x, base + i);
    *mean = len ? s / (double)len : 0.0;
    for (int64_t i = 0; i < len; i++) {
        double v = dtype_get_f64(t, x, base + i) - *mean;
        ss += v * v;
    }
    *inv = 1.0 / sqrt((len ? ss / (double)len : 0.0) + eps);
}

Status op_instancenorm_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    DType t = n->in[0]->dtype;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t c = 0; c < p->C; c++) {
            int64_t base = (o * p->C + c) * p->inner;
            double m, inv;
            stats_ref(t, in[0], base, p->inner, p->eps, &m, &inv);
            double sc = dtype_get_f64(n->in[1]->dtype, in[1], c);
            double b = dtype_get_f64(n->in[2]->dtype, in[2], c);
            for (int64_t i = 0; i < p->inner; i++)
                dtype_set_f64(t, out[0], base + i,
                              (dtype_get_f64(t, in[0], base + i) - m) * inv * sc + b);
        }
    return WR_OK;
}

Status op_layernorm_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    WR_TRY(float_only(n, d));
    int axis;
    WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", -1), X->ndim, &axis, d));
    NormParams *p = norm_params(g, X, X->ndim); /* C = inner = 1 */
    p->outer = 1;
    for (int i = 0; i < X->ndim; i++)
        *(i < axis ? &p->outer : &p->inner) *= X->dim[i];
    p->eps = ir_attr_float(n, "epsilon", 1e-5f);
    p->nscale = ir_tensor_numel(n->in[1]);
    p->nbias = n->nin > 2 && n->in[2] ? ir_tensor_numel(n->in[2]) : 0;
    if (p->nscale < 1 || p->inner % p->nscale || (p->nbias && p->inner % p->nbias))
        return diag_node(d, WR_ESHAPE, n, "Scale/B do not broadcast to the normalized shape");
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    int64_t sd[IR_MAX_DIMS];
    for (int i = 0; i < X->ndim; i++)
        sd[i] = i < axis ? X->dim[i] : 1;
    DType st = ir_attr_int(n, "stash_type", 1) == 11 ? DT_F64 : DT_F32;
    for (int i = 1; i < 3 && i < n->nout; i++)
        if (n->out[i])
            ir_tensor_set_shape(n->out[i], st, X->ndim, sd);
    n->priv = p;
    return WR_OK;
}

Status op_layernorm_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    DType t = n->in[0]->dtype;
    for (int64_t o = 0; o < p->outer; o++) {
        int64_t base = o * p->inner;
        double m, inv;
        stats_ref(t, in[0], base, p->inner, p->eps, &m, &inv);
        for (int64_t i = 0; i < p->inner; i++) {
            double sc = dtype_get_f64(n->in[1]->dtype, in[1], i % p->nscale);
            double b = p->nbias ? dtype_get_f64(n->in[2]->dtype, in[2], i % p->nbias) : 0.0;
            double x = dtype_get_f64(t, in[0], base + i);
            dtype_set_f64(t, out[0], base + i, (x - m) * inv * sc + b);
        }
        if (n->nout > 1 && out[1])
            dtype_set_f64(n->out[1]->dtype, out[1], o, m);
        if (n->nout > 2 && out[2])
            dtype_set_f64(n->out[2]->dtype, out[2], o, inv);
    }
    return WR_OK;
}

Status op_lrn_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    WR_TRY(float_only(n, d));
    if (X->ndim < 3)
        return diag_node(d, WR_ESHAPE, n, "X must have rank >= 3");
    NormParams *p = norm_params(g, X, 1);
    p->alpha = ir_attr_float(n, "alpha", 1e-4f);
    p->beta = ir_attr_float(n, "beta", 0.75f);
    p->bias = ir_attr_float(n, "bias", 1.0f);
    p->size = ir_attr_int(n, "size", 0);
    if (p->size < 1)
        return diag_node(d, WR_EPARSE, n, "attribute 'size' must be >= 1");
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    n->priv = p;
    return WR_OK;
}

Status op_lrn_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    DType t = n->in[0]->dtype;
    int64_t lo = (p->size - 1) / 2, hi = p->size - 1 - lo;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t c = 0; c < p->C; c++)
            for (int64_t i = 0; i < p->inner; i++) {
                double s = 0.0;
                for (int64_t k = c - lo; k <= c + hi; k++)
                    if (k >= 0 && k < p->C) {
                        double v = dtype_get_f64(t, in[0], (o * p->C + k) * p->inner + i);
                        s += v * v;
                    }
                int64_t j = (o * p->C + c) * p->inner + i;
                double den = pow((double)p->bias + (double)p->alpha / (double)p->size * s,
                                 (double)p->beta);
                dtype_set_f64(t, out[0], j, dtype_get_f64(t, in[0], j) / den);
            }
    return WR_OK;
}

/* Whether s (rank <= X's, leading 1s dropped) is a suffix of X's dims
 * axis..: then element i of a normalized row reads s[i % numel(s)]. */
static bool suffix_shape(const Tensor *s, const Tensor *X, int axis)
{
    int lead = 0;
    while (lead < s->ndim && s->dim[lead] == 1)
        lead++;
    int r = s->ndim - lead;
    if (r > X->ndim - axis)
        return false;
    for (int i = 0; i < r; i++)
        if (s->dim[s->ndim - 1 - i] != X->dim[X->ndim - 1 - i])
            return false;
    return true;
}

/* RMSNormalization: X, Scale over dims axis.. (Scale suffix-broadcast as in
 * LayerNorm): Y = X / sqrt(mean(X^2) + eps) * Scale. */
Status op_rmsnorm_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    WR_TRY(float_only(n, d));
    int axis;
    WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", -1), X->ndim, &axis, d));
    NormParams *p = norm_params(g, X, X->ndim); /* C = inner = 1 */
    p->outer = 1;
    for (int i = 0; i < X->ndim; i++)
        *(i < axis ? &p->outer : &p->inner) *= X->dim[i];
    p->eps = ir_attr_float(n, "epsilon", 1e-5f);
    p->nscale = ir_tensor_numel(n->in[1]);
    if (p->nscale < 1 || !suffix_shape(n->in[1], X, axis))
        return diag_node(d, WR_ESHAPE, n, "Scale does not broadcast to the normalized shape");
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    n->priv = p;
    return WR_OK;
}

Status op_rmsnorm_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    DType t = n->in[0]->dtype;
    for (int64_t o = 0; o < p->outer; o++) {
        int64_t base = o * p->inner;
        double ss = 0.0;
        for (int64_t i = 0; i < p->inner; i++) {
            double x = dtype_get_f64(t, in[0], base + i);
            ss += x * x;
        }
        double inv = 1.0 / sqrt(ss / (double)(p->inner ? p->inner : 1) + (double)p->eps);
        for (int64_t i = 0; i < p->inner; i++) {
            double sc = dtype_get_f64(n->in[1]->dtype, in[1], i % p->nscale);
            dtype_set_f64(t, out[0], base + i, dtype_get_f64(t, in[0], base + i) * inv * sc);
        }
    }
    return WR_OK;
}

/* GroupNormalization: X (N, C, ..), scale and bias (C) (opset >= 21) or
 * (num_groups) (opset 18); statistics per (n, group of C / num_groups
 * channels). size = num_groups, nscale = scale's length. */
Status op_groupnorm_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    WR_TRY(float_only(n, d));
    if (X->ndim < 3)
        return diag_node(d, WR_ESHAPE, n, "X must have rank >= 3");
    NormParams *p = norm_params(g, X, 1);
    p->size = ir_attr_int(n, "num_groups", 0);
    if (p->size < 1 || p->C % p->size)
        return diag_node(d, WR_EPARSE, n, "num_groups (%lld) must divide the %lld channels",
                         (long long)p->size, (long long)p->C);
    p->nscale = n->opset >= 21 ? p->C : p->size;
    WR_TRY(per_channel(n, 1, 2, p->nscale, d));
    p->eps = ir_attr_float(n, "epsilon", 1e-5f);
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    n->priv = p;
    return WR_OK;
}

Status op_groupnorm_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    DType t = n->in[0]->dtype;
    int64_t cg = p->C / p->size, len = cg * p->inner;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t gr = 0; gr < p->size; gr++) {
            int64_t base = (o * p->C + gr * cg) * p->inner;
            double m, inv;
            stats_ref(t, in[0], base, len, p->eps, &m, &inv);
            for (int64_t i = 0; i < len; i++) {
                int64_t k = p->nscale == p->C ? gr * cg + i / p->inner : gr;
                double sc = dtype_get_f64(n->in[1]->dtype, in[1], k);
                double b = dtype_get_f64(n->in[2]->dtype, in[2], k);
                double x = dtype_get_f64(t, in[0], base + i);
                dtype_set_f64(t, out[0], base + i, (x - m) * inv * sc + b);
            }
        }
    return WR_OK;
}

/* LpNormalization: X divided by its p-norm (p = 1 or 2, in size) along axis;
 * a zero norm gives 0. */
Status op_lpnorm_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    WR_TRY(float_only(n, d));
    int axis;
    WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", -1), X->ndim, &axis, d));
    NormParams *p = norm_params(g, X, axis);
    p->size = ir_attr_int(n, "p", 2);
    if (p->size != 1 && p->size != 2)
        return diag_node(d, WR_EPARSE, n, "p must be 1 or 2, not %lld", (long long)p->size);
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    n->priv = p;
    return WR_OK;
}

Status op_lpnorm_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const NormParams *p = n->priv;
    DType t = n->in[0]->dtype;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t i = 0; i < p->inner; i++) {
            int64_t base = o * p->C * p->inner + i;
            double s = 0.0;
            for (int64_t c = 0; c < p->C; c++) {
                double x = dtype_get_f64(t, in[0], base + c * p->inner);
                s += p->size == 1 ? fabs(x) : x * x;
            }
            double norm = p->size == 1 ? s : sqrt(s);
            for (int64_t c = 0; c < p->C; c++) {
                double x = dtype_get_f64(t, in[0], base + c * p->inner);
                dtype_set_f64(t, out[0], base + c * p->inner, norm == 0.0 ? 0.0 : x / norm);
            }
        }
    return WR_OK;
}

/* MeanVarianceNormalization (opset 13 function, computed directly): per group
 * of elements sharing the coordinates outside axes (default 0, 2, 3),
 * y = (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9). */
Status op_mvn_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    WR_TRY(float_only(n, d));
    MvnParams *p = arena_alloc(&g->arena, sizeof *p);
    p->ndim = X->ndim;
    memcpy(p->dim, X->dim, sizeof(int64_t) * (size_t)X->ndim);
    const int64_t *ax;
    int na = ir_attr_ints(n, "axes", &ax);
    static const int64_t def[3] = {0, 2, 3};
    if (na < 0)
        ax = def, na = 3;
    for (int i = 0; i < na; i++) {
        int a;
        WR_TRY(ir_norm_axis(n, ax[i], X->ndim, &a, d));
        p->red[a] = true;
    }
    p->groups = 1;
    for (int i = 0; i < X->ndim; i++)
        p->groups *= p->red[i] ? 1 : X->dim[i];
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    ir_node_add_scratch(g, n, DT_F64, 2 * p->groups);
    n->priv = p;
    return WR_OK;
}

/* The group of flat element i. */
static int64_t mvn_group(const MvnParams *p, int64_t i)
{
    int64_t gi = 0, gs = 1;
    for (int k = p->ndim - 1; k >= 0; k--) {
        if (!p->red[k])
            gi += (i % p->dim[k]) * gs, gs *= p->dim[k];
        i /= p->dim[k];
    }
    return gi;
}

Status op_mvn_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    const MvnParams *p = n->priv;
    DType t = n->in[0]->dtype;
    int64_t N = ir_tensor_numel(n->in[0]), per = N / (p->groups ? p->groups : 1);
    double *s = calloc((size_t)(2 * p->groups + 1), sizeof *s);
    if (!s)
        return diag_node(d, WR_ENOMEM, n, "out of memory");
    for (int64_t i = 0; i < N; i++) {
        double x = dtype_get_f64(t, in[0], i);
        int64_t gi = mvn_group(p, i);
        s[2 * gi] += x, s[2 * gi + 1] += x * x;
    }
    for (int64_t i = 0; i < N; i++) {
        int64_t gi = mvn_group(p, i);
        double m = s[2 * gi] / (double)per, v = s[2 * gi + 1] / (double)per - m * m;
        dtype_set_f64(t, out[0], i, (dtype_get_f64(t, in[0], i) - m) / (sqrt(v) + 1e-9));
    }
    free(s);
    return WR_OK;
}
