/*
 * layout.c: how tensors of codes are stored (the table in layouts.def): storage
 * size, and the reference unpack (get) and pack (put) of one code. These are the
 * oracle for the emitted loads and stores of codegen/layout.c and for every
 * reference eval that reads or writes codes.
 */
#include "ir.h"
#include "wrpnc_pack.h"

#include <string.h>

#define LAYOUT(ID, fn, name)                                                                       \
    int64_t layout_##fn##_bytes(const Tensor *t);                                                  \
    int32_t layout_##fn##_get(const Tensor *t, const void *buf, int64_t n, int64_t c, int64_t p); \
    void layout_##fn##_put(const Tensor *t, void *buf, int64_t n, int64_t c, int64_t p,            \
                           int32_t code);
#include "layouts.def"
#undef LAYOUT

const LayoutInfo layout_info[LAYOUT_COUNT] = {
#define LAYOUT(ID, fn, name)                                                                       \
    [LAYOUT_##ID] = {name, layout_##fn##_bytes, layout_##fn##_get, layout_##fn##_put},
#include "layouts.def"
#undef LAYOUT
};

int layout_lookup(const char *s)
{
    for (int i = 0; i < LAYOUT_COUNT; i++)
        if (strcmp(layout_info[i].name, s) == 0)
            return i;
    return -1;
}

DType layout_dtype(Layout l, const QType *q)
{
    return l == LAYOUT_PLANES ? DT_U64 : qtype_byte_dtype(q);
}

int64_t layout_cg(const Tensor *t)
{
    int64_t G = t->group > 0 ? t->group : 1;
    return t->ndim >= 2 ? t->dim[1] / G : 1;
}

int64_t layout_plane_words(const Tensor *t) { return WRPNC_PLANE_WORDS(layout_cg(t)); }

int64_t layout_pixel_bytes(const Tensor *t) { return (layout_cg(t) + 3) / 4 * 4; }

/* Flat (image, group, pixel) slot and the channel within the group. */
static int64_t slot(const Tensor *t, int64_t n, int64_t c, int64_t p, int64_t *cg)
{
    int64_t Cg = layout_cg(t), G = t->group > 0 ? t->group : 1;
    *cg = c % Cg;
    return (n * G + c / Cg) * ir_tensor_pixels(t) + p;
}

/* Sign-extends the low `bits` of v when the codes are signed. */
static int32_t extend(const QType *q, uint32_t v)
{
    if (q && q->is_signed && (v >> (q->bits - 1)) & 1u)
        v |= ~0u << q->bits;
    return (int32_t)v;
}

/* ---- DENSE ---- */

int64_t layout_dense_bytes(const Tensor *t)
{
    return ir_tensor_numel(t) * dtype_info[t->dtype].bytes;
}

int32_t layout_dense_get(const Tensor *t, const void *buf, int64_t n, int64_t c, int64_t p)
{
    int64_t C = t->ndim >= 2 ? t->dim[1] : 1;
    return (int32_t)dtype_get_i64(t->dtype, buf, (n * C + c) * ir_tensor_pixels(t) + p);
}

void layout_dense_put(const Tensor *t, void *buf, int64_t n, int64_t c, int64_t p, int32_t code)
{
    int64_t C = t->ndim >= 2 ? t->dim[1] : 1;
    dtype_set_f64(t->dtype, buf, (n * C + c) * ir_tensor_pixels(t) + p, code);
}

/* ---- PLANES ---- */

int64_t layout_planes_bytes(const Tensor *t)
{
    int64_t G = t->group > 0 ? t->group : 1;
    return t->dim[0] * G * ir_tensor_pixels(t) * t->q->bits * layout_plane_words(t) * 8;
}

int32_t layout_planes_get(const Tensor *t, const void *buf, int64_t n, int64_t c, int64_t p)
{
    int64_t cg, CW = layout_plane_words(t);
    int64_t s = slot(t, n, c, p, &cg);
    const uint64_t *w = (const uint64_t *)buf + s * t->q->bits * CW + cg / 64;
    uint32_t v = 0;
    for (int i = 0; i < t->q->bits; i++)
        v |= (uint32_t)WRPNC_GETBITS(w[i * CW], cg % 64, 1) << i;
    return extend(t->q, v);
}

void layout_planes_put(const Tensor *t, void *buf, int64_t n, int64_t c, int64_t p, int32_t code)
{
    int64_t cg, CW = layout_plane_words(t);
    int64_t s = slot(t, n, c, p, &cg);
    uint64_t *w = (uint64_t *)buf + s * t->q->bits * CW + cg / 64;
    for (int i = 0; i < t->q->bits; i++)
        w[i * CW] |= (uint64_t)(((uint32_t)code >> i) & 1u) << (cg % 64);
}

/* ---- BYTES ---- */

int64_t layout_bytes_bytes(const Tensor *t)
{
    int64_t G = t->group > 0 ? t->group : 1;
    return t->dim[0] * G * ir_tensor_pixels(t) * layout_pixel_bytes(t);
}

int32_t layout_bytes_get(const Tensor *t, const void *buf, int64_t n, int64_t c, int64_t p)
{
    int64_t cg, s = slot(t, n, c, p, &cg);
    return extend(t->q, ((const uint8_t *)buf)[s * layout_pixel_bytes(t) + cg]);
}

void layout_bytes_put(const Tensor *t, void *buf, int64_t n, int64_t c, int64_t p, int32_t code)
{
    int64_t cg, s = slot(t, n, c, p, &cg);
    ((uint8_t *)buf)[s * layout_pixel_bytes(t) + cg] = (uint8_t)code;
}

Status layout_set_output(Node *n, const char *layout_attr, const char *group_attr, Tensor *t,
                         const QType *q, Diag *d)
{
    const char *name = ir_attr_str(n, layout_attr, "dense");
    int l = layout_lookup(name);
    int64_t G = ir_attr_int(n, group_attr, 1);
    if (l < 0)
        return diag_node(d, WR_EPARSE, n, "%s '%s' (dense, planes or bytes)", layout_attr, name);
    if (l != LAYOUT_DENSE && (t->ndim < 2 || q->bits > 8))
        return diag_node(d, WR_EUNSUPPORTED, n, "layout %s needs codes of rank >= 2 and at most "
                         "8 bits", name);
    if (G < 1 || (l != LAYOUT_DENSE && t->dim[1] % G) || (l == LAYOUT_DENSE && G != 1))
        return diag_node(d, WR_ESHAPE, n, "%s %lld does not divide the %lld channels", group_attr,
                         (long long)G, (long long)(t->ndim >= 2 ? t->dim[1] : 0));
    if (q->nscale > 1 && (t->ndim < 2 || q->nscale != t->dim[1]))
        return diag_node(d, WR_ESHAPE, n, "%lld scales for %lld channels", (long long)q->nscale,
                         (long long)(t->ndim >= 2 ? t->dim[1] : 0));
    ir_tensor_set_codes(t, q, (Layout)l, G);
    return WR_OK;
}
