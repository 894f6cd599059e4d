/*
 * test_shape_ops.c: edges of the shape and data-movement ops that the ONNX
 * node tests do not reach: Reshape's 0 / -1 / allowzero errors, a target
 * shape computed at run time, Slice clamping with huge and negative bounds,
 * Split's uneven last part (opset 18), Gather's zero row for a bad run-time
 * index. Expected values are written out by hand from the ONNX spec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ir.h"

static Tensor *input(Graph *g, const char *name, DType t, int nd, const int64_t *dim)
{
    Tensor *x = ir_tensor_get(g, name, true);
    ir_tensor_set_shape(x, t, nd, dim);
    return x;
}

static Tensor *constant(Graph *g, const char *name, DType t, int nd, const int64_t *dim,
                        const void *data)
{
    Tensor *x = input(g, name, t, nd, dim);
    memcpy(ir_tensor_alloc_data(g, x), data, (size_t)ir_tensor_bytes(x));
    return x;
}

/* A node of op with inputs in[0..nin) (NULL allowed) and nout fresh outputs. */
static Node *node(Graph *g, int op, int64_t opset, Tensor **in, int nin, int nout)
{
    Node *n = ir_node_new(g, op, NULL, nin, nout);
    n->opset = opset;
    for (int i = 0; i < nin; i++)
        ir_node_set_input(n, i, in[i]);
    for (int i = 0; i < nout; i++) {
        n->out[i] = ir_tensor_fresh(g, "y");
        n->out[i]->producer = n;
    }
    return n;
}

/* Infers a Reshape of a (2, 3, 4) float tensor to target shape s. */
static Status reshape(const int64_t *s, int ns, int64_t allowzero, Tensor **y, Diag *d)
{
    Graph *g = ir_graph_new("t");
    int64_t xd[3] = {2, 3, 4}, sd = ns;
    Tensor *in[2] = {input(g, "x", DT_F32, 3, xd), constant(g, "s", DT_I64, 1, &sd, s)};
    Node *n = node(g, OP_RESHAPE, 14, in, 2, 1);
    Attr *a = arena_alloc(&g->arena, sizeof *a);
    a->name = "allowzero";
    a->type = ATTR_INT;
    a->i = allowzero;
    n->attr = a;
    n->nattr = 1;
    Status st = op_info[OP_RESHAPE].infer(g, n, d);
    static Tensor copy;
    copy = *n->out[0];
    *y = &copy;
    ir_graph_free(g);
    return st;
}

static void test_reshape_zero_and_minus_one(void **state)
{
    (void)state;
    Diag d = {0};
    Tensor *y;
    int64_t s[3] = {0, -1, 2};
    assert_int_equal(reshape(s, 3, 0, &y, &d), WR_OK);
    assert_int_equal(y->ndim, 3);
    assert_int_equal(y->dim[0], 2);
    assert_int_equal(y->dim[1], 6);
    assert_int_equal(y->dim[2], 2);
}

static void test_reshape_errors(void **state)
{
    (void)state;
    Diag d = {0};
    Tensor *y;
    int64_t bad_div[2] = {5, -1}, two[3] = {-1, -1, 4}, zero_neg[2] = {0, -1}, wrong[2] = {5, 5};
    assert_int_equal(reshape(bad_div, 2, 0, &y, &d), WR_ESHAPE);
    assert_non_null(strstr(d.msg, "-1"));
    memset(&d, 0, sizeof d);
    assert_int_equal(reshape(two, 3, 0, &y, &d), WR_ESHAPE);
    assert_non_null(strstr(d.msg, "more than one -1"));
    memset(&d, 0, sizeof d);
    assert_int_equal(reshape(zero_neg, 2, 1, &y, &d), WR_ESHAPE);
    assert_non_null(strstr(d.msg, "allowzero"));
    memset(&d, 0, sizeof d);
    assert_int_equal(reshape(wrong, 2, 0, &y, &d), WR_ESHAPE);
    /* allowzero keeps a literal 0: 24 elements cannot become 0 */
    int64_t z[2] = {0, 24};
    memset(&d, 0, sizeof d);
    assert_int_equal(reshape(z, 2, 1, &y, &d), WR_ESHAPE);
}

