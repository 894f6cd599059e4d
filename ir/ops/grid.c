/*
 * GridSample (opset 16, 20, 22) and AffineGrid (opset 20), 2-D and 3-D, and
 * RoiAlign (opset 10, 16; a batch index outside the batch is clamped) and
 * DeformConv (opset 19, 22; 2-D).
 *   GridSample X (N, C, in..), Grid (N, out.., nd) in [-1, 1] (x first)
 *     -> Y (N, C, out..): nearest / linear / cubic, zeros / border /
 *     reflection padding, align_corners
 *   AffineGrid theta (N, nd, nd + 1), size (constant: N, C, out..)
 *     -> grid (N, out.., nd) = theta . (x, y[, z], 1) over the base grid
 * The taps come from ir/grid.h (shared with the generated code). Parameters:
 * GridParams (ir/opparams.h); emitter codegen/kernels/grid.c.
 */
#include "grid.h"
#include "opparams.h"

#include <math.h>
#include <string.h>

GS_HELPERS
RA_HELPERS
DC_HELPERS

static int mode_of(const char *m)
{
    if (!strcmp(m, "nearest"))
        return 0;
    if (!strcmp(m, "linear") || !strcmp(m, "bilinear"))
        return 1;
    if (!strcmp(m, "cubic") || !strcmp(m, "bicubic"))
        return 2;
    return -1;
}

static int pad_of(const char *m)
{
    return !strcmp(m, "zeros") ? 0 : !strcmp(m, "border") ? 1 : !strcmp(m, "reflection") ? 2 : -1;
}

Status op_gridsample_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *G = n->in[1];
    if (X->dtype != DT_F32 || G->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 is supported");
    int nd = X->ndim - 2;
    if ((nd != 2 && nd != 3) || G->ndim != X->ndim || G->dim[0] != X->dim[0] ||
        G->dim[X->ndim - 1] != nd)
        return diag_node(d, WR_ESHAPE, n, "X (N, C, 2 or 3 dims) and Grid (N, .., %d) disagree",
                         nd);
    GridParams *p = arena_alloc(&g->arena, sizeof *p);
    p->nd = nd, p->N = X->dim[0], p->C = X->dim[1];
    p->mode = mode_of(ir_attr_str(n, "mode", n->opset >= 20 ? "linear" : "bilinear"));
    p->pad = pad_of(ir_attr_str(n, "padding_mode", "zeros"));
    p->align = ir_attr_int(n, "align_corners", 0) != 0;
    if (p->mode < 0 || p->pad < 0)
        return diag_node(d, WR_EPARSE, n, "unknown mode or padding_mode");
    int64_t dim[5] = {p->N, p->C};
    for (int i = 0; i < nd; i++)
        p->in[i] = X->dim[2 + i], p->out[i] = dim[2 + i] = G->dim[1 + i];
    ir_tensor_set_shape(n->out[0], DT_F32, X->ndim, dim);
    n->priv = p;
    return WR_OK;
}

Status op_gridsample_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const GridParams *p = n->priv;
    const float *X = in[0], *G = in[1];
    float *Y = out[0];
    int64_t P = 1, S = 1, idx[3][4] = {{0}};
    for (int i = 0; i < p->nd; i++)
        P *= p->out[i], S *= p->in[i];
    double w[3][4] = {{0}};
    for (int64_t b = 0; b < p->N; b++)
        for (int64_t q = 0; q < P; q++) {
            int32_t nt[3] = {1, 1, 1};
            for (int i = 0; i < p->nd; i++)
                nt[i] = gs_taps(G[(b * P + q) * p->nd + p->nd - 1 - i], p->in[i], p->mode, p->pad,
                                p->align, idx[i], w[i]);
            for (int64_t c = 0; c < p->C; c++) {
                double acc = 0.0;
                for (int32_t t0 = 0; t0 < nt[0]; t0++)
                    for (int32_t t1 = 0; t1 < nt[1]; t1++)
                        for (int32_t t2 = 0; t2 < (p->nd == 3 ? nt[2] : 1); t2++) {
                            int64_t i0 = idx[0][t0], i1 = idx[1][t1];
                            int64_t i2 = p->nd == 3 ? idx[2][t2] : 0;
                            if (i0 < 0 || i1 < 0 || i2 < 0)
                                continue;
                            int64_t off = p->nd == 3 ? (i0 * p->in[1] + i1) * p->in[2] + i2
                                                     : i0 * p->in[1] + i1;
                            acc += w[0][t0] * w[1][t1] * (p->nd == 3 ? w[2][t2] : 1.0) *
                                   X[(b * p->C + c) * S + off];
                        }
                Y[(b * p->C + c) * P + q] = (float)acc;
            }
        }
    return WR_OK;
}

