/*
 * quant.h: reference quantizers (plain C, `_ref` names), the oracle for the
 * quantization ops, the quantize pass and the low-bit kernels. Formulas are
 * those of docs wrpn.md sections 1 and 2; rint is round half to even under
 * the default rounding mode (nearbyint), never roundf.
 */
#ifndef WRPNC_QUANT_H
#define WRPNC_QUANT_H

#include <stdint.h>

/* ---- WRPN (wrpn.md section 1) ---- */

/* k-bit activation code rint((2^k - 1) * clip(x, 0, 1)), in [0, 2^k - 1]; k = 1..16 */
int32_t quant_wrpn_act_code_ref(float x, int k);
/* its value code / (2^k - 1) */
float quant_wrpn_act_ref(float x, int k);
/* k-bit weight code rint((2^(k-1) - 1) * clip(w, -1, 1)), in [-M, M]; k = 2..16 */
int32_t quant_wrpn_weight_code_ref(float w, int k);
/* its value code / (2^(k-1) - 1) */
float quant_wrpn_weight_ref(float w, int k);
/* Binary weights (k = 1), per output channel: W is (M, K) row-major; code[m*K+e]
 * = sign(w) in {-1, +1} with sign(0) = +1, alpha[m] = mean |w| over the row. */
void quant_wrpn_binary_ref(const float *W, int64_t M, int64_t K, int8_t *code, float *alpha);

/* ---- QONNX (wrpn.md section 2.1) ---- */

typedef enum {
    QROUND_HALF_EVEN = 0, /* "ROUND" */
    QROUND_TO_ZERO,       /* "ROUND_TO_ZERO" */
    QROUND_CEIL,          /* "CEIL" */
    QROUND_FLOOR,         /* "FLOOR" */
    QROUND_HALF_UP,       /* "HALF_UP" */
    QROUND_HALF_DOWN,     /* "HALF_DOWN" */
} QRound;

/* QONNX rounding_mode name to QRound; -1 when unknown. */
int quant_round_mode(const char *name);
/* C99 float expression (printf format with one %s) rounding like quant_round_ref */
const char *quant_round_cfmt(QRound mode);
/* rounding in float32, as the numpy references do */
float quant_round_ref(float x, QRound mode);
/* Integer range of a bits-wide IntQuant grid (min, max as in QONNX). */
void quant_int_range(int bits, int is_signed, int narrow, double *lo, double *hi);
/* IntQuant integer value clamp(round(x / scale + zp), lo, hi) */
float quant_int_code_ref(float x, float scale, float zp, int bits, int is_signed, int narrow,
                         QRound mode);
/* IntQuant output (code - zp) * scale */
float quant_int_ref(float x, float scale, float zp, int bits, int is_signed, int narrow,
                    QRound mode);
/* BipolarQuant: x >= 0 -> +scale, else -scale */
float quant_bipolar_ref(float x, float scale);

/* ---- ONNX QuantizeLinear / DequantizeLinear (wrpn.md section 2.3) ---- */

/* saturate(rint(x / scale) + zp) into [lo, hi] */
int32_t quant_linear_ref(float x, float scale, int32_t zp, int32_t lo, int32_t hi);
/* (q - zp) * scale */
float dequant_linear_ref(int32_t q, float scale, int32_t zp);

/* ---- parsed parameters of the quantization ops (ir/ops/qdq.c, ir/ops/qonnx.c),
 *      read by their evals and emitters; needs ir.h first ---- */
#ifdef WRPNC_IR_H

/* QuantizeLinear / DequantizeLinear: x viewed as (outer, A, inner) around the
 * quantization axis; scale and zero point are per tensor (nscale == 1), per
 * axis (A values) or per block of `block` elements along the axis. */
typedef struct QdqParams {
    int64_t outer, A, inner;
    int64_t nscale;
    int64_t block;  /* 0 unless blocked */
    int32_t lo, hi; /* QuantizeLinear output range */
    DType qtype;    /* the integer or narrow float type (output of Q, input of DQ) */
    bool sat;       /* QuantizeLinear to float8: overflow clamps (else NaN / inf) */
} QdqParams;

/* scale / zero-point index of element (o, a, r) */
static inline int64_t qdq_index(const QdqParams *p, int64_t o, int64_t a, int64_t r)
{
    if (p->nscale == 1)
        return 0;
    if (!p->block)
        return a;
    return (o * ((p->A + p->block - 1) / p->block) + a / p->block) * p->inner + r;
}

/* QONNX Quant/IntQuant, BipolarQuant, Trunc: constants parsed once. */
typedef struct QonnxParams {
    int bits, is_signed, narrow;
    QRound round;
    int version;                 /* Trunc: 1 (5 inputs) or 2 (7 inputs) */
    float scale, zp, trunc_scale, out_scale, lo, hi; /* Trunc constants */
} QonnxParams;

/* ---- quantizers as exporters write them: one spec, one reference (quant.c) ----
 * Every activation quantizer of a model (QONNX Quant / IntQuant / BipolarQuant,
 * QuantizeLinear [-> Clip] -> DequantizeLinear, WRPN fake-quant arithmetic, or
 * --abits) becomes a QuantSpec: the formula that maps a float x of channel c to
 * a code, and the QType of the codes. */
