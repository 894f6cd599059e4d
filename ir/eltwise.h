/*
 * eltwise.h: the elementwise operator family in one table.
 *
 * Each row gives, per dtype class, one C expression over the operands a, b, c
 * (already converted to the working type T) and the attribute values alpha,
 * beta, gamma (type T) and mode (int). The same text serves twice: compiled
 * into the reference eval (ir/ops/eltwise.c) and stringified into generated
 * code (codegen/kernels/eltwise.c), where a small rewriter replaces T, the
 * attributes and F(fn) (fn##f for float, fn for double). Expressions must
 * compile warning-free for every dtype of their class.
 */
#ifndef WRPNC_ELTWISE_H
#define WRPNC_ELTWISE_H

#include "ir.h"

/* Dtype classes an op accepts (for its working type T). */
enum {
    EWT_F = 1 << 0, /* float32, float64: column f */
    EWT_S = 1 << 1, /* int8 .. int64: column s */
    EWT_U = 1 << 2, /* uint8 .. uint64: column u */
    EWT_B = 1 << 3, /* bool: column u */
    EWT_I = EWT_S | EWT_U,
    EWT_N = EWT_F | EWT_I,
    EWT_ALL = EWT_N | EWT_B,
};

/* How operands map to inputs, and what the output type is. */
typedef enum {
    EWK_MAP,      /* y = f(a [, b [, c]]) with broadcasting, y has type T */
    EWK_CMP,      /* like MAP, y is bool */
    EWK_FOLD,     /* variadic: acc = f(acc, b) over the inputs, left to right */
    EWK_WHERE,    /* a = cond (bool), T is the type of input 1 */
    EWK_CAST,     /* y = (to) a */
} EwKind;

