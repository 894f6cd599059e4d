/*
 * quant_qop.c: ONNX Runtime's QOperator layers onto the int8 QConv kernels.
 *
 * QLinearConv / QLinearMatMul (requantized 8-bit codes out) and ConvInteger /
 * MatMulInteger (int32 accumulators out) with constant weights, zero points and
 * scales become
 *   PackAct (x codes, typed with x's zero point, into the int8 kernels' layout)
 *   -> QConv kernel int8, weights w - w_zp (|code| <= 127), epilogue:
 *        QLinear*: S = float32(x_scale * w_scale[m] / y_scale) (as ONNX Runtime
 *                  computes it), B = the int32 bias (joins acc), out_* = the
 *                  `requant` quantizer rint(clamp(acc * S)) + y_zp with y's QType;
 *        *Integer: out_acc (the int32 accumulator itself)
 * which equals ir/ops/qlinear.c bit for bit: the accumulator is exact on every kernel,
 * padding taps contribute 0 in both (x_zero_point there), and the epilogue is the same
 * float32 expression. QLinearMatMul / MatMulInteger read a 2-D A as a 1 x 1
 * convolution of (rows, K) codes (attribute fc).
 * ConvInteger / MatMulInteger whose x zero point is computed at run time (by
 * DynamicQuantizeLinear, as quantize_dynamic writes them) sum the raw codes instead
 * and subtract the zero point times the weights' sums over the taps inside the image
 * (a constant per output channel and pixel) in int32 afterwards:
 *   QConv (zero point 0, out_acc) -> raw;  Y = raw - int32(x_zp) * ts
 * A node that cannot go (run-time scales or weights, weights off the int8 grid,
 * per-row zero points, an accumulator bound over int32, ...) stays on the plain
 * loops of codegen/kernels/qlinear.c and records why (Node.why_float, `wrpnc info`).
 */
#include "opparams.h"
#include "quant.h"
#include "rewrite.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A QOperator layer to lower. */
typedef struct Qop {
    Node *n;
    const QLinearParams *p;
    int64_t wdim[4]; /* QConv weights (M, C/group, kH, kW) */
    int64_t group;
    int8_t *code;    /* w - w_zp, in that shape */
    int wbits;
    int32_t xzp;
    bool fc;
    bool dyn_zp; /* x zero point computed at run time: corrected after the QConv */
} Qop;

static bool is_qop(const Node *n) { return op_info[n->op].flags & OPF_QLINEAR; }

static const Tensor *slot(const Node *n, int k) { return k >= 0 && k < n->nin ? n->in[k] : NULL; }

/* Whether optional input k is given and not a constant. */
static bool run_time(const Node *n, int k)
{
    const Tensor *t = slot(n, k);
    return t && !t->data;
}

/* Why the node's quantization inputs rule the kernels out, or NULL. */
static const char *constants(Qop *q)
{
    const QLinearParams *p = q->p;
    const Node *n = q->n;
    q->dyn_zp = run_time(n, p->xzp);
    if (q->dyn_zp && p->requant)
        return "x zero point computed at run time: the requantization needs a constant one";
    if (q->dyn_zp && (p->nxzp != 1 || n->in[p->x]->q))
        return "x zero point computed at run time, per row or for typed codes";
    if (run_time(n, p->xs) || run_time(n, p->ws) || run_time(n, p->ys) || run_time(n, p->yzp))
        return "scale or zero point computed at run time";
    if (!n->in[p->w]->data || run_time(n, p->wzp) || run_time(n, p->bias))
        return "weights, their zero point or the bias computed at run time";
    if (p->nxzp != 1)
        return "zero point of A per row";
    return NULL;
}

/* w - w_zp of weight element i in output channel m; false when off the int8 grid. */
static bool weight_code(const Qop *q, int64_t i, int64_t m, int8_t *c)
{
    const QLinearParams *p = q->p;
    int64_t v = dtype_get_i64(p->tw, q->n->in[p->w]->data, i) -
                (p->wzp_c ? p->wzp_c[p->nwzp > 1 ? m : 0] : 0);
    *c = (int8_t)v;
    return v >= -127 && v <= 127;
}

/* Weight codes in QConv's (M, C/group, kH, kW) order; the smallest width that holds them. */
static const char *weights(Graph *g, Qop *q)
{
    const QLinearParams *p = q->p;
    int64_t M = q->wdim[0], K = q->wdim[1] * q->wdim[2] * q->wdim[3], need = 1;
    q->code = arena_alloc(&g->arena, (size_t)(M * K));
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++) {
            /* conv W is (M, K) already; matmul B is (K, M): transposed */
            int64_t i = q->fc ? k * p->mm->N + m : m * K + k;
            int8_t *c = q->code + m * K + k;
            if (!weight_code(q, i, m, c))
                return "weights minus their zero point outside [-127, 127]";
            need = llabs(*c) > need ? llabs(*c) : need;
        }
    q->wbits = 2;
    while ((1 << (q->wbits - 1)) - 1 < need)
        q->wbits++;
    return NULL;
}

