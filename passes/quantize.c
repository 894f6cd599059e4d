/*
 * quantize.c: lowers quantized 2-D convolutions to wrpnc::QConv on integer codes.
 *
 * Two sources of quantization, one result (wrpn.md section 2):
 *  - a float model plus --wbits/--abits: each Relu feeding a quantizable Conv
 *    becomes ActQuant (the WRPN activation quantizer, codes and values), the
 *    Conv's weights become WRPN codes (binary: sign with per-channel alpha);
 *    the first conv and the last layer stay float unless --quantize-all;
 *  - a model carrying its quantization: Conv input from QONNX Quant/IntQuant
 *    (unsigned, zero point 0), QuantizeLinear [-> Clip] -> DequantizeLinear
 *    (zero point 0) or WRPN fake-quant arithmetic (quant_match.c), and weights
 *    that are (after constant folding of their Quant / DequantizeLinear / fake-quant
 *    arithmetic) an integer grid times a per-channel scale.
 * Codes flow through MaxPool, Flatten and Reshape (twins on the codes). Each lowered
 * Conv becomes PackAct -> QConv with Y = acc * (s_a * s_w[m]) + B; a Gemm / MatMul
 * becomes Reshape -> PackAct -> 1x1 QConv -> Reshape. A BatchNormalization reading a
 * QConv folds into its scale and bias; a QConv whose only reader is the next WRPN
 * quantizer writes that quantizer's codes directly, through integer thresholds.
 * Invariant: nodes stay in topological order; replaced nodes are removed.
 */
#include "opparams.h"
#include "passes.h"
#include "quant.h"
#include "quant_match.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct Ctx {
    Graph *g;
    const PassOptions *opt;
    int n0;               /* node count before the pass: new nodes come after */
    Node ***before;       /* per original node: nodes to insert before it */
    int *nbefore;
    bool *drop;           /* per original node: removed */
    Tensor **codes;       /* per original node (a quantizer): its ActQuant codes */
} Ctx;

/* Codes of the activation feeding a conv: tensor, scale, bits; bipolar: code 1 is +scale,
 * code 0 is -scale (the XNOR kernel), else value = code * scale. */
typedef struct ActSrc {
    Tensor *codes;
    double scale;
    int bits;
    bool bipolar;
} ActSrc;

/* ---- attributes of new nodes ---- */

static Attr *attr_add(Graph *g, Node *n, const char *name, AttrType t)
{
    Attr *a = arena_alloc(&g->arena, sizeof *a * (size_t)(n->nattr + 1));
    if (n->nattr)
        memcpy(a, n->attr, sizeof *a * (size_t)n->nattr);
    n->attr = a;
    a += n->nattr++;
    a->name = arena_strdup(&g->arena, name);
    a->type = t;
    return a;
}

static void attr_int(Graph *g, Node *n, const char *name, int64_t v)
{
    attr_add(g, n, name, ATTR_INT)->i = v;
}

static void attr_str(Graph *g, Node *n, const char *name, const char *v)
{
    attr_add(g, n, name, ATTR_STRING)->s = arena_strdup(&g->arena, v);
}

static void attr_copy(Graph *g, Node *dst, const Node *src, const char *name)
{
    const Attr *a = ir_attr_find(src, name);
    if (a)
        *attr_add(g, dst, name, a->type) = *a;
}

static Node *node_before(Ctx *c, const Node *at, int op, const char *name, int nin, int nout)
{
    Node *n = ir_node_new(c->g, op, arena_printf(&c->g->arena, "%s_%s", at->name, name), nin, nout);
    n->domain = op_info[op].domain;
    int k = at->id;
    c->before[k] = realloc(c->before[k], sizeof(Node *) * (size_t)(c->nbefore[k] + 1));
    WR_ASSERT(c->before[k]);
    c->before[k][c->nbefore[k]++] = n;
    return n;
}

/* ---- activations ---- */

/* ActQuant of x before quantizer q; returns its codes. With values (q's output), it
 * replaces q; without, q stays for its other readers (dead code when none). */
