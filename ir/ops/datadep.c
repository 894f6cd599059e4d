/*
 * Operators whose output shapes depend on input values: NonZero, Unique and
 * NonMaxSuppression. Generated code has static shapes, so their inputs must
 * be constants (a clear error names the input otherwise): infer computes the
 * results, sets the shapes and keeps the data (ConstResult, ir/opparams.h);
 * the nodes then fold like any constant subgraph.
 *   NonZero X -> (rank, count) int64 coordinates, row-major order
 *   Unique X [axis, sorted] -> Y, indices, inverse_indices, counts (numpy.unique)
 *   NonMaxSuppression boxes (B, n, 4), scores (B, C, n) [, max_out, iou, score]
 *     -> (selected, 3) int64 (batch, class, box)
 */
#include "opparams.h"

#include <stdlib.h>
#include <string.h>

static Status all_const(const Node *n, Diag *d)
{
    const void *p;
    for (int i = 0; i < n->nin; i++)
        if (n->in[i])
            WR_TRY(ir_const_input(n, i, &p, d));
    return WR_OK;
}

/* Output k: shape (ndim, dim) of type t with data copied from src. */
static void result(Graph *g, Node *n, ConstResult *r, int k, DType t, int ndim,
                   const int64_t *dim, const void *src)
{
    if (k >= n->nout || !n->out[k])
        return;
    ir_tensor_set_shape(n->out[k], t, ndim, dim);
    r->bytes[k] = ir_tensor_bytes(n->out[k]);
    r->data[k] = arena_alloc(&g->arena, (size_t)(r->bytes[k] ? r->bytes[k] : 1));
    if (r->bytes[k])
        memcpy(r->data[k], src, (size_t)r->bytes[k]);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        wr_die(__FILE__, __LINE__, "out of memory");
    return p;
}

/* ---- NonZero ---- */

Status op_nonzero_infer(Graph *g, Node *n, Diag *d)
{
    WR_TRY(all_const(n, d));
    const Tensor *X = n->in[0];
    int64_t N = ir_tensor_numel(X), cnt = 0, r = X->ndim ? X->ndim : 1;
    for (int64_t i = 0; i < N; i++)
        cnt += dtype_get_f64(X->dtype, X->data, i) != 0.0;
    int64_t *c = xmalloc(sizeof *c * (size_t)(r * cnt)), j = 0;
    for (int64_t i = 0; i < N; i++) {
        if (dtype_get_f64(X->dtype, X->data, i) == 0.0)
            continue;
        int64_t rem = i;
        for (int k = (int)r - 1; k >= 0; k--) {
            int64_t dk = X->ndim ? X->dim[k] : 1;
            c[k * cnt + j] = rem % dk;
            rem /= dk;
        }
        j++;
    }
    ConstResult *res = arena_alloc(&g->arena, sizeof *res);
    res->n = 1;
    result(g, n, res, 0, DT_I64, 2, (int64_t[]){r, cnt}, c);
    free(c);
    n->priv = res;
    return WR_OK;
}

/* ---- Unique ---- */

typedef struct Slices {
    const Tensor *X;
    int64_t outer, len, inner; /* X viewed as (outer, len, inner): slice j = [:, j, :] */
} Slices;

/* Lexicographic comparison of slices a and b. */
static int slice_cmp(const Slices *s, int64_t a, int64_t b)
{
    for (int64_t o = 0; o < s->outer; o++)
        for (int64_t i = 0; i < s->inner; i++) {
            double x = dtype_get_f64(s->X->dtype, s->X->data, (o * s->len + a) * s->inner + i);
            double y = dtype_get_f64(s->X->dtype, s->X->data, (o * s->len + b) * s->inner + i);
            if (x != y)
                return x < y ? -1 : 1;
        }
    return 0;
}

/* Stable insertion sort of the slice order (first occurrences stay first). */
static void sort_slices(const Slices *s, int64_t *ord)
{
    for (int64_t i = 1; i < s->len; i++) {
        int64_t v = ord[i], j = i;
        while (j > 0 && slice_cmp(s, ord[j - 1], v) > 0) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = v;
    }
}

