/*
 * quant.c: reference quantizers (declared in quant.h). Plain float32 C in the
 * order the reference implementations compute (x / scale in float, then
 * rounding), so that the ops' evals, the quantize pass and the tests agree bit
 * for bit with ONNX, QONNX and the WRPN formulas. nearbyint under the default
 * rounding mode is round half to even.
 */
#include "opparams.h"
#include "quant.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static float clipf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

int32_t quant_wrpn_act_code_ref(float x, int k)
{
    float N = (float)((1 << k) - 1);
    if (x != x)
        return 0;
    return (int32_t)nearbyintf(N * clipf(x, 0.0f, 1.0f));
}

float quant_wrpn_act_ref(float x, int k)
{
    return (float)quant_wrpn_act_code_ref(x, k) / (float)((1 << k) - 1);
}

int32_t quant_wrpn_weight_code_ref(float w, int k)
{
    float M = (float)((1 << (k - 1)) - 1);
    if (w != w)
        return 0;
    return (int32_t)nearbyintf(M * clipf(w, -1.0f, 1.0f));
}

float quant_wrpn_weight_ref(float w, int k)
{
    return (float)quant_wrpn_weight_code_ref(w, k) / (float)((1 << (k - 1)) - 1);
}

void quant_wrpn_binary_ref(const float *W, int64_t M, int64_t K, int8_t *code, float *alpha)
{
    for (int64_t m = 0; m < M; m++) {
        double s = 0;
        for (int64_t e = 0; e < K; e++) {
            float w = W[m * K + e];
            s += fabs((double)w);
            code[m * K + e] = (int8_t)(w < 0 ? -1 : 1); /* sign(0) = +1 */
        }
        alpha[m] = K ? (float)(s / (double)K) : 0.0f;
    }
}

int quant_round_mode(const char *name)
{
    static const char *names[] = {"ROUND", "ROUND_TO_ZERO", "CEIL", "FLOOR", "HALF_UP",
                                  "HALF_DOWN"};
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcasecmp(name, names[i]) == 0) /* QONNX accepts lower case too */
            return i;
    return -1;
}

const char *quant_round_cfmt(QRound mode)
{
    switch (mode) {
    case QROUND_HALF_EVEN: return "nearbyintf(%s)";
    case QROUND_TO_ZERO: return "truncf(%s)";
    case QROUND_CEIL: return "ceilf(%s)";
    case QROUND_FLOOR: return "floorf(%s)";
    case QROUND_HALF_UP: return "floorf(%s + 0.5f)";
    case QROUND_HALF_DOWN: return "ceilf(%s - 0.5f)";
    }
    return "nearbyintf(%s)";
}

float quant_round_ref(float x, QRound mode)
{
    switch (mode) {
    case QROUND_HALF_EVEN: return nearbyintf(x);
    case QROUND_TO_ZERO: return truncf(x);
    case QROUND_CEIL: return ceilf(x);
    case QROUND_FLOOR: return floorf(x);
    case QROUND_HALF_UP: return floorf(x + 0.5f);
    case QROUND_HALF_DOWN: return ceilf(x - 0.5f);
    }
    return nearbyintf(x);
}

void quant_int_range(int bits, int is_signed, int narrow, double *lo, double *hi)
{
    double p = ldexp(1.0, bits - 1), full = ldexp(1.0, bits);
    if (is_signed) {
        *lo = narrow ? -p + 1 : -p;
        *hi = p - 1;
    } else {
        *lo = 0;
        *hi = narrow ? full - 2 : full - 1;
    }
}

float quant_int_code_ref(float x, float scale, float zp, int bits, int is_signed, int narrow,
                         QRound mode)
{
    double lo, hi;
    quant_int_range(bits, is_signed, narrow, &lo, &hi);
    float r = quant_round_ref(x / scale + zp, mode);
    return r < lo ? (float)lo : r > hi ? (float)hi : r;
}

float quant_int_ref(float x, float scale, float zp, int bits, int is_signed, int narrow,
                    QRound mode)
{
    return (quant_int_code_ref(x, scale, zp, bits, is_signed, narrow, mode) - zp) * scale;
}

