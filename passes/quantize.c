/*
 * quantize.c: lowers each Conv, Gemm and MatMul whose input is quantized to an
 * integer wrpnc::QConv (ir/ops/qconv.c).
 *
 * After quant_canon and quant_sink, a layer's input is quantized exactly when it
 * is read from a Dequant: its codes, with their QType, are the Dequant's input.
 * The weights become integer codes with a scale per output channel: with --wbits,
 * by the WRPN weight quantizer (binary: sign and per-channel mean |w|); otherwise
 * they must already lie on an integer grid per channel (a model's weight quantizer,
 * folded into the constant by shape inference). Then
 *   Conv          -> PackAct -> QConv (Y = acc * (s_a * s_w[m]) + B)
 *   Gemm / MatMul -> PackAct -> QConv as a 1x1 convolution of the (N, K) codes, or,
 *                    when they are a flattened (N, C, H, W), as an H x W convolution
 *                    of those (the weight rows are already in (C, H, W) order); its
 *                    output is (N, M) (attribute fc)
 * The kernel family is XNOR for bipolar codes with +-1 weights, else the cost
 * model's (quant_pick_kernel) or --kernel's. A layer that stays float records why
 * (Node.why_float, printed by `wrpnc info`); --require-integer makes that an error.
 */
#include "opparams.h"
#include "quant.h"
#include "quant_match.h"
#include "rewrite.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integer weight codes and a scale per output channel. */
typedef struct Wq {
    int8_t *code; /* M rows of K, in the arena */
    double *scale;
    int bits;
    bool pm1; /* every code is +1 or -1 */
} Wq;

/* WRPN codes (wrpn.md section 1) of float weights W (M rows of K). */
static void wrpn_weights(Graph *g, int k, const float *W, int64_t M, int64_t K, Wq *w)
{
    if (k == 1) {
        float *alpha = arena_alloc(&g->arena, sizeof(float) * (size_t)M);
        quant_wrpn_binary_ref(W, M, K, w->code, alpha);
        for (int64_t m = 0; m < M; m++)
            w->scale[m] = alpha[m];
    } else
        for (int64_t m = 0; m < M; m++) {
            for (int64_t e = 0; e < K; e++)
                w->code[m * K + e] = (int8_t)quant_wrpn_weight_code_ref(W[m * K + e], k);
            w->scale[m] = 1.0 / ((1 << (k - 1)) - 1);
        }
    w->bits = k;
}

/* Row r is s * q with integers |q| <= qmax, s = max|w| / qmax: true and the codes if so. */
static bool grid_row(const float *r, int64_t K, int qmax, int8_t *q, double *s)
{
    float a = 0;
    for (int64_t e = 0; e < K; e++)
        a = fabsf(r[e]) > a ? fabsf(r[e]) : a;
    *s = a > 0 ? (double)a / qmax : 1.0;
    for (int64_t e = 0; e < K; e++) {
        double v = r[e] / *s, n = nearbyint(v);
        if (fabs(v - n) > 1e-3 || fabs((double)r[e] - n * *s) > 1e-6 * a)
            return false;
        q[e] = (int8_t)n;
    }
    return true;
}

/* Weights already on an integer grid per channel: the smallest code range that fits. */
static bool grid_weights(const float *W, int64_t M, int64_t K, Wq *w)
{
    int need = 1;
    for (int64_t m = 0; m < M; m++) {
        int q = 1;
        while (q <= 127 && !grid_row(W + m * K, K, q, w->code + m * K, &w->scale[m]))
            q++;
        if (q > 127)
            return false;
        need = q > need ? q : need;
    }
    w->bits = 2;
    while ((1 << (w->bits - 1)) - 1 < need)
        w->bits++;
    return true;
}