/* Unique slices: first[u] (slice index), inv[j] (unique of slice j), cnt[u]. */
static int64_t unique_slices(const Slices *s, bool sorted, int64_t *first, int64_t *inv,
                             int64_t *cnt)
{
    int64_t *ord = xmalloc(sizeof *ord * (size_t)s->len), nu = 0;
    for (int64_t j = 0; j < s->len; j++)
        ord[j] = j;
    if (sorted)
        sort_slices(s, ord);
    for (int64_t q = 0; q < s->len; q++) {
        int64_t j = ord[q], u = 0;
        while (u < nu && slice_cmp(s, first[u], j) != 0)
            u++;
        if (u == nu)
            first[nu] = j, cnt[nu++] = 0;
        inv[j] = u;
        cnt[u]++;
    }
    free(ord);
    return nu;
}

Status op_unique_infer(Graph *g, Node *n, Diag *d)
{
    WR_TRY(all_const(n, d));
    const Tensor *X = n->in[0];
    Slices s = {X, 1, ir_tensor_numel(X), 1};
    int axis = -1;
    if (ir_attr_find(n, "axis")) {
        WR_TRY(ir_norm_axis(n, ir_attr_int(n, "axis", 0), X->ndim, &axis, d));
        AxisParams ap;
        axis_split(&ap, X->ndim, X->dim, axis);
        s.outer = ap.outer, s.len = ap.len, s.inner = ap.inner;
    }
    int64_t *first = xmalloc(sizeof(int64_t) * (size_t)(3 * s.len + 1));
    int64_t *inv = first + s.len, *cnt = inv + s.len;
    int64_t nu = unique_slices(&s, ir_attr_int(n, "sorted", 1) != 0, first, inv, cnt);
    size_t es = (size_t)dtype_info[X->dtype].bytes;
    char *y = xmalloc(es * (size_t)(s.outer * nu * s.inner));
    for (int64_t o = 0; o < s.outer; o++)
        for (int64_t u = 0; u < nu; u++)
            memcpy(y + (size_t)((o * nu + u) * s.inner) * es,
                   (const char *)X->data + (size_t)((o * s.len + first[u]) * s.inner) * es,
                   es * (size_t)s.inner);
    int64_t dim[IR_MAX_DIMS];
    memcpy(dim, X->dim, sizeof(int64_t) * (size_t)X->ndim);
    if (axis >= 0)
        dim[axis] = nu;
    ConstResult *r = arena_alloc(&g->arena, sizeof *r);
    r->n = 4;
    result(g, n, r, 0, X->dtype, axis >= 0 ? X->ndim : 1, axis >= 0 ? dim : &nu, y);
    result(g, n, r, 1, DT_I64, 1, &nu, first);
    result(g, n, r, 2, DT_I64, 1, &s.len, inv);
    result(g, n, r, 3, DT_I64, 1, &nu, cnt);
    free(first);
    free(y);
    n->priv = r;
    return WR_OK;
}

/* ---- NonMaxSuppression ---- */

typedef struct Box {
    float score;
    int64_t idx;
} Box;

