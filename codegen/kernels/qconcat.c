/*
 * QConcat emitter (reference: ir/ops/qconcat.c): per input, every code loaded and
 * stored at its channel offset through the layout table.
 */
#include "codegen.h"

#include <stdio.h>

Status cg_qconcat_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const Tensor *y = n->out[0];
    const char *Y = cg_out(e, 0);
    long long off = 0, P = (long long)ir_tensor_pixels(y);
    if (y->layout != LAYOUT_DENSE)
        cg_line(e, "memset(%s, 0, %lld);", Y, (long long)ir_tensor_bytes(y));
    for (int i = 0; i < n->nin; i++) {
        const Tensor *x = n->in[i];
        char c[48];
        snprintf(c, sizeof c, "c + %lld", off);
        cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)y->dim[0]);
        cg_open(e, "for (int64_t c = 0; c < %lld; c++)", (long long)x->dim[1]);
        cg_open(e, "for (int64_t p = 0; p < %lld; p++)", P);
        cg_line(e, "const int32_t q = %s;", cg_layout_get(e, x, cg_in(e, i), "b", "c", "p"));
        cg_layout_put(e, y, Y, "b", c, "p", "q");
        for (int k = 0; k < 3; k++)
            cg_close(e);
        off += x->dim[1];
    }
    return WR_OK;
}
