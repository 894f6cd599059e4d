/*
 * opparams.h: parsed attributes that an op's infer stores in node->priv and
 * that its reference eval (ir/ops/) and emitter (codegen/kernels/) both read.
 */
#ifndef WRPNC_OPPARAMS_H
#define WRPNC_OPPARAMS_H

#include "ir.h"

/* Sliding-window geometry, normalized to 3 spatial dims (leading dims 1):
 * 1-D, 2-D and 3-D convolutions and pools share one code path. */
typedef struct Spatial {
    int nsp;                    /* spatial rank in the model: 1, 2 or 3 */
    int64_t in[3], k[3], out[3];
    int64_t stride[3], dil[3], pad0[3], pad1[3];
    int ceil_mode;
} Spatial;

/* Reads kernel_shape/strides/dilations/pads/auto_pad (and ceil_mode when
 * allow_ceil) for input spatial dims x_sp[0..nsp). kernel may come from the
 * weight shape (conv) or the attribute (pools; kernel == NULL). */
Status ir_spatial_parse(Node *n, int nsp, const int64_t *x_sp, const int64_t *kernel,
                        bool allow_ceil, Spatial *sp, Diag *d);

struct QuantSpec;
/* An output shape computed from attributes or constants may be used (its size
 * non-negative and at most IR_MAX_NUMEL elements, as ir_infer requires of every
 * output), checked by ops before they plan over it (ir/infer.c). */
#define IR_MAX_NUMEL (INT64_C(1) << 40)
Status ir_check_out_shape(const Node *n, int ndim, const int64_t *dim, Diag *d);

typedef struct ConvParams {
    Spatial sp;
    int64_t N, C, M, group; /* batch, input channels, output channels, groups */
    /* Conv writing codes (a fused quantizer, out_* attributes): the quantizer, and the
     * blocks computed into the scratch output 1: qblock channels by qpix pixels */
    const struct QuantSpec *qout;
    int64_t qblock, qpix;
} ConvParams;

/* Checks X (N, C, spatial..), W (M, C / group, kernel..) and B (M, optional)
 * and fills p and Y's dims ydim[0..X->ndim) (ir/ops/conv.c). */
Status conv_geometry(Node *n, const Tensor *X, const Tensor *W, const Tensor *B, ConvParams *p,
                     int64_t *ydim, Diag *d);

/* ---- data movement (ir/ops/copyplan.c, codegen/kernels/copyplan.c) ---- */

enum { MOVE_MAX_DIMS = 2 * IR_MAX_DIMS };

/* One strided copy: for every index (i0..i{ndim-1}) < count,
 *   out[dst][doff + sum(ik * dstride[k])] = in[src][soff + sum(ik * sstride[k])]
 * (offsets and strides in elements). Transpose, Slice, Concat, Split, Expand,
 * Tile, DepthToSpace and the views are each one or more of these. */
typedef struct CopyPlan {
    int src, dst; /* input and output slot */
    int ndim;
    int64_t count[MOVE_MAX_DIMS];
    int64_t sstride[MOVE_MAX_DIMS], dstride[MOVE_MAX_DIMS];
    int64_t soff, doff;
} CopyPlan;

/* What a data-movement node does: first fill the outputs that have a fill
 * value (one element of the output's dtype), then run the copies in order. */
typedef struct MoveParams {
    int nplan;
    CopyPlan *plan;
    const void **fill; /* per output slot, NULL = no fill */
} MoveParams;

/* A MoveParams for n with room for nplan plans, stored in n->priv. */
MoveParams *move_params_new(Graph *g, Node *n, int nplan);
/* Plan copying a dense (ndim, dim) region: dst strides contiguous over dim. */
void move_plan_dense(CopyPlan *p, int src, int dst, int ndim, const int64_t *dim);
/* Contiguous strides of a shape (elements), into stride[0..ndim). */
void move_strides(int ndim, const int64_t *dim, int64_t *stride);
/* Drops size-1 dims and merges dims that are contiguous in both src and dst. */
void move_plan_simplify(CopyPlan *p);
int64_t move_plan_numel(const CopyPlan *p);
/* The reference eval of every MoveParams node (move_run: with explicit params). */
Status move_eval(const Node *n, void *const *in, void *const *out, Diag *d);
void move_run(const Node *n, const MoveParams *p, void *const *in, void *const *out);
/* Infer for ops that are one dense copy of input 0 into output 0 (views). */
void move_set_view(Graph *g, Node *n, int ndim, const int64_t *dim);