static Tensor *act_quant(Ctx *c, Node *q, Tensor *x, int bits, float scale, const Node *src,
                         Tensor *values)
{
    if (c->codes[q->id])
        return c->codes[q->id];
    Node *n = node_before(c, q, OP_ACT_QUANT, "codes", 1, 2);
    n->in[0] = x;
    n->out[0] = ir_tensor_fresh(c->g, arena_printf(&c->g->arena, "%s_codes", q->name));
    n->out[1] = values;
    attr_int(c->g, n, "bits", bits);
    if (scale > 0) {
        attr_add(c->g, n, "scale", ATTR_FLOAT)->f = scale;
        attr_copy(c->g, n, src, "narrow");
        attr_copy(c->g, n, src, "rounding_mode");
    }
    c->drop[q->id] = values != NULL;
    c->codes[q->id] = n->out[0];
    return n->out[0];
}

static bool const_scalar(const Tensor *t, float *v)
{
    if (!t || !t->data || ir_tensor_numel(t) != 1)
        return false;
    *v = (float)dtype_get_f64(t->dtype, t->data, 0);
    return true;
}

/* QONNX Quant/IntQuant: unsigned, zero point 0, scalar scale, <= 8 bits. */
static bool from_qonnx(Ctx *c, Node *p, ActSrc *a)
{
    const QonnxParams *qp = p->priv;
    float s, z;
    if (!const_scalar(p->in[1], &s) || !const_scalar(p->in[2], &z) || z != 0 || s <= 0 ||
        qp->is_signed || qp->bits > 8 || p->id >= c->n0)
        return false;
    a->bits = qp->bits;
    a->scale = s;
    a->codes = act_quant(c, p, p->in[0], qp->bits, s, p, p->out[0]);
    return true;
}

/* QuantizeLinear(uint8, zp 0) [-> Clip(0, 2^b - 1)] -> DequantizeLinear, same scale. */
static bool from_qdq(Ctx *c, Node *dq, ActSrc *a)
{
    float s, s2, lo = 0, hi = 255;
    Node *p = dq->in[0]->producer, *q = p;
    int clip = op_lookup("", "Clip");
    if (p && clip >= 0 && p->op == clip && p->nin >= 3 && p->in[0]->producer &&
        const_scalar(p->in[1], &lo) && const_scalar(p->in[2], &hi))
        q = p->in[0]->producer;
    if (!q || q->op != OP_QUANTIZE_LINEAR || q->out[0]->dtype != DT_U8 || lo != 0 ||
        !const_scalar(dq->in[1], &s) || !const_scalar(q->in[1], &s2) || s != s2 || s <= 0)
        return false;
    for (int i = 2; i < 3; i++) {
        float z;
        if ((q->nin > i && q->in[i] && (!const_scalar(q->in[i], &z) || z != 0)) ||
            (dq->nin > i && dq->in[i] && (!const_scalar(dq->in[i], &z) || z != 0)))
            return false;
    }
    int bits = 1;
    while (bits < 8 && (float)((1 << bits) - 1) < hi)
        bits++;
    if ((float)((1 << bits) - 1) != hi)
        return false;
    a->bits = bits;
    a->scale = s;
    a->codes = act_quant(c, dq, q->in[0], bits, s, q, dq->out[0]);
    return true;
}

static bool find_act(Ctx *c, Tensor *x, ActSrc *a);

/* Codes through p (qm_commutes: MaxPool, Flatten, Reshape): p's twin on the codes of its
 * input, so that pooling does not stop lowering (max commutes with a monotone quantizer). */
static bool through(Ctx *c, Node *p, ActSrc *a)
{
    if (!find_act(c, p->in[0], a))
        return false;
    if (!c->codes[p->id]) {
        Node *n = node_before(c, p, p->op, "codes", p->nin, 1);
        memcpy(n->in, p->in, sizeof(Tensor *) * (size_t)p->nin);
        n->in[0] = a->codes;
        n->out[0] = ir_tensor_fresh(c->g, arena_printf(&c->g->arena, "%s_codes", p->name));
        n->attr = p->attr;
        n->nattr = p->nattr;
        n->opset = p->opset;
        n->domain = p->domain;
        c->codes[p->id] = n->out[0];
    }
    a->codes = c->codes[p->id];
    return true;
}

