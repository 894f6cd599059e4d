/*
 * width_scale.c: WRPN width scaling. Multiplies the channel count of every
 * hidden layer by a factor W >= 1 (Conv, Gemm and MatMul with constant
 * weights); graph inputs and outputs keep their shapes, so the classifier
 * feeding the output keeps its output size. Runs on the inferred graph, before
 * any lowering; re-infers shapes at the end. Groups, rounding and the two
 * initialisations are described below the includes.
 */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * Channel groups: tensors that must share one channel mapping (elementwise
 * joins, residual Adds, BN, pools, depthwise convs) are united (union-find over
 * tensor ids). Concat along channels and Flatten/Reshape to (N, C*S) are
 * "derived": their mapping is built from their inputs'. A group touching a
 * graph input or output, or an op we cannot see through, is pinned (kept).
 * Depthwise convs (group = C = M) scale their group count with C; other
 * grouped convs keep their group count and widen every group alike.
 *
 * Rounding: new channels = B * floor((C / B) * W + 0.5), B the block count
 * (the group count of grouped convs reading or writing the group, else 1):
 * round half up, so 3 channels at 1.5x give 5, and C' >= C always.
 *
 * Init "preserve" (Net2WiderNet): new channel j copies original channel
 * src[j] (j mod C within its block, or seeded random); consumers divide the
 * weights of a copied channel by its copy count, so the float model computes
 * the same outputs. Init "random": widened Conv/Gemm/MatMul weights are
 * re-drawn uniform in [-1, 1] (seeded), biases zeroed; BN and other per-channel
 * constants follow the mapping in both modes. [-1, 1] is the range WRPN clips
 * weights to before quantizing them to codes round(M w), M = 2^(k-1) - 1, so every
 * code of the grid occurs, as in trained low-bit layers: the 2M - 1 inner codes
 * with probability 1/(2M) each, the end codes -M and M with 1/(4M) (2-bit codes
 * -1, 0, +1: 1/4, 1/2, 1/4; binary weights: signs, 1/2 each). A He-normal draw (std
 * sqrt(2 / fan_in)) left nearly every 2-bit code zero, and the kernels skip
 * all-zero bit planes, so timing a randomly widened low-bit model measured a
 * degenerate one. Float activations of a deep model grow with this draw:
 * random init is for timing and cost exploration, not for accuracy.
 */

/* How a tensor's channels derive from the original ones. NULL map = identity. */
typedef struct ChanMap {
    int64_t c_old, c_new;
    int32_t *src; /* [c_new]: original channel copied by each new channel */
    int32_t *cnt; /* [c_old]: how many new channels copy each original one */
} ChanMap;

typedef enum { DER_NONE, DER_CONCAT, DER_FLATTEN } DerKind;

struct WidthPlan {
    Graph *g;
    double w;
    int n;           /* tensor count */
    int *parent;     /* union-find over tensor ids */
    bool *has_chan;  /* activation with a channel axis (axis 1) */
    bool *pinned;    /* per root */
    int64_t *blocks; /* per root */
    Node **der;      /* per tensor: the node deriving it (Concat / Flatten / Reshape) */
    DerKind *dkind;
    ChanMap **map;   /* per root, computed lazily */
    bool *busy;      /* per root: map under construction (cycle guard) */
    bool random_map;
    uint64_t rng;
};

/* ---- union-find ---- */

static int find(WidthPlan *p, int x)
{
    while (p->parent[x] != x) {
        p->parent[x] = p->parent[p->parent[x]];
        x = p->parent[x];
    }
    return x;
}

static int64_t gcd64(int64_t a, int64_t b) { return b ? gcd64(b, a % b) : a; }

static void unite(WidthPlan *p, int a, int b)
{
    a = find(p, a);
    b = find(p, b);
    if (a == b)
        return;
    p->parent[b] = a;
    p->pinned[a] |= p->pinned[b];
    p->blocks[a] = p->blocks[a] / gcd64(p->blocks[a], p->blocks[b]) * p->blocks[b];
}

