/*
 * Det (reference: ir/ops/det.c): per matrix, a double copy in the scratch,
 * LU elimination with partial pivoting, the product of the pivots.
 */
#include "codegen.h"

Status cg_det_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    long long M = (long long)n->in[0]->dim[n->in[0]->ndim - 1];
    const char *ct = cg_ctype(n->out[0]->dtype);
    cg_line(e, "double *a = %s;", cg_out(e, n->nout - 1));
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)ir_tensor_numel(n->out[0]));
    cg_line(e, "for (int64_t i = 0; i < %lld; i++) a[i] = (double)%s[b * %lld + i];", M * M,
            cg_in(e, 0), M * M);
    cg_line(e, "double det = 1.0;");
    cg_open(e, "for (int64_t k = 0; k < %lld && det != 0.0; k++)", M);
    cg_line(e, "int64_t piv = k;");
    cg_line(e, "for (int64_t i = k + 1; i < %lld; i++) if (fabs(a[i * %lld + k]) > "
               "fabs(a[piv * %lld + k])) piv = i;", M, M, M);
    cg_open(e, "if (a[piv * %lld + k] == 0.0)", M);
    cg_line(e, "det = 0.0;");
    cg_line(e, "break;");
    cg_close(e);
    cg_open(e, "if (piv != k)");
    cg_line(e, "for (int64_t j = 0; j < %lld; j++) { const double t = a[k * %lld + j]; "
               "a[k * %lld + j] = a[piv * %lld + j]; a[piv * %lld + j] = t; }", M, M, M, M, M);
    cg_line(e, "det = -det;");
    cg_close(e);
    cg_line(e, "det *= a[k * %lld + k];", M);
    cg_open(e, "for (int64_t i = k + 1; i < %lld; i++)", M);
    cg_line(e, "const double f = a[i * %lld + k] / a[k * %lld + k];", M, M);
    cg_line(e, "for (int64_t j = k; j < %lld; j++) a[i * %lld + j] -= f * a[k * %lld + j];", M,
            M, M);
    cg_close(e);
    cg_close(e);
    cg_line(e, "%s[b] = (%s)det;", cg_out(e, 0), ct);
    cg_close(e);
    return WR_OK;
}
