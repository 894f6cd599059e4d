/*
 * spatial.c: window geometry shared by Conv and the pooling ops: kernel,
 * strides, dilations, explicit pads or auto_pad (SAME_UPPER, SAME_LOWER,
 * VALID), ceil_mode; output size per spatial dim, checked for sanity.
 */
#include "opparams.h"

#include <string.h>

/* Bound of every kernel size, stride, dilation and pad: the window arithmetic
 * ((k - 1) * dilation + 1, o * stride - pad + k * dilation) then stays far from
 * int64_t overflow here, in the reference and in generated code. */
#define SPATIAL_MAX INT64_C(0x7fffffff)

static Status get_list(Node *n, const char *name, int nsp, int64_t def, int64_t *out, Diag *d)
{
    const int64_t *v;
    int c = ir_attr_ints(n, name, &v);
    for (int i = 0; i < nsp; i++)
        out[i] = def;
    if (c < 0)
        return WR_OK;
    if (c != nsp)
        return diag_node(d, WR_EPARSE, n, "attribute '%s' has %d values, expected %d", name, c,
                         nsp);
    for (int i = 0; i < nsp; i++) {
        if (v[i] < 1)
            return diag_node(d, WR_EPARSE, n, "attribute '%s' has value %lld < 1", name,
                             (long long)v[i]);
        if (v[i] > SPATIAL_MAX)
            return diag_node(d, WR_EUNSUPPORTED, n, "attribute '%s' has value %lld > 2^31 - 1",
                             name, (long long)v[i]);
        out[i] = v[i];
    }
    return WR_OK;
}

static Status explicit_pads(Node *n, int nsp, Spatial *sp, Diag *d)
{
    const int64_t *p;
    int c = ir_attr_ints(n, "pads", &p);
    if (c < 0)
        return WR_OK;
    if (c != 2 * nsp)
        return diag_node(d, WR_EPARSE, n, "attribute 'pads' has %d values, expected %d", c,
                         2 * nsp);
    for (int i = 0; i < nsp; i++) {
        if (p[i] < 0 || p[i + nsp] < 0)
            return diag_node(d, WR_EPARSE, n, "negative pads are not supported");
        if (p[i] > SPATIAL_MAX || p[i + nsp] > SPATIAL_MAX)
            return diag_node(d, WR_EUNSUPPORTED, n, "pads above 2^31 - 1 are not supported");
        sp->pad0[3 - nsp + i] = p[i];
        sp->pad1[3 - nsp + i] = p[i + nsp];
    }
    return WR_OK;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static void auto_pad(const char *mode, Spatial *sp, int i)
{
    int64_t ext = (sp->k[i] - 1) * sp->dil[i] + 1;
    int64_t out = ceil_div(sp->in[i], sp->stride[i]);
    int64_t total = (out - 1) * sp->stride[i] + ext - sp->in[i];
    if (total < 0)
        total = 0;
    sp->pad0[i] = strcmp(mode, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
    sp->pad1[i] = total - sp->pad0[i];
}

static Status out_size(Node *n, Spatial *sp, int i, Diag *d)
{
    int64_t ext = (sp->k[i] - 1) * sp->dil[i] + 1;
    int64_t span = sp->in[i] + sp->pad0[i] + sp->pad1[i] - ext;
    if (span < 0)
        return diag_node(d, WR_ESHAPE, n, "kernel extent %lld exceeds padded input %lld",
                         (long long)ext, (long long)(sp->in[i] + sp->pad0[i] + sp->pad1[i]));
    sp->out[i] = (sp->ceil_mode ? ceil_div(span, sp->stride[i]) : span / sp->stride[i]) + 1;
    /* ceil_mode: the last window must start inside the input or its begin padding */
    if (sp->ceil_mode && (sp->out[i] - 1) * sp->stride[i] >= sp->in[i] + sp->pad0[i])
        sp->out[i]--;
    return WR_OK;
}

Status ir_spatial_parse(Node *n, int nsp, const int64_t *x_sp, const int64_t *kernel,
                        bool allow_ceil, Spatial *sp, Diag *d)
{
    if (nsp < 1 || nsp > 3)
        return diag_node(d, WR_EUNSUPPORTED, n, "%d spatial dims (1 to 3 supported)", nsp);
    memset(sp, 0, sizeof *sp);
    sp->nsp = nsp;
    int64_t k[3], st[3], dl[3];
    if (kernel)
        memcpy(k, kernel, sizeof(int64_t) * (size_t)nsp);
    else {
        const int64_t *ks;
        if (ir_attr_ints(n, "kernel_shape", &ks) != nsp)
            return diag_node(d, WR_EPARSE, n, "attribute 'kernel_shape' must have %d values", nsp);
        memcpy(k, ks, sizeof(int64_t) * (size_t)nsp);
    }
    WR_TRY(get_list(n, "strides", nsp, 1, st, d));
    WR_TRY(get_list(n, "dilations", nsp, 1, dl, d));
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - nsp);
        sp->in[i] = j >= 0 ? x_sp[j] : 1;
        sp->k[i] = j >= 0 ? k[j] : 1;
        sp->stride[i] = j >= 0 ? st[j] : 1;
        sp->dil[i] = j >= 0 ? dl[j] : 1;
        if (sp->k[i] < 1)
            return diag_node(d, WR_EPARSE, n, "kernel size %lld < 1", (long long)sp->k[i]);
        if (sp->k[i] > SPATIAL_MAX)
            return diag_node(d, WR_EUNSUPPORTED, n, "kernel size %lld > 2^31 - 1",
                             (long long)sp->k[i]);
    }
    sp->ceil_mode = allow_ceil ? (int)ir_attr_int(n, "ceil_mode", 0) : 0;
    const char *ap = ir_attr_str(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") == 0)
        WR_TRY(explicit_pads(n, nsp, sp, d));
    else if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0)
        for (int i = 3 - nsp; i < 3; i++)
            auto_pad(ap, sp, i);
    else if (strcmp(ap, "VALID") != 0)
        return diag_node(d, WR_EPARSE, n, "auto_pad '%s' is not a valid mode", ap);
    for (int i = 0; i < 3; i++)
        WR_TRY(out_size(n, sp, i, d));
    return WR_OK;
}
