/*
 * TopK (reference: ir/ops/topk.c): per row, each element is inserted into
 * the sorted output row (values and indices, stride inner) when it beats
 * the current last one: O(len * k) compares, no scratch.
 */
#include "codegen.h"
#include "opparams.h"

Status cg_topk_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const TopKParams *p = n->priv;
    long long L = p->len, I = p->inner, K = p->k;
    const char *ct = cg_ctype(n->in[0]->dtype), *cmp = p->largest ? ">" : "<";
    if (K == 0)
        return WR_OK;
    bool idx_out = n->nout > 1 && n->out[1];
    cg_open(e, "for (int64_t o = 0; o < %lld; o++)", (long long)p->outer);
    cg_open(e, "for (int64_t i = 0; i < %lld; i++)", I);
    cg_line(e, "const %s *x = %s + o * %lld + i;", ct, cg_in(e, 0), L * I);
    cg_line(e, "%s *v = %s + o * %lld + i;", ct, cg_out(e, 0), K * I);
    if (idx_out)
        cg_line(e, "int64_t *ix = %s + o * %lld + i;", cg_out(e, 1), K * I);
    else
        cg_line(e, "int64_t ix[%lld];", K); /* indices are not an output: kept here */
    long long st = idx_out ? I : 1;
    cg_line(e, "int64_t cnt = 0;");
    cg_open(e, "for (int64_t j = 0; j < %lld; j++)", L);
    cg_line(e, "const %s xv = x[j * %lld];", ct, I);
    /* equal values never move ahead: the lower index stays first */
    cg_line(e, "int64_t pos = cnt;");
    cg_line(e, "while (pos > 0 && xv %s v[(pos - 1) * %lld]) pos--;", cmp, I);
    cg_line(e, "if (pos >= %lld) continue;", K);
    cg_open(e, "for (int64_t q = cnt < %lld ? cnt : %lld; q > pos; q--)", K, K - 1);
    cg_line(e, "v[q * %lld] = v[(q - 1) * %lld];", I, I);
    cg_line(e, "ix[q * %lld] = ix[(q - 1) * %lld];", st, st);
    cg_close(e);
    cg_line(e, "v[pos * %lld] = xv;", I);
    cg_line(e, "ix[pos * %lld] = j;", st);
    cg_line(e, "cnt += cnt < %lld;", K);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}
