/*
 * quant_canon.c: every activation quantizer, however the model writes it, becomes
 * one form: ActQuant (float -> codes carrying their QType) followed by Dequant
 * (codes -> the float values the model's quantizer returned), so that the passes
 * after this one read quantization off tensor types and never look for patterns.
 *
 * Recognized (docs/wrpn.md section 2), each needing constant parameters and an
 * integer code range of at most 8 bits:
 *   QONNX Quant / IntQuant (any of its domains, scale / zero point / bit width of
 *     any numeric dtype, scale per tensor or per channel)          -> form int
 *   QONNX BipolarQuant                                             -> form bipolar
 *   QuantizeLinear [-> Clip] -> DequantizeLinear with the same scale and zero
 *     point, per tensor or per channel (axis 1), 8-bit or narrower -> form linear
 *   WRPN fake-quant arithmetic Clip(0, 1) -> Mul(N) -> Round -> Div(N) | Mul(1/N)
 *                                                                  -> form wrpn
 *   with --abits: each Relu in front of a layer the WRPN policy quantizes
 *     (quant_match.c qm_eligible), through ops that commute    -> form wrpn
 * A quantizer of constant input (weights) was folded by shape inference already;
 * the weights pass sees the grid it left.
 */
#include "opparams.h"
#include "quant.h"
#include "quant_match.h"
#include "rewrite.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A constant scale that is one value, or C values along dim 1 of x (broadcast from
 * the right, as QONNX writes (1, C, 1, 1)); all finite and > 0. */
static bool channel_scale(const Tensor *s, const Tensor *x, float *v, int64_t *ns)
{
    int64_t n = s && s->data ? ir_tensor_numel(s) : 0, C = x->ndim >= 2 ? x->dim[1] : 0;
    if (n < 1 || s->ndim > x->ndim || (n > 1 && n != C))
        return false;
    for (int j = 0; n > 1 && j < s->ndim; j++)
        if (s->dim[j] != 1 && j + x->ndim - s->ndim != 1)
            return false;
    for (int64_t i = 0; i < n; i++) {
        v[i] = (float)dtype_get_f64(s->dtype, s->data, i);
        if (!(v[i] > 0) || !isfinite(v[i]))
            return false;
    }
    *ns = n;
    return true;
}

static bool integer_scalar(const Tensor *t, int32_t lo, int32_t hi, int32_t *v)
{
    double f;
    if (!pass_scalar(t, &f) || f != floor(f) || f < lo || f > hi)
        return false;
    *v = (int32_t)f;
    return true;
}

/* The spec of a QONNX Quant / IntQuant on a variable input. */
static bool from_qonnx(Graph *g, Node *q, QuantSpec *s)
{
    const QonnxParams *qp = q->priv;
    float *sc = arena_alloc(&g->arena, sizeof(float) * (size_t)(q->in[0]->ndim >= 2 ? q->in[0]->dim[1] : 1));
    int64_t ns;
    int32_t zp, lo, hi;
    if (!qp || qp->bits > 8 || !channel_scale(q->in[1], q->in[0], sc, &ns) ||
        !integer_scalar(q->in[2], -255, 255, &zp))
        return false;
    qtype_range(qp->bits, qp->is_signed, qp->narrow, &lo, &hi);
    s->form = QF_INT;
    s->round = qp->round;
    s->t = qtype_new(g, lo, hi, false, zp, ns, sc);
    return true;
}

static bool from_bipolar(Graph *g, Node *q, QuantSpec *s)
{
    float *sc = arena_alloc(&g->arena, sizeof(float) * (size_t)(q->in[0]->ndim >= 2 ? q->in[0]->dim[1] : 1));
    int64_t ns;
    if (!channel_scale(q->in[1], q->in[0], sc, &ns))
        return false;
    s->form = QF_BIPOLAR;
    s->t = qtype_new(g, 0, 1, true, 0, ns, sc);
    return true;
}

/* Clip's constant bound (attribute before opset 11, input after): true and the value. */
static bool clip_bound(Node *c, int slot, const char *attr, double *v)
{
    if (c->opset < 11) {
        const Attr *a = ir_attr_find(c, attr);
        *v = a ? a->f : NAN;
        return a != NULL;
    }
    return slot < c->nin && pass_scalar(c->in[slot], v);
}

/* Scale / zero point of a Q or DQ node: per tensor or per channel along axis 1. */
static bool qdq_params(Node *n, const Tensor *x, float *sc, int64_t *ns, int32_t *zp)
{
    const QdqParams *p = n->priv;
    if (!p || p->block || n->in[1]->dtype != DT_F32)
        return false;
    if (p->nscale > 1 && (x->ndim < 2 || p->A != x->dim[1] || p->outer != x->dim[0]))
        return false; /* per axis, but not the channel axis */
    const Tensor *s = n->in[1], *z = n->nin > 2 ? n->in[2] : NULL;
    *ns = p->nscale;
    *zp = z ? (int32_t)dtype_get_i64(z->dtype, z->data, 0) : 0;
    for (int64_t i = 0; i < p->nscale; i++) {
        sc[i] = ((const float *)s->data)[i];
        if (!(sc[i] > 0) || !isfinite(sc[i]) ||
            (z && dtype_get_i64(z->dtype, z->data, i) != *zp))
            return false;
    }
    return s->data && (!z || z->data);
}

