/*
 * Conv: N-d convolution (1 to 3 spatial dims), NCHW, group >= 1.
 *   X (N, C, D.., H, W)  W (M, C/group, kD.., kH, kW)  B (M) optional
 *   -> Y (N, M, oD.., oH, oW)
 * The reference eval is naive float code (then the fused activation): the
 * oracle for the fast kernels that codegen/kernels/conv.c emits.
 * With a quantizer folded in (out_* attributes, passes/quant_float.c) Y is that
 * quantizer's codes (out_layout / out_group), and output 1 a float scratch that the
 * emitted code fills and quantizes block by block (qblock channels by qpix pixels).
 */
#include "opparams.h"
#include "quant.h"

#include <string.h>

/* The scratch of a Conv writing codes holds QBLOCK output channels of the whole output,
 * fewer channels when that would pass QBLOCK_BYTES. What fills it: every channel for a
 * chunk of pixels when the chunk is at least QPIX_MIN pixels (a multiple of QPIX_ROUND,
 * every target's micro-kernel width, when larger), so that the GEMM packs each input
 * pixel once for all channels; else qblock channels of the whole output at a time. */
enum { QBLOCK = 8, QBLOCK_BYTES = 256 << 10, QPIX_MIN = 32, QPIX_ROUND = 96 };

/* qblock, qpix and the scratch's floats. */
static int64_t codes_blocks(ConvParams *p, int64_t osz)
{
    int64_t qb = QBLOCK_BYTES / (4 * (osz > 0 ? osz : 1));
    qb = qb < 1 ? 1 : qb > QBLOCK ? QBLOCK : qb;
    qb = qb > p->M ? p->M : qb;
    int64_t sz = qb * osz, pix = sz / (p->M > 0 ? p->M : 1);
    pix = pix > QPIX_ROUND ? pix / QPIX_ROUND * QPIX_ROUND : pix;
    pix = pix > osz ? osz : pix;
    p->qblock = pix >= QPIX_MIN || pix == osz ? p->M : qb;
    p->qpix = p->qblock == p->M ? pix : osz;
    return sz;
}

/* The quantizer Y holds, its layout, and the scratch of whole channel blocks. */
static Status codes_output(Graph *g, Node *n, ConvParams *p, Diag *d)
{
    QuantSpec *s = arena_alloc(&g->arena, sizeof *s);
    bool found;
    WR_TRY(quant_spec_read(g, n, "out_", s, &found, d));
    if (!found)
        return n->nout > 1 && n->out[1] ? diag_node(d, WR_EPARSE, n, "has 2 outputs") : WR_OK;
    int64_t osz = p->sp.out[0] * p->sp.out[1] * p->sp.out[2];
    if (p->group != 1 || n->nout < 2 || !n->out[1])
        return diag_node(d, WR_EUNSUPPORTED, n, "codes out need group 1 and a scratch output");
    WR_TRY(layout_set_output(n, "out_layout", "out_group", n->out[0], s->t, d));
    p->qout = s;
    int64_t sz = codes_blocks(p, osz);
    ir_tensor_set_shape(n->out[1], DT_F32, 1, &sz);
    return WR_OK;
}