/* Pad. Constant mode is a fill and a CopyPlan (move); edge, reflect and wrap
 * map each output coordinate o of dim k to the input coordinate src[k][o]
 * (src[k] NULL: the dim is not padded, src = o). */
typedef struct PadParams {
    MoveParams *move; /* constant mode, else NULL */
    int32_t *src[IR_MAX_DIMS];
} PadParams;

/* Gather along axis: Y[outer, j, inner] = X[outer, idx[j], inner]. */
typedef struct GatherParams {
    int64_t outer, axis_dim, inner, nidx;
} GatherParams;

/* Trilu: a batch of N x M matrices; keep (i, j) when j - i >= k (upper) or <= k. */
typedef struct TriluParams {
    int64_t batch, N, M, k;
    bool upper;
} TriluParams;

/* Ops over one axis, with the tensor viewed as (outer, len, inner): CumSum,
 * ArgMax, ArgMin, OneHot (len = depth of the output), GatherElements and
 * ScatterElements (len of data; indices viewed as (outer, ilen, inner)). */
typedef struct AxisParams {
    int64_t outer, len, inner, ilen;
    int axis;
    bool flag_a, flag_b; /* CumSum: exclusive, reverse; ArgMax/Min: select_last, is min */
    int reduction;       /* ScatterElements: 0 none, 1 add, 2 mul, 3 max, 4 min */
} AxisParams;

/* Fills p->outer, p->inner and p->len for dims (ndim, dim) split at axis. */
void axis_split(AxisParams *p, int ndim, const int64_t *dim, int axis);

/* GatherND / ScatterND: per batch (GatherND's batch_dims; 1 for ScatterND),
 * q index tuples of k coordinates, each addressing a slice of `slice`
 * contiguous elements at dbatch * batch + sum(coord[j] * stride[j]). */
typedef struct NdParams {
    int64_t batch, q, k, slice, dbatch;
    int64_t stride[IR_MAX_DIMS], dim[IR_MAX_DIMS]; /* of the k indexed data dims */
    int reduction; /* ScatterND: 0 none, 1 add, 2 mul, 3 max, 4 min */
} NdParams;
/* Reductions (ReduceSum ...): kept dims form the outer loops, reduced dims
 * the inner ones; output elements come out in order whatever keepdims is. */
typedef struct ReduceParams {
    int ndim;
    int64_t dim[IR_MAX_DIMS];
    bool red[IR_MAX_DIMS]; /* dim is reduced */
    bool noop;             /* empty axes with noop_with_empty_axes: a copy */
    int64_t count;         /* elements per reduction */
} ReduceParams;

/* Softmax / LogSoftmax / Hardmax over X viewed as (outer, len, inner). */
typedef struct SoftmaxParams {
    int64_t outer, len, inner;
} SoftmaxParams;

/* Pools: X (N, C, spatial..) viewed as (N*C, D, H, W). Global pools use a
 * window equal to the input. */
typedef struct PoolParams {
    Spatial sp;
    int64_t NC;
    int count_include_pad; /* AveragePool */
    int64_t p;             /* LpPool norm */
    int storage_order;     /* MaxPool Indices: 1 = column-major spatial index */
} PoolParams;

/* Normalizations over X viewed as (outer, C, inner): BatchNorm and
 * InstanceNorm have per-channel C; LayerNorm has C = 1, inner = the
 * normalized size. */
typedef struct NormParams {
    int64_t outer, C, inner;
    float eps;
    int64_t nscale, nbias; /* LayerNorm: Scale/B element counts (suffix broadcast) */
    float alpha, beta, bias; /* LRN */
    int64_t size;            /* LRN; GroupNorm: num_groups; LpNorm: p */
} NormParams;

/* MeanVarianceNormalization: X's elements grouped by their coordinates on
 * the dims not in axes (red[k] false); per group y = (x - mean) / (std + 1e-9). */
