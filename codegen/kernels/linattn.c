/*
 * LinearAttention and CausalConvWithState (reference: ir/ops/linattn.c):
 * token-by-token loops. LinearAttention keeps each (batch, KV head) state in
 * present_state when requested, else in the scratch, plus a dv-float
 * scratch row for the corrected values.
 */
#include "codegen.h"
#include "opparams.h"

static const char *F(Emitter *e, float v)
{
    Buf b = {0};
    cg_literal(&b, DT_F32, &v, 0);
    const char *s = arena_strdup(&((Graph *)e->g)->arena, b.p);
    buf_free(&b);
    return s;
}

/* The state update of token t (pointers k, v, S, vv declared). */
static void update(Emitter *e, const LinAttnParams *p)
{
    long long dk = p->dk, dv = p->dv, T = p->T, Hkv = p->Hkv;
    if (p->rule & 1) {
        long long gw = p->decay_k ? Hkv * dk : Hkv;
        cg_line(e, "const float *g = %s + (b * %lld + t) * %lld;", cg_in(e, 4), T, gw);
        cg_open(e, "for (int64_t i = 0; i < %lld; i++)", dk);
        if (p->decay_k)
            cg_line(e, "const float ex = expf(g[h * %lld + i]);", dk);
        else
            cg_line(e, "const float ex = expf(g[h]);");
        cg_line(e, "for (int64_t m = 0; m < %lld; m++) S[i * %lld + m] *= ex;", dv, dv);
        cg_close(e);
    }
    cg_open(e, "for (int64_t m = 0; m < %lld; m++)", dv);
    if (p->rule & 2) {
        cg_line(e, "double r = 0.0;");
        cg_line(e, "for (int64_t i = 0; i < %lld; i++) r += (double)S[i * %lld + m] * "
                   "(double)k[i];", dk, dv);
        cg_line(e, "const float beta = %s[(b * %lld + t) * %lld + %s];", cg_in(e, 5), T,
                p->beta1 ? 1LL : Hkv, p->beta1 ? "0" : "h");
        cg_line(e, "vv[m] = beta * (v[m] - (float)r);");
    } else {
        cg_line(e, "vv[m] = v[m];");
    }
    cg_close(e);
    cg_line(e, "for (int64_t i = 0; i < %lld; i++) for (int64_t m = 0; m < %lld; m++) "
               "S[i * %lld + m] += k[i] * vv[m];", dk, dv, dv);
}

Status cg_linattn_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const LinAttnParams *p = n->priv;
    long long dk = p->dk, dv = p->dv, T = p->T, Hq = p->Hq, Hkv = p->Hkv, ss = dk * dv;
    bool present = n->nout > 1 && n->out[1]; /* the scratch is slot 2 (ir/scratch.c) */
    const char *scr = cg_out(e, p->scratch);
    cg_line(e, "float *const st = %s;", present ? cg_out(e, 1) : scr);
    cg_line(e, "float *const vv = %s + %lld;", scr, present ? 0LL : (long long)p->B * Hkv * ss);
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)p->B);
    cg_open(e, "for (int64_t h = 0; h < %lld; h++)", Hkv);
    cg_line(e, "float *S = st + (b * %lld + h) * %lld;", Hkv, ss);
    if (p->past)
        cg_line(e, "for (int64_t i = 0; i < %lld; i++) S[i] = %s[(b * %lld + h) * %lld + i];",
                ss, cg_in(e, 3), Hkv, ss);
    else
        cg_line(e, "for (int64_t i = 0; i < %lld; i++) S[i] = 0.0f;", ss);
    cg_open(e, "for (int64_t t = 0; t < %lld; t++)", T);
    cg_line(e, "const float *k = %s + (b * %lld + t) * %lld + h * %lld;", cg_in(e, 1), T,
            Hkv * dk, dk);
    cg_line(e, "const float *v = %s + (b * %lld + t) * %lld + h * %lld;", cg_in(e, 2), T,
            Hkv * dv, dv);
    update(e, p);
    cg_open(e, "for (int64_t hq = h * %lld; hq < (h + 1) * %lld; hq++)", Hq / Hkv, Hq / Hkv);
    cg_line(e, "const float *q = %s + (b * %lld + t) * %lld + hq * %lld;", cg_in(e, 0), T,
            Hq * dk, dk);
    cg_open(e, "for (int64_t m = 0; m < %lld; m++)", dv);
    cg_line(e, "double s = 0.0;");
    cg_line(e, "for (int64_t i = 0; i < %lld; i++) s += (double)q[i] * (double)S[i * %lld + m];",
            dk, dv);
    cg_line(e, "%s[(b * %lld + t) * %lld + hq * %lld + m] = %s * (float)s;", cg_out(e, 0), T,
            Hq * dv, dv, F(e, p->scale));
    for (int i = 0; i < 5; i++)
        cg_close(e);
    return WR_OK;
}

Status cg_causalconv_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const LinAttnParams *p = n->priv;
    long long C = p->Hq, L = p->T, K = p->dk, k1 = p->dk - 1;
    bool bias = n->nin > 2 && n->in[2];
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)p->B);
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", C);
    cg_line(e, "const float *x = %s + (b * %lld + c) * %lld;", cg_in(e, 0), C, L);
    cg_line(e, "const float *w = %s + c * %lld;", cg_in(e, 1), K);
    if (p->past)
        cg_line(e, "const float *ps = %s + (b * %lld + c) * %lld;", cg_in(e, 3), C, k1);
    /* element j of the padded sequence: the k - 1 state values, then x */
    const char *pad = p->past ? "(j < %lld ? ps[j] : x[j - %lld])"
                              : "(j < %lld ? 0.0f : x[j - %lld])";
    cg_open(e, "for (int64_t t = 0; t < %lld; t++)", L);
    cg_line(e, "double s = %s;", bias ? arena_printf(&((Graph *)e->g)->arena, "(double)%s[c]",
                                                     cg_in(e, 2)) : "0.0");
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", K);
    cg_line(e, "const int64_t j = t + i;");
    Buf b = {0};
    buf_printf(&b, pad, k1, k1);
    cg_line(e, "s += (double)w[i] * (double)%s;", b.p);
    cg_close(e);
    cg_line(e, "const float y = (float)s;");
    cg_line(e, "%s[(b * %lld + c) * %lld + t] = %s;", cg_out(e, 0), C, L,
            p->silu ? "y / (1.0f + expf(-y))" : "y");
    cg_close(e);
    if (n->nout > 1 && n->out[1]) {
        cg_open(e, "for (int64_t q = 0; q < %lld; q++)", k1);
        cg_line(e, "const int64_t j = %lld + q;", L);
        cg_line(e, "%s[(b * %lld + c) * %lld + q] = %s;", cg_out(e, 1), C, k1, b.p);
        cg_close(e);
    }
    buf_free(&b);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}
