/*
 * GridSample and AffineGrid (reference: ir/ops/grid.c). GridSample: per
 * batch and output point the taps of each dim come from gs_taps (ir/grid.h,
 * the same text as the reference's), then per channel the weighted sum over
 * the tap combinations. AffineGrid: the 2x3 / 3x4 transform of each base
 * point. DeformConv: direct loops over the bilinear samples of dc_sample (ir/grid.h).
 * RoiAlign: one call per region of the ra_roi helper (ir/grid.h, the
 * reference's text).
 */
#include "codegen.h"
#include "grid.h"
#include "opparams.h"

#define GS_STR_(...) #__VA_ARGS__
#define GS_STR(...) GS_STR_(__VA_ARGS__)

Status cg_gridsample_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const GridParams *p = n->priv;
    int nd = p->nd;
    long long P = 1, S = 1;
    for (int i = 0; i < nd; i++)
        P *= p->out[i], S *= p->in[i];
    cg_helper(e, "gs_helpers", GS_STR(GS_HELPERS));
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)p->N);
    cg_open(e, "for (int64_t q = 0; q < %lld; q++)", P);
    cg_line(e, "int64_t idx[3][4] = {{0}};");
    cg_line(e, "double w[3][4] = {{0}};");
    cg_line(e, "int32_t nt[3] = {1, 1, 1};");
    for (int i = 0; i < nd; i++)
        cg_line(e, "nt[%d] = gs_taps((double)%s[(b * %lld + q) * %d + %d], %lld, %d, %d, %d, "
                   "idx[%d], w[%d]);", i, cg_in(e, 1), P, nd, nd - 1 - i, (long long)p->in[i],
                p->mode, p->pad, p->align, i, i);
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", (long long)p->C);
    cg_line(e, "const float *x = %s + (b * %lld + c) * %lld;", cg_in(e, 0), (long long)p->C, S);
    cg_line(e, "double acc = 0.0;");
    cg_open(e, "for (int32_t t0 = 0; t0 < nt[0]; t0++)");
    cg_open(e, "for (int32_t t1 = 0; t1 < nt[1]; t1++)");
    if (nd == 3) {
        cg_open(e, "for (int32_t t2 = 0; t2 < nt[2]; t2++)");
        cg_line(e, "if (idx[0][t0] < 0 || idx[1][t1] < 0 || idx[2][t2] < 0) continue;");
        cg_line(e, "acc += w[0][t0] * w[1][t1] * w[2][t2] * (double)x[(idx[0][t0] * %lld + "
                   "idx[1][t1]) * %lld + idx[2][t2]];", (long long)p->in[1], (long long)p->in[2]);
        cg_close(e);
    } else {
        cg_line(e, "if (idx[0][t0] < 0 || idx[1][t1] < 0) continue;");
        cg_line(e, "acc += w[0][t0] * w[1][t1] * (double)x[idx[0][t0] * %lld + idx[1][t1]];",
                (long long)p->in[1]);
    }
    cg_close(e);
    cg_close(e);
    cg_line(e, "%s[(b * %lld + c) * %lld + q] = (float)acc;", cg_out(e, 0), (long long)p->C, P);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}

Status cg_affinegrid_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const GridParams *p = n->priv;
    int nd = p->nd;
    long long P = 1;
    for (int i = 0; i < nd; i++)
        P *= p->out[i];
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)p->N);
    cg_open(e, "for (int64_t q = 0; q < %lld; q++)", P);
    cg_line(e, "double v[4] = {0.0, 0.0, 0.0, 1.0};");
    cg_line(e, "int64_t r = q;");
    for (int i = nd - 1; i >= 0; i--) {
        long long len = p->out[i];
        if (p->align)
            cg_line(e, "v[%d] = %s;", nd - 1 - i, len > 1 ? arena_printf(
                &((Graph *)e->g)->arena, "-1.0 + 2.0 * (double)(r %% %lld) / %lld.0", len,
                len - 1) : "-1.0");
        else
            cg_line(e, "v[%d] = -1.0 + (2.0 * (double)(r %% %lld) + 1.0) / %lld.0;", nd - 1 - i,
                    len, len);
        cg_line(e, "r /= %lld;", len);
    }
    cg_line(e, "v[%d] = 1.0;", nd);
    cg_line(e, "const float *t = %s + b * %d;", cg_in(e, 0), nd * (nd + 1));
    cg_open(e, "for (int32_t k = 0; k < %d; k++)", nd);
    cg_line(e, "double s = 0.0;");
    cg_line(e, "for (int32_t j = 0; j <= %d; j++) s += (double)t[k * %d + j] * v[j];", nd,
            nd + 1);
    cg_line(e, "%s[(b * %lld + q) * %d + k] = (float)s;", cg_out(e, 0), P, nd);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}