/* WRPN activation quantizer written as arithmetic: codes only, the float chain stays. */
static bool from_fake(Ctx *c, Node *tail, ActSrc *a)
{
    Tensor *x;
    if (!qm_fake_act(tail, &x, &a->bits))
        return false;
    a->scale = 1.0 / ((1 << a->bits) - 1);
    a->codes = act_quant(c, tail, x, a->bits, 0, tail, NULL);
    return true;
}

/* QONNX BipolarQuant (X >= 0 ? s : -s, scalar s > 0): 1-bit codes for the XNOR kernel. */
static bool from_bipolar(Ctx *c, Node *p, ActSrc *a)
{
    float s;
    if (!const_scalar(p->in[1], &s) || !(s > 0) || !isfinite(s))
        return false;
    a->bits = 1;
    a->scale = s;
    a->bipolar = true;
    bool fresh = !c->codes[p->id];
    a->codes = act_quant(c, p, p->in[0], 1, s, p, p->out[0]);
    if (fresh)
        attr_int(c->g, c->before[p->id][c->nbefore[p->id] - 1], "bipolar", 1);
    return true;
}

/* The quantized activation feeding a conv, or false to keep the conv float. */
static bool find_act(Ctx *c, Tensor *x, ActSrc *a)
{
    Node *p = x->producer;
    a->bipolar = false;
    if (!p || p->id >= c->n0)
        return false;
    if (qm_commutes(p))
        return through(c, p, a);
    if (c->opt->abits) {
        if (p->op != op_lookup("", "Relu"))
            return false;
        a->bits = c->opt->abits;
        a->scale = 1.0 / ((1 << a->bits) - 1);
        a->codes = act_quant(c, p, p->in[0], a->bits, 0, p, p->out[0]);
        return true;
    }
    if (from_fake(c, p, a))
        return true;
    if (p->op == OP_QUANT || p->op == OP_INT_QUANT)
        return from_qonnx(c, p, a);
    if (p->op == OP_DEQUANTIZE_LINEAR)
        return from_qdq(c, p, a);
    if (p->op == OP_BIPOLAR_QUANT)
        return from_bipolar(c, p, a);
    return false;
}

/* ---- weights ---- */

/* Integer weight codes and a scale per output channel. */
typedef struct Wq {
    int8_t *code; /* (M, C/g, kH, kW), in the arena */
    double *scale;
    int bits;
} Wq;

