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
    bool no_fuse;      /* keep every op separate: no BN folding, no fused
                        * activations (tests of unfused kernels) */
} PassOptions;

typedef Status (*PassFn)(Graph *g, const PassOptions *opt, Diag *d);

/* ---- pipeline.c ---- */

/* Infers shapes (folding constants), then runs every pass in order. */
Status pass_pipeline(Graph *g, const PassOptions *opt, Diag *d);

/* ---- remove_noop.c ---- */

/* Bypasses nodes that forward their input unchanged (Identity, inference
 * Dropout, same-shape Reshape, same-type Cast, identity Transpose ...). */
Status pass_remove_noop(Graph *g, const PassOptions *opt, Diag *d);

/* ---- fold_bn.c ---- */

/* Folds BatchNormalization into a single-use Conv / ConvTranspose / Gemm
 * with constant weights (new W' and B'). Off with no_fuse. */
Status pass_fold_bn(Graph *g, const PassOptions *opt, Diag *d);

/* ---- fuse_act.c ---- */

/* Fuses Relu / Clip / LeakyRelu / Sigmoid / HardSwish into the epilogue
 * (n->act) of a single-use Conv / Gemm / MatMul. Off with no_fuse. */
Status pass_fuse_act(Graph *g, const PassOptions *opt, Diag *d);

/* ---- dce.c ---- */
Status pass_dce(Graph *g, const PassOptions *opt, Diag *d);

/* ---- memplan.c ---- */

/* Gives every intermediate tensor a workspace offset (64-byte aligned) by
 * liveness, lets views and in-place ops share storage, sets g->ws_bytes. */
Status pass_memplan(Graph *g, const PassOptions *opt, Diag *d);

/* ---- cost.c ---- */

int64_t cost_node_macs(const Node *n);
int64_t cost_node_params(const Node *n);

#endif
