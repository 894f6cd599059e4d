/*
 * The view ops: the output is the input's bytes under a new shape.
 *   Reshape   data, shape (constant int64)     -> reshaped (0 copies a dim unless allowzero,
 *                                                 -1 is inferred); opset < 5: shape attribute
 *   Flatten   input, axis                      -> (prod dims[:axis], prod dims[axis:])
 *   Squeeze   data, axes (attribute < 13, constant input >= 13, else every 1-dim)
 *   Unsqueeze data, axes (attribute < 13, constant input >= 13)
 * They are OPF_VIEW: usually no code; codegen/kernels/reshape.c copies otherwise.
 */
#include "opparams.h"

#include <string.h>

/* The int64 list of attribute name (opset < since) or constant input i. */
static Status int_list(Node *n, const char *name, int64_t since, int i, const int64_t **v,
                       int *count, bool *present, Diag *d)
{
    *present = true;
    if (n->opset < since) {
        *count = ir_attr_ints(n, name, v);
        *present = *count >= 0;
        return WR_OK;
    }
    if (i >= n->nin || !n->in[i]) {
        *present = false;
        *count = -1;
        return WR_OK;
    }
    const void *data;
    WR_TRY(ir_const_input(n, i, &data, d));
    const Tensor *t = n->in[i];
    if (t->dtype != DT_I64 || t->ndim > 1)
        return diag_node(d, WR_EPARSE, n, "input %d ('%s') must be a 1-D int64 tensor", i,
                         t->name);
    *v = data;
    *count = (int)ir_tensor_numel(t);
    return WR_OK;
}

/* Resolves 0 and -1 entries of a Reshape target against the input shape. */
static Status reshape_dims(const Node *n, const Tensor *X, const int64_t *s, int ns,
                           bool allowzero, int64_t *dim, Diag *d)
{
    int infer = -1;
    int64_t known = 1;
    for (int k = 0; k < ns; k++) {
        dim[k] = s[k];
        if (s[k] == 0 && !allowzero) {
            if (k >= X->ndim)
                return diag_node(d, WR_ESHAPE, n, "shape[%d] = 0 copies a dim the input lacks",
                                 k);
            dim[k] = X->dim[k];
        } else if (s[k] == -1) {
            if (infer >= 0)
                return diag_node(d, WR_ESHAPE, n, "shape has more than one -1");
            infer = k;
            continue;
        } else if (s[k] < -1)
            return diag_node(d, WR_ESHAPE, n, "shape[%d] = %lld is invalid", k, (long long)s[k]);
        known *= dim[k];
    }
    int64_t numel = ir_tensor_numel(X);
    if (infer >= 0) {
        if (known == 0 || numel % known)
            return diag_node(d, WR_ESHAPE, n, "cannot infer the -1 dim: %lld elements into %lld",
                             (long long)numel, (long long)known);
        dim[infer] = numel / known;
    } else if (known != numel)
        return diag_node(d, WR_ESHAPE, n, "cannot reshape %lld elements into %lld",
                         (long long)numel, (long long)known);
    return WR_OK;
}

Status op_reshape_infer(Graph *g, Node *n, Diag *d)
{
    const int64_t *s = NULL;
    int ns;
    bool present;
    WR_TRY(int_list(n, "shape", 5, 1, &s, &ns, &present, d));
    if (!present)
        return diag_node(d, WR_EPARSE, n, "the target shape is missing");
    if (ns > IR_MAX_DIMS)
        return diag_node(d, WR_EUNSUPPORTED, n, "rank %d is above %d", ns, IR_MAX_DIMS);
    bool allowzero = ir_attr_int(n, "allowzero", 0) != 0;
    if (allowzero)
        for (int k = 0; k < ns; k++)
            for (int j = 0; j < ns; j++)
                if (s[k] == 0 && s[j] == -1)
                    return diag_node(d, WR_ESHAPE, n, "allowzero with both 0 and -1 in shape");
    int64_t dim[IR_MAX_DIMS];
    WR_TRY(reshape_dims(n, n->in[0], s, ns, allowzero, dim, d));
    move_set_view(g, n, ns, dim);
    return WR_OK;
}

Status op_reshape_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}

Status op_flatten_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    int64_t axis = ir_attr_int(n, "axis", 1);
    if (axis < -X->ndim || axis > X->ndim)
        return diag_node(d, WR_ESHAPE, n, "axis %lld out of range for rank %d", (long long)axis,
                         X->ndim);
    if (axis < 0)
        axis += X->ndim;
    int64_t dim[2] = {1, 1};
    for (int k = 0; k < X->ndim; k++)
        dim[k >= axis] *= X->dim[k];
    move_set_view(g, n, 2, dim);
    return WR_OK;
}

Status op_flatten_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}

/* Marks the normalized axes (against rank) in mark[]; error on repeats. */
static Status mark_axes(const Node *n, const int64_t *axes, int na, int rank, bool *mark,
                        Diag *d)
{
    memset(mark, 0, sizeof(bool) * IR_MAX_DIMS);
    for (int i = 0; i < na; i++) {
        int a;
        WR_TRY(ir_norm_axis(n, axes[i], rank, &a, d));
        if (mark[a])
            return diag_node(d, WR_ESHAPE, n, "axis %lld is repeated", (long long)axes[i]);
        mark[a] = true;
    }
    return WR_OK;
}

Status op_squeeze_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    const int64_t *axes = NULL;
    int na;
    bool present, mark[IR_MAX_DIMS];
    WR_TRY(int_list(n, "axes", 13, 1, &axes, &na, &present, d));
    if (present)
        WR_TRY(mark_axes(n, axes, na, X->ndim, mark, d));
    int64_t dim[IR_MAX_DIMS];
    int nd = 0;
    for (int k = 0; k < X->ndim; k++) {
        bool drop = present ? mark[k] : X->dim[k] == 1;
        if (drop && X->dim[k] != 1)
            return diag_node(d, WR_ESHAPE, n, "cannot squeeze dim %d of size %lld", k,
                             (long long)X->dim[k]);
        if (!drop)
            dim[nd++] = X->dim[k];
    }
    move_set_view(g, n, nd, dim);
    return WR_OK;
}

Status op_squeeze_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}

Status op_unsqueeze_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    const int64_t *axes = NULL;
    int na;
    bool present, mark[IR_MAX_DIMS];
    WR_TRY(int_list(n, "axes", 13, 1, &axes, &na, &present, d));
    if (!present)
        return diag_node(d, WR_EPARSE, n, "axes are missing");
    int rank = X->ndim + na;
    if (rank > IR_MAX_DIMS)
        return diag_node(d, WR_EUNSUPPORTED, n, "rank %d is above %d", rank, IR_MAX_DIMS);
    WR_TRY(mark_axes(n, axes, na, rank, mark, d));
    int64_t dim[IR_MAX_DIMS];
    for (int k = 0, j = 0; k < rank; k++)
        dim[k] = mark[k] ? 1 : X->dim[j++];
    move_set_view(g, n, rank, dim);
    return WR_OK;
}

Status op_unsqueeze_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}