/* WRPN codes (wrpn.md section 1) of float weights W (M rows of K). */
static void wrpn_weights(Ctx *c, const float *W, int64_t M, int64_t K, Wq *w)
{
    int k = c->opt->wbits;
    if (k == 1) {
        float *alpha = arena_alloc(&c->g->arena, sizeof(float) * (size_t)M);
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

/* Weights that are already an integer grid per channel (fake-quantized, or
 * folded from Quant / DequantizeLinear): the smallest code range that fits. */
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
static bool weights_of(Ctx *c, const float *W, int64_t M, int64_t K, Wq *w)
{
    for (int64_t i = 0; i < M * K; i++)
        if (!isfinite(W[i]))
            return false; /* NaN or infinite weights have no integer code: keep the layer float */
    w->code = arena_alloc(&c->g->arena, (size_t)(M * K));
    w->scale = arena_alloc(&c->g->arena, sizeof(double) * (size_t)M);
    if (c->opt->wbits) {
        wrpn_weights(c, W, M, K, w);
        return true;
    }
    return grid_weights(W, M, K, w);
}

static bool find_weights(Ctx *c, Node *conv, Wq *w)
{
    const Tensor *t = conv->in[1];
    if (!t->data || t->dtype != DT_F32 || t->ndim != 4 || ir_tensor_numel(t) == 0)
        return false; /* an empty filter bank has nothing to quantize */
    return weights_of(c, t->data, t->dim[0], ir_tensor_numel(t) / t->dim[0], w);
}

/* ---- the rewrite ---- */

static Tensor *const_tensor(Ctx *c, const char *hint, DType dt, int ndim, const int64_t *dim,
                            const void *data)
{
    Tensor *t = ir_tensor_fresh(c->g, hint);
    ir_tensor_set_shape(t, dt, ndim, dim);
    memcpy(ir_tensor_alloc_data(c->g, t), data, (size_t)ir_tensor_bytes(t));
    return t;
}

static Tensor *const_tensor_g(Graph *g, const char *hint, int64_t n, const float *v)
{
    Ctx c = {.g = g};
    return const_tensor(&c, hint, DT_F32, 1, &n, v);
}

/* PackAct + QConv before node at: a's codes (N, C, H, W) times weights w of shape wdim,
 * in groups, plus bias B (or NULL), into y. */
static Node *qconv_at(Ctx *c, Node *at, const ActSrc *a, const Wq *w, const int64_t *wdim,
                      int64_t group, Tensor *B, Tensor *y)
{
    Graph *g = c->g;
    int k = c->opt->kernel ? c->opt->kernel - 1 : (int)quant_pick_kernel(a->bits, w->bits);
    const char *layout = a->bipolar ? "xnor" : k == QK_INT8 ? "int8" : "bitserial";
    Node *pk = node_before(c, at, OP_PACK_ACT, "pack", 1, 1);
    pk->in[0] = a->codes;
    pk->out[0] = ir_tensor_fresh(g, arena_printf(&g->arena, "%s_packed", at->name));
    attr_int(g, pk, "bits", a->bits);
    attr_int(g, pk, "group", group);
    attr_str(g, pk, "layout", layout);
    Node *qc = node_before(c, at, OP_QCONV, "q", 4, 1);
    float *scale = arena_alloc(&g->arena, sizeof(float) * (size_t)wdim[0]);
    for (int64_t m = 0; m < wdim[0]; m++)
        scale[m] = (float)(a->scale * w->scale[m]);
    qc->in[0] = pk->out[0];
    qc->in[1] = const_tensor(c, "wq", DT_I8, 4, wdim, w->code);
    qc->in[2] = const_tensor(c, "scale", DT_F32, 1, wdim, scale);
    qc->in[3] = B;
    qc->out[0] = y;
    attr_int(g, qc, "abits", a->bits);
    attr_int(g, qc, "wbits", a->bipolar ? 1 : w->bits);
    attr_int(g, qc, "group", group);
    attr_str(g, qc, "layout", layout);
    return qc;
}

/* Bipolar activations need weights of +-1 codes (the XNOR kernel has no zero). */
static bool fits(const ActSrc *a, const Wq *w, int64_t n)
{
    for (int64_t i = 0; a->bipolar && i < n; i++)
        if (w->code[i] != 1 && w->code[i] != -1)
            return false;
    return true;
}

/* Conv -> PackAct + QConv writing the conv's output tensor. */
static void lower(Ctx *c, Node *conv, const ActSrc *a, const Wq *w)
{
    const ConvParams *cp = conv->priv;
    if (!fits(a, w, ir_tensor_numel(conv->in[1])))
        return; /* the conv stays float, reading the quantizer's values */
    Node *qc = qconv_at(c, conv, a, w, conv->in[1]->dim, cp->group,
                        conv->nin > 2 ? conv->in[2] : NULL, conv->out[0]);
    static const char *geo[] = {"pads", "strides", "dilations", "auto_pad"};
    for (int i = 0; i < 4; i++)
        attr_copy(c->g, qc, conv, geo[i]);
    c->drop[conv->id] = true;
}

/* Reshape of x to shape dim (ndim values) before node at, writing y (fresh if NULL). */
static Tensor *reshape_at(Ctx *c, Node *at, Tensor *x, int ndim, const int64_t *dim, Tensor *y)
{
    Node *r = node_before(c, at, OP_RESHAPE, ndim == 4 ? "as4d" : "as2d", 2, 1);
    int64_t n = ndim;
    r->in[0] = x;
    r->in[1] = const_tensor(c, "shape", DT_I64, 1, &n, dim);
    r->out[0] = y ? y : ir_tensor_fresh(c->g, arena_printf(&c->g->arena, "%s_4d", at->name));
    return r->out[0];
}

/* Gemm / MatMul (N, K) x (K, M) -> a 1x1 QConv over N images of 1x1 pixel, K channels,
 * between two Reshapes (views): the same kernels, no new op. */
static void lower_fc(Ctx *c, Node *fc)
{
    float *W, *bias, alpha;
    int64_t M, K;
    Wq w;
    ActSrc a;
    if (c->g->opset < 5 || !qm_fc(c->g, fc, &W, &M, &K, &alpha, &bias) ||
        !weights_of(c, W, M, K, &w) || !find_act(c, fc->in[0], &a) || !fits(&a, &w, M * K))
        return;
    for (int64_t m = 0; m < M; m++)
        w.scale[m] *= alpha;
    int64_t N = fc->in[0]->dim[0], xd[4] = {N, K, 1, 1}, wd[4] = {M, K, 1, 1}, yd[2] = {N, M};
    ActSrc a4 = {reshape_at(c, fc, a.codes, 4, xd, NULL), a.scale, a.bits, a.bipolar};
    Tensor *B = bias ? const_tensor(c, "bias", DT_F32, 1, &M, bias) : NULL;
    Tensor *y4 = ir_tensor_fresh(c->g, arena_printf(&c->g->arena, "%s_y4d", fc->name));
    qconv_at(c, fc, &a4, &w, wd, 1, B, y4);
    reshape_at(c, fc, y4, 2, yd, fc->out[0]);
    c->drop[fc->id] = true;
}

static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* WRPN policy: first conv and last layer stay float unless --quantize-all. */
static bool eligible(Ctx *c, const Node *n, int first, int last)
{
    bool conv = n->op == OP_CONV && n->in[0]->ndim == 4;
    if ((!conv && n->op != OP_GEMM && n->op != OP_MATMUL) || in_list(c->opt->keep_fp32, n->name))
        return false;
    return !c->opt->wbits || c->opt->quantize_all || (n->id != first && n->id != last);
}

/* Puts inserted nodes before their anchors, drops replaced ones, infers the new ones. */
static Status rebuild(Ctx *c, Diag *d)
{
    Graph *g = c->g;
    int total = g->nnode, k = 0;
    if (total <= 0)
        return WR_OK; /* a graph of no nodes (outputs are inputs or constants) */
    Node **old = malloc(sizeof(Node *) * (size_t)total);
    WR_ASSERT(old);
    memcpy(old, g->node, sizeof(Node *) * (size_t)total);
    for (int i = 0; i < c->n0; i++) {
        for (int j = 0; j < c->nbefore[i]; j++)
            g->node[k++] = c->before[i][j];
        if (!c->drop[i])
            g->node[k++] = old[i];
    }
    g->nnode = k;
    free(old);
    ir_graph_relink(g);
    for (int i = 0; i < c->n0; i++) /* in graph order: each sees its inputs' shapes */
        for (int j = 0; j < c->nbefore[i]; j++)
            WR_TRY(op_info[c->before[i][j]->op].infer(g, c->before[i][j], d));
    ir_graph_remove_dead(g); /* float chains that only fed lowered layers */
    for (int i = 0; i < g->nnode; i++) {
        Node *n = g->node[i];
        if (n->op == OP_ACT_QUANT && n->out[1] && n->out[1]->nuse == 0 &&
            n->out[1]->output_index < 0)
            n->out[1] = NULL; /* values nobody reads */
    }
    return WR_OK;
}

/* Removes node at position i (not a reader of anything still read). */
static void remove_at(Graph *g, int i)
{
    memmove(g->node + i, g->node + i + 1, sizeof(Node *) * (size_t)(g->nnode - i - 1));
    g->nnode--;
    ir_graph_relink(g);
}

/* The reader of t when it has exactly one (a node after position i), else NULL. */
static Node *sole_reader(Graph *g, const Tensor *t, int i, int *at)
{
    if (t->nuse != 1 || t->output_index >= 0)
        return NULL;
    for (int j = i + 1; j < g->nnode; j++)
        for (int k = 0; k < g->node[j]->nin; k++)
            if (g->node[j]->in[k] == t) {
                *at = j;
                return g->node[j];
            }
    return NULL;
}

/* QConv read only by a WRPN ActQuant whose values nobody reads: the quantizer folds
 * into per-channel integer thresholds (wrpn.md section 3), and QConv writes the codes
 * the next PackAct reads. Bit-exact by construction (see op_qconv_infer). */
static Status fold_thresholds(Graph *g, Diag *d)
{
    for (int i = 0; i < g->nnode; i++) {
        Node *n = g->node[i], *c;
        int at;
        if (n->op != OP_QCONV || n->out[0]->dtype != DT_F32 ||
            !(c = sole_reader(g, n->out[0], i, &at)) || c->op != OP_ACT_QUANT ||
            (c->nout > 1 && c->out[1]) || ir_attr_find(c, "scale"))
            continue;
        attr_int(g, n, "out_bits", ir_attr_int(c, "bits", 1));
        n->out[0] = c->out[0];
        remove_at(g, at);
        WR_TRY(op_info[n->op].infer(g, n, d));
    }
    return WR_OK;
}

/* A BatchNormalization reading only a QConv's float output folds into the QConv's scale
 * and bias (y = acc * S' + B', as pass_fold_bn does for Conv), so that the next
 * quantizer can fold into thresholds. Off with no_fuse. */
static Status absorb_bn(Graph *g, const PassOptions *opt, Diag *d)
{
    for (int i = 0; i < g->nnode && !opt->no_fuse; i++) {
        Node *n = g->node[i], *bn;
        int at;
        if (n->op != OP_QCONV || n->out[0]->dtype != DT_F32 ||
            !(bn = sole_reader(g, n->out[0], i, &at)))
            continue;
        int64_t M = n->in[1]->dim[0];
        double *s = arena_alloc(&g->arena, sizeof(double) * (size_t)(2 * M)), *sh = s + M;
        if (!qm_bn_affine(bn, M, s, sh))
            continue;
        const float *S = n->in[2]->data, *B = n->in[3] ? n->in[3]->data : NULL;
        float *S2 = arena_alloc(&g->arena, sizeof(float) * (size_t)(2 * M)), *B2 = S2 + M;
        for (int64_t m = 0; m < M; m++) {
            S2[m] = (float)(S[m] * s[m]);
            B2[m] = (float)((B ? B[m] : 0.0f) * s[m] + sh[m]);
        }
        ir_node_set_input(n, 2, const_tensor_g(g, "scale", M, S2));
        ir_node_set_input(n, 3, const_tensor_g(g, "bias", M, B2));
        n->out[0] = bn->out[0];
        remove_at(g, at);
        WR_TRY(op_info[n->op].infer(g, n, d));
    }
    return WR_OK;
}

static void ctx_free(Ctx *c)
{
    for (int i = 0; i < c->n0; i++)
        free(c->before[i]);
    free(c->before);
    free(c->nbefore);
    free(c->drop);
    free(c->codes);
}

/* Lowers every eligible Conv, Gemm and MatMul, in graph order. */
static void lower_all(Ctx *c)
{
    Graph *g = c->g;
    int first = -1, last = -1;
    for (int i = 0; i < g->nnode; i++) {
        int op = g->node[i]->op;
        if (op == OP_CONV || op == OP_GEMM || op == OP_MATMUL)
            last = i;
        if (op == OP_CONV && first < 0)
            first = i;
    }
    for (int i = 0; i < c->n0; i++) {
        Node *cv = g->node[i];
        ActSrc a;
        Wq w;
        if (!eligible(c, cv, first, last))
            continue;
        if (cv->op != OP_CONV)
            lower_fc(c, cv);
        else if (find_weights(c, cv, &w) && find_act(c, cv->in[0], &a))
            lower(c, cv, &a, &w);
    }
}

Status pass_quantize(Graph *g, const PassOptions *opt, Diag *d)
{
    PassOptions none = {0};
    opt = opt ? opt : &none;
    if ((opt->wbits != 0) != (opt->abits != 0))
        return diag_error(d, WR_EUSAGE, "--wbits and --abits go together");
    Ctx c = {.g = g, .opt = opt, .n0 = g->nnode};
    size_t n = (size_t)g->nnode + 1;
    c.before = calloc(n, sizeof *c.before);
    c.nbefore = calloc(n, sizeof *c.nbefore);
    c.drop = calloc(n, sizeof *c.drop);
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
    c.codes = calloc(n, sizeof *c.codes);
    WR_ASSERT(c.before && c.nbefore && c.drop && c.codes);
    lower_all(&c);
    Status s = rebuild(&c, d);
    if (s == WR_OK)
        s = absorb_bn(g, opt, d);
    if (s == WR_OK)
        s = fold_thresholds(g, d);
    ctx_free(&c);
    return s;
}
