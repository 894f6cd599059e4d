/*
 * Conv: fp32 convolution specialized to the node (reference: ir/ops/conv.c).
 *   X (N, C, D.., H, W)  W (M, C/group, kD.., kH, kW)  B (M)  ->  Y (N, M, oD.., oH, oW)
 * Depthwise (group == C == M): per channel, the input is copied into a
 * zero-padded plane split by column stride phase, then every tap is one
 * fixed-length, unit-stride multiply-add over an output row that compilers
 * vectorize. Planes too big for the stack (or 3-D) use rows of accumulators
 * with each kernel column's valid output range clipped at compile time.
 * Everything else: per (image, group) the packed GEMM of sgemm.c,
 *   Y (Mg x oD*oH*oW) = W (Mg x Cg*kD*kH*kW) . im2col(X),
 * with constant weights packed at compile time and im2col panels built on the
 * fly. Bias and the fused activation are applied in the microkernel.
 */
#include "codegen.h"
#include "conv_direct.h"
#include "move.h"
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

/* it: the index type, int64_t when a channel plane has more than INT32_MAX elements. */
static void depthwise_taps(Emitter *e, const Spatial *s, const char *LO, const char *HI,
                           const char *it)
{
    cg_open(e, "for (%s kd = 0; kd < %lld; kd++)", it, (long long)s->k[0]);
    cg_line(e, "const %s id = od * %lld - %lld + kd * %lld;", it, (long long)s->stride[0],
            (long long)s->pad0[0], (long long)s->dil[0]);
    cg_line(e, "if (id < 0 || id >= %lld) continue;", (long long)s->in[0]);
    cg_open(e, "for (%s kh = 0; kh < %lld; kh++)", it, (long long)s->k[1]);
    cg_line(e, "const %s ih = oh * %lld - %lld + kh * %lld;", it, (long long)s->stride[1],
            (long long)s->pad0[1], (long long)s->dil[1]);
    cg_line(e, "if (ih < 0 || ih >= %lld) continue;", (long long)s->in[1]);
    cg_line(e, "const float *xr = x + (id * %lld + ih) * %lld;", (long long)s->in[1],
            (long long)s->in[2]);
    cg_open(e, "for (%s kw = 0; kw < %lld; kw++)", it, (long long)s->k[2]);
    cg_line(e, "const float wv = w[(kd * %lld + kh) * %lld + kw];", (long long)s->k[1],
            (long long)s->k[2]);
    cg_line(e, "const %s lo = %s[kw] > ow0 ? %s[kw] : ow0, hi = %s[kw] < ow1 ? %s[kw] : ow1;",
            it, LO, LO, HI, HI);
    cg_line(e, "const %s off = kw * %lld - %lld;", it, (long long)s->dil[2],
            (long long)s->pad0[2]);
    cg_line(e, "for (%s ow = lo; ow < hi; ow++) acc[ow - ow0] += wv * xr[ow * %lld + off];", it,
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
    const char *it = cg_index_type(isz > osz ? isz : osz);
    cg_open(e, "for (%s r = 0; r < %lld; r++)", it, (long long)s->out[0] * OH);
    cg_line(e, "const %s od = r / %lld, oh = r %% %lld;", it, OH, OH);
    cg_open(e, "for (%s ow0 = 0; ow0 < %lld; ow0 += %d)", it, OW, DW_CHUNK);
    cg_line(e, "const %s ow1 = ow0 + %d < %lld ? ow0 + %d : %lld;", it, DW_CHUNK, OW, DW_CHUNK,
            OW);
    cg_line(e, "float acc[%d];", DW_CHUNK);
    cg_line(e, "for (int32_t j = 0; j < %d; j++) acc[j] = b;", DW_CHUNK);
    depthwise_taps(e, s, LO, HI, it);
    cg_line(e, "for (%s ow = ow0; ow < ow1; ow++) y[r * %lld + ow] = %s;", it, OW,
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

/* ---- depthwise 2-D through a zero-padded, stride-phase-split plane ---- */

enum { PLANE_MAX = 65536, DW_VEC = 64 }; /* plane floats on the stack; most columns per chunk */

typedef struct Plane {
    int64_t Hp, Wq, SW; /* padded rows, columns per phase, phases (= stride) */
    int64_t VC;         /* columns per chunk: whole vectors, at most DW_VEC */
} Plane;

/* SIMD accumulators for one chunk: vector type, intrinsic prefix, lanes; NULL for plain C. */
static void simd_of(Target t, const char **vt, const char **pf, int *vw)
{
    *vt = t == TARGET_AVX2 ? "__m256" : t == TARGET_AVX512 ? "__m512" : NULL;
    *pf = t == TARGET_AVX2 ? "_mm256" : "_mm512";
    *vw = t == TARGET_AVX2 ? 8 : t == TARGET_AVX512 ? 16 : 4;
}

/* Columns per chunk: a row of OW outputs in the fewest chunks of at most DW_VEC
 * columns, each rounded up to whole vectors (7 -> 8, 14 -> 16, 56 -> 56, 112 -> 2 x 56
 * on AVX2), so small feature maps do not pay for DW_VEC lanes per row. */
static int64_t chunk_cols(Target t, int64_t OW)
{
    const char *vt, *pf;
    int vw;
    simd_of(t, &vt, &pf, &vw);
    int64_t n = (OW + DW_VEC - 1) / DW_VEC, w = (OW + n - 1) / n;
    return (w + vw - 1) / vw * vw;
}

/* The plane holds every input position any tap reads, from (-pad0h, -pad0w):
 * phase ph, row r, column i is input (r - pad0h, i * SW + ph - pad0w), 0 outside. */
static bool plane_fits(Target t, const Spatial *s, Plane *pl)
{
    pl->SW = s->stride[2];
    pl->VC = chunk_cols(t, s->out[2]);
    pl->Hp = (s->out[1] - 1) * s->stride[1] + (s->k[1] - 1) * s->dil[1] + 1;
    int64_t Wp = (s->out[2] - 1) * s->stride[2] + (s->k[2] - 1) * s->dil[2] + 1;
    pl->Wq = (Wp + pl->SW - 1) / pl->SW;
    /* the last chunk reads up to VC columns past the last output */
    int64_t need = (s->out[2] + pl->VC - 1) / pl->VC * pl->VC + (s->k[2] - 1) * s->dil[2] / pl->SW;
    pl->Wq = pl->Wq > need ? pl->Wq : need;
    /* each factor first: their product may not fit int64_t for huge strides */
    return s->in[0] == 1 && s->k[0] == 1 && s->k[1] * s->k[2] <= 64 && pl->SW <= PLANE_MAX &&
           pl->Hp <= PLANE_MAX && pl->Wq <= PLANE_MAX && pl->SW * pl->Hp * pl->Wq <= PLANE_MAX;
}

/* Copies the input channel into the plane's interior; the border stays zero
 * from the one clearing before the channel loop. */
static void plane_fill(Emitter *e, const Spatial *s, const Plane *pl)
{
    int64_t rows = s->in[1] < pl->Hp - s->pad0[1] ? s->in[1] : pl->Hp - s->pad0[1];
    cg_open(e, "for (int32_t ih = 0; ih < %lld; ih++)", (long long)rows);
    cg_line(e, "const float *xr = x + ih * %lld;", (long long)s->in[2]);
    for (int64_t ph = 0; ph < pl->SW; ph++) {
        /* i * SW + ph - pad0w inside [0, IW) */
        int64_t lo = (s->pad0[2] - ph + pl->SW - 1) / pl->SW, top = s->in[2] - 1 + s->pad0[2] - ph;
        int64_t hi = top < 0 ? 0 : top / pl->SW + 1;
        lo = lo < 0 ? 0 : lo;
        hi = hi > pl->Wq ? pl->Wq : hi;
        if (hi <= lo)
            continue;
        cg_line(e, "float *q%lld = pl + (%lld + ih + %lld) * %lld;", (long long)ph,
                (long long)(ph * pl->Hp), (long long)s->pad0[1], (long long)pl->Wq);
        cg_line(e, "for (int32_t i = %lld; i < %lld; i++) q%lld[i] = xr[i * %lld + %lld];",
                (long long)lo, (long long)hi, (long long)ph, (long long)pl->SW,
                (long long)(ph - s->pad0[2]));
    }
    cg_close(e);
}

/* One tap: acc (VC columns) += w[t] * q[0 .. VC). */
static void plane_tap(Emitter *e, const Spatial *s, const Plane *pl, int64_t kh, int64_t kw)
{
    const char *vt, *pf;
    int vw;
    simd_of(e->opt->target, &vt, &pf, &vw);
    int64_t col = kw * s->dil[2], ph = col % pl->SW, off = col / pl->SW;
    cg_open(e, "%s", "");
    cg_line(e, "const float *q = pl + (oh * %lld + %lld) * %lld + ow0 + %lld;",
            (long long)s->stride[1], (long long)(kh * s->dil[1] + ph * pl->Hp),
            (long long)pl->Wq, (long long)off);
    if (vt) {
        cg_line(e, "const %s wv = %s_set1_ps(w[%lld]);", vt, pf, (long long)(kh * s->k[2] + kw));
        for (int v = 0; v < pl->VC / vw; v++)
            cg_line(e, "a%d = %s_fmadd_ps(wv, %s_loadu_ps(q + %d), a%d);", v, pf, pf, v * vw, v);
    } else {
        cg_line(e, "const float wv = w[%lld];", (long long)(kh * s->k[2] + kw));
        cg_line(e, "for (int32_t j = 0; j < %lld; j++) acc[j] += wv * q[j];", (long long)pl->VC);
    }
    cg_close(e);
}

/* One output row in chunks of VC columns whose accumulators stay in
 * registers through all taps; the plane is wide enough for the last chunk. */
static void plane_row(Emitter *e, const Node *n, const Spatial *s, const Plane *pl)
{
    long long OW = s->out[2], VC = pl->VC;
    const char *vt, *pf;
    int vw;
    simd_of(e->opt->target, &vt, &pf, &vw);
    cg_open(e, "for (int32_t oh = 0; oh < %lld; oh++)", (long long)s->out[1]);
    cg_open(e, "for (int32_t ow0 = 0; ow0 < %lld; ow0 += %lld)", OW, VC);
    cg_line(e, "float acc[%lld];", VC);
    if (vt)
        for (int v = 0; v < VC / vw; v++)
            cg_line(e, "%s a%d = %s_set1_ps(b);", vt, v, pf);
    else
        cg_line(e, "for (int32_t j = 0; j < %lld; j++) acc[j] = b;", VC);
    for (int64_t kh = 0; kh < s->k[1]; kh++)
        for (int64_t kw = 0; kw < s->k[2]; kw++)
            plane_tap(e, s, pl, kh, kw);
    for (int v = 0; vt && v < VC / vw; v++)
        cg_line(e, "%s_storeu_ps(acc + %d, a%d);", pf, v * vw, v);
    cg_line(e, "const int32_t nw = %lld - ow0 < %lld ? %lld - ow0 : %lld;", OW, VC, OW, VC);
    cg_line(e, "for (int32_t j = 0; j < nw; j++) y[oh * %lld + ow0 + j] = %s;", OW,
            cg_act_expr(e, n, "acc[j]"));
    cg_close(e);
    cg_close(e);
}

static void emit_depthwise_plane(Emitter *e, const Node *n, const ConvParams *p, const Plane *pl)
{
    const Spatial *s = &p->sp;
    const char *X = cg_in(e, 0), *W = cg_in(e, 1), *Y = cg_out(e, 0);
    const char *B = n->nin > 2 && n->in[2] ? cg_in(e, 2) : NULL;
    long long isz = s->in[1] * s->in[2], osz = s->out[1] * s->out[2], ksz = s->k[1] * s->k[2];
    cg_line(e, "float pl[%lld];", (long long)(pl->SW * pl->Hp * pl->Wq));
    cg_line(e, "for (int32_t i = 0; i < %lld; i++) pl[i] = 0.0f;",
            (long long)(pl->SW * pl->Hp * pl->Wq));
    cg_open(e, "for (int64_t ob = 0; ob < %lld; ob++)", (long long)(p->N * p->C));
    cg_line(e, "const int64_t c = ob %% %lld;", (long long)p->C);
    cg_line(e, "const float *x = %s + ob * %lld, *w = %s + c * %lld;", X, isz, W, ksz);
    cg_line(e, "float *y = %s + ob * %lld;", Y, osz);
    cg_line(e, "const float b = %s;", B ? arena_printf(&((Graph *)e->g)->arena, "%s[c]", B)
                                        : "0.0f");
    plane_fill(e, s, pl);
    plane_row(e, n, s, pl);
    cg_close(e);
}

/* The im2col GEMM (sgemm.c) computes pixel and tap offsets within one
 * (image, group) in int32_t; a pointwise conv is a plain GEMM, indexed in int64_t. */
static bool gemm_fits_int32(const ConvParams *p)
{
    const Spatial *s = &p->sp;
    int64_t isz = s->in[0] * s->in[1] * s->in[2], osz = s->out[0] * s->out[1] * s->out[2];
    return pointwise(s) ||
           (p->C / p->group * isz <= INT32_MAX && p->M / p->group * osz <= INT32_MAX);
}

Status cg_conv_emit(Emitter *e, const Node *n, Diag *d)
{
    const ConvParams *p = n->priv;
    Plane pl;
    bool dw = p->group > 1 && p->group == p->C && p->group == p->M;
    if (p->qout)
        return cg_conv_codes_emit(e, n, d);
    if (dw && plane_fits(e->opt->target, &p->sp, &pl))
        emit_depthwise_plane(e, n, p, &pl);
    else if (dw && p->sp.k[2] <= 64)
        emit_depthwise(e, n, p);
    else if (cg_conv_direct(e, n, p))
        return WR_OK;
    else if (gemm_fits_int32(p))
        emit_gemm(e, n, p);
    else
        return diag_node(d, WR_EUNSUPPORTED, n, "convolution of more than 2^31 elements per "
                                                "image and group (im2col indexes with int32_t)");
    return WR_OK;
}
