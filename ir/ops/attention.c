/*
 * Attention (opset 23, 24, 25): scaled dot-product attention with
 * multi-head, grouped-query and multi-query heads, a past key/value cache,
 * boolean or additive masks, causal and sliding-window masking,
 * nonpad_kv_seqlen (external cache), softcap and the qk_matmul_output modes.
 *   Q (B, Hq, Sq, D) or (B, Sq, Hq*D); K (B, Hkv, Skv, D); V (B, Hkv, Skv, Dv)
 *   [attn_mask (.., Sq, <= T)] [past_key (B, Hkv, P, D), past_value] [nonpad (B)]
 *   -> Y like Q with Dv, [present_key (B, Hkv, T, D), present_value], [qk (B, Hq, Sq, T)]
 * Semantics follow the onnx reference (onnx/reference/ops/op_attention.py);
 * parameters in AttentionParams (ir/opparams.h). Emitter:
 * codegen/kernels/attention.c (both products on the packed fp32 GEMM).
 */
#include "opparams.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Heads, lengths and head sizes from Q, K, V (3-D inputs need the head counts). */
static Status heads(Node *n, AttentionParams *p, Diag *d)
{
    const Tensor *Q = n->in[0], *K = n->in[1], *V = n->in[2];
    p->B = Q->dim[0];
    if (!p->in3d) {
        p->Hq = Q->dim[1], p->Sq = Q->dim[2], p->D = Q->dim[3];
        p->Hkv = K->dim[1], p->Skv = K->dim[2], p->Dv = V->dim[3];
        if (K->dim[3] != p->D || V->dim[1] != p->Hkv || V->dim[2] != p->Skv)
            return diag_node(d, WR_ESHAPE, n, "K and V do not match Q's heads and sizes");
    } else {
        p->Hq = ir_attr_int(n, "q_num_heads", 0);
        p->Hkv = ir_attr_int(n, "kv_num_heads", 0);
        if (p->Hq < 1 || p->Hkv < 1 || Q->dim[2] % p->Hq || K->dim[2] % p->Hkv ||
            V->dim[2] % p->Hkv)
            return diag_node(d, WR_EPARSE, n, "3-D inputs need q_num_heads and kv_num_heads "
                                              "dividing the hidden sizes");
        p->Sq = Q->dim[1], p->D = Q->dim[2] / p->Hq;
        p->Skv = K->dim[1], p->Dv = V->dim[2] / p->Hkv;
        if (K->dim[2] / p->Hkv != p->D || V->dim[1] != p->Skv)
            return diag_node(d, WR_ESHAPE, n, "K and V do not match Q's heads and sizes");
    }
    if (K->dim[0] != p->B || V->dim[0] != p->B)
        return diag_node(d, WR_ESHAPE, n, "Q, K and V have different batch sizes");
    if (p->Hq % p->Hkv)
        return diag_node(d, WR_ESHAPE, n, "%lld query heads are not a multiple of %lld KV heads",
                         (long long)p->Hq, (long long)p->Hkv);
    if (p->D < 1)
        return diag_node(d, WR_EUNSUPPORTED, n, "empty heads are not supported");
    return WR_OK;
}

/* past_key / past_value (B, Hkv, P, D / Dv), both or neither. */
static Status past(Node *n, AttentionParams *p, Diag *d)
{
    const Tensor *pk = n->nin > 4 ? n->in[4] : NULL, *pv = n->nin > 5 ? n->in[5] : NULL;
    if (!pk != !pv)
        return diag_node(d, WR_EPARSE, n, "past_key and past_value must be given together");
    p->P = 0;
    if (pk) {
        if (pk->ndim != 4 || pv->ndim != 4 || pk->dim[0] != p->B || pk->dim[1] != p->Hkv ||
            pk->dim[3] != p->D || pv->dim[0] != p->B || pv->dim[1] != p->Hkv ||
            pv->dim[2] != pk->dim[2] || pv->dim[3] != p->Dv)
            return diag_node(d, WR_ESHAPE, n, "past_key/past_value shapes do not match K and V");
        if (pk->dtype != DT_F32 || pv->dtype != DT_F32)
            return diag_node(d, WR_EUNSUPPORTED, n, "past key/value must be float32");
        p->P = pk->dim[2];
    }
    p->T = p->P + p->Skv;
    if (p->T < 1)
        return diag_node(d, WR_EUNSUPPORTED, n, "an empty key sequence is not supported");
    return WR_OK;
}

