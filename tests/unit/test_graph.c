/*
 * test_graph.c: graph building and editing (ir/graph.c): the name hash with
 * many tensors, use counts kept by ir_node_set_input, dead-node removal,
 * relinking after hand edits, use replacement and shape arithmetic.
 */
#include "unit.h"

#include <stdio.h>

static const int64_t D4[] = {4};

static void test_hash_many_names(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    enum { N = 20000 };
    char name[64];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "layer%d/out:%d", i % 97, i);
        Tensor *t = ir_tensor_get(g, name, true);
        assert_int_equal(t->id, i);
        assert_string_equal(t->name, name);
    }
    assert_int_equal(g->ntensor, N);
    for (int i = N - 1; i >= 0; i--) {
        snprintf(name, sizeof name, "layer%d/out:%d", i % 97, i);
        Tensor *t = ir_tensor_get(g, name, false);
        assert_non_null(t);
        assert_int_equal(t->id, i);
        assert_ptr_equal(ir_tensor_get(g, name, true), t); /* no duplicate */
    }
    assert_int_equal(g->ntensor, N);
    assert_null(ir_tensor_get(g, "layer0/out:20000", false));
    assert_null(ir_tensor_get(g, "", false));
    /* Fresh names never collide, even with names that look generated. */
    ir_tensor_get(g, "x__0", true);
    Tensor *f1 = ir_tensor_fresh(g, "x"), *f2 = ir_tensor_fresh(g, "x");
    assert_string_not_equal(f1->name, "x__0");
    assert_string_not_equal(f1->name, f2->name);
    assert_ptr_equal(ir_tensor_get(g, f1->name, false), f1);
    ir_graph_free(g);
}

static void test_set_input_use_counts(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Tensor *x = unit_input(g, "x", 1, D4), *y = unit_input(g, "y", 1, D4);
    Node *n = unit_node(g, OP_ADD, "add", x, x, "z");
    assert_int_equal(x->nuse, 2);
    ir_node_set_input(n, 1, y);
    assert_int_equal(x->nuse, 1);
    assert_int_equal(y->nuse, 1);
    ir_node_set_input(n, 0, NULL);
    assert_int_equal(x->nuse, 0);
    assert_null(n->in[0]);
    ir_node_set_input(n, 0, y);
    assert_int_equal(y->nuse, 2);
    ir_node_set_input(n, 0, y); /* same tensor again: count unchanged */
    assert_int_equal(y->nuse, 2);
    ir_graph_free(g);
}

/* x -> a -> b (output); x -> dead1 -> dead2; a -> dead3 */
static void test_remove_dead(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Tensor *x = unit_input(g, "x", 1, D4);
    Node *a = unit_node(g, OP_RELU, "a", x, NULL, "ta");
    unit_node(g, OP_RELU, "dead1", x, NULL, "td1");
    Node *b = unit_node(g, OP_RELU, "b", a->out[0], NULL, "tb");
    unit_node(g, OP_RELU, "dead2", ir_tensor_get(g, "td1", false), NULL, "td2");
    unit_node(g, OP_ADD, "dead3", a->out[0], x, "td3");
    unit_output(g, b->out[0]);
    assert_int_equal(ir_graph_remove_dead(g), 3);
    assert_int_equal(g->nnode, 2);
    assert_ptr_equal(g->node[0], a);
    assert_ptr_equal(g->node[1], b);
    assert_int_equal(a->id, 0);
    assert_int_equal(b->id, 1);
    assert_int_equal(x->nuse, 1);
    assert_int_equal(a->out[0]->nuse, 1);
    assert_int_equal(ir_tensor_get(g, "td1", false)->nuse, 0);
    assert_null(ir_tensor_get(g, "td2", false)->producer);
    assert_int_equal(ir_graph_remove_dead(g), 0);
    Diag d = {0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_OK);
    assert_int_equal(ir_verify(g, &d), WR_OK);
    ir_graph_free(g);
}

static void test_relink(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Tensor *x = unit_input(g, "x", 1, D4);
    Node *a = unit_node(g, OP_RELU, "a", x, NULL, "ta");
    Node *b = unit_node(g, OP_RELU, "b", a->out[0], NULL, "tb");
    unit_output(g, b->out[0]);
    /* Hand edits that bypass the counters: relink restores them. */
    b->in[0] = x;
    a->out[0]->producer = NULL;
    x->nuse = 42;
    g->node[0] = b;
    g->node[1] = a;
    ir_graph_relink(g);
    assert_int_equal(b->id, 0);
    assert_int_equal(a->id, 1);
    assert_int_equal(x->nuse, 2);
    assert_int_equal(a->out[0]->nuse, 0);
    assert_ptr_equal(a->out[0]->producer, a);
    assert_ptr_equal(b->out[0]->producer, b);
    ir_graph_free(g);
}

static void test_replace_uses(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Tensor *x = unit_input(g, "x", 1, D4), *y = unit_input(g, "y", 1, D4);
    Node *a = unit_node(g, OP_ADD, "a", x, x, "ta");
    unit_output(g, x);
    ir_graph_replace_uses(g, x, y);
    assert_ptr_equal(a->in[0], y);
    assert_ptr_equal(a->in[1], y);
    assert_ptr_equal(g->output[0], y);
    assert_int_equal(x->nuse, 0);
    assert_int_equal(y->nuse, 2);
    ir_graph_free(g);
}

static void test_shape_numel(void **state)
{
    (void)state;
    int64_t ok[] = {2, 3, 4};
    assert_int_equal(ir_shape_numel(3, ok), 24);
    assert_int_equal(ir_shape_numel(0, ok), 1);
    int64_t zero[] = {5, 0, INT64_MAX};
    assert_int_equal(ir_shape_numel(3, zero), 0);
    int64_t neg[] = {2, -1};
    assert_int_equal(ir_shape_numel(2, neg), -1);
    int64_t big[] = {INT64_C(1) << 31, INT64_C(1) << 31};
    assert_int_equal(ir_shape_numel(2, big), INT64_C(1) << 62);
    int64_t over[] = {INT64_C(1) << 31, (INT64_C(1) << 31) + 1};
    assert_int_equal(ir_shape_numel(2, over), -1);
    int64_t huge[] = {INT64_MAX, 2};
    assert_int_equal(ir_shape_numel(2, huge), -1);
    Tensor t = {0};
    ir_tensor_set_shape(&t, DT_F64, 2, ok);
    assert_int_equal(ir_tensor_bytes(&t), 48);
    char s[64];
    assert_string_equal(ir_shape_str(&t, s, sizeof s), "2x3");
    ir_tensor_set_shape(&t, DT_F64, 0, ok);
    assert_string_equal(ir_shape_str(&t, s, sizeof s), "scalar");
    char tiny[4];
    ir_tensor_set_shape(&t, DT_F64, 3, (int64_t[]){123456, 7, 8});
    ir_shape_str(&t, tiny, sizeof tiny); /* truncates, stays terminated */
    assert_true(strlen(tiny) < sizeof tiny);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_many_names),
        cmocka_unit_test(test_set_input_use_counts),
        cmocka_unit_test(test_remove_dead),
        cmocka_unit_test(test_relink),
        cmocka_unit_test(test_replace_uses),
        cmocka_unit_test(test_shape_numel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
