/*
 * RotaryEmbedding (opset 23): rotates pairs of each head's first
 * rotary_embedding_dim values by position-dependent angles.
 *   X (B, H, S, D) or (B, S, H * D) with num_heads, cos_cache and sin_cache
 *   (max_pos, rd / 2) with position_ids (B, S), or (B, S, rd / 2) without
 *   -> Y like X
 * Parameters in RotaryParams (ir/opparams.h); emitter codegen/kernels/rotary.c.
 * A position outside the cache is clamped to its first or last row (the
 * generated code must not read outside it).
 */
#include "opparams.h"

static Status caches(Node *n, RotaryParams *p, Diag *d)
{
    const Tensor *c = n->in[1], *s = n->in[2];
    int64_t half = p->rd / 2;
    if (c->dtype != DT_F32 || s->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "the caches must be float32");
    if (c->ndim != s->ndim || ir_tensor_numel(c) != ir_tensor_numel(s) || c->ndim < 2 ||
        c->dim[c->ndim - 1] != half)
        return diag_node(d, WR_ESHAPE, n, "cos_cache and sin_cache must have last dim %lld",
                         (long long)half);
    p->pos = n->nin > 3 && n->in[3];
    p->rows = ir_tensor_numel(c) / (half ? half : 1);
    if (p->pos) {
        const Tensor *q = n->in[3];
        if (q->dtype != DT_I64 || ir_tensor_numel(q) != p->B * p->S || c->ndim != 2)
            return diag_node(d, WR_ESHAPE, n, "position_ids must be int64 (batch, sequence) "
                                              "with 2-D caches");
    } else if (p->rows != p->B * p->S) {
        return diag_node(d, WR_ESHAPE, n, "without position_ids the caches must be "
                                          "(batch, sequence, rotary_dim / 2)");
    }
    return WR_OK;
}

Status op_rotary_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    if (X->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 (or narrower floats) is supported");
    if (X->ndim != 3 && X->ndim != 4)
        return diag_node(d, WR_ESHAPE, n, "input must be 3-D or 4-D");
    RotaryParams *p = arena_alloc(&g->arena, sizeof *p);
    p->in3d = X->ndim == 3;
    p->B = X->dim[0];
    if (p->in3d) {
        p->H = ir_attr_int(n, "num_heads", 0);
        if (p->H < 1 || X->dim[2] % p->H)
            return diag_node(d, WR_EPARSE, n, "3-D input needs num_heads dividing its last dim");
        p->S = X->dim[1], p->D = X->dim[2] / p->H;
    } else {
        p->H = X->dim[1], p->S = X->dim[2], p->D = X->dim[3];
    }
    p->rd = ir_attr_int(n, "rotary_embedding_dim", 0);
    p->rd = p->rd ? p->rd : p->D;
    p->interleaved = ir_attr_int(n, "interleaved", 0) != 0;
    if (p->rd < 0 || p->rd > p->D || p->rd % 2)
        return diag_node(d, WR_EPARSE, n, "rotary_embedding_dim must be even and <= %lld",
                         (long long)p->D);
    WR_TRY(caches(n, p, d));
    ir_tensor_set_shape(n->out[0], DT_F32, X->ndim, X->dim);
    n->priv = p;
    return WR_OK;
}

Status op_rotary_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const RotaryParams *p = n->priv;
    const float *X = in[0], *C = in[1], *S = in[2];
    const int64_t *pos = p->pos ? in[3] : NULL;
    float *Y = out[0];
    int64_t half = p->rd / 2;
    for (int64_t b = 0; b < p->B; b++)
        for (int64_t s = 0; s < p->S; s++) {
            int64_t r = pos ? pos[b * p->S + s] : b * p->S + s;
            r = r < 0 ? 0 : r >= p->rows ? p->rows - 1 : r;
            for (int64_t h = 0; h < p->H; h++) {
                int64_t o = p->in3d ? ((b * p->S + s) * p->H + h) * p->D
                                    : ((b * p->H + h) * p->S + s) * p->D;
                for (int64_t i = p->rd; i < p->D; i++)
                    Y[o + i] = X[o + i];
                for (int64_t k = 0; k < half; k++) {
                    int64_t i1 = p->interleaved ? 2 * k : k;
                    int64_t i2 = p->interleaved ? 2 * k + 1 : k + half;
                    double c = C[r * half + k], sn = S[r * half + k];
                    double x1 = X[o + i1], x2 = X[o + i2];
                    Y[o + i1] = (float)(c * x1 - sn * x2);
                    Y[o + i2] = (float)(sn * x1 + c * x2);
                }
            }
        }
    return WR_OK;
}
