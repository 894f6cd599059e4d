/*
 * LinearAttention and CausalConvWithState (opset 27): the recurrent pieces
 * of linear-attention / state-space models, computed token by token.
 *   LinearAttention query (B, T, Hq*dk), key (B, T, Hkv*dk), value (B, T, Hkv*dv),
 *     [past_state (B, Hkv, dk, dv)], [decay (B, T, Hkv*dk or Hkv)], [beta (B, T, Hkv or 1)]
 *     -> output (B, T, Hq*dv), [present_state]; per token:
 *     S *= exp(g) (gated), v = beta * (v - S^T k) (delta), S += k v^T, o = scale q^T S
 *   CausalConvWithState input (B, C, L), weight (C, 1, k), [bias], [past_state (B, C, k-1)]
 *     -> output (B, C, L) (depthwise causal conv, optional SiLU), [present_state]
 * Parameters: LinAttnParams (ir/opparams.h); emitter codegen/kernels/linattn.c.
 */
#include "opparams.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const Tensor *opt_in(const Node *n, int k) { return k < n->nin ? n->in[k] : NULL; }

/* Input k as floats (present whenever the parameters say it is read). */
static const float *fin(void *const *in, int k)
{
    WR_ASSERT(in[k]);
    return in[k];
}

static Status rule_inputs(Node *n, LinAttnParams *p, Diag *d)
{
    static const char *rules[4] = {"linear", "gated", "delta", "gated_delta"};
    const char *r = ir_attr_str(n, "update_rule", "gated_delta");
    p->rule = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(r, rules[i]))
            p->rule = i;
    if (p->rule < 0)
        return diag_node(d, WR_EPARSE, n, "unknown update_rule '%s'", r);
    const Tensor *g = opt_in(n, 4), *b = opt_in(n, 5);
    if (!g != !(p->rule & 1) || !b != !(p->rule & 2))
        return diag_node(d, WR_EPARSE, n, "update_rule '%s' needs decay %s and beta %s", r,
                         p->rule & 1 ? "given" : "absent", p->rule & 2 ? "given" : "absent");
    if (g && (g->ndim != 3 || g->dim[0] != p->B || g->dim[1] != p->T ||
              (g->dim[2] != p->Hkv && g->dim[2] != p->Hkv * p->dk)))
        return diag_node(d, WR_ESHAPE, n, "decay must be (B, T, kv heads [* dk])");
    if (b && (b->ndim != 3 || b->dim[0] != p->B || b->dim[1] != p->T ||
              (b->dim[2] != p->Hkv && b->dim[2] != 1)))
        return diag_node(d, WR_ESHAPE, n, "beta must be (B, T, kv heads or 1)");
    p->decay_k = g && g->dim[2] == p->Hkv * p->dk && p->dk > 1;
    p->beta1 = b && b->dim[2] == 1 && p->Hkv > 1;
    return WR_OK;
}

