/*
 * Slice: Y = X[starts:ends:steps] along axes.
 *   opset < 10: starts, ends, axes attributes; >= 10: constant inputs starts,
 *   ends, axes (optional), steps (optional), int32 or int64.
 * Negative starts/ends count from the end; out-of-range values are clamped
 * ([0, dim] for positive steps, [-1, dim - 1] for negative ones). One
 * CopyPlan with strides X.stride * step; codegen/kernels/slice.c emits it.
 */
#include "opparams.h"

#include <string.h>

typedef struct SliceArgs {
    int n;
    int64_t starts[IR_MAX_DIMS], ends[IR_MAX_DIMS], axes[IR_MAX_DIMS], steps[IR_MAX_DIMS];
    bool has_axes, has_steps;
} SliceArgs;

/* Reads constant input i (a 1-D int32/int64 list) into v[]; *count = -1 when absent. */
static Status read_list(const Node *n, int i, int64_t *v, int *count, Diag *d)
{
    *count = -1;
    if (i >= n->nin || !n->in[i])
        return WR_OK;
    const void *data;
    WR_TRY(ir_const_input(n, i, &data, d));
    const Tensor *t = n->in[i];
    if ((t->dtype != DT_I64 && t->dtype != DT_I32) || t->ndim != 1 || t->dim[0] > IR_MAX_DIMS)
        return diag_node(d, WR_EPARSE, n, "input %d must be a short 1-D int32/int64 list", i);
    for (int k = 0; k < t->dim[0]; k++)
        v[k] = dtype_get_i64(t->dtype, data, k);
    *count = (int)t->dim[0];
    return WR_OK;
}

static Status read_attr(Node *n, const char *name, int64_t *v, int *count, Diag *d)
{
    const int64_t *a;
    *count = ir_attr_ints(n, name, &a);
    if (*count > IR_MAX_DIMS)
        return diag_node(d, WR_EPARSE, n, "attribute '%s' is too long", name);
    if (*count > 0)
        memcpy(v, a, sizeof(int64_t) * (size_t)*count);
    return WR_OK;
}

static Status slice_args(Node *n, SliceArgs *a, Diag *d)
{
    int ns, ne, na, nst = -1;
    if (n->opset < 10) {
        WR_TRY(read_attr(n, "starts", a->starts, &ns, d));
        WR_TRY(read_attr(n, "ends", a->ends, &ne, d));
        WR_TRY(read_attr(n, "axes", a->axes, &na, d));
    } else {
        WR_TRY(read_list(n, 1, a->starts, &ns, d));
        WR_TRY(read_list(n, 2, a->ends, &ne, d));
        WR_TRY(read_list(n, 3, a->axes, &na, d));
        WR_TRY(read_list(n, 4, a->steps, &nst, d));
    }
    if (ns < 0 || ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return diag_node(d, WR_EPARSE, n, "starts, ends, axes and steps differ in length");
    a->n = ns;
    for (int i = 0; i < ns; i++) {
        if (na < 0)
            a->axes[i] = i;
        if (nst < 0)
            a->steps[i] = 1;
        if (a->steps[i] == 0)
            return diag_node(d, WR_ESHAPE, n, "steps[%d] is 0", i);
    }
    return WR_OK;
}

/* Clamps start/end of one axis of length dim; returns the element count. */
static int64_t slice_axis(int64_t dim, int64_t step, int64_t *start, int64_t end)
{
    int64_t s = *start, e = end;
    if (s < 0)
        s += dim;
    if (e < 0)
        e += dim;
    if (step > 0) {
        s = s < 0 ? 0 : s > dim ? dim : s;
        e = e < 0 ? 0 : e > dim ? dim : e;
        *start = s;
        return e > s ? (e - s - 1) / step + 1 : 0;
    }
    s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
    e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
    *start = s;
    return s > e ? (s - e - 1) / -step + 1 : 0;
}

Status op_slice_infer(Graph *g, Node *n, Diag *d)
{
    const Tensor *X = n->in[0];
    SliceArgs a = {0};
    WR_TRY(slice_args(n, &a, d));
    int64_t dim[IR_MAX_DIMS], start[IR_MAX_DIMS] = {0}, step[IR_MAX_DIMS], xs[IR_MAX_DIMS];
    bool seen[IR_MAX_DIMS] = {0};
    memcpy(dim, X->dim, sizeof dim);
    for (int k = 0; k < X->ndim; k++)
        step[k] = 1;
    for (int i = 0; i < a.n; i++) {
        int ax;
        WR_TRY(ir_norm_axis(n, a.axes[i], X->ndim, &ax, d));
        if (seen[ax])
            return diag_node(d, WR_ESHAPE, n, "axis %d is repeated", ax);
        seen[ax] = true;
        /* a step longer than the axis takes one element: bound it so strides cannot overflow */
        int64_t big = X->dim[ax] > 1 ? X->dim[ax] : 1;
        step[ax] = a.steps[i] > big ? big : a.steps[i] < -big ? -big : a.steps[i];
        start[ax] = a.starts[i];
        dim[ax] = slice_axis(X->dim[ax], step[ax], &start[ax], a.ends[i]);
    }
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, dim);
    MoveParams *p = move_params_new(g, n, 1);
    CopyPlan *c = &p->plan[0];
    move_plan_dense(c, 0, 0, X->ndim, dim);
    move_strides(X->ndim, X->dim, xs);
    for (int k = 0; k < X->ndim; k++) {
        c->sstride[k] = xs[k] * step[k];
        c->soff += start[k] * xs[k];
    }
    move_plan_simplify(c);
    return WR_OK;
}

Status op_slice_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}
