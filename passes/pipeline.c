/*
 * pipeline.c: the whole middle end, in order. Shape inference with constant
 * folding runs first; every pass is followed by the IR verifier, and by a
 * dump of the graph when asked (wrpnc compile --dump[=PASS]).
 */
#include "passes.h"

#include <stdio.h>
#include <string.h>

typedef struct Pass {
    const char *name;
    PassFn run;
} Pass;

/* The order, and why (docs/passes.md has the long form):
 *  remove_noop    first, so that no Identity or no-op Reshape hides a pattern below;
 *  quant_canon    every activation quantizer becomes ActQuant -> Dequant, so every
 *                 later pass reads quantization off tensor types (after shape
 *                 inference folded the weights' quantizers into constants);
 *  quant_sink     Dequant after pools / reshapes / concats, so a quantized layer's
 *                 input is a Dequant's output however the model pools or flattens;
 *  quantize       quantized Conv / Gemm / MatMul -> QConv, before any folding into
 *                 float layers could perturb an integer layer's inputs or weights;
 *  quant_qop      ONNX Runtime's QLinearConv / QLinearMatMul / ConvInteger /
 *                 MatMulInteger -> QConv: their codes are typed by the node itself,
 *                 nothing before needs to see them; before pack_outputs, so that a
 *                 layer writes the layout the next one reads;
 *  quant_epilogue BN, residual Add, Relu and the next quantizer into the QConv: it
 *                 writes codes; before fold_bn, which folds BN into float weights
 *                 and would take a BN that belongs to an integer layer;
 *  fold_bn, fuse_act  the float layers' BN and activations;
 *  quant_float    then a float Conv is followed by its quantizer directly, which
 *                 fuses into it: the first layer writes codes, not floats;
 *  pack_outputs   once every producer of codes is final, each writes the layout its
 *                 readers want;
 *  dce            what the rewrites left unread;
 *  memplan        last: sizes are final (packed layouts included). */
static const Pass pipeline[] = {
    {"remove_noop", pass_remove_noop},
    {"quant_canon", pass_quant_canon},
    {"quant_sink", pass_quant_sink},
    {"quantize", pass_quantize},
    {"quant_qop", pass_quant_qop},
    {"quant_epilogue", pass_quant_epilogue},
    {"fold_bn", pass_fold_bn},
    {"fuse_act", pass_fuse_act},
    {"quant_float", pass_quant_float},
    {"pack_outputs", pass_pack_outputs},
    {"dce", pass_dce},
    {"memplan", pass_memplan},
};

const char *pass_pipeline_name(int i)
{
    static const char *const before[] = {"infer", "width"};
    int nb = (int)(sizeof before / sizeof before[0]);
    int np = (int)(sizeof pipeline / sizeof pipeline[0]);
    if (i < 0 || i >= nb + np)
        return NULL;
    return i < nb ? before[i] : pipeline[i - nb].name;
}

static void dump(const Graph *g, const PassOptions *opt, const char *name)
{
    if (!opt || !opt->dump || (opt->dump_only && strcmp(opt->dump_only, name) != 0))
        return;
    fprintf(stderr, "---- after %s ----\n", name);
    ir_dump(g, stderr);
}

Status pass_pipeline(Graph *g, const PassOptions *opt, Diag *d)
{
    WR_TRY(ir_infer(g, NULL, d));
    WR_TRY(ir_verify(g, d));
    dump(g, opt, "infer");
    /* Widening (--width) sees the ops as loaded, before any lowering below. */
    WR_TRY(pass_width_scale(g, opt, d));
    WR_TRY(ir_verify(g, d));
    if (opt && opt->width > 1.0)
        dump(g, opt, "width");
    for (size_t i = 0; i < sizeof pipeline / sizeof pipeline[0]; i++) {
        WR_TRY(pipeline[i].run(g, opt, d));
        Status s = ir_verify(g, d);
        if (s != WR_OK)
            return s;
        dump(g, opt, pipeline[i].name);
    }
    return WR_OK;
}
