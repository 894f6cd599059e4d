/*
 * passes.h: graph-to-graph transformations, one pass per file, each with one
 * public entry point of the form Status pass_x(Graph *, const PassOptions *,
 * Diag *). pipeline.c runs them in order, verifying the IR between passes.
 */
#ifndef WRPNC_PASSES_H
#define WRPNC_PASSES_H

#include "ir.h"

typedef struct PassOptions {
    bool dump;         /* print the IR after every pass to stderr */
    const char *dump_only; /* pass name to dump after, or NULL for all */
    bool no_fuse;      /* keep every op separate (tests of unfused kernels) */
    /* quantize.c */
    int wbits, abits;       /* WRPN bit widths for a float model, 0 = keep float */
    bool quantize_all;      /* also quantize the first conv and the last layer */
    const char *keep_fp32;  /* comma-separated node names kept float, or NULL */
    int kernel;             /* 0: cost model per layer, 1: bitserial, 2: int8 */
} PassOptions;

typedef Status (*PassFn)(Graph *g, const PassOptions *opt, Diag *d);

/* ---- pipeline.c ---- */

/* Infers shapes (folding constants), then runs every pass in order. */
Status pass_pipeline(Graph *g, const PassOptions *opt, Diag *d);

/* ---- dce.c ---- */
Status pass_dce(Graph *g, const PassOptions *opt, Diag *d);

/* ---- quantize.c ---- */

/* Lowers quantized convolutions to wrpnc::QConv on integer codes: float models
 * with opt->wbits/abits (WRPN post-training quantization), and models that
 * carry their quantization (QONNX Quant, QuantizeLinear, fake-quantized weights). */
Status pass_quantize(Graph *g, const PassOptions *opt, Diag *d);

/* ---- memplan.c ---- */

/* Gives every intermediate tensor a workspace offset (64-byte aligned) by
 * liveness, lets views and in-place ops share storage, sets g->ws_bytes. */
Status pass_memplan(Graph *g, const PassOptions *opt, Diag *d);

/* ---- cost.c ---- */

int64_t cost_node_macs(const Node *n);
int64_t cost_node_params(const Node *n);

#endif
