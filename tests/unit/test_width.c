/*
 * test_width.c: the channel-group analysis of passes/width_scale.c on graphs
 * built by hand: which tensors share a mapping (residual joins, depthwise
 * convs), which are pinned (graph inputs and outputs), and the rounding of
 * new channel counts (round half up, per block of grouped convs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "passes.h"

static Tensor *value(Graph *g, const char *name)
{
    return ir_tensor_get(g, name, true);
}

static Tensor *input(Graph *g, const char *name, int64_t C)
{
    Tensor *t = value(g, name);
    int64_t dim[4] = {1, C, 4, 4};
    ir_tensor_set_shape(t, DT_F32, 4, dim);
    t->input_index = g->ninput;
    g->input = g->input ? g->input : arena_alloc(&g->arena, sizeof(Tensor *) * 8);
    g->input[g->ninput++] = t;
    return t;
}

static void output(Graph *g, const char *name)
{
    Tensor *t = value(g, name);
    g->output = g->output ? g->output : arena_alloc(&g->arena, sizeof(Tensor *) * 8);
    t->output_index = g->noutput;
    g->output[g->noutput++] = t;
}

/* 1x1 conv x -> y with M output channels of C / group inputs each. */
static void conv(Graph *g, const char *x, const char *y, int64_t C, int64_t M, int64_t group)
{
    Node *n = ir_node_new(g, OP_CONV, y, 2, 1);
    Tensor *w = ir_tensor_fresh(g, "w");
    int64_t dim[4] = {M, C / group, 1, 1};
    ir_tensor_set_shape(w, DT_F32, 4, dim);
    ir_tensor_alloc_data(g, w);
    ir_node_set_input(n, 0, value(g, x));
    ir_node_set_input(n, 1, w);
    n->out[0] = value(g, y);
    n->nattr = 1;
    n->attr = arena_alloc(&g->arena, sizeof(Attr));
    n->attr[0] = (Attr){.name = "group", .type = ATTR_INT, .i = group};
}

static void unary(Graph *g, int op, const char *x, const char *y)
{
    Node *n = ir_node_new(g, op, y, 1, 1);
    ir_node_set_input(n, 0, value(g, x));
    n->out[0] = value(g, y);
}

static void add(Graph *g, const char *a, const char *b, const char *y)
{
    Node *n = ir_node_new(g, OP_ADD, y, 2, 1);
    ir_node_set_input(n, 0, value(g, a));
    ir_node_set_input(n, 1, value(g, b));
    n->out[0] = value(g, y);
}

static Graph *finish(Graph *g)
{
    Diag d = {0};
    g->opset = 13;
    ir_graph_relink(g);
    assert_int_equal(ir_infer(g, NULL, &d), WR_OK);
    return g;
}

static int grp(const WidthPlan *p, Graph *g, const char *name)
{
    return width_plan_group(p, value(g, name));
}

static int64_t chans(WidthPlan *p, Graph *g, const char *name)
{
    return width_plan_channels(p, value(g, name));
}

/* x -> c1 -> relu -> c2, Add(relu, c2) -> relu -> c3 (classifier) -> y */
static Graph *residual(void)
{
    Graph *g = ir_graph_new("residual");
    input(g, "x", 3);
    conv(g, "x", "a", 3, 4, 1);
    unary(g, OP_RELU, "a", "ar");
    conv(g, "ar", "b", 4, 4, 1);
    add(g, "ar", "b", "s");
    unary(g, OP_RELU, "s", "sr");
    conv(g, "sr", "y", 4, 5, 1);
    output(g, "y");
    return finish(g);
}

static void test_residual_groups(void **state)
{
    (void)state;
    Graph *g = residual();
    WidthPlan *p;
    Diag d = {0};
    assert_int_equal(width_plan(g, 2.0, false, 0, &p, &d), WR_OK);
    int ga = grp(p, g, "a");
    assert_true(ga >= 0);
    assert_int_equal(grp(p, g, "ar"), ga);
    assert_int_equal(grp(p, g, "b"), ga); /* joined by the residual Add */
    assert_int_equal(grp(p, g, "s"), ga);
    assert_int_equal(grp(p, g, "sr"), ga);
    assert_int_not_equal(grp(p, g, "y"), ga);
    assert_int_not_equal(grp(p, g, "x"), ga);
    assert_int_equal(chans(p, g, "a"), 8);
    assert_int_equal(chans(p, g, "b"), 8);
    assert_int_equal(chans(p, g, "x"), 3); /* graph input: pinned */
    assert_int_equal(chans(p, g, "y"), 5); /* classifier output: pinned */
    width_plan_free(p);
    ir_graph_free(g);
}

