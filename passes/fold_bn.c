/*
 * fold_bn.c: folds an inference BatchNormalization into the Conv,
 * ConvTranspose or Gemm that feeds it alone, with constant weights:
 *   y = (x - mean) * s + beta,  s = scale / sqrt(var + eps)   per channel c
 *   W'[c-th output channel] = W * s[c],  B'[c] = (B[c] - mean[c]) * s[c] + beta[c]
 * Conv W is (M, C/g, k..); ConvTranspose W is (C, M/g, k..), output channel
 * (c / (C/g)) * (M/g) + j; Gemm Y = alpha A B + beta C is (rows, N), channel n.
 * New W' and B' constants are allocated, never written over (an initializer
 * may be shared). The producer takes over BN's output tensor, so a graph
 * output keeps its name. Skipped with PassOptions.no_fuse.
 */
#include "passes.h"

#include <math.h>
#include <string.h>

typedef struct Fold {
    Graph *g;
    Node *p, *bn;
    int nch;          /* output channels of p */
    double *s, *sh;   /* per channel: scale s and shift (beta - mean * s) */
} Fold;

static bool is_op(const Node *n, int op) { return n->op == op; }

static bool const_f32(const Tensor *t) { return t && t->data && t->dtype == DT_F32; }

static bool vec_of(const Tensor *t, int64_t len)
{
    return const_f32(t) && t->ndim == 1 && t->dim[0] == len;
}

static int64_t out_channels(const Node *p)
{
    const Tensor *y = p->out[0];
    return y && y->ndim >= 2 ? y->dim[1] : -1;
}

/* BN in inference form, with constant per-channel float parameters. */
static bool bn_foldable(Node *bn, int64_t c)
{
    for (int j = 1; j < bn->nout; j++)
        if (bn->out[j] && (bn->out[j]->nuse > 0 || bn->out[j]->output_index >= 0))
            return false;
    if (ir_attr_int(bn, "training_mode", 0) != 0 || bn->nin != 5)
        return false;
    for (int j = 1; j < 5; j++)
        if (!vec_of(bn->in[j], c))
            return false;
    return true;
}

/* Conv / ConvTranspose / Gemm with constant weights and bias, no epilogue. */
static bool producer_foldable(Node *p)
{
    if (p->act != ACT_NONE || !p->out[0] || p->out[0]->dtype != DT_F32)
        return false;
    if (is_op(p, OP_CONV) || is_op(p, OP_CONV_TRANSPOSE))
        return const_f32(p->in[1]) && (p->nin < 3 || !p->in[2] || const_f32(p->in[2]));
    if (is_op(p, OP_GEMM))
        return p->out[0]->ndim == 2 && const_f32(p->in[1]) && p->in[1]->ndim == 2 &&
               (p->nin < 3 || !p->in[2] || (const_f32(p->in[2]) && p->in[2]->ndim <= 2));
    return false;
}

static void bn_coeffs(Fold *f)
{
    const float *sc = f->bn->in[1]->data, *b = f->bn->in[2]->data, *mean = f->bn->in[3]->data,
                *var = f->bn->in[4]->data;
    double eps = ir_attr_float(f->bn, "epsilon", 1e-5f);
    f->s = arena_alloc(&f->g->arena, sizeof(double) * (size_t)f->nch);
    f->sh = arena_alloc(&f->g->arena, sizeof(double) * (size_t)f->nch);
    for (int c = 0; c < f->nch; c++) {
        f->s[c] = sc[c] / sqrt((double)var[c] + eps);
        f->sh[c] = b[c] - mean[c] * f->s[c];
    }
}

static Tensor *new_const(Graph *g, const Tensor *like, int ndim, const int64_t *dim)
{
    Tensor *t = ir_tensor_fresh(g, like->name);
    ir_tensor_set_shape(t, DT_F32, ndim, dim);
    ir_tensor_alloc_data(g, t);
    return t;
}

/* Sets input slot i, growing the input array when the optional slot is absent. */
static void set_input(Graph *g, Node *n, int i, Tensor *t)
{
    if (i >= n->nin) {
        // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
        Tensor **in = arena_alloc(&g->arena, sizeof *in * (size_t)(i + 1));
        // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
        memcpy(in, n->in, sizeof *in * (size_t)n->nin);
        n->in = in;
        n->nin = i + 1;
    }
    ir_node_set_input(n, i, t);
}

