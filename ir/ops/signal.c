/*
 * Signal processing: DFT (opset 17 and 20), STFT, HannWindow,
 * HammingWindow, BlackmanWindow and MelWeightMatrix.
 *   DFT  input (.., L, .., 1 or 2) [, dft_length] [, axis (opset 20)] -> (.., nout, .., 2 or 1)
 *   STFT signal (B, L, 1 or 2), frame_step [, window] [, frame_length] -> (B, frames, bins, 2)
 *   windows: size -> (size); MelWeightMatrix: 5 scalars -> (dft_length / 2 + 1, mel bins)
 * Sizes, lengths and axes must be constants. Transforms are the plain
 * O(n^2) sums (numpy's fft, ifft and irfft semantics: truncate or zero-pad
 * to n, 1/n on inverses). Parameters: SignalParams (ir/opparams.h); emitter
 * codegen/kernels/signal.c.
 */
#include "opparams.h"

#include <math.h>
#include <stdlib.h>

static const double PI = 3.14159265358979323846;

/* A scalar integer constant input k (def when absent). */
static Status const_int(const Node *n, int k, int64_t def, int64_t *v, Diag *d)
{
    *v = def;
    if (k >= n->nin || !n->in[k])
        return WR_OK;
    const void *p;
    WR_TRY(ir_const_input(n, k, &p, d));
    if (ir_tensor_numel(n->in[k]) != 1 || dtype_is_float(n->in[k]->dtype))
        return diag_node(d, WR_EPARSE, n, "input %d must be one integer", k);
    *v = dtype_get_i64(n->in[k]->dtype, p, 0);
    return WR_OK;
}

static Status float_input(const Node *n, Diag *d)
{
    if (n->in[0]->dtype != DT_F32 && n->in[0]->dtype != DT_F64)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 and float64 are supported");
    return WR_OK;
}

/* ---- DFT ---- */

Status op_dft_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    WR_TRY(float_input(n, d));
    int64_t ax, len;
    if (n->opset >= 20)
        WR_TRY(const_int(n, 2, -2, &ax, d));
    else
        ax = ir_attr_int(n, "axis", 1);
    int axis, r = X->ndim;
    WR_TRY(ir_norm_axis(n, ax, r, &axis, d));
    if (r < 2 || axis == r - 1 || (X->dim[r - 1] != 1 && X->dim[r - 1] != 2))
        return diag_node(d, WR_ESHAPE, n, "input must end in a dim of 1 or 2 after the axis");
    SignalParams *p = arena_alloc(&g->arena, sizeof *p);
    p->inverse = ir_attr_int(n, "inverse", 0) != 0;
    p->onesided = ir_attr_int(n, "onesided", 0) != 0;
    p->outer = p->inner = 1;
    for (int i = 0; i < axis; i++)
        p->outer *= X->dim[i];
    for (int i = axis + 1; i < r - 1; i++)
        p->inner *= X->dim[i];
    p->L = X->dim[axis], p->cin = X->dim[r - 1];
    WR_TRY(const_int(n, 1, p->inverse && p->onesided ? 2 * (p->L - 1) : p->L, &len, d));
    if (len < 1)
        return diag_node(d, WR_EPARSE, n, "dft_length must be positive");
    p->n = len;
    p->nout = p->onesided && !p->inverse ? len / 2 + 1 : len;
    p->cout = p->inverse && p->onesided ? 1 : 2;
    int64_t dim[IR_MAX_DIMS];
    for (int i = 0; i < r; i++)
        dim[i] = i == axis ? p->nout : i == r - 1 ? p->cout : X->dim[i];
    ir_tensor_set_shape(n->out[0], X->dtype, r, dim);
    n->priv = p;
    return WR_OK;
}