typedef enum {
    QF_INT,     /* QONNX IntQuant: q = clamp(round(x / s + zp), lo, hi), round per mode */
    QF_LINEAR,  /* ONNX QuantizeLinear (+ Clip): q = clamp(rint(x / s) + zp, lo, hi) */
    QF_WRPN,    /* WRPN activations: q = rint(hi * clip(x, 0, 1)), lo = 0 */
    QF_BIPOLAR, /* QONNX BipolarQuant: q = x >= 0 */
    QF_REQUANT, /* ONNX Runtime's QLinearConv / QLinearMatMul requantization, x already in
                 * units of the output scale: q = rint(clamp(x, lo - zp, hi - zp)) + zp
                 * (the QType's scale is only what the codes stand for) */
} QForm;

typedef struct QuantSpec {
    QForm form;
    QRound round;  /* QF_INT */
    const QType *t; /* the codes: range, zero point, scale */
} QuantSpec;

/* The code of x in channel c (the reference every kernel and threshold is held to). */
int32_t quant_spec_code(const QuantSpec *s, int64_t c, float x);
/* Reads / writes a spec as node attributes prefixed by prefix ("" or "out_"):
 * form, lo, hi, zero_point, scale (FLOATS), divisor (FLOATS, optional),
 * rounding_mode. found: whether the node has one (the "form" attribute). */
Status quant_spec_read(Graph *g, Node *n, const char *prefix, QuantSpec *s, bool *found,
                       Diag *d);
void quant_spec_write(Graph *g, Node *n, const char *prefix, const QuantSpec *s);
const char *quant_form_name(QForm f);

#endif

/* ---- the internal low-bit ops (ir/ops/actquant.c, ir/ops/qconv.c, domain "wrpnc");
 *      needs opparams.h ---- */
#ifdef WRPNC_OPPARAMS_H

/* The integer convolution kernel families: the layout each reads its activation
 * codes in (layouts.def) and the widths it takes. */
typedef enum { QK_BITSERIAL = 0, QK_INT8 = 1, QK_XNOR = 2, QK_COUNT } QKernel;

typedef struct QKernelInfo {
    const char *name;
    Layout layout;  /* of the activation codes it reads */
    bool bipolar;   /* needs bipolar codes and +-1 weights */
} QKernelInfo;

extern const QKernelInfo qkernel_info[QK_COUNT];
/* The kernel named s, or -1. */
int qkernel_lookup(const char *s);

/* QConv: integer convolution of activation codes x (QType qa) with constant weight
 * codes w, then the float epilogue, in this order (each step rounds to float32 as
 * the ONNX ops it replaces do):
 *   acc  = sum over taps inside the image and channels of a * w (int32, exact)
 *          a = code - zp, or 2 code - 1 for bipolar codes (xnor: both +-1)
 *   y    = (float)acc * S[m] + B[m]                          (inputs 2, 3)
 *   y    = (float)(((double)y - bn[m][0]) * bn[m][1] + bn[m][2])   (input 4: a folded
 *          BatchNormalization, as its reference computes it; absent: skipped)
 *   y    = y + side          (input 5: a residual operand, float or codes (dequantized))
 *   y    = act(y)            (node act: Relu / Clip)
 *   out  = y (float32), or quantizer(y) (out_* spec: codes), or acc itself (out_acc) */
typedef struct QConvParams {
    ConvParams cv;      /* geometry (N, C, M, group, spatial) */
    int abits, wbits;
    QKernel kind;
    bool asigned;       /* activation codes are two's complement */
    int32_t alpha, beta; /* a = alpha * code + beta */
    bool out_acc;
    int64_t Cg, CW, C4; /* channels per group; 64-bit words / bytes per pixel */
    bool has_out;       /* out spec: the epilogue ends in a quantizer */
    QuantSpec out;
    /* thresholds (out spec and a side input of codes or none): the code of acc for
     * channel m (and side code v) is out.t->lo + #{t : acc >= T} (up[m]), or
     * #{t : acc <= T} (decreasing); T is thresh[(m * nside + v) * nthresh + t] */
    int32_t *thresh;
    uint8_t *up;        /* per (m, v) */
    int nthresh, nside;
    bool float_epilogue; /* a float side input: the epilogue runs in float32 */
    int64_t acc_bound;  /* largest |acc| */
} QConvParams;

/* The epilogue's float y of accumulator acc for channel m, side value sv (0 when no
 * side input), before the quantizer: the oracle of the kernels' epilogue. */
float quant_qconv_epilogue(const Node *n, const QConvParams *p, int64_t m, int64_t acc,
                           float sv);

/* Largest |acc| of a layer of K taps x channels reading codes a with weights of wbits;
 * NULL when every sum a kernel forms fits int32, else why not. */
const char *quant_acc_bound(const QType *a, int wbits, int64_t K, int64_t *bound);

/* The default kernel for a layer (wrpn.md section 4): bit-serial while
 * abits * wbits <= bitserial_max (the target's crossover, codegen/target.c; 0: 5),
 * else the int8 dot product. */
QKernel quant_pick_kernel(int abits, int wbits, int bitserial_max);

/* Checks a QConv against the type of its input and weights (the IR verifier's
 * check): codes, layout and groups its kernel reads, widths, weights on the grid. */
Status quant_qconv_check(const Node *n, Diag *d);

#endif

#endif
