/*
 * Resize (opset 10 to 19) and Upsample: X (d0..dn-1) -> Y, separable
 * nearest / linear / cubic interpolation, every coordinate transformation
 * mode, antialias, exclude_outside, axes and keep_aspect_ratio_policy.
 * roi, scales and sizes must be constant. Infer builds per-dim tap tables
 * (ResizeParams, following the ONNX reference's neighbour choice); eval
 * and codegen/kernels/resize.c both read them.
 */
#include "opparams.h"

#include <math.h>
#include <string.h>

typedef struct Mode {
    const char *mode, *coord, *nearest;
    double a;          /* cubic_coeff_a */
    int exclude, antialias;
    const double *roi; /* 2 * ndim entries, or NULL */
} Mode;

/* Interpolation coefficients for fractional part r (in (0, 1]) at scale s;
 * returns their count (even). */
static int coeffs(const Mode *m, double r, double s, double *c)
{
    if (strcmp(m->mode, "nearest") == 0) { /* r == 1: an exact input position */
        bool up = r == 1.0 || strcmp(m->nearest, "ceil") == 0 ? true
                  : strcmp(m->nearest, "floor") == 0            ? false
                  : strcmp(m->nearest, "round_prefer_ceil") == 0 ? r >= 0.5
                                                                 : r > 0.5;
        c[0] = !up;
        c[1] = up;
        return 2;
    }
    bool cubic = strcmp(m->mode, "cubic") == 0;
    double sc = m->antialias && s < 1.0 ? s : 1.0, A = m->a, sum = 0.0;
    int start = (int)floor((cubic ? -2.0 : -1.0) / sc) + 1, n = 2 - 2 * start;
    for (int i = 0; i < n; i++) {
        double x = fabs(sc * (start + i - r));
        if (!cubic)
            c[i] = x < 1.0 ? 1.0 - x : 0.0;
        else if (x <= 1.0)
            c[i] = ((A + 2) * x - (A + 3)) * x * x + 1;
        else
            c[i] = x < 2.0 ? ((A * x - 5 * A) * x + 8 * A) * x - 4 * A : 0.0;
        sum += c[i];
    }
    for (int i = 0; m->antialias && i < n; i++)
        c[i] /= sum;
    return n;
}

/* Source coordinate of output o along a dim; *outside for tf_crop_and_resize. */
static double source_coord(const Mode *m, int k, int nd, double o, double s, int64_t in,
                           int64_t out, bool *outside)
{
    double ow = s * (double)in; /* the ONNX reference uses the unrounded width */
    *outside = false;
    if (strcmp(m->coord, "align_corners") == 0)
        return ow == 1.0 ? 0.0 : o * (double)(in - 1) / (ow - 1.0);
    if (strcmp(m->coord, "asymmetric") == 0)
        return o / s;
    if (strcmp(m->coord, "tf_crop_and_resize") == 0) {
        double r0 = m->roi ? m->roi[k] : 0.0, r1 = m->roi ? m->roi[k + nd] : 1.0, x;
        double len = (double)(in - 1); /* operation order as in the ONNX reference */
        x = ow == 1.0 ? (r1 - r0) * len / 2 : o * (r1 - r0) * len / (ow - 1.0);
        x += r0 * (double)(in - 1);
        *outside = x < 0 || x > (double)(in - 1);
        return x;
    }
    if (strcmp(m->coord, "pytorch_half_pixel") == 0)
        return ow == 1.0 ? -0.5 : (o + 0.5) / s - 0.5;
    if (strcmp(m->coord, "half_pixel_symmetric") == 0) {
        double adj = (double)out / ow, off = (double)in / 2 * (1 - adj);
        return off + (o + 0.5) / s - 0.5;
    }
    return (o + 0.5) / s - 0.5; /* half_pixel */
}

enum { MAX_TAPS = 64 };

/* Taps of output o along dim k into idx / w (at most MAX_TAPS); returns
 * their count. Zero weights are dropped; indices clamp to the edge. */