static bool chan(const WidthPlan *p, const Tensor *t)
{
    return t && t->id < p->n && p->has_chan[t->id]; /* tensors made later: constants */
}

static void pin(WidthPlan *p, const Tensor *t)
{
    if (chan(p, t))
        p->pinned[find(p, t->id)] = true;
}

static void pin_node(WidthPlan *p, const Node *n)
{
    for (int i = 0; i < n->nin; i++)
        pin(p, n->in[i]);
    for (int i = 0; i < n->nout; i++)
        pin(p, n->out[i]);
}

/* ---- random numbers: splitmix64 ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1): 53 random bits. */
static double rng_unit(uint64_t *s)
{
    return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

/* ---- analysis: which tensors share a mapping ---- */

static bool op_in(int op, const int *list)
{
    for (; *list >= 0; list++)
        if (op == *list)
            return true;
    return false;
}

/* Ops whose output channel c depends only on input channel c (extra inputs are
 * per-channel or scalar constants). */
static const int unary_ops[] = {
    OP_RELU, OP_LEAKY_RELU, OP_SIGMOID, OP_TANH, OP_CLIP, OP_ELU, OP_SELU, OP_HARD_SIGMOID,
    OP_HARD_SWISH, OP_SOFTPLUS, OP_SOFTSIGN, OP_EXP, OP_ABS, OP_NEG, OP_SQRT, OP_IDENTITY,
    OP_DROPOUT, OP_MAX_POOL, OP_AVERAGE_POOL, OP_GLOBAL_AVERAGE_POOL, OP_GLOBAL_MAX_POOL,
    OP_LP_POOL, OP_BATCH_NORM, OP_INSTANCE_NORM, OP_CAST, OP_FLOOR, OP_CEIL, OP_ROUND, OP_ERF,
    OP_GELU, OP_MISH, OP_THRESHOLDED_RELU, OP_CELU, OP_RECIPROCAL, OP_SIGN, OP_NOT, OP_QUANT,
    OP_INT_QUANT, OP_BIPOLAR_QUANT, -1};
static const int spatial_ops[] = {
    OP_PAD, OP_SLICE, OP_RESIZE, OP_UPSAMPLE, -1};
static const int binary_ops[] = {
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_SUM, OP_MEAN, OP_PRELU, OP_POW, -1};

/* Axis of t that lines up with the output's channel axis under broadcasting, or -1. */
static int aligned_axis(const Tensor *t, int out_rank)
{
    int a = t->ndim - (out_rank - 1);
    return a >= 0 && a < t->ndim ? a : -1;
}

static void scan_binary(WidthPlan *p, Node *n)
{
    Tensor *y = n->out[0];
    for (int i = 0; i < n->nin; i++) {
        Tensor *x = n->in[i];
        if (!x || !chan(p, y))
            continue;
        int a = aligned_axis(x, y->ndim);
        if (chan(p, x) && a == 1 && x->ndim == y->ndim && x->dim[1] == y->dim[1])
            unite(p, y->id, x->id);
        else if (chan(p, x) && a >= 0 && x->dim[a] != 1)
            pin_node(p, n); /* an activation broadcast along channels in an odd way */
    }
}

static int64_t conv_group(Node *n) { return ir_attr_int(n, "group", 1); }

static void scan_conv(WidthPlan *p, Node *n)
{
    Tensor *x = n->in[0], *w = n->in[1], *y = n->out[0];
    if (!w->data || (n->nin > 2 && n->in[2] && !n->in[2]->data) || w->dtype != DT_F32) {
        pin_node(p, n);
        return;
    }
    int64_t G = conv_group(n), C = x->dim[1], M = y->dim[1];
    if (G > 1 && G == C && M == C)
        unite(p, x->id, y->id); /* depthwise: channel m reads channel m only */
    else if (G > 1) {
        int rx = find(p, x->id), ry = find(p, y->id);
        p->blocks[rx] = p->blocks[rx] / gcd64(p->blocks[rx], G) * G;
        p->blocks[ry] = p->blocks[ry] / gcd64(p->blocks[ry], G) * G;
    }
}

static void scan_matmul(WidthPlan *p, Node *n, bool gemm)
{
    Tensor *x = n->in[0], *w = n->in[1];
    bool ok = x->ndim == 2 && w->data && w->ndim == 2 && w->dtype == DT_F32;
    if (gemm)
        ok = ok && ir_attr_int(n, "transA", 0) == 0 && (n->nin < 3 || !n->in[2] || n->in[2]->data);
    if (!ok)
        pin_node(p, n);
}

/* Concat: channels derived when along axis 1, else a plain join. */
static void scan_concat(WidthPlan *p, Node *n)
{
    Tensor *y = n->out[0];
    int64_t axis = ir_attr_int(n, "axis", 1);
    if (axis < 0)
        axis += y->ndim;
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && !chan(p, n->in[i])) {
            pin_node(p, n);
            return;
        }
    if (axis == 1) {
        p->der[y->id] = n;
        p->dkind[y->id] = DER_CONCAT;
        return;
    }
    for (int i = 0; i < n->nin; i++)
        if (n->in[i]) /* an omitted optional input joins no group */
            unite(p, y->id, n->in[i]->id);
}

