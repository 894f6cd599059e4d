/*
 * test_nn_ops.c: pooling geometry and borders the ONNX node tests do not
 * pin down: ceil_mode output sizes (the last window must start inside the
 * input or its begin padding), AveragePool divisors with count_include_pad
 * and ceil_mode, MaxPool Indices, the BatchNorm training-mode error, the
 * opset < 13 Softmax coercion to 2-D, and axes as an attribute (opset < 18).
 * Expected values come from PyTorch 1.13 (nn.MaxPool1d / nn.AvgPool2d,
 * torch.softmax / log_softmax) or are plain arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "opparams.h"

/* A graph with one float32 input X of shape dim and a node op reading it. */
static Node *one_node(Graph *g, int op, int ndim, const int64_t *dim, int nout)
{
    Tensor *x = ir_tensor_get(g, "X", true);
    ir_tensor_set_shape(x, DT_F32, ndim, dim);
    Node *n = ir_node_new(g, op, "p", 1, nout);
    ir_node_set_input(n, 0, x);
    n->out[0] = ir_tensor_get(g, "Y", true);
    if (nout > 1)
        n->out[1] = ir_tensor_get(g, "I", true);
    n->opset = 19;
    n->attr = arena_alloc(&g->arena, sizeof(Attr) * 8);
    return n;
}

static void attr_ints(Graph *g, Node *n, const char *name, int c, const int64_t *v)
{
    Attr *a = &n->attr[n->nattr++];
    a->name = name;
    a->type = ATTR_INTS;
    a->n = c;
    a->ints = arena_alloc(&g->arena, sizeof(int64_t) * (size_t)c);
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)c);
}

static void attr_int(Node *n, const char *name, int64_t v)
{
    Attr *a = &n->attr[n->nattr++];
    a->name = name;
    a->type = ATTR_INT;
    a->i = v;
}

/* 1-D MaxPool output length for (in, kernel, stride, pad) with ceil_mode. */
static int64_t ceil_len(int64_t in, int64_t k, int64_t s, int64_t p)
{
    Graph *g = ir_graph_new("t");
    int64_t dim[3] = {1, 1, in};
    Node *n = one_node(g, OP_MAX_POOL, 3, dim, 1);
    attr_ints(g, n, "kernel_shape", 1, &k);
    attr_ints(g, n, "strides", 1, &s);
    int64_t pads[2] = {p, p};
    attr_ints(g, n, "pads", 2, pads);
    attr_int(n, "ceil_mode", 1);
    Diag d = {0};
    assert_int_equal(op_pool_infer(g, n, &d), WR_OK);
    int64_t len = n->out[0]->dim[2];
    ir_graph_free(g);
    return len;
}

static void test_ceil_mode_sizes(void **state)
{
    (void)state;
    assert_int_equal(ceil_len(6, 3, 2, 1), 4); /* torch: MaxPool1d(3, 2, 1, ceil_mode) */
    /* the 4th window would start at 6 = in + pad0: dropped */
    assert_int_equal(ceil_len(5, 2, 2, 1), 3);
    assert_int_equal(ceil_len(5, 2, 2, 0), 3);
}

