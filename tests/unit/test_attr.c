/*
 * test_attr.c: typed attribute getters (ir/attr.c): absent attributes give
 * the default, a wrong type gives the default and is recorded (first one
 * wins), and ir_infer turns the record into an error naming node, op,
 * attribute and expected type.
 */
#include "unit.h"

static Node *attr_node(Graph *g)
{
    static const int64_t D4[] = {4};
    Node *n = unit_node(g, OP_RELU, "n", unit_input(g, "x", 1, D4), NULL, "y");
    n->nattr = 5;
    n->attr = arena_alloc(&g->arena, sizeof(Attr) * 5);
    static int64_t ints[] = {1, 2, 3};
    static float floats[] = {0.5f};
    n->attr[0] = (Attr){.name = "i", .type = ATTR_INT, .i = -7};
    n->attr[1] = (Attr){.name = "f", .type = ATTR_FLOAT, .f = 2.5f};
    n->attr[2] = (Attr){.name = "s", .type = ATTR_STRING, .s = "SAME_UPPER"};
    n->attr[3] = (Attr){.name = "is", .type = ATTR_INTS, .n = 3, .ints = ints};
    n->attr[4] = (Attr){.name = "fs", .type = ATTR_FLOATS, .n = 1, .floats = floats};
    return n;
}

static void test_right_types(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Node *n = attr_node(g);
    const int64_t *iv;
    const float *fv;
    assert_int_equal(ir_attr_int(n, "i", 0), -7);
    assert_true(ir_attr_float(n, "f", 0) == 2.5f);
    assert_string_equal(ir_attr_str(n, "s", ""), "SAME_UPPER");
    assert_int_equal(ir_attr_ints(n, "is", &iv), 3);
    assert_int_equal(iv[2], 3);
    assert_int_equal(ir_attr_floats(n, "fs", &fv), 1);
    assert_true(fv[0] == 0.5f);
    assert_null(n->bad_attr);
    ir_graph_free(g);
}

static void test_absent(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Node *n = attr_node(g);
    const int64_t *iv = (const int64_t *)1;
    assert_int_equal(ir_attr_int(n, "nope", 11), 11);
    assert_true(ir_attr_float(n, "nope", 1.5f) == 1.5f);
    assert_string_equal(ir_attr_str(n, "nope", "NOTSET"), "NOTSET");
    assert_int_equal(ir_attr_ints(n, "nope", &iv), -1);
    assert_null(iv);
    assert_null(ir_attr_tensor(n, "nope"));
    assert_null(ir_attr_find(n, "nope"));
    assert_null(n->bad_attr);
    ir_graph_free(g);
}

static void test_wrong_type_recorded(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Node *n = attr_node(g);
    const float *fv;
    assert_int_equal(ir_attr_int(n, "f", 3), 3); /* FLOAT read as INT: default */
    assert_string_equal(n->bad_attr, "f");
    assert_int_equal(n->bad_attr_want, ATTR_INT);
    assert_int_equal(ir_attr_floats(n, "is", &fv), -1); /* a second one: first kept */
    assert_null(fv);
    assert_string_equal(n->bad_attr, "f");
    assert_int_equal(n->bad_attr_want, ATTR_INT);
    assert_string_equal(ir_attr_type_name(ATTR_INTS), "INTS");
    assert_string_equal(ir_attr_type_name((AttrType)99), "OTHER");
    ir_graph_free(g);
}

/* Conv with group given as FLOAT: inference fails naming all four things. */
static void test_infer_reports(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    static const int64_t DX[] = {1, 1, 3, 3}, DW[] = {2, 1, 1, 1};
    Tensor *x = unit_input(g, "x", 4, DX), *w = unit_const(g, "w", 4, DW, NULL);
    Node *n = unit_node(g, OP_CONV, "conv7", x, w, "y");
    unit_output(g, n->out[0]);
    n->nattr = 1;
    n->attr = arena_alloc(&g->arena, sizeof(Attr));
    n->attr[0] = (Attr){.name = "group", .type = ATTR_FLOAT, .f = 1.0f};
    Diag d = {0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_EPARSE);
    assert_non_null(strstr(d.msg, "node 'conv7' (Conv)"));
    assert_non_null(strstr(d.msg, "'group'"));
    assert_non_null(strstr(d.msg, "INT"));
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_right_types),
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_wrong_type_recorded),
        cmocka_unit_test(test_infer_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