/* Flatten(axis=1) or Reshape (N, C, ...) -> (N, C*S): features derived. */
static void scan_flatten(WidthPlan *p, Node *n)
{
    Tensor *x = n->in[0], *y = n->out[0];
    bool is_flat = n->op == OP_FLATTEN;
    bool ok = chan(p, x) && y->ndim == 2 && y->dim[0] == x->dim[0] &&
              (!is_flat || ir_attr_int(n, "axis", 1) == 1) && (is_flat || n->in[1]->data);
    if (!ok) {
        pin_node(p, n);
        return;
    }
    if (x->ndim == 2)
        unite(p, x->id, y->id);
    else {
        p->der[y->id] = n;
        p->dkind[y->id] = DER_FLATTEN;
    }
}

/* Value k of an integer constant input (int32 or int64), or def. */
static int64_t const_int(const Node *n, int i, int64_t k, int64_t def)
{
    const Tensor *t = i < n->nin ? n->in[i] : NULL;
    if (!t || !t->data || k >= ir_tensor_numel(t))
        return def;
    return dtype_get_i64(t->dtype, t->data, k);
}

/* Whether a list of axes (constant input i, or all of 0..count) names axis 1. */
static bool axes_touch_channels(const Node *n, int i, int64_t count, int rank)
{
    const Tensor *ax = i < n->nin ? n->in[i] : NULL;
    if (ax && !ax->data)
        return true;
    int64_t na = ax ? ir_tensor_numel(ax) : count;
    for (int64_t k = 0; k < na; k++) {
        int64_t a = ax ? const_int(n, i, k, 0) : k;
        if (a == 1 || a == 1 - rank)
            return true;
    }
    return false;
}

/* Pad, Slice, Resize/Upsample keep channel c in place unless they work on the
 * channel axis; then (or when their parameters are not constant) they pin. */
static void scan_spatial(WidthPlan *p, Node *n)
{
    Tensor *x = n->in[0], *y = n->out[0];
    int rank = x->ndim;
    bool keeps = false;
    if (n->op == OP_PAD) {
        const int64_t *pads;
        int np = ir_attr_ints(n, "pads", &pads); /* before opset 11 */
        bool in = n->nin > 1 && n->in[1] && n->in[1]->data;
        keeps = np == 2 * rank ? pads[1] == 0 && pads[1 + rank] == 0
                               : in && const_int(n, 1, 1, 1) == 0 &&
                                     const_int(n, 1, 1 + rank, 1) == 0 && n->nin < 4;
    } else if (n->op == OP_SLICE)
        keeps = n->nin >= 3 && n->in[1]->data &&
                !axes_touch_channels(n, 3, ir_tensor_numel(n->in[1]), rank);
    else /* Resize / Upsample: channel scale 1 and no explicit sizes */
        keeps = (n->nin < 4 || !n->in[3]) && y->dim[1] == x->dim[1];
    if (keeps && chan(p, x) && chan(p, y))
        unite(p, x->id, y->id);
    else
        pin_node(p, n);
}

