/*
 * QConcat (domain "wrpnc"): codes of one QType concatenated along the channels,
 * read in any layout and written in out_layout / out_group (passes/quant_sink.c makes
 * it from a channel Concat of dequantized codes). Inputs share N and the spatial dims.
 */
#include "opparams.h"

Status op_qconcat_infer(Graph *g, Node *n, Diag *d)
{
    (void)g;
    const Tensor *x = n->in[0];
    int64_t dim[IR_MAX_DIMS];
    if (!x->q || x->ndim < 2)
        return diag_node(d, WR_EUNSUPPORTED, n, "inputs must be codes of rank >= 2");
    for (int k = 0; k < x->ndim; k++)
        dim[k] = x->dim[k];
    dim[1] = 0;
    for (int i = 0; i < n->nin; i++) {
        const Tensor *t = n->in[i];
        bool same = t && t->ndim == x->ndim && qtype_equal(t->q, x->q) && t->q->nscale == 1;
        for (int k = 0; same && k < x->ndim; k++)
            same = k == 1 || t->dim[k] == x->dim[k];
        if (!same)
            return diag_node(d, WR_ESHAPE, n, "input %d is not codes of the same type and "
                             "shape (but channels) as input 0", i);
        dim[1] += t->dim[1];
    }
    ir_tensor_set_shape(n->out[0], DT_U8, x->ndim, dim);
    return layout_set_output(n, "out_layout", "out_group", n->out[0], x->q, d);
}

Status op_qconcat_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const Tensor *y = n->out[0];
    int64_t off = 0, P = ir_tensor_pixels(y);
    for (int i = 0; i < n->nin; i++) {
        const Tensor *x = n->in[i];
        for (int64_t b = 0; b < y->dim[0]; b++)
            for (int64_t c = 0; c < x->dim[1]; c++)
                for (int64_t p = 0; p < P; p++)
                    layout_info[y->layout].put(y, out[0], b, off + c, p,
                                               layout_info[x->layout].get(x, in[i], b, c, p));
        off += x->dim[1];
    }
    return WR_OK;
}
