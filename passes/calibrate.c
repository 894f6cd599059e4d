/*
 * calibrate.c: post-training calibration, as ONNX Runtime's and TFLite's static
 * quantizers do it, written into the graph as explicit QONNX quantizers:
 *
 *   x -> Quant(x, s_a, 0, ka) -> Conv(., Quant(W, s_w[m], 0, kw, signed, narrow)) -> ...
 *
 * Weights: symmetric per output channel, s_w[m] = max|W[m]| / (2^(kw-1) - 1) on the
 * narrow signed grid (kw = 1: BipolarQuant, s_w[m] = mean|W[m]|). Activations: the
 * reference interpreter (ir_interp_run) runs the float model over the calibration
 * data and records, per tensor feeding a quantized layer, its minimum, maximum and
 * (for --calibrate-percentile) a histogram of |x|; s_a = range / (2^ka - 1), unsigned,
 * when nothing below 0 was seen (after a Relu), else signed, range / (2^(ka-1) - 1).
 * Which layers: quantize.c's WRPN policy (Conv on 4-D input, Gemm, MatMul with
 * constant 2-D weights; not the first conv or the last layer unless quantize_all;
 * not keep_fp32). Afterwards the graph reads like a QONNX export: pass_quantize
 * lowers it, and ir_infer folds the weight quantizers into grid constants.
 */
#include "calibrate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { HIST_BINS = 2048 };

/* What the data says about one activation tensor. */
typedef struct Range {
    Tensor *t;
    double lo, hi;           /* minimum and maximum seen (+inf, -inf before any) */
    double sum_abs;          /* for the bipolar scale (mean |x|) */
    double top;              /* bin[i] counts |x| in [i, i + 1) * top / HIST_BINS */
    uint64_t count, bin[HIST_BINS];
} Range;

/* A layer to quantize: its node and how its weights are laid out. */
typedef struct Layer {
    Node *n;
    int64_t M, K;  /* M output channels of K weights each */
    bool by_col;   /* channel m is column m of a (K, M) matrix (Gemm without transB, MatMul) */
    int act;       /* index of its input's Range, or -1 */
} Layer;

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

/* Weights of n as a Layer: constant float32, 4-D for Conv, 2-D for Gemm / MatMul. */
static bool layer_of(Node *n, Layer *l)
{
    const Tensor *w = n->nin > 1 ? n->in[1] : NULL;
    if (!w || !w->data || w->dtype != DT_F32 || ir_tensor_numel(w) == 0 || !n->in[0] ||
        n->in[0]->dtype != DT_F32)
        return false;
    l->n = n;
    l->act = -1;
    if (n->op == OP_CONV) {
        l->M = w->dim[0];
        l->K = ir_tensor_numel(w) / w->dim[0];
        l->by_col = false;
        return w->ndim == 4 && n->in[0]->ndim == 4;
    }
    if (w->ndim != 2)
        return false;
    l->by_col = n->op == OP_MATMUL || !ir_attr_int(n, "transB", 0);
    l->M = l->by_col ? w->dim[1] : w->dim[0];
    l->K = l->by_col ? w->dim[0] : w->dim[1];
    return true;
}

/* The layers the WRPN policy quantizes, in graph order; returns their count. */
static int find_layers(Graph *g, const CalibOptions *o, Layer *out)
{
    int first = -1, last = -1, n = 0;
    for (int i = 0; i < g->nnode; i++) {
        int op = g->node[i]->op;
        if (op == OP_CONV || op == OP_GEMM || op == OP_MATMUL)
            last = i;
        if (op == OP_CONV && first < 0)
            first = i;
    }
    for (int i = 0; i < g->nnode; i++) {
        Node *nd = g->node[i];
        if ((nd->op != OP_CONV && nd->op != OP_GEMM && nd->op != OP_MATMUL) ||
            in_list(o->keep_fp32, nd->name) || (!o->quantize_all && (i == first || i == last)))
            continue;
        if (layer_of(nd, &out[n]))
            n++;
    }
    return n;
}

