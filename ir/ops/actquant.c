/*
 * The internal ops that make, move and read codes (domain "wrpnc"):
 *   ActQuant  X (float32) -> codes: every activation quantizer of a model, in one
 *             form (quant.h QuantSpec: attributes form, lo, hi, zero_point, scale,
 *             divisor, rounding_mode), written in the layout out_layout / out_group
 *   Dequant   codes (any layout) -> float32 values, as the quantizer's own
 *             dequantization computes them (qtype_value)
 *   PackAct   codes -> the same codes in another layout (attributes layout, group).
 *             A hand-written model may feed it plain uint8 / int8 codes with the
 *             attribute bits (and bipolar = 1 for +-1 codes, zero_point): they become
 *             codes of scale 1.
 * The evals walk (image, channel, pixel) through the layout table (layout.c).
 */
#include "opparams.h"
#include "quant.h"

#include <string.h>

/* N, C and pixels of t (rank >= 1; N = dim 0, C = dim 1). */
static void extent(const Tensor *t, int64_t *N, int64_t *C, int64_t *P)
{
    *N = t->ndim ? t->dim[0] : 1;
    *C = t->ndim >= 2 ? t->dim[1] : 1;
    *P = ir_tensor_pixels(t);
}

Status op_act_quant_infer(Graph *g, Node *n, Diag *d)
{
    QuantSpec *s = arena_alloc(&g->arena, sizeof *s);
    bool found;
    WR_TRY(quant_spec_read(g, n, "", s, &found, d));
    if (!found)
        return diag_node(d, WR_EPARSE, n, "needs a quantizer (attribute form)");
    const Tensor *x = n->in[0];
    if (x->dtype != DT_F32)
        return diag_node(d, WR_EUNSUPPORTED, n, "X must be float32, not %s",
                         dtype_info[x->dtype].name);
    ir_tensor_set_shape(n->out[0], DT_U8, x->ndim, x->dim);
    WR_TRY(layout_set_output(n, "out_layout", "out_group", n->out[0], s->t, d));
    n->priv = s;
    return WR_OK;
}

Status op_act_quant_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const QuantSpec *s = n->priv;
    const Tensor *y = n->out[0];
    const float *X = in[0];
    const LayoutInfo *l = &layout_info[y->layout];
    int64_t N, C, P, i = 0;
    extent(y, &N, &C, &P);
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t p = 0; p < P; p++)
                l->put(y, out[0], b, c, p, quant_spec_code(s, c, X[i++]));
    return WR_OK;
}

Status op_dequant_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    const Tensor *x = n->in[0];
    if (!x->q)
        return diag_node(d, WR_EUNSUPPORTED, n, "input '%s' holds no codes", x->name);
    ir_tensor_set_shape(n->out[0], DT_F32, x->ndim, x->dim);
    return WR_OK;
}

Status op_dequant_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const Tensor *x = n->in[0];
    const LayoutInfo *l = &layout_info[x->layout];
    float *Y = out[0];
    int64_t N, C, P, i = 0;
    extent(x, &N, &C, &P);
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t p = 0; p < P; p++)
                Y[i++] = qtype_value(x->q, c, l->get(x, in[0], b, c, p));
    return WR_OK;
}

/* The codes PackAct reads: typed, or plain uint8 / int8 codes of `bits` (scale 1). */
static Status pack_input_type(Graph *g, Node *n, const QType **q, Diag *d)
{
    const Tensor *x = n->in[0];
    if (x->q) {
        *q = x->q;
        return WR_OK;
    }
    int64_t bits = ir_attr_int(n, "bits", 0);
    bool bip = ir_attr_int(n, "bipolar", 0) != 0;
    if ((x->dtype != DT_U8 && x->dtype != DT_I8) || bits < 1 || bits > 8 ||
        (bip && (bits != 1 || x->dtype != DT_U8)))
        return diag_node(d, WR_EUNSUPPORTED, n, "plain codes must be uint8 or int8 with bits "
                         "1 to 8 (bipolar: uint8, bits = 1)");
    int32_t lo, hi;
    int64_t zp = ir_attr_int(n, "zero_point", 0);
    qtype_range((int)bits, x->dtype == DT_I8, false, &lo, &hi);
    if (zp < lo || zp > hi || (bip && zp))
        return diag_node(d, WR_EUNSUPPORTED, n, "zero_point %lld outside the codes [%d, %d]",
                         (long long)zp, lo, hi);
    float one = 1.0f;
    *q = qtype_new(g, lo, hi, bip, (int32_t)zp, 1, &one);
    return WR_OK;
}

Status op_pack_act_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *x = n->in[0];
    const QType *q = NULL;
    WR_TRY(pack_input_type(g, n, &q, d));
    if (x->ndim < 2)
        return diag_node(d, WR_ESHAPE, n, "codes must have rank >= 2 (N, C, ...)");
    ir_tensor_set_shape(n->out[0], DT_U8, x->ndim, x->dim);
    return layout_set_output(n, "layout", "group", n->out[0], q, d);
}

Status op_pack_act_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const Tensor *x = n->in[0], *y = n->out[0];
    /* plain input codes read as the dense layout of their dtype */
    const LayoutInfo *lx = &layout_info[x->layout], *ly = &layout_info[y->layout];
    int64_t N, C, P;
    extent(y, &N, &C, &P);
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t p = 0; p < P; p++)
                ly->put(y, out[0], b, c, p, lx->get(x, in[0], b, c, p));
    return WR_OK;
}
