/*
 * compare.h: `wrpnc compare`, built from wrpnc's own pieces and a C compiler:
 *   cli_compare.c      the command: options, inputs, the order of the steps
 *   compare_variant.c  variant strings ("fp32, w4a4@2x:preserve, as exported")
 *   compare_build.c    each variant compiled, built and measured in its own process
 *   compare_run.c      the harness times it, then runs every sample (-n); agreement,
 *                      accuracy, Pareto fronts
 *   compare_report.c   report.md, report.csv, report.json
 *   compare_plot.c     report.svg and report.html
 *   elf_size.c         section and symbol sizes of the built objects
 */
#ifndef WRPNC_COMPARE_H
#define WRPNC_COMPARE_H

#include "cli.h"

typedef enum { VK_FP32, VK_BITS, VK_EXPORTED } VariantKind;

enum { CMP_MAX_VARIANTS = 32 };

/* One variant: what to build (parsed) and what was measured (NAN / -1: unknown). */
typedef struct Variant {
    char name[96];       /* as written, lower case: "fp32", "w4a4@2x", "as exported" */
    VariantKind kind;
    int kw, ka;          /* bit widths; 32: float */
    double width;        /* channel factor, 1: not widened */
    int init;            /* WidthInit when widened, else -1 */
    bool reference;      /* "fp32 (reference)", added for the agreement */
    /* the build */
    char status[160], error[600];
    char quant[64];      /* "float", "calibrated", "trained (as exported)", "uncalibrated" */
    char dir[4200], cname[128];
    int layers, qlayers; /* Conv / Gemm / MatMul layers; of them on integer kernels */
    int calib_examples;
    int64_t params, macs, bops;
    int64_t text, rodata, weights, workspace;
    /* the runs */
    double latency_ms, max_abs_err, agreement, accuracy;
    bool pareto_lat, pareto_mem;
} Variant;

typedef struct Compare {
    CliOptions *o;
    Variant v[CMP_MAX_VARIANTS + 1];
    int n, ref;
    Graph *g;            /* the model as loaded: inputs and outputs */
    const Node *own;     /* the model's first quantizer, or NULL for a float model */
    Dataset data;
    bool random_inputs;
    bool runs;           /* the target runs here (natively or through o->exec) */
    bool timed;          /* ... natively: latencies mean something */
    char inputs_dir[4200];
} Compare;

/* ---- compare_variant.c ---- */

/* Parses a comma-separated variant list into v[0..*n); default_init for widened variants
 * without :preserve / :random. WR_EUSAGE with the offending variant in the message. */
Status cmp_parse_variants(const char *list, int default_init, Variant *v, int *n, Diag *d);
/* A variant as a folder and symbol name: "w4a4@2x" -> "w4a4_2x". */
void cmp_slug(const char *name, char *out, size_t n);

/* ---- compare_build.c ---- */

/* Builds every variant, at most o->jobs at once, each in a child process; fills the
 * build fields (status "failed" and the error on failure). */
void cmp_build_all(Compare *c);

/* ---- compare_run.c ---- */

/* Times and runs every built variant (the reference first); fills the run fields. */
void cmp_run_all(Compare *c);
/* Marks the Pareto fronts: lower latency / memory, higher quality. */
void cmp_pareto(Compare *c);
/* Quality used for the fronts and the plot: accuracy with labels, else agreement. */
double cmp_quality(const Compare *c, const Variant *v);
/* Memory of a variant: constant bytes (weights) plus workspace bytes; -1 if unknown. */
int64_t cmp_memory(const Variant *v);
/* Top-1 agreement of rows x cols scores got against ref: the fraction of rows whose
 * largest score (the first on ties) is in the same column; NAN without rows. */
double cmp_top1_agree_d(const double *got, const double *ref, int64_t rows, int64_t cols);
/* Output t of one sample as rows of scores: the first dim when t has 2 or more, else
 * one row (a 1-D output is one row of scores, not rows of one). */
void cmp_rows(const Tensor *t, int64_t *rows, int64_t *cols);

/* ---- compare_report.c ---- */

/* The notes under the table (shared by report.md and report.html): n of them in note[]. */
int cmp_notes(const Compare *c, char note[][1024], int max);
Status cmp_write_reports(const Compare *c, Diag *d);
/* Column k of v as the tables show it ("" when unknown). */
const char *cmp_cell(const Variant *v, int k, char *buf, size_t n);
/* How a table column shows its field. */
typedef enum {
    CELL_TEXT,   /* a char array */
    CELL_LAYERS, /* "int layers/layers" */
    CELL_BYTES,  /* int64, digits grouped: 1,234,567 */
    CELL_COUNT,  /* int64, 3 significant digits: 1.92M */
    CELL_MS,     /* double, 4 decimals */
    CELL_ERR,    /* double, 3 significant digits */
    CELL_PCT1,   /* fraction as a percentage, 1 decimal */
    CELL_PCT2,   /* ... 2 decimals */
    CELL_PARETO, /* which fronts */
} CellFormat;
/* The display columns: key (as in JSON), header, format, field offset in Variant. */
typedef struct CmpColumn {
    const char *key, *head;
    CellFormat format;
    size_t off;
} CmpColumn;
extern const CmpColumn cmp_table[];
extern const int cmp_ntable;

/* ---- compare_plot.c ---- */

/* report.svg's text; report.html (table, notes, plot). */
void cmp_svg(const Compare *c, Buf *b);
void cmp_html(const Compare *c, const char *svg, Buf *b);

/* ---- elf_size.c ---- */

/* Bytes of an ELF object: .text* sections, .rodata* sections, and the sized data
 * symbols in them (the constant arrays: weights, scales, tables). */
typedef struct ElfSizes {
    int64_t text, rodata, objects;
} ElfSizes;
Status elf_sizes(const char *path, ElfSizes *s, Diag *d);

#endif
