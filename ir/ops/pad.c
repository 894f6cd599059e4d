/*
 * Pad: data, pads (constant int64 [begin_0.., end_0..]), constant_value
 * (optional constant scalar), axes (optional, opset 18) -> data grown (or cut,
 * for negative pads) by pads. Before opset 11 pads, value, mode are attributes.
 *   constant: fill with the value, then copy the kept input block (a CopyPlan)
 *   edge, reflect, wrap: output coordinate o of dim k reads input coordinate
 *   src[k][o] (tables made here; PadParams in opparams.h)
 * codegen/kernels/pad.c emits both forms.
 */
#include "opparams.h"

#include <string.h>

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } PadMode;

/* pads[0..2r) over all r dims, from the attribute or the inputs. */
static Status read_pads(Node *n, int r, int64_t *pads, Diag *d)
{
    const int64_t *a;
    int np, na = r;
    int64_t axes[IR_MAX_DIMS];
    memset(pads, 0, sizeof(int64_t) * 2 * (size_t)r);
    for (int k = 0; k < r; k++)
        axes[k] = k;
    if (n->opset < 11) {
        np = ir_attr_ints(n, n->opset < 2 ? "paddings" : "pads", &a);
    } else {
        const void *data;
        WR_TRY(ir_const_input(n, 1, &data, d));
        if (n->in[1]->dtype != DT_I64)
            return diag_node(d, WR_EPARSE, n, "pads must be int64");
        a = data;
        np = (int)ir_tensor_numel(n->in[1]);
        if (n->nin > 3 && n->in[3]) {
            WR_TRY(ir_const_input(n, 3, &data, d));
            na = (int)ir_tensor_numel(n->in[3]);
            if (na > r)
                return diag_node(d, WR_ESHAPE, n, "more axes than dims");
            for (int i = 0; i < na; i++) {
                int ax;
                WR_TRY(ir_norm_axis(n, dtype_get_i64(n->in[3]->dtype, data, i), r, &ax, d));
                axes[i] = ax;
            }
        }
    }
    if (np != 2 * na)
        return diag_node(d, WR_ESHAPE, n, "pads has %d entries, expected %d", np, 2 * na);
    for (int i = 0; i < np; i++) /* no tensor has 2^40 elements: sizes below stay exact */
        if (a[i] < -IR_MAX_NUMEL || a[i] > IR_MAX_NUMEL)
            return diag_node(d, WR_ESHAPE, n, "pad %lld is out of range", (long long)a[i]);
    for (int i = 0; i < na; i++) {
        pads[axes[i]] = a[i];
        pads[r + axes[i]] = a[na + i];
    }
    return WR_OK;
}

static Status read_mode(Node *n, PadMode *m, Diag *d)
{
    const char *s = ir_attr_str(n, "mode", "constant");
    static const char *names[] = {"constant", "reflect", "edge", "wrap"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *m = (PadMode)i;
            return WR_OK;
        }
    return diag_node(d, WR_EUNSUPPORTED, n, "mode '%s' is not supported", s);
}

/* One element of dtype t holding the pad value, in the arena. */
static Status pad_value(Graph *g, Node *n, DType t, const void **v, Diag *d)
{
    void *p = arena_alloc(&g->arena, 8);
    *v = p;
    if (n->opset < 11) {
        dtype_set_f64(t, p, 0, ir_attr_float(n, "value", 0));
        return WR_OK;
    }
    if (n->nin > 2 && n->in[2] && ir_tensor_numel(n->in[2]) > 0) {
        const void *data;
        WR_TRY(ir_const_input(n, 2, &data, d));
        if (n->in[2]->dtype != t)
            return diag_node(d, WR_EPARSE, n, "constant_value must have the data's dtype");
        memcpy(p, data, (size_t)dtype_info[t].bytes);
    }
    return WR_OK;
}