/* Geometry: a 2-D convolution, or a 2-D A times a 2-D B. */
static const char *geometry(Qop *q)
{
    const QLinearParams *p = q->p;
    const Tensor *x = q->n->in[p->x], *w = q->n->in[p->w];
    if (p->conv) {
        if (x->ndim != 4)
            return "not a 2-D convolution";
        memcpy(q->wdim, w->dim, sizeof q->wdim);
        q->group = p->geom.group;
        return NULL;
    }
    if (x->ndim != 2 || w->ndim != 2)
        return "A or B not 2-D";
    int64_t shape[4] = {p->mm->N, p->mm->K, 1, 1};
    memcpy(q->wdim, shape, sizeof shape);
    q->group = 1;
    q->fc = true;
    return NULL;
}

/* The zero point x's codes will carry after this pass: that of the QOperator layer
 * that makes them (through ops that only move codes), when it is lowered too. */
static bool producer_zp(const Tensor *x, int32_t *zp)
{
    const Node *p = x->producer;
    while (p && (op_info[p->op].flags & OPF_CODES) && p->nin > 0 && p->in[0])
        p = p->in[0]->producer;
    if (!p || (p->op != OP_QLINEAR_CONV && p->op != OP_QLINEAR_MATMUL) || !p->priv)
        return false;
    *zp = ((const QLinearParams *)p->priv)->yzp_c;
    return true;
}

/* The codes x's kernels read: typed already (an earlier layer's output) or plain. */
static const char *input_type(Graph *g, Qop *q, const QType **t)
{
    const QLinearParams *p = q->p;
    const Tensor *x = q->n->in[p->x];
    int32_t zp;
    q->xzp = p->xzp_c ? p->xzp_c[0] : 0;
    if (q->dyn_zp)
        q->xzp = 0; /* raw codes: the zero point is subtracted after the QConv */
    else if (producer_zp(x, &zp) && zp != q->xzp)
        return "x zero point differs from the y zero point of the layer that makes x";
    if (x->q) {
        if (x->layout != LAYOUT_DENSE || x->q->zp != q->xzp || x->q->bits != 8)
            return "input codes typed with another zero point or width";
        *t = x->q;
        return NULL;
    }
    int32_t lo, hi;
    qtype_range(8, p->tx == DT_I8, false, &lo, &hi);
    float s = p->xs_c ? p->xs_c[0] : 1.0f;
    *t = qtype_new(g, lo, hi, false, q->xzp, 1, &s);
    return NULL;
}

/* float32(x_scale * w_scale[m] / y_scale), each step rounded as ONNX Runtime does. */
static float *multipliers(Graph *g, const QLinearParams *p, int64_t M)
{
    float *S = arena_alloc(&g->arena, sizeof(float) * (size_t)M);
    for (int64_t m = 0; m < M; m++) {
        float xw = p->xs_c[0] * p->ws_c[p->nws > 1 ? m : 0];
        S[m] = xw / p->ys_c[0];
    }
    return S;
}

/* y's codes: its dtype's range, zero point and scale; the requant quantizer. */
static void out_spec(Graph *g, const QLinearParams *p, QuantSpec *s)
{
    int32_t lo, hi;
    qtype_range(8, p->ty == DT_I8, false, &lo, &hi);
    s->form = QF_REQUANT;
    s->round = QROUND_HALF_EVEN;
    s->t = qtype_new(g, lo, hi, false, p->yzp_c, 1, p->ys_c);
}

/* QConv's epilogue: requantized codes, or the accumulator itself. */
static void epilogue(Rewrite *r, Qop *q, Node *qc)
{
    Graph *g = r->g;
    const QLinearParams *p = q->p;
    int64_t M = q->wdim[0];
    if (!p->requant) {
        ir_attr_set_int(g, qc, "out_acc", 1);
        return;
    }
    QuantSpec s;
    out_spec(g, p, &s);
    qc->in[2] = rw_const(r, "mult", DT_F32, 1, &M, multipliers(g, p, M));
    qc->in[3] = p->bias >= 0 && slot(q->n, p->bias) ? q->n->in[p->bias] : NULL;
    quant_spec_write(g, qc, "out_", &s);
}

/* ts[m][oh][ow]: the sum of filter m's codes over the taps inside the image at output
 * pixel (oh, ow) (matmul: the column sums, one per output channel). */