/* attn_mask: bool or float, right-aligned against (B, Hq, Sq, T), last dim <= T. */
static Status mask(Node *n, AttentionParams *p, Diag *d)
{
    const Tensor *m = n->nin > 3 ? n->in[3] : NULL;
    p->mask = 0;
    if (!m)
        return WR_OK;
    if (m->dtype != DT_BOOL && m->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "attn_mask must be bool or float, not %s",
                         dtype_info[m->dtype].name);
    if (m->ndim < 1 || m->ndim > 4)
        return diag_node(d, WR_ESHAPE, n, "attn_mask must have rank 1 to 4");
    p->mask = m->dtype == DT_BOOL ? 1 : 2;
    const int64_t full[4] = {p->B, p->Hq, p->Sq, p->T};
    int64_t st = 1;
    memset(p->mstride, 0, sizeof p->mstride);
    for (int k = m->ndim - 1; k >= 0; k--) {
        int a = 4 - m->ndim + k;
        int64_t v = m->dim[k];
        bool ok = a == 3 ? v <= p->T : (v == 1 || v == full[a]);
        if (!ok)
            return diag_node(d, WR_ESHAPE, n, "attn_mask dim %d (%lld) does not broadcast", k,
                             (long long)v);
        p->mstride[a] = v == 1 && a < 3 ? 0 : st;
        st *= v;
    }
    p->mlen = m->dim[m->ndim - 1];
    if (p->mlen == 1 && p->T > 1)
        p->mstride[3] = 0, p->mlen = p->T; /* a size-1 key dim broadcasts */
    return WR_OK;
}

static Status attrs(Node *n, AttentionParams *p, Diag *d)
{
    float sc = ir_attr_float(n, "scale", 0.0f);
    p->scale = ir_attr_find(n, "scale") ? sc : (float)(1.0 / sqrt((double)p->D));
    p->softcap = ir_attr_float(n, "softcap", 0.0f);
    p->causal = ir_attr_int(n, "is_causal", 0) != 0;
    p->mode = (int)ir_attr_int(n, "qk_matmul_output_mode", 0);
    p->lwin = ir_attr_int(n, "left_window_size", -1);
    p->rwin = ir_attr_int(n, "right_window_size", -1);
    if (p->mode < 0 || p->mode > 3 || p->lwin < -1 || p->rwin < -1 || p->softcap < 0)
        return diag_node(d, WR_EPARSE, n, "qk_matmul_output_mode, softcap or a window size "
                                          "is out of range");
    p->nonpad = n->nin > 6 && n->in[6];
    if (p->nonpad && (n->in[6]->dtype != DT_I64 || ir_tensor_numel(n->in[6]) != p->B))
        return diag_node(d, WR_ESHAPE, n, "nonpad_kv_seqlen must be int64 of shape (batch)");
    if (p->nonpad && p->P)
        return diag_node(d, WR_EPARSE, n, "nonpad_kv_seqlen cannot be used with a past cache");
    return WR_OK;
}

