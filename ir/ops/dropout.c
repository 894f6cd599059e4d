/*
 * Dropout at inference: output = data, mask (optional) = all true.
 *   data, ratio (optional), training_mode (optional, constant bool) -> output, mask
 * Before opset 12 ratio is an attribute; before opset 7 is_test = 0 asks for
 * training. Training with a nonzero ratio is random and refused; training
 * with ratio 0 is the identity. The mask is bool from opset 10, else data's
 * dtype. Not a view (the mask must be written); codegen/kernels/dropout.c.
 */
#include "opparams.h"

static Status training(Node *n, bool *train, double *ratio, Diag *d)
{
    *train = n->opset < 7 && ir_attr_int(n, "is_test", 0) == 0;
    *ratio = n->opset < 12 ? ir_attr_float(n, "ratio", 0.5f) : 0.5;
    if (n->nin > 2 && n->in[2]) {
        const void *t;
        WR_TRY(ir_const_input(n, 2, &t, d));
        *train = dtype_get_i64(n->in[2]->dtype, t, 0) != 0;
    }
    if (*train && n->nin > 1 && n->in[1]) {
        const void *r;
        WR_TRY(ir_const_input(n, 1, &r, d));
        *ratio = dtype_get_f64(n->in[1]->dtype, r, 0);
    }
    return WR_OK;
}

Status op_dropout_infer(Graph *g, Node *n, Diag *d)
{
    static const unsigned char one_u8 = 1;
    static const float one_f32 = 1;
    static const double one_f64 = 1;
    const Tensor *X = n->in[0];
    bool train;
    double ratio;
    WR_TRY(training(n, &train, &ratio, d));
    if (train && ratio != 0)
        return diag_node(d, WR_EUNSUPPORTED, n, "training-mode dropout (random) is not supported");
    ir_tensor_set_shape(n->out[0], X->dtype, X->ndim, X->dim);
    MoveParams *p = move_params_new(g, n, 1);
    move_plan_dense(&p->plan[0], 0, 0, X->ndim, X->dim);
    move_plan_simplify(&p->plan[0]);
    if (n->nout > 1 && n->out[1]) {
        DType mt = n->opset >= 10 ? DT_BOOL : X->dtype;
        if (mt != DT_BOOL && mt != DT_F32 && mt != DT_F64)
            return diag_node(d, WR_EUNSUPPORTED, n, "mask of dtype %s", dtype_info[mt].name);
        ir_tensor_set_shape(n->out[1], mt, X->ndim, X->dim);
        p->fill[1] = mt == DT_BOOL ? (const void *)&one_u8
                     : mt == DT_F32 ? (const void *)&one_f32 : (const void *)&one_f64;
    }
    return WR_OK;
}

Status op_dropout_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    return move_eval(n, in, out, d);
}
