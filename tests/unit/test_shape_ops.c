/*
 * test_shape_ops.c: edges of the shape and data-movement ops that the ONNX
 * node tests do not reach: Reshape's 0 / -1 / allowzero errors, a target
 * shape computed at run time, Slice clamping with huge and negative bounds,
 * Split's uneven last part (opset 18), Gather's zero row for a bad run-time
 * index, and the attribute forms of old opsets (Slice 9, Squeeze and
 * Unsqueeze 11, Pad 2, Split 11, Constant value_ints). Expected values are
 * written out by hand from the ONNX spec.
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

/* Appends an attribute to n (INT, INTS or STRING by type). */
static void attr(Graph *g, Node *n, const char *name, AttrType type, const int64_t *ints, int cnt,
                 const char *str)
{
    Attr *a = arena_alloc(&g->arena, sizeof(Attr) * (size_t)(n->nattr + 1));
    if (n->nattr)
        memcpy(a, n->attr, sizeof(Attr) * (size_t)n->nattr);
    Attr *x = &a[n->nattr];
    x->name = name;
    x->type = type;
    x->i = cnt > 0 ? ints[0] : 0;
    x->n = cnt;
    x->ints = arena_alloc(&g->arena, sizeof(int64_t) * (size_t)(cnt + 1));
    if (cnt > 0)
        memcpy(x->ints, ints, sizeof(int64_t) * (size_t)cnt);
    x->s = str;
    n->attr = a;
    n->nattr++;
}

/* Runs n's infer and eval on float input x; checks the output dims and values. */
static void check_run(Graph *g, Node *n, const float *x, int nd, const int64_t *dim,
                      const float *want)
{
    Diag d = {0};
    assert_int_equal(op_info[n->op].infer(g, n, &d), WR_OK);
    assert_int_equal(n->out[0]->ndim, nd);
    for (int k = 0; k < nd; k++)
        assert_int_equal(n->out[0]->dim[k], dim[k]);
    float y[64] = {0}, y1[64];
    void *ins[1] = {(void *)x}, *outs[2] = {y, y1};
    assert_int_equal(op_info[n->op].eval(n, ins, outs, &d), WR_OK);
    for (int64_t i = 0; want && i < ir_tensor_numel(n->out[0]); i++)
        assert_true(y[i] == want[i]);
}

static void test_old_opset_attributes(void **state)
{
    (void)state;
    const float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t xd[2] = {2, 3};
    Graph *g = ir_graph_new("t");
    Tensor *in[1] = {input(g, "x", DT_F32, 2, xd)};
    /* Slice-9: starts/ends/axes attributes, ends clamped */
    Node *n = node(g, OP_SLICE, 9, in, 1, 1);
    int64_t st[1] = {1}, en[1] = {100}, ax[1] = {1};
    attr(g, n, "starts", ATTR_INTS, st, 1, NULL);
    attr(g, n, "ends", ATTR_INTS, en, 1, NULL);
    attr(g, n, "axes", ATTR_INTS, ax, 1, NULL);
    const float sl[4] = {2, 3, 5, 6};
    check_run(g, n, x, 2, (int64_t[]){2, 2}, sl);
    /* Unsqueeze-11 then Squeeze-11 with axes attributes */
    n = node(g, OP_UNSQUEEZE, 11, in, 1, 1);
    int64_t ua[2] = {0, -1};
    attr(g, n, "axes", ATTR_INTS, ua, 2, NULL);
    check_run(g, n, x, 4, (int64_t[]){1, 2, 3, 1}, x);
    Tensor *u[1] = {n->out[0]};
    n = node(g, OP_SQUEEZE, 11, u, 1, 1);
    attr(g, n, "axes", ATTR_INTS, (int64_t[]){3}, 1, NULL);
    check_run(g, n, x, 3, (int64_t[]){1, 2, 3}, x);
    /* Pad-2: pads attribute, edge mode */
    n = node(g, OP_PAD, 2, in, 1, 1);
    attr(g, n, "pads", ATTR_INTS, (int64_t[]){0, 1, 0, 1}, 4, NULL);
    attr(g, n, "mode", ATTR_STRING, NULL, 0, "edge");
    const float pe[10] = {1, 1, 2, 3, 3, 4, 4, 5, 6, 6};
    check_run(g, n, x, 2, (int64_t[]){2, 5}, pe);
    /* Split-11: split attribute */
    n = node(g, OP_SPLIT, 11, in, 1, 2);
    attr(g, n, "axis", ATTR_INT, (int64_t[]){1}, 1, NULL);
    attr(g, n, "split", ATTR_INTS, (int64_t[]){1, 2}, 2, NULL);
    check_run(g, n, x, 2, (int64_t[]){2, 1}, (const float[]){1, 4});
    assert_int_equal(n->out[1]->dim[1], 2);
    ir_graph_free(g);
}

static void test_constant_value_ints(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    Node *n = node(g, OP_CONSTANT, 13, NULL, 0, 1);
    attr(g, n, "value_ints", ATTR_INTS, (int64_t[]){7, -8, 9}, 3, NULL);
    Diag d = {0};
    assert_int_equal(op_info[OP_CONSTANT].infer(g, n, &d), WR_OK);
    assert_int_equal(n->out[0]->dtype, DT_I64);
    assert_int_equal(n->out[0]->dim[0], 3);
    int64_t y[3];
    void *outs[1] = {y};
    assert_int_equal(op_info[OP_CONSTANT].eval(n, NULL, outs, &d), WR_OK);
    assert_int_equal(y[1], -8);
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
        cmocka_unit_test(test_old_opset_attributes),
        cmocka_unit_test(test_constant_value_ints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
