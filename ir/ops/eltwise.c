/*
 * Elementwise family (table in ir/eltwise.h): unary maps, binary maps and
 * comparisons with numpy broadcasting, variadic folds (Max, Min, Sum, Mean),
 * Where, Clip (attribute and input forms), Cast and CastLike.
 *   inputs broadcast to Y's shape; Y has the working type T (or bool / `to`).
 * The reference eval broadcasts every operand to Y's shape converted to T,
 * then runs the table expression per element. Emitter: codegen/kernels/eltwise.c.
 */
#include "eltwise.h"
#include "wrpnc_float.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The dtypes no elementwise op computes with: sub-byte codes and narrow floats
 * (only Cast and CastLike take them, through ew_cast_special) and the enum's
 * sentinels. Ends in a case label. */
#define EW_NOT_ELEMENTWISE                                                                         \
    DT_NARROW_FLOAT_CASES:                                                                         \
    case DT_U4:                                                                                    \
    case DT_I4:                                                                                    \
    case DT_U2:                                                                                    \
    case DT_I2:                                                                                    \
    case DT_UNDEF:                                                                                 \
    case DT_COUNT

/* ---- the table, compiled ---- */

EW_HELPER_IPOW
#define EW_SUFF_F(fn) fn##f
#define EW_SUFF_D(fn) fn
EW_HELPER_PYMOD(float, EW_SUFF_F)
EW_HELPER_PYMOD(double, EW_SUFF_D)

typedef struct EwArgs {
    const void *A, *B, *C; /* operands, converted to T and broadcast to n elements */
    void *Y;
    int64_t n;
    const EwParams *p;
} EwArgs;

#define EW_OT_EWK_MAP T
#define EW_OT_EWK_CMP uint8_t
#define EW_OT_EWK_FOLD T
#define EW_OT_EWK_WHERE T
#define EW_OT_EWK_CAST T

#define EW_LOOP(ID, kind, EXPR)                                                                    \
    case OP_##ID: {                                                                                \
        EW_OT_##kind *y = g->Y;                                                                    \
        for (int64_t i = 0; i < g->n; i++) {                                                       \
            T a = A[i], b = B[i], c = C[i];                                                        \
            (void)a, (void)b, (void)c;                                                             \
            y[i] = (EW_OT_##kind)(EXPR);                                                           \
        }                                                                                          \
        return;                                                                                    \
    }
#define EW_CASE_F(ID, kind, types, f, s, u) EW_LOOP(ID, kind, f)
#define EW_CASE_S(ID, kind, types, f, s, u) EW_LOOP(ID, kind, s)
#define EW_CASE_U(ID, kind, types, f, s, u) EW_LOOP(ID, kind, u)

/* One function per dtype; F (for the float column) must be defined at the use. */
#define EW_DEFINE(NAME, TYPE, CASE)                                                                \
    static void NAME(int op, const EwArgs *g)                                                      \
    {                                                                                              \
        typedef TYPE T;                                                                            \
        const T *A = g->A, *B = g->B, *C = g->C;                                                   \
        const T alpha = (T)g->p->alpha, beta = (T)g->p->beta, gamma = (T)g->p->gamma;             \
        const int mode = g->p->mode;                                                               \
        (void)alpha, (void)beta, (void)gamma, (void)mode;                                          \
        switch (op) { EW_OPS(CASE) }                                                               \
        WR_UNREACHABLE();                                                                          \
    }

#define F EW_SUFF_F
EW_DEFINE(ew_f32, float, EW_CASE_F)
#undef F
#define F EW_SUFF_D
EW_DEFINE(ew_f64, double, EW_CASE_F)
#undef F
EW_DEFINE(ew_i8, int8_t, EW_CASE_S)
EW_DEFINE(ew_i16, int16_t, EW_CASE_S)
EW_DEFINE(ew_i32, int32_t, EW_CASE_S)
EW_DEFINE(ew_i64, int64_t, EW_CASE_S)
EW_DEFINE(ew_u8, uint8_t, EW_CASE_U)
EW_DEFINE(ew_u16, uint16_t, EW_CASE_U)
EW_DEFINE(ew_u32, uint32_t, EW_CASE_U)
EW_DEFINE(ew_u64, uint64_t, EW_CASE_U)