Status cg_roialign_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const RoiAlignParams *p = n->priv;
    cg_helper(e, "ra_helpers", GS_STR(RA_HELPERS));
    long long N = p->N;
    Buf sc = {0};
    double s = (double)p->scale;
    cg_literal(&sc, DT_F64, &s, 0);
    cg_open(e, "for (int64_t r = 0; r < %lld; r++)", (long long)p->R);
    cg_line(e, "const int64_t b = %s[r] < 0 ? 0 : (%s[r] >= %lld ? %lld : %s[r]);", cg_in(e, 2),
            cg_in(e, 2), N, N - 1, cg_in(e, 2));
    cg_line(e, "ra_roi(%s, %lld, %lld, %lld, %s + r * 4, b, %s, %d, %lld, %d, %lld, %lld, "
               "%s + r * %lld);", cg_in(e, 0), (long long)p->C, (long long)p->H,
            (long long)p->W, cg_in(e, 1), sc.p, p->half, (long long)p->sr, p->maxmode,
            (long long)p->PH, (long long)p->PW, cg_out(e, 0),
            (long long)(p->C * p->PH * p->PW));
    cg_close(e);
    buf_free(&sc);
    return WR_OK;
}

Status cg_deformconv_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const DeformConvParams *p = n->priv;
    const ConvParams *q = &p->conv;
    const Spatial *s = &q->sp;
    long long H = s->in[1], W = s->in[2], OH = s->out[1], OW = s->out[2], KH = s->k[1];
    long long KW = s->k[2], C = q->C, Cg = q->C / q->group, Mg = q->M / q->group;
    long long G = p->ogroups, Co = q->C / p->ogroups;
    cg_helper(e, "dc_helpers", GS_STR(DC_HELPERS));
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)q->N);
    cg_open(e, "for (int64_t m = 0; m < %lld; m++)", (long long)q->M);
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", OH * OW);
    cg_line(e, "const int64_t oh = i / %lld, ow = i %% %lld;", OW, OW);
    cg_line(e, "double acc = %s;", p->bias ? arena_printf(&((Graph *)e->g)->arena,
                                                          "(double)%s[m]", cg_in(e, 3)) : "0.0");
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", Cg);
    cg_line(e, "const int64_t ci = (m / %lld) * %lld + c, og = ci / %lld;", Mg, Cg, Co);
    cg_open(e, "for (int64_t k = 0; k < %lld; k++)", KH * KW);
    cg_line(e, "const int64_t base = ((b * %lld + og) * %lld + k) * 2;", G, KH * KW);
    cg_line(e, "const double y = (double)(oh * %lld - %lld + k / %lld * %lld) + "
               "(double)%s[base * %lld + i];", (long long)s->stride[1], (long long)s->pad0[1],
            KW, (long long)s->dil[1], cg_in(e, 2), OH * OW);
    cg_line(e, "const double x = (double)(ow * %lld - %lld + k %% %lld * %lld) + "
               "(double)%s[(base + 1) * %lld + i];", (long long)s->stride[2],
            (long long)s->pad0[2], KW, (long long)s->dil[2], cg_in(e, 2), OH * OW);
    cg_line(e, "const double v = dc_sample(%s + (b * %lld + ci) * %lld, %lld, %lld, y, x);",
            cg_in(e, 0), C, H * W, H, W);
    if (p->mask)
        cg_line(e, "const double mk = (double)%s[((b * %lld + og) * %lld + k) * %lld + i];",
                cg_in(e, 4), G, KH * KW, OH * OW);
    else
        cg_line(e, "const double mk = 1.0;");
    cg_line(e, "acc += v * (double)%s[(m * %lld + c) * %lld + k] * mk;", cg_in(e, 1), Cg,
            KH * KW);
    cg_close(e);
    cg_close(e);
    cg_line(e, "%s[(b * %lld + m) * %lld + i] = (float)acc;", cg_out(e, 0), (long long)q->M,
            OH * OW);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}
