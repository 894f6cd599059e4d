/*
 * test_eltwise.c: what the ONNX node tests do not reach in the elementwise
 * family: the broadcast loop plan (dim dropping and merging, operand indices
 * against a direct numpy-rule computation), in-place legality (memplan may
 * alias an elementwise output to its first input only when that is safe) and
 * the reference eval writing over its own first input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "passes.h"

#include <string.h>

static Tensor *tensor(Graph *g, const char *name, DType dt, int nd, const int64_t *dim)
{
    Tensor *t = ir_tensor_get(g, name, true);
    ir_tensor_set_shape(t, dt, nd, dim);
    return t;
}

static Tensor *graph_input(Graph *g, const char *name, DType dt, int nd, const int64_t *dim)
{
    Tensor *t = tensor(g, name, dt, nd, dim);
    if (!g->input)
        g->input = arena_alloc(&g->arena, sizeof(Tensor *) * 8);
    t->input_index = g->ninput;
    g->input[g->ninput++] = t;
    return t;
}

static Node *node(Graph *g, int op, Tensor *a, Tensor *b, const char *out)
{
    Node *n = ir_node_new(g, op, NULL, b ? 2 : 1, 1);
    ir_node_set_input(n, 0, a);
    if (b)
        ir_node_set_input(n, 1, b);
    n->out[0] = ir_tensor_get(g, out, true);
    return n;
}

static void finish(Graph *g, Tensor *out)
{
    g->output = arena_alloc(&g->arena, sizeof(Tensor *));
    out->output_index = 0;
    g->output[g->noutput++] = out;
    ir_graph_relink(g);
    Diag d = {0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_OK);
    PassOptions po = {0};
    assert_int_equal(pass_memplan(g, &po, &d), WR_OK);
}

/* The operand index by the numpy rule, straight from the shapes. */
static int64_t numpy_index(const Tensor *y, const Tensor *x, int64_t i)
{
    int64_t idx = 0, stride = 1;
    for (int k = y->ndim - 1; k >= 0; k--) {
        int64_t c = i % y->dim[k];
        i /= y->dim[k];
        int kx = k - (y->ndim - x->ndim);
        if (kx >= 0) {
            idx += x->dim[kx] == 1 ? 0 : c * stride;
            stride *= x->dim[kx];
        }
    }
    return idx;
}

static void test_plan_merges_same_shape(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    const int64_t d234[] = {2, 3, 4}, d1[] = {1};
    const Tensor *x[2] = {tensor(g, "a", DT_F32, 3, d234), tensor(g, "s", DT_F32, 1, d1)};
    Bcast b;
    ir_bcast_plan(&b, x[0], 2, x);
    assert_int_equal(b.ndim, 1); /* one flat loop */
    assert_int_equal(b.dim[0], 24);
    assert_int_equal(b.stride[0][0], 1);
    assert_int_equal(b.stride[1][0], 0);
    ir_graph_free(g);
}

static void test_plan_broadcast_indices(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    const int64_t dy[] = {2, 1, 3, 4, 5}, da[] = {3, 1, 5}, db[] = {2, 1, 1, 4, 5}, dc[] = {1, 5};
    const Tensor *y = tensor(g, "y", DT_F32, 5, dy);
    const Tensor *x[3] = {tensor(g, "a", DT_F32, 3, da), tensor(g, "b", DT_F32, 5, db),
                          tensor(g, "c", DT_F32, 2, dc)};
    Bcast b;
    ir_bcast_plan(&b, y, 3, x);
    /* the size-1 dim is dropped; no pair merges: a broadcasts along the 4 only */
    assert_int_equal(b.ndim, 4);
    assert_int_equal(b.stride[0][2], 0);
    for (int64_t i = 0; i < ir_tensor_numel(y); i++)
        for (int k = 0; k < 3; k++)
            assert_int_equal(ir_bcast_index(&b, k, i), numpy_index(y, x[k], i));
    ir_graph_free(g);
}

/* Add over a broadcast second operand may write over its first input. */
static void test_inplace_granted(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    const int64_t d23[] = {2, 3}, d3[] = {3};
    Tensor *x = graph_input(g, "x", DT_F32, 2, d23), *b = graph_input(g, "b", DT_F32, 1, d3);
    node(g, OP_RELU, x, NULL, "r");
    Node *add = node(g, OP_ADD, ir_tensor_get(g, "r", false), b, "s");
    node(g, OP_NEG, ir_tensor_get(g, "s", false), NULL, "y");
    finish(g, ir_tensor_get(g, "y", false));
    assert_int_equal(add->out[0]->alias_of, add->in[0]->id);
    ir_graph_free(g);
}

/* Equal(int64 a[8], int64 b[8][8]) gives bool[8][8]: the same 64 bytes as a,
 * but element i of the output is not element i of a, so no aliasing. */
static void test_inplace_refused_for_other_element_type(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    const int64_t d8[] = {8}, d88[] = {8, 8};
    Tensor *x = graph_input(g, "x", DT_I64, 1, d8), *b = graph_input(g, "b", DT_I64, 2, d88);
    node(g, OP_NEG, x, NULL, "a");
    Node *eq = node(g, OP_EQUAL, ir_tensor_get(g, "a", false), b, "e");
    node(g, OP_NOT, ir_tensor_get(g, "e", false), NULL, "y");
    finish(g, ir_tensor_get(g, "y", false));
    assert_int_equal(ir_tensor_bytes(eq->out[0]), ir_tensor_bytes(eq->in[0]));
    assert_int_equal(eq->out[0]->alias_of, -1);
    ir_graph_free(g);
}

/* The reference eval with out0 == in0, as the interpreter would run an
 * aliased node (memplan never aliases when in0 is also another input):
 * broadcast Add and a three-input Sum. */
static void test_eval_in_place(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    const int64_t d23[] = {2, 3}, d3[] = {3};
    Tensor *x = graph_input(g, "x", DT_F32, 2, d23), *b = graph_input(g, "b", DT_F32, 1, d3);
    Tensor *c = graph_input(g, "c", DT_F32, 2, d23);
    Node *add = node(g, OP_ADD, x, b, "s");
    Node *sum = ir_node_new(g, OP_SUM, NULL, 3, 1);
    ir_node_set_input(sum, 0, x);
    ir_node_set_input(sum, 1, b);
    ir_node_set_input(sum, 2, c);
    sum->out[0] = ir_tensor_get(g, "u", true);
    Diag d = {0};
    assert_int_equal(op_eltwise_infer(g, add, &d), WR_OK);
    assert_int_equal(op_eltwise_infer(g, sum, &d), WR_OK);
    float A[6] = {1, 2, 3, 4, 5, 6}, B[3] = {10, 20, 30}, C[6] = {1, 1, 1, 2, 2, 2};
    void *in[3] = {A, B, C}, *out[1] = {A};
    assert_int_equal(op_eltwise_eval(add, in, out, &d), WR_OK);
    const float want_add[6] = {11, 22, 33, 14, 25, 36};
    assert_memory_equal(A, want_add, sizeof A);
    assert_int_equal(op_eltwise_eval(sum, in, out, &d), WR_OK);
    const float want_sum[6] = {22, 43, 64, 26, 47, 68};
    assert_memory_equal(A, want_sum, sizeof A);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_merges_same_shape),
        cmocka_unit_test(test_plan_broadcast_indices),
        cmocka_unit_test(test_inplace_granted),
        cmocka_unit_test(test_inplace_refused_for_other_element_type),
        cmocka_unit_test(test_eval_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