/* ---- AffineGrid ---- */

Status op_affinegrid_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *T = n->in[0];
    const void *sz;
    WR_TRY(ir_const_input(n, 1, &sz, d));
    int64_t ns = ir_tensor_numel(n->in[1]);
    if (T->dtype != DT_F32 || n->in[1]->dtype != DT_I64 || (ns != 4 && ns != 5))
        return diag_node(d, WR_EUNSUPPORTED, n, "theta must be float32, size int64 of 4 or 5");
    GridParams *p = arena_alloc(&g->arena, sizeof *p);
    p->nd = (int)ns - 2;
    const int64_t *s = sz;
    p->N = s[0], p->C = s[1];
    if (T->ndim != 3 || T->dim[0] != p->N || T->dim[1] != p->nd || T->dim[2] != p->nd + 1)
        return diag_node(d, WR_ESHAPE, n, "theta must be (N, %d, %d)", p->nd, p->nd + 1);
    p->align = ir_attr_int(n, "align_corners", 0) != 0;
    int64_t dim[5] = {p->N};
    for (int i = 0; i < p->nd; i++)
        p->out[i] = dim[1 + i] = s[2 + i];
    dim[1 + p->nd] = p->nd;
    ir_tensor_set_shape(n->out[0], DT_F32, p->nd + 2, dim);
    n->priv = p;
    return WR_OK;
}

/* Base coordinate of pixel i of len along a dim, in [-1, 1]. */
static double base(int64_t i, int64_t len, bool align)
{
    if (align)
        return len > 1 ? -1.0 + 2.0 * (double)i / (double)(len - 1) : -1.0;
    return -1.0 + (2.0 * (double)i + 1.0) / (double)len;
}

Status op_affinegrid_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const GridParams *p = n->priv;
    const float *T = in[0];
    float *Y = out[0];
    int nd = p->nd;
    int64_t P = 1;
    for (int i = 0; i < nd; i++)
        P *= p->out[i];
    for (int64_t b = 0; b < p->N; b++)
        for (int64_t q = 0; q < P; q++) {
            double v[4] = {0, 0, 0, 1.0}; /* x, y[, z] (fastest dim first), 1 */
            int64_t r = q;
            for (int i = nd - 1; i >= 0; i--) {
                v[nd - 1 - i] = base(r % p->out[i], p->out[i], p->align);
                r /= p->out[i];
            }
            v[nd] = 1.0;
            for (int k = 0; k < nd; k++) {
                double s = 0.0;
                for (int j = 0; j <= nd; j++)
                    s += (double)T[(b * nd + k) * (nd + 1) + j] * v[j];
                Y[(b * P + q) * nd + k] = (float)s;
            }
        }
    return WR_OK;
}

/* ---- RoiAlign ---- */

Status op_roialign_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *R = n->in[1], *I = n->in[2];
    if (X->dtype != DT_F32 || R->dtype != DT_F32 || I->dtype != DT_I64)
        return diag_node(d, WR_EUNSUPPORTED, n, "X and rois must be float32, batch_indices int64");
    if (X->ndim != 4 || R->ndim != 2 || R->dim[1] != 4 || ir_tensor_numel(I) != R->dim[0])
        return diag_node(d, WR_ESHAPE, n, "X (N, C, H, W), rois (R, 4), batch_indices (R)");
    RoiAlignParams *p = arena_alloc(&g->arena, sizeof *p);
    p->N = X->dim[0], p->C = X->dim[1], p->H = X->dim[2], p->W = X->dim[3], p->R = R->dim[0];
    p->PH = ir_attr_int(n, "output_height", 1), p->PW = ir_attr_int(n, "output_width", 1);
    p->sr = ir_attr_int(n, "sampling_ratio", 0);
    p->scale = ir_attr_float(n, "spatial_scale", 1.0f);
    const char *m = ir_attr_str(n, "mode", "avg");
    const char *ct = ir_attr_str(n, "coordinate_transformation_mode", "half_pixel");
    if ((strcmp(m, "avg") != 0 && strcmp(m, "max") != 0) ||
        (strcmp(ct, "half_pixel") != 0 && strcmp(ct, "output_half_pixel") != 0) || p->PH < 1 ||
        p->PW < 1 || p->sr < 0)
        return diag_node(d, WR_EPARSE, n, "bad mode, coordinate_transformation_mode or sizes");
    p->maxmode = strcmp(m, "max") == 0;
    p->half = n->opset >= 16 && strcmp(ct, "half_pixel") == 0;
    ir_tensor_set_shape(n->out[0], DT_F32, 4, (int64_t[]){p->R, p->C, p->PH, p->PW});
    n->priv = p;
    return WR_OK;
}