Status conv_geometry(Node *n, const Tensor *X, const Tensor *W, const Tensor *B, ConvParams *p,
                     int64_t *ydim, Diag *d)
{
    if (X->ndim < 3 || X->ndim > 5 || W->ndim != X->ndim)
        return diag_node(d, WR_ESHAPE, n, "X has rank %d and W rank %d (3 to 5, equal)", X->ndim,
                         W->ndim);
    p->N = X->dim[0];
    p->C = X->dim[1];
    p->M = W->dim[0];
    p->group = ir_attr_int(n, "group", 1);
    if (p->group < 1 || p->C % p->group || p->M % p->group || W->dim[1] * p->group != p->C)
        return diag_node(d, WR_ESHAPE, n, "channels C=%lld, M=%lld, W dim 1=%lld do not fit group=%lld",
                         (long long)p->C, (long long)p->M, (long long)W->dim[1],
                         (long long)p->group);
    if (B && (B->ndim != 1 || B->dim[0] != p->M))
        return diag_node(d, WR_ESHAPE, n, "B must have shape (%lld)", (long long)p->M);
    const int64_t *ks;
    int nk = ir_attr_ints(n, "kernel_shape", &ks);
    if (nk >= 0 && (nk != X->ndim - 2 || memcmp(ks, W->dim + 2, sizeof(int64_t) * (size_t)nk) != 0))
        return diag_node(d, WR_ESHAPE, n, "kernel_shape disagrees with the shape of W");
    WR_TRY(ir_spatial_parse(n, X->ndim - 2, X->dim + 2, W->dim + 2, false, &p->sp, d));
    ydim[0] = p->N, ydim[1] = p->M;
    for (int i = 0; i < p->sp.nsp; i++)
        ydim[2 + i] = p->sp.out[3 - p->sp.nsp + i];
    return WR_OK;
}

Status op_conv_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *W = n->in[1], *B = n->nin > 2 ? n->in[2] : NULL;
    if (X->dtype != DT_F32 || W->dtype != DT_F32 || (B && B->dtype != DT_F32))
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 is supported");
    ConvParams *p = arena_alloc(&g->arena, sizeof *p);
    int64_t dim[5];
    WR_TRY(conv_geometry(n, X, W, B, p, dim, d));
    ir_tensor_set_shape(n->out[0], DT_F32, X->ndim, dim);
    n->priv = p;
    return codes_output(g, n, p, d);
}

Status op_conv_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    const ConvParams *p = n->priv;
    const Spatial *s = &p->sp;
    const float *X = in[0], *W = in[1], *B = n->nin > 2 ? in[2] : NULL;
    float *Y = out[0];
    int64_t Cg = p->C / p->group, Mg = p->M / p->group;
    int64_t isz = s->in[0] * s->in[1] * s->in[2], osz = s->out[0] * s->out[1] * s->out[2];
    int64_t ksz = s->k[0] * s->k[1] * s->k[2];
    for (int64_t nb = 0; nb < p->N; nb++)
        for (int64_t m = 0; m < p->M; m++) {
            int64_t g0 = m / Mg;
            for (int64_t o = 0; o < osz; o++) {
                int64_t od = o / (s->out[1] * s->out[2]), oh = o / s->out[2] % s->out[1],
                        ow = o % s->out[2];
                double acc = B ? B[m] : 0.0;
                for (int64_t c = 0; c < Cg; c++)
                    for (int64_t kd = 0; kd < s->k[0]; kd++)
                        for (int64_t kh = 0; kh < s->k[1]; kh++)
                            for (int64_t kw = 0; kw < s->k[2]; kw++) {
                                int64_t id = od * s->stride[0] - s->pad0[0] + kd * s->dil[0];
                                int64_t ih = oh * s->stride[1] - s->pad0[1] + kh * s->dil[1];
                                int64_t iw = ow * s->stride[2] - s->pad0[2] + kw * s->dil[2];
                                if (id < 0 || id >= s->in[0] || ih < 0 || ih >= s->in[1] ||
                                    iw < 0 || iw >= s->in[2])
                                    continue;
                                float x = X[((nb * p->C + g0 * Cg + c) * s->in[0] + id) * s->in[1] *
                                                s->in[2] + ih * s->in[2] + iw];
                                float w = W[(m * Cg + c) * ksz + (kd * s->k[1] + kh) * s->k[2] + kw];
                                acc += (double)x * w;
                            }
                float y = ir_act_apply(n, (float)acc);
                if (p->qout)
                    layout_info[n->out[0]->layout].put(n->out[0], out[0], nb, m, o,
                                                       quant_spec_code(p->qout, m, y));
                else
                    Y[(nb * p->M + m) * osz + o] = y;
            }
        }
    (void)isz;
    (void)d;
    return WR_OK;
}
