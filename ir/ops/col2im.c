/*
 * Col2Im and MaxUnpool: scattering values back into an image.
 *   Col2Im    input (N, C * prod(block), L), image_shape, block_shape (constants)
 *             -> (N, C, image..): each column value added at its pixel (sum
 *             over overlapping blocks), dilations, pads and strides as Conv
 *   MaxUnpool X (N, C, ..), I (int64 flat indices from MaxPool) [, output_shape]
 *             -> zeros with X[e] at I[e] (kept inside the inferred shape,
 *             then placed in the top corner of output_shape)
 * Parameters: UnfoldParams (ir/opparams.h); emitter codegen/kernels/col2im.c.
 */
#include "opparams.h"

#include <string.h>

/* Integer constant input k as n values into v. */
static Status ints(const Node *n, int k, int64_t *v, int *cnt, Diag *d)
{
    const void *p;
    WR_TRY(ir_const_input(n, k, &p, d));
    *cnt = (int)ir_tensor_numel(n->in[k]);
    if (n->in[k]->dtype != DT_I64 || *cnt < 1 || *cnt > 6)
        return diag_node(d, WR_EPARSE, n, "input %d must be 1 to 6 int64 values", k);
    memcpy(v, p, sizeof(int64_t) * (size_t)*cnt);
    return WR_OK;
}

/* Attribute ints name (count nd, default def) into v. */
static Status attr_ints(Node *n, const char *name, int nd, int64_t def, int64_t *v, Diag *d)
{
    const int64_t *a;
    int c = ir_attr_ints(n, name, &a);
    for (int i = 0; i < nd; i++)
        v[i] = c < 0 ? def : (i < c ? a[i] : def);
    if (c >= 0 && c != nd && !(c == 2 * nd && !strcmp(name, "pads")))
        return diag_node(d, WR_EPARSE, n, "attribute '%s' has %d values, expected %d", name, c,
                         nd);
    return WR_OK;
}

/* dst table of Col2Im: for block offset k and block position l, the image
 * offset of the value, or -1 outside the image. */
static void col2im_table(Graph *g, UnfoldParams *p, int nd, const int64_t *img,
                         const int64_t *blk, const int64_t *dil, const int64_t *pads,
                         const int64_t *str, const int64_t *nb)
{
    p->dst = arena_alloc(&g->arena, sizeof *p->dst * (size_t)(p->K * p->L + 1));
    for (int64_t k = 0; k < p->K; k++)
        for (int64_t l = 0; l < p->L; l++) {
            int64_t kr = k, lr = l, off = 0, st = 1;
            bool in = true;
            for (int i = nd - 1; i >= 0; i--) {
                int64_t ko = kr % blk[i], lo = lr % nb[i];
                kr /= blk[i], lr /= nb[i];
                int64_t x = lo * str[i] - pads[i] + ko * dil[i];
                in = in && x >= 0 && x < img[i];
                off += x * st;
                st *= img[i];
            }
            p->dst[k * p->L + l] = in ? (int32_t)off : -1;
        }
}

Status op_col2im_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    int64_t img[6], blk[6], dil[6], pads[12], str[6], nb[6];
    int nd, nk;
    WR_TRY(ints(n, 1, img, &nd, d));
    WR_TRY(ints(n, 2, blk, &nk, d));
    if (nk != nd || X->ndim != 3)
        return diag_node(d, WR_ESHAPE, n, "input must be (N, C * block, L) and the shapes agree");
    WR_TRY(attr_ints(n, "dilations", nd, 1, dil, d));
    WR_TRY(attr_ints(n, "strides", nd, 1, str, d));
    WR_TRY(attr_ints(n, "pads", 2 * nd, 0, pads, d));
    UnfoldParams *p = arena_alloc(&g->arena, sizeof *p);
    p->K = 1, p->plane = 1;
    int64_t L = 1, dim[8] = {X->dim[0], 0};
    for (int i = 0; i < nd; i++) {
        nb[i] = (img[i] + pads[i] + pads[nd + i] - dil[i] * (blk[i] - 1) - 1) / str[i] + 1;
        L *= nb[i], p->K *= blk[i], p->plane *= img[i], dim[2 + i] = img[i];
    }
    if (p->K < 1 || X->dim[1] % p->K || X->dim[2] != L)
        return diag_node(d, WR_ESHAPE, n, "input shape does not match the blocks");
    p->L = L, p->NC = X->dim[0] * (X->dim[1] / p->K), dim[1] = X->dim[1] / p->K;
    col2im_table(g, p, nd, img, blk, dil, pads, str, nb);
    ir_tensor_set_shape(n->out[0], X->dtype, nd + 2, dim);
    n->priv = p;
    return WR_OK;
}