static int box_cmp(const void *a, const void *b)
{
    const Box *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The box as (x_min, x_max, y_min, y_max), float32 as the reference computes. */
static void box_edges(const float *b, bool center, float *e)
{
    if (center) {
        e[0] = b[0] - b[2] / 2, e[1] = b[0] + b[2] / 2;
        e[2] = b[1] - b[3] / 2, e[3] = b[1] + b[3] / 2;
        return;
    }
    e[0] = b[1] < b[3] ? b[1] : b[3], e[1] = b[1] < b[3] ? b[3] : b[1];
    e[2] = b[0] < b[2] ? b[0] : b[2], e[3] = b[0] < b[2] ? b[2] : b[0];
}

static bool suppress(const float *b1, const float *b2, bool center, float iou)
{
    float p[4], q[4];
    box_edges(b1, center, p);
    box_edges(b2, center, q);
    float x0 = p[0] > q[0] ? p[0] : q[0], x1 = p[1] < q[1] ? p[1] : q[1];
    float y0 = p[2] > q[2] ? p[2] : q[2], y1 = p[3] < q[3] ? p[3] : q[3];
    if (x1 <= x0 || y1 <= y0)
        return false;
    float inter = (x1 - x0) * (y1 - y0);
    float a1 = (p[1] - p[0]) * (p[3] - p[2]), a2 = (q[1] - q[0]) * (q[3] - q[2]);
    float uni = a1 + a2 - inter;
    if (inter <= 0 || a1 <= 0 || a2 <= 0 || uni <= 0)
        return false;
    return inter / uni > iou;
}

/* Selected boxes of (batch b, class c) appended to sel (triples); returns the new count. */
static int64_t nms_class(const Node *n, int64_t b, int64_t c, int64_t maxout, int64_t *sel,
                         int64_t ns, Box *cand)
{
    const Tensor *B = n->in[0], *S = n->in[1];
    int64_t nb = B->dim[1], C = S->dim[1], m = 0, first = ns;
    bool thr = n->nin > 4 && n->in[4], center = ir_attr_int((Node *)n, "center_point_box", 0);
    float st = thr ? *(const float *)n->in[4]->data : 0.0f;
    float iou = n->nin > 3 && n->in[3] ? *(const float *)n->in[3]->data : 0.0f;
    const float *sc = (const float *)S->data + (b * C + c) * nb;
    const float *bx = (const float *)B->data + b * nb * 4;
    for (int64_t i = 0; i < nb; i++)
        if (!thr || sc[i] > st)
            cand[m++] = (Box){sc[i], i};
    qsort(cand, (size_t)m, sizeof *cand, box_cmp);
    for (int64_t i = 0; i < m && ns - first < maxout; i++) {
        bool keep = true;
        for (int64_t j = first; j < ns && keep; j++)
            keep = !suppress(bx + cand[i].idx * 4, bx + sel[j * 3 + 2] * 4, center, iou);
        if (keep)
            sel[ns * 3] = b, sel[ns * 3 + 1] = c, sel[ns * 3 + 2] = cand[i].idx, ns++;
    }
    return ns;
}

Status op_nms_infer(Graph *g, Node *n, Diag *d)
{
    WR_TRY(all_const(n, d));
    const Tensor *B = n->in[0], *S = n->in[1];
    if (B->dtype != DT_F32 || S->dtype != DT_F32 || B->ndim != 3 || B->dim[2] != 4 ||
        S->ndim != 3 || S->dim[0] != B->dim[0] || S->dim[2] != B->dim[1])
        return diag_node(d, WR_ESHAPE, n, "boxes (B, n, 4) and scores (B, C, n), float32");
    int64_t maxout = 0;
    if (n->nin > 2 && n->in[2] && ir_tensor_numel(n->in[2]))
        maxout = dtype_get_i64(n->in[2]->dtype, n->in[2]->data, 0);
    for (int k = 3; k < n->nin; k++)
        if (n->in[k] && n->in[k]->dtype != DT_F32)
            return diag_node(d, WR_EUNSUPPORTED, n, "thresholds must be float32");
    int64_t total = B->dim[0] * S->dim[1] * B->dim[1], ns = 0;
    int64_t *sel = xmalloc(sizeof *sel * (size_t)(3 * total + 3));
    Box *cand = xmalloc(sizeof *cand * (size_t)(B->dim[1] + 1));
    for (int64_t b = 0; b < B->dim[0]; b++)
        for (int64_t c = 0; c < S->dim[1]; c++)
            ns = nms_class(n, b, c, maxout, sel, ns, cand);
    ConstResult *r = arena_alloc(&g->arena, sizeof *r);
    r->n = 1;
    result(g, n, r, 0, DT_I64, 2, (int64_t[]){ns, 3}, sel);
    free(sel);
    free(cand);
    n->priv = r;
    return WR_OK;
}

/* ---- eval: the results infer computed ---- */

static Status copy_results(const Node *n, void *const *out)
{
    const ConstResult *r = n->priv;
    for (int k = 0; k < r->n && k < n->nout; k++)
        if (n->out[k] && out[k] && r->bytes[k])
            memcpy(out[k], r->data[k], (size_t)r->bytes[k]);
    return WR_OK;
}

Status op_nonzero_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)in;
    (void)d;
    return copy_results(n, out);
}

Status op_unique_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)in;
    (void)d;
    return copy_results(n, out);
}

Status op_nms_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)in;
    (void)d;
    return copy_results(n, out);
}
