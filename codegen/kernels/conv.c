/*
 * Conv: fp32 convolution specialized to the node (reference: ir/ops/conv.c).
 *   X (N, C, D.., H, W)  W (M, C/group, kD.., kH, kW)  B (M)  ->  Y (N, M, oD.., oH, oW)
 * Depthwise (group == C == M): per channel, a row of output pixels at a time
 * in an accumulator array that compilers vectorize; the ow range of each
 * kernel column is clipped at compile time, so no tap checks its bounds.
 * Everything else: per (image, group) the packed GEMM of sgemm.c,
 *   Y (Mg x oD*oH*oW) = W (Mg x Cg*kD*kH*kW) . im2col(X),
 * with constant weights packed at compile time and im2col panels built on the
 * fly. Bias and the fused activation are applied in the microkernel.
 */
#include "codegen.h"
#include "opparams.h"

enum { DW_CHUNK = 64 }; /* output pixels per depthwise accumulator array */

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* For each kernel column kw, the output columns [lo, hi) whose tap is inside the input. */
static void col_ranges(const Spatial *s, int32_t *lo, int32_t *hi)
{
    int64_t KW = s->k[2];
    for (int64_t kw = 0; kw < KW; kw++) {
        int64_t off = kw * s->dil[2] - s->pad0[2]; /* iw = ow * stride + off */
        int64_t a = -floor_div(off, s->stride[2]); /* ceil(-off / stride) */
        int64_t b = floor_div(s->in[2] - 1 - off, s->stride[2]) + 1;
        a = a < 0 ? 0 : a;
        b = b > s->out[2] ? s->out[2] : b;
        lo[kw] = (int32_t)a;
        hi[kw] = (int32_t)(b < a ? a : b);
    }
}

static void depthwise_taps(Emitter *e, const Spatial *s, const char *LO, const char *HI)
{
    cg_open(e, "for (int32_t kd = 0; kd < %lld; kd++)", (long long)s->k[0]);
    cg_line(e, "const int32_t id = od * %lld - %lld + kd * %lld;", (long long)s->stride[0],
            (long long)s->pad0[0], (long long)s->dil[0]);
    cg_line(e, "if (id < 0 || id >= %lld) continue;", (long long)s->in[0]);
    cg_open(e, "for (int32_t kh = 0; kh < %lld; kh++)", (long long)s->k[1]);
    cg_line(e, "const int32_t ih = oh * %lld - %lld + kh * %lld;", (long long)s->stride[1],
            (long long)s->pad0[1], (long long)s->dil[1]);
    cg_line(e, "if (ih < 0 || ih >= %lld) continue;", (long long)s->in[1]);
    cg_line(e, "const float *xr = x + (id * %lld + ih) * %lld;", (long long)s->in[1],
            (long long)s->in[2]);
    cg_open(e, "for (int32_t kw = 0; kw < %lld; kw++)", (long long)s->k[2]);
    cg_line(e, "const float wv = w[(kd * %lld + kh) * %lld + kw];", (long long)s->k[1],
            (long long)s->k[2]);
    cg_line(e, "const int32_t lo = %s[kw] > ow0 ? %s[kw] : ow0, hi = %s[kw] < ow1 ? %s[kw] : ow1;",
            LO, LO, HI, HI);
    cg_line(e, "const int32_t off = kw * %lld - %lld;", (long long)s->dil[2],
            (long long)s->pad0[2]);
    cg_line(e, "for (int32_t ow = lo; ow < hi; ow++) acc[ow - ow0] += wv * xr[ow * %lld + off];",
            (long long)s->stride[2]);
    cg_close(e);
    cg_close(e);
    cg_close(e);
}

