/*
 * Emitters of ActQuant, Dequant and PackAct (references: ir/ops/actquant.c): flat
 * loops over (image, channel, pixel), each code stored or loaded through the
 * layout table (codegen/layout.c). cg_quant_code and cg_qtype_value are the
 * emitted forms of quant_spec_code and qtype_value, shared with the QConv
 * epilogue: one C expression per quantizer formula, in the reference's order.
 */
#include "codegen.h"
#include "opparams.h"
#include "quant.h"

#include <stdio.h>

static Arena *arena(Emitter *e) { return &((Graph *)e->g)->arena; }

/* Channel c's entry of a per-channel array, or the single value as a literal. */
static const char *per_channel(Emitter *e, const char *hint, const float *v, int64_t n,
                               const char *c)
{
    if (n == 1)
        return arena_printf(arena(e), "%af", (double)v[0]);
    return arena_printf(arena(e), "%s[%s]", cg_const_array(e, hint, DT_F32, v, n), c);
}

const char *cg_qtype_value(Emitter *e, const QType *q, const char *c, const char *code)
{
    const char *s = per_channel(e, "qscale", q->scale, q->nscale, c);
    if (q->bipolar)
        return arena_printf(arena(e), "((%s) ? %s : -%s)", code, s, s);
    if (q->divisor)
        return arena_printf(arena(e), "((float)((%s) - %d) / %s)", code, q->zp,
                            per_channel(e, "qdiv", q->divisor, q->nscale, c));
    return arena_printf(arena(e), "((float)((%s) - %d) * %s)", code, q->zp, s);
}

void cg_quant_code(Emitter *e, const QuantSpec *s, const char *c, const char *x, const char *var)
{
    const QType *t = s->t;
    const char *S = per_channel(e, "qscale", t->scale, t->nscale, c);
    int32_t zc = t->zp < t->lo ? t->lo : t->zp > t->hi ? t->hi : t->zp;
    char v[256], r[320];
    switch (s->form) {
    case QF_INT:
        snprintf(v, sizeof v, "%s / %s + %d.0f", x, S, t->zp);
        snprintf(r, sizeof r, quant_round_cfmt(s->round), v);
        cg_line(e, "{ const float r_ = %s;", r);
        cg_line(e, "  %s = %s != %s ? %d : r_ < %d.0f ? %d : r_ > %d.0f ? %d : (int32_t)r_; }",
                var, x, x, zc, t->lo, t->lo, t->hi, t->hi);
        return;
    case QF_LINEAR:
        cg_line(e, "{ const double v_ = (double)nearbyintf(%s / %s) + %d;", x, S, t->zp);
        cg_line(e, "  %s = v_ >= %d ? (v_ <= %d ? (int32_t)v_ : %d) : %d; }", var, t->lo, t->hi,
                t->hi, t->lo);
        return;
    case QF_WRPN:
        cg_line(e, "%s = %s != %s ? 0 : (int32_t)nearbyintf(%d.0f * (%s < 0.0f ? 0.0f : %s > "
                   "1.0f ? 1.0f : %s));", var, x, x, t->hi, x, x, x);
        return;
    case QF_BIPOLAR: cg_line(e, "%s = %s >= 0.0f;", var, x); return;
    case QF_REQUANT:
        cg_line(e, "{ float v_ = %s < %d.0f ? %d.0f : %s;", x, t->lo - t->zp, t->lo - t->zp, x);
        cg_line(e, "  v_ = v_ > %d.0f ? %d.0f : v_;", t->hi - t->zp, t->hi - t->zp);
        cg_line(e, "  %s = (int32_t)nearbyintf(v_) + %d; }", var, t->zp);
        return;
    }
}

/* Loops over (b, c, p) of t defining the flat index i; returns how many to close. */
static int open_elements(Emitter *e, const Tensor *t)
{
    long long N = t->ndim ? (long long)t->dim[0] : 1, C = t->ndim >= 2 ? (long long)t->dim[1] : 1;
    long long P = (long long)ir_tensor_pixels(t);
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", N);
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", C);
    cg_open(e, "for (int64_t p = 0; p < %lld; p++)", P);
    cg_line(e, "const int64_t i = (b * %lld + c) * %lld + p;", C, P);
    cg_line(e, "(void)i;");
    return 3;
}

static void zero_packed(Emitter *e, const Tensor *y, const char *Y)
{
    if (y->layout != LAYOUT_DENSE)
        cg_line(e, "memset(%s, 0, %lld);", Y, (long long)ir_tensor_bytes(y));
}

Status cg_act_quant_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const Tensor *y = n->out[0];
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    zero_packed(e, y, Y);
    int loops = open_elements(e, y);
    cg_line(e, "const float x = %s[i];", X);
    cg_line(e, "int32_t q;");
    cg_quant_code(e, n->priv, "c", "x", "q");
    cg_layout_put(e, y, Y, "b", "c", "p", "q");
    while (loops--)
        cg_close(e);
    return WR_OK;
}

Status cg_dequant_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const Tensor *x = n->in[0];
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    int loops = open_elements(e, x);
    const char *code = cg_layout_get(e, x, X, "b", "c", "p");
    cg_line(e, "%s[i] = %s;", Y, cg_qtype_value(e, x->q, "c", code));
    while (loops--)
        cg_close(e);
    return WR_OK;
}

Status cg_pack_act_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const Tensor *x = n->in[0], *y = n->out[0];
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    zero_packed(e, y, Y);
    int loops = open_elements(e, y);
    cg_line(e, "const int32_t q = %s;", cg_layout_get(e, x, X, "b", "c", "p"));
    cg_layout_put(e, y, Y, "b", "c", "p", "q");
    while (loops--)
        cg_close(e);
    return WR_OK;
}
