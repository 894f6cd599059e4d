/*
 * act.c: the activations a fusion pass folds into a producer's epilogue
 * (Node.act). ir_act_apply is the scalar reference that the reference evals
 * of Conv, Gemm and MatMul call on every output value; emitters apply the
 * same functions in registers (codegen/kernels/sgemm.c).
 */
#include "opparams.h"

#include <math.h>

float ir_act_apply(const Node *n, float v)
{
    switch (n->act) {
    case ACT_NONE: return v;
    case ACT_RELU: return v > 0.0f ? v : 0.0f;
    case ACT_CLIP: return v < n->act_lo ? n->act_lo : (v > n->act_hi ? n->act_hi : v);
    case ACT_LEAKY_RELU: return v < 0.0f ? n->act_lo * v : v;
    case ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case ACT_HARD_SWISH: {
        /* ONNX HardSwish: x * max(0, min(1, x / 6 + 1 / 2)) */
        float t = v * (1.0f / 6.0f) + 0.5f;
        return v * (t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t));
    }
    }
    return v;
}