static int dim_row(const Mode *m, const ResizeParams *p, int k, int64_t o, double s, int32_t *idx,
                   double *w, bool *outside)
{
    int64_t in = p->in[k];
    double c[MAX_TAPS], sum = 0.0;
    double x = source_coord(m, k, p->ndim, (double)o, s, in, p->out[k], outside), fl = floor(x);
    int cnt = coeffs(m, x == fl ? 1.0 : x - fl, s, c), j = 0;
    /* the cnt input positions nearest x, ties to the left (ONNX reference) */
    int64_t start = (int64_t)fl - (x == fl) - cnt / 2 + 1;
    for (int t = 0; t < cnt; t++) {
        if (m->exclude && (start + t < 0 || start + t >= in))
            c[t] = 0.0;
        sum += c[t];
    }
    for (int t = 0; t < cnt; t++) {
        int64_t i = start + t < 0 ? 0 : start + t >= in ? in - 1 : start + t;
        double v = m->exclude && sum != 0.0 ? c[t] / sum : c[t];
        if (v != 0.0) {
            idx[j] = (int32_t)i;
            w[j++] = v;
        }
    }
    return j;
}

/* Fills the tap table of dim k (rows of ntap[k] taps, zero-weight padded). */
static Status dim_table(Graph *g, Node *n, const Mode *m, ResizeParams *p, int k, double s,
                        bool ident, Diag *d)
{
    int64_t out = p->out[k];
    int nt = 1;
    if (m->antialias && s < 1.0 && 2.0 / s + 4 > MAX_TAPS)
        return diag_node(d, WR_EUNSUPPORTED, n, "antialias window too large (scale %g)", s);
    int32_t *idx = arena_alloc(&g->arena, sizeof(int32_t) * (size_t)(out * MAX_TAPS + 1));
    double *w = arena_alloc(&g->arena, sizeof(double) * (size_t)(out * MAX_TAPS + 1));
    p->outside[k] = arena_alloc(&g->arena, (size_t)out + 1);
    for (int64_t o = 0; o < out; o++) {
        bool outside = false;
        int c = 1;
        if (ident)
            idx[o * MAX_TAPS] = (int32_t)o, w[o * MAX_TAPS] = 1.0;
        else
            c = dim_row(m, p, k, o, s, idx + o * MAX_TAPS, w + o * MAX_TAPS, &outside);
        p->outside[k][o] = outside;
        p->any_outside |= outside;
        nt = c > nt ? c : nt;
    }
    for (int64_t o = 0; o < out; o++) /* compact rows in place: o * nt <= o * MAX_TAPS */
        for (int t = 0; t < nt; t++) {
            idx[o * nt + t] = idx[o * MAX_TAPS + t];
            w[o * nt + t] = w[o * MAX_TAPS + t];
        }
    p->idx[k] = idx;
    p->w[k] = w;
    p->ntap[k] = nt;
    return WR_OK;
}

/* Constant input i as doubles (count in *cnt; 0 when absent or empty). */
static Status const_doubles(Node *n, int i, double *buf, int *cnt, Diag *d)
{
    *cnt = 0;
    if (i >= n->nin || !n->in[i] || ir_tensor_numel(n->in[i]) == 0)
        return WR_OK;
    const void *p;
    WR_TRY(ir_const_input(n, i, &p, d));
    if (ir_tensor_numel(n->in[i]) > 2 * (int64_t)IR_MAX_DIMS)
        return diag_node(d, WR_ESHAPE, n, "input %d has too many elements", i);
    *cnt = (int)ir_tensor_numel(n->in[i]);
    for (int k = 0; k < *cnt; k++)
        buf[k] = dtype_get_f64(n->in[i]->dtype, p, k);
    return WR_OK;
}

/* scales (sc), sizes (sz) and roi (r) by opset: Upsample-7 has a scales
 * attribute, Upsample-9 and Resize-10 a scales input, Resize-11+ all three. */
