/*
 * LSTM, GRU and RNN: one recurrent layer, forward, reverse or bidirectional.
 *   X (T, B, I) [layout 1: (B, T, I)], W (D, G*H, I), R (D, G*H, H),
 *   B (D, 2*G*H), sequence_lens (B), initial_h (D, B, H), initial_c (D, B, H),
 *   P (D, 3*H) -> Y (T, D, B, H) [layout 1: (B, T, D, H)], Y_h, Y_c (D, B, H)
 *   (shapes in opparams.h). Gates: LSTM i o f c, GRU z r h, RNN one.
 * The sequence length T is X's dim (pinned by --input-shape when symbolic);
 * sequence_lens may vary per batch element at run time: steps past an
 * element's length leave its state alone and write zeros to Y; an element
 * with no step has zero final states (as ONNX Runtime). Activations,
 * alpha and beta follow the ONNX operator defaults (rnn_act_info); a value
 * outside [0, T] in sequence_lens counts as the nearest bound.
 * The reference eval is naive float code, step by step; the kernel
 * (codegen/kernels/rnn.c) computes the input projections of all steps as one
 * GEMM and needs the scratch output this infer appends (OPF_SCRATCH).
 */
#include "opparams.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- activations ---- */

static float relu_ref(float x, float a, float b) { return (void)a, (void)b, x > 0.0f ? x : 0.0f; }
static float tanh_ref(float x, float a, float b) { return (void)a, (void)b, tanhf(x); }
static float sigmoid_ref(float x, float a, float b)
{
    return (void)a, (void)b, 1.0f / (1.0f + expf(-x));
}
static float affine_ref(float x, float a, float b) { return a * x + b; }
static float leaky_ref(float x, float a, float b) { return (void)b, x >= 0.0f ? x : a * x; }
static float thresh_ref(float x, float a, float b) { return (void)b, x > a ? x : 0.0f; }
static float scaled_tanh_ref(float x, float a, float b) { return a * tanhf(b * x); }
static float hard_sigmoid_ref(float x, float a, float b)
{
    return fmaxf(0.0f, fminf(1.0f, a * x + b));
}
static float elu_ref(float x, float a, float b)
{
    return (void)b, x >= 0.0f ? x : a * (expf(x) - 1.0f);
}
static float softsign_ref(float x, float a, float b)
{
    return (void)a, (void)b, x / (1.0f + fabsf(x));
}
static float softplus_ref(float x, float a, float b)
{
    return (void)a, (void)b, x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

/* clang-format off */
const RnnActInfo rnn_act_info[RNN_ACT_COUNT] = {
    /*                            name           alpha? beta? alpha  beta  reference */
    [RNN_ACT_RELU]             = {"Relu",            false, false, 0.0f,  0.0f, relu_ref,
                                  "($x > 0.0f ? $x : 0.0f)"},
    [RNN_ACT_TANH]             = {"Tanh",            false, false, 0.0f,  0.0f, tanh_ref,
                                  "tanhf($x)"},
    [RNN_ACT_SIGMOID]          = {"Sigmoid",         false, false, 0.0f,  0.0f, sigmoid_ref,
                                  "(1.0f / (1.0f + expf(-$x)))"},
    [RNN_ACT_AFFINE]           = {"Affine",          true,  true,  1.0f,  0.0f, affine_ref,
                                  "($a * $x + $b)"},
    [RNN_ACT_LEAKY_RELU]       = {"LeakyRelu",       true,  false, 0.01f, 0.0f, leaky_ref,
                                  "($x >= 0.0f ? $x : $a * $x)"},
    [RNN_ACT_THRESHOLDED_RELU] = {"ThresholdedRelu", true,  false, 1.0f,  0.0f, thresh_ref,
                                  "($x > $a ? $x : 0.0f)"},
    [RNN_ACT_SCALED_TANH]      = {"ScaledTanh",      true,  true,  1.0f,  1.0f, scaled_tanh_ref,
                                  "($a * tanhf($b * $x))"},
    [RNN_ACT_HARD_SIGMOID]     = {"HardSigmoid",     true,  true,  0.2f,  0.5f, hard_sigmoid_ref,
                                  "fmaxf(0.0f, fminf(1.0f, $a * $x + $b))"},
    [RNN_ACT_ELU]              = {"Elu",             true,  false, 1.0f,  0.0f, elu_ref,
                                  "($x >= 0.0f ? $x : $a * (expf($x) - 1.0f))"},
    [RNN_ACT_SOFTSIGN]         = {"Softsign",        false, false, 0.0f,  0.0f, softsign_ref,
                                  "($x / (1.0f + fabsf($x)))"},
    [RNN_ACT_SOFTPLUS]         = {"Softplus",        false, false, 0.0f,  0.0f, softplus_ref,
                                  "($x > 0.0f ? $x + log1pf(expf(-$x)) : log1pf(expf($x)))"},
};

/* Per op: gates, activations per direction and their defaults, ONNX outputs. */
typedef struct RnnKind {
    int op, gates, nact;
    RnnActKind def[3];
} RnnKind;

static const RnnKind kinds[] = {
    /* op       gates nact  default activations */
    {OP_LSTM,   4,    3,    {RNN_ACT_SIGMOID, RNN_ACT_TANH, RNN_ACT_TANH}},
    {OP_GRU,    3,    2,    {RNN_ACT_SIGMOID, RNN_ACT_TANH}},
    {OP_RNN,    1,    1,    {RNN_ACT_TANH}},
};
/* clang-format on */

static const RnnKind *kind_of(const Node *n)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].op == n->op)
            return &kinds[i];
    WR_UNREACHABLE();
}