/* One transform: x (L values of cin at stride xs) -> y (nout of cout at stride ys). */
static void dft_ref(const SignalParams *p, DType t, const void *x, int64_t xb, int64_t xs,
                    void *y, int64_t yb, int64_t ys)
{
    int64_t m = p->L < p->n ? p->L : p->n;
    for (int64_t k = 0; k < p->nout; k++) {
        double re = 0.0, im = 0.0;
        for (int64_t j = 0; j < (p->inverse && p->onesided ? (m < p->n / 2 + 1 ? m : p->n / 2 + 1)
                                                             : m); j++) {
            double xr = dtype_get_f64(t, x, xb + j * xs);
            double xi = p->cin == 2 ? dtype_get_f64(t, x, xb + j * xs + 1) : 0.0;
            double th = 2.0 * PI * (double)((k * j) % p->n) / (double)p->n;
            double c = cos(th), s = sin(th);
            if (p->inverse && p->onesided) { /* Hermitian extension of the one-sided input */
                double w = j == 0 || (p->n % 2 == 0 && j == p->n / 2) ? 1.0 : 2.0;
                re += w * (xr * c - xi * s);
            } else if (p->inverse) {
                re += xr * c - xi * s, im += xi * c + xr * s;
            } else {
                re += xr * c + xi * s, im += xi * c - xr * s;
            }
        }
        if (p->inverse)
            re /= (double)p->n, im /= (double)p->n;
        dtype_set_f64(t, y, yb + k * ys, re);
        if (p->cout == 2)
            dtype_set_f64(t, y, yb + k * ys + 1, im);
    }
}

Status op_dft_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const SignalParams *p = n->priv;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t i = 0; i < p->inner; i++)
            dft_ref(p, n->in[0]->dtype, in[0], (o * p->L * p->inner + i) * p->cin,
                    p->inner * p->cin, out[0], (o * p->nout * p->inner + i) * p->cout,
                    p->inner * p->cout);
    return WR_OK;
}

/* ---- STFT ---- */

Status op_stft_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *W = n->nin > 2 ? n->in[2] : NULL;
    WR_TRY(float_input(n, d));
    if (X->ndim != 3 || (X->dim[2] != 1 && X->dim[2] != 2))
        return diag_node(d, WR_ESHAPE, n, "signal must be (batch, length, 1 or 2)");
    SignalParams *p = arena_alloc(&g->arena, sizeof *p);
    p->outer = X->dim[0], p->L = X->dim[1], p->cin = X->dim[2], p->inner = 1;
    p->window = W != NULL;
    if (W && (W->ndim != 1 || W->dtype != X->dtype))
        return diag_node(d, WR_ESHAPE, n, "window must be 1-D of the signal's type");
    WR_TRY(const_int(n, 1, 0, &p->step, d));
    WR_TRY(const_int(n, 3, W ? W->dim[0] : p->L, &p->n, d));
    if (p->step < 1 || p->n < 1 || p->n > p->L || (W && W->dim[0] != p->n))
        return diag_node(d, WR_ESHAPE, n, "frame_step, frame_length and window do not fit");
    p->onesided = ir_attr_int(n, "onesided", 1) != 0;
    p->nout = p->onesided ? p->n / 2 + 1 : p->n;
    p->cout = 2;
    p->frames = (p->L - p->n) / p->step + 1;
    int64_t dim[4] = {p->outer, p->frames, p->nout, 2};
    ir_tensor_set_shape(n->out[0], X->dtype, 4, dim);
    n->priv = p;
    return WR_OK;
}

Status op_stft_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    const SignalParams *p = n->priv;
    DType t = n->in[0]->dtype;
    int es = dtype_info[t].bytes;
    char *frame = malloc((size_t)(p->n * p->cin * es));
    if (!frame)
        return diag_node(d, WR_ENOMEM, n, "out of memory");
    SignalParams q = *p;
    q.L = p->n;
    for (int64_t b = 0; b < p->outer; b++)
        for (int64_t f = 0; f < p->frames; f++) {
            for (int64_t j = 0; j < p->n * p->cin; j++) {
                double w = p->window ? dtype_get_f64(t, in[2], j / p->cin) : 1.0;
                int64_t src = (b * p->L + f * p->step) * p->cin + j;
                dtype_set_f64(t, frame, j, dtype_get_f64(t, in[0], src) * w);
            }
            dft_ref(&q, t, frame, 0, p->cin, out[0], (b * p->frames + f) * p->nout * 2, 2);
        }
    free(frame);
    return WR_OK;
}

/* ---- windows ---- */