/* Codes of float weights W, M rows of K: WRPN (--wbits) or an existing grid. */
static const char *weights_of(Graph *g, const PassOptions *opt, const float *W, int64_t M,
                              int64_t K, Wq *w)
{
    for (int64_t i = 0; i < M * K; i++)
        if (!isfinite(W[i]))
            return "weights not finite";
    w->code = arena_alloc(&g->arena, (size_t)(M * K));
    w->scale = arena_alloc(&g->arena, sizeof(double) * (size_t)M);
    if (opt->wbits)
        wrpn_weights(g, opt->wbits, W, M, K, w);
    else if (!grid_weights(W, M, K, w))
        return "weights not on an integer grid of at most 8 bits per channel";
    w->pm1 = true;
    for (int64_t i = 0; i < M * K && w->pm1; i++)
        w->pm1 = w->code[i] == 1 || w->code[i] == -1;
    return NULL;
}

/* A layer to lower: its codes, their geometry, weights and epilogue. */
typedef struct Layer {
    Node *n;
    Tensor *codes;   /* what QConv reads (before packing) */
    int64_t wdim[4]; /* weight shape (M, C/group, kH, kW) */
    int64_t group;
    Wq w;
    float alpha;     /* Gemm's alpha */
    Tensor *bias;    /* or NULL */
    bool fc;         /* Gemm / MatMul: output (N, M) */
} Layer;

/* The codes a layer reads: its input is a Dequant's output. */
static const char *input_codes(Node *n, Tensor **codes)
{
    const Node *p = n->in[0]->producer;
    if (!p || p->op != OP_DEQUANT)
        return "input not quantized";
    const QType *q = p->in[0]->q;
    if (q->nscale > 1)
        return "activation scale per channel";
    *codes = p->in[0];
    return NULL;
}

static const char *conv_layer(Graph *g, const PassOptions *opt, Layer *L)
{
    const Tensor *t = L->n->in[1];
    const ConvParams *cp = L->n->priv;
    if (!t->data || t->dtype != DT_F32 || t->ndim != 4 || ir_tensor_numel(t) == 0)
        return "weights not a constant float32 4-D tensor";
    memcpy(L->wdim, t->dim, sizeof L->wdim);
    L->group = cp->group;
    L->alpha = 1.0f;
    L->bias = L->n->nin > 2 ? L->n->in[2] : NULL;
    return weights_of(g, opt, t->data, t->dim[0], ir_tensor_numel(t) / t->dim[0], &L->w);
}

/* Gemm / MatMul: the weight as rows; the codes 2-D, or the 4-D ones they flatten. */
static const char *fc_layer(Graph *g, const PassOptions *opt, Layer *L)
{
    float *W, *bias;
    int64_t M, K;
    if (!qm_fc(g, L->n, &W, &M, &K, &L->alpha, &bias))
        return "weights not a constant float32 matrix (or a bias that is not per column)";
    const Node *f = L->codes->producer;
    const Tensor *x4 = f && (f->op == OP_RESHAPE || f->op == OP_FLATTEN) ? f->in[0] : NULL;
    int64_t shape[4] = {M, K, 1, 1};
    if (x4 && x4->q && x4->ndim == 4 && x4->layout == LAYOUT_DENSE &&
        x4->dim[1] * x4->dim[2] * x4->dim[3] == K && x4->dim[0] == L->codes->dim[0]) {
        L->codes = (Tensor *)x4; /* kernel H x W over the unflattened codes */
        shape[1] = x4->dim[1], shape[2] = x4->dim[2], shape[3] = x4->dim[3];
    }
    memcpy(L->wdim, shape, sizeof shape);
    L->group = 1;
    L->fc = true;
    L->bias = bias ? pass_const(g, "bias", DT_F32, 1, &M, bias) : NULL;
    return weights_of(g, opt, W, M, K, &L->w);
}

static QKernel pick(const PassOptions *opt, const QType *a, const Wq *w)
{
    if (a->bipolar && w->pm1)
        return QK_XNOR;
    if (opt->kernel)
        return (QKernel)(opt->kernel - 1);
    return quant_pick_kernel(a->bits, w->bits, opt->bitserial_max);
}