static void test_reshape_runtime_shape(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    int64_t xd[2] = {2, 3}, sd = 2;
    Tensor *in[2] = {input(g, "x", DT_F32, 2, xd), input(g, "s", DT_I64, 1, &sd)};
    Node *n = node(g, OP_RESHAPE, 14, in, 2, 1);
    Diag d = {0};
    assert_int_equal(op_info[OP_RESHAPE].infer(g, n, &d), WR_EUNSUPPORTED);
    assert_non_null(strstr(d.msg, "must be a constant"));
    ir_graph_free(g);
}

/* Slices x = 0..9 with (start, end, step) and checks the values. */
static void check_slice(int64_t start, int64_t end, int64_t step, const float *want, int nwant)
{
    Graph *g = ir_graph_new("t");
    int64_t xd = 10, one = 1, ax = 0;
    float x[10];
    for (int i = 0; i < 10; i++)
        x[i] = (float)i;
    Tensor *in[5] = {constant(g, "x", DT_F32, 1, &xd, x),
                     constant(g, "s", DT_I64, 1, &one, &start),
                     constant(g, "e", DT_I64, 1, &one, &end),
                     constant(g, "a", DT_I64, 1, &one, &ax),
                     constant(g, "p", DT_I64, 1, &one, &step)};
    Node *n = node(g, OP_SLICE, 13, in, 5, 1);
    Diag d = {0};
    assert_int_equal(op_info[OP_SLICE].infer(g, n, &d), WR_OK);
    assert_int_equal(n->out[0]->dim[0], nwant);
    float y[10] = {0};
    void *ins[5] = {x, NULL, NULL, NULL, NULL}, *outs[1] = {y};
    assert_int_equal(op_info[OP_SLICE].eval(n, ins, outs, &d), WR_OK);
    for (int i = 0; i < nwant; i++)
        assert_true(y[i] == want[i]);
    ir_graph_free(g);
}

static void test_slice_clamping(void **state)
{
    (void)state;
    const float all[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, rev[10] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
    const float tail[2] = {8, 9}, odd_rev[3] = {9, 7, 5};
    check_slice(-1000, INT64_MAX, 1, all, 10);
    check_slice(INT64_MAX, INT64_MIN, -1, rev, 10);
    check_slice(-2, 1000, 1, tail, 2);
    check_slice(1000, 4, -2, odd_rev, 3);
    check_slice(5, 5, 1, all, 0);
    check_slice(0, 10, INT64_MAX, all, 1);  /* a huge step takes the first element */
    check_slice(3, 10, -1, all, 0);         /* backwards from 3 towards 10: empty */
}

static void test_split_uneven_opset18(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    int64_t xd = 7;
    Tensor *in[1] = {input(g, "x", DT_I32, 1, &xd)};
    Node *n = node(g, OP_SPLIT, 18, in, 1, 3);
    Diag d = {0};
    assert_int_equal(op_info[OP_SPLIT].infer(g, n, &d), WR_OK);
    assert_int_equal(n->out[0]->dim[0], 3);
    assert_int_equal(n->out[1]->dim[0], 3);
    assert_int_equal(n->out[2]->dim[0], 1);
    n->opset = 13; /* before 18 the parts must be equal */
    memset(&d, 0, sizeof d);
    assert_int_equal(op_info[OP_SPLIT].infer(g, n, &d), WR_ESHAPE);
    ir_graph_free(g);
}

static void test_gather_bad_runtime_index(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    int64_t xd[2] = {3, 2}, id = 3;
    Tensor *in[2] = {input(g, "x", DT_F32, 2, xd), input(g, "i", DT_I64, 1, &id)};
    Node *n = node(g, OP_GATHER, 13, in, 2, 1);
    Diag d = {0};
    assert_int_equal(op_info[OP_GATHER].infer(g, n, &d), WR_OK);
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6];
    int64_t idx[3] = {-1, 7, 0};
    void *ins[2] = {x, idx}, *outs[1] = {y};
    assert_int_equal(op_info[OP_GATHER].eval(n, ins, outs, &d), WR_OK);
    const float want[6] = {5, 6, 0, 0, 1, 2}; /* row 7 does not exist: zeros */
    for (int i = 0; i < 6; i++)
        assert_true(y[i] == want[i]);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reshape_zero_and_minus_one),
        cmocka_unit_test(test_reshape_errors),
        cmocka_unit_test(test_reshape_runtime_shape),
        cmocka_unit_test(test_slice_clamping),
        cmocka_unit_test(test_split_uneven_opset18),
        cmocka_unit_test(test_gather_bad_runtime_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