static void scan_softmax(WidthPlan *p, Node *n)
{
    Tensor *y = n->out[0];
    int64_t axis = ir_attr_int(n, "axis", n->opset >= 13 ? -1 : 1);
    if (axis < 0)
        axis += y->ndim;
    if (axis <= 1) /* normalizes across channels: copies would change the sum */
        pin_node(p, n);
    else
        unite(p, n->in[0]->id, y->id);
}

static void scan_node(WidthPlan *p, Node *n)
{
    if (n->op == OP_CONV)
        scan_conv(p, n);
    else if (n->op == OP_GEMM || n->op == OP_MATMUL)
        scan_matmul(p, n, n->op == OP_GEMM);
    else if (op_in(n->op, unary_ops) && n->nout >= 1 && chan(p, n->in[0]) && chan(p, n->out[0]) &&
             n->in[0]->dim[1] == n->out[0]->dim[1])
        unite(p, n->in[0]->id, n->out[0]->id);
    else if (op_in(n->op, binary_ops) && n->nout == 1)
        scan_binary(p, n);
    else if (n->op == OP_CONCAT)
        scan_concat(p, n);
    else if (n->op == OP_FLATTEN || n->op == OP_RESHAPE)
        scan_flatten(p, n);
    else if (n->op == OP_SOFTMAX || n->op == OP_LOG_SOFTMAX)
        scan_softmax(p, n);
    else if (op_in(n->op, spatial_ops) && n->nout == 1)
        scan_spatial(p, n);
    else
        pin_node(p, n);
    for (int i = 1; i < n->nout; i++)
        pin(p, n->out[i]); /* BN training outputs, Dropout mask... */
}

/* A pinned derived tensor pins what it derives from; two derived tensors in
 * one group cannot both define it. Repeats until nothing changes. */
static void settle_pins(WidthPlan *p)
{
    bool changed = true;
    while (changed) {
        changed = false;
        int *definer = malloc(sizeof(int) * (size_t)p->n);
        for (int i = 0; i < p->n; i++)
            definer[i] = -1;
        for (int t = 0; t < p->n; t++) {
            if (!p->der[t])
                continue;
            int r = find(p, t);
            if (definer[r] >= 0 && !p->pinned[r])
                p->pinned[r] = changed = true;
            definer[r] = t;
            if (!p->pinned[r])
                continue;
            const Node *n = p->der[t];
            for (int i = 0; i < n->nin; i++)
                if (chan(p, n->in[i]) && !p->pinned[find(p, n->in[i]->id)])
                    p->pinned[find(p, n->in[i]->id)] = changed = true;
        }
        free(definer);
    }
}

static void plan_init(WidthPlan *p, Graph *g, double w)
{
    size_t n = (size_t)g->ntensor;
    p->g = g;
    p->w = w;
    p->n = g->ntensor;
    p->parent = malloc(sizeof(int) * n + 1);
    p->has_chan = calloc(n + 1, sizeof(bool));
    p->pinned = calloc(n + 1, sizeof(bool));
    p->busy = calloc(n + 1, sizeof(bool));
    p->blocks = malloc(sizeof(int64_t) * n + 1);
    p->der = calloc(n + 1, sizeof(Node *));
    p->dkind = calloc(n + 1, sizeof(DerKind));
    p->map = calloc(n + 1, sizeof(ChanMap *));
    if (!p->parent || !p->has_chan || !p->pinned || !p->busy || !p->blocks || !p->der ||
        !p->dkind || !p->map)
        wr_die(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < p->n; i++) {
        const Tensor *t = g->tensor[i];
        p->parent[i] = i;
        p->blocks[i] = 1;
        p->has_chan[i] = !t->data && t->ndim >= 2 && t->dim[1] >= 1 && dtype_is_float(t->dtype);
    }
}