/* AveragePool 3x3 / 2x2, stride 2, pads 1, ceil_mode on X = 1..30 (5 x 6). */
static void avg_case(int64_t k, int include_pad, const float *want)
{
    Graph *g = ir_graph_new("t");
    int64_t dim[4] = {1, 1, 5, 6}, ks[2] = {k, k}, st[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
    Node *n = one_node(g, OP_AVERAGE_POOL, 4, dim, 1);
    attr_ints(g, n, "kernel_shape", 2, ks);
    attr_ints(g, n, "strides", 2, st);
    attr_ints(g, n, "pads", 4, pads);
    attr_int(n, "ceil_mode", 1);
    attr_int(n, "count_include_pad", include_pad);
    Diag d = {0};
    assert_int_equal(op_pool_infer(g, n, &d), WR_OK);
    assert_int_equal(n->out[0]->dim[2], 3);
    assert_int_equal(n->out[0]->dim[3], 4);
    float x[30], y[12];
    for (int i = 0; i < 30; i++)
        x[i] = (float)(i + 1);
    void *in[1] = {x}, *out[1] = {y};
    assert_int_equal(op_pool_eval(n, in, out, &d), WR_OK);
    for (int i = 0; i < 12; i++)
        assert_float_equal(y[i], want[i], 1e-5);
    ir_graph_free(g);
}

static void test_avg_count_include_pad(void **state)
{
    (void)state;
    static const float k3_pad[12] = {2, 4, 5.3333333f, 3, 9, 15, 17, 9, 10, 16, 17.333333f, 9};
    static const float k3_nopad[12] = {4.5, 6, 8, 9, 13.5, 15, 17, 18, 22.5, 24, 26, 27};
    static const float k2_pad[12] = {0.25, 1.25, 2.25, 1.5, 5, 11.5, 13.5, 7.5, 11, 23.5, 25.5,
                                     13.5};
    avg_case(3, 1, k3_pad);
    avg_case(3, 0, k3_nopad);
    avg_case(2, 1, k2_pad);
}

static void test_maxpool_indices(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    int64_t dim[4] = {1, 2, 2, 3}, ks[2] = {2, 2};
    Node *n = one_node(g, OP_MAX_POOL, 4, dim, 2);
    attr_ints(g, n, "kernel_shape", 2, ks);
    attr_int(n, "storage_order", 1);
    Diag d = {0};
    assert_int_equal(op_pool_infer(g, n, &d), WR_OK);
    assert_int_equal(n->out[1]->dtype, DT_I64);
    /* plane 1 holds the max of each window at (1, 0) then (0, 2) */
    float x[12] = {0, 0, 0, 0, 0, 0, 0, 0, 9, 7, 0, 0};
    float y[4];
    int64_t idx[4];
    void *in[1] = {x}, *out[2] = {y, idx};
    assert_int_equal(op_pool_eval(n, in, out, &d), WR_OK);
    assert_float_equal(y[2], 7, 0);
    assert_float_equal(y[3], 9, 0);
    /* column-major within the plane: (h, w) -> w * H + h, plus plane offset 6 */
    assert_int_equal(idx[2], 6 + 0 * 2 + 1);
    assert_int_equal(idx[3], 6 + 2 * 2 + 0);
    ir_graph_free(g);
}

static void test_batchnorm_training_rejected(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    int64_t dim[4] = {1, 2, 1, 1}, c[1] = {2};
    Node *n = ir_node_new(g, OP_BATCH_NORM, "bn", 5, 3);
    const char *names[5] = {"X", "s", "b", "m", "v"};
    for (int i = 0; i < 5; i++) {
        Tensor *t = ir_tensor_get(g, names[i], true);
        ir_tensor_set_shape(t, DT_F32, i ? 1 : 4, i ? c : dim);
        ir_node_set_input(n, i, t);
    }
    n->out[0] = ir_tensor_get(g, "Y", true);
    n->out[1] = ir_tensor_get(g, "rm", true);
    Diag d = {0};
    assert_int_equal(op_batchnorm_infer(g, n, &d), WR_EUNSUPPORTED);
    assert_non_null(strstr(d.msg, "training mode"));
    ir_graph_free(g);
}

static const float SM_X[8] = {0, 1, 2, 3, -1, 0.5f, 4, 2};

/* Softmax / LogSoftmax over X (2, 2, 2) at axis 1 for opset; y must match want. */
static void softmax_case(int op, int64_t opset, const float *want)
{
    Graph *g = ir_graph_new("t");
    int64_t dim[3] = {2, 2, 2};
    Node *n = one_node(g, op, 3, dim, 1);
    n->opset = opset;
    attr_int(n, "axis", 1);
    Diag d = {0};
    assert_int_equal(op_softmax_infer(g, n, &d), WR_OK);
    float y[8];
    void *in[1] = {(void *)SM_X}, *out[1] = {y};
    assert_int_equal(op_softmax_eval(n, in, out, &d), WR_OK);
    for (int i = 0; i < 8; i++)
        assert_float_equal(y[i], want[i], 1e-6);
    ir_graph_free(g);
}

static void test_softmax_opsets(void **state)
{
    (void)state;
    /* opset 11: coerced to (2, 4); torch.softmax(x.reshape(2, 4), 1) */
    static const float v11[8] = {0.0320586f, 0.0871443f, 0.2368828f, 0.6439143f,
                                 0.0057478f, 0.0257597f, 0.8530453f, 0.1154471f};
    /* opset 13: axis 1 alone; torch.log_softmax(x.reshape(2, 2, 2), 1) */
    static const float v13[8] = {-2.1269281f, -2.1269281f, -0.1269280f, -0.1269280f,
                                 -5.0067153f, -1.7014134f, -0.0067153f, -0.2014133f};
    softmax_case(OP_SOFTMAX, 11, v11);
    softmax_case(OP_LOG_SOFTMAX, 13, v13);
}

static void test_reduce_axes_attribute(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    int64_t dim[2] = {2, 3}, ax[1] = {-1};
    Node *n = one_node(g, OP_REDUCE_MEAN, 2, dim, 1);
    n->opset = 13;
    attr_ints(g, n, "axes", 1, ax);
    attr_int(n, "keepdims", 0);
    Diag d = {0};
    assert_int_equal(op_reduce_infer(g, n, &d), WR_OK);
    assert_int_equal(n->out[0]->ndim, 1);
    assert_int_equal(n->out[0]->dim[0], 2);
    float x[6] = {1, 2, 3, 4, 5, 9}, y[2];
    void *in[1] = {x}, *out[1] = {y};
    assert_int_equal(op_reduce_eval(n, in, out, &d), WR_OK);
    assert_float_equal(y[0], 2, 1e-6);
    assert_float_equal(y[1], 6, 1e-6);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ceil_mode_sizes),
        cmocka_unit_test(test_avg_count_include_pad),
        cmocka_unit_test(test_maxpool_indices),
        cmocka_unit_test(test_batchnorm_training_rejected),
        cmocka_unit_test(test_softmax_opsets),
        cmocka_unit_test(test_reduce_axes_attribute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