Status op_linattn_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *Q = n->in[0], *K = n->in[1], *V = n->in[2], *S = opt_in(n, 3);
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && n->in[i]->dtype != DT_F32)
            return diag_node(d, WR_EUNSUPPORTED, n, "only float32 (or narrower) is supported");
    WR_ASSERT(Q && K && V); /* required inputs (checked by ir_infer) */
    LinAttnParams *p = arena_alloc(&g->arena, sizeof *p);
    p->Hq = ir_attr_int(n, "q_num_heads", 0), p->Hkv = ir_attr_int(n, "kv_num_heads", 0);
    if (Q->ndim != 3 || K->ndim != 3 || V->ndim != 3 || p->Hq < 1 || p->Hkv < 1 ||
        p->Hq % p->Hkv || Q->dim[2] % p->Hq || V->dim[2] % p->Hkv)
        return diag_node(d, WR_ESHAPE, n, "query/key/value must be (B, T, heads * size) with "
                                          "q_num_heads a multiple of kv_num_heads");
    p->B = Q->dim[0], p->T = Q->dim[1], p->dk = Q->dim[2] / p->Hq, p->dv = V->dim[2] / p->Hkv;
    if (K->dim[0] != p->B || K->dim[1] != p->T || K->dim[2] != p->Hkv * p->dk ||
        V->dim[0] != p->B || V->dim[1] != p->T)
        return diag_node(d, WR_ESHAPE, n, "key and value do not match the query");
    WR_TRY(rule_inputs(n, p, d));
    int64_t sd[4] = {p->B, p->Hkv, p->dk, p->dv};
    p->past = S != NULL;
    if (S && ir_shape_numel(4, sd) != ir_tensor_numel(S))
        return diag_node(d, WR_ESHAPE, n, "past_state must be (B, kv heads, dk, dv)");
    float sc = ir_attr_float(n, "scale", 0.0f);
    p->scale = sc != 0.0f ? sc : (float)(1.0 / sqrt((double)p->dk));
    ir_tensor_set_shape(n->out[0], DT_F32, 3, (int64_t[]){p->B, p->T, p->Hq * p->dv});
    bool present = n->nout > 1 && n->out[1];
    if (present)
        ir_tensor_set_shape(n->out[1], DT_F32, 4, sd);
    ir_node_add_scratch(g, n, DT_F32, (present ? 0 : ir_shape_numel(4, sd)) + p->dv);
    p->scratch = n->nout - 1;
    n->priv = p;
    return WR_OK;
}

/* One token t of (b, h): state update and the outputs of its query heads. */
static void token_ref(const LinAttnParams *p, void *const *in, float *S, float *vv, float *out,
                      int64_t b, int64_t h, int64_t t)
{
    const float *k = fin(in, 1) + (b * p->T + t) * p->Hkv * p->dk + h * p->dk;
    const float *v = fin(in, 2) + (b * p->T + t) * p->Hkv * p->dv + h * p->dv;
    const float *g = p->rule & 1 ? fin(in, 4) + (b * p->T + t) *
                                   (p->decay_k ? p->Hkv * p->dk : p->Hkv) : NULL;
    for (int64_t i = 0; i < p->dk && g; i++) {
        float e = expf(g[p->decay_k ? h * p->dk + i : h]);
        for (int64_t m = 0; m < p->dv; m++)
            S[i * p->dv + m] *= e;
    }
    for (int64_t m = 0; m < p->dv; m++) {
        double r = 0.0;
        for (int64_t i = 0; i < p->dk && (p->rule & 2); i++)
            r += (double)S[i * p->dv + m] * k[i];
        int64_t bi = (b * p->T + t) * (p->beta1 ? 1 : p->Hkv) + (p->beta1 ? 0 : h);
        float beta = p->rule & 2 ? fin(in, 5)[bi] : 1.0f;
        vv[m] = p->rule & 2 ? beta * (v[m] - (float)r) : v[m];
    }
    for (int64_t i = 0; i < p->dk; i++)
        for (int64_t m = 0; m < p->dv; m++)
            S[i * p->dv + m] += k[i] * vv[m];
    int64_t grp = p->Hq / p->Hkv;
    for (int64_t hq = h * grp; hq < (h + 1) * grp; hq++) {
        const float *q = fin(in, 0) + (b * p->T + t) * p->Hq * p->dk + hq * p->dk;
        for (int64_t m = 0; m < p->dv; m++) {
            double s = 0.0;
            for (int64_t i = 0; i < p->dk; i++)
                s += (double)q[i] * S[i * p->dv + m];
            out[(b * p->T + t) * p->Hq * p->dv + hq * p->dv + m] = p->scale * (float)s;
        }
    }
}

