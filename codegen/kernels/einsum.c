/*
 * Einsum (semantics and plan: ir/ops/einsum.c). Runs the plan's steps in
 * order: gathers as loop nests with compile-time strides (sums in double),
 * products on the packed fp32 GEMM (float32) or plain loops (float64).
 * Intermediate operands live in the node's scratch.
 */
#include "codegen.h"
#include "opparams.h"

static const char *ref(Emitter *e, const EinsumParams *p, EinsumRef r)
{
    Arena *a = &((Graph *)e->g)->arena;
    if (r.input >= 0)
        return cg_in(e, r.input);
    if (r.input == EINSUM_OUT)
        return cg_out(e, 0);
    return arena_printf(a, "(%s + %lld)", cg_out(e, p->scratch), (long long)r.off);
}

static void gather(Emitter *e, const EinsumParams *p, const EinsumStep *s, const char *ct)
{
    Buf idx = {0};
    buf_puts(&idx, "0");
    cg_open(e, "%s", "");
    cg_line(e, "%s *ed = %s;", ct, ref(e, p, s->dst));
    cg_line(e, "const %s *es = %s;", ct, ref(e, p, s->src));
    cg_line(e, "int64_t eo = 0;");
    for (int i = 0; i < s->nd; i++) {
        cg_open(e, "for (int64_t d%d = 0; d%d < %lld; d%d++)", i, i, (long long)s->dim[i], i);
        buf_printf(&idx, " + d%d * %lld", i, (long long)s->sst[i]);
    }
    if (!s->nr) {
        cg_line(e, "ed[eo++] = es[%s];", idx.p);
    } else {
        cg_line(e, "double acc = 0.0;");
        for (int i = 0; i < s->nr; i++) {
            cg_open(e, "for (int64_t r%d = 0; r%d < %lld; r%d++)", i, i, (long long)s->rdim[i], i);
            buf_printf(&idx, " + r%d * %lld", i, (long long)s->rst[i]);
        }
        cg_line(e, "acc += (double)es[%s];", idx.p);
        for (int i = 0; i < s->nr; i++)
            cg_close(e);
        cg_line(e, "ed[eo++] = (%s)acc;", ct);
    }
    for (int i = 0; i < s->nd; i++)
        cg_close(e);
    cg_line(e, "(void)es;");
    cg_close(e);
    buf_free(&idx);
}

static void matmul_f64(Emitter *e, const EinsumParams *p, const EinsumStep *s)
{
    long long M = s->M, N = s->N, K = s->K;
    cg_open(e, "for (int64_t ob = 0; ob < %lld; ob++)", (long long)s->nb);
    cg_line(e, "const double *ea = %s + ob * %lld, *eb = %s + ob * %lld;", ref(e, p, s->a), M * K,
            ref(e, p, s->b), K * N);
    cg_line(e, "double *ec = %s + ob * %lld;", ref(e, p, s->c), M * N);
    cg_open(e, "for (int64_t m = 0; m < %lld; m++)", M);
    cg_open(e, "for (int64_t j = 0; j < %lld; j++)", N);
    cg_line(e, "double acc = 0.0;");
    cg_line(e, "for (int64_t k = 0; k < %lld; k++) acc += ea[m * %lld + k] * eb[k * %lld + j];", K,
            K, N);
    cg_line(e, "ec[m * %lld + j] = acc;", N);
    for (int i = 0; i < 3; i++)
        cg_close(e);
}

static void matmul(Emitter *e, const EinsumParams *p, const EinsumStep *s, DType t)
{
    Arena *a = &((Graph *)e->g)->arena;
    if (s->M == 0 || s->N == 0 || s->nb == 0)
        return;
    if (s->K == 0) {
        cg_line(e, "for (int64_t i = 0; i < %lld; i++) %s[i] = 0;",
                (long long)(s->nb * s->M * s->N), ref(e, p, s->c));
        return;
    }
    if (t != DT_F32) {
        matmul_f64(e, p, s);
        return;
    }
    SgemmSpec g = {.M = s->M, .N = s->N, .K = s->K, .nouter = s->nb, .alpha = 1.0f, .ldy = s->N};
    g.A = (SgemmOperand){.base = arena_printf(a, "%s + ob * %lld", ref(e, p, s->a),
                                              (long long)(s->M * s->K)), .sk = 1, .so = s->K};
    g.B = (SgemmOperand){.base = arena_printf(a, "%s + ob * %lld", ref(e, p, s->b),
                                              (long long)(s->K * s->N)), .sk = s->N, .so = 1};
    g.Y = arena_printf(a, "%s + ob * %lld", ref(e, p, s->c), (long long)(s->M * s->N));
    cg_sgemm(e, &g);
}

Status cg_einsum_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const EinsumParams *p = n->priv;
    DType t = n->out[0]->dtype;
    for (int i = 0; i < p->nstep; i++) {
        if (p->step[i].matmul)
            matmul(e, p, &p->step[i], t);
        else
            gather(e, p, &p->step[i], cg_ctype(t));
    }
    return WR_OK;
}