typedef struct MvnParams {
    int ndim;
    int64_t dim[IR_MAX_DIMS];
    bool red[IR_MAX_DIMS];
    int64_t groups;
} MvnParams;

/* ConvTranspose: sp.in is X's spatial shape, sp.out Y's; pad0 the begin pads. */
typedef struct ConvTransposeParams {
    Spatial sp;
    int64_t N, C, M, group; /* X channels C, Y channels M */
} ConvTransposeParams;

/* Resize / Upsample, separable: output coordinate o along dim k reads
 * taps input indices idx[k][o*ntap[k] + t] with weights w[k][...]; out[k][o]
 * marks coordinates outside the crop (tf_crop_and_resize): extrapolation. */
typedef struct ResizeParams {
    int ndim;
    int64_t in[IR_MAX_DIMS], out[IR_MAX_DIMS];
    int ntap[IR_MAX_DIMS];
    int32_t *idx[IR_MAX_DIMS];
    double *w[IR_MAX_DIMS];
    uint8_t *outside[IR_MAX_DIMS];
    bool any_outside;
    float extrapolation;
} ResizeParams;
/* Gemm: Y (M x N) = alpha * A' (M x K) . B' (K x N) + beta * C, C
 * unidirectionally broadcast from (cM x cN) (each 1 or full; absent: 0 x 0). */
typedef struct GemmParams {
    int64_t M, N, K, cM, cN;
    int transA, transB;
    float alpha, beta;
} GemmParams;

/* MatMul with numpy semantics: nbatch products Y[b] (M x N) = A[aidx[b]] (M x K)
 * . B[bidx[b]] (K x N); aidx/bidx index the matrices of the broadcast batch. */
typedef struct MatMulParams {
    int64_t M, N, K, nbatch, na, nb; /* na, nb: matrices in A and in B */
    int64_t *aidx, *bidx;
} MatMulParams;

/* ---- recurrent networks (ir/ops/rnn.c, codegen/kernels/rnn.c) ---- */

/* The activations LSTM, GRU and RNN accept; rows of rnn_act_info. */
typedef enum {
    RNN_ACT_RELU, RNN_ACT_TANH, RNN_ACT_SIGMOID, RNN_ACT_AFFINE, RNN_ACT_LEAKY_RELU,
    RNN_ACT_THRESHOLDED_RELU, RNN_ACT_SCALED_TANH, RNN_ACT_HARD_SIGMOID, RNN_ACT_ELU,
    RNN_ACT_SOFTSIGN, RNN_ACT_SOFTPLUS, RNN_ACT_COUNT
} RnnActKind;

typedef struct RnnActInfo {
    const char *name;             /* ONNX spelling, matched without regard to case */
    bool uses_alpha, uses_beta;   /* takes the next activation_alpha / _beta value */
    float alpha, beta;            /* when the lists run out: the ONNX operator's defaults */
    float (*ref)(float x, float alpha, float beta);
    const char *c;                /* C99 float expression of $x, $a (alpha), $b (beta) */
} RnnActInfo;

extern const RnnActInfo rnn_act_info[RNN_ACT_COUNT];

typedef struct RnnAct {
    RnnActKind kind;
    float alpha, beta;
} RnnAct;

/* LSTM (gates i o f c; activations f g h), GRU (z r h; f g), RNN (i; f).
 *   X (T, B, I) [layout 1: (B, T, I)], W (D, G*H, I), R (D, G*H, H),
 *   B (D, 2*G*H) = Wb then Rb, sequence_lens (B), initial_h / initial_c
 *   (D, B, H) [layout 1: (B, D, H)], P (D, 3*H) peepholes i o f
 *   -> Y (T, D, B, H) [layout 1: (B, T, D, H)], Y_h, Y_c like initial_h. */
typedef struct RnnParams {
    int64_t T, B, I, H;      /* steps, batch, input size, hidden size */
    int D, G, nact;          /* directions, gates, activations per direction */
    bool reverse;            /* direction "reverse": the one direction runs backwards */
    int layout;
    float clip;              /* 0: none */
    bool input_forget;       /* LSTM: f = 1 - i */
    bool linear_before_reset; /* GRU */
    RnnAct act[2][3];        /* [direction][f, g, h] */
} RnnParams;