/* Conv and ConvTranspose: scale W along its output-channel axis, fold the bias. */
static void fold_conv(Fold *f, bool transpose)
{
    Node *p = f->p;
    const Tensor *W = p->in[1];
    const Tensor *B = p->nin > 2 ? p->in[2] : NULL;
    int64_t group = ir_attr_int(p, "group", 1), d0 = W->dim[0], d1 = W->dim[1];
    int64_t inner = ir_tensor_numel(W) / (d0 * d1);
    Tensor *W2 = new_const(f->g, W, W->ndim, W->dim);
    const float *w = W->data;
    float *w2 = W2->data;
    for (int64_t a = 0; a < d0; a++)
        for (int64_t b = 0; b < d1; b++) {
            int64_t c = transpose ? a / (d0 / group) * d1 + b : a;
            for (int64_t k = 0; k < inner; k++) {
                int64_t i = (a * d1 + b) * inner + k;
                w2[i] = (float)(w[i] * f->s[c]);
            }
        }
    int64_t m = f->nch;
    Tensor *B2 = new_const(f->g, B ? B : W, 1, &m);
    float *b2 = B2->data;
    for (int64_t c = 0; c < m; c++)
        b2[c] = (float)((B ? ((const float *)B->data)[c] : 0.0) * f->s[c] + f->sh[c]);
    set_input(f->g, p, 1, W2);
    set_input(f->g, p, 2, B2);
}

/* Element (r, c) of Gemm's C under unidirectional broadcasting to (rows, N). */
static double gemm_c_at(const Tensor *C, int64_t r, int64_t c)
{
    const float *v = C->data;
    if (C->ndim == 0)
        return v[0];
    int64_t cols = C->dim[C->ndim - 1], rows = C->ndim == 2 ? C->dim[0] : 1;
    return v[(rows == 1 ? 0 : r) * cols + (cols == 1 ? 0 : c)];
}

/* Overwrites a float attribute of n's own copy; an absent one keeps its default. */
static void set_float_attr(Node *n, const char *name, float v)
{
    for (int i = 0; i < n->nattr; i++)
        if (strcmp(n->attr[i].name, name) == 0 && n->attr[i].type == ATTR_FLOAT)
            n->attr[i].f = v;
}

/* Gemm: scale column n of op(B) by s[n]; C' = s * (beta C) + shift, beta := 1. */
static void fold_gemm(Fold *f)
{
    Node *p = f->p;
    const Tensor *Bm = p->in[1];
    const Tensor *C = p->nin > 2 ? p->in[2] : NULL;
    bool tb = ir_attr_int(p, "transB", 0) != 0;
    double beta = ir_attr_float(p, "beta", 1.0f);
    Tensor *B2 = new_const(f->g, Bm, 2, Bm->dim);
    const float *b = Bm->data;
    float *b2 = B2->data;
    for (int64_t r = 0; r < Bm->dim[0]; r++)
        for (int64_t c = 0; c < Bm->dim[1]; c++)
            b2[r * Bm->dim[1] + c] = (float)(b[r * Bm->dim[1] + c] * f->s[tb ? r : c]);
    int64_t rows = C && C->ndim == 2 && C->dim[0] > 1 ? p->out[0]->dim[0] : 1;
    int64_t dim[2] = {rows, f->nch};
    Tensor *C2 = rows > 1 ? new_const(f->g, C, 2, dim) : new_const(f->g, Bm, 1, dim + 1);
    float *c2 = C2->data;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < f->nch; c++)
            c2[r * f->nch + c] =
                (float)((C ? beta * gemm_c_at(C, r, c) : 0.0) * f->s[c] + f->sh[c]);
    set_float_attr(p, "beta", 1.0f); /* Gemm's default beta */
    set_input(f->g, p, 1, B2);
    set_input(f->g, p, 2, C2);
}

/* The producer writes BN's output tensor; BN is left without edges. */
static Status splice(Fold *f, Diag *d)
{
    Tensor *x = f->bn->in[0], *y = f->bn->out[0];
    for (int j = 0; j < f->bn->nin; j++)
        ir_node_set_input(f->bn, j, NULL);
    for (int j = 0; j < f->bn->nout; j++)
        f->bn->out[j] = NULL;
    f->p->out[0] = y;
    y->producer = f->p;
    x->producer = NULL;
    /* re-derive the producer's private parameters from its new inputs */
    return ir_infer_node(f->g, f->p, d);
}

static Status try_fold(Graph *g, Node *bn, Diag *d)
{
    Tensor *x = bn->in[0];
    if (!x || !x->producer || x->nuse != 1 || x->output_index >= 0 || x->data)
        return WR_OK;
    Fold f = {g, x->producer, bn, (int)out_channels(x->producer), NULL, NULL};
    if (f.p->out[0] != x || f.nch < 1 || !producer_foldable(f.p) || !bn_foldable(bn, f.nch) ||
        !bn->out[0] || bn->out[0]->ndim != x->ndim)
        return WR_OK;
    bn_coeffs(&f);
    if (is_op(f.p, OP_GEMM))
        fold_gemm(&f);
    else
        fold_conv(&f, is_op(f.p, OP_CONV_TRANSPOSE));
    return splice(&f, d);
}

Status pass_fold_bn(Graph *g, const PassOptions *opt, Diag *d)
{
    int bn = OP_BATCH_NORM;
    if (bn < 0 || (opt && opt->no_fuse))
        return WR_OK;
    int n0 = g->nnode;
    for (int i = 0; i < n0; i++)
        if (g->node[i]->op == bn)
            WR_TRY(try_fold(g, g->node[i], d));
    ir_graph_remove_dead(g);
    return WR_OK;
}
