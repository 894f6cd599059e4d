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

int32_t quant_qconv_code_ref(const QConvParams *p, const float *scale, const float *bias,
                             int64_t m, int64_t acc)
{
    float y = (float)acc * scale[m] + (bias ? bias[m] : 0.0f);
    return quant_wrpn_act_code_ref(y, p->out_bits);
}

QKernel quant_pick_kernel(int abits, int wbits)
{
    return abits * wbits <= 5 ? QK_BITSERIAL : QK_INT8;
}
