/*
 * conv_direct.h: the AVX2 / AVX-512 fp32 convolution of conv_direct.c, used by
 * conv.c's emitter for 2-D convolutions with constant weights.
 */
#ifndef WRPNC_CONV_DIRECT_H
#define WRPNC_CONV_DIRECT_H

#include "codegen.h"
#include "opparams.h"

/* Emits node n's convolution when the target has a direct kernel and the band
 * buffer fits; returns false, having emitted nothing, otherwise. */
bool cg_conv_direct(Emitter *e, const Node *n, const ConvParams *p);

/* sgemm.c: the fused activations (act 1, 2, 3, 5 = relu, clip, leaky relu, hard
 * swish; runtime variables act, lo, hi) on the vector variable v, for intrinsic
 * prefix pf; the constants they use, of vector type vt, come first. */
void cg_simd_act_consts(Buf *b, const char *vt, const char *pf);
void cg_simd_act(Buf *b, const char *pf, const char *v);

#endif
