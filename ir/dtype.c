/*
 * dtype.c: the element-type table (from dtypes.def) and typed element access,
 * used where code must handle every dtype generically (folding, attributes, I/O).
 */
#include "ir.h"
#include "wrpnc_float.h"

/* Case labels (the last without its colon) for switches over DType. */
#define DTYPE_NOT_NARROW                                                                           \
    case DT_F32:                                                                                   \
    case DT_F64:                                                                                   \
    case DT_U8:                                                                                    \
    case DT_I8:                                                                                    \
    case DT_U16:                                                                                   \
    case DT_I16:                                                                                   \
    case DT_I32:                                                                                   \
    case DT_I64:                                                                                   \
    case DT_BOOL:                                                                                  \
    case DT_U32:                                                                                   \
    case DT_U64:                                                                                   \
    case DT_U4:                                                                                    \
    case DT_I4:                                                                                    \
    case DT_U2:                                                                                    \
    case DT_I2:                                                                                    \
    case DT_UNDEF:                                                                                 \
    case DT_COUNT

const DTypeInfo dtype_info[DT_COUNT] = {
    [DT_UNDEF] = {0, 0, "void", "undefined"},
#define DT(ID, onnx, bytes, ctype, name) [DT_##ID] = {onnx, bytes, ctype, name},
#include "dtypes.def"
#undef DT
};

DType dtype_from_onnx(int onnx_type)
{
    for (int t = 1; t < DT_COUNT; t++)
        if (dtype_info[t].onnx == onnx_type)
            return (DType)t;
    return DT_UNDEF;
}

bool dtype_is_float(DType t) { return t == DT_F32 || t == DT_F64; }

bool dtype_is_narrow_float(DType t)
{
    return t == DT_F16 || t == DT_BF16 || t == DT_F8E4M3FN || t == DT_F8E4M3FNUZ ||
           t == DT_F8E5M2 || t == DT_F8E5M2FNUZ || t == DT_F4E2M1 || t == DT_F8E8M0;
}

bool dtype_is_signed_int(DType t)
{
    return t == DT_I8 || t == DT_I16 || t == DT_I32 || t == DT_I64 || t == DT_I4 || t == DT_I2;
}

int dtype_subbyte_bits(DType t)
{
    return t == DT_I4 || t == DT_U4 || t == DT_F4E2M1 ? 4 : t == DT_I2 || t == DT_U2 ? 2 : 0;
}

/* The narrow floats' values (saturating where the format can). */
double dtype_narrow_get(DType t, const void *p, int64_t i)
{
    const uint8_t *b = p;
    const uint16_t *h = p;
    switch (t) {
    case DT_F16: return wrpnc_f16_to_f32(h[i]);
    case DT_BF16: return wrpnc_bf16_to_f32(h[i]);
    case DT_F8E4M3FN: return wrpnc_e4m3fn_to_f32(b[i]);
    case DT_F8E4M3FNUZ: return wrpnc_e4m3fnuz_to_f32(b[i]);
    case DT_F8E5M2: return wrpnc_e5m2_to_f32(b[i]);
    case DT_F8E5M2FNUZ: return wrpnc_e5m2fnuz_to_f32(b[i]);
    case DT_F4E2M1: return wrpnc_f4e2m1_to_f32(b[i]);
    case DT_F8E8M0: return wrpnc_e8m0_to_f32(b[i]);
    DTYPE_NOT_NARROW: break;
    }
    WR_UNREACHABLE();
}

void dtype_narrow_set(DType t, void *p, int64_t i, double v, bool sat, int round_mode)
{
    uint8_t *b = p;
    uint16_t *h = p;
    switch (t) {
    case DT_F16: h[i] = wrpnc_f16_from_f64(v); return;
    case DT_BF16: h[i] = wrpnc_bf16_from_f64(v); return;
    case DT_F8E4M3FN: b[i] = wrpnc_e4m3fn_from_f64(v, sat); return;
    case DT_F8E4M3FNUZ: b[i] = wrpnc_e4m3fnuz_from_f64(v, sat); return;
    case DT_F8E5M2: b[i] = wrpnc_e5m2_from_f64(v, sat); return;
    case DT_F8E5M2FNUZ: b[i] = wrpnc_e5m2fnuz_from_f64(v, sat); return;
    case DT_F4E2M1: b[i] = wrpnc_f4e2m1_from_f64(v); return;
    case DT_F8E8M0: b[i] = wrpnc_e8m0_from_f32((float)v, sat, round_mode); return;
    DTYPE_NOT_NARROW: break;
    }
    WR_UNREACHABLE();
}

#define DTYPE_CASES(X)                                                                             \
    X(F32, float) X(F64, double) X(U8, uint8_t) X(I8, int8_t) X(U16, uint16_t) X(I16, int16_t)     \
    X(I32, int32_t) X(I64, int64_t) X(BOOL, uint8_t) X(U32, uint32_t) X(U64, uint64_t)            \
    X(U4, uint8_t) X(I4, int8_t) X(U2, uint8_t) X(I2, int8_t)

double dtype_get_f64(DType t, const void *p, int64_t i)
{
    switch (t) {
#define X(ID, T)                                                                                   \
    case DT_##ID: return (double)((const T *)p)[i];
        DTYPE_CASES(X)
#undef X
    DT_NARROW_FLOAT_CASES: return dtype_narrow_get(t, p, i);
    case DT_UNDEF:
    case DT_COUNT: break;
    }
    WR_UNREACHABLE();
}

int64_t dtype_get_i64(DType t, const void *p, int64_t i)
{
    switch (t) {
#define X(ID, T)                                                                                   \
    case DT_##ID: return (int64_t)((const T *)p)[i];
        DTYPE_CASES(X)
#undef X
    DT_NARROW_FLOAT_CASES: return wrpnc_f64_to_i64(dtype_narrow_get(t, p, i));
    case DT_UNDEF:
    case DT_COUNT: break;
    }
    WR_UNREACHABLE();
}

void dtype_set_f64(DType t, void *p, int64_t i, double v)
{
    switch (t) {
#define X(ID, T)                                                                                   \
    case DT_##ID: ((T *)p)[i] = (T)v; return;
        DTYPE_CASES(X)
#undef X
    DT_NARROW_FLOAT_CASES: dtype_narrow_set(t, p, i, v, true, WRPNC_E8M0_UP); return;
    case DT_UNDEF:
    case DT_COUNT: break;
    }
    WR_UNREACHABLE();
}
