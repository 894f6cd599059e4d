/*
 * QPool emitter (reference: ir/ops/qpool.c): per output element, the window's taps
 * inside the input loaded through the layout table; the max code stored through it,
 * or the mean of the dequantized values (double sum, as the reference) as float32.
 * The max of 1-bit unsigned codes in planes is the OR of the window's words.
 */
#include "codegen.h"
#include "opparams.h"

#include <string.h>

/* Opens the three tap loops of dim i = 0..2 (coordinates z, y, x), counting taps in
 * the padded extent into pc and skipping those in the padding. */
static void open_taps(Emitter *e, const Spatial *s)
{
    static const char *v[3] = {"z", "y", "x"}, *o[3] = {"od", "oh", "ow"};
    for (int i = 0; i < 3; i++) {
        cg_open(e, "for (int64_t t%d = 0; t%d < %lld; t%d++)", i, i, (long long)s->k[i], i);
        cg_line(e, "const int64_t %s = %s * %lld - %lld + t%d * %lld;", v[i], o[i],
                (long long)s->stride[i], (long long)s->pad0[i], i, (long long)s->dil[i]);
        cg_line(e, "if (%s >= %lld) continue;", v[i], (long long)(s->in[i] + s->pad1[i]));
    }
    cg_line(e, "pc++;");
    cg_line(e, "if (z < 0 || z >= %lld || y < 0 || y >= %lld || x < 0 || x >= %lld) continue;",
            (long long)s->in[0], (long long)s->in[1], (long long)s->in[2]);
}

/* Max of 1-bit unsigned codes in planes of the same packing in and out: the OR of the
 * window's words, a whole pixel's channels at once (a window with no tap inside: 0). */
static bool or_pool(const Tensor *x, const Tensor *y)
{
    return y->q && x->layout == LAYOUT_PLANES && y->layout == LAYOUT_PLANES &&
           x->q->bits == 1 && !x->q->is_signed && x->q->lo == 0 && y->q->bits == 1 &&
           y->q->lo == 0 && x->group == y->group && layout_cg(x) == layout_cg(y);
}

static void emit_or_pool(Emitter *e, const Spatial *s, const Tensor *x, const Tensor *y)
{
    long long CW = (long long)layout_plane_words(x), G = (long long)(y->dim[0] * y->group);
    long long OP = (long long)(s->out[0] * s->out[1] * s->out[2]);
    cg_line(e, "/* 1-bit codes: max = OR of the window's words */");
    cg_open(e, "for (int64_t bg = 0; bg < %lld; bg++)", G);
    cg_open(e, "for (int64_t op = 0; op < %lld; op++)", OP);
    cg_line(e, "const int64_t od = op / %lld, oh = op / %lld %% %lld, ow = op %% %lld;",
            (long long)(s->out[1] * s->out[2]), (long long)s->out[2], (long long)s->out[1],
            (long long)s->out[2]);
    cg_line(e, "uint64_t *yw = %s + (bg * %lld + op) * %lld;", cg_out(e, 0), OP, CW);
    cg_line(e, "int64_t pc = 0;");
    open_taps(e, s);
    cg_line(e, "const uint64_t *xw = %s + (bg * %lld + (z * %lld + y) * %lld + x) * %lld;",
            cg_in(e, 0), (long long)(s->in[0] * s->in[1] * s->in[2]), (long long)s->in[1],
            (long long)s->in[2], CW);
    cg_line(e, "for (int64_t w = 0; w < %lld; w++) yw[w] |= xw[w];", CW);
    for (int i = 0; i < 3; i++)
        cg_close(e);
    cg_line(e, "(void)pc;");
    cg_close(e);
    cg_close(e);
}

Status cg_qpool_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const PoolParams *p = n->priv;
    const Spatial *s = &p->sp;
    const Tensor *x = n->in[0], *y = n->out[0];
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    bool max = y->q != NULL;
    if (or_pool(x, y)) {
        cg_line(e, "memset(%s, 0, %lld);", Y, (long long)ir_tensor_bytes(y));
        emit_or_pool(e, s, x, y);
        return WR_OK;
    }
    if (y->layout != LAYOUT_DENSE)
        cg_line(e, "memset(%s, 0, %lld);", Y, (long long)ir_tensor_bytes(y));
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)y->dim[0]);
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", (long long)y->dim[1]);
    cg_open(e, "for (int64_t op = 0; op < %lld; op++)",
            (long long)(s->out[0] * s->out[1] * s->out[2]));
    cg_line(e, "const int64_t od = op / %lld, oh = op / %lld %% %lld, ow = op %% %lld;",
            (long long)(s->out[1] * s->out[2]), (long long)s->out[2], (long long)s->out[1],
            (long long)s->out[2]);
    cg_line(e, "int64_t cnt = 0, pc = 0;");
    cg_line(e, max ? "int32_t acc = %d;" : "double acc = 0.0;", max ? x->q->lo : 0);
    open_taps(e, s);
    const char *code = cg_layout_get(e, x, X, "b", "c",
                                     arena_printf(&((Graph *)e->g)->arena,
                                                  "(z * %lld + y) * %lld + x", (long long)s->in[1],
                                                  (long long)s->in[2]));
    cg_line(e, "const int32_t v = %s;", code);
    if (max)
        cg_line(e, "acc = cnt == 0 || v > acc ? v : acc;");
    else
        cg_line(e, "acc += (double)%s;", cg_qtype_value(e, x->q, "c", "v"));
    cg_line(e, "cnt++;");
    for (int i = 0; i < 3; i++)
        cg_close(e);
    cg_line(e, "(void)pc;");
    if (max)
        cg_layout_put(e, y, Y, "b", "c", "op", "acc");
    else
        cg_line(e, "%s[(b * %lld + c) * %lld + op] = (float)(acc / (double)%s);", Y,
                (long long)y->dim[1], (long long)(s->out[0] * s->out[1] * s->out[2]),
                p->count_include_pad ? "pc" : "cnt");
    for (int i = 0; i < 3; i++)
        cg_close(e);
    return WR_OK;
}
