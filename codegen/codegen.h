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

typedef enum { WEIGHTS_INLINE, WEIGHTS_C, WEIGHTS_BLOB } WeightsMode;

typedef struct CodegenOptions {
    const char *name; /* symbol prefix: a C identifier */
    Target target;
    WeightsMode weights;
    const char *source;  /* model path, for the header comment */
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

/* Writes OUTDIR/NAME.c and OUTDIR/NAME.h (and the weights file) atomically. */
Status cg_generate(const Graph *g, const CodegenOptions *opt, const char *outdir, Diag *d);

#endif
