/*
 * quant_match.h: what the quantization passes recognize in a graph (quant_match.c):
 * quantization written as plain ONNX arithmetic, ops that commute with an activation
 * quantizer, a BatchNormalization's per-channel affine, Gemm / MatMul weights as
 * rows, and the WRPN policy of which layers a float model quantizes.
 */
#ifndef WRPNC_QUANT_MATCH_H
#define WRPNC_QUANT_MATCH_H

#include "passes.h"

/* tail = Div(N) or Mul(1/N) ending Clip(x, 0, 1) -> Mul(N) -> Round, N = 2^bits - 1:
 * true with x and bits (the WRPN activation quantizer, wrpn.md section 1). */
bool qm_fake_act(const Node *tail, Tensor **x, int *bits);

/* n maps codes to codes exactly as it maps the quantized values (MaxPool: the quantizer
 * is monotone; Flatten and Reshape: they only move elements), reading its data from in[0]
 * and writing only out[0]. */
bool qm_commutes(const Node *n);

/* bn is an inference BatchNormalization of M channels with constant float parameters
 * and only its first output read: true with its mean, gain and beta per channel as the
 * reference eval uses them (y = (x - mean) * gain + beta, in double), 3 values each. */
bool qm_bn(Node *bn, int64_t M, double *mgb);

/* Gemm (transA = 0) or 2-D MatMul with a constant float32 weight: true with the weight
 * as M rows of K (W, allocated in g's arena), alpha, and the bias times beta when it is
 * absent (NULL), a scalar or M values along the rows (bias allocated in the arena). */
bool qm_fc(Graph *g, Node *n, float **W, int64_t *M, int64_t *K, float *alpha,
           float **bias);

/* Whether n is a layer the quantization passes may make integer: a 2-D Conv, a Gemm
 * or a MatMul, not named in --keep-fp32, and (with --wbits, unless --quantize-all)
 * neither the first conv nor the last layer. why: the reason when not (or NULL). */
bool qm_eligible(const Graph *g, const PassOptions *opt, const Node *n, const char **why);

#endif
