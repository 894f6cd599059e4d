/*
 * QPool emitter (reference: ir/ops/qpool.c).
 * Max over packed codes (input PLANES or BYTES) works on a whole pixel's channels at
 * once, per output pixel and channel group:
 *   PLANES: a bit-sliced running max over the plane words (64 channels per word):
 *     from the top plane down, gt marks channels where the tap's code is already
 *     greater, eq where the codes agree so far; then each plane takes the tap's
 *     bit where gt, else the running max's. Signed codes have their top plane
 *     flipped while they are compared (two's complement -> offset binary).
 *     One-bit codes: the max is the OR.
 *   BYTES: a byte-wise max over the group's channels (vectorizes).
 * The pixel's maximum is copied when the output has the input's layout and group,
 * else stored code by code through the layout table. A window entirely in the
 * padding gives the codes' lo, as the reference.
 * Otherwise (dense codes, avg): per output element, the window's taps loaded through
 * the layout table; the max code stored through it, or the mean of the dequantized
 * values (double sum, as the reference) as float32.
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

static void emit_generic(Emitter *e, const Node *n)
{
    const PoolParams *p = n->priv;
    const Spatial *s = &p->sp;
    const Tensor *x = n->in[0], *y = n->out[0];
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    bool max = y->q != NULL;
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
}

/* Elements of one pixel of one channel group of packed codes t. */
static long long pixel_elems(const Tensor *t)
{
    return t->layout == LAYOUT_PLANES ? (long long)(t->q->bits * layout_plane_words(t))
                                      : (long long)layout_pixel_bytes(t);
}

/* m = the tap's planes (or m = max(m, tap)); top plane flipped for signed codes. */
static void planes_tap(Emitter *e, const Tensor *x, bool first)
{
    int k = x->q->bits;
    long long CW = (long long)layout_plane_words(x);
    const char *flip = x->q->is_signed ? " ^ ~(uint64_t)0" : "";
    cg_open(e, "for (int64_t w = 0; w < %lld; w++)", CW);
    if (first)
        for (int i = 0; i < k; i++)
            cg_line(e, "m[%lld + w] = a[%lld + w]%s;", i * CW, i * CW, i == k - 1 ? flip : "");
    else if (k == 1)
        cg_line(e, "m[w] |= a[w];");
    else {
        cg_line(e, "uint64_t gt = 0, eq = ~(uint64_t)0;");
        for (int i = k - 1; i >= 0; i--) {
            cg_line(e, "const uint64_t v%d = a[%lld + w]%s, r%d = m[%lld + w];", i, i * CW,
                    i == k - 1 ? flip : "", i, i * CW);
            cg_line(e, "gt |= eq & v%d & ~r%d;", i, i);
            if (i > 0)
                cg_line(e, "eq &= ~(v%d ^ r%d);", i, i);
        }
        for (int i = 0; i < k; i++)
            cg_line(e, "m[%lld + w] = (v%d & gt) | (r%d & ~gt);", i * CW, i, i);
    }
    cg_close(e);
}

/* The running max gains the tap at a (the first tap: m = a). */
static void max_tap(Emitter *e, const Tensor *x)
{
    long long PE = pixel_elems(x);
    if (x->layout == LAYOUT_PLANES) {
        cg_open(e, "if (nv++ == 0)");
        planes_tap(e, x, true);
        cg_close_with(e, " else {");
        e->indent++;
        planes_tap(e, x, false);
        cg_close(e);
        return;
    }
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", PE);
    cg_line(e, "m[c] = nv == 0 || a[c] > m[c] ? a[c] : m[c];");
    cg_close(e);
    cg_line(e, "nv++;");
}

/* Stores the pixel's max m (or lo for a window in the padding) to output pixel op. */
static void store_max(Emitter *e, const Tensor *x, const Tensor *y, const char *Y)
{
    Arena *ar = &((Graph *)e->g)->arena;
    long long CW = (long long)layout_plane_words(x), Cg = (long long)layout_cg(x);
    long long G = x->group > 0 ? (long long)x->group : 1, PE = pixel_elems(x);
    if (x->layout == LAYOUT_PLANES && x->q->is_signed)
        cg_line(e, "for (int64_t w = 0; w < %lld; w++) m[%lld + w] ^= ~(uint64_t)0;", CW,
                (x->q->bits - 1) * CW);
    Tensor px = *x; /* the pixel m as a one-pixel tensor of the group's channels */
    px.ndim = 3;
    px.dim[0] = 1, px.dim[1] = Cg, px.dim[2] = 1;
    px.group = 1;
    const char *c = arena_printf(ar, "g * %lld + c", Cg);
    if (y->layout == x->layout && y->group == x->group) {
        cg_open(e, "if (nv > 0)");
        cg_line(e, "memcpy(%s + ((b * %lld + g) * %lld + op) * %lld, m, sizeof m);", Y, G,
                (long long)ir_tensor_pixels(y), PE);
        cg_close_with(e, " else {");
        e->indent++;
    }
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", Cg);
    cg_layout_put(e, y, Y, "b", c, "op",
                  arena_printf(ar, "nv > 0 ? %s : %d", cg_layout_get(e, &px, "m", "0", "c", "0"),
                               x->q->lo));
    cg_close(e);
    if (y->layout == x->layout && y->group == x->group)
        cg_close(e);
}

/* Max over packed codes (PLANES or BYTES input), a pixel's channel group at a time. */
static void emit_max_packed(Emitter *e, const Node *n)
{
    const PoolParams *p = n->priv;
    const Spatial *s = &p->sp;
    const Tensor *x = n->in[0], *y = n->out[0];
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    long long G = x->group > 0 ? (long long)x->group : 1, PE = pixel_elems(x);
    if (y->layout != LAYOUT_DENSE)
        cg_line(e, "memset(%s, 0, %lld);", Y, (long long)ir_tensor_bytes(y));
    cg_open(e, "for (int64_t b = 0; b < %lld; b++)", (long long)y->dim[0]);
    cg_open(e, "for (int64_t g = 0; g < %lld; g++)", G);
    cg_open(e, "for (int64_t op = 0; op < %lld; op++)",
            (long long)(s->out[0] * s->out[1] * s->out[2]));
    cg_line(e, "const int64_t od = op / %lld, oh = op / %lld %% %lld, ow = op %% %lld;",
            (long long)(s->out[1] * s->out[2]), (long long)s->out[2], (long long)s->out[1],
            (long long)s->out[2]);
    cg_line(e, "%s m[%lld];", cg_ctype(x->dtype), PE);
    cg_line(e, "int64_t nv = 0, pc = 0;");
    open_taps(e, s);
    cg_line(e, "const %s *a = %s + ((b * %lld + g) * %lld + (z * %lld + y) * %lld + x) * %lld;",
            cg_ctype(x->dtype), X, G, (long long)(s->in[0] * s->in[1] * s->in[2]),
            (long long)s->in[1], (long long)s->in[2], PE);
    max_tap(e, x);
    for (int i = 0; i < 3; i++)
        cg_close(e);
    cg_line(e, "(void)pc;");
    store_max(e, x, y, Y);
    for (int i = 0; i < 3; i++)
        cg_close(e);
}

Status cg_qpool_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const Tensor *x = n->in[0];
    if (n->out[0]->q && (x->layout == LAYOUT_PLANES || x->layout == LAYOUT_BYTES))
        emit_max_packed(e, n);
    else
        emit_generic(e, n);
    return WR_OK;
}
