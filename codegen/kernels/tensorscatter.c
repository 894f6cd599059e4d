/* TensorScatter (reference: ir/ops/tensorscatter.c): copy, then row copies. */
#include "codegen.h"
#include "opparams.h"

Status cg_tensorscatter_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const ScatterParams *p = n->priv;
    long long row = (long long)(p->inner * dtype_info[n->out[0]->dtype].bytes);
    long long mx = p->max, seq = p->seq, pre = p->pre;
    const char *O = cg_out(e, 0), *U = cg_in(e, 1);
    cg_line(e, "memcpy(%s, %s, %lld);", O, cg_in(e, 0), (long long)ir_tensor_bytes(n->out[0]));
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)p->B);
    bool wi = n->nin > 2 && n->in[2];
    cg_line(e, "const int64_t w = %s;", wi ? arena_printf(&((Graph *)e->g)->arena, "%s[b]",
                                                          cg_in(e, 2)) : "0");
    cg_open(e, "for (int64_t q = 0; q < %lld; q++)", pre);
    cg_open(e, "for (int64_t s = 0; s < %lld; s++)", seq);
    if (p->circular)
        cg_line(e, "const int64_t t = ((w + s) %% %lld + %lld) %% %lld;", mx, mx, mx);
    else
        cg_line(e, "const int64_t t = w + s;");
    cg_line(e, "if (t < 0 || t >= %lld) continue;", mx);
    cg_line(e, "memcpy((unsigned char *)%s + ((b * %lld + q) * %lld + t) * %lld, "
               "(const unsigned char *)%s + ((b * %lld + q) * %lld + s) * %lld, %lld);", O, pre,
            mx, row, U, pre, seq, row, row);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}