static void ew_run(int op, DType T, const EwArgs *g)
{
    switch (T) {
    case DT_F32: ew_f32(op, g); return;
    case DT_F64: ew_f64(op, g); return;
    case DT_I8: ew_i8(op, g); return;
    case DT_I16: ew_i16(op, g); return;
    case DT_I32: ew_i32(op, g); return;
    case DT_I64: ew_i64(op, g); return;
    case DT_U8:
    case DT_BOOL: ew_u8(op, g); return;
    case DT_U16: ew_u16(op, g); return;
    case DT_U32: ew_u32(op, g); return;
    case DT_U64: ew_u64(op, g); return;
    EW_NOT_ELEMENTWISE: break;
    }
    WR_UNREACHABLE();
}

/* ---- the table, as data ---- */

typedef struct EwRow {
    EwKind kind;
    unsigned types;
} EwRow;

static const EwRow ew_rows[OP_COUNT] = {
#define EW_ROW(ID, kind, types, f, s, u) [OP_##ID] = {kind, types},
    EW_OPS(EW_ROW)
#undef EW_ROW
};

/* The class of t, or 0 for the types no table expression computes with:
 * sub-byte integers and narrow floats (only Cast and CastLike take them,
 * through ew_cast_special; promote.c gives other ops narrow floats in float32). */
static unsigned ew_class(DType t)
{
    if (dtype_subbyte_bits(t) || dtype_is_narrow_float(t) || t == DT_UNDEF || t == DT_COUNT)
        return 0;
    if (dtype_is_float(t))
        return EWT_F;
    if (dtype_is_signed_int(t))
        return EWT_S;
    return t == DT_BOOL ? EWT_B : EWT_U;
}

/* Whether op computes with working type t: Cast and CastLike convert from any. */
static bool ew_accepts(int op, DType t)
{
    if (ew_kind(op) == EWK_CAST)
        return t != DT_UNDEF && t != DT_COUNT;
    return (ew_rows[op].types & ew_class(t)) != 0;
}

EwKind ew_kind(int op) { return ew_rows[op].kind; }

/* ---- conversions ---- */

#define EW_DTYPES_A(X)                                                                             \
    X(F32, float) X(F64, double) X(U8, uint8_t) X(I8, int8_t) X(U16, uint16_t) X(I16, int16_t)     \
    X(I32, int32_t) X(I64, int64_t) X(BOOL, uint8_t) X(U32, uint32_t) X(U64, uint64_t)
#define EW_DTYPES_B(X, ST)                                                                         \
    X(F32, float, ST) X(F64, double, ST) X(U8, uint8_t, ST) X(I8, int8_t, ST)                      \
    X(U16, uint16_t, ST) X(I16, int16_t, ST) X(I32, int32_t, ST) X(I64, int64_t, ST)               \
    X(BOOL, uint8_t, ST) X(U32, uint32_t, ST) X(U64, uint64_t, ST)

/* Float to integer goes through int64 (uint64 for large values), as numpy's
 * astype does on x86: out-of-range values wrap instead of being undefined. */
static uint64_t ew_f2int(double v, bool u64)
{
    return u64 && v >= 0 ? (uint64_t)v : (uint64_t)(int64_t)v;
}