static Status read_inputs(Node *n, double *sc, int *nsc, double *sz, int *nsz, double *r,
                          int *nr, Diag *d)
{
    bool up = n->op == OP_UPSAMPLE, v10 = !up && n->opset < 11;
    const float *fs;
    *nsz = *nr = 0;
    if (up && n->nin < 2) {
        *nsc = ir_attr_floats(n, "scales", &fs);
        if (*nsc > IR_MAX_DIMS)
            return diag_node(d, WR_ESHAPE, n, "too many scales");
        for (int k = 0; k < *nsc; k++)
            sc[k] = fs[k];
    } else
        WR_TRY(const_doubles(n, up || v10 ? 1 : 2, sc, nsc, d));
    if (!up && !v10) {
        WR_TRY(const_doubles(n, 3, sz, nsz, d));
        WR_TRY(const_doubles(n, 1, r, nr, d));
    }
    return WR_OK;
}

/* The axes attribute (opset 18), normalized; all dims when absent. */
static Status read_axes(Node *n, int nd, int *axes, int *nax, Diag *d)
{
    const int64_t *ax;
    *nax = ir_attr_ints(n, "axes", &ax);
    if (*nax > IR_MAX_DIMS)
        return diag_node(d, WR_EPARSE, n, "too many axes");
    for (int i = 0; i < (*nax < 0 ? nd : *nax); i++) {
        axes[i] = i;
        if (*nax >= 0)
            WR_TRY(ir_norm_axis(n, ax[i], nd, &axes[i], d));
    }
    *nax = *nax < 0 ? nd : *nax;
    return WR_OK;
}

/* Scales and output sizes per dim from scales or sizes (with axes and
 * keep_aspect_ratio_policy); roi expanded to 2 * ndim. */
static Status sizes_and_scales(Node *n, ResizeParams *p, double *s, double *roi, bool *has_roi,
                               Diag *d)
{
    /* zeroed: the counts checked below are what bound the reads */
    double sc[2 * IR_MAX_DIMS] = {0}, sz[2 * IR_MAX_DIMS] = {0}, r[2 * IR_MAX_DIMS] = {0};
    int nsc = 0, nsz = 0, nr = 0, nd = p->ndim, nax, axes[IR_MAX_DIMS];
    WR_TRY(read_inputs(n, sc, &nsc, sz, &nsz, r, &nr, d));
    WR_TRY(read_axes(n, nd, axes, &nax, d));
    if ((nsc ? nsc : nsz) != nax || (nsc && nsz) || (nr && nr != 2 * nax))
        return diag_node(d, WR_ESHAPE, n, "scales / sizes / roi do not match the %d axes", nax);
    for (int k = 0; k < nd; k++)
        s[k] = 1.0, p->out[k] = p->in[k], roi[k] = 0.0, roi[k + nd] = 1.0;
    *has_roi = nr > 0;
    const char *pol = ir_attr_str(n, "keep_aspect_ratio_policy", "stretch");
    double keep = strcmp(pol, "not_larger") == 0 ? INFINITY : -INFINITY;
    for (int i = 0; i < nax; i++) {
        int k = axes[i];
        if (nr)
            roi[k] = r[i], roi[k + nd] = r[i + nax];
        s[k] = nsc ? sc[i] : sz[i] / (double)p->in[k];
        double o = nsc ? s[k] * (double)p->in[k] : sz[i];
        if (!(o >= 0 && o <= (double)IR_MAX_NUMEL)) /* NaN too; before the conversion */
            return diag_node(d, WR_ESHAPE, n, "output size %g of dim %d is out of range", o, k);
        p->out[k] = (int64_t)o;
        keep = strcmp(pol, "not_larger") == 0 ? fmin(keep, s[k]) : fmax(keep, s[k]);
    }
    for (int i = 0; nsz && strcmp(pol, "stretch") != 0 && i < nax; i++) {
        s[axes[i]] = keep;
        double o = keep * (double)p->in[axes[i]] + 0.5;
        if (!(o >= 0 && o <= (double)IR_MAX_NUMEL))
            return diag_node(d, WR_ESHAPE, n, "output size %g of dim %d is out of range", o,
                             axes[i]);
        p->out[axes[i]] = (int64_t)o;
    }
    for (int k = 0; k < nd; k++)
        if (s[k] <= 0 || p->out[k] < 0)
            return diag_node(d, WR_ESHAPE, n, "scale %g of dim %d is not positive", s[k], k);
    return WR_OK;
}