bool rnn_dir_reverse(const RnnParams *p, int d) { return p->reverse || d == 1; }

void rnn_scratch_layout(const RnnParams *p, RnnScratch *s)
{
    int64_t GH = p->G * p->H, BH = p->B * p->H;
    s->xw = 0;
    s->bias = s->xw + p->D * p->T * p->B * GH;
    s->rbh = s->bias + p->D * GH;
    s->gates = s->rbh + p->D * p->H;
    s->h = s->gates + p->B * GH;
    s->c = s->h + BH;
    s->rh = s->c + BH;
    s->total = s->rh + BH;
}

/* ---- attributes ---- */

/* activations / activation_alpha / activation_beta into p->act. */
static Status parse_acts(Node *n, const RnnKind *k, RnnParams *p, Diag *d)
{
    const char **names = NULL;
    const Attr *a = ir_attr_find(n, "activations");
    int na = a && a->type == ATTR_STRINGS ? a->n : 0;
    if (a && a->type == ATTR_STRINGS)
        names = a->strings;
    if (na && na != k->nact && na != k->nact * p->D)
        return diag_node(d, WR_EPARSE, n, "has %d activations; expected %d (or %d per "
                         "direction)", na, k->nact * p->D, k->nact);
    const float *al, *be;
    int nal = ir_attr_floats(n, "activation_alpha", &al), nbe = ir_attr_floats(n, "activation_beta",
                                                                                &be);
    int ia = 0, ib = 0;
    for (int dir = 0; dir < p->D; dir++)
        for (int j = 0; j < k->nact; j++) {
            RnnAct *r = &p->act[dir][j];
            r->kind = k->def[j];
            const char *nm = na ? names[(dir * k->nact + j) % na] : NULL;
            for (int t = 0; nm && t < RNN_ACT_COUNT; t++)
                if (strcasecmp(nm, rnn_act_info[t].name) == 0)
                    r->kind = (RnnActKind)t, nm = NULL;
            if (nm)
                return diag_node(d, WR_EUNSUPPORTED, n, "activation '%s' is not one the spec "
                                 "lists", nm);
            const RnnActInfo *ai = &rnn_act_info[r->kind];
            r->alpha = ai->uses_alpha && ia < nal ? al[ia++] : ai->alpha;
            r->beta = ai->uses_beta && ib < nbe ? be[ib++] : ai->beta;
        }
    return WR_OK;
}

