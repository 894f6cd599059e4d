/*
 * MatMul: numpy matmul as packed GEMMs (reference: ir/ops/matmul.c).
 * One sgemm.c driver loops over the output batch; each operand's matrix is
 * picked through a constant index table when batch dims broadcast. A
 * constant operand (weights) is packed at compile time.
 */
#include "codegen.h"
#include "opparams.h"

/* The C expression of the index of operand matrix for output batch ob. */
static const char *batch_expr(Emitter *e, const MatMulParams *p, const int64_t *idx, int64_t n)
{
    bool identity = n == p->nbatch;
    for (int64_t b = 0; b < p->nbatch && identity; b++)
        identity = idx[b] == b;
    if (n == 1)
        return "0";
    if (identity)
        return "ob";
    const char *t = cg_const_array(e, "bidx", DT_I64, idx, p->nbatch);
    return arena_printf(&((Graph *)e->g)->arena, "%s[ob]", t);
}

static SgemmOperand operand(Emitter *e, const Node *n, int i, const char *idx, int64_t count,
                            int64_t size, int64_t sk, int64_t so)
{
    if (n->in[i]->data)
        return (SgemmOperand){.sk = sk, .so = so, .data = n->in[i]->data, .nconst = count,
                              .cstride = size, .cidx = idx};
    return (SgemmOperand){.base = arena_printf(&((Graph *)e->g)->arena, "%s + (%s) * %lld",
                                               cg_in(e, i), idx, (long long)size),
                          .sk = sk, .so = so};
}

Status cg_matmul_emit(Emitter *e, const Node *n, Diag *d)
{
    const MatMulParams *p = n->priv;
    const char *Y = cg_out(e, 0);
    (void)d;
    if (p->M == 0 || p->N == 0 || p->nbatch == 0)
        return WR_OK;
    if (p->K == 0) {
        cg_line(e, "for (int64_t i = 0; i < %lld; i++) %s[i] = %s;",
                (long long)(p->nbatch * p->M * p->N), Y, cg_act_expr(e, n, "0.0f"));
        return WR_OK;
    }
    const char *ai = batch_expr(e, p, p->aidx, p->na), *bi = batch_expr(e, p, p->bidx, p->nb);
    SgemmSpec g = {.M = p->M, .N = p->N, .K = p->K, .nouter = p->nbatch, .alpha = 1.0f,
                   .ldy = p->N, .act_node = n};
    g.A = operand(e, n, 0, ai, p->na, p->M * p->K, 1, p->K);
    g.B = operand(e, n, 1, bi, p->nb, p->K * p->N, p->N, 1);
    g.Y = arena_printf(&((Graph *)e->g)->arena, "%s + ob * %lld", Y, (long long)(p->M * p->N));
    cg_sgemm(e, &g);
    return WR_OK;
}
