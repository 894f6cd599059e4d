/*
 * ConvTranspose: the gradient of Conv, 1 to 3 spatial dims, group >= 1.
 *   X (N, C, D.., H, W)  W (C, M/group, kD.., kH, kW)  B (M) optional
 *   -> Y (N, M, oD.., oH, oW),  o = s*(i-1) + output_padding + (k-1)*d+1 - pads
 * auto_pad SAME_* fixes o (to i*s or output_shape) and derives the pads;
 * output_shape alone keeps the explicit pads (as the ONNX reference does).
 * The reference eval scatters each input tap; the emitter
 * (codegen/kernels/convtranspose.c) gathers per output element instead.
 */
#include "opparams.h"

#include <stdlib.h>
#include <string.h>

static Status ints_attr(Node *n, const char *name, int nsp, int64_t def, int64_t *out, Diag *d)
{
    const int64_t *v;
    int c = ir_attr_ints(n, name, &v);
    for (int i = 0; i < 3; i++)
        out[i] = def;
    if (c < 0)
        return WR_OK;
    if (c != nsp && !(c == nsp + 2 && strcmp(name, "output_shape") == 0))
        return diag_node(d, WR_EPARSE, n, "attribute '%s' has %d values, expected %d", name, c,
                         nsp);
    for (int i = 0; i < nsp; i++)
        out[3 - nsp + i] = v[c - nsp + i];
    return WR_OK;
}

static int64_t floor_div2(int64_t a) { return a >= 0 ? a / 2 : -((1 - a) / 2); }

/* Pads split from their total (floored, as the ONNX reference does):
 * SAME_UPPER puts the odd one at the end. */
static void split_pads(Spatial *s, int i, int64_t total, bool upper)
{
    s->pad0[i] = upper ? floor_div2(total) : total - floor_div2(total);
    s->pad1[i] = total - s->pad0[i];
}

static Status geometry(Node *n, const Tensor *X, const Tensor *W, Spatial *s, Diag *d)
{
    int nsp = X->ndim - 2;
    int64_t opad[3], oshape[3];
    const int64_t *pads;
    memset(s, 0, sizeof *s);
    s->nsp = nsp;
    WR_TRY(ints_attr(n, "strides", nsp, 1, s->stride, d));
    WR_TRY(ints_attr(n, "dilations", nsp, 1, s->dil, d));
    WR_TRY(ints_attr(n, "output_padding", nsp, 0, opad, d));
    WR_TRY(ints_attr(n, "output_shape", nsp, -1, oshape, d));
    const char *ap = ir_attr_str(n, "auto_pad", "NOTSET");
    bool same = strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0;
    int np = ir_attr_ints(n, "pads", &pads);
    if (np >= 0 && np != 2 * nsp)
        return diag_node(d, WR_EPARSE, n, "attribute 'pads' has %d values", np);
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - nsp);
        s->in[i] = j >= 0 ? X->dim[2 + j] : 1;
        s->k[i] = j >= 0 ? W->dim[2 + j] : 1;
        int64_t full = s->stride[i] * (s->in[i] - 1) + opad[i] + (s->k[i] - 1) * s->dil[i] + 1;
        if (j >= 0 && same && np < 0) { /* pads derived from the output size */
            s->out[i] = oshape[i] >= 0 ? oshape[i] : s->in[i] * s->stride[i];
            split_pads(s, i, full - s->out[i], strcmp(ap, "SAME_UPPER") == 0);
            continue;
        }
        s->pad0[i] = j >= 0 && np > 0 ? pads[j] : 0;
        s->pad1[i] = j >= 0 && np > 0 ? pads[j + nsp] : 0;
        /* output_shape with explicit (or zero) pads: the reference crops or
         * extends at the end */
        s->out[i] = j >= 0 && oshape[i] >= 0 ? oshape[i] : full - s->pad0[i] - s->pad1[i];
        if (s->out[i] < 1)
            return diag_node(d, WR_ESHAPE, n, "output size %lld < 1", (long long)s->out[i]);
    }
    return WR_OK;
}