Status op_window_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    int64_t size;
    WR_TRY(const_int(n, 0, 0, &size, d));
    DType t = dtype_from_onnx((int)ir_attr_int(n, "output_datatype", 1));
    if (t != DT_F32 && t != DT_F64)
        return diag_node(d, WR_EUNSUPPORTED, n, "output_datatype must be float or double");
    if (size < 0)
        return diag_node(d, WR_EPARSE, n, "size must be >= 0");
    ir_tensor_set_shape(n->out[0], t, 1, &size);
    return WR_OK;
}

/* Value i of the window (size values, periodic or symmetric). */
static double window_value(int op, int64_t i, int64_t size, bool periodic)
{
    double N = (double)(periodic ? size : size - 1), x = (double)i;
    if (op == OP_HANN_WINDOW)
        return sin(PI * x / N) * sin(PI * x / N);
    if (op == OP_HAMMING_WINDOW)
        return 25.0 / 46.0 - (1.0 - 25.0 / 46.0) * cos(2.0 * PI * x / N);
    return 0.42 - 0.5 * cos(2.0 * PI * x / N) + 0.08 * cos(4.0 * PI * x / N); /* Blackman */
}

Status op_window_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)in;
    (void)d;
    int64_t size = ir_tensor_numel(n->out[0]);
    bool periodic = ir_attr_int((Node *)n, "periodic", 1) != 0;
    for (int64_t i = 0; i < size; i++)
        dtype_set_f64(n->out[0]->dtype, out[0], i, window_value(n->op, i, size, periodic));
    return WR_OK;
}

/* ---- MelWeightMatrix ---- */

Status op_melweight_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    int64_t bins, len;
    WR_TRY(const_int(n, 0, 0, &bins, d));
    WR_TRY(const_int(n, 1, 0, &len, d));
    const void *v;
    for (int k = 2; k < 5; k++)
        WR_TRY(ir_const_input(n, k, &v, d));
    DType t = dtype_from_onnx((int)ir_attr_int(n, "output_datatype", 1));
    if (t != DT_F32 && t != DT_F64)
        return diag_node(d, WR_EUNSUPPORTED, n, "output_datatype must be float or double");
    if (bins < 1 || len < 1)
        return diag_node(d, WR_EPARSE, n, "num_mel_bins and dft_length must be positive");
    int64_t dim[2] = {len / 2 + 1, bins};
    ir_tensor_set_shape(n->out[0], t, 2, dim);
    return WR_OK;
}

static double scalar(const Node *n, void *const *in, int k)
{
    return dtype_get_f64(n->in[k]->dtype, in[k], 0);
}

/* Triangular filters between mel-spaced edges (the onnx reference's construction). */
Status op_melweight_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    int64_t bins = (int64_t)scalar(n, in, 0), len = (int64_t)scalar(n, in, 1), rows = len / 2 + 1;
    double rate = scalar(n, in, 2), lo = scalar(n, in, 3), hi = scalar(n, in, 4);
    double lm = 2595.0 * log1p(lo / 700.0) / log(10.0), hm = 2595.0 * log1p(hi / 700.0) / log(10.0);
    double step = (hm - lm) / (double)(bins + 2);
    int64_t *f = calloc((size_t)(bins + 2), sizeof *f);
    if (!f)
        return diag_node(d, WR_ENOMEM, n, "out of memory");
    for (int64_t i = 0; i < bins + 2; i++) {
        double hz = 700.0 * expm1(((double)i * step + lm) / 2595.0 * log(10.0));
        f[i] = (int64_t)floor((double)(len + 1) * hz / rate);
    }
    DType t = n->out[0]->dtype;
    for (int64_t i = 0; i < rows * bins; i++)
        dtype_set_f64(t, out[0], i, 0.0);
    for (int64_t i = 0; i < bins; i++) {
        int64_t l = f[i], c = f[i + 1], h = f[i + 2];
        if (c == l && c >= 0 && c < rows)
            dtype_set_f64(t, out[0], c * bins + i, 1.0);
        for (int64_t j = l; c > l && j <= c; j++)
            if (j >= 0 && j < rows)
                dtype_set_f64(t, out[0], j * bins + i, (double)(j - l) / (double)(c - l));
        for (int64_t j = c; h > c && j < h; j++)
            if (j >= 0 && j < rows)
                dtype_set_f64(t, out[0], j * bins + i, (double)(h - j) / (double)(h - c));
    }
    free(f);
    return WR_OK;
}