float quant_bipolar_ref(float x, float scale) { return x >= 0 ? scale : -scale; }

int32_t quant_linear_ref(float x, float scale, int32_t zp, int32_t lo, int32_t hi)
{
    float r = nearbyintf(x / scale);
    /* the int32 cast of a huge value is undefined in C: saturate first */
    double v = (double)r + zp;
    return v >= lo ? (v <= hi ? (int32_t)v : hi) : lo; /* NaN gives lo */
}

float dequant_linear_ref(int32_t q, float scale, int32_t zp)
{
    return ((float)q - (float)zp) * scale;
}

static const char *const form_names[] = {"int", "linear", "wrpn", "bipolar", "requant"};

const char *quant_form_name(QForm f) { return form_names[f]; }

int32_t quant_spec_code(const QuantSpec *s, int64_t c, float x)
{
    const QType *t = s->t;
    float sc = qtype_scale(t, c);
    switch (s->form) {
    case QF_INT: {
        if (x != x) /* NaN has no code: the zero point's (value 0) */
            return t->zp < t->lo ? t->lo : t->zp > t->hi ? t->hi : t->zp;
        float r = quant_round_ref(x / sc + (float)t->zp, s->round);
        return r < (float)t->lo ? t->lo : r > (float)t->hi ? t->hi : (int32_t)r;
    }
    case QF_LINEAR: return quant_linear_ref(x, sc, t->zp, t->lo, t->hi);
    case QF_WRPN: return quant_wrpn_act_code_ref(x, t->bits);
    case QF_BIPOLAR: return x >= 0;
    case QF_REQUANT: { /* requant() in ir/ops/qlinear.c */
        float lo = (float)(t->lo - t->zp), hi = (float)(t->hi - t->zp);
        float v = x < lo ? lo : x;
        v = v > hi ? hi : v;
        return (int32_t)nearbyintf(v) + t->zp;
    }
    }
    return 0;
}

static Status spec_form(Node *n, const char *name, QForm *f, Diag *d)
{
    const char *v = ir_attr_str(n, name, "int");
    for (int i = 0; i < (int)(sizeof form_names / sizeof form_names[0]); i++)
        if (strcmp(v, form_names[i]) == 0) {
            *f = (QForm)i;
            return WR_OK;
        }
    return diag_node(d, WR_EPARSE, n, "%s '%s' (int, linear, wrpn, bipolar or requant)", name, v);
}

/* prefix + name, in a small buffer */
static const char *key(char *buf, const char *prefix, const char *name)
{
    snprintf(buf, 64, "%s%s", prefix, name);
    return buf;
}

static Status spec_type(Graph *g, Node *n, const char *pre, QuantSpec *s, Diag *d)
{
    char k[64];
    const float *sc, *dv;
    int ns = ir_attr_floats(n, key(k, pre, "scale"), &sc);
    int nd = ir_attr_floats(n, key(k, pre, "divisor"), &dv);
    int64_t lo = ir_attr_int(n, key(k, pre, "lo"), 0), hi = ir_attr_int(n, key(k, pre, "hi"), 1);
    int64_t zp = ir_attr_int(n, key(k, pre, "zero_point"), 0);
    bool bip = s->form == QF_BIPOLAR;
    if (ns < 1 || (nd >= 0 && nd != ns))
        return diag_node(d, WR_EPARSE, n, "%sscale must hold 1 or C values (and %sdivisor as "
                                          "many)", pre, pre);
    if (lo > hi || lo < -128 || hi > 255 || (lo < 0 && hi > 127) || zp < -128 || zp > 255 ||
        (bip && (lo != 0 || hi != 1)) || (s->form == QF_WRPN && (lo != 0 || (hi & (hi + 1)))))
        return diag_node(d, WR_EUNSUPPORTED, n, "%slo %lld, %shi %lld, %szero_point %lld: not "
                         "an 8-bit code range", pre, (long long)lo, pre, (long long)hi, pre,
                         (long long)zp);
    for (int i = 0; i < ns; i++) /* dequantization must be increasing (thresholds, pools) */
        if (!(sc[i] > 0) || !isfinite(sc[i]) || (nd > 0 && (!(dv[i] > 0) || !isfinite(dv[i]))))
            return diag_node(d, WR_EUNSUPPORTED, n, "%sscale and %sdivisor must be finite and "
                             "> 0", pre, pre);
    QType *t = qtype_new(g, (int32_t)lo, (int32_t)hi, bip, (int32_t)zp, ns, sc);
    s->t = nd > 0 ? qtype_with_divisor(g, t, dv) : t;
    return WR_OK;
}

