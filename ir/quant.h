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

#endif

/* ---- the internal low-bit ops (ir/ops/lowbit.c, domain "wrpnc"); needs opparams.h ---- */
#ifdef WRPNC_OPPARAMS_H

typedef enum { QK_BITSERIAL = 0, QK_INT8 = 1, QK_XNOR = 2 } QKernel;

/* PackAct: NCHW uint8 codes -> per-group NHWC packed activations.
 *   QK_BITSERIAL: uint64 (N, G, H, W, bits, CW), CW = ceil(Cg / 64), planes as in
 *                 wrpnc_pack.h (channel c of the group at bit c % 64 of word c / 64)
 *   QK_INT8:      uint8 (N, G, H, W, C4), C4 = Cg rounded up to 4, zero-padded
 *   QK_XNOR:      as QK_BITSERIAL with one plane; bit 1 is +1, bit 0 is -1 (bipolar codes) */
typedef struct PackActParams {
    int64_t N, C, H, W, G, Cg, CW, C4;
    int bits;
    QKernel kind;
} PackActParams;

/* QConv: integer convolution of activation codes with constant weight codes,
 *   Y[n,m,oh,ow] = acc * scale[m] + bias[m]   (or acc itself, int32, when out_acc)
 *   acc = sum over c, kh, kw of a[n, g*Cg + c, ih, iw] * w[m, c, kh, kw]
 * with zero padding as code 0. QK_XNOR: a = 2 * code - 1 and w = +-1 (wrpn.md section 3,
 * XNOR-Net), padded taps left out (they are 0 in the float conv):
 *   acc = sum over taps inside the image of (Cg - 2 pop(A xor B)). */
typedef struct QConvParams {
    ConvParams cv;      /* geometry (N, C, M, group, spatial) */
    int abits, wbits;
    QKernel kind;
    bool out_acc;
    int64_t Cg, CW, C4; /* channels per group; 64-bit words / bytes per pixel */
    /* out_bits > 0: the next WRPN activation quantizer is folded in (wrpn.md section 3):
     * code = #{t : acc >= T[m][t]} (acc <= T when scale[m] < 0), T (M, 2^out_bits - 1),
     * found by binary search with the reference float expression */
    int out_bits;
    int32_t *thresh;
    /* out_layout (passes/pack_outputs.c): the folded codes are written directly in the
     * packed layout of PackAct(bits = out_bits, group = out_G, layout = out_kind) */
    bool out_packed;
    QKernel out_kind;
    int64_t out_G, out_Cg, out_CW, out_C4;
} QConvParams;

/* The folded output code of accumulator acc for channel m: exactly the unfused
 * float epilogue followed by the WRPN activation quantizer (the oracle). */
int32_t quant_qconv_code_ref(const QConvParams *p, const float *scale, const float *bias,
                             int64_t m, int64_t acc);

/* The default kernel for a layer (wrpn.md section 4): bit-serial while
 * abits * wbits <= 5, else the int8 dot product. */
QKernel quant_pick_kernel(int abits, int wbits);

#endif

#endif