#define EW_IS_FLOAT(T) ((T)0.5 != 0)
#define EW_CONV_TO(TID, TT, ST)                                                                    \
    case DT_##TID:                                                                                 \
        for (int64_t i = 0; i < n; i++) {                                                          \
            ST v = ((const ST *)x)[i];                                                             \
            if (DT_##TID == DT_BOOL)                                                               \
                ((TT *)y)[i] = (TT)(v != 0);                                                       \
            else if (EW_IS_FLOAT(ST) && !EW_IS_FLOAT(TT))                                          \
                ((TT *)y)[i] = (TT)ew_f2int((double)v, DT_##TID == DT_U64);                        \
            else                                                                                   \
                ((TT *)y)[i] = (TT)v;                                                              \
        }                                                                                          \
        return;
#define EW_CONV_FROM(SID, ST)                                                                      \
    case DT_##SID:                                                                                 \
        switch (t) {                                                                               \
            EW_DTYPES_B(EW_CONV_TO, ST)                                                            \
        EW_NOT_ELEMENTWISE: break;                                                                 \
        }                                                                                          \
        break;

void ew_convert(DType s, const void *x, DType t, void *y, int64_t n)
{
    switch (s) {
        EW_DTYPES_A(EW_CONV_FROM)
    EW_NOT_ELEMENTWISE: break;
    }
    WR_UNREACHABLE();
}

bool ew_cast_is_special(DType s, DType t)
{
    return dtype_is_narrow_float(s) || dtype_is_narrow_float(t) || dtype_subbyte_bits(s) ||
           dtype_subbyte_bits(t);
}

/* Casts touching narrow floats or sub-byte integers, one element at a time:
 * through double (exact for every narrow value), integers wrapping to the
 * target's width as numpy does. */
static void ew_cast_special(DType s, const void *x, DType t, void *y, int64_t n,
                            const EwParams *p)
{
    bool from_int = !dtype_is_float(s) && !dtype_is_narrow_float(s);
    int bits = dtype_subbyte_bits(t);
    for (int64_t i = 0; i < n; i++) {
        double v = dtype_get_f64(s, x, i);
        int64_t iv = from_int ? dtype_get_i64(s, x, i) : wrpnc_f64_to_i64(v);
        if (dtype_is_narrow_float(t))
            dtype_narrow_set(t, y, i, v, p->sat, p->round_mode);
        else if (bits)
            ((uint8_t *)y)[i] = (uint8_t)wrpnc_wrap_int(iv, bits, dtype_is_signed_int(t));
        else if (t == DT_BOOL)
            ((uint8_t *)y)[i] = v != 0;
        else if (dtype_is_float(t))
            dtype_set_f64(t, y, i, v);
        else
            ew_convert(DT_I64, &iv, t, (char *)y + i * dtype_info[t].bytes, 1);
    }
}

/* ---- attributes ---- */

/* saturate (float8 targets) and round_mode (float8e8m0 targets) */
static Status ew_cast_rounding(Node *n, EwParams *p, Diag *d)
{
    p->sat = ir_attr_int(n, "saturate", 1) != 0;
    const char *m = ir_attr_str(n, "round_mode", "up");
    if (strcmp(m, "up") == 0)
        p->round_mode = WRPNC_E8M0_UP;
    else if (strcmp(m, "down") == 0)
        p->round_mode = WRPNC_E8M0_DOWN;
    else if (strcmp(m, "nearest") == 0)
        p->round_mode = WRPNC_E8M0_NEAREST;
    else
        return diag_node(d, WR_EPARSE, n, "round_mode must be up, down or nearest, not '%s'", m);
    return WR_OK;
}

static Status ew_cast_to(Node *n, EwParams *p, Diag *d)
{
    WR_TRY(ew_cast_rounding(n, p, d));
    if (n->op == OP_CAST_LIKE) {
        if (n->nin < 2 || !n->in[1])
            return diag_node(d, WR_EPARSE, n, "CastLike needs its target_type input");
        p->to = n->in[1]->dtype;
        return WR_OK;
    }
    int64_t to = ir_attr_int(n, "to", 0);
    p->to = dtype_from_onnx((int)to);
    if (p->to == DT_UNDEF)
        return diag_node(d, WR_EUNSUPPORTED, n, "cast to ONNX type %lld is not supported",
                         (long long)to);
    return WR_OK;
}

/* Clip's bounds: inputs since opset 11, attributes before; absent ones are
 * the type's limits (infinities for floats). */
static void ew_clip_bounds(Node *n, EwParams *p)
{
    const char *names[3] = {NULL, "min", "max"};
    for (int k = 1; k < 3; k++) {
        if (k < n->nin && n->in[k])
            continue;
        p->has_const[k] = true;
        p->cmode[k] = k == 1 ? -1 : 1;
        if (n->opset < 11 && ir_attr_find(n, names[k])) {
            p->cmode[k] = 0;
            p->cval[k] = ir_attr_float(n, names[k], 0);
        }
    }
}

/* Gelu's approximate attribute: "none" (erf) or "tanh". */
static Status ew_gelu(Node *n, EwParams *p, Diag *d)
{
    const char *a = ir_attr_str(n, "approximate", "none");
    if (strcmp(a, "none") != 0 && strcmp(a, "tanh") != 0)
        return diag_node(d, WR_EPARSE, n, "approximate must be none or tanh, not '%s'", a);
    p->mode = strcmp(a, "tanh") == 0;
    p->alpha = p->mode ? 0.7978845608028654f : 0.7071067811865476f;
    p->beta = 0.044715f;
    p->gamma = 0.5f;
    return WR_OK;
}

static Status ew_attrs(Node *n, EwParams *p, Diag *d)
{
    switch (n->op) {
    case OP_LEAKY_RELU: p->alpha = ir_attr_float(n, "alpha", 0.01f); break;
    case OP_ELU: p->alpha = ir_attr_float(n, "alpha", 1.0f); break;
    case OP_SELU:
        p->alpha = ir_attr_float(n, "alpha", 1.67326319217681884765625f);
        p->gamma = ir_attr_float(n, "gamma", 1.05070102214813232421875f);
        break;
    case OP_HARD_SIGMOID:
        p->alpha = ir_attr_float(n, "alpha", 0.2f);
        p->beta = ir_attr_float(n, "beta", 0.5f);
        break;
    case OP_HARD_SWISH: p->alpha = 1.0f / 6, p->beta = 0.5f; break;
    case OP_GELU: return ew_gelu(n, p, d);
    case OP_SWISH:
    case OP_SWIGLU:
    case OP_CELU:
    case OP_THRESHOLDED_RELU: p->alpha = ir_attr_float(n, "alpha", 1.0f); break;
    case OP_SHRINK:
        p->alpha = ir_attr_float(n, "lambd", 0.5f);
        p->beta = ir_attr_float(n, "bias", 0.0f);
        break;
    case OP_MOD: p->mode = ir_attr_int(n, "fmod", 0) != 0; break;
    case OP_ISINF:
        p->mode = (ir_attr_int(n, "detect_positive", 1) != 0) |
                  (ir_attr_int(n, "detect_negative", 1) != 0) << 1;
        break;
    case OP_BITSHIFT: {
        const char *dir = ir_attr_str(n, "direction", "");
        if (strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0)
            return diag_node(d, WR_EPARSE, n, "direction must be LEFT or RIGHT, not '%s'", dir);
        p->mode = strcmp(dir, "RIGHT") == 0;
        break;
    }
    case OP_CLIP: ew_clip_bounds(n, p); break;
    case OP_CAST:
    case OP_CAST_LIKE: return ew_cast_to(n, p, d);
    }
    return WR_OK;
}

/* ---- infer ---- */

/* Operand k must have type T, except Where's condition (bool), Pow's exponent
 * (any number) and CastLike's type donor. */
static Status ew_check_operand(const Node *n, const EwParams *p, int k, Diag *d)
{
    DType t = n->in[k]->dtype;
    int ti = ew_kind(n->op) == EWK_WHERE ? 1 : 0;
    if (k == ti || (n->op == OP_CAST_LIKE && k == 1))
        return WR_OK;
    if (n->op == OP_WHERE && k == 0 && t == DT_BOOL)
        return WR_OK;
    if (n->op == OP_POW && k == 1 && (ew_class(t) & EWT_N))
        return WR_OK;
    if (t != p->T)
        return diag_node(d, WR_EUNSUPPORTED, n, "input %d has type %s, expected %s", k,
                         dtype_info[t].name, dtype_info[p->T].name);
    return WR_OK;
}

static Status ew_shape(const Node *n, int *nd, int64_t *dim, Diag *d)
{
    int last = ew_kind(n->op) == EWK_CAST ? 1 : n->nin;
    *nd = 0;
    for (int k = 0; k < last; k++)
        if (n->in[k]) {
            int64_t acc[IR_MAX_DIMS]; /* ir_broadcast_shape must not write over its input */
            memcpy(acc, dim, sizeof(int64_t) * (size_t)*nd);
            WR_TRY(ir_broadcast_shape(n, *nd, acc, n->in[k]->ndim, n->in[k]->dim, nd, dim, d));
        }
    return WR_OK;
}

Status op_eltwise_infer(Graph *g, Node *n, Diag *d)
{
    EwParams *p = arena_alloc(&g->arena, sizeof *p);
    EwKind kind = ew_kind(n->op);
    p->T = n->in[kind == EWK_WHERE ? 1 : 0]->dtype;
    if (!ew_accepts(n->op, p->T))
        return diag_node(d, WR_EUNSUPPORTED, n, "type %s is not supported",
                         dtype_info[p->T].name);
    if (kind == EWK_FOLD && n->nin > IR_BCAST_MAX)
        return diag_node(d, WR_EUNSUPPORTED, n, "more than %d inputs", IR_BCAST_MAX);
    for (int k = 0; k < n->nin; k++)
        if (n->in[k])
            WR_TRY(ew_check_operand(n, p, k, d));
    WR_TRY(ew_attrs(n, p, d));
    int nd;
    int64_t dim[IR_MAX_DIMS];
    WR_TRY(ew_shape(n, &nd, dim, d));
    p->to = kind == EWK_CMP ? DT_BOOL : kind == EWK_CAST ? p->to : p->T;
    ir_tensor_set_shape(n->out[0], p->to, nd, dim);
    n->priv = p;
    return WR_OK;
}

/* ---- eval ---- */

/* The lowest (sign < 0) or highest value of t. */
static void ew_limit(DType t, int sign, void *v)
{
    switch (t) {
    case DT_F32: *(float *)v = sign < 0 ? -INFINITY : INFINITY; return;
    case DT_F64: *(double *)v = sign < 0 ? -INFINITY : INFINITY; return;
    case DT_I8: *(int8_t *)v = sign < 0 ? INT8_MIN : INT8_MAX; return;
    case DT_I16: *(int16_t *)v = sign < 0 ? INT16_MIN : INT16_MAX; return;
    case DT_I32: *(int32_t *)v = sign < 0 ? INT32_MIN : INT32_MAX; return;
    case DT_I64: *(int64_t *)v = sign < 0 ? INT64_MIN : INT64_MAX; return;
    case DT_U8:
    case DT_BOOL: *(uint8_t *)v = sign < 0 ? 0 : UINT8_MAX; return;
    case DT_U16: *(uint16_t *)v = sign < 0 ? 0 : UINT16_MAX; return;
    case DT_U32: *(uint32_t *)v = sign < 0 ? 0 : UINT32_MAX; return;
    case DT_U64: *(uint64_t *)v = sign < 0 ? 0 : UINT64_MAX; return;
    EW_NOT_ELEMENTWISE: break;
    }
    WR_UNREACHABLE();
}

void ew_const_value(const EwParams *p, int k, void *v)
{
    if (p->cmode[k])
        ew_limit(p->T, p->cmode[k], v);
    else
        dtype_set_f64(p->T, v, 0, p->cval[k]);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        wr_die(__FILE__, __LINE__, "out of memory");
    return p;
}

/* Input tensor x (data) broadcast to Y's n elements and converted to T, into dst. */
static void ew_expand(const Node *n, const Tensor *x, const void *data, DType T, void *dst)
{
    Bcast b;
    ir_bcast_plan(&b, n->out[0], 1, &x);
    int64_t N = ir_tensor_numel(n->out[0]);
    size_t es = (size_t)dtype_info[x->dtype].bytes;
    char *tmp = x->dtype == T ? dst : xmalloc((size_t)N * es);
    for (int64_t i = 0; i < N; i++)
        memmove(tmp + (size_t)i * es, (const char *)data + (size_t)ir_bcast_index(&b, 0, i) * es,
                es); /* dst may be data itself (in place) */
    if (x->dtype != T) {
        ew_convert(x->dtype, tmp, T, dst, N);
        free(tmp);
    }
}

/* Operand k as a fresh buffer of Y's n elements of type T. */
static void *ew_operand(const Node *n, const EwParams *p, int k, void *const *in)
{
    int64_t N = ir_tensor_numel(n->out[0]);
    size_t es = (size_t)dtype_info[p->T].bytes;
    char *buf = xmalloc((size_t)N * es);
    if (k < n->nin && n->in[k]) {
        ew_expand(n, n->in[k], in[k], p->T, buf);
    } else {
        char v[8];
        ew_const_value(p, k, v);
        for (int64_t i = 0; i < N; i++)
            memcpy(buf + (size_t)i * es, v, es);
    }
    return buf;
}

static void ew_fold(const Node *n, const EwParams *p, void *const *in, void *y)
{
    int64_t N = ir_tensor_numel(n->out[0]);
    ew_expand(n, n->in[0], in[0], p->T, y);
    for (int k = 1; k < n->nin; k++) {
        void *b = ew_operand(n, p, k, in);
        EwArgs g = {y, b, b, y, N, p};
        ew_run(n->op, p->T, &g);
        free(b);
    }
    if (n->op == OP_MEAN)
        for (int64_t i = 0; i < N; i++)
            dtype_set_f64(p->T, y, i, dtype_get_f64(p->T, y, i) / n->nin);
}

/* Integer Div and Mod trap (SIGFPE) on a zero divisor, and on INT_MIN / -1 in
 * 32 and 64 bits: the reference refuses such operands instead. */
static Status ew_check_divisor(const Node *n, const EwParams *p, const EwArgs *g, Diag *d)
{
    if ((n->op != OP_DIV && n->op != OP_MOD) || dtype_is_float(p->T))
        return WR_OK;
    int64_t min = p->T == DT_I32 ? INT32_MIN : p->T == DT_I64 ? INT64_MIN : 0;
    for (int64_t i = 0; i < g->n; i++) {
        int64_t b = dtype_get_i64(p->T, g->B, i);
        if (b == 0)
            return diag_node(d, WR_EUNSUPPORTED, n, "integer division by zero (element %lld)",
                             (long long)i);
        if (b == -1 && min && dtype_get_i64(p->T, g->A, i) == min)
            return diag_node(d, WR_EUNSUPPORTED, n,
                             "integer division overflows (%s minimum by -1, element %lld)",
                             dtype_info[p->T].name, (long long)i);
    }
    return WR_OK;
}

Status op_eltwise_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    const EwParams *p = n->priv;
    EwKind kind = ew_kind(n->op);
    if (kind == EWK_CAST && ew_cast_is_special(n->in[0]->dtype, p->to)) {
        ew_cast_special(n->in[0]->dtype, in[0], p->to, out[0], ir_tensor_numel(n->out[0]), p);
        return WR_OK;
    }
    if (kind == EWK_CAST) {
        ew_convert(n->in[0]->dtype, in[0], p->to, out[0], ir_tensor_numel(n->out[0]));
        return WR_OK;
    }
    if (kind == EWK_FOLD) {
        ew_fold(n, p, in, out[0]);
        return WR_OK;
    }
    void *v[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++)
        if ((k < n->nin && n->in[k]) || p->has_const[k])
            v[k] = ew_operand(n, p, k, in);
    EwArgs g = {v[0], v[1] ? v[1] : v[0], v[2] ? v[2] : v[0], out[0],
                ir_tensor_numel(n->out[0]), p};
    Status s = ew_check_divisor(n, p, &g, d);
    if (s == WR_OK)
        ew_run(n->op, p->T, &g);
    for (int k = 0; k < 3; k++)
        free(v[k]);
    return s;
}