static Status parse_attrs(Node *n, const RnnKind *k, RnnParams *p, Diag *d)
{
    const char *dir = ir_attr_str(n, "direction", "forward");
    p->reverse = strcmp(dir, "reverse") == 0;
    p->D = strcmp(dir, "bidirectional") == 0 ? 2 : 1;
    if (p->D == 1 && !p->reverse && strcmp(dir, "forward") != 0)
        return diag_node(d, WR_EPARSE, n, "direction '%s' is not forward, reverse or "
                         "bidirectional", dir);
    p->G = k->gates;
    p->nact = k->nact;
    p->layout = (int)ir_attr_int(n, "layout", 0);
    p->clip = ir_attr_float(n, "clip", 0.0f);
    p->input_forget = n->op == OP_LSTM && ir_attr_int(n, "input_forget", 0) != 0;
    p->linear_before_reset = n->op == OP_GRU && ir_attr_int(n, "linear_before_reset", 0) != 0;
    if (p->layout != 0 && p->layout != 1)
        return diag_node(d, WR_EPARSE, n, "layout must be 0 or 1, not %d", p->layout);
    if (p->clip < 0.0f || isnan(p->clip))
        return diag_node(d, WR_EPARSE, n, "clip must be positive");
    return parse_acts(n, k, p, d);
}

/* ---- shapes ---- */

static Status want(const Node *n, int i, int ndim, const int64_t *dim, Diag *d)
{
    const Tensor *t = i < n->nin ? n->in[i] : NULL;
    char s[128];
    if (!t)
        return WR_OK;
    bool ok = t->ndim == ndim;
    for (int k = 0; ok && k < ndim; k++)
        ok = t->dim[k] == dim[k];
    if (!ok) {
        char w[128] = "";
        for (int k = 0, m = 0; k < ndim && m < (int)sizeof w; k++)
            m += snprintf(w + m, sizeof w - (size_t)m, "%s%lld", k ? "x" : "", (long long)dim[k]);
        return diag_node(d, WR_ESHAPE, n, "input %d ('%s') is %s, expected %s", i, t->name,
                         ir_shape_str(t, s, sizeof s), w);
    }
    if (i != 4 && t->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "input %d ('%s') is %s: recurrent layers "
                         "compute in float32", i, t->name, dtype_info[t->dtype].name);
    if (i == 4 && t->dtype != DT_I32)
        return diag_node(d, WR_EPARSE, n, "sequence_lens must be int32");
    return WR_OK;
}

static Status check_shapes(Node *n, RnnParams *p, Diag *d)
{
    const Tensor *X = n->in[0], *R = n->in[2];
    if (X->ndim != 3 || R->ndim != 3)
        return diag_node(d, WR_ESHAPE, n, "X and R must have rank 3");
    p->T = X->dim[p->layout ? 1 : 0];
    p->B = X->dim[p->layout ? 0 : 1];
    p->I = X->dim[2];
    p->H = R->dim[2];
    int64_t hs = ir_attr_int(n, "hidden_size", p->H);
    if (hs != p->H || p->H < 1 || p->T < 1 || p->B < 1 || p->I < 1)
        return diag_node(d, WR_ESHAPE, n, "hidden_size %lld with R's last dim %lld, %lld steps, "
                         "batch %lld, input size %lld: all must be positive and agree",
                         (long long)hs, (long long)p->H, (long long)p->T, (long long)p->B,
                         (long long)p->I);
    int64_t D = p->D, GH = p->G * p->H, B = p->B, H = p->H;
    int64_t st[3] = {p->layout ? B : D, p->layout ? D : B, H};
    WR_TRY(want(n, 0, 3, X->dim, d));
    WR_TRY(want(n, 1, 3, (int64_t[]){D, GH, p->I}, d));
    WR_TRY(want(n, 2, 3, (int64_t[]){D, GH, H}, d));
    WR_TRY(want(n, 3, 2, (int64_t[]){D, 2 * GH}, d));
    WR_TRY(want(n, 4, 1, (int64_t[]){B}, d));
    WR_TRY(want(n, 5, 3, st, d));
    WR_TRY(want(n, 6, 3, st, d));
    return want(n, 7, 2, (int64_t[]){D, 3 * H}, d);
}

/* Output slot max_out (past the ONNX outputs) is the kernel's scratch
 * (ir/scratch.c). */
static void scratch_output(Graph *g, Node *n, const RnnParams *p)
{
    RnnScratch s;
    rnn_scratch_layout(p, &s);
    ir_node_add_scratch(g, n, DT_F32, s.total);
}

