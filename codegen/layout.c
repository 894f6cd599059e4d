/*
 * layout.c: the emitted loads and stores of one code, per layout (the table in
 * ir/layouts.def; the reference versions are ir/layout.c). Indices are C
 * expressions of the function being written: image n, channel c, flat pixel p.
 */
#include "codegen.h"

#define LAYOUT(ID, fn, name)                                                                       \
    const char *cg_layout_##fn##_get(Emitter *e, const Tensor *t, const char *buf,             \
                                     const char *n, const char *c, const char *p);             \
    void cg_layout_##fn##_put(Emitter *e, const Tensor *t, const char *buf, const char *n,     \
                              const char *c, const char *p, const char *code);
#include "layouts.def"
#undef LAYOUT

typedef struct CgLayout {
    const char *(*get)(Emitter *e, const Tensor *t, const char *buf, const char *n,
                       const char *c, const char *p);
    void (*put)(Emitter *e, const Tensor *t, const char *buf, const char *n, const char *c,
                const char *p, const char *code);
} CgLayout;

static const CgLayout cg_layout[LAYOUT_COUNT] = {
#define LAYOUT(ID, fn, name) [LAYOUT_##ID] = {cg_layout_##fn##_get, cg_layout_##fn##_put},
#include "layouts.def"
#undef LAYOUT
};

const char *cg_layout_get(Emitter *e, const Tensor *t, const char *buf, const char *n,
                          const char *c, const char *p)
{
    return cg_layout[t->layout].get(e, t, buf, n, c, p);
}

void cg_layout_put(Emitter *e, const Tensor *t, const char *buf, const char *n, const char *c,
                   const char *p, const char *code)
{
    cg_layout[t->layout].put(e, t, buf, n, c, p, code);
}

static Arena *arena(Emitter *e) { return &((Graph *)e->g)->arena; }

/* The flat index of element (n, c, p) of a dense tensor. */
static const char *dense_index(Emitter *e, const Tensor *t, const char *n, const char *c,
                               const char *p)
{
    long long C = t->ndim >= 2 ? (long long)t->dim[1] : 1, P = (long long)ir_tensor_pixels(t);
    return arena_printf(arena(e), "(((int64_t)(%s) * %lld + (%s)) * %lld + (%s))", n, C, c, P,
                        p);
}

const char *cg_layout_dense_get(Emitter *e, const Tensor *t, const char *buf, const char *n,
                                const char *c, const char *p)
{
    return arena_printf(arena(e), "(int32_t)%s[%s]", buf, dense_index(e, t, n, c, p));
}

void cg_layout_dense_put(Emitter *e, const Tensor *t, const char *buf, const char *n,
                         const char *c, const char *p, const char *code)
{
    cg_line(e, "%s[%s] = (%s)(%s);", buf, dense_index(e, t, n, c, p), cg_ctype(t->dtype), code);
}

/* The (image, group, pixel) slot of element (n, c, p) of a packed tensor. */
static const char *slot(Emitter *e, const Tensor *t, const char *n, const char *c,
                        const char *p)
{
    long long Cg = (long long)layout_cg(t), P = (long long)ir_tensor_pixels(t);
    return arena_printf(arena(e), "(((int64_t)(%s) * %lld + (%s) / %lld) * %lld + (%s))", n,
                        (long long)t->group, c, Cg, P, p);
}

const char *cg_layout_planes_get(Emitter *e, const Tensor *t, const char *buf, const char *n,
                                 const char *c, const char *p)
{
    long long CW = (long long)layout_plane_words(t), Cg = (long long)layout_cg(t);
    cg_helper(e, "wrpnc_pack.h", cg_runtime_file("wrpnc_pack.h"));
    return arena_printf(arena(e), "wrpnc_planes_get(%s + %s * %lld, %lld, %d, (%s) %% %lld, %d)",
                        buf, slot(e, t, n, c, p), t->q->bits * CW, CW, t->q->bits, c, Cg,
                        t->q->is_signed);
}

void cg_layout_planes_put(Emitter *e, const Tensor *t, const char *buf, const char *n,
                          const char *c, const char *p, const char *code)
{
    long long CW = (long long)layout_plane_words(t), Cg = (long long)layout_cg(t);
    cg_helper(e, "wrpnc_pack.h", cg_runtime_file("wrpnc_pack.h"));
    cg_line(e, "wrpnc_planes_put(%s + %s * %lld, %lld, %d, (%s) %% %lld, %s);", buf,
            slot(e, t, n, c, p), t->q->bits * CW, CW, t->q->bits, c, Cg, code);
}

const char *cg_layout_bytes_get(Emitter *e, const Tensor *t, const char *buf, const char *n,
                                const char *c, const char *p)
{
    return arena_printf(arena(e), "(int32_t)%s[%s * %lld + (%s) %% %lld]", buf,
                        slot(e, t, n, c, p), (long long)layout_pixel_bytes(t), c,
                        (long long)layout_cg(t));
}

void cg_layout_bytes_put(Emitter *e, const Tensor *t, const char *buf, const char *n,
                         const char *c, const char *p, const char *code)
{
    cg_line(e, "%s[%s * %lld + (%s) %% %lld] = (%s)(%s);", buf, slot(e, t, n, c, p),
            (long long)layout_pixel_bytes(t), c, (long long)layout_cg(t), cg_ctype(t->dtype),
            code);
}
