/*
 * TfIdfVectorizer (integer pools; string pools are not supported): counts
 * the pool's n-grams in each row of X, with skips, then weights the counts.
 *   X (B, L) or (L) int32/int64 -> Y (B, columns) or (columns) float32
 * An n-gram of size n at start s and skip distance d is x[s], x[s + d], ..
 * x[s + (n - 1) d], for d = 1 .. max_skip_count + 1; unigrams count once,
 * at d = 1 only (the onnx reference's trie walk). Parameters: TfIdfParams
 * (ir/opparams.h); emitter codegen/kernels/tfidf.c.
 */
#include "opparams.h"

#include <string.h>

/* The pool's n-grams with sizes in [minn, maxn], in id order, into p. */
static Status grams(Graph *g, Node *n, TfIdfParams *p, Diag *d)
{
    const int64_t *pool, *counts, *idx;
    int np = ir_attr_ints(n, "pool_int64s", &pool), nc = ir_attr_ints(n, "ngram_counts", &counts);
    int ni = ir_attr_ints(n, "ngram_indexes", &idx);
    if (np < 0 || nc < 1 || ni < 1)
        return diag_node(d, WR_EUNSUPPORTED, n, "needs pool_int64s (string pools are not "
                                                "supported), ngram_counts and ngram_indexes");
    p->tok = arena_alloc(&g->arena, sizeof *p->tok * (size_t)(np + 1));
    memcpy(p->tok, pool, sizeof *p->tok * (size_t)np);
    p->start = arena_alloc(&g->arena, sizeof(int32_t) * (size_t)(np + 1));
    p->size = arena_alloc(&g->arena, sizeof(int32_t) * (size_t)(np + 1));
    p->col = arena_alloc(&g->arena, sizeof(int32_t) * (size_t)(np + 1));
    int64_t id = 0;
    p->ncol = 0;
    for (int i = 0; i < ni; i++)
        p->ncol = idx[i] + 1 > p->ncol ? idx[i] + 1 : p->ncol;
    for (int i = 0; i < nc; i++) {
        int64_t b = counts[i], e = i + 1 < nc ? counts[i + 1] : np, sz = i + 1;
        if (b < 0 || e > np || b > e)
            return diag_node(d, WR_EPARSE, n, "ngram_counts do not fit pool_int64s");
        for (int64_t k = 0; k < (e - b) / sz; k++, id++) {
            if (id >= ni || idx[id] < 0)
                return diag_node(d, WR_EPARSE, n, "ngram_indexes is too short or negative");
            if (sz < p->minn || sz > p->maxn)
                continue;
            p->start[p->ng] = (int32_t)(b + k * sz), p->size[p->ng] = (int32_t)sz;
            p->col[p->ng++] = (int32_t)idx[id];
        }
    }
    return WR_OK;
}

Status op_tfidf_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    if ((X->dtype != DT_I32 && X->dtype != DT_I64) || X->ndim < 1 || X->ndim > 2)
        return diag_node(d, WR_EUNSUPPORTED, n, "X must be int32 or int64 of rank 1 or 2");
    TfIdfParams *p = arena_alloc(&g->arena, sizeof *p);
    p->B = X->ndim == 2 ? X->dim[0] : 1, p->L = X->dim[X->ndim - 1];
    p->minn = ir_attr_int(n, "min_gram_length", 0), p->maxn = ir_attr_int(n, "max_gram_length", 0);
    p->skip = ir_attr_int(n, "max_skip_count", 0);
    const char *m = ir_attr_str(n, "mode", "");
    p->mode = !strcmp(m, "TF") ? 0 : !strcmp(m, "IDF") ? 1 : !strcmp(m, "TFIDF") ? 2 : -1;
    if (p->mode < 0 || p->minn < 1 || p->maxn < p->minn || p->skip < 0)
        return diag_node(d, WR_EPARSE, n, "bad mode, gram lengths or max_skip_count");
    WR_TRY(grams(g, n, p, d));
    const float *w;
    int nw = ir_attr_floats(n, "weights", &w);
    if (nw > 0) {
        if (nw < p->ncol)
            return diag_node(d, WR_EPARSE, n, "weights has fewer values than columns");
        p->w = arena_alloc(&g->arena, sizeof *p->w * (size_t)nw);
        memcpy(p->w, w, sizeof *p->w * (size_t)nw);
    }
    int64_t dim[2] = {p->B, p->ncol};
    ir_tensor_set_shape(n->out[0], DT_F32, X->ndim, X->ndim == 2 ? dim : dim + 1);
    n->priv = p;
    return WR_OK;
}

/* Whether gram g starts at s with skip distance dd in row x. */
static bool match(const TfIdfParams *p, DType t, const void *x, int64_t base, int64_t g,
                  int64_t s, int64_t dd)
{
    for (int64_t k = 0; k < p->size[g]; k++)
        if (dtype_get_i64(t, x, base + s + k * dd) != p->tok[p->start[g] + k])
            return false;
    return true;
}

Status op_tfidf_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const TfIdfParams *p = n->priv;
    DType t = n->in[0]->dtype;
    float *Y = out[0];
    for (int64_t b = 0; b < p->B; b++) {
        float *y = Y + b * p->ncol;
        for (int64_t c = 0; c < p->ncol; c++)
            y[c] = 0.0f;
        int64_t minn = p->minn;
        for (int64_t dd = 1; dd <= p->skip + 1; dd++) {
            for (int64_t s = 0; s + dd * (minn - 1) < p->L; s++)
                for (int64_t g = 0; g < p->ng; g++)
                    if (p->size[g] >= minn && s + (p->size[g] - 1) * dd < p->L &&
                        match(p, t, in[0], b * p->L, g, s, dd))
                        y[p->col[g]] += 1.0f;
            if (minn == 1 && ++minn > p->maxn)
                break;
        }
        for (int64_t c = 0; c < p->ncol; c++) {
            float f = y[c], w = p->w ? p->w[c] : 1.0f;
            y[c] = p->mode == 0 ? f : p->mode == 1 ? (f > 0 ? w : 0.0f) : (p->w ? w * f : f);
        }
    }
    return WR_OK;
}