/* ---- activation statistics ---- */

/* Doubles the histogram's span: pairs of bins merge into the lower half. */
static void widen_hist(Range *r)
{
    for (size_t i = 0; i < HIST_BINS / 2; i++)
        r->bin[i] = r->bin[2 * i] + r->bin[2 * i + 1];
    memset(r->bin + HIST_BINS / 2, 0, sizeof r->bin / 2);
    r->top *= 2;
}

static void range_add(Range *r, const float *x, int64_t n, bool hist)
{
    for (int64_t i = 0; i < n; i++) {
        double v = x[i], a = fabs(v);
        if (v != v)
            continue; /* NaN says nothing about the range */
        r->lo = fmin(r->lo, v);
        r->hi = fmax(r->hi, v);
        r->sum_abs += a;
        if (!hist)
            continue;
        if (r->top == 0 && a > 0)
            r->top = a * 2;
        while (a >= r->top && r->top > 0 && isfinite(a))
            widen_hist(r);
        r->bin[r->top > 0 && isfinite(a) ? (int)(a / r->top * HIST_BINS) : 0]++;
    }
    r->count += (uint64_t)n;
}

/* The clipping range of r: its largest |x|, or the percentile p of |x|. */
static double range_span(const Range *r, double p)
{
    double m = r->lo <= r->hi ? fmax(fabs(r->lo), fabs(r->hi)) : 0;
    if (p >= 100 || r->top == 0)
        return m;
    uint64_t want = (uint64_t)ceil(p / 100 * (double)r->count), seen = 0;
    for (int i = 0; i < HIST_BINS; i++) {
        seen += r->bin[i];
        if (seen >= want)
            return fmin(m, (i + 1) * r->top / HIST_BINS);
    }
    return m;
}

/* Runs the float graph over the data with every Range's tensor as an extra output. */
static Status collect(Graph *g, Range *r, int nr, const CalibOptions *o, const CalibData *data,
                      Diag *d)
{
    int n0 = g->noutput, n = n0 + nr;
    Tensor **saved = g->output, **outs = malloc(sizeof(Tensor *) * (size_t)n);
    void **buf = calloc((size_t)n, sizeof(void *));
    WR_ASSERT(outs && buf);
    memcpy(outs, saved, sizeof(Tensor *) * (size_t)n0);
    for (int k = 0; k < nr; k++)
        outs[n0 + k] = r[k].t;
    for (int i = 0; i < n; i++)
        WR_ASSERT((buf[i] = malloc((size_t)ir_tensor_bytes(outs[i]) + 1)));
    g->output = outs;
    g->noutput = n;
    Status s = WR_OK;
    for (int i = 0; i < data->nsample && s == WR_OK; i++) {
        s = ir_interp_run(g, data->x + (size_t)i * (size_t)g->ninput, buf, d);
        for (int k = 0; k < nr && s == WR_OK; k++)
            range_add(&r[k], buf[n0 + k], ir_tensor_numel(r[k].t), o->percentile < 100);
    }
    g->output = saved;
    g->noutput = n0;
    for (int i = 0; i < n; i++)
        free(buf[i]);
    free(buf);
    free(outs);
    return s;
}

/* ---- the quantizers ---- */

static Tensor *const_f32(Graph *g, const char *hint, int ndim, const int64_t *dim)
{
    Tensor *t = ir_tensor_fresh(g, hint);
    ir_tensor_set_shape(t, DT_F32, ndim, dim);
    ir_tensor_alloc_data(g, t);
    return t;
}

static Tensor *scalar(Graph *g, const char *hint, double v)
{
    Tensor *t = const_f32(g, hint, 0, NULL);
    *(float *)t->data = (float)v;
    return t;
}

