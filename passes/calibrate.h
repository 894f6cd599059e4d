/*
 * calibrate.h: post-training calibration (calibrate.c) and a model's own
 * quantizers (requantize.c). Both run on the graph as loaded, before the
 * pipeline: calibration writes explicit QONNX quantizers into the float graph,
 * after which the model reads like a QONNX export and pass_quantize lowers it.
 */
#ifndef WRPNC_CALIBRATE_H
#define WRPNC_CALIBRATE_H

#include "passes.h"

/* ---- requantize.c ---- */

/* The first node that quantizes in g: a QONNX quantizer (Quant, IntQuant, BipolarQuant,
 * Trunc), QuantizeLinear / DequantizeLinear, or the Round of WRPN fake-quant arithmetic
 * (Mul -> Round -> Div or Mul); NULL for a float model. Needs no shape inference. */
const Node *quant_first(const Graph *g);

/* Bypasses the quantizers quant_first finds (readers read the quantizer's float input;
 * a QuantizeLinear [-> Clip] -> DequantizeLinear pair goes as one) and drops what only
 * fed them. DequantizeLinear of stored integer weights stays: there is no float to go
 * back to. Returns how many quantizers went. Run before ir_infer, which would fold the
 * weight quantizers into constants. */
int quant_strip(Graph *g);

/* ---- calibrate.c ---- */

/* The calibration set: nsample runs of the model; x[s * g->ninput + i] holds sample s of
 * graph input i, in that input's dtype and shape. */
typedef struct CalibData {
    int nsample;
    void *const *x;
} CalibData;

typedef struct CalibOptions {
    int wbits, abits;      /* 1..8; 0 or 32: that side stays float */
    bool quantize_all;     /* also the first conv and the last layer (WRPN policy) */
    const char *keep_fp32; /* comma-separated node names kept float, or NULL */
    double percentile;     /* activation range: this percentile of |x|; 100: the maximum */
} CalibOptions;

typedef struct CalibReport {
    int layers;      /* layers that got quantizers */
    int acts;        /* activation quantizers (one per tensor, shared by its readers) */
    int signed_acts; /* of which signed (a value below 0 was seen) */
} CalibReport;

/* Inserts QONNX Quant nodes (domain qonnx.custom_op.general, zero point 0, rounding
 * ROUND) in front of every quantizable Conv / Gemm / MatMul:
 *  - weights: per output channel, scale = max|w| / (2^(k-1) - 1), signed, narrow
 *    (k = 1: BipolarQuant with scale = mean|w|, WRPN's binary weights);
 *  - activation input: scale from the range the reference interpreter sees over the
 *    data, range / (2^k - 1) unsigned when no value below 0 was seen (after a Relu),
 *    else range / (2^(k-1) - 1) signed.
 * Precondition: shapes inferred, nothing lowered yet. */
Status pass_calibrate(Graph *g, const CalibOptions *o, const CalibData *data, CalibReport *rep,
                      Diag *d);

#endif