Status op_col2im_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const UnfoldParams *p = n->priv;
    DType t = n->in[0]->dtype;
    for (int64_t i = 0; i < ir_tensor_numel(n->out[0]); i++)
        dtype_set_f64(t, out[0], i, 0.0);
    for (int64_t c = 0; c < p->NC; c++)
        for (int64_t k = 0; k < p->K * p->L; k++)
            if (p->dst[k] >= 0) {
                int64_t o = c * p->plane + p->dst[k];
                dtype_set_f64(t, out[0], o, dtype_get_f64(t, out[0], o) +
                                                dtype_get_f64(t, in[0], c * p->K * p->L + k));
            }
    return WR_OK;
}

/* ---- MaxUnpool ---- */

Status op_maxunpool_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0], *I = n->in[1];
    int nd = X->ndim - 2;
    if (nd < 1 || I->dtype != DT_I64 || ir_tensor_numel(I) != ir_tensor_numel(X))
        return diag_node(d, WR_ESHAPE, n, "X must be (N, C, ..) and I int64 of X's shape");
    int64_t k[6], s[6], pads[12];
    WR_TRY(attr_ints(n, "kernel_shape", nd, 0, k, d));
    WR_TRY(attr_ints(n, "strides", nd, 1, s, d));
    WR_TRY(attr_ints(n, "pads", 2 * nd, 0, pads, d));
    UnfoldParams *p = arena_alloc(&g->arena, sizeof *p);
    p->nd = X->ndim;
    p->count = ir_tensor_numel(X);
    p->inf[0] = p->outd[0] = X->dim[0], p->inf[1] = p->outd[1] = X->dim[1];
    for (int i = 0; i < nd; i++)
        p->inf[2 + i] = p->outd[2 + i] = (X->dim[2 + i] - 1) * s[i] - pads[i] - pads[nd + i] + k[i];
    if (n->nin > 2 && n->in[2]) {
        int c;
        WR_TRY(ints(n, 2, p->outd, &c, d));
        if (c != X->ndim)
            return diag_node(d, WR_ESHAPE, n, "output_shape must have %d values", X->ndim);
        for (int i = 0; i < X->ndim; i++)
            if (p->outd[i] < p->inf[i])
                return diag_node(d, WR_ESHAPE, n, "output_shape is below the unpooled shape");
    }
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, p->outd);
    n->priv = p;
    return WR_OK;
}

/* Flat index i of the inferred shape as an offset in the output shape. */
static int64_t remap(const UnfoldParams *p, int64_t i)
{
    int64_t off = 0, st = 1;
    for (int k = p->nd - 1; k >= 0; k--) {
        off += (i % p->inf[k]) * st;
        i /= p->inf[k];
        st *= p->outd[k];
    }
    return off;
}

Status op_maxunpool_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const UnfoldParams *p = n->priv;
    DType t = n->in[0]->dtype;
    int64_t total = ir_shape_numel(p->nd, p->inf);
    const int64_t *I = in[1];
    for (int64_t i = 0; i < ir_tensor_numel(n->out[0]); i++)
        dtype_set_f64(t, out[0], i, 0.0);
    for (int64_t e = 0; e < p->count; e++)
        if (I[e] >= 0 && I[e] < total)
            dtype_set_f64(t, out[0], remap(p, I[e]), dtype_get_f64(t, in[0], e));
    return WR_OK;
}