Status op_rnn_infer(Graph *g, Node *n, Diag *d)
{
    const RnnKind *k = kind_of(n);
    RnnParams *p = arena_alloc(&g->arena, sizeof *p);
    WR_TRY(parse_attrs(n, k, p, d));
    WR_TRY(check_shapes(n, p, d));
    if (n->op != OP_LSTM && n->nin > 6)
        return diag_node(d, WR_EPARSE, n, "has %d inputs, expected at most 6", n->nin);
    int64_t T = p->T, D = p->D, B = p->B, H = p->H;
    int64_t y[4] = {T, D, B, H}, yl[4] = {B, T, D, H};
    int64_t yh[3] = {D, B, H}, yhl[3] = {B, D, H};
    if (n->nout > 0 && n->out[0])
        ir_tensor_set_shape(n->out[0], DT_F32, 4, p->layout ? yl : y);
    for (int i = 1; i < n->nout && i < op_info[n->op].max_out; i++)
        if (n->out[i])
            ir_tensor_set_shape(n->out[i], DT_F32, 3, p->layout ? yhl : yh);
    scratch_output(g, n, p);
    n->priv = p;
    return WR_OK;
}

/* ---- reference eval ---- */

/* Element (d, b) of a (D, B, H) state tensor in layout 0 or (B, D, H) in layout 1. */
static int64_t state_at(const RnnParams *p, int d, int64_t b)
{
    return (p->layout ? b * p->D + d : d * p->B + b) * p->H;
}

/* Offset of Y's row (t, d, b) in floats. */
static int64_t y_at(const RnnParams *p, int64_t t, int d, int64_t b)
{
    return (p->layout ? (b * p->T + t) * p->D + d : (t * p->D + d) * p->B + b) * p->H;
}

static float act(const RnnAct *a, float x, float clip)
{
    if (clip > 0.0f)
        x = x < -clip ? -clip : (x > clip ? clip : x);
    return rnn_act_info[a->kind].ref(x, a->alpha, a->beta);
}

/* One direction's operands. */
typedef struct Dir {
    const float *X, *W, *R, *Wb, *Rb, *P;
    const int32_t *len;
    float *h, *c, *g, *rh; /* state (B, H), gate pre-activations (G*H), GRU r*h (H) */
} Dir;

/* Row n of M (rows of K) dotted with v, plus the bias (NULL: none). */
static float dot(const float *M, int64_t n, int64_t K, const float *v, const float *bias)
{
    float s = bias ? bias[n] : 0.0f;
    for (int64_t k = 0; k < K; k++)
        s += M[n * K + k] * v[k];
    return s;
}

/* Gate pre-activations: x . W^T + Wb (+ h . R^T + Rb except GRU's h gate). */
static void pre_acts(const Node *n, const RnnParams *p, const Dir *r, const float *x, float *h)
{
    int64_t GH = p->G * p->H;
    for (int64_t j = 0; j < GH; j++) {
        r->g[j] = dot(r->W, j, p->I, x, r->Wb);
        if (n->op != OP_GRU || j < 2 * p->H)
            r->g[j] += dot(r->R, j, p->H, h, r->Rb);
    }
}

static void lstm_cell(const RnnParams *p, const RnnAct *a, const Dir *r, float *h, float *c)
{
    int64_t H = p->H;
    for (int64_t j = 0; j < H; j++) {
        float pi = r->P ? r->P[j] : 0.0f, po = r->P ? r->P[H + j] : 0.0f;
        float pf = r->P ? r->P[2 * H + j] : 0.0f;
        float i = act(&a[0], r->g[j] + pi * c[j], p->clip);
        float f = p->input_forget ? 1.0f - i : act(&a[0], r->g[2 * H + j] + pf * c[j], p->clip);
        float cc = act(&a[1], r->g[3 * H + j], p->clip);
        c[j] = f * c[j] + i * cc;
        float o = act(&a[0], r->g[H + j] + po * c[j], p->clip);
        h[j] = o * act(&a[2], c[j], 0.0f);
    }
}

