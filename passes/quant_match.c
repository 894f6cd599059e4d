/*
 * quant_match.c: the pattern matchers behind passes/quantize.c (declared in
 * quant_match.h). They only read the graph: hand-written WRPN fake-quant activations
 * (Clip(0, 1) -> Mul(N) -> Round -> Div(N) | Mul(1/N), wrpn.md section 2 item 4),
 * ops through which codes can flow instead of values (MaxPool, Flatten, Reshape),
 * BatchNormalization as a per-channel affine, and Gemm / MatMul weights as rows.
 * Weights written as fake-quant arithmetic need no matcher: they are constants,
 * folded at inference, and quantize.c recognizes the resulting grid.
 */
#include "quant_match.h"

#include <math.h>
#include <string.h>

static bool is_op(const Node *n, int op) { return n && n->op == op; }

static bool scalar_f32(const Tensor *t, float *v)
{
    if (!t || !t->data || t->dtype != DT_F32 || ir_tensor_numel(t) != 1)
        return false;
    *v = ((const float *)t->data)[0];
    return true;
}

/* n = Mul/Div(x, constant) (Mul in either order): the variable input and the constant. */
static bool by_const(const Node *n, int op, Tensor **x, float *v)
{
    if (!is_op(n, op) || n->nin != 2 || !n->in[0] || !n->in[1])
        return false;
    int k = scalar_f32(n->in[1], v) ? 0 : op == OP_MUL && scalar_f32(n->in[0], v) ? 1 : -1;
    if (k < 0 || n->in[k]->data || n->in[k]->dtype != DT_F32)
        return false;
    *x = n->in[k];
    return true;
}

/* Clip's bound: the attribute before opset 11, a constant input after (absent: none). */
static bool clip_bound(const Node *c, int slot, const char *attr, float *v)
{
    if (c->opset < 11) {
        const Attr *a = ir_attr_find(c, attr);
        *v = a ? a->f : NAN;
        return a != NULL;
    }
    return slot < c->nin && scalar_f32(c->in[slot], v);
}

bool qm_fake_act(const Node *tail, Tensor **x, int *bits)
{
    Tensor *r, *m, *c;
    float n1, n2, lo, hi;
    bool div = by_const(tail, OP_DIV, &r, &n2);
    if (!div && !by_const(tail, OP_MUL, &r, &n2))
        return false;
    const Node *round = r->producer;
    if (!is_op(round, OP_ROUND) || !by_const(round->in[0]->producer, OP_MUL, &m, &n1))
        return false;
    const Node *clip = m->producer;
    if (!is_op(clip, OP_CLIP) || !clip_bound(clip, 1, "min", &lo) ||
        !clip_bound(clip, 2, "max", &hi) || lo != 0.0f || hi != 1.0f)
        return false;
    c = clip->in[0];
    for (int k = 1; k <= 8; k++) {
        float N = (float)((1 << k) - 1);
        if (n1 == N && (div ? n2 == N : n2 == (float)(1.0 / N))) {
            *x = c;
            *bits = k;
            return c->dtype == DT_F32;
        }
    }
    return false;
}

bool qm_commutes(const Node *n)
{
    if (is_op(n, OP_MAX_POOL))
        return n->nout < 2 || !n->out[1] || (n->out[1]->nuse == 0 && n->out[1]->output_index < 0);
    if (is_op(n, OP_RESHAPE)) /* a constant shape: the twin on the codes infers the same */
        return n->opset < 5 || (n->nin > 1 && n->in[1] && n->in[1]->data);
    return is_op(n, OP_FLATTEN);
}

static bool vec_f32(const Tensor *t, int64_t len)
{
    return t && t->data && t->dtype == DT_F32 && t->ndim == 1 && t->dim[0] == len;
}

