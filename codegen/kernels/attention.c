/*
 * Attention (reference and semantics: ir/ops/attention.c). Per batch and
 * query head: S = scale * Q K^T on the packed fp32 GEMM (sgemm.c) into the
 * node's scratch, one pass per score row for softcap, the bias (mask,
 * causal, window, nonpad) and a max-subtracted softmax, then Y = P V on the
 * GEMM again, written in place into Y's (strided) rows. With a past cache the
 * present key/value are assembled first (into the outputs, or the scratch
 * after the scores) and both products read them.
 */
#include "codegen.h"
#include "opparams.h"

#include <stdio.h>

static const char *fmt(Emitter *e, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt(Emitter *e, const char *f, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return arena_strdup(&((Graph *)e->g)->arena, buf);
}

/* Whether ONNX output k is requested (the scratch slot is not an ONNX output). */
static bool has_out(const Node *n, int k)
{
    const AttentionParams *p = n->priv;
    return k != p->scratch && n->nout > k && n->out[k];
}

/* A float literal (exact, hexadecimal). */
static const char *flit(Emitter *e, float v)
{
    Buf b = {0};
    cg_literal(&b, DT_F32, &v, 0);
    const char *s = arena_strdup(&((Graph *)e->g)->arena, b.p);
    buf_free(&b);
    return s;
}

/* Pointer expressions of K (kv 1) or V (kv 2) rows of (at_b, at_k) and their row stride. */
static const char *kv_base(Emitter *e, const Node *n, const AttentionParams *p, int kv,
                           int64_t *stride)
{
    long long E = kv == 1 ? p->D : p->Dv;
    if (p->P) {
        *stride = E;
        return fmt(e, "%s + (at_b * %lld + at_k) * %lld", kv == 1 ? "at_kp" : "at_vp",
                   (long long)p->Hkv, (long long)p->T * E);
    }
    if (p->in3d) {
        *stride = p->Hkv * E;
        return fmt(e, "%s + at_b * %lld + at_k * %lld", cg_in(e, kv),
                   (long long)(p->Skv * p->Hkv) * E, E);
    }
    *stride = E;
    (void)n;
    return fmt(e, "%s + (at_b * %lld + at_k) * %lld", cg_in(e, kv), (long long)p->Hkv,
               (long long)p->Skv * E);
}

/* Copies K or V of every (b, k) into the present layout (B, Hkv, T, E) at dst,
 * after the P past rows (when given). */
static void present(Emitter *e, const AttentionParams *p, int kv, const char *dst)
{
    long long E = kv == 1 ? p->D : p->Dv, T = p->T, P = p->P;
    cg_open(e, "for (int64_t at_b = 0; at_b < %lld; at_b++)", (long long)p->B);
    cg_open(e, "for (int64_t at_k = 0; at_k < %lld; at_k++)", (long long)p->Hkv);
    cg_line(e, "float *at_d = %s + (at_b * %lld + at_k) * %lld;", dst, (long long)p->Hkv, T * E);
    if (P)
        cg_line(e, "memcpy(at_d, %s + (at_b * %lld + at_k) * %lld, %lld);", cg_in(e, 3 + kv),
                (long long)p->Hkv, P * E, P * E * 4);
    if (p->in3d) {
        cg_line(e, "for (int64_t at_t = 0; at_t < %lld; at_t++)", (long long)p->Skv);
        cg_line(e, "    memcpy(at_d + (%lld + at_t) * %lld, %s + (at_b * %lld + at_t) * %lld + "
                   "at_k * %lld, %lld);", P, E, cg_in(e, kv), (long long)p->Skv,
                (long long)p->Hkv * E, E, E * 4);
    } else {
        cg_line(e, "memcpy(at_d + %lld, %s + (at_b * %lld + at_k) * %lld, %lld);", P * E,
                cg_in(e, kv), (long long)p->Hkv, (long long)p->Skv * E,
                (long long)p->Skv * E * 4);
    }
    cg_close(e);
    cg_close(e);
}

/* The bias of key at_j into at_bias (0, a float mask value, or -INFINITY). */
static void bias(Emitter *e, const Node *n, const AttentionParams *p)
{
    cg_line(e, "float at_bias = 0.0f;");
    if (p->causal || p->lwin >= 0 || p->rwin >= 0)
        cg_line(e, "const int64_t at_dd = at_i + at_off - at_j;");
    if (p->causal)
        cg_line(e, "if (at_dd < 0) at_bias = -INFINITY;");
    if (p->lwin >= 0)
        cg_line(e, "if (at_dd > %lld) at_bias = -INFINITY;", (long long)p->lwin);
    if (p->rwin >= 0)
        cg_line(e, "if (-at_dd > %lld) at_bias = -INFINITY;", (long long)p->rwin);
    if (p->nonpad)
        cg_line(e, "if (at_j >= at_np) at_bias = -INFINITY;");
    if (!p->mask)
        return;
    const int64_t *s = p->mstride;
    const char *idx = fmt(e, "at_b * %lld + at_h * %lld + at_i * %lld + at_j * %lld",
                          (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3]);
    if (p->mlen < p->T)
        cg_line(e, "if (at_j >= %lld) at_bias = -INFINITY;", (long long)p->mlen);
    cg_open(e, "%s", p->mlen < p->T ? fmt(e, "else") : "");
    if (p->mask == 1)
        cg_line(e, "if (!%s[%s]) at_bias = -INFINITY;", cg_in(e, 3), idx);
    else
        cg_line(e, "at_bias += %s[%s];", cg_in(e, 3), idx);
    cg_close(e);
    (void)n;
}

/* One score row at_r (T floats): softcap, bias, captures, softmax in place. */
static void row(Emitter *e, const Node *n, const AttentionParams *p)
{
    long long T = p->T;
    bool qk = has_out(n, 3);
    cg_line(e, "float *at_r = at_s + at_i * %lld;", T);
    if (qk)
        cg_line(e, "float *at_q = %s + ((at_b * %lld + at_h) * %lld + at_i) * %lld;", cg_out(e, 3),
                (long long)p->Hq, (long long)p->Sq, T);
    cg_line(e, "float at_mx = -INFINITY;");
    cg_line(e, "int at_any = 0;");
    cg_open(e, "for (int64_t at_j = 0; at_j < %lld; at_j++)", T);
    cg_line(e, "float at_v = at_r[at_j];");
    if (qk && p->mode == 0)
        cg_line(e, "at_q[at_j] = at_v;");
    if (p->softcap > 0)
        cg_line(e, "at_v = %s * tanhf(at_v / %s);", flit(e, p->softcap), flit(e, p->softcap));
    if (qk && p->mode == 1)
        cg_line(e, "at_q[at_j] = at_v;");
    bias(e, n, p);
    cg_line(e, "at_v = at_bias == -INFINITY ? -INFINITY : at_v + at_bias;");
    if (qk && p->mode == 2)
        cg_line(e, "at_q[at_j] = at_v;");
    cg_line(e, "at_any |= at_bias != -INFINITY;");
    cg_line(e, "if (at_v > at_mx) at_mx = at_v;");
    cg_line(e, "at_r[at_j] = at_v;");
    cg_close(e);
    cg_open(e, "if (!at_any || at_mx == -INFINITY)");
    cg_line(e, "for (int64_t at_j = 0; at_j < %lld; at_j++) at_r[at_j] = 0.0f;", T);
    if (qk && p->mode == 3)
        cg_line(e, "for (int64_t at_j = 0; at_j < %lld; at_j++) at_q[at_j] = 0.0f;", T);
    cg_line(e, "continue;");
    cg_close(e);
    cg_line(e, "double at_sum = 0.0;");
    cg_open(e, "for (int64_t at_j = 0; at_j < %lld; at_j++)", T);
    cg_line(e, "at_r[at_j] = expf(at_r[at_j] - at_mx);");
    cg_line(e, "at_sum += (double)at_r[at_j];");
    cg_close(e);
    cg_line(e, "const float at_inv = (float)(1.0 / at_sum);");
    cg_line(e, "for (int64_t at_j = 0; at_j < %lld; at_j++) at_r[at_j] *= at_inv;", T);
    if (qk && p->mode == 3)
        cg_line(e, "for (int64_t at_j = 0; at_j < %lld; at_j++) at_q[at_j] = at_r[at_j];", T);
}

/* S (Sq x T) = scale * Q_bh K_bk^T, into at_s. */
static void scores(Emitter *e, const Node *n, const AttentionParams *p)
{
    int64_t ks;
    const char *kb = kv_base(e, n, p, 1, &ks);
    SgemmSpec s = {.M = p->Sq, .N = p->T, .K = p->D, .nouter = 1, .alpha = p->scale,
                   .Y = "at_s", .ldy = p->T};
    if (p->in3d)
        s.A = (SgemmOperand){.base = fmt(e, "%s + at_b * %lld + at_h * %lld", cg_in(e, 0),
                                         (long long)(p->Sq * p->Hq * p->D), (long long)p->D),
                             .sk = 1, .so = p->Hq * p->D};
    else
        s.A = (SgemmOperand){.base = fmt(e, "%s + (at_b * %lld + at_h) * %lld", cg_in(e, 0),
                                         (long long)p->Hq, (long long)(p->Sq * p->D)),
                             .sk = 1, .so = p->D};
    s.B = (SgemmOperand){.base = kb, .sk = 1, .so = ks};
    cg_sgemm(e, &s);
}

/* Y_bh (Sq x Dv) = P V_bk, P in at_s. */
static void output(Emitter *e, const Node *n, const AttentionParams *p)
{
    int64_t vs;
    const char *vb = kv_base(e, n, p, 2, &vs);
    SgemmSpec s = {.M = p->Sq, .N = p->Dv, .K = p->T, .nouter = 1, .alpha = 1.0f};
    s.A = (SgemmOperand){.base = "at_s", .sk = 1, .so = p->T};
    s.B = (SgemmOperand){.base = vb, .sk = vs, .so = 1};
    if (p->in3d) {
        s.Y = fmt(e, "%s + at_b * %lld + at_h * %lld", cg_out(e, 0),
                  (long long)(p->Sq * p->Hq * p->Dv), (long long)p->Dv);
        s.ldy = p->Hq * p->Dv;
    } else {
        s.Y = fmt(e, "%s + (at_b * %lld + at_h) * %lld", cg_out(e, 0), (long long)p->Hq,
                  (long long)(p->Sq * p->Dv));
        s.ldy = p->Dv;
    }
    cg_sgemm(e, &s);
}

/* Where the present key/value live: the outputs, or the scratch after the scores. */
static void kv_buffers(Emitter *e, const Node *n, const AttentionParams *p)
{
    const char *scr = cg_out(e, p->scratch);
    long long off = (long long)(p->Sq * p->T), kv = (long long)(p->B * p->Hkv * p->T);
    const char *kp = has_out(n, 1) ? cg_out(e, 1) : fmt(e, "%s + %lld", scr, off);
    if (!has_out(n, 1))
        off += kv * p->D;
    const char *vp = has_out(n, 2) ? cg_out(e, 2) : fmt(e, "%s + %lld", scr, off);
    if (p->P) {
        cg_line(e, "float *const at_kp = %s;", kp);
        cg_line(e, "float *const at_vp = %s;", vp);
        present(e, p, 1, "at_kp");
        present(e, p, 2, "at_vp");
        return;
    }
    if (has_out(n, 1))
        present(e, p, 1, kp);
    if (has_out(n, 2))
        present(e, p, 2, vp);
}

Status cg_attention_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const AttentionParams *p = n->priv;
    kv_buffers(e, n, p);
    cg_line(e, "float *const at_s = %s;", cg_out(e, p->scratch));
    cg_open(e, "for (int64_t at_b = 0; at_b < %lld; at_b++)", (long long)p->B);
    if (p->nonpad) {
        cg_line(e, "const int64_t at_np = %s[at_b];", cg_in(e, 6));
        cg_line(e, "const int64_t at_off = at_np - %lld;", (long long)p->Sq);
    } else {
        cg_line(e, "const int64_t at_off = %lld;", (long long)p->P);
    }
    cg_open(e, "for (int64_t at_h = 0; at_h < %lld; at_h++)", (long long)p->Hq);
    cg_line(e, "(void)at_off;");
    cg_line(e, "const int64_t at_k = at_h / %lld;", (long long)(p->Hq / p->Hkv));
    cg_line(e, "(void)at_k;");
    scores(e, n, p);
    cg_open(e, "for (int64_t at_i = 0; at_i < %lld; at_i++)", (long long)p->Sq);
    row(e, n, p);
    cg_close(e);
    output(e, n, p);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}
