/*
 * test_control.c: control-flow bodies (ir/subgraph.c) and the recurrent ops'
 * inference (ir/ops/rnn.c) where ONNX's node tests and the end-to-end tests
 * do not reach: how an instance binds and renames names and where splice puts
 * it, nested bodies rewritten to the instance's names, bodies out of order or
 * reading an undefined name, a loop whose trip count is computed at run time;
 * for LSTM, a second inference keeping its scratch output, a fourth output in
 * a model refused, and bad activations and weight shapes named in the error.
 */
#include "unit.h"

#include "opparams.h"
#include "subgraph.h"

static const char **names(Graph *g, int n, ...)
{
    va_list ap;
    const char **v = arena_alloc(&g->arena, sizeof(char *) * (size_t)(n + 1));
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v[i] = va_arg(ap, const char *);
    va_end(ap);
    return v;
}

/* A body node: op reading a (and b unless NULL), writing out. */
static SubNode sub_node(Graph *g, int op, const char *name, const char *a, const char *b,
                        const char *out)
{
    SubNode s = {.op = op, .name = name, .domain = "", .opset = 13, .nin = b ? 2 : 1, .nout = 1};
    s.in = b ? names(g, 2, a, b) : names(g, 1, a);
    s.out = names(g, 1, out);
    return s;
}

/* body (x) -> (z): y = Neg(x); z = Add(y, outer) */
static SubGraph *neg_add_body(Graph *g)
{
    SubGraph *sg = arena_alloc(&g->arena, sizeof *sg);
    sg->name = "body";
    sg->ninput = sg->noutput = 1;
    sg->input = names(g, 1, "x");
    sg->output = names(g, 1, "z");
    sg->nnode = 2;
    sg->node = arena_alloc(&g->arena, sizeof(SubNode) * 2);
    sg->node[0] = sub_node(g, OP_NEG, "neg", "x", NULL, "y");
    sg->node[1] = sub_node(g, OP_ADD, "add", "y", "outer", "z");
    return sg;
}

static void test_instance_binds_and_splices(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    int64_t two = 2;
    Tensor *in = unit_input(g, "in", 1, &two);
    unit_const(g, "outer", 1, &two, NULL);
    Node *first = unit_node(g, OP_RELU, "first", in, NULL, "r");
    Node *hold = unit_node(g, OP_IDENTITY, "hold", first->out[0], NULL, "h");
    Node *last = unit_node(g, OP_RELU, "last", hold->out[0], NULL, "l");
    Diag d = {0};
    Tensor *bin[1] = {first->out[0]}, *bout[1] = {NULL};
    int mark = g->nnode;
    assert_int_equal(ir_subgraph_instance(g, hold, neg_add_body(g), "hold/0", bin, bout, &d),
                     WR_OK);
    assert_int_equal(g->nnode, mark + 2);
    Node *add = g->node[mark + 1];
    assert_ptr_equal(g->node[mark]->in[0], first->out[0]);   /* formal x -> actual */
    assert_ptr_equal(add->in[0], g->node[mark]->out[0]);     /* y, renamed */
    assert_ptr_equal(add->in[1], ir_tensor_get(g, "outer", false)); /* from around */
    assert_ptr_equal(bout[0], add->out[0]);
    assert_non_null(strstr(add->out[0]->name, "hold/0/z"));
    ir_add_identity(g, "hold/out", bout[0], hold->out[0]);
    ir_subgraph_splice(g, hold, mark);
    assert_int_equal(g->nnode, 5); /* first, neg, add, identity, last: hold dropped */
    assert_ptr_equal(g->node[0], first);
    assert_int_equal(g->node[1]->op, OP_NEG);
    assert_int_equal(g->node[3]->op, OP_IDENTITY);
    assert_ptr_equal(g->node[4], last);
    for (int i = 0; i < g->nnode; i++)
        assert_int_equal(g->node[i]->id, i);
    unit_output(g, last->out[0]);
    assert_int_equal(ir_infer(g, NULL, &d), WR_OK);
    ir_graph_free(g);
}

static void test_instance_errors(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    int64_t two = 2;
    Tensor *in = unit_input(g, "in", 1, &two);
    Node *at = unit_node(g, OP_RELU, "at", in, NULL, "r");
    Diag d = {0};
    Tensor *bin[1] = {in}, *bout[1];
    SubGraph *sg = neg_add_body(g); /* "outer" is not defined anywhere */
    assert_int_equal(ir_subgraph_instance(g, at, sg, "p", bin, bout, &d), WR_EPARSE);
    assert_non_null(strstr(d.msg, "reads 'outer', which is not defined"));
    SubNode swap = sg->node[0]; /* add before neg: y read before it is computed */
    sg->node[0] = sg->node[1];
    sg->node[1] = swap;
    unit_const(g, "outer", 1, &two, NULL);
    d = (Diag){0};
    assert_int_equal(ir_subgraph_instance(g, at, sg, "q", bin, bout, &d), WR_EPARSE);
    assert_non_null(strstr(d.msg, "not in topological order"));
    ir_graph_free(g);
}

/* An If inside a body reads the body's y and its own w: after instantiation
 * its branch reads the instance's tensor for y and still its own w. */