Status op_convtranspose_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *W = n->in[1], *B = n->nin > 2 ? n->in[2] : NULL;
    if (X->dtype != DT_F32 || W->dtype != DT_F32 || (B && B->dtype != DT_F32))
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 is supported");
    if (X->ndim < 3 || X->ndim > 5 || W->ndim != X->ndim)
        return diag_node(d, WR_ESHAPE, n, "X has rank %d and W rank %d (3 to 5, equal)",
                         X->ndim, W->ndim);
    ConvTransposeParams *p = arena_alloc(&g->arena, sizeof *p);
    p->N = X->dim[0];
    p->C = X->dim[1];
    p->group = ir_attr_int(n, "group", 1);
    if (p->group < 1 || W->dim[0] != p->C || p->C % p->group)
        return diag_node(d, WR_ESHAPE, n, "W dim 0 must be C=%lld, divisible by group=%lld",
                         (long long)p->C, (long long)p->group);
    p->M = W->dim[1] * p->group;
    if (B && (B->ndim != 1 || B->dim[0] != p->M))
        return diag_node(d, WR_ESHAPE, n, "B must have shape (%lld)", (long long)p->M);
    WR_TRY(geometry(n, X, W, &p->sp, d));
    int64_t dim[5] = {p->N, p->M};
    for (int i = 0; i < p->sp.nsp; i++)
        dim[2 + i] = p->sp.out[3 - p->sp.nsp + i];
    ir_tensor_set_shape(n->out[0], DT_F32, X->ndim, dim);
    n->priv = p;
    return WR_OK;
}

/* Adds x * W[c, m, taps] into acc (Y plane of channel m) for input pos i. */
static void scatter(const Spatial *s, const float *w, float x, const int64_t i[3], double *acc)
{
    for (int64_t a = 0; a < s->k[0]; a++)
        for (int64_t b = 0; b < s->k[1]; b++)
            for (int64_t c = 0; c < s->k[2]; c++) {
                int64_t z = i[0] * s->stride[0] - s->pad0[0] + a * s->dil[0];
                int64_t y = i[1] * s->stride[1] - s->pad0[1] + b * s->dil[1];
                int64_t v = i[2] * s->stride[2] - s->pad0[2] + c * s->dil[2];
                if (z < 0 || z >= s->out[0] || y < 0 || y >= s->out[1] || v < 0 ||
                    v >= s->out[2])
                    continue;
                acc[(z * s->out[1] + y) * s->out[2] + v] +=
                    (double)x * w[(a * s->k[1] + b) * s->k[2] + c];
            }
}

Status op_convtranspose_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    const ConvTransposeParams *p = n->priv;
    const Spatial *s = &p->sp;
    const float *X = in[0], *W = in[1], *B = n->nin > 2 && n->in[2] ? in[2] : NULL;
    int64_t isz = s->in[0] * s->in[1] * s->in[2], osz = s->out[0] * s->out[1] * s->out[2];
    int64_t ksz = s->k[0] * s->k[1] * s->k[2], Cg = p->C / p->group, Mg = p->M / p->group;
    double *acc = calloc((size_t)osz, sizeof *acc);
    if (!acc)
        return diag_node(d, WR_ENOMEM, n, "out of memory");
    for (int64_t nb = 0; nb < p->N; nb++)
        for (int64_t m = 0; m < p->M; m++) {
            int64_t g0 = m / Mg;
            for (int64_t o = 0; o < osz; o++)
                acc[o] = B ? B[m] : 0.0;
            for (int64_t c = g0 * Cg; c < (g0 + 1) * Cg; c++)
                for (int64_t t = 0; t < isz; t++) {
                    int64_t i[3] = {t / (s->in[1] * s->in[2]), t / s->in[2] % s->in[1],
                                    t % s->in[2]};
                    scatter(s, W + (c * Mg + m % Mg) * ksz, X[(nb * p->C + c) * isz + t], i, acc);
                }
            for (int64_t o = 0; o < osz; o++)
                ((float *)out[0])[(nb * p->M + m) * osz + o] = (float)acc[o];
        }
    free(acc);
    return WR_OK;
}