static void gru_cell(const RnnParams *p, const RnnAct *a, const Dir *r, float *h)
{
    int64_t H = p->H;
    for (int64_t j = 0; j < H; j++)
        r->rh[j] = act(&a[0], r->g[H + j], p->clip) * h[j]; /* r * h */
    for (int64_t j = 0; j < H; j++) {
        float rb = r->Rb ? r->Rb[2 * H + j] : 0.0f, hr;
        if (p->linear_before_reset)
            hr = act(&a[0], r->g[H + j], p->clip) * (dot(r->R, 2 * H + j, H, h, NULL) + rb);
        else
            hr = dot(r->R, 2 * H + j, H, r->rh, NULL) + rb;
        r->g[2 * H + j] = act(&a[1], r->g[2 * H + j] + hr, p->clip);
    }
    for (int64_t j = 0; j < H; j++) {
        float z = act(&a[0], r->g[j], p->clip);
        h[j] = (1.0f - z) * r->g[2 * H + j] + z * h[j];
    }
}

static void step(const Node *n, const RnnParams *p, int d, const Dir *r, int64_t b, int64_t t,
                 float *Y)
{
    float *h = r->h + b * p->H, *c = r->c + b * p->H;
    const float *x = r->X + (p->layout ? b * p->T + t : t * p->B + b) * p->I;
    const RnnAct *a = p->act[d];
    pre_acts(n, p, r, x, h);
    if (n->op == OP_LSTM)
        lstm_cell(p, a, r, h, c);
    else if (n->op == OP_GRU)
        gru_cell(p, a, r, h);
    else
        for (int64_t j = 0; j < p->H; j++)
            h[j] = act(&a[0], r->g[j], p->clip);
    if (Y)
        memcpy(Y + y_at(p, t, d, b), h, sizeof(float) * (size_t)p->H);
}

/* Operands of direction d; state from initial_h / initial_c or zeros. */
static Dir dir_of(const Node *n, const RnnParams *p, int d, void *const *in, void *scratch)
{
    float *S = scratch;
    int64_t GH = p->G * p->H, dd = d;
    const float *Bias = n->nin > 3 ? in[3] : NULL, *P = n->nin > 7 ? in[7] : NULL;
    const float *h0 = n->nin > 5 ? in[5] : NULL, *c0 = n->nin > 6 ? in[6] : NULL;
    RnnScratch s;
    rnn_scratch_layout(p, &s);
    Dir r = {in[0], (const float *)in[1] + dd * GH * p->I, (const float *)in[2] + dd * GH * p->H,
             Bias ? Bias + dd * 2 * GH : NULL, Bias ? Bias + dd * 2 * GH + GH : NULL,
             P ? P + dd * 3 * p->H : NULL, n->nin > 4 ? in[4] : NULL,
             S + s.h, S + s.c, S + s.gates, S + s.rh};
    for (int64_t b = 0; b < p->B; b++)
        for (int64_t j = 0; j < p->H; j++) {
            r.h[b * p->H + j] = h0 ? h0[state_at(p, d, b) + j] : 0.0f;
            r.c[b * p->H + j] = c0 ? c0[state_at(p, d, b) + j] : 0.0f;
        }
    return r;
}

/* Steps of batch element b: sequence_lens[b] clamped to [0, T]. */
static int64_t steps(const RnnParams *p, const Dir *r, int64_t b)
{
    int64_t L = r->len ? r->len[b] : p->T;
    return L < 0 ? 0 : L > p->T ? p->T : L;
}

Status op_rnn_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const RnnParams *p = n->priv;
    int max = op_info[n->op].max_out;
    float *Y = n->nout > 0 ? out[0] : NULL, *S = out[max];
    if (Y)
        memset(Y, 0, (size_t)ir_tensor_bytes(n->out[0]));
    for (int dir = 0; dir < p->D; dir++) {
        Dir r = dir_of(n, p, dir, in, S);
        for (int64_t b = 0; b < p->B; b++)
            for (int64_t L = steps(p, &r, b), s = 0; s < L; s++)
                step(n, p, dir, &r, b, rnn_dir_reverse(p, dir) ? L - 1 - s : s, Y);
        for (int64_t b = 0; b < p->B; b++)
            for (int i = 1; i < 3 && i < max && i < n->nout; i++) {
                float *o = out[i] ? (float *)out[i] + state_at(p, dir, b) : NULL;
                if (o && steps(p, &r, b))
                    memcpy(o, (i == 1 ? r.h : r.c) + b * p->H, sizeof(float) * (size_t)p->H);
                else if (o) /* no step at all: zeros, as ONNX Runtime gives */
                    memset(o, 0, sizeof(float) * (size_t)p->H);
            }
    }
    return WR_OK;
}