static void constant_plan(Graph *g, Node *n, const int64_t *pads, const void *value)
{
    const Tensor *X = n->in[0], *Y = n->out[0];
    int r = X->ndim;
    MoveParams *p = move_params_new(g, n, 1);
    CopyPlan *c = &p->plan[0];
    p->fill[0] = value;
    memset(c, 0, sizeof *c);
    c->ndim = r;
    move_strides(r, X->dim, c->sstride);
    move_strides(r, Y->dim, c->dstride);
    for (int k = 0; k < r; k++) {
        int64_t b = pads[k] > 0 ? pads[k] : 0, e = pads[r + k] > 0 ? pads[r + k] : 0;
        int64_t cnt = Y->dim[k] - b - e;
        c->count[k] = cnt > 0 ? cnt : 0;
        c->doff += b * c->dstride[k];
        c->soff += (pads[k] < 0 ? -pads[k] : 0) * c->sstride[k];
    }
    move_plan_simplify(c);
}

/* Input coordinate for input coordinate c (may be outside [0, n)) under mode m. */
static int32_t map_coord(PadMode m, int64_t c, int64_t n)
{
    if (m == PAD_EDGE)
        return (int32_t)(c < 0 ? 0 : c >= n ? n - 1 : c);
    if (m == PAD_WRAP)
        return (int32_t)(((c % n) + n) % n);
    if (n == 1)
        return 0;
    int64_t period = 2 * (n - 1), x = ((c % period) + period) % period;
    return (int32_t)(x < n ? x : period - x);
}

static Status map_tables(Graph *g, Node *n, PadMode m, const int64_t *pads, PadParams *pp,
                         Diag *d)
{
    const Tensor *X = n->in[0], *Y = n->out[0];
    int r = X->ndim;
    for (int k = 0; k < r; k++) {
        if (pads[k] == 0 && pads[r + k] == 0)
            continue;
        if (X->dim[k] == 0 || X->dim[k] > INT32_MAX)
            return diag_node(d, WR_ESHAPE, n, "cannot pad dim %d of size %lld in this mode", k,
                             (long long)X->dim[k]);
        pp->src[k] = arena_alloc(&g->arena, sizeof(int32_t) * (size_t)(Y->dim[k] + 1));
        for (int64_t o = 0; o < Y->dim[k]; o++)
            pp->src[k][o] = map_coord(m, o - pads[k], X->dim[k]);
    }
    return WR_OK;
}

Status op_pad_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    int r = X->ndim;
    int64_t pads[2 * IR_MAX_DIMS], dim[IR_MAX_DIMS];
    PadMode m = PAD_CONSTANT;
    WR_TRY(read_mode(n, &m, d));
    WR_TRY(read_pads(n, r, pads, d));
    for (int k = 0; k < r; k++) {
        dim[k] = X->dim[k] + pads[k] + pads[r + k];
        if (dim[k] < 0)
            return diag_node(d, WR_ESHAPE, n, "pads make dim %d negative", k);
    }
    WR_TRY(ir_check_out_shape(n, r, dim, d));
    ir_tensor_set_shape(n->out[0], X->dtype, r, dim);
    PadParams *pp = arena_alloc(&g->arena, sizeof *pp);
    if (m == PAD_CONSTANT) {
        const void *v;
        WR_TRY(pad_value(g, n, X->dtype, &v, d));
        constant_plan(g, n, pads, v);
        pp->move = n->priv;
    } else
        WR_TRY(map_tables(g, n, m, pads, pp, d));
    n->priv = pp;
    return WR_OK;
}

Status op_pad_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const PadParams *pp = n->priv;
    if (pp->move) {
        move_run(n, pp->move, in, out);
        return WR_OK;
    }
    const Tensor *X = n->in[0], *Y = n->out[0];
    int r = Y->ndim;
    size_t es = (size_t)dtype_info[Y->dtype].bytes;
    int64_t xs[IR_MAX_DIMS], idx[IR_MAX_DIMS] = {0};
    move_strides(r, X->dim, xs);
    for (int64_t i = 0, N = ir_tensor_numel(Y); i < N; i++) {
        int64_t s = 0;
        for (int k = 0; k < r; k++)
            s += (pp->src[k] ? pp->src[k][idx[k]] : idx[k]) * xs[k];
        const unsigned char *x = in[0];
        memcpy((unsigned char *)out[0] + (size_t)i * es, x + (size_t)s * es, es);
        for (int k = r - 1; k >= 0 && ++idx[k] == Y->dim[k]; k--)
            idx[k] = 0;
    }
    return WR_OK;
}