Status quant_spec_read(Graph *g, Node *n, const char *prefix, QuantSpec *s, bool *found,
                       Diag *d)
{
    char k[64];
    *found = ir_attr_find(n, key(k, prefix, "form")) != NULL;
    if (!*found)
        return WR_OK;
    WR_TRY(spec_form(n, k, &s->form, d));
    const char *rm = ir_attr_str(n, key(k, prefix, "rounding_mode"), "ROUND");
    int r = quant_round_mode(rm);
    if (r < 0)
        return diag_node(d, WR_EUNSUPPORTED, n, "%s '%s'", k, rm);
    s->round = (QRound)r;
    return spec_type(g, n, prefix, s, d);
}

void quant_spec_write(Graph *g, Node *n, const char *prefix, const QuantSpec *s)
{
    static const char *const rounds[] = {"ROUND", "ROUND_TO_ZERO", "CEIL", "FLOOR", "HALF_UP",
                                         "HALF_DOWN"};
    char k[64];
    const QType *t = s->t;
    ir_attr_set_str(g, n, key(k, prefix, "form"), form_names[s->form]);
    ir_attr_set_str(g, n, key(k, prefix, "rounding_mode"), rounds[s->round]);
    ir_attr_set_int(g, n, key(k, prefix, "lo"), t->lo);
    ir_attr_set_int(g, n, key(k, prefix, "hi"), t->hi);
    ir_attr_set_int(g, n, key(k, prefix, "zero_point"), t->zp);
    ir_attr_set_floats(g, n, key(k, prefix, "scale"), (int)t->nscale, t->scale);
    if (t->divisor)
        ir_attr_set_floats(g, n, key(k, prefix, "divisor"), (int)t->nscale, t->divisor);
}

const QKernelInfo qkernel_info[QK_COUNT] = {
    [QK_BITSERIAL] = {"bitserial", LAYOUT_PLANES, false},
    [QK_INT8] = {"int8", LAYOUT_BYTES, false},
    [QK_XNOR] = {"xnor", LAYOUT_PLANES, true},
};

int qkernel_lookup(const char *s)
{
    for (int i = 0; i < QK_COUNT; i++)
        if (strcmp(qkernel_info[i].name, s) == 0)
            return i;
    return -1;
}

const char *quant_acc_bound(const QType *a, int wbits, int64_t K, int64_t *bound)
{
    int64_t wmax = wbits > 1 ? (1 << (wbits - 1)) - 1 : 1;
    int64_t alpha = a->bipolar ? 2 : 1, beta = a->bipolar ? -1 : -a->zp;
    int64_t lo = llabs(alpha * a->lo + beta), hi = llabs(alpha * a->hi + beta);
    int64_t raw = a->is_signed ? 255 : a->hi; /* codes as kernels sum them (offset 128) */
    *bound = K * wmax * (lo > hi ? lo : hi);
    /* thresholds use bound + 1 as "never reached": one to spare */
    if (K > INT32_MAX || K * wmax * (alpha * raw + llabs(beta)) >= INT32_MAX - 1 ||
        *bound >= INT32_MAX - 1)
        return "accumulator bound exceeded (int32)";
    return NULL;
}

QKernel quant_pick_kernel(int abits, int wbits, int bitserial_max)
{
    return abits * wbits <= (bitserial_max > 0 ? bitserial_max : 5) ? QK_BITSERIAL : QK_INT8;
}