Status width_plan(Graph *g, double w, bool random_map, uint64_t seed, WidthPlan **out, Diag *d)
{
    if (!(w >= 1.0) || w > 64.0)
        return diag_error(d, WR_EUSAGE, "width factor %g is out of range (1 to 64)", w);
    WidthPlan *p = calloc(1, sizeof *p);
    if (!p)
        return diag_error(d, WR_ENOMEM, "out of memory");
    plan_init(p, g, w);
    p->random_map = random_map;
    p->rng = seed;
    for (int i = 0; i < g->nnode; i++)
        scan_node(p, g->node[i]);
    for (int i = 0; i < g->ninput; i++)
        pin(p, g->input[i]);
    for (int i = 0; i < g->noutput; i++)
        pin(p, g->output[i]);
    settle_pins(p);
    *out = p;
    return WR_OK;
}

/* ---- channel maps ---- */

static ChanMap *map_new(int64_t c_old, int64_t c_new)
{
    ChanMap *m = calloc(1, sizeof *m);
    if (!m)
        wr_die(__FILE__, __LINE__, "out of memory");
    m->c_old = c_old;
    m->c_new = c_new;
    m->src = calloc((size_t)c_new + 1, sizeof(int32_t));
    m->cnt = calloc((size_t)c_old + 1, sizeof(int32_t));
    if (!m->src || !m->cnt)
        wr_die(__FILE__, __LINE__, "out of memory");
    return m;
}

static void map_count(ChanMap *m)
{
    for (int64_t j = 0; j < m->c_new; j++)
        m->cnt[m->src[j]]++;
}

/* Free group: blocks of C/B channels, each widened to round(C/B * W). */
static ChanMap *map_free(WidthPlan *p, int64_t c_old, int64_t B)
{
    int64_t cb = c_old / B, cb_new = (int64_t)floor((double)cb * p->w + 0.5);
    ChanMap *m = map_new(c_old, B * cb_new);
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = 0; r < cb_new; r++) {
            int64_t k = r < cb ? r : p->random_map ? (int64_t)(rng_next(&p->rng) % (uint64_t)cb)
                                                   : r % cb;
            m->src[b * cb_new + r] = (int32_t)(b * cb + k);
        }
    map_count(m);
    return m;
}

static const ChanMap *map_of(WidthPlan *p, const Tensor *t, Diag *d);

static ChanMap *map_concat(WidthPlan *p, const Node *n, Diag *d)
{
    int64_t c_old = 0, c_new = 0;
    for (int i = 0; i < n->nin; i++) {
        const ChanMap *mi = map_of(p, n->in[i], d);
        c_old += n->in[i]->dim[1];
        c_new += mi ? mi->c_new : n->in[i]->dim[1];
    }
    ChanMap *m = map_new(c_old, c_new);
    int64_t o_old = 0, o_new = 0;
    for (int i = 0; i < n->nin; i++) {
        const ChanMap *mi = map_of(p, n->in[i], d);
        int64_t ci = n->in[i]->dim[1], cn = mi ? mi->c_new : ci;
        for (int64_t j = 0; j < cn; j++)
            m->src[o_new + j] = (int32_t)(o_old + (mi ? mi->src[j] : j));
        o_old += ci;
        o_new += cn;
    }
    map_count(m);
    return m;
}

