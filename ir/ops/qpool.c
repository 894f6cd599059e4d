/*
 * QPool (domain "wrpnc"): pooling read straight from codes, in any layout.
 *   X codes (N, C, spatial...) -> mode max: codes of the same type (out_layout /
 *   out_group), mode avg: float32 values, the mean of the dequantized window as
 *   AveragePool computes it (double sum, count with or without the padding).
 * Attributes: mode, global (window = the whole input), and MaxPool's / AveragePool's
 * geometry (kernel_shape, strides, pads, dilations, auto_pad, ceil_mode,
 * count_include_pad). Max of codes is the code of the max: every scale is positive,
 * so dequantization is monotone increasing (passes/quant_sink.c relies on it).
 */
#include "opparams.h"

#include <string.h>

static void global_window(const Tensor *X, Spatial *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->nsp = X->ndim - 2;
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - sp->nsp);
        sp->in[i] = sp->k[i] = j >= 0 ? X->dim[2 + j] : 1;
        sp->out[i] = sp->stride[i] = sp->dil[i] = 1;
    }
}

static bool is_max(const Node *n) { return strcmp(ir_attr_str((Node *)n, "mode", "max"), "max") == 0; }

Status op_qpool_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    const char *mode = ir_attr_str(n, "mode", "max");
    if (!X->q || X->ndim < 3 || X->ndim > 5)
        return diag_node(d, WR_EUNSUPPORTED, n, "X must be codes of rank 3 to 5");
    if (strcmp(mode, "max") != 0 && strcmp(mode, "avg") != 0)
        return diag_node(d, WR_EPARSE, n, "mode '%s' (max or avg)", mode);
    PoolParams *p = arena_alloc(&g->arena, sizeof *p);
    p->NC = X->dim[0] * X->dim[1];
    if (ir_attr_int(n, "global", 0))
        global_window(X, &p->sp);
    else
        WR_TRY(ir_spatial_parse(n, X->ndim - 2, X->dim + 2, NULL, true, &p->sp, d));
    p->count_include_pad = (int)ir_attr_int(n, "count_include_pad", 0);
    int64_t dim[5] = {X->dim[0], X->dim[1]};
    for (int i = 0; i < p->sp.nsp; i++)
        dim[2 + i] = p->sp.out[3 - p->sp.nsp + i];
    n->priv = p;
    ir_tensor_set_shape(n->out[0], DT_F32, X->ndim, dim);
    if (!is_max(n))
        return WR_OK;
    return layout_set_output(n, "out_layout", "out_group", n->out[0], X->q, d);
}

/* Input coordinate of tap t of window o along dim i, or -1 in the padding; *inpad
 * counts taps inside the padded extent. */
static int64_t tap(const Spatial *s, int i, int64_t o, int64_t t, int64_t *inpad)
{
    int64_t x = o * s->stride[i] - s->pad0[i] + t * s->dil[i];
    *inpad += x < s->in[i] + s->pad1[i];
    return x >= 0 && x < s->in[i] ? x : -1;
}

/* Max code, or the mean value, of window o of image b, channel c. */
static double window(const Node *n, const PoolParams *p, const void *X, int64_t b, int64_t c,
                     const int64_t o[3])
{
    const Spatial *s = &p->sp;
    const Tensor *x = n->in[0];
    bool max = is_max(n);
    double acc = max ? (double)x->q->lo : 0.0;
    int64_t cnt = 0, padcnt = 0;
    for (int64_t a = 0; a < s->k[0]; a++)
        for (int64_t r = 0; r < s->k[1]; r++)
            for (int64_t e = 0; e < s->k[2]; e++) {
                int64_t i0 = 0, i1 = 0, i2 = 0;
                int64_t z = tap(s, 0, o[0], a, &i0), y = tap(s, 1, o[1], r, &i1),
                        w = tap(s, 2, o[2], e, &i2);
                padcnt += i0 && i1 && i2;
                if (z < 0 || y < 0 || w < 0)
                    continue;
                int32_t code = layout_info[x->layout].get(x, X, b, c,
                                                          (z * s->in[1] + y) * s->in[2] + w);
                if (max)
                    acc = cnt == 0 || code > acc ? code : acc;
                else
                    acc += (double)qtype_value(x->q, c, code);
                cnt++;
            }
    return max ? acc : acc / (double)(p->count_include_pad ? padcnt : cnt);
}

Status op_qpool_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const PoolParams *p = n->priv;
    const Spatial *s = &p->sp;
    const Tensor *y = n->out[0];
    int64_t C = y->dim[1], j = 0;
    for (int64_t b = 0; b < y->dim[0]; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t pix = 0; pix < s->out[0] * s->out[1] * s->out[2]; pix++, j++) {
                int64_t o[3] = {pix / (s->out[1] * s->out[2]), pix / s->out[2] % s->out[1],
                                pix % s->out[2]};
                double v = window(n, p, in[0], b, c, o);
                if (y->q)
                    layout_info[y->layout].put(y, out[0], b, c, pix, (int32_t)v);
                else
                    ((float *)out[0])[j] = (float)v;
            }
    return WR_OK;
}
