/*
 * codegen.h: the C emitter. emit.c walks the planned graph and writes NAME.c
 * and NAME.h; each op's emitter (codegen/kernels/) writes the body of one
 * static function per node through the printer (printer.c). target.c knows
 * the instruction sets, their compiler flags and what this CPU can run.
 */
#ifndef WRPNC_CODEGEN_H
#define WRPNC_CODEGEN_H

#include "ir.h"

/* ---- target.c ---- */

typedef enum { TARGET_GENERIC, TARGET_AVX2, TARGET_AVX512, TARGET_NEON, TARGET_COUNT } Target;

const char *target_name(Target t);
/* "generic", "avx2", "avx512", "neon", or "native" (the best this CPU runs). */
Status target_parse(const char *s, Target *t, Diag *d);
/* Flags a C compiler needs to build code for t ("" for generic). */
const char *target_cflags(Target t);
/* The cost model's largest k_a x k_w on bit-serial kernels for t (PassOptions). */
int target_bitserial_max(Target t);
/* Whether this machine can execute code built for t. */
bool target_runs_here(Target t);
Target target_native(void);

/* ---- printer.c ---- */

/* A growable text buffer. */
typedef struct Buf {
    char *p;
    size_t len, cap;
} Buf;

void buf_puts(Buf *b, const char *s);
void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(Buf *b, const char *fmt, va_list ap);
void buf_free(Buf *b);

/* WEIGHTS_AUTO: inline up to weights_threshold bytes of constants, WEIGHTS_C above
 * (cg_weights_resolve). */
typedef enum { WEIGHTS_INLINE, WEIGHTS_C, WEIGHTS_BLOB, WEIGHTS_AUTO } WeightsMode;

enum { CG_WEIGHTS_THRESHOLD = 16 << 20 }; /* default for WEIGHTS_AUTO, bytes */

typedef struct CodegenOptions {
    const char *name; /* symbol prefix: a C identifier */
    Target target;
    WeightsMode weights;
    const char *source;  /* model path, for the header comment */
    int64_t weights_threshold; /* WEIGHTS_AUTO; 0: CG_WEIGHTS_THRESHOLD */
} CodegenOptions;

enum { CG_MAX_PARAMS = 64 };

struct Emitter {
    const Graph *g;
    const CodegenOptions *opt;
    Buf helpers;  /* shared static helper functions, each emitted once */
    Buf consts;   /* static const arrays */
    Buf fns;      /* one static function per node */
    Buf run;      /* body of NAME_run */
    Buf body;     /* the node function being written */
    Buf weights_c;   /* WEIGHTS_C: definitions for NAME_weights.c */
    Buf blob;     /* WEIGHTS_BLOB: the binary blob */
    Buf *cur;     /* where cg_line writes */
    int indent;
    const Node *node;
    bool in_used[CG_MAX_PARAMS], out_used[CG_MAX_PARAMS];
    const char **once;
    int nonce, cap_once;
    int nconst;
    bool wts_used; /* WEIGHTS_BLOB: the node function being written reads the blob */
};

