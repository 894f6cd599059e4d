/*
 * passes.h: graph-to-graph transformations, one pass per file, each with one
 * public entry point of the form Status pass_x(Graph *, const PassOptions *,
 * Diag *). pipeline.c runs them in order, verifying the IR between passes.
 */
#ifndef WRPNC_PASSES_H
#define WRPNC_PASSES_H

#include "ir.h"

typedef struct PassOptions {
    double width;      /* width_scale.c: channel factor of hidden layers (<= 1: off) */
    int width_init;    /* WidthInit */
    uint64_t width_seed;
    bool width_random_map; /* preserve: copy seeded-random channels, not j mod C */
    bool dump;         /* print the IR after every pass to stderr */
    const char *dump_only; /* pass name to dump after, or NULL for all */
    bool no_fuse;      /* keep every op separate: no BN folding, no fused
                        * activations (tests of unfused kernels) */
    /* quantize.c */
    int wbits, abits;       /* WRPN bit widths for a float model, 0 = keep float */
    bool quantize_all;      /* also quantize the first conv and the last layer */
    const char *keep_fp32;  /* comma-separated node names kept float, or NULL */
    int kernel;             /* 0: cost model per layer, 1: bitserial, 2: int8 */
    int bitserial_max;      /* cost model: largest k_a * k_w on bit-serial kernels, the
                             * target's (target_bitserial_max); 0: 5 */
    bool no_pack;           /* pack_outputs.c off: uint8 codes + PackAct between layers */
    bool require_integer;   /* a Conv / Gemm / MatMul left in float is an error */
} PassOptions;

typedef enum { WIDTH_PRESERVE, WIDTH_RANDOM } WidthInit;

typedef Status (*PassFn)(Graph *g, const PassOptions *opt, Diag *d);

/* ---- pipeline.c ---- */

/* Infers shapes (folding constants), then runs every pass in order. */
Status pass_pipeline(Graph *g, const PassOptions *opt, Diag *d);
/* Name i of the points --dump=PASS can name, in order ("infer", "width", then each
 * pass); NULL past the last. */
const char *pass_pipeline_name(int i);

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

/* ---- quant_canon.c ---- */

/* Every activation quantizer (QONNX, QDQ / QCDQ, WRPN fake-quant arithmetic,
 * --abits) becomes wrpnc::ActQuant -> codes (with their QType) -> wrpnc::Dequant. */
Status pass_quant_canon(Graph *g, const PassOptions *opt, Diag *d);

/* ---- quant_sink.c ---- */

/* Dequant moves after MaxPool / Reshape / Flatten / Concat ...: they run on codes. */
Status pass_quant_sink(Graph *g, const PassOptions *opt, Diag *d);

/* ---- quantize.c ---- */

/* Conv / Gemm / MatMul reading a Dequant (quantized input) with integer-grid weights
 * (or --wbits) become PackAct -> wrpnc::QConv; the rest record why they stay float. */
Status pass_quantize(Graph *g, const PassOptions *opt, Diag *d);

/* ---- quant_qop.c ---- */

/* ONNX Runtime's QLinearConv / QLinearMatMul / ConvInteger / MatMulInteger with constant
 * weights, scales and zero points become PackAct -> wrpnc::QConv on the int8 kernels,
 * exact; the rest record why they stay on the plain loops. */
Status pass_quant_qop(Graph *g, const PassOptions *opt, Diag *d);

/* ---- quant_epilogue.c ---- */

/* BatchNormalization, a residual Add, Relu / Clip and the next ActQuant fold into
 * the QConv before them (integer thresholds: it writes codes). */
Status pass_quant_epilogue(Graph *g, const PassOptions *opt, Diag *d);

/* ---- quant_float.c ---- */

/* An ActQuant reading a float Conv alone fuses into it: the Conv writes the codes. */
Status pass_quant_float(Graph *g, const PassOptions *opt, Diag *d);

/* ---- pack_outputs.c ---- */

/* A node writing codes writes the packed layout its PackAct readers want; they go.
 * Off with no_pack. */
Status pass_pack_outputs(Graph *g, const PassOptions *opt, Diag *d);

/* ---- memplan.c ---- */

/* Gives every intermediate tensor a workspace offset (64-byte aligned) by
 * liveness, lets views and in-place ops share storage, sets g->ws_bytes. */
Status pass_memplan(Graph *g, const PassOptions *opt, Diag *d);

/* ---- width_scale.c ---- */

/* Widens hidden layers by opt->width (see the file's header); re-infers shapes. */
Status pass_width_scale(Graph *g, const PassOptions *opt, Diag *d);

/* The channel-group analysis behind it, for tests and reports. */
typedef struct WidthPlan WidthPlan;
Status width_plan(Graph *g, double w, bool random_map, uint64_t seed, WidthPlan **out, Diag *d);
/* Group id shared by tensors that must keep one channel mapping; -1 without channels. */
int width_plan_group(const WidthPlan *p, const Tensor *t);
/* Channel count of t after widening (unchanged when its group is pinned). */
int64_t width_plan_channels(WidthPlan *p, const Tensor *t);
/* Whether t gets new channels (false without channels or when pinned). */
bool width_plan_widened(WidthPlan *p, const Tensor *t);
void width_plan_free(WidthPlan *p);

/* ---- cost.c ---- */

int64_t cost_node_macs(const Node *n);
int64_t cost_node_params(const Node *n);

#endif