/* Offsets in floats into the scratch output: input projections xw (D, T*B,
 * G*H), summed biases (D, G*H) and the recurrent bias of GRU's h gate (D, H),
 * one step's recurrent products (B, G*H), states h and c and GRU's r * h (B, H). */
typedef struct RnnScratch {
    int64_t xw, bias, rbh, gates, h, c, rh, total;
} RnnScratch;

void rnn_scratch_layout(const RnnParams *p, RnnScratch *s);
/* Whether direction d runs from the last step to the first. */
bool rnn_dir_reverse(const RnnParams *p, int d);
/* numpy matmul geometry of A . B into a new *out, n->out[0] set to type ty
 * (ir/ops/matmul.c). */
Status matmul_params(Graph *g, Node *n, const Tensor *A, const Tensor *B, DType ty,
                     MatMulParams **out, Diag *d);

/* Attention (opset 23+): per batch b and query head h, scores S (Sq x T) =
 * scale * Q_bh K_bk^T (k = h / (Hq / Hkv): grouped-query heads share a KV
 * head), optional softcap, an additive bias (attn_mask, causal, window,
 * nonpad_kv_seqlen; -inf = not attended), softmax (fully masked rows are 0),
 * Y_bh = P V_bk. T = P + Skv keys when a past cache of P keys is given.
 * in3d: Q, K, V, Y are (B, S, heads * head size), else (B, heads, S, size). */
typedef struct AttentionParams {
    int64_t B, Hq, Hkv, Sq, Skv, P, T, D, Dv;
    bool in3d;
    float scale, softcap; /* softcap 0: none */
    bool causal;
    int64_t lwin, rwin; /* window: keys p - lwin <= j <= p + rwin (-1: unbounded) */
    int mode;           /* qk_matmul_output_mode: 0 raw, 1 softcapped, 2 + bias, 3 softmax */
    int mask;           /* 0 none, 1 bool, 2 additive float */
    int64_t mstride[4]; /* attn_mask strides over (b, h, i, j), 0 where broadcast */
    int64_t mlen;       /* attn_mask's last dim: keys j >= mlen are masked */
    bool nonpad; /* nonpad_kv_seqlen given: offset nonpad[b] - Sq, keys >= nonpad[b] masked */
    int scratch;        /* output slot of the scratch tensor */
} AttentionParams;

/* RotaryEmbedding: X (B, H, S, D) or (B, S, H * D); the first rd values of
 * each head rotate by the angle of cache row r = position_ids[b, s] (rows of
 * the caches) or r = b * S + s (caches (B, S, rd / 2)): halves (x[k],
 * x[k + rd/2]) or, interleaved, pairs (x[2k], x[2k + 1]). */
typedef struct RotaryParams {
    int64_t B, S, H, D, rd, rows;
    bool in3d, interleaved, pos;
} RotaryParams;

/* TopK over X viewed as (outer, len, inner): the k largest (or smallest)
 * along the axis, sorted, ties to the lower index; indices int64. */
typedef struct TopKParams {
    int64_t outer, len, inner, k;
    bool largest;
} TopKParams;

/* Einsum: labels 0..51 are the letters, 52.. the broadcast (ellipsis) dims.
 * size[l] is label l's extent, stride[k][l] its element stride in input k (0:
 * absent or broadcast; a label repeated in one input adds its strides: a
 * diagonal). The emitter runs steps: gathers (dst contiguous over dims dim,
 * each element the sum over dims rdim of src) and batched products
 * c[b] (M x N) = a[b] (M x K) . b[b] (K x N), all contiguous, inputs folded
 * pairwise left to right. */
enum { EINSUM_LABELS = 64, EINSUM_DIMS = 24, EINSUM_STEPS = 64 };

typedef struct EinsumRef {
    int input;   /* node input >= 0, EINSUM_SCRATCH or EINSUM_OUT */
    int64_t off; /* element offset in the scratch */
} EinsumRef;

enum { EINSUM_SCRATCH = -1, EINSUM_OUT = -2 };

typedef struct EinsumStep {
    bool matmul;
    EinsumRef src, dst;     /* gather */
    int nd, nr;
    int64_t dim[EINSUM_DIMS], sst[EINSUM_DIMS], rdim[EINSUM_DIMS], rst[EINSUM_DIMS];
    EinsumRef a, b, c;      /* matmul */
    int64_t nb, M, N, K;
} EinsumStep;