Status op_linattn_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    const LinAttnParams *p = n->priv;
    int64_t ss = p->dk * p->dv;
    bool present = n->nout > 1 && n->out[1]; /* the scratch is slot 2 (ir/scratch.c) */
    /* zeroed: the analyzer does not follow the state's initialisation loop below */
    float *st = calloc((size_t)(p->B * p->Hkv * ss + p->dv + 1), sizeof *st);
    if (!st)
        return diag_node(d, WR_ENOMEM, n, "out of memory");
    float *vv = st + p->B * p->Hkv * ss;
    void *xin[6] = {NULL};
    for (int i = 0; i < n->nin && i < 6; i++)
        xin[i] = in[i];
    for (int64_t b = 0; b < p->B; b++)
        for (int64_t h = 0; h < p->Hkv; h++) {
            float *S = st + (b * p->Hkv + h) * ss;
            for (int64_t i = 0; i < ss; i++)
                S[i] = p->past ? ((const float *)in[3])[(b * p->Hkv + h) * ss + i] : 0.0f;
            for (int64_t t = 0; t < p->T; t++)
                token_ref(p, xin, S, vv, out[0], b, h, t);
        }
    if (present)
        memcpy(out[1], st, sizeof *st * (size_t)(p->B * p->Hkv * ss));
    free(st);
    return WR_OK;
}

/* ---- CausalConvWithState ---- */

Status op_causalconv_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *W = n->in[1], *B = opt_in(n, 2), *S = opt_in(n, 3);
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && n->in[i]->dtype != DT_F32)
            return diag_node(d, WR_EUNSUPPORTED, n, "only float32 (or narrower) is supported");
    WR_ASSERT(X && W);
    if (X->ndim != 3 || W->ndim != 3 || W->dim[0] != X->dim[1] || W->dim[1] != 1 || W->dim[2] < 1)
        return diag_node(d, WR_ESHAPE, n, "input (B, C, L) and weight (C, 1, k) disagree");
    LinAttnParams *p = arena_alloc(&g->arena, sizeof *p);
    p->B = X->dim[0], p->Hq = X->dim[1], p->T = X->dim[2], p->dk = W->dim[2];
    if (B && ir_tensor_numel(B) != p->Hq)
        return diag_node(d, WR_ESHAPE, n, "bias must have %lld elements", (long long)p->Hq);
    int64_t sd[3] = {p->B, p->Hq, p->dk - 1};
    if (S && ir_tensor_numel(S) != ir_shape_numel(3, sd))
        return diag_node(d, WR_ESHAPE, n, "past_state must be (B, C, k - 1)");
    const char *act = ir_attr_str(n, "activation", "none");
    if (strcmp(act, "none") != 0 && strcmp(act, "silu") != 0 && strcmp(act, "swish") != 0)
        return diag_node(d, WR_EPARSE, n, "activation must be none, silu or swish");
    p->silu = strcmp(act, "none") != 0;
    p->past = S != NULL;
    p->scratch = -1;
    ir_tensor_set_shape(n->out[0], DT_F32, 3, X->dim);
    if (n->nout > 1 && n->out[1])
        ir_tensor_set_shape(n->out[1], DT_F32, 3, sd);
    n->priv = p;
    return WR_OK;
}

/* Element j of the padded sequence (k - 1 state values, then the input). */
static float padded(const LinAttnParams *p, void *const *in, int64_t b, int64_t c, int64_t j)
{
    int64_t k1 = p->dk - 1;
    if (j >= k1)
        return ((const float *)in[0])[(b * p->Hq + c) * p->T + j - k1];
    return p->past ? ((const float *)in[3])[(b * p->Hq + c) * k1 + j] : 0.0f;
}

Status op_causalconv_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const LinAttnParams *p = n->priv;
    const float *W = in[1], *bias = n->nin > 2 && n->in[2] ? in[2] : NULL;
    for (int64_t b = 0; b < p->B; b++)
        for (int64_t c = 0; c < p->Hq; c++) {
            for (int64_t t = 0; t < p->T; t++) {
                double s = bias ? bias[c] : 0.0;
                for (int64_t j = 0; j < p->dk; j++)
                    s += (double)W[c * p->dk + j] * padded(p, in, b, c, t + j);
                float y = (float)s;
                ((float *)out[0])[(b * p->Hq + c) * p->T + t] =
                    p->silu ? y / (1.0f + expf(-y)) : y;
            }
            for (int64_t j = 0; n->nout > 1 && out[1] && j < p->dk - 1; j++)
                ((float *)out[1])[(b * p->Hq + c) * (p->dk - 1) + j] =
                    padded(p, in, b, c, p->T + j);
        }
    return WR_OK;
}