Status op_resize_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    if (X->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 is supported");
    ResizeParams *p = arena_alloc(&g->arena, sizeof *p);
    p->ndim = X->ndim;
    memcpy(p->in, X->dim, sizeof p->in);
    double s[IR_MAX_DIMS] = {0}, roi[2 * IR_MAX_DIMS] = {0};
    bool has_roi = false;
    WR_TRY(sizes_and_scales(n, p, s, roi, &has_roi, d));
    WR_TRY(ir_check_out_shape(n, p->ndim, p->out, d));
    bool old = n->op == OP_UPSAMPLE || n->opset < 11;
    Mode m = {ir_attr_str(n, "mode", "nearest"),
              old ? "asymmetric" : ir_attr_str(n, "coordinate_transformation_mode", "half_pixel"),
              old ? "floor" : ir_attr_str(n, "nearest_mode", "round_prefer_floor"),
              ir_attr_float(n, "cubic_coeff_a", -0.75f), (int)ir_attr_int(n, "exclude_outside", 0),
              (int)ir_attr_int(n, "antialias", 0), roi};
    if (strcmp(m.mode, "nearest") != 0 && strcmp(m.mode, "linear") != 0 &&
        strcmp(m.mode, "cubic") != 0)
        return diag_node(d, WR_EUNSUPPORTED, n, "mode '%s' is not supported", m.mode);
    p->extrapolation = ir_attr_float(n, "extrapolation_value", 0.0f);
    for (int k = 0; k < p->ndim; k++) {
        /* roi only matters for tf_crop_and_resize */
        bool crop = has_roi && strcmp(m.coord, "tf_crop_and_resize") == 0;
        bool ident = fabs(s[k] - 1.0) < 1e-9 && p->out[k] == p->in[k] &&
                     (!crop || (fabs(roi[k]) < 1e-9 && fabs(roi[k + p->ndim] - 1.0) < 1e-9));
        WR_TRY(dim_table(g, n, &m, p, k, s[k], ident, d));
    }
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, p->out);
    n->priv = p;
    return WR_OK;
}

/* Output element at coordinates o[]: sum over all tap combinations. */
static double point_ref(const ResizeParams *p, const float *X, const int64_t *o)
{
    int t[IR_MAX_DIMS] = {0};
    double acc = 0.0;
    for (int k = 0; k < p->ndim; k++)
        if (p->outside[k][o[k]])
            return p->extrapolation;
    for (;;) {
        double w = 1.0;
        int64_t off = 0;
        for (int k = 0; k < p->ndim; k++) {
            w *= p->w[k][o[k] * p->ntap[k] + t[k]];
            off = off * p->in[k] + p->idx[k][o[k] * p->ntap[k] + t[k]];
        }
        acc += w * X[off];
        int k = p->ndim - 1;
        while (k >= 0 && ++t[k] == p->ntap[k])
            t[k--] = 0;
        if (k < 0)
            return acc;
    }
}

Status op_resize_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const ResizeParams *p = n->priv;
    int64_t total = ir_tensor_numel(n->out[0]), o[IR_MAX_DIMS];
    for (int64_t j = 0; j < total; j++) {
        for (int64_t k = p->ndim - 1, r = j; k >= 0; k--) {
            o[k] = r % p->out[k];
            r /= p->out[k];
        }
        ((float *)out[0])[j] = (float)point_ref(p, in[0], o);
    }
    return WR_OK;
}