static ChanMap *map_flatten(WidthPlan *p, const Node *n, Diag *d)
{
    const Tensor *x = n->in[0];
    const ChanMap *mx = map_of(p, x, d);
    int64_t S = ir_shape_numel(x->ndim - 2, x->dim + 2), C = x->dim[1];
    int64_t cn = mx ? mx->c_new : C;
    ChanMap *m = map_new(C * S, cn * S);
    for (int64_t j = 0; j < cn; j++)
        for (int64_t s = 0; s < S; s++)
            m->src[j * S + s] = (int32_t)((mx ? mx->src[j] : j) * S + s);
    map_count(m);
    return m;
}

/* The mapping of t's channels, or NULL when t keeps its channels. */
static const ChanMap *map_of(WidthPlan *p, const Tensor *t, Diag *d)
{
    if (!chan(p, t))
        return NULL;
    int r = find(p, t->id);
    if (p->pinned[r] || p->busy[r])
        return NULL;
    if (p->map[r])
        return p->map[r];
    p->busy[r] = true;
    int def = -1;
    for (int i = 0; i < p->n && def < 0; i++)
        if (p->der[i] && find(p, i) == r)
            def = i;
    ChanMap *m = NULL;
    if (def >= 0 && p->dkind[def] == DER_CONCAT)
        m = map_concat(p, p->der[def], d);
    else if (def >= 0)
        m = map_flatten(p, p->der[def], d);
    else if (t->dim[1] % p->blocks[r] == 0)
        m = map_free(p, t->dim[1], p->blocks[r]);
    p->busy[r] = false;
    p->map[r] = m;
    return m;
}

int width_plan_group(const WidthPlan *p, const Tensor *t)
{
    return chan(p, t) ? find((WidthPlan *)p, t->id) : -1;
}

int64_t width_plan_channels(WidthPlan *p, const Tensor *t)
{
    Diag d = {0};
    const ChanMap *m = map_of(p, t, &d);
    return m ? m->c_new : t->ndim >= 2 ? t->dim[1] : 0;
}

bool width_plan_widened(WidthPlan *p, const Tensor *t)
{
    Diag d = {0};
    return map_of(p, t, &d) != NULL;
}

void width_plan_free(WidthPlan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        if (p->map[i]) {
            free(p->map[i]->src);
            free(p->map[i]->cnt);
            free(p->map[i]);
        }
    free(p->parent);
    free(p->has_chan);
    free(p->pinned);
    free(p->busy);
    free(p->blocks);
    free(p->der);
    free(p->dkind);
    free(p->map);
    free(p);
}

/* ---- rewriting constants ---- */

/* Constant input i of n, private to n (copied when shared), given new shape
 * and zeroed float data; returns the data. */
static float *fresh_const(Graph *g, Node *n, int i, int ndim, const int64_t *dim)
{
    Tensor *old = n->in[i], *t = old;
    if (old->nuse > 1 || old->output_index >= 0) {
        t = ir_tensor_fresh(g, old->name);
        ir_node_set_input(n, i, t);
    }
    ir_tensor_set_shape(t, DT_F32, ndim, dim);
    t->data = NULL;
    return ir_tensor_alloc_data(g, t);
}

/* Copies constant input i of n with axis a re-indexed by m (values copied). */
static void replicate_axis(Graph *g, Node *n, int i, int a, const ChanMap *m)
{
    const Tensor *c = n->in[i];
    const float *src = c->data;
    int64_t dim[IR_MAX_DIMS];
    memcpy(dim, c->dim, sizeof dim);
    int64_t outer = ir_shape_numel(a, c->dim);
    int64_t inner = ir_shape_numel(c->ndim - a - 1, c->dim + a + 1);
    dim[a] = m->c_new;
    float *dst = fresh_const(g, n, i, c->ndim, dim);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < m->c_new; j++)
            memcpy(dst + (o * m->c_new + j) * inner, src + (o * m->c_old + m->src[j]) * inner,
                   sizeof(float) * (size_t)inner);
}