typedef struct EinsumParams {
    int nlab, nout;
    int64_t size[EINSUM_LABELS];
    int64_t (*stride)[EINSUM_LABELS]; /* per input */
    int out[EINSUM_LABELS];           /* output labels in order */
    int nstep;
    EinsumStep *step;
    int64_t scratch_count;
    int scratch;                      /* output slot of the scratch tensor */
} EinsumParams;

/* ONNX Runtime's QOperator ops: QLinearConv, ConvInteger, QLinearMatMul and
 * MatMulInteger. The integer accumulator of output element (.., c) is
 *   acc = sum (x - x_zp[r]) (w - w_zp[c]) (+ bias[c], QLinearConv)
 * over the conv window or K, in int32. The *Integer ops write acc; the
 * QLinear* ops requantize as ONNX Runtime (MLAS) does, in float32:
 *   mult[c] = x_scale * w_scale[c] / y_scale
 *   y = rint(clamp((float)acc * mult[c], qmin - y_zp, qmax - y_zp)) + y_zp  (half to even)
 * c is W's output channel (conv: W axis 0) or B's column (matmul: B's last
 * axis); r is A's row for MatMulInteger's per-row a_zero_point (else 0).
 * Scales and zero points are read at run time; when they are constants their
 * decoded values are kept here too (for lowerings onto other kernels). */
typedef struct QLinearParams {
    bool conv, requant;
    ConvParams geom;       /* conv ops */
    MatMulParams *mm;      /* matmul ops */
    int x, xs, xzp, w, ws, wzp, ys, yzp, bias; /* input slots, -1 = absent */
    int64_t nxzp, nwzp, nws; /* 1 = per tensor, else per row (x) / per channel (w) */
    int axis;              /* W's per-channel axis (0: conv M; rank - 1: matmul N) */
    DType tx, tw, ty;      /* ty: int8/uint8 (QLinear*) or int32 (*Integer) */
    const int32_t *xzp_c, *wzp_c; /* constant zero points (decoded), else NULL */
    const float *xs_c, *ws_c, *ys_c; /* constant scales, else NULL */
    int32_t yzp_c;
} QLinearParams;

/* com.microsoft::MatMulNBits: Y (.., N) = A (.., K) . dequant(B)^T [+ bias],
 * B (N, kblocks, blob) holding `bits`-bit codes (2, 4 or 8) packed low bits
 * first along K, block elements per block; w = (code - zp) * scale[n, block].
 * zp: zp_kind 0 = 2^(bits - 1), 1 = packed uint8 codes (N, ceil(kblocks *
 * bits / 8)), 2 = float (N, kblocks). */
typedef struct MatMulNBitsParams {
    int64_t M, K, N, bits, block, kblocks, blob;
    int zp_kind;
    bool bias;
    /* accuracy_level 4 taken as int8 compute: A quantized per block at run time
     * (symmetric, scale max|a| / 127, rounded to nearest even), integer dot products
     * per block; else fp32, why_fp32 saying why (for `wrpnc info`). */
    bool int8;
    const char *why_fp32;
} MatMulNBitsParams;

/* DFT, STFT and the windows (ir/ops/signal.c). DFT: X viewed as (outer, L,
 * inner, cin) (cin 1 real, 2 complex), a transform of length n along L into
 * nout bins of cout values (2; 1 for the real output of an inverse one-sided
 * transform). STFT: signal (outer = batch, L, cin) cut into frames of n
 * samples every step, each times the window, transformed into nout bins. */
typedef struct SignalParams {
    int64_t outer, L, inner, cin, n, nout, cout;
    bool inverse, onesided;
    int64_t frames, step; /* STFT */
    bool window;          /* STFT: window input given */
} SignalParams;

/* GridSample and AffineGrid (ir/ops/grid.c): nd = 2 or 3 spatial dims.
 * GridSample: X (N, C, in..), Grid (N, out.., nd) -> Y (N, C, out..); mode 0
 * nearest, 1 linear, 2 cubic; pad 0 zeros, 1 border, 2 reflection.
 * AffineGrid: theta (N, nd, nd + 1), size (N, C, out..) -> (N, out.., nd). */