static void attr_int(Graph *g, Node *n, const char *name, int64_t v)
{
    Attr *a = &n->attr[n->nattr++];
    a->name = arena_strdup(&g->arena, name);
    a->type = ATTR_INT;
    a->i = v;
}

/* Quant(x, scale, 0, bits) (or BipolarQuant(x, scale) when bits is 1 and signed) writing
 * a fresh tensor; the node is new and unplaced. */
static Node *quant_node(Graph *g, const char *name, Tensor *x, Tensor *scale, int bits,
                        bool is_signed, bool narrow)
{
    bool bipolar = bits == 1 && is_signed;
    Node *n = ir_node_new(g, bipolar ? OP_BIPOLAR_QUANT : OP_QUANT, name, bipolar ? 2 : 4, 1);
    n->domain = op_info[n->op].domain;
    n->opset = 1;
    n->in[0] = x;
    n->in[1] = scale;
    if (!bipolar) {
        n->in[2] = scalar(g, "zeropt", 0);
        n->in[3] = scalar(g, "bitwidth", bits);
        n->attr = arena_alloc(&g->arena, sizeof(Attr) * 3);
        attr_int(g, n, "signed", is_signed);
        attr_int(g, n, "narrow", narrow);
        Attr *a = &n->attr[n->nattr++];
        a->name = "rounding_mode";
        a->type = ATTR_STRING;
        a->s = "ROUND";
    }
    n->out[0] = ir_tensor_fresh(g, arena_printf(&g->arena, "%s_out", name));
    return n;
}

/* Per-channel weight quantizer of l: scale max|w| / (2^(k-1) - 1), or mean|w| for k = 1. */
static Node *weight_quant(Graph *g, const Layer *l, int k)
{
    const Tensor *w = l->n->in[1];
    const float *W = w->data;
    int64_t dim[IR_MAX_DIMS];
    for (int i = 0; i < w->ndim; i++)
        dim[i] = 1;
    dim[l->by_col ? 1 : 0] = l->M;
    Tensor *s = const_f32(g, "weight_scale", w->ndim, dim);
    float *S = s->data;
    for (int64_t m = 0; m < l->M; m++) {
        double mx = 0, sum = 0;
        for (int64_t e = 0; e < l->K; e++) {
            double a = fabs((double)W[l->by_col ? e * l->M + m : m * l->K + e]);
            mx = a > mx ? a : mx;
            sum += a;
        }
        double v = k == 1 ? sum / (double)l->K : mx / ((1 << (k - 1)) - 1);
        S[m] = v > 0 && isfinite(v) ? (float)v : 1.0f;
    }
    const char *name = arena_printf(&g->arena, "%s_weight_quant", l->n->name);
    return quant_node(g, name, l->n->in[1], s, k, true, true);
}

/* Activation quantizer of r's tensor, named after its first quantized reader. */
static Node *act_quant(Graph *g, const Range *r, const Node *reader, int k, double p)
{
    bool sgn = r->lo < 0;
    double span = range_span(r, p), steps = sgn ? (1 << (k - 1)) - 1 : (1 << k) - 1;
    double v = sgn && k == 1 ? r->sum_abs / (double)(r->count ? r->count : 1) : span / steps;
    const char *name = arena_printf(&g->arena, "%s_act_quant", reader->name);
    return quant_node(g, name, r->t, scalar(g, "act_scale", v > 0 && isfinite(v) ? v : 1.0),
                      k, sgn, false);
}

/* ---- placing the new nodes ---- */

/* slot[k + 1] lists the new nodes that go right after original node k (slot 0: first). */
typedef struct Slots {
    Node ***at;
    int *n;
} Slots;

static void slot_add(Slots *s, int k, Node *n)
{
    s->at[k + 1] = realloc(s->at[k + 1], sizeof(Node *) * (size_t)(s->n[k + 1] + 1));
    WR_ASSERT(s->at[k + 1]);
    s->at[k + 1][s->n[k + 1]++] = n;
}