static void test_nested_body_renamed(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    int64_t two = 2;
    Tensor *in = unit_input(g, "in", 1, &two);
    Node *at = unit_node(g, OP_RELU, "at", in, NULL, "r");
    SubGraph *br = arena_alloc(&g->arena, sizeof *br);
    br->name = "branch";
    br->noutput = 1;
    br->output = names(g, 1, "v");
    br->nnode = 2;
    br->node = arena_alloc(&g->arena, sizeof(SubNode) * 2);
    br->node[0] = sub_node(g, OP_NEG, "w_of_y", "y", NULL, "w");
    br->node[1] = sub_node(g, OP_ADD, "v_of_w", "w", "y", "v");
    SubGraph *sg = neg_add_body(g);
    unit_const(g, "outer", 1, &two, NULL);
    SubNode *nested = &sg->node[1];
    nested->nattr = 1;
    nested->attr = arena_alloc(&g->arena, sizeof(Attr));
    nested->attr[0] = (Attr){.name = "then_branch", .type = ATTR_GRAPH, .sub = br};
    Diag d = {0};
    Tensor *bin[1] = {in}, *bout[1];
    int mark = g->nnode;
    assert_int_equal(ir_subgraph_instance(g, at, sg, "p", bin, bout, &d), WR_OK);
    const Tensor *y = g->node[mark]->out[0];
    const SubGraph *copy = g->node[mark + 1]->attr[0].sub;
    assert_ptr_not_equal(copy, br);
    assert_string_equal(copy->node[0].in[0], y->name);
    assert_string_equal(copy->node[1].in[0], "w"); /* defined inside: kept */
    assert_string_equal(copy->node[1].in[1], y->name);
    assert_string_equal(br->node[0].in[0], "y"); /* the model's body is untouched */
    ir_graph_free(g);
}

/* Loop whose trip count M is a graph input: refused, naming the input. */
static void test_loop_needs_constant_trips(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Tensor *M = unit_input(g, "M", 0, NULL);
    M->dtype = DT_I64;
    int64_t two = 2;
    Tensor *v = unit_input(g, "v", 1, &two);
    SubGraph *sg = arena_alloc(&g->arena, sizeof *sg);
    sg->name = "body";
    sg->ninput = 3;
    sg->noutput = 2;
    sg->input = names(g, 3, "i", "c", "v_in");
    sg->output = names(g, 2, "c", "v_in");
    Node *n = ir_node_new(g, OP_LOOP, "loop", 3, 1);
    ir_node_set_input(n, 0, M);
    ir_node_set_input(n, 2, v);
    n->out[0] = ir_tensor_get(g, "v_out", true);
    n->out[0]->producer = n;
    n->nattr = 1;
    n->attr = arena_alloc(&g->arena, sizeof(Attr));
    n->attr[0] = (Attr){.name = "body", .type = ATTR_GRAPH, .sub = sg};
    unit_output(g, n->out[0]);
    Diag d = {0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_EUNSUPPORTED);
    assert_non_null(strstr(d.msg, "input 0 ('M') must be a constant"));
    ir_graph_free(g);
}

/* ---- LSTM inference ---- */

static Node *lstm(Graph *g, int nout, int64_t gh_w)
{
    int64_t x[3] = {3, 1, 2}, w[3] = {1, gh_w, 2}, r[3] = {1, 8, 2};
    Node *n = ir_node_new(g, OP_LSTM, "lstm", 3, nout);
    ir_node_set_input(n, 0, unit_input(g, "X", 3, x));
    ir_node_set_input(n, 1, unit_const(g, "W", 3, w, NULL));
    ir_node_set_input(n, 2, unit_const(g, "R", 3, r, NULL));
    for (int i = 0; i < nout; i++) {
        n->out[i] = ir_tensor_fresh(g, "y");
        n->out[i]->producer = n;
    }
    unit_output(g, n->out[0]);
    n->attr = arena_alloc(&g->arena, sizeof(Attr) * 4);
    return n;
}

static void test_lstm_scratch_survives_reinference(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Node *n = lstm(g, 2, 8);
    Diag d = {0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_OK);
    assert_int_equal(n->nout, 4); /* Y, Y_h, (Y_c absent), scratch */
    assert_null(n->out[2]);
    Tensor *scratch = n->out[3];
    RnnScratch s;
    rnn_scratch_layout(n->priv, &s);
    assert_int_equal(ir_tensor_numel(scratch), s.total);
    assert_int_equal(ir_infer(g, NULL, &d), WR_OK); /* as after widening */
    assert_int_equal(n->nout, 4);
    assert_ptr_equal(n->out[3], scratch);
    ir_graph_free(g);
}

static void test_lstm_errors(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    lstm(g, 4, 8); /* a model's node with four outputs */
    Diag d = {0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_EPARSE);
    assert_non_null(strstr(d.msg, "has 4 outputs, expected 0 to 3"));
    ir_graph_free(g);

    g = unit_graph();
    lstm(g, 1, 6); /* W has 6 rows, 4 gates x hidden 2 = 8 expected */
    d = (Diag){0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_ESHAPE);
    assert_non_null(strstr(d.msg, "input 1 ('W') is 1x6x2, expected 1x8x2"));
    ir_graph_free(g);

    g = unit_graph();
    Node *n = lstm(g, 1, 8);
    n->attr[n->nattr++] = (Attr){.name = "activations", .type = ATTR_STRINGS, .n = 3,
                                 .strings = names(g, 3, "sigmoid", "Gelu", "TANH")};
    d = (Diag){0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_EUNSUPPORTED);
    assert_non_null(strstr(d.msg, "activation 'Gelu'"));
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instance_binds_and_splices),
        cmocka_unit_test(test_instance_errors),
        cmocka_unit_test(test_nested_body_renamed),
        cmocka_unit_test(test_loop_needs_constant_trips),
        cmocka_unit_test(test_lstm_scratch_survives_reinference),
        cmocka_unit_test(test_lstm_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