/*  X(ID,            kind,       types,  f: float/double,  s: signed,  u: unsigned/bool) */
#define EW_OPS(X)                                                                                  \
    X(RELU,           EWK_MAP,   EWT_F | EWT_S, a < 0 ? 0 : a, a < 0 ? 0 : a, a)                   \
    X(LEAKY_RELU,     EWK_MAP,   EWT_F, a < 0 ? a * alpha : a, a, a)                               \
    X(PRELU,          EWK_MAP,   EWT_N, a < 0 ? a * b : a, a < 0 ? EW_WMUL(a, b) : a, a)           \
    X(CLIP,           EWK_MAP,   EWT_N, EW_CLIP(a, b, c), EW_CLIP(a, b, c), EW_CLIP(a, b, c))     \
    X(SIGMOID,        EWK_MAP,   EWT_F, 1 / (1 + F(exp)(-a)), a, a)                                \
    X(HARD_SIGMOID,   EWK_MAP,   EWT_F, F(fmax)(0, F(fmin)(1, alpha * a + beta)), a, a)            \
    X(HARD_SWISH,     EWK_MAP,   EWT_F, a * F(fmax)(0, F(fmin)(1, alpha * a + beta)), a, a)        \
    X(TANH,           EWK_MAP,   EWT_F, F(tanh)(a), a, a)                                          \
    X(ELU,            EWK_MAP,   EWT_F, a < 0 ? alpha * (F(exp)(a) - 1) : a, a, a)                 \
    X(SELU,           EWK_MAP,   EWT_F, a > 0 ? gamma * a : gamma * (alpha * F(exp)(a) - alpha),   \
      a, a)                                                                                        \
    X(ERF,            EWK_MAP,   EWT_F, F(erf)(a), a, a)                                           \
    X(SOFTPLUS,       EWK_MAP,   EWT_F, F(log)(F(exp)(a) + 1), a, a)                               \
    X(SOFTSIGN,       EWK_MAP,   EWT_F, a / (1 + F(fabs)(a)), a, a)                                \
    X(SQRT,           EWK_MAP,   EWT_F, F(sqrt)(a), a, a)                                          \
    X(EXP,            EWK_MAP,   EWT_F, F(exp)(a), a, a)                                           \
    X(LOG,            EWK_MAP,   EWT_F, F(log)(a), a, a)                                           \
    X(ABS,            EWK_MAP,   EWT_N, F(fabs)(a), a < 0 ? EW_WNEG(a) : a, a)                     \
    X(NEG,            EWK_MAP,   EWT_F | EWT_S, -a, EW_WNEG(a), a)                                 \
    X(RECIPROCAL,     EWK_MAP,   EWT_F, 1 / a, a, a)                                               \
    X(FLOOR,          EWK_MAP,   EWT_F, F(floor)(a), a, a)                                         \
    X(CEIL,           EWK_MAP,   EWT_F, F(ceil)(a), a, a)                                          \
    X(ROUND,          EWK_MAP,   EWT_F, F(rint)(a), a, a) /* ties to even */                       \
    X(SIGN,           EWK_MAP,   EWT_N, a > 0 ? 1 : (a < 0 ? -1 : a), (a > 0) - (a < 0), a > 0)   \
    X(NOT,            EWK_MAP,   EWT_B, a, a, !a)                                                  \
    X(SIN,            EWK_MAP,   EWT_F, F(sin)(a), a, a)                                           \
    X(COS,            EWK_MAP,   EWT_F, F(cos)(a), a, a)                                           \
    X(TAN,            EWK_MAP,   EWT_F, F(tan)(a), a, a)                                           \
    X(ASIN,           EWK_MAP,   EWT_F, F(asin)(a), a, a)                                          \
    X(ACOS,           EWK_MAP,   EWT_F, F(acos)(a), a, a)                                          \
    X(ATAN,           EWK_MAP,   EWT_F, F(atan)(a), a, a)                                          \
    X(SINH,           EWK_MAP,   EWT_F, F(sinh)(a), a, a)                                          \
    X(COSH,           EWK_MAP,   EWT_F, F(cosh)(a), a, a)                                          \
    X(ASINH,          EWK_MAP,   EWT_F, F(asinh)(a), a, a)                                         \
    X(ACOSH,          EWK_MAP,   EWT_F, F(acosh)(a), a, a)                                         \
    X(ATANH,          EWK_MAP,   EWT_F, F(atanh)(a), a, a)                                         \
    X(GELU,           EWK_MAP,   EWT_F, EW_GELU(a), a, a)                                          \
    X(SWISH,          EWK_MAP,   EWT_F, a / (1 + F(exp)(-alpha * a)), a, a)                        \
    X(CELU,           EWK_MAP,   EWT_F,                                                            \
      F(fmax)(0, a) + F(fmin)(0, alpha * (F(exp)(a / alpha) - 1)), a, a)                           \
    X(THRESHOLDED_RELU, EWK_MAP, EWT_F, a > alpha ? a : 0, a, a)                                   \
    X(SHRINK,         EWK_MAP,   EWT_F | EWT_S, EW_SHRINK(a), EW_SHRINK(a), a)                     \
    X(MISH,           EWK_MAP,   EWT_F, a * F(tanh)(F(log1p)(F(exp)(a))), a, a)                    \
    X(SWIGLU,         EWK_MAP,   EWT_F, a / (1 + F(exp)(-alpha * a)) * b, a, a)                   \
    X(BITWISE_NOT,    EWK_MAP,   EWT_I, a, ~a, ~a)                                                 \
    X(BITWISE_AND,    EWK_MAP,   EWT_I, a, a & b, a & b)                                           \
    X(BITWISE_OR,     EWK_MAP,   EWT_I, a, a | b, a | b)                                           \
    X(BITWISE_XOR,    EWK_MAP,   EWT_I, a, a ^ b, a ^ b)                                           \
    X(ISNAN,          EWK_CMP,   EWT_F, a != a, 0, 0)                                              \
    X(ISINF,          EWK_CMP,   EWT_F, EW_ISINF(a), 0, 0)                                         \
    X(ADD,            EWK_MAP,   EWT_N, a + b, EW_WADD(a, b), a + b)                               \
    X(SUB,            EWK_MAP,   EWT_N, a - b, EW_WSUB(a, b), a - b)                               \
    X(MUL,            EWK_MAP,   EWT_N, a * b, EW_WMUL(a, b), EW_WMUL(a, b))                       \
    X(DIV,            EWK_MAP,   EWT_N, a / b, a / b, a / b) /* integers truncate, as ONNX */      \
    X(POW,            EWK_MAP,   EWT_N, F(pow)(a, b), ew_ipow(a, b),                              \
      ew_ipow((int64_t)a, (int64_t)b))                                                             \
    X(MOD,            EWK_MAP,   EWT_N, mode ? F(fmod)(a, b) : F(ew_pymod)(a, b),                  \
      mode ? a % b : EW_IMOD(a, b), a % b)                                                         \
    X(BITSHIFT,       EWK_MAP,   EWT_I, a, EW_SHIFT_S(a, b), EW_SHIFT_U(a, b))                     \
    X(EQUAL,          EWK_CMP,   EWT_ALL, a == b, a == b, a == b)                                  \
    X(LESS,           EWK_CMP,   EWT_N, a < b, a < b, a < b)                                       \
    X(GREATER,        EWK_CMP,   EWT_N, a > b, a > b, a > b)                                       \
    X(LESS_OR_EQUAL,  EWK_CMP,   EWT_N, a <= b, a <= b, a <= b)                                    \
    X(GREATER_OR_EQUAL, EWK_CMP, EWT_N, a >= b, a >= b, a >= b)                                    \
    X(AND,            EWK_MAP,   EWT_B, a, a, a && b)                                              \
    X(OR,             EWK_MAP,   EWT_B, a, a, a || b)                                              \
    X(XOR,            EWK_MAP,   EWT_B, a, a, a != b)                                              \
    X(MAX,            EWK_FOLD,  EWT_N, (a > b || a != a) ? a : b, a > b ? a : b, a > b ? a : b)   \
    X(MIN,            EWK_FOLD,  EWT_N, (a < b || a != a) ? a : b, a < b ? a : b, a < b ? a : b)   \
    X(SUM,            EWK_FOLD,  EWT_N, a + b, EW_WADD(a, b), a + b)                               \
    X(MEAN,           EWK_FOLD,  EWT_F, a + b, a, a) /* then divided by the input count */         \
    X(WHERE,          EWK_WHERE, EWT_ALL, a != 0 ? b : c, a != 0 ? b : c, a != 0 ? b : c)          \
    X(CAST,           EWK_CAST,  EWT_ALL, a, a, a)                                                 \
    X(CAST_LIKE,      EWK_CAST,  EWT_ALL, a, a, a)