/* Rebuilds g->node from the n0 original nodes with the slots' nodes in between. */
static void place(Graph *g, int n0, Slots *s)
{
    Node **old = malloc(sizeof(Node *) * (size_t)(n0 + 1));
    WR_ASSERT(old);
    memcpy(old, g->node, sizeof(Node *) * (size_t)n0);
    int k = 0;
    for (int i = -1; i < n0; i++) {
        if (i >= 0)
            g->node[k++] = old[i];
        for (int j = 0; j < s->n[i + 1]; j++)
            g->node[k++] = s->at[i + 1][j];
        free(s->at[i + 1]);
    }
    WR_ASSERT(k == g->nnode);
    free(old);
    ir_graph_relink(g);
}

/* One Range per distinct float activation tensor the layers read (abits set). */
static int ranges_for(Layer *l, int nl, Range *r)
{
    int nr = 0;
    for (int i = 0; i < nl; i++) {
        Tensor *x = l[i].n->in[0];
        if (x->data)
            continue;
        int k = 0;
        while (k < nr && r[k].t != x)
            k++;
        if (k == nr) {
            memset(&r[nr], 0, sizeof r[nr]);
            r[nr].t = x;
            r[nr].lo = INFINITY;
            r[nr++].hi = -INFINITY;
        }
        l[i].act = k;
    }
    return nr;
}

/* Creates the quantizers of every layer and re-points the layers to them. */
static void insert(Graph *g, const CalibOptions *o, Layer *l, int nl, Range *r, int nr,
                   CalibReport *rep)
{
    int n0 = g->nnode;
    Slots s = {calloc((size_t)n0 + 2, sizeof(Node **)), calloc((size_t)n0 + 2, sizeof(int))};
    Node **aq = calloc((size_t)nr + 1, sizeof(Node *));
    WR_ASSERT(s.at && s.n && aq);
    for (int i = 0; i < nl; i++) {
        Node *n = l[i].n;
        int a = l[i].act;
        if (a >= 0 && !aq[a]) {
            aq[a] = act_quant(g, &r[a], n, o->abits, o->percentile);
            slot_add(&s, r[a].t->producer ? r[a].t->producer->id : -1, aq[a]);
            rep->acts++;
            rep->signed_acts += r[a].lo < 0;
        }
        if (a >= 0)
            ir_node_set_input(n, 0, aq[a]->out[0]);
        if (o->wbits >= 1 && o->wbits <= 8) {
            Node *wq = weight_quant(g, &l[i], o->wbits);
            slot_add(&s, n->id - 1, wq);
            ir_node_set_input(n, 1, wq->out[0]);
        }
        rep->layers++;
    }
    place(g, n0, &s);
    free(s.at);
    free(s.n);
    free(aq);
}

Status pass_calibrate(Graph *g, const CalibOptions *o, const CalibData *data, CalibReport *rep,
                      Diag *d)
{
    memset(rep, 0, sizeof *rep);
    if (data->nsample < 1)
        return diag_error(d, WR_EUSAGE, "calibration needs at least one sample");
    Layer *l = calloc((size_t)g->nnode + 1, sizeof *l);
    Range *r = calloc((size_t)g->nnode + 1, sizeof *r);
    WR_ASSERT(l && r);
    int nl = find_layers(g, o, l), nr = 0;
    bool acts = o->abits >= 1 && o->abits <= 8;
    if (acts)
        nr = ranges_for(l, nl, r);
    Status s = nr ? collect(g, r, nr, o, data, d) : WR_OK;
    if (s == WR_OK)
        insert(g, o, l, nl, r, nr, rep);
    for (int i = 0; i < g->nnode && s == WR_OK; i++) {
        Node *n = g->node[i];
        if ((n->op == OP_QUANT || n->op == OP_BIPOLAR_QUANT) && n->out[0]->dtype == DT_UNDEF)
            s = op_info[n->op].infer(g, n, d);
    }
    free(l);
    free(r);
    return s;
}
