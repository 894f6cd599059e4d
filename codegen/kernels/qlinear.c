/*
 * QLinearConv, ConvInteger, QLinearMatMul, MatMulInteger and
 * DynamicQuantizeLinear (semantics: ir/ops/qlinear.c, QLinearParams in
 * ir/opparams.h): plain integer loops, int32 accumulators, and ONNX
 * Runtime's float32 requantization in one shared helper. Scales and zero
 * points are read from their tensors at run time.
 */
#include "codegen.h"
#include "opparams.h"

static const char *S(Emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *S(Emitter *e, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return arena_strdup(&((Graph *)e->g)->arena, buf);
}

/* The requantization helper (must match requant() in ir/ops/qlinear.c). */
static void requant_helper(Emitter *e)
{
    Buf b = {0};
    buf_printf(&b, "/* ONNX Runtime's requantization: float32 multiply, clamp around the zero\n"
                   " * point, round half to even. */\n"
                   "static int32_t %s_requant(int32_t acc, float mult, int32_t zp, int32_t qmin,\n"
                   "    int32_t qmax)\n{\n"
                   "    float v = (float)acc * mult;\n"
                   "    const float lo = (float)(qmin - zp), hi = (float)(qmax - zp);\n"
                   "    v = v < lo ? lo : v;\n"
                   "    v = v > hi ? hi : v;\n"
                   "    return (int32_t)rintf(v) + zp;\n}\n", e->opt->name);
    cg_helper(e, "qlinear_requant", b.p);
    buf_free(&b);
}

/* C expression of zero point input k at index idx ("0" when absent). */
static const char *zp(Emitter *e, const Node *n, int k, int64_t count, const char *idx)
{
    if (k < 0 || k >= n->nin || !n->in[k])
        return "0";
    return S(e, "(int32_t)%s[%s]", cg_in(e, k), count > 1 ? idx : "0");
}

/* The statement storing acc for channel expression c at y[i]. */
static void store(Emitter *e, const Node *n, const QLinearParams *p, const char *y,
                  const char *c)
{
    if (!p->requant) {
        cg_line(e, "%s = acc;", y);
        return;
    }
    requant_helper(e);
    bool u8 = p->ty == DT_U8;
    cg_line(e, "%s = (%s)%s_requant(acc, %s[0] * %s[%s] / %s[0], %s, %d, %d);", y,
            cg_ctype(p->ty), e->opt->name, cg_in(e, p->xs), cg_in(e, p->ws),
            p->nws > 1 ? c : "0", cg_in(e, p->ys), zp(e, n, p->yzp, 1, "0"), u8 ? 0 : -128,
            u8 ? 255 : 127);
}

/* "0", "ob" or an index table for the operand matrix of output batch ob. */
static const char *batch(Emitter *e, const MatMulParams *q, const int64_t *idx, int64_t count)
{
    if (count == 1)
        return "0";
    bool same = count == q->nbatch;
    for (int64_t b = 0; b < q->nbatch && same; b++)
        same = idx[b] == b;
    return same ? "ob" : S(e, "%s[ob]", cg_const_array(e, "qbidx", DT_I64, idx, q->nbatch));
}

static void matmul(Emitter *e, const Node *n, const QLinearParams *p)
{
    const MatMulParams *q = p->mm;
    long long M = q->M, N = q->N, K = q->K;
    cg_open(e, "for (int64_t ob = 0; ob < %lld; ob++)", (long long)q->nbatch);
    cg_line(e, "const %s *a = %s + (%s) * %lld;", cg_ctype(p->tx), cg_in(e, p->x),
            batch(e, q, q->aidx, q->na), M * K);
    cg_line(e, "const %s *b = %s + (%s) * %lld;", cg_ctype(p->tw), cg_in(e, p->w),
            batch(e, q, q->bidx, q->nb), K * N);
    cg_line(e, "%s *y = %s + ob * %lld;", cg_ctype(p->ty), cg_out(e, 0), M * N);
    cg_open(e, "for (int64_t m = 0; m < %lld; m++)", M);
    cg_line(e, "const int32_t za = %s;", zp(e, n, p->xzp, p->nxzp, "m"));
    cg_open(e, "for (int64_t j = 0; j < %lld; j++)", N);
    cg_line(e, "const int32_t zb = %s;", zp(e, n, p->wzp, p->nwzp, "j"));
    cg_line(e, "int32_t acc = 0;");
    cg_line(e, "for (int64_t k = 0; k < %lld; k++) acc += ((int32_t)a[m * %lld + k] - za) * "
               "((int32_t)b[k * %lld + j] - zb);", K, K, N);
    store(e, n, p, S(e, "y[m * %lld + j]", N), "j");
    for (int i = 0; i < 3; i++)
        cg_close(e);
}

/* Accumulates the window of output (od, oh, ow) of channel m into acc. */
static void window(Emitter *e, const Node *n, const QLinearParams *p)
{
    const ConvParams *q = &p->geom;
    const Spatial *s = &q->sp;
    long long Cg = q->C / q->group, ID = s->in[0], IH = s->in[1], IW = s->in[2];
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", Cg);
    cg_line(e, "const %s *xc = %s + (b * %lld + g * %lld + c) * %lld;", cg_ctype(p->tx),
            cg_in(e, p->x), (long long)q->C, Cg, ID * IH * IW);
    cg_line(e, "const %s *wc = %s + (m * %lld + c) * %lld;", cg_ctype(p->tw), cg_in(e, p->w), Cg,
            (long long)(s->k[0] * s->k[1] * s->k[2]));
    const char *ax[3] = {"d", "h", "w"};
    for (int i = 0; i < 3; i++) {
        cg_open(e, "for (int64_t k%s = 0; k%s < %lld; k%s++)", ax[i], ax[i], (long long)s->k[i],
                ax[i]);
        cg_line(e, "const int64_t i%s = o%s * %lld - %lld + k%s * %lld;", ax[i], ax[i],
                (long long)s->stride[i], (long long)s->pad0[i], ax[i], (long long)s->dil[i]);
        /* padding holds x_zero_point: it contributes 0 */
        cg_line(e, "if (i%s < 0 || i%s >= %lld) continue;", ax[i], ax[i], (long long)s->in[i]);
    }
    cg_line(e, "acc += ((int32_t)xc[(id * %lld + ih) * %lld + iw] - zx) * "
               "((int32_t)wc[(kd * %lld + kh) * %lld + kw] - zw);", IH, IW,
            (long long)s->k[1], (long long)s->k[2]);
    for (int i = 0; i < 4; i++)
        cg_close(e);
    (void)n;
}

static void conv(Emitter *e, const Node *n, const QLinearParams *p)
{
    const ConvParams *q = &p->geom;
    const Spatial *s = &q->sp;
    bool bias = p->bias >= 0 && p->bias < n->nin && n->in[p->bias];
    cg_line(e, "const int32_t zx = %s;", zp(e, n, p->xzp, 1, "0"));
    cg_line(e, "%s *y = %s;", cg_ctype(p->ty), cg_out(e, 0));
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)q->N);
    cg_open(e, "for (int64_t m = 0; m < %lld; m++)", (long long)q->M);
    cg_line(e, "const int64_t g = m / %lld;", (long long)(q->M / q->group));
    cg_line(e, "const int32_t zw = %s;", zp(e, n, p->wzp, p->nwzp, "m"));
    const char *ax[3] = {"d", "h", "w"};
    for (int i = 0; i < 3; i++)
        cg_open(e, "for (int64_t o%s = 0; o%s < %lld; o%s++)", ax[i], ax[i],
                (long long)s->out[i], ax[i]);
    cg_line(e, "int32_t acc = %s;", bias ? S(e, "%s[m]", cg_in(e, p->bias)) : "0");
    window(e, n, p);
    store(e, n, p, "*y++", "m");
    for (int i = 0; i < 5; i++)
        cg_close(e);
}