bool qm_bn(Node *bn, int64_t M, double *mgb)
{
    if (!is_op(bn, OP_BATCH_NORM) || bn->nin != 5 || ir_attr_int(bn, "training_mode", 0) != 0)
        return false;
    for (int j = 1; j < bn->nout; j++)
        if (bn->out[j] && (bn->out[j]->nuse > 0 || bn->out[j]->output_index >= 0))
            return false;
    for (int j = 1; j < 5; j++)
        if (!vec_f32(bn->in[j], M))
            return false;
    const float *g = bn->in[1]->data, *b = bn->in[2]->data, *mean = bn->in[3]->data,
                *var = bn->in[4]->data;
    double eps = ir_attr_float(bn, "epsilon", 1e-5f);
    for (int64_t c = 0; c < M; c++) { /* as op_batchnorm_eval computes */
        mgb[3 * c] = mean[c];
        mgb[3 * c + 1] = (double)g[c] / sqrt((double)var[c] + eps);
        mgb[3 * c + 2] = b[c];
    }
    return true;
}

/* Gemm's C times beta as M values, when it broadcasts along the rows. */
static bool fc_bias(Graph *g, const Tensor *C, int64_t M, float beta, float **bias)
{
    *bias = NULL;
    if (!C)
        return true;
    int64_t n = ir_tensor_numel(C);
    if (!C->data || C->dtype != DT_F32 || (n != 1 && (n != M || C->dim[C->ndim - 1] != M)))
        return false;
    *bias = arena_alloc(&g->arena, sizeof(float) * (size_t)M);
    for (int64_t m = 0; m < M; m++)
        (*bias)[m] = beta * ((const float *)C->data)[n == 1 ? 0 : m];
    return true;
}

bool qm_fc(Graph *g, Node *n, float **W, int64_t *M, int64_t *K, float *alpha,
           float **bias)
{
    bool gemm = is_op(n, OP_GEMM);
    if ((!gemm && !is_op(n, OP_MATMUL)) || n->in[0]->ndim != 2 || n->out[0]->dtype != DT_F32)
        return false;
    const Tensor *B = n->in[1];
    bool tb = gemm && ir_attr_int(n, "transB", 0) != 0;
    if ((gemm && ir_attr_int(n, "transA", 0) != 0) || !B->data || B->dtype != DT_F32 ||
        B->ndim != 2)
        return false;
    *M = B->dim[tb ? 0 : 1];
    *K = B->dim[tb ? 1 : 0];
    *alpha = gemm ? ir_attr_float(n, "alpha", 1.0f) : 1.0f;
    if (*M == 0 || *K == 0 || n->in[0]->dim[1] != *K ||
        !fc_bias(g, gemm && n->nin > 2 ? n->in[2] : NULL, *M,
                 ir_attr_float(n, "beta", 1.0f), bias))
        return false;
    const float *b = B->data;
    *W = arena_alloc(&g->arena, sizeof(float) * (size_t)(*M * *K));
    for (int64_t m = 0; m < *M; m++)
        for (int64_t k = 0; k < *K; k++)
            (*W)[m * *K + k] = tb ? b[m * *K + k] : b[k * *M + m];
    return true;
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

static bool is_layer(const Node *n)
{
    return (n->op == OP_CONV && n->in[0]->ndim == 4) || n->op == OP_GEMM || n->op == OP_MATMUL;
}

bool qm_eligible(const Graph *g, const PassOptions *opt, const Node *n, const char **why)
{
    const char *r = NULL;
    if (!is_layer(n))
        return false;
    if (opt && in_list(opt->keep_fp32, n->name))
        r = "kept float by --keep-fp32";
    else if (opt && opt->wbits && !opt->quantize_all) {
        int first = -1, last = -1;
        for (int i = 0; i < g->nnode; i++)
            if (is_layer(g->node[i])) {
                first = first < 0 && g->node[i]->op == OP_CONV ? i : first;
                last = i;
            }
        if (n->id == first || n->id == last)
            r = "first conv and last layer stay float (WRPN policy; --quantize-all)";
    }
    if (why)
        *why = r;
    return r == NULL;
}
