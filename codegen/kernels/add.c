/*
 * Add: nested loops over the output; broadcast operands index with stride 0
 * along their size-1 dims. Same-shape operands take one flat loop.
 */
#include "codegen.h"

#include <string.h>

static void index_expr(char *buf, size_t n, const Tensor *y, const Tensor *x)
{
    size_t k = 0;
    int64_t stride = 1;
    k += (size_t)snprintf(buf, n, "0");
    for (int d = y->ndim - 1, dx = x->ndim - 1; d >= 0 && dx >= 0; d--, dx--) {
        if (x->dim[dx] != 1 && k < n)
            k += (size_t)snprintf(buf + k, n - k, " + i%d * %lld", d, (long long)stride);
        stride *= x->dim[dx];
    }
}

Status cg_add_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const Tensor *y = n->out[0], *a = n->in[0], *b = n->in[1];
    const char *A = cg_in(e, 0), *B = cg_in(e, 1), *Y = cg_out(e, 0);
    if (a->ndim == b->ndim && !memcmp(a->dim, b->dim, sizeof(int64_t) * (size_t)a->ndim)) {
        cg_open(e, "for (int32_t i = 0; i < %lld; i++)", (long long)ir_tensor_numel(y));
        cg_line(e, "%s[i] = %s[i] + %s[i];", Y, A, B);
        cg_close(e);
        return WR_OK;
    }
    char ia[512], ib[512];
    index_expr(ia, sizeof ia, y, a);
    index_expr(ib, sizeof ib, y, b);
    cg_line(e, "int32_t o = 0;");
    for (int k = 0; k < y->ndim; k++)
        cg_open(e, "for (int32_t i%d = 0; i%d < %lld; i%d++)", k, k, (long long)y->dim[k], k);
    cg_line(e, "%s[o++] = %s[%s] + %s[%s];", Y, A, ia, B, ib);
    for (int k = 0; k < y->ndim; k++)
        cg_close(e);
    return WR_OK;
}