static Status need_f32(const Node *n, int i, Diag *d)
{
    if (n->in[i] && n->in[i]->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "width scaling needs float32 constants ('%s')",
                         n->in[i]->name);
    return WR_OK;
}

/* Per-channel constants of elementwise ops follow the output's mapping. */
static Status apply_eltwise(WidthPlan *p, Node *n, Diag *d)
{
    const Tensor *y = n->out[0];
    const ChanMap *m = map_of(p, y, d);
    if (!m)
        return WR_OK;
    for (int i = 0; i < n->nin; i++) {
        const Tensor *c = n->in[i];
        if (!c || !c->data)
            continue;
        int a = n->op == OP_BATCH_NORM ||
                        n->op == OP_INSTANCE_NORM
                    ? (c->ndim == 1 ? 0 : -1)
                    : aligned_axis(c, y->ndim);
        if (a < 0 || c->dim[a] != m->c_old || m->c_old == 1)
            continue;
        WR_TRY(need_f32(n, i, d));
        replicate_axis(p->g, n, i, a, m);
    }
    return WR_OK;
}

/* Weights of a re-drawn layer: uniform in [-1, 1], WRPN's weight range (see the top). */
static void random_fill(WidthPlan *p, float *w, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        w[i] = (float)(2.0 * rng_unit(&p->rng) - 1.0);
}

static int64_t src_of(const ChanMap *m, int64_t j) { return m ? m->src[j] : j; }
static double cnt_of(const ChanMap *m, int64_t k) { return m ? m->cnt[k] : 1; }

/* Bias-like constant input i (1-D, one value per output channel) follows mo. */
static void apply_bias(WidthPlan *p, Node *n, int i, const ChanMap *mo, bool random)
{
    if (i >= n->nin || !n->in[i] || !mo)
        return;
    const Tensor *b = n->in[i];
    int a = b->ndim - 1;
    if (b->ndim < 1 || b->dim[a] != mo->c_old)
        return; /* a scalar bias broadcasts to any width */
    replicate_axis(p->g, n, i, a, mo);
    if (random)
        memset(n->in[i]->data, 0, (size_t)ir_tensor_bytes(n->in[i]));
}

/* Conv W (M, C/G, k...): rows follow the output map, columns the input map
 * (divided by copy counts). Depthwise convs tied to their input widen G. */
static Status apply_conv(WidthPlan *p, Node *n, bool random, Diag *d)
{
    const Tensor *x = n->in[0], *w = n->in[1];
    const ChanMap *mi = map_of(p, x, d), *mo = map_of(p, n->out[0], d);
    if (!mi && !mo)
        return WR_OK;
    WR_TRY(need_f32(n, 1, d));
    int64_t G = conv_group(n), C = x->dim[1], M = w->dim[0];
    int64_t K = ir_shape_numel(w->ndim - 2, w->dim + 2); /* kernel elements */
    bool dw = G > 1 && G == C && M == C;
    int64_t Cn = mi ? mi->c_new : C, Mn = mo ? mo->c_new : M, Gn = dw ? Cn : G;
    int64_t Cg = C / G, Cgn = Cn / Gn, Mgn = Mn / Gn;
    int64_t dim[IR_MAX_DIMS];
    memcpy(dim, w->dim, sizeof dim);
    dim[0] = Mn;
    dim[1] = Cgn;
    const float *src = w->data;
    float *dst = fresh_const(p->g, n, 1, w->ndim, dim);
    for (int64_t m = 0; m < Mn && !random; m++)
        for (int64_t r = 0; r < Cgn; r++) {
            int64_t g = m / Mgn, j = src_of(mi, g * Cgn + r), jl = dw ? 0 : j - g * Cg;
            if (!dw && (jl < 0 || jl >= Cg))
                return diag_node(d, WR_EUNSUPPORTED, n, "channel mapping crosses conv groups");
            double scale = dw ? 1.0 : 1.0 / cnt_of(mi, j);
            for (int64_t k = 0; k < K; k++)
                dst[(m * Cgn + r) * K + k] =
                    (float)(src[(src_of(mo, m) * Cg + jl) * K + k] * scale);
        }
    if (random)
        random_fill(p, dst, Mn * Cgn * K);
    apply_bias(p, n, 2, mo, random);
    if (dw) {
        Attr *a = (Attr *)ir_attr_find(n, "group");
        a->i = Gn;
    }
    return WR_OK;
}