/* DequantizeLinear(Clip?(QuantizeLinear(x))) with one scale and zero point. */
static bool from_qdq(Graph *g, Node *dq, QuantSpec *s, Tensor **x)
{
    Node *c = dq->in[0]->producer, *q = c;
    double lo = -INFINITY, hi = INFINITY;
    if (c && c->op == OP_CLIP && c->nin >= 1 && clip_bound(c, 1, "min", &lo) &&
        clip_bound(c, 2, "max", &hi))
        q = c->in[0]->producer;
    const QdqParams *qp = q && q->op == OP_QUANTIZE_LINEAR ? q->priv : NULL;
    int64_t C = dq->in[0]->ndim >= 2 ? dq->in[0]->dim[1] : 1, ns, ns2;
    float *sc = arena_alloc(&g->arena, sizeof(float) * (size_t)(2 * C + 2)), *sc2 = sc + C + 1;
    int32_t zp, zp2;
    if (!qp || q->out[0]->dtype != dq->in[0]->dtype ||
        !qdq_params(q, q->in[0], sc, &ns, &zp) || !qdq_params(dq, dq->in[0], sc2, &ns2, &zp2) ||
        ns != ns2 || zp != zp2 || memcmp(sc, sc2, sizeof(float) * (size_t)ns) != 0)
        return false;
    int32_t l = qp->lo > lo ? qp->lo : (int32_t)ceil(lo);
    int32_t h = qp->hi < hi ? qp->hi : (int32_t)floor(hi);
    if (l >= h || l < -128 || h > 255 || (l < 0 && h > 127) || zp < -128 || zp > 255)
        return false;
    s->form = QF_LINEAR;
    s->round = QROUND_HALF_EVEN;
    s->t = qtype_new(g, l, h, false, zp, ns, sc);
    *x = q->in[0];
    return true;
}

/* WRPN fake-quant arithmetic ending at tail: Div(N) keeps the divisor, Mul(1/N) the scale. */
static bool from_fake(Graph *g, Node *tail, QuantSpec *s, Tensor **x)
{
    int bits;
    if (!qm_fake_act(tail, x, &bits))
        return false;
    float N = (float)((1 << bits) - 1), inv = 1.0f / N;
    s->form = QF_WRPN;
    s->t = qtype_new(g, 0, (int32_t)N, false, 0, 1, &inv);
    if (tail->op == OP_DIV)
        s->t = qtype_with_divisor(g, s->t, &N);
    return true;
}

/* --abits: the WRPN activation quantizer, values code / N as quant_wrpn_act_ref. */
static void wrpn_spec(Graph *g, int bits, QuantSpec *s)
{
    float N = (float)((1 << bits) - 1), inv = 1.0f / N;
    s->form = QF_WRPN;
    s->t = qtype_with_divisor(g, qtype_new(g, 0, (int32_t)N, false, 0, 1, &inv), &N);
}

/* q (a quantizer of x whose output is y) becomes ActQuant(x) -> Dequant -> y. */
static void canonicalize(Rewrite *r, Node *q, Tensor *x, const QuantSpec *s)
{
    Node *a = rw_node(r, q, OP_ACT_QUANT, "quant", 1, 1);
    a->in[0] = x;
    a->out[0] = rw_fresh(r, q, "codes");
    quant_spec_write(r->g, a, "", s);
    Node *dq = rw_node(r, q, OP_DEQUANT, "dequant", 1, 1);
    dq->in[0] = a->out[0];
    dq->out[0] = q->out[0];
    rw_drop(r, q);
}

/* The spec of node q if it is an activation quantizer; x is what it quantizes. */
static bool recognize(Graph *g, Node *q, QuantSpec *s, Tensor **x)
{
    *x = q->in[0];
    switch (q->op) {
    case OP_QUANT:
    case OP_INT_QUANT: return from_qonnx(g, q, s);
    case OP_BIPOLAR_QUANT: return from_bipolar(g, q, s);
    case OP_DEQUANTIZE_LINEAR: return from_qdq(g, q, s, x);
    case OP_DIV:
    case OP_MUL: return from_fake(g, q, s, x);
    default: return false;
    }
}

static bool quantizer(Graph *g, Node *q, QuantSpec *s, Tensor **x)
{
    if (q->nin < 1 || !q->in[0] || q->nout < 1 || !q->out[0] || q->out[0]->dtype != DT_F32 ||
        !recognize(g, q, s, x))
        return false;
    return !(*x)->data && (*x)->dtype == DT_F32;
}

/* --abits: marks the Relu each quantized layer reads (through ops that commute). */
static void mark_relus(const Graph *g, const PassOptions *opt, bool *relu)
{
    for (int i = 0; i < g->nnode; i++) {
        const Node *n = g->node[i], *p;
        if (!qm_eligible(g, opt, n, NULL))
            continue;
        for (p = n->in[0]->producer; p && qm_commutes(p); p = p->in[0]->producer)
            ;
        if (p && p->op == OP_RELU && p->in[0]->dtype == DT_F32)
            relu[p->id] = true;
    }
}

Status pass_quant_canon(Graph *g, const PassOptions *opt, Diag *d)
{
    PassOptions none = {0};
    opt = opt ? opt : &none;
    if ((opt->wbits != 0) != (opt->abits != 0))
        return diag_error(d, WR_EUSAGE, "--wbits and --abits go together");
    bool *relu = calloc((size_t)g->nnode + 1, sizeof *relu);
    WR_ASSERT(relu);
    if (opt->abits)
        mark_relus(g, opt, relu);
    Rewrite r;
    rw_init(&r, g);
    for (int i = 0; i < r.n0; i++) {
        Node *q = g->node[i];
        QuantSpec s = {0};
        Tensor *x = NULL;
        if (relu[i]) {
            wrpn_spec(g, opt->abits, &s);
            canonicalize(&r, q, q->in[0], &s);
        } else if (quantizer(g, q, &s, &x))
            canonicalize(&r, q, x, &s);
    }
    free(relu);
    return rw_finish(&r, d);
}