/* Expression pieces shared by several columns. The emitter stringifies the
 * columns after macro expansion, so generated code sees plain C. */
/* Integer + - * and negation wrap around, as in numpy and ONNX Runtime: computed in
 * uint64_t, since signed overflow (and uint16_t * uint16_t, promoted to int) is
 * undefined in C. */
#define EW_WADD(a, b) ((T)((uint64_t)(a) + (uint64_t)(b)))
#define EW_WSUB(a, b) ((T)((uint64_t)(a) - (uint64_t)(b)))
#define EW_WMUL(a, b) ((T)((uint64_t)(a) * (uint64_t)(b)))
#define EW_WNEG(a) ((T)(0 - (uint64_t)(a)))
/* numpy clip: max with lo first, then min with hi (hi wins when lo > hi); NaN stays. */
#define EW_CLIP(a, b, c) (((a) < (b) ? (b) : (a)) > (c) ? (c) : ((a) < (b) ? (b) : (a)))
/* Gelu: mode 0 exact (alpha = 1/sqrt(2)), mode 1 the tanh approximation
 * (alpha = sqrt(2/pi), beta = 0.044715); gamma = 1/2. */
#define EW_GELU(a)                                                                                 \
    (mode ? gamma * (a) * (1 + F(tanh)(alpha * ((a) + beta * (a) * (a) * (a))))                    \
          : gamma * (a) * (1 + F(erf)((a) * alpha)))