static void set_outputs(Graph *g, Node *n, AttentionParams *p)
{
    int64_t y[4] = {p->B, p->Hq, p->Sq, p->Dv};
    if (p->in3d)
        ir_tensor_set_shape(n->out[0], DT_F32, 3, (int64_t[]){p->B, p->Sq, p->Hq * p->Dv});
    else
        ir_tensor_set_shape(n->out[0], DT_F32, 4, y);
    int64_t pk[4] = {p->B, p->Hkv, p->T, p->D}, pv[4] = {p->B, p->Hkv, p->T, p->Dv};
    int64_t qk[4] = {p->B, p->Hq, p->Sq, p->T};
    const int64_t *shape[4] = {NULL, pk, pv, qk};
    for (int k = 1; k < n->nout && k < 4; k++)
        if (n->out[k])
            ir_tensor_set_shape(n->out[k], DT_F32, 4, shape[k]);
    /* scores of one head, then the present key/value when built from a past cache */
    bool kbuf = p->P && !(n->nout > 1 && n->out[1]);
    bool vbuf = p->P && !(n->nout > 2 && n->out[2]);
    int64_t kv = p->B * p->Hkv * p->T;
    ir_node_add_scratch(g, n, DT_F32,
                        p->Sq * p->T + (kbuf ? kv * p->D : 0) + (vbuf ? kv * p->Dv : 0));
    p->scratch = n->nout - 1;
}

Status op_attention_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *Q = n->in[0], *K = n->in[1], *V = n->in[2];
    if (Q->dtype != DT_F32 || K->dtype != DT_F32 || V->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "Q, K and V must be float32 (or narrower floats)");
    if ((Q->ndim != 3 && Q->ndim != 4) || K->ndim != Q->ndim || V->ndim != Q->ndim)
        return diag_node(d, WR_ESHAPE, n, "Q, K and V must all be 3-D or all 4-D");
    AttentionParams *p = arena_alloc(&g->arena, sizeof *p);
    p->in3d = Q->ndim == 3;
    WR_TRY(heads(n, p, d));
    WR_TRY(past(n, p, d));
    WR_TRY(mask(n, p, d));
    WR_TRY(attrs(n, p, d));
    set_outputs(g, n, p);
    n->priv = p;
    return WR_OK;
}

/* ---- reference ---- */

/* Element offset of (b, head h, row s, e) in a Q/K/V-layout tensor with H heads,
 * S rows and E values per head. */
static int64_t qkv_off(const AttentionParams *p, int64_t H, int64_t S, int64_t E, int64_t b,
                       int64_t h, int64_t s, int64_t e)
{
    return p->in3d ? ((b * S + s) * H + h) * E + e : ((b * H + h) * S + s) * E + e;
}

/* Input k as floats (present whenever the parameters say it is read). */
static const float *fin(void *const *in, int k)
{
    WR_ASSERT(in[k]);
    return in[k];
}

/* Key or value (kv = 1: K, 2: V) t of KV head k, from the past cache or the input. */
static float kv_at(const AttentionParams *p, void *const *in, int kv, int64_t b, int64_t k,
                   int64_t t, int64_t e)
{
    int64_t E = kv == 1 ? p->D : p->Dv;
    if (t < p->P)
        return fin(in, 3 + kv)[((b * p->Hkv + k) * p->P + t) * E + e];
    return fin(in, kv)[qkv_off(p, p->Hkv, p->Skv, E, b, k, t - p->P, e)];
}

/* The additive bias of key j for query i of (b, h): 0, a float mask value or -inf. */
static double bias_at(const AttentionParams *p, void *const *in, int64_t b, int64_t h,
                      int64_t i, int64_t j)
{
    const int64_t *np = p->nonpad ? in[6] : NULL;
    int64_t off = np ? np[b] - p->Sq : p->P, dd = i + off - j;
    if ((p->causal && dd < 0) || (p->lwin >= 0 && dd > p->lwin) || (p->rwin >= 0 && -dd > p->rwin))
        return -INFINITY;
    if ((np && j >= np[b]) || (p->mask && j >= p->mlen))
        return -INFINITY;
    int64_t mi = b * p->mstride[0] + h * p->mstride[1] + i * p->mstride[2] + j * p->mstride[3];
    if (p->mask == 1)
        return ((const uint8_t *)fin(in, 3))[mi] ? 0.0 : -INFINITY;
    return p->mask == 2 ? (double)fin(in, 3)[mi] : 0.0;
}