/* PackAct + QConv (+ Reshape) before the layer, writing its output. */
static void emit_layer(Rewrite *r, const PassOptions *opt, Layer *L)
{
    Graph *g = r->g;
    Node *n = L->n;
    const QType *a = L->codes->q;
    QKernel k = pick(opt, a, &L->w);
    int64_t M = L->wdim[0];
    Node *pk = rw_node(r, n, OP_PACK_ACT, "pack", 1, 1);
    pk->in[0] = L->codes;
    pk->out[0] = rw_fresh(r, n, "packed");
    ir_attr_set_str(g, pk, "layout", layout_info[qkernel_info[k].layout].name);
    ir_attr_set_int(g, pk, "group", L->group);
    Node *qc = rw_node(r, n, OP_QCONV, "q", 4, 1);
    float *S = arena_alloc(&g->arena, sizeof(float) * (size_t)M);
    double sa = a->divisor ? 1.0 / a->divisor[0] : a->scale[0];
    for (int64_t m = 0; m < M; m++)
        S[m] = (float)(sa * L->w.scale[m] * L->alpha);
    qc->in[0] = pk->out[0];
    qc->in[1] = rw_const(r, "wq", DT_I8, 4, L->wdim, L->w.code);
    qc->in[2] = rw_const(r, "scale", DT_F32, 1, &M, S);
    qc->in[3] = L->bias;
    qc->out[0] = n->out[0];
    ir_attr_set_str(g, qc, "kernel", qkernel_info[k].name);
    ir_attr_set_int(g, qc, "abits", a->bits);
    ir_attr_set_int(g, qc, "wbits", k == QK_XNOR ? 1 : L->w.bits);
    ir_attr_set_int(g, qc, "group", L->group);
    static const char *geo[] = {"pads", "strides", "dilations", "auto_pad"};
    for (int i = 0; i < 4 && !L->fc; i++)
        ir_attr_copy(g, qc, n, geo[i]);
    if (L->fc)
        ir_attr_set_int(g, qc, "fc", 1);
    rw_drop(r, n);
}

/* Why layer n stays float, or NULL once it is lowered. */
static const char *lower(Rewrite *r, const PassOptions *opt, Node *n)
{
    Layer L = {.n = n};
    const char *why = NULL;
    if (!qm_eligible(r->g, opt, n, &why))
        return why;
    if ((why = input_codes(n, &L.codes)))
        return why;
    why = n->op == OP_CONV ? conv_layer(r->g, opt, &L) : fc_layer(r->g, opt, &L);
    if (why)
        return why;
    int64_t bound, K = L.wdim[1] * L.wdim[2] * L.wdim[3];
    if ((why = quant_acc_bound(L.codes->q, L.w.pm1 && L.codes->q->bipolar ? 1 : L.w.bits, K,
                               &bound)))
        return why;
    emit_layer(r, opt, &L);
    return NULL;
}

/* --require-integer: every layer left in float, with its reason, in one error. */
static Status require_integer(Graph *g, Diag *d)
{
    char msg[900] = "";
    size_t k = 0;
    int count = 0;
    for (int i = 0; i < g->nnode; i++) {
        const Node *n = g->node[i];
        if (!n->why_float)
            continue;
        count++;
        if (k < sizeof msg - 1)
            k += (size_t)snprintf(msg + k, sizeof msg - k, "\n  node '%s' (%s): %s", n->name,
                                  op_name(n), n->why_float);
    }
    if (!count)
        return WR_OK;
    return diag_error(d, WR_EUNSUPPORTED, "--require-integer: %d layer%s would stay float:%s",
                      count, count > 1 ? "s" : "", msg);
}

Status pass_quantize(Graph *g, const PassOptions *opt, Diag *d)
{
    PassOptions none = {0};
    opt = opt ? opt : &none;
    Rewrite r;
    rw_init(&r, g);
    for (int i = 0; i < r.n0; i++) {
        Node *n = g->node[i];
        if (n->op == OP_CONV || n->op == OP_GEMM || n->op == OP_MATMUL)
            n->why_float = lower(&r, opt, n);
    }
    WR_TRY(rw_finish(&r, d));
    return opt->require_integer ? require_integer(g, d) : WR_OK;
}