typedef struct GridParams {
    int nd, mode, pad;
    bool align;
    int64_t N, C, in[3], out[3];
} GridParams;

/* RoiAlign (ir/ops/grid.c): X (N, C, H, W), rois (R, 4), batch_indices (R)
 * -> (R, C, PH, PW). */
typedef struct RoiAlignParams {
    int64_t N, C, H, W, R, PH, PW, sr;
    float scale;
    bool half, maxmode;
} RoiAlignParams;

/* DeformConv (ir/ops/grid.c), 2-D: conv geometry plus offset_group; taps
 * sample X bilinearly at their offset positions, times the optional mask. */
typedef struct DeformConvParams {
    ConvParams conv;
    int64_t ogroups;
    bool bias, mask;
} DeformConvParams;

/* Col2Im and MaxUnpool (ir/ops/col2im.c): Y (N*C planes of `plane`
 * elements) gets, for every input element e of each plane, in[e] added
 * (Col2Im) or stored (MaxUnpool, `plane` elements per index) at a target
 * offset: Col2Im's table dst[k * L + l] (-1: outside the image), MaxUnpool's
 * flat index remapped from the inferred shape to the output shape. */
typedef struct UnfoldParams {
    int64_t NC, K, L, plane; /* Col2Im: input (N, C * K, L) */
    int32_t *dst;
    int nd;                  /* MaxUnpool: spatial dims of the inferred / output shapes */
    int64_t inf[IR_MAX_DIMS], outd[IR_MAX_DIMS], count; /* count: elements of X */
} UnfoldParams;

/* TensorScatter: cache viewed as (B, pre, max, inner), update (B, pre, seq,
 * inner); rows b go to write_indices[b] + s (mod max when circular). */
typedef struct ScatterParams {
    int64_t B, pre, max, seq, inner;
    bool circular;
} ScatterParams;

/* LinearAttention (opset 27): per batch b and KV head h a state S (dk x dv)
 * is updated token by token (rule: 0 linear, 1 gated, 2 delta, 3 gated
 * delta; decay per key dim when decay_k, else per head; beta per head
 * unless beta1) and read by the Hq / Hkv query heads sharing it.
 * CausalConvWithState reuses B, T (length), Hq (channels) and dk (kernel). */
typedef struct LinAttnParams {
    int64_t B, T, Hq, Hkv, dk, dv;
    int rule;
    bool decay_k, beta1, past;
    float scale;
    int silu;    /* CausalConvWithState: fused SiLU */
    int scratch; /* output slot of the scratch tensor, -1 none */
} LinAttnParams;

/* NonZero, Unique, NonMaxSuppression (ir/ops/datadep.c): output shapes
 * that depend on input values, so the inputs must be constants; the results
 * are computed by infer (into the arena) and copied by eval and the emitter. */
typedef struct ConstResult {
    int n;
    void *data[4];
    int64_t bytes[4];
} ConstResult;

/* TfIdfVectorizer (ir/ops/tfidf.c): ng n-grams of the pool (sizes within
 * [min, max]), gram g = tok[start[g] .. start[g] + size[g]) counted into
 * output column col[g]; weighting mode 0 TF, 1 IDF, 2 TFIDF (weights w, or
 * none). X is (B, L) or (L). */
typedef struct TfIdfParams {
    int64_t B, L, ncol, ng, minn, maxn, skip;
    int64_t *tok;
    int32_t *start, *size, *col;
    float *w; /* ncol weights, or NULL */
    int mode;
} TfIdfParams;

/* ---- scratch.c ---- */

/* The scratch output of n (an OPF_SCRATCH op): count elements of t, 1-D, read
 * by nobody (memplan gives it workspace for n's lifetime), in slot max_out
 * (n->nout - 1 afterwards; absent ONNX outputs before it are NULL). Made on the
 * first inference, resized on later ones; returns it. */
Tensor *ir_node_add_scratch(Graph *g, Node *n, DType t, int64_t count);

/* ---- act.c ---- */

/* The node's fused activation (n->act, act_lo, act_hi) applied to one value. */
float ir_act_apply(const Node *n, float v);

#endif