/* Shrink: alpha = lambd, beta = bias. */
#define EW_SHRINK(a) ((a) < -alpha ? (a) + beta : (a) > alpha ? (a) - beta : 0)
/* mode bit 0: detect +inf, bit 1: detect -inf */
#define EW_ISINF(a) (isinf(a) && ((a) > 0 ? (mode & 1) != 0 : (mode & 2) != 0))
/* numpy mod for integers: the result takes the divisor's sign */
#define EW_IMOD(a, b)                                                                              \
    ((a) % (b) != 0 && (((a) % (b) < 0) != ((b) < 0)) ? (a) % (b) + (b) : (a) % (b))
/* mode 0: left, 1: right. Shifts outside [0, bits) give 0 (or -1: right shift of a
 * negative value), as the ONNX reference does. */
#define EW_SHIFT_S(a, b)                                                                           \
    ((int64_t)(b) < 0 || (int64_t)(b) >= (int64_t)(sizeof(T) * 8)                                  \
         ? (mode && (a) < 0 ? -1 : 0)                                                              \
         : (mode ? (a) >> (b) : (T)((uint64_t)(a) << (b))))
#define EW_SHIFT_U(a, b)                                                                           \
    ((uint64_t)(b) >= sizeof(T) * 8 ? 0 : (mode ? (a) >> (b) : (T)((uint64_t)(a) << (b))))

/* Helper functions called by expressions, as text both compiled and emitted. */
#define EW_HELPER_IPOW                                                                             \
    static int64_t ew_ipow(int64_t a, int64_t b)                                                   \
    {                                                                                              \
        uint64_t r = 1, x = (uint64_t)a;                                                           \
        for (; b > 0; b >>= 1) {                                                                   \
            if (b & 1)                                                                             \
                r *= x;                                                                            \
            x *= x;                                                                                \
        }                                                                                          \
        return (int64_t)r;                                                                         \
    }
/* numpy mod for floats (npy_divmod): sign of the divisor, signed zero. */
#define EW_HELPER_PYMOD(T, F)                                                                      \
    static T F(ew_pymod)(T a, T b)                                                                 \
    {                                                                                              \
        T m = F(fmod)(a, b);                                                                       \
        if (m != 0) {                                                                              \
            if ((b < 0) != (m < 0))                                                                \
                m += b;                                                                            \
        } else {                                                                                   \
            m = F(copysign)(0, b);                                                                 \
        }                                                                                          \
        return m;                                                                                  \
    }

/* Parsed attributes, in n->priv. */
typedef struct EwParams {
    float alpha, beta, gamma;
    int mode;     /* Mod fmod, BitShift direction (1 = right), IsInf detect bits */
    DType to;     /* output dtype */
    DType T;      /* working dtype the operands are converted to */
    bool has_const[3];      /* Clip: operand given by a constant (attribute or type limit) */
    double cval[3];         /* its value (float or saturated integer limits by cmode) */
    int cmode[3];           /* 0 value, -1 lowest of T, +1 highest of T */
    bool sat;               /* Cast to float8: overflow clamps (else NaN / inf) */
    int round_mode;         /* Cast to float8e8m0: WRPNC_E8M0_UP / DOWN / NEAREST */
} EwParams;

EwKind ew_kind(int op);
/* Clip's constant operand k (a bound given by attribute, or the type's limit) into v. */
void ew_const_value(const EwParams *p, int k, void *v);
/* Converts n elements from dtype s to dtype t (bool: nonzero is 1). */
void ew_convert(DType s, const void *x, DType t, void *y, int64_t n);
/* Whether a cast from s to t involves narrow floats or sub-byte integers (then
 * it goes element by element through runtime/wrpnc_float.h). */
bool ew_cast_is_special(DType s, DType t);

#endif