static void test_output_pins_through_relu(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("tail");
    input(g, "x", 3);
    conv(g, "x", "a", 3, 4, 1);
    conv(g, "a", "c", 4, 6, 1);
    unary(g, OP_RELU, "c", "y");
    output(g, "y");
    finish(g);
    WidthPlan *p;
    Diag d = {0};
    assert_int_equal(width_plan(g, 3.0, false, 0, &p, &d), WR_OK);
    assert_int_equal(grp(p, g, "c"), grp(p, g, "y"));
    assert_int_equal(chans(p, g, "c"), 6);
    assert_int_equal(chans(p, g, "a"), 12);
    width_plan_free(p);
    ir_graph_free(g);
}

static Graph *grouped(void)
{
    Graph *g = ir_graph_new("grouped");
    input(g, "x", 3);
    conv(g, "x", "a", 3, 4, 1);
    conv(g, "a", "dw", 4, 4, 4); /* depthwise: ties a and dw */
    conv(g, "dw", "gc", 4, 6, 2); /* grouped: blocks of 2 on dw, 3 on gc */
    conv(g, "gc", "y", 6, 2, 1);
    output(g, "y");
    return finish(g);
}

static void test_grouped_blocks(void **state)
{
    (void)state;
    Graph *g = grouped();
    WidthPlan *p;
    Diag d = {0};
    assert_int_equal(width_plan(g, 1.25, false, 0, &p, &d), WR_OK);
    assert_int_equal(grp(p, g, "a"), grp(p, g, "dw"));
    assert_int_not_equal(grp(p, g, "dw"), grp(p, g, "gc"));
    /* 4 channels in 2 blocks of 2: 2 * 1.25 = 2.5 rounds up to 3 per block. */
    assert_int_equal(chans(p, g, "a"), 6);
    /* 6 channels in 2 blocks of 3: 3.75 rounds to 4 per block. */
    assert_int_equal(chans(p, g, "gc"), 8);
    width_plan_free(p);
    ir_graph_free(g);
}

static void test_rounding(void **state)
{
    (void)state;
    static const struct { double w; int64_t c, want; } cases[] = {
        {1.5, 3, 5}, {1.5, 4, 6}, {1.0, 7, 7}, {2.0, 7, 14}, {3.0, 5, 15}, {1.1, 4, 4},
        {1.125, 4, 5}, /* 4.5: half rounds up */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Graph *g = ir_graph_new("r");
        input(g, "x", 2);
        conv(g, "x", "a", 2, cases[i].c, 1);
        conv(g, "a", "y", cases[i].c, 2, 1);
        output(g, "y");
        finish(g);
        WidthPlan *p;
        Diag d = {0};
        assert_int_equal(width_plan(g, cases[i].w, false, 0, &p, &d), WR_OK);
        assert_int_equal(chans(p, g, "a"), cases[i].want);
        width_plan_free(p);
        ir_graph_free(g);
    }
}

static void test_pass_widens_weights(void **state)
{
    (void)state;
    Graph *g = residual();
    PassOptions o = {.width = 2.0, .width_init = WIDTH_PRESERVE};
    Diag d = {0};
    assert_int_equal(pass_width_scale(g, &o, &d), WR_OK);
    const Node *c2 = g->node[2], *c3 = g->node[5];
    assert_int_equal(c2->in[1]->dim[0], 8);
    assert_int_equal(c2->in[1]->dim[1], 8);
    assert_int_equal(c3->in[1]->dim[0], 5);
    assert_int_equal(c3->in[1]->dim[1], 8);
    assert_int_equal(value(g, "s")->dim[1], 8);
    assert_int_equal(value(g, "y")->dim[1], 5);
    ir_graph_free(g);
}

static void test_bad_width(void **state)
{
    (void)state;
    Graph *g = residual();
    WidthPlan *p = NULL;
    Diag d = {0};
    assert_int_equal(width_plan(g, 0.5, false, 0, &p, &d), WR_EUSAGE);
    assert_non_null(strstr(d.msg, "0.5"));
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_residual_groups),   cmocka_unit_test(test_output_pins_through_relu),
        cmocka_unit_test(test_grouped_blocks),    cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_pass_widens_weights), cmocka_unit_test(test_bad_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
