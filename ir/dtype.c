/*
 * dtype.c: the element-type table (from dtypes.def) and typed element access,
 * used where code must handle every dtype generically (folding, attributes, I/O).
 */
#include "ir.h"

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

bool dtype_is_signed_int(DType t)
{
    return t == DT_I8 || t == DT_I16 || t == DT_I32 || t == DT_I64 || t == DT_I4 || t == DT_I2;
}

int dtype_subbyte_bits(DType t)
{
    return t == DT_I4 || t == DT_U4 ? 4 : t == DT_I2 || t == DT_U2 ? 2 : 0;
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
    case DT_UNDEF:
    case DT_COUNT: break;
    }
    WR_UNREACHABLE();
}