/* One query row: scores with softcap and bias (captured per mode into qk),
 * then softmax in place; a fully masked row becomes 0. */
static void row_ref(const AttentionParams *p, void *const *in, int64_t b, int64_t h, int64_t i,
                    double *r, float *qk)
{
    bool any = false;
    double mx = -INFINITY, sum = 0.0;
    for (int64_t j = 0; j < p->T; j++) {
        double v = r[j], bias = bias_at(p, in, b, h, i, j);
        if (qk && p->mode == 0)
            qk[j] = (float)v;
        if (p->softcap > 0)
            v = (double)p->softcap * tanh(v / (double)p->softcap);
        if (qk && p->mode == 1)
            qk[j] = (float)v;
        v = bias == -INFINITY ? -INFINITY : v + bias;
        if (qk && p->mode == 2)
            qk[j] = (float)v;
        any |= bias != -INFINITY;
        mx = v > mx ? v : mx;
        r[j] = v;
    }
    for (int64_t j = 0; j < p->T; j++)
        sum += r[j] = any && mx != -INFINITY ? exp(r[j] - mx) : 0.0;
    for (int64_t j = 0; j < p->T; j++) {
        r[j] = sum > 0 ? r[j] / sum : 0.0;
        if (qk && p->mode == 3)
            qk[j] = (float)r[j];
    }
}

/* Scores, softmax and output of query head h of batch b. */
static void head_ref(const AttentionParams *p, void *const *in, void *const *out, int64_t b,
                     int64_t h, double *r)
{
    int64_t k = h / (p->Hq / p->Hkv);
    float *Y = out[0], *qk = out[3];
    WR_ASSERT(Y);
    for (int64_t i = 0; i < p->Sq; i++) {
        double *ri = r + i * p->T;
        for (int64_t j = 0; j < p->T; j++) {
            double s = 0.0;
            for (int64_t e = 0; e < p->D; e++)
                s += (double)fin(in, 0)[qkv_off(p, p->Hq, p->Sq, p->D, b, h, i, e)] *
                     kv_at(p, in, 1, b, k, j, e);
            ri[j] = s * p->scale;
        }
        row_ref(p, in, b, h, i, ri, qk ? qk + ((b * p->Hq + h) * p->Sq + i) * p->T : NULL);
        for (int64_t e = 0; e < p->Dv; e++) {
            double s = 0.0;
            for (int64_t j = 0; j < p->T; j++)
                s += ri[j] * kv_at(p, in, 2, b, k, j, e);
            Y[qkv_off(p, p->Hq, p->Sq, p->Dv, b, h, i, e)] = (float)s;
        }
    }
}

Status op_attention_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    const AttentionParams *p = n->priv;
    void *xin[7] = {NULL}, *xout[4] = {NULL};
    for (int k = 0; k < 7 && k < n->nin; k++)
        xin[k] = in[k];
    for (int k = 0; k < 4 && k < n->nout && k != p->scratch; k++)
        xout[k] = n->out[k] ? out[k] : NULL;
    double *r = malloc(sizeof(double) * (size_t)(p->Sq * p->T + 1));
    if (!r)
        return diag_node(d, WR_ENOMEM, n, "out of memory");
    for (int64_t b = 0; b < p->B; b++) {
        for (int64_t k = 0; k < p->Hkv; k++)
            for (int64_t t = 0; t < p->T; t++) {
                for (int64_t e = 0; e < p->D && xout[1]; e++)
                    ((float *)xout[1])[((b * p->Hkv + k) * p->T + t) * p->D + e] =
                        kv_at(p, xin, 1, b, k, t, e);
                for (int64_t e = 0; e < p->Dv && xout[2]; e++)
                    ((float *)xout[2])[((b * p->Hkv + k) * p->T + t) * p->Dv + e] =
                        kv_at(p, xin, 2, b, k, t, e);
            }
        for (int64_t h = 0; h < p->Hq; h++)
            head_ref(p, xin, xout, b, h, r);
    }
    free(r);
    return WR_OK;
}