/* Lines into the current buffer, indented: cg_open ends with "{" and indents. */
void cg_line(Emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cg_open(Emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cg_close(Emitter *e);
void cg_close_with(Emitter *e, const char *tail); /* "}" + tail, e.g. "} while (0);" */

/* ---- emit.c ---- */

/* One emitter per op (codegen/kernels/), named from ops.def. */
#define OP(ID, fn, name, domain, imin, imax, omin, omax, flags)                                    \
    Status cg_##fn##_emit(Emitter *e, const Node *n, Diag *d);
#include "ops.def"
#undef OP

/* Parameter names of the node function being emitted ("in0", "out1"); using
 * one makes it part of the function's signature. */
const char *cg_in(Emitter *e, int i);
const char *cg_out(Emitter *e, int i);
/* C element type of a dtype ("float", "int64_t"...). */
const char *cg_ctype(DType t);
/* Emits a helper (static function text) once per file, keyed by key. */
void cg_helper(Emitter *e, const char *key, const char *text);
/* Emits a static const array holding data (count elements of dtype); returns its name. */
const char *cg_const_array(Emitter *e, const char *hint, DType dtype, const void *data,
                           int64_t count);
/* s made safe inside a C comment (no comment delimiters, trigraphs or
 * control characters); in the graph's arena. */
const char *cg_comment_safe(const Emitter *e, const char *s);
/* A C literal for element i of data. */
void cg_literal(Buf *b, DType t, const void *data, int64_t i);
const char *cg_runtime_file(const char *name);

/* ---- layout.c (table in ir/layouts.def) ---- */

/* A C expression (int32_t) of the code of image n, channel c, flat pixel p of t,
 * stored at buf (C expressions of the function being written). */
const char *cg_layout_get(Emitter *e, const Tensor *t, const char *buf, const char *n,
                          const char *c, const char *p);
/* A statement storing code (an int32_t expression) there; packed layouts OR bits
 * into storage the emitter zeroed first. */
void cg_layout_put(Emitter *e, const Tensor *t, const char *buf, const char *n, const char *c,
                   const char *p, const char *code);

/* ---- kernels/actquant.c ---- */

/* Statements setting the int32_t variable `var` to the code of float expression x in
 * channel c (a C expression) under quantizer s: quant_spec_code, emitted. */
struct QuantSpec;
void cg_quant_code(Emitter *e, const struct QuantSpec *s, const char *c, const char *x,
                   const char *var);
/* A float expression of the value code (int32_t expression) of channel c stands for. */
const char *cg_qtype_value(Emitter *e, const QType *q, const char *c, const char *code);

/* ---- kernels/sgemm.c ---- */

/* One operand of a packed GEMM. Element (k, o) (o = m for A, n for B) is at
 * base[k * sk + o * so]. base is a C expression of the function being written
 * that may use the outer loop index `ob`, or NULL when the operand is the
 * constant `data` (then packed at compile time; nconst matrices at data +
 * i * cstride, the one used selected by the C expression cidx). */
typedef struct SgemmOperand {
    const char *base;
    int64_t sk, so;
    const float *data;
    int64_t nconst, cstride;
    const char *cidx;
} SgemmOperand;

/* Y (M x N, row stride ldy) (+)= sum_k A(m, k) B(k, n) * alpha (+ bias[m]),
 * then the fused activation of act_node, in a loop over ob in [0, nouter).
 * With conv set, B(k, n) is the im2col matrix of the convolution input at
 * B.base (k = (c, kd, kh, kw) over conv->C / conv->group channels, n = output
 * pixel); B.sk/so are then ignored. */
typedef struct SgemmSpec {
    int64_t M, N, K, nouter;
    SgemmOperand A, B;
    float alpha;
    const char *Y; /* C expression (may use ob) */
    int64_t ldy;
    bool accumulate;       /* Y already holds values to add to */
    const char *bias;      /* C expression of M floats (may use ob), or NULL */
    const Node *act_node;  /* its act/act_lo/act_hi are applied, or NULL */
    const struct ConvParams *conv;
    const char *noff; /* with conv: the output pixel of column n = 0 (C expression), or NULL */
} SgemmSpec;

void cg_sgemm(Emitter *e, const SgemmSpec *s);

/* ---- kernels/conv_codes.c ---- */

/* A Conv writing codes (ConvParams.qout): GEMM blocks of output channels into its
 * scratch output, each quantized into the codes. */
Status cg_conv_codes_emit(Emitter *e, const Node *n, Diag *d);
/* A C expression applying n's fused activation to the float expression v. */
const char *cg_act_expr(Emitter *e, const Node *n, const char *v);

/* Bytes of the constant tensors g's nodes read. */
int64_t cg_const_bytes(const Graph *g);
/* The mode WEIGHTS_AUTO stands for in g (others are returned unchanged):
 * WEIGHTS_C when the constants exceed threshold bytes (0: CG_WEIGHTS_THRESHOLD). */
WeightsMode cg_weights_resolve(const Graph *g, WeightsMode m, int64_t threshold);

/* Writes OUTDIR/NAME.c and OUTDIR/NAME.h (and the weights file) atomically. */
Status cg_generate(const Graph *g, const CodegenOptions *opt, const char *outdir, Diag *d);

#endif