static int32_t *tap_sums(Graph *g, const Qop *q)
{
    const Spatial *s = &q->p->geom.sp;
    int64_t M = q->wdim[0], Cg = q->wdim[1], KH = q->wdim[2], KW = q->wdim[3];
    int64_t OH = q->fc ? 1 : s->out[1], OW = q->fc ? 1 : s->out[2];
    int32_t *ts = arena_alloc(&g->arena, sizeof(int32_t) * (size_t)(M * OH * OW));
    for (int64_t m = 0; m < M; m++)
        for (int64_t o = 0; o < OH * OW; o++)
            for (int64_t k = 0; k < Cg * KH * KW; k++) {
                int64_t kh = k / KW % KH, kw = k % KW;
                int64_t ih = q->fc ? 0 : o / OW * s->stride[1] - s->pad0[1] + kh * s->dil[1];
                int64_t iw = q->fc ? 0 : o % OW * s->stride[2] - s->pad0[2] + kw * s->dil[2];
                if (q->fc || (ih >= 0 && ih < s->in[1] && iw >= 0 && iw < s->in[2]))
                    ts[m * OH * OW + o] += q->code[m * Cg * KH * KW + k];
            }
    return ts;
}

/* Y = raw - int32(x_zp) * ts, the run-time zero point's share of the accumulators. */
static void subtract_zp(Rewrite *r, Qop *q, Tensor *raw)
{
    Graph *g = r->g;
    Node *n = q->n;
    int64_t M = q->wdim[0];
    int32_t *ts = tap_sums(g, q);
    int64_t dim[3] = {M, q->fc ? 0 : q->p->geom.sp.out[1], q->fc ? 0 : q->p->geom.sp.out[2]};
    Node *c = rw_node(r, n, OP_CAST, "zp32", 1, 1);
    c->in[0] = n->in[q->p->xzp];
    c->out[0] = rw_fresh(r, n, "zp32");
    ir_attr_set_int(g, c, "to", 6); /* TensorProto INT32 */
    Node *mul = rw_node(r, n, OP_MUL, "zpts", 2, 1);
    mul->in[0] = c->out[0];
    mul->in[1] = rw_const(r, "ts", DT_I32, q->fc ? 1 : 3, dim, ts);
    mul->out[0] = rw_fresh(r, n, "zpts");
    Node *sb = rw_node(r, n, OP_SUB, "acc", 2, 1);
    sb->in[0] = raw;
    sb->in[1] = mul->out[0];
    sb->out[0] = n->out[0];
}

/* PackAct -> QConv in the node's place, writing its output. */
static void emit(Rewrite *r, Qop *q, const QType *a)
{
    Graph *g = r->g;
    Node *n = q->n;
    Node *pk = rw_node(r, n, OP_PACK_ACT, "pack", 1, 1);
    pk->in[0] = n->in[q->p->x];
    pk->out[0] = rw_fresh(r, n, "packed");
    ir_attr_set_str(g, pk, "layout", layout_info[qkernel_info[QK_INT8].layout].name);
    ir_attr_set_int(g, pk, "group", q->group);
    ir_attr_set_int(g, pk, "bits", 8);
    ir_attr_set_int(g, pk, "zero_point", q->xzp);
    Node *qc = rw_node(r, n, OP_QCONV, "q", 4, 1);
    qc->in[0] = pk->out[0];
    qc->in[1] = rw_const(r, "wq", DT_I8, 4, q->wdim, q->code);
    qc->out[0] = q->dyn_zp ? rw_fresh(r, n, "raw") : n->out[0];
    epilogue(r, q, qc);
    ir_attr_set_str(g, qc, "kernel", qkernel_info[QK_INT8].name);
    ir_attr_set_int(g, qc, "abits", a->bits);
    ir_attr_set_int(g, qc, "wbits", q->wbits);
    ir_attr_set_int(g, qc, "group", q->group);
    static const char *geo[] = {"pads", "strides", "dilations", "auto_pad", "kernel_shape"};
    for (int i = 0; i < 5 && !q->fc; i++)
        ir_attr_copy(g, qc, n, geo[i]);
    if (q->fc)
        ir_attr_set_int(g, qc, "fc", 1);
    if (q->dyn_zp)
        subtract_zp(r, q, qc->out[0]);
    rw_drop(r, n);
}

/* Why n stays on the plain integer loops, or NULL once it is lowered. */
static const char *lower(Rewrite *r, Node *n)
{
    Qop q = {.n = n, .p = n->priv};
    const QType *a = NULL;
    const char *why;
    int64_t bound;
    if (!q.p)
        return "not inferred";
    if ((why = constants(&q)) || (why = geometry(&q)) || (why = weights(r->g, &q)) ||
        (why = input_type(r->g, &q, &a)))
        return why;
    if ((why = quant_acc_bound(a, q.wbits, q.wdim[1] * q.wdim[2] * q.wdim[3], &bound)))
        return why;
    emit(r, &q, a);
    return NULL;
}

Status pass_quant_qop(Graph *g, const PassOptions *opt, Diag *d)
{
    (void)opt;
    Rewrite r;
    rw_init(&r, g);
    for (int i = 0; i < r.n0; i++) {
        Node *n = g->node[i];
        if (is_qop(n))
            n->why_float = lower(&r, n);
    }
    return rw_finish(&r, d);
}