static void emit_depthwise(Emitter *e, const Node *n, const ConvParams *p)
{
    const Spatial *s = &p->sp;
    int32_t lo[64], hi[64];
    col_ranges(s, lo, hi);
    const char *LO = cg_const_array(e, "dwlo", DT_I32, lo, s->k[2]);
    const char *HI = cg_const_array(e, "dwhi", DT_I32, hi, s->k[2]);
    const char *X = cg_in(e, 0), *W = cg_in(e, 1), *Y = cg_out(e, 0);
    const char *B = n->nin > 2 && n->in[2] ? cg_in(e, 2) : NULL;
    long long isz = s->in[0] * s->in[1] * s->in[2], OH = s->out[1], OW = s->out[2];
    long long osz = s->out[0] * OH * OW, ksz = s->k[0] * s->k[1] * s->k[2];
    cg_open(e, "for (int64_t ob = 0; ob < %lld; ob++)", (long long)(p->N * p->C));
    cg_line(e, "const int64_t c = ob %% %lld;", (long long)p->C);
    cg_line(e, "const float *x = %s + ob * %lld, *w = %s + c * %lld;", X, isz, W, ksz);
    cg_line(e, "float *y = %s + ob * %lld;", Y, osz);
    cg_line(e, "const float b = %s;", B ? arena_printf(&((Graph *)e->g)->arena, "%s[c]", B)
                                        : "0.0f");
    cg_open(e, "for (int32_t r = 0; r < %lld; r++)", (long long)s->out[0] * OH);
    cg_line(e, "const int32_t od = r / %lld, oh = r %% %lld;", OH, OH);
    cg_open(e, "for (int32_t ow0 = 0; ow0 < %lld; ow0 += %d)", OW, DW_CHUNK);
    cg_line(e, "const int32_t ow1 = ow0 + %d < %lld ? ow0 + %d : %lld;", DW_CHUNK, OW, DW_CHUNK,
            OW);
    cg_line(e, "float acc[%d];", DW_CHUNK);
    cg_line(e, "for (int32_t j = 0; j < %d; j++) acc[j] = b;", DW_CHUNK);
    depthwise_taps(e, s, LO, HI);
    cg_line(e, "for (int32_t ow = ow0; ow < ow1; ow++) y[r * %lld + ow] = %s;", OW,
            cg_act_expr(e, n, "acc[ow - ow0]"));
    cg_close(e);
    cg_close(e);
    cg_close(e);
}

static bool pointwise(const Spatial *s)
{
    for (int i = 0; i < 3; i++)
        if (s->k[i] != 1 || s->stride[i] != 1 || s->pad0[i] || s->pad1[i])
            return false;
    return true;
}

static void emit_gemm(Emitter *e, const Node *n, const ConvParams *p)
{
    const Spatial *s = &p->sp;
    Arena *A = &((Graph *)e->g)->arena;
    long long G = p->group, Cg = p->C / G, Mg = p->M / G;
    long long isz = s->in[0] * s->in[1] * s->in[2], osz = s->out[0] * s->out[1] * s->out[2];
    long long Kg = Cg * s->k[0] * s->k[1] * s->k[2];
    SgemmSpec g = {.M = Mg, .N = osz, .K = Kg, .nouter = p->N * G, .alpha = 1.0f, .ldy = osz,
                   .act_node = n, .conv = p};
    if (n->in[1]->data) {
        g.A = (SgemmOperand){.sk = 1, .so = Kg, .data = n->in[1]->data, .nconst = G,
                             .cstride = Mg * Kg, .cidx = arena_printf(A, "ob %% %lld", G)};
    } else
        g.A = (SgemmOperand){.base = arena_printf(A, "%s + ob %% %lld * %lld", cg_in(e, 1), G,
                                                  Mg * Kg),
                             .sk = 1, .so = Kg};
    g.B.base = arena_printf(A, "%s + ob * %lld", cg_in(e, 0), Cg * isz);
    if (pointwise(s)) { /* im2col of a 1x1, stride 1, unpadded conv is X itself */
        g.conv = NULL;
        g.B.sk = isz;
        g.B.so = 1;
    }
    g.Y = arena_printf(A, "%s + ob * %lld", cg_out(e, 0), Mg * osz);
    if (n->nin > 2 && n->in[2])
        g.bias = arena_printf(A, "%s + ob %% %lld * %lld", cg_in(e, 2), G, Mg);
    cg_sgemm(e, &g);
}

Status cg_conv_emit(Emitter *e, const Node *n, Diag *d)
{
    const ConvParams *p = n->priv;
    if (p->group > 1 && p->group == p->C && p->group == p->M && p->sp.k[2] <= 64)
        emit_depthwise(e, n, p);
    else
        emit_gemm(e, n, p);
    (void)d;
    return WR_OK;
}
