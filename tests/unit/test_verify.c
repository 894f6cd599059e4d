/*
 * test_verify.c: the IR verifier (ir/verify.c) accepts a well-formed graph
 * and rejects each kind of broken one: use before definition, stale use
 * counts, two producers, unknown shapes, outputs never computed.
 */
#include "unit.h"

static const int64_t D4[] = {4};

/* x -> a(Relu) -> b(Add a, x) -> output, inferred. */
static Graph *good(void)
{
    Graph *g = unit_graph();
    Tensor *x = unit_input(g, "x", 1, D4);
    Node *a = unit_node(g, OP_RELU, "a", x, NULL, "ta");
    Node *b = unit_node(g, OP_ADD, "b", a->out[0], x, "tb");
    unit_output(g, b->out[0]);
    Diag d = {0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_OK);
    return g;
}

static void test_accepts(void **state)
{
    (void)state;
    Graph *g = good();
    Diag d = {0};
    assert_int_equal(ir_verify(g, &d), WR_OK);
    ir_graph_free(g);
}

static void test_use_before_def(void **state)
{
    (void)state;
    Graph *g = good();
    Node *a = g->node[0];
    g->node[0] = g->node[1];
    g->node[1] = a;
    Diag d = {0};
    assert_int_equal(ir_verify(g, &d), WR_EVERIFY);
    assert_non_null(strstr(d.msg, "node 'b' (Add)"));
    assert_non_null(strstr(d.msg, "'ta' is used before it is defined"));
    ir_graph_free(g);
}

static void test_wrong_nuse(void **state)
{
    (void)state;
    Graph *g = good();
    ir_tensor_get(g, "x", false)->nuse = 1; /* really 2 */
    Diag d = {0};
    assert_int_equal(ir_verify(g, &d), WR_EVERIFY);
    assert_non_null(strstr(d.msg, "tensor 'x': use count 1, counted 2"));
    ir_graph_relink(g);
    Diag e = {0};
    assert_int_equal(ir_verify(g, &e), WR_OK);
    ir_graph_free(g);
}

static void test_two_producers(void **state)
{
    (void)state;
    Graph *g = good();
    Node *b = g->node[1];
    g->node[0]->out[0]->producer = b; /* 'ta' claims b produced it */
    Diag d = {0};
    assert_int_equal(ir_verify(g, &d), WR_EVERIFY);
    assert_non_null(strstr(d.msg, "node 'a' (Relu): output 'ta' has another producer"));
    ir_graph_free(g);
}

static void test_unknown_shape(void **state)
{
    (void)state;
    Graph *g = good();
    g->node[0]->out[0]->ndim = -1;
    Diag d = {0};
    assert_int_equal(ir_verify(g, &d), WR_EVERIFY);
    assert_non_null(strstr(d.msg, "no valid shape"));
    g->node[0]->out[0]->ndim = 1;
    g->node[0]->out[0]->dim[0] = -3;
    Diag e = {0};
    assert_int_equal(ir_verify(g, &e), WR_EVERIFY);
    ir_graph_free(g);
}

static void test_output_never_computed(void **state)
{
    (void)state;
    Graph *g = good();
    Tensor *orphan = ir_tensor_get(g, "orphan", true);
    ir_tensor_set_shape(orphan, DT_F32, 1, D4);
    unit_output(g, orphan);
    Diag d = {0};
    assert_int_equal(ir_verify(g, &d), WR_EVERIFY);
    assert_non_null(strstr(d.msg, "graph output 'orphan' is never computed"));
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),        cmocka_unit_test(test_use_before_def),
        cmocka_unit_test(test_wrong_nuse),     cmocka_unit_test(test_two_producers),
        cmocka_unit_test(test_unknown_shape),  cmocka_unit_test(test_output_never_computed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