/* Gemm / MatMul with constant B (K, N), or (N, K) under transB. */
static Status apply_matmul(WidthPlan *p, Node *n, bool gemm, bool random, Diag *d)
{
    const Tensor *w = n->in[1];
    const ChanMap *mi = map_of(p, n->in[0], d), *mo = map_of(p, n->out[0], d);
    if (!mi && !mo)
        return WR_OK;
    WR_TRY(need_f32(n, 1, d));
    bool tb = gemm && ir_attr_int(n, "transB", 0);
    int64_t K = w->dim[tb], N = w->dim[!tb];
    int64_t Kn = mi ? mi->c_new : K, Nn = mo ? mo->c_new : N;
    int64_t dim[2] = {tb ? Nn : Kn, tb ? Kn : Nn};
    const float *src = w->data;
    float *dst = fresh_const(p->g, n, 1, 2, dim);
    for (int64_t k = 0; k < Kn && !random; k++)
        for (int64_t j = 0; j < Nn; j++) {
            int64_t ks = src_of(mi, k), js = src_of(mo, j);
            float v = src[tb ? js * K + ks : ks * N + js];
            dst[tb ? j * Kn + k : k * Nn + j] = (float)(v / cnt_of(mi, ks));
        }
    if (random)
        random_fill(p, dst, Kn * Nn);
    if (gemm)
        apply_bias(p, n, 2, mo, random);
    return WR_OK;
}

/* Reshape to (N, C*S): the constant target shape becomes (N, -1). */
static void apply_reshape(WidthPlan *p, Node *n, Diag *d)
{
    if (!map_of(p, n->in[0], d) || p->dkind[n->out[0]->id] != DER_FLATTEN)
        return;
    Tensor *s = n->in[1];
    if (s->nuse > 1 || s->output_index >= 0) {
        Tensor *t = ir_tensor_fresh(p->g, s->name);
        ir_node_set_input(n, 1, t);
        s = t;
    }
    int64_t two = 2, *v = arena_alloc(&p->g->arena, 2 * sizeof(int64_t));
    v[0] = n->out[0]->dim[0];
    v[1] = -1;
    ir_tensor_set_shape(s, DT_I64, 1, &two);
    s->data = v;
}

static Status apply_node(WidthPlan *p, Node *n, bool random, Diag *d)
{
    if (n->op == OP_CONV)
        return apply_conv(p, n, random, d);
    if (n->op == OP_GEMM || n->op == OP_MATMUL)
        return apply_matmul(p, n, n->op == OP_GEMM, random, d);
    if (n->op == OP_RESHAPE)
        apply_reshape(p, n, d);
    else if (op_in(n->op, unary_ops) || op_in(n->op, binary_ops))
        return apply_eltwise(p, n, d);
    return WR_OK;
}

Status pass_width_scale(Graph *g, const PassOptions *opt, Diag *d)
{
    if (!opt || opt->width <= 1.0)
        return WR_OK;
    WidthPlan *p;
    WR_TRY(width_plan(g, opt->width, opt->width_random_map, opt->width_seed, &p, d));
    Status s = WR_OK;
    for (int i = 0; i < g->nnode && s == WR_OK; i++)
        s = apply_node(p, g->node[i], opt->width_init == WIDTH_RANDOM, d);
    width_plan_free(p);
    if (s == WR_OK)
        ir_graph_relink(g);
    return s == WR_OK ? ir_infer(g, NULL, d) : s;
}