Status op_roialign_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const RoiAlignParams *p = n->priv;
    const int64_t *bi = in[2];
    for (int64_t r = 0; r < p->R; r++) {
        int64_t b = bi[r] < 0 ? 0 : bi[r] >= p->N ? p->N - 1 : bi[r];
        ra_roi(in[0], p->C, p->H, p->W, (const float *)in[1] + r * 4, b, (double)p->scale,
               p->half, p->sr, p->maxmode, p->PH, p->PW,
               (float *)out[0] + r * p->C * p->PH * p->PW);
    }
    return WR_OK;
}

/* ---- DeformConv ---- */

Status op_deformconv_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *W = n->in[1], *O = n->in[2];
    const Tensor *B = n->nin > 3 ? n->in[3] : NULL, *M = n->nin > 4 ? n->in[4] : NULL;
    WR_ASSERT(X && W && O); /* required inputs: checked by ir_infer (min_in) */
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && n->in[i]->dtype != DT_F32)
            return diag_node(d, WR_EUNSUPPORTED, n, "only float32 is supported");
    if (X->ndim != 4)
        return diag_node(d, WR_EUNSUPPORTED, n, "only 2-D deformable convolutions are supported");
    DeformConvParams *p = arena_alloc(&g->arena, sizeof *p);
    int64_t dim[5];
    WR_TRY(conv_geometry(n, X, W, B, &p->conv, dim, d));
    const Spatial *s = &p->conv.sp;
    p->ogroups = ir_attr_int(n, "offset_group", 1);
    int64_t ks = s->k[1] * s->k[2];
    if (p->ogroups < 1 || p->conv.C % p->ogroups || O->ndim != 4 || O->dim[0] != p->conv.N ||
        O->dim[1] != p->ogroups * ks * 2 || O->dim[2] != dim[2] || O->dim[3] != dim[3])
        return diag_node(d, WR_ESHAPE, n, "offset must be (N, offset_group * 2 * kernel, out..)");
    if (M && (ir_tensor_numel(M) != ir_tensor_numel(O) / 2))
        return diag_node(d, WR_ESHAPE, n, "mask must be (N, offset_group * kernel, out..)");
    p->bias = B != NULL, p->mask = M != NULL;
    ir_tensor_set_shape(n->out[0], DT_F32, 4, dim);
    n->priv = p;
    return WR_OK;
}

Status op_deformconv_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const DeformConvParams *p = n->priv;
    const ConvParams *q = &p->conv;
    const Spatial *s = &q->sp;
    const float *X = in[0], *W = in[1], *O = in[2];
    const float *B = p->bias ? in[3] : NULL, *M = p->mask ? in[4] : NULL;
    int64_t H = s->in[1], Wd = s->in[2], OH = s->out[1], OW = s->out[2], KH = s->k[1];
    int64_t KW = s->k[2], Cg = q->C / q->group, Mg = q->M / q->group, Co = q->C / p->ogroups;
    for (int64_t b = 0; b < q->N; b++)
        for (int64_t m = 0; m < q->M; m++)
            for (int64_t i = 0; i < OH * OW; i++) {
                int64_t oh = i / OW, ow = i % OW;
                double acc = B ? B[m] : 0.0;
                for (int64_t c = 0; c < Cg; c++) {
                    int64_t ci = (m / Mg) * Cg + c, og = ci / Co;
                    for (int64_t k = 0; k < KH * KW; k++) {
                        int64_t base = ((b * p->ogroups + og) * KH * KW + k) * 2;
                        int64_t ky = k / KW, kx = k % KW; /* tap row and column */
                        double y = (double)(oh * s->stride[1] - s->pad0[1] + ky * s->dil[1]) +
                                   O[base * OH * OW + i];
                        double x = (double)(ow * s->stride[2] - s->pad0[2] + kx * s->dil[2]) +
                                   O[(base + 1) * OH * OW + i];
                        double v = dc_sample(X + (b * q->C + ci) * H * Wd, H, Wd, y, x);
                        int64_t mi = ((b * p->ogroups + og) * KH * KW + k) * OH * OW + i;
                        double mk = M ? M[mi] : 1.0;
                        acc += v * W[(m * Cg + c) * KH * KW + k] * mk;
                    }
                }
                ((float *)out[0])[(b * q->M + m) * OH * OW + i] = (float)acc;
            }
    return WR_OK;
}
