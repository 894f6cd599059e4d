/*
 * Gemm: Y (M, N) = alpha * A' . B' + beta * C (reference: ir/ops/gemm.c).
 * Y is first filled with beta * C (broadcast), then the packed GEMM of
 * sgemm.c accumulates alpha * A' . B' into it (alpha folded into the packing
 * of A) and applies the fused activation. Constant operands (weights) are
 * packed at compile time.
 */
#include "codegen.h"
#include "opparams.h"

static void fill_c(Emitter *e, const GemmParams *p, const char *C, const char *Y, bool act,
                   const Node *n)
{
    cg_open(e, "for (int64_t m = 0; m < %lld; m++)", (long long)p->M);
    cg_open(e, "for (int64_t j = 0; j < %lld; j++)", (long long)p->N);
    const char *v = C ? arena_printf(&((Graph *)e->g)->arena, "%af * %s[%s + %s]", (double)p->beta,
                                     C, p->cM > 1 ? arena_printf(&((Graph *)e->g)->arena,
                                                                 "m * %lld", (long long)p->cN)
                                                  : "0",
                                     p->cN > 1 ? "j" : "0")
                      : "0.0f";
    cg_line(e, "%s[m * %lld + j] = %s;", Y, (long long)p->N, act ? cg_act_expr(e, n, v) : v);
    cg_close(e);
    cg_close(e);
}

static SgemmOperand operand(Emitter *e, const Node *n, int i, int64_t sk, int64_t so)
{
    if (n->in[i]->data)
        return (SgemmOperand){.sk = sk, .so = so, .data = n->in[i]->data, .nconst = 1};
    return (SgemmOperand){.base = cg_in(e, i), .sk = sk, .so = so};
}

Status cg_gemm_emit(Emitter *e, const Node *n, Diag *d)
{
    const GemmParams *p = n->priv;
    const char *Y = cg_out(e, 0);
    bool has_c = n->nin > 2 && n->in[2] && p->beta != 0.0f;
    const char *C = has_c ? cg_in(e, 2) : NULL;
    (void)d;
    if (p->M == 0 || p->N == 0)
        return WR_OK;
    if (has_c || p->K == 0)
        fill_c(e, p, C, Y, p->K == 0, n);
    if (p->K == 0)
        return WR_OK;
    SgemmSpec g = {.M = p->M, .N = p->N, .K = p->K, .nouter = 1, .alpha = p->alpha, .Y = Y,
                   .ldy = p->N, .accumulate = has_c, .act_node = n};
    g.A = p->transA ? operand(e, n, 0, p->M, 1) : operand(e, n, 0, 1, p->K);
    g.B = p->transB ? operand(e, n, 1, 1, p->K) : operand(e, n, 1, p->N, 1);
    cg_sgemm(e, &g);
    return WR_OK;
}