Status cg_qlinear_conv_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    conv(e, n, n->priv);
    return WR_OK;
}

Status cg_conv_integer_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    conv(e, n, n->priv);
    return WR_OK;
}

Status cg_qlinear_matmul_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    matmul(e, n, n->priv);
    return WR_OK;
}

Status cg_matmul_integer_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    matmul(e, n, n->priv);
    return WR_OK;
}

/* DynamicQuantizeLinear as ONNX Runtime computes it: range including 0,
 * scale (max - min) / 255, zero point rounded half to even, then
 * rint(x / scale) + zero point, saturated. */
Status cg_dynamic_quantize_linear_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    long long N = (long long)ir_tensor_numel(n->in[0]);
    const char *x = cg_in(e, 0);
    cg_line(e, "float mn = 0.0f, mx = 0.0f;");
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", N);
    cg_line(e, "mn = %s[i] < mn ? %s[i] : mn;", x, x);
    cg_line(e, "mx = %s[i] > mx ? %s[i] : mx;", x, x);
    cg_close(e);
    cg_line(e, "const float scale = mx == mn ? 1.0f : (mx - mn) / 255.0f;");
    cg_line(e, "float z = 0.0f - mn / scale;");
    cg_line(e, "z = rintf(z < 0.0f ? 0.0f : z > 255.0f ? 255.0f : z);");
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", N);
    cg_line(e, "const float v = rintf(%s[i] / scale) + z;", x);
    cg_line(e, "%s[i] = (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);", cg_out(e, 0));
    cg_close(e);
    cg_line(e, "%s[0] = scale;", cg_out(e, 1));
    cg_line(e, "%s[0] = (uint8_t)z;", cg_out(e, 2));
    return WR_OK;
}
