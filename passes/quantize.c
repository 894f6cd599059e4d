/*
 * quantize.c: lowers quantized 2-D convolutions to wrpnc::QConv on integer codes.
 *
 * Two sources of quantization, one result (wrpn.md section 2):
 *  - a float model plus --wbits/--abits: each Relu feeding a quantizable Conv
 *    becomes ActQuant (the WRPN activation quantizer, codes and values), the
 *    Conv's weights become WRPN codes (binary: sign with per-channel alpha);
 *    the first conv and the last layer stay float unless --quantize-all;
 *  - a model carrying its quantization: Conv input from QONNX Quant/IntQuant
 *    (unsigned, zero point 0) or QuantizeLinear [-> Clip] -> DequantizeLinear
 *    (zero point 0), and weights that are (after constant folding of their
 *    Quant / DequantizeLinear) an integer grid times a per-channel scale.
 * Each lowered Conv becomes PackAct -> QConv with Y = acc * (s_a * s_w[m]) + B; a
 * QConv whose only reader is the next WRPN quantizer writes that quantizer's codes
 * directly, through integer thresholds.
 * Invariant: nodes stay in topological order; replaced nodes are removed.
 */
#include "opparams.h"
#include "passes.h"
#include "quant.h"

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

/* Codes of the activation feeding a conv: tensor, scale, bits. */
typedef struct ActSrc {
    Tensor *codes;
    double scale;
    int bits;
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

/* Replaces quantizer q (output = the values) by ActQuant; returns its codes. */
static Tensor *act_quant(Ctx *c, Node *q, Tensor *x, int bits, float scale, const Node *src)
{
    if (c->codes[q->id])
        return c->codes[q->id];
    Node *n = node_before(c, q, OP_ACT_QUANT, "codes", 1, 2);
    n->in[0] = x;
    n->out[0] = ir_tensor_fresh(c->g, arena_printf(&c->g->arena, "%s_codes", q->name));
    n->out[1] = q->out[0];
    attr_int(c->g, n, "bits", bits);
    if (scale > 0) {
        attr_add(c->g, n, "scale", ATTR_FLOAT)->f = scale;
        attr_copy(c->g, n, src, "narrow");
        attr_copy(c->g, n, src, "rounding_mode");
    }
    c->drop[q->id] = true;
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
    a->codes = act_quant(c, p, p->in[0], qp->bits, s, p);
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
    a->codes = act_quant(c, dq, q->in[0], bits, s, q);
    return true;
}

/* The quantized activation feeding a conv, or false to keep the conv float. */
static bool find_act(Ctx *c, Tensor *x, ActSrc *a)
{
    Node *p = x->producer;
    if (!p || p->id >= c->n0)
        return false;
    if (c->opt->abits) {
        if (p->op != op_lookup("", "Relu"))
            return false;
        a->bits = c->opt->abits;
        a->scale = 1.0 / ((1 << a->bits) - 1);
        a->codes = act_quant(c, p, p->in[0], a->bits, 0, p);
        return true;
    }
    if (p->op == OP_QUANT || p->op == OP_INT_QUANT)
        return from_qonnx(c, p, a);
    if (p->op == OP_DEQUANTIZE_LINEAR)
        return from_qdq(c, p, a);
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

static bool find_weights(Ctx *c, Node *conv, Wq *w)
{
    const Tensor *t = conv->in[1];
    if (!t->data || t->dtype != DT_F32 || t->ndim != 4 || ir_tensor_numel(t) == 0)
        return false; /* an empty filter bank has nothing to quantize */
    const float *v = t->data;
    for (int64_t i = 0, n = ir_tensor_numel(t); i < n; i++)
        if (!isfinite(v[i]))
            return false; /* NaN or infinite weights have no integer code: keep the conv float */
    int64_t M = t->dim[0], K = ir_tensor_numel(t) / M;
    w->code = arena_alloc(&c->g->arena, (size_t)(M * K));
    w->scale = arena_alloc(&c->g->arena, sizeof(double) * (size_t)M);
    if (c->opt->wbits) {
        wrpn_weights(c, t->data, M, K, w);
        return true;
    }
    return grid_weights(t->data, M, K, w);
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

/* Conv -> PackAct + QConv writing the conv's output tensor. */
static void lower(Ctx *c, Node *conv, const ActSrc *a, const Wq *w)
{
    const ConvParams *cp = conv->priv;
    Graph *g = c->g;
    int k = c->opt->kernel ? c->opt->kernel - 1 : (int)quant_pick_kernel(a->bits, w->bits);
    const char *layout = k == QK_INT8 ? "int8" : "bitserial";
    Node *pk = node_before(c, conv, OP_PACK_ACT, "pack", 1, 1);
    pk->in[0] = a->codes;
    pk->out[0] = ir_tensor_fresh(g, arena_printf(&g->arena, "%s_packed", conv->name));
    attr_int(g, pk, "bits", a->bits);
    attr_int(g, pk, "group", cp->group);
    attr_str(g, pk, "layout", layout);
    Node *qc = node_before(c, conv, OP_QCONV, "q", 4, 1);
    float *scale = arena_alloc(&g->arena, sizeof(float) * (size_t)cp->M);
    for (int64_t m = 0; m < cp->M; m++)
        scale[m] = (float)(a->scale * w->scale[m]);
    qc->in[0] = pk->out[0];
    qc->in[1] = const_tensor(c, "wq", DT_I8, 4, conv->in[1]->dim, w->code);
    qc->in[2] = const_tensor(c, "scale", DT_F32, 1, &cp->M, scale);
    qc->in[3] = conv->nin > 2 ? conv->in[2] : NULL;
    qc->out[0] = conv->out[0];
    attr_int(g, qc, "abits", a->bits);
    attr_int(g, qc, "wbits", w->bits);
    attr_int(g, qc, "group", cp->group);
    attr_str(g, qc, "layout", layout);
    static const char *geo[] = {"pads", "strides", "dilations", "auto_pad"};
    for (int i = 0; i < 4; i++)
        attr_copy(g, qc, conv, geo[i]);
    c->drop[conv->id] = true;
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
    if (n->op != OP_CONV || n->in[0]->ndim != 4 || in_list(c->opt->keep_fp32, n->name))
        return false;
    return !c->opt->wbits || c->opt->quantize_all || (n->id != first && n->id != last);
}

/* Puts inserted nodes before their anchors, drops replaced ones, infers the new ones. */
static Status rebuild(Ctx *c, Diag *d)
{
    Graph *g = c->g;
    int total = g->nnode, k = 0;
    if (total == 0)
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
    for (int i = 0; i < g->nnode; i++) {
        Node *n = g->node[i];
        if (n->op == OP_ACT_QUANT && n->out[1] && n->out[1]->nuse == 0 &&
            n->out[1]->output_index < 0)
            n->out[1] = NULL; /* values nobody reads */
        if (n->op == OP_ACT_QUANT || n->op == OP_PACK_ACT || n->op == OP_QCONV)
            WR_TRY(op_info[n->op].infer(g, n, d));
    }
    ir_graph_remove_dead(g);
    return WR_OK;
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
        memmove(g->node + at, g->node + at + 1, sizeof(Node *) * (size_t)(g->nnode - at - 1));
        g->nnode--;
        ir_graph_relink(g);
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
    int first = -1, last = -1, gemm = op_lookup("", "Gemm"), matmul = op_lookup("", "MatMul");
    for (int i = 0; i < g->nnode; i++) {
        int op = g->node[i]->op;
        if (op == OP_CONV || (gemm >= 0 && op == gemm) || (matmul >= 0 && op == matmul))
            last = i;
        if (op == OP_CONV && first < 0)
            first = i;
    }
    for (int i = 0; i < c.n0; i++) {
        Node *cv = g->node[i];
        ActSrc a;
        Wq w;
        if (eligible(&c, cv, first, last) && find_weights(&c, cv, &w) && find_act(&c, cv->in[0], &a))
            lower(&c, cv, &a, &w);
    }
    Status s = rebuild(&c, d);
    if (s == WR_OK)
        s = fold_thresholds(g, d);
    ctx_free(&c);
    return s;
}
