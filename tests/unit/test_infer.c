/*
 * test_infer.c: the shape helpers op infer functions share (ir/infer.c):
 * numpy broadcasting, axis normalization and constant-input lookup, with
 * their error messages; and the checks ir_infer makes around every node.
 */
#include "unit.h"

static Node *dummy(Graph *g)
{
    static const int64_t D4[] = {4};
    return unit_node(g, OP_ADD, "bc", unit_input(g, "a", 1, D4), unit_input(g, "b", 1, D4), "y");
}

static void test_broadcast_ok(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Node *n = dummy(g);
    Diag d = {0};
    int64_t out[IR_MAX_DIMS];
    int nout;
    int64_t a[] = {8, 1, 6, 1}, b[] = {7, 1, 5};
    assert_int_equal(ir_broadcast_shape(n, 4, a, 3, b, &nout, out, &d), WR_OK);
    assert_int_equal(nout, 4);
    int64_t want[] = {8, 7, 6, 5};
    assert_memory_equal(out, want, sizeof want);
    int64_t s[] = {3};
    assert_int_equal(ir_broadcast_shape(n, 0, s, 1, s, &nout, out, &d), WR_OK); /* scalar */
    assert_int_equal(nout, 1);
    assert_int_equal(out[0], 3);
    int64_t z[] = {0, 1}, o[] = {1, 5};
    assert_int_equal(ir_broadcast_shape(n, 2, z, 2, o, &nout, out, &d), WR_OK); /* size 0 */
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 5);
    assert_int_equal(d.status, WR_OK);
    ir_graph_free(g);
}

static void test_broadcast_error(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Node *n = dummy(g);
    Diag d = {0};
    int64_t out[IR_MAX_DIMS];
    int nout;
    int64_t a[] = {2, 3}, b[] = {4, 3};
    assert_int_equal(ir_broadcast_shape(n, 2, a, 2, b, &nout, out, &d), WR_ESHAPE);
    assert_non_null(strstr(d.msg, "node 'bc' (Add)"));
    assert_non_null(strstr(d.msg, "dim 0: 2 vs 4"));
    Diag d2 = {0};
    int64_t c[] = {3}, e[] = {0};
    assert_int_equal(ir_broadcast_shape(n, 1, c, 1, e, &nout, out, &d2), WR_ESHAPE);
    ir_graph_free(g);
}

static void test_norm_axis(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Node *n = dummy(g);
    int ax = -99;
    Diag d = {0};
    assert_int_equal(ir_norm_axis(n, -1, 4, &ax, &d), WR_OK);
    assert_int_equal(ax, 3);
    assert_int_equal(ir_norm_axis(n, -4, 4, &ax, &d), WR_OK);
    assert_int_equal(ax, 0);
    assert_int_equal(ir_norm_axis(n, 3, 4, &ax, &d), WR_OK);
    assert_int_equal(ax, 3);
    assert_int_equal(ir_norm_axis(n, 0, 0, &ax, &d), WR_OK); /* rank 0: axis 0 allowed */
    int64_t bad[] = {4, -5, INT64_MIN, INT64_MAX, (INT64_C(1) << 32) + 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Diag e = {0};
        ax = -99;
        assert_int_equal(ir_norm_axis(n, bad[i], 4, &ax, &e), WR_ESHAPE);
        assert_non_null(strstr(e.msg, "out of range for rank 4"));
        assert_int_equal(ax, -99);
    }
    ir_graph_free(g);
}

static void test_const_input(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    static const int64_t D2[] = {2};
    Tensor *c = unit_const(g, "c", 1, D2, (const float[]){1, 2});
    Node *n = unit_node(g, OP_ADD, "k", unit_input(g, "x", 1, D2), c, "y");
    const void *p = NULL;
    Diag d = {0};
    assert_int_equal(ir_const_input(n, 1, &p, &d), WR_OK);
    assert_ptr_equal(p, c->data);
    assert_int_equal(ir_const_input(n, 0, &p, &d), WR_EUNSUPPORTED);
    assert_non_null(strstr(d.msg, "'x'"));
    Diag e = {0};
    assert_int_equal(ir_const_input(n, 5, &p, &e), WR_EPARSE);
    ir_graph_free(g);
}

/* A node whose required output has no tensor is refused, not dereferenced. */
static void test_missing_output(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    static const int64_t D2[] = {2};
    Node *n = ir_node_new(g, OP_RELU, "r", 1, 1);
    ir_node_set_input(n, 0, unit_input(g, "x", 1, D2));
    Diag d = {0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_EPARSE);
    assert_non_null(strstr(d.msg, "node 'r' (Relu): required output 0"));
    ir_graph_free(g);
}

/* Constant subgraphs fold: Relu of a constant becomes a constant, node gone. */
static void test_folding(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    static const int64_t D3[] = {3};
    Tensor *c = unit_const(g, "c", 1, D3, (const float[]){-1, 0, 2});
    Node *r = unit_node(g, OP_RELU, "r", c, NULL, "y");
    unit_output(g, r->out[0]);
    Diag d = {0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_OK);
    assert_int_equal(g->nnode, 0);
    const float *y = g->output[0]->data;
    assert_non_null(y);
    assert_true(y[0] == 0 && y[1] == 0 && y[2] == 2);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast_ok),    cmocka_unit_test(test_broadcast_error),
        cmocka_unit_test(test_norm_axis),       cmocka_unit_test(test_const_input),
        cmocka_unit_test(test_missing_output),  cmocka_unit_test(test_folding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
