/*
 * TfIdfVectorizer (reference: ir/ops/tfidf.c): the n-grams as constant
 * tables; per row, every start and skip distance tries each n-gram.
 */
#include "codegen.h"
#include "opparams.h"

Status cg_tfidf_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const TfIdfParams *p = n->priv;
    long long L = p->L, C = p->ncol, maxn = p->maxn;
    int64_t ntok = 0;
    for (int64_t g = 0; g < p->ng; g++)
        ntok = p->start[g] + p->size[g] > ntok ? p->start[g] + p->size[g] : ntok;
    const char *tok = cg_const_array(e, "tok", DT_I64, p->tok, ntok ? ntok : 1);
    const char *st = cg_const_array(e, "gst", DT_I32, p->start, p->ng ? p->ng : 1);
    const char *sz = cg_const_array(e, "gsz", DT_I32, p->size, p->ng ? p->ng : 1);
    const char *col = cg_const_array(e, "gcol", DT_I32, p->col, p->ng ? p->ng : 1);
    const char *w = p->w ? cg_const_array(e, "w", DT_F32, p->w, p->ncol) : NULL;
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)p->B);
    cg_line(e, "const %s *x = %s + b * %lld;", cg_ctype(n->in[0]->dtype), cg_in(e, 0), L);
    cg_line(e, "float *y = %s + b * %lld;", cg_out(e, 0), C);
    cg_line(e, "for (int64_t c = 0; c < %lld; c++) y[c] = 0.0f;", C);
    cg_line(e, "int64_t minn = %lld;", (long long)p->minn);
    cg_open(e, "for (int64_t dd = 1; dd <= %lld; dd++)", (long long)p->skip + 1);
    cg_open(e, "for (int64_t s = 0; s + dd * (minn - 1) < %lld; s++)", L);
    cg_open(e, "for (int64_t g = 0; g < %lld; g++)", (long long)p->ng);
    cg_line(e, "const int64_t n = %s[g];", sz);
    cg_line(e, "if (n < minn || s + (n - 1) * dd >= %lld) continue;", L);
    cg_line(e, "int64_t k = 0;");
    cg_line(e, "while (k < n && (int64_t)x[s + k * dd] == %s[%s[g] + k]) k++;", tok, st);
    cg_line(e, "if (k == n) y[%s[g]] += 1.0f;", col);
    cg_close(e);
    cg_close(e);
    cg_line(e, "if (minn == 1 && ++minn > %lld) break;", maxn);
    cg_close(e);
    if (p->mode == 1)
        cg_line(e, "for (int64_t c = 0; c < %lld; c++) y[c] = y[c] > 0.0f ? %s : 0.0f;", C,
                w ? arena_printf(&((Graph *)e->g)->arena, "%s[c]", w) : "1.0f");
    else if (p->mode == 2 && w)
        cg_line(e, "for (int64_t c = 0; c < %lld; c++) y[c] *= %s[c];", C, w);
    cg_close(e);
    return WR_OK;
}
